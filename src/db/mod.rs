//! sqlx queries, one file per aggregate. Functions take `impl PgExecutor` so callers choose
//! between the pool and a transaction. Queries are checked at run time (no database is needed
//! to build), and every one is exercised by the integration tests.

pub mod accounts;
pub mod admins;
pub mod applications;
pub mod clients;
pub mod links;
pub mod migrate;
pub mod operations;
pub mod outcomes;
pub mod provisioning;
pub mod roles;
pub mod servers;
pub mod session_store;
pub mod sso;
pub mod types;

pub use sqlx::PgPool;

/// Starts a transaction on a connection of `pool`, and always finishes starting it: use it
/// instead of `pool.begin()`.
///
/// sqlx 0.9.0's `Pool::begin` is not cancel-safe on PostgreSQL (transact-rs/sqlx#4393, fixed
/// upstream after 0.9.0): a caller dropped while its `BEGIN` is in flight (a browser that
/// disconnects mid-request, a worker stopped mid-job) leaves the session inside a transaction
/// that nothing ends, and the pool hands that connection to the next borrower, whose
/// statements then run inside it and keep its locks until the process dies (seen: a session
/// row locked for good and every page waiting on it). Here the `BEGIN` runs in a task of its
/// own, so it completes; when the caller is gone, the finished transaction is dropped there
/// and rolls back like any other.
pub async fn begin(pool: &PgPool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .unwrap_or_else(|stopped| Err(sqlx::Error::Io(std::io::Error::other(stopped))))
}

/// The start of the current transaction by the database's clock, in whole seconds since the
/// Unix epoch (rounded down): when the jobs queued in it are due (`jobs::operations`).
pub async fn transaction_start(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<u64> {
    let secs: i64 =
        sqlx::query_scalar("select floor(extract(epoch from transaction_timestamp()))::bigint")
            .fetch_one(db)
            .await?;
    Ok(u64::try_from(secs).unwrap_or(0))
}
