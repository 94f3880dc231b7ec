//! One job at a time per server: a PostgreSQL advisory lock held on a pooled connection of the
//! job's own for the job's length.
//!
//! The connection stays in the pool's count, so the sessions a worker keeps open (and has
//! warmed with the jobs' statements) serve the next jobs: jobs starting together no longer
//! make the pool open one new session each. A job that ends unlocks and hands the connection
//! back; one that fails, panics or is dropped mid-way closes it instead, and the lock ends
//! with the session. So a pooled connection never carries a lock, and a crashed worker never
//! leaves a server locked.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};

use crate::domain::ids::ServerId;

/// Namespace of applinks' advisory locks (the first key of the two-key form).
pub const SERVER_LOCK_NAMESPACE: i32 = 0x6170_6c6b; // "aplk"

/// A server's lock and the connection that holds it (the job runs its statements on it).
pub(super) struct ServerLock {
    conn: PoolConnection<Postgres>,
    /// Unlocked and fit to go back to the pool.
    released: bool,
}

impl ServerLock {
    /// Waits for the server's lock on a connection taken from `pool`.
    pub(super) async fn take(pool: &PgPool, server_id: ServerId) -> sqlx::Result<Self> {
        let mut lock = Self {
            conn: pool.acquire().await?,
            released: false,
        };
        sqlx::query("select pg_advisory_lock($1, $2)")
            .bind(SERVER_LOCK_NAMESPACE)
            .bind((server_id.0 % i64::from(i32::MAX)) as i32)
            .execute(&mut *lock.conn)
            .await?;
        Ok(lock)
    }

    /// The connection holding the lock.
    pub(super) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Unlocks the server and returns the connection to the pool. Every advisory lock of the
    /// session goes (the job holds this one only), so nothing is left whatever happened on it;
    /// when unlocking fails, the connection is closed instead, which ends the lock as well.
    pub(super) async fn release(mut self) -> sqlx::Result<()> {
        sqlx::query("select pg_advisory_unlock_all()")
            .execute(&mut *self.conn)
            .await?;
        self.released = true;
        Ok(())
    }
}

impl Drop for ServerLock {
    fn drop(&mut self) {
        if !self.released {
            // The job failed or was dropped mid-way: its statement may still be running, or
            // a transaction open. Ending the session is the one sure way to end the lock.
            self.conn.close_on_drop();
        }
    }
}
