//! WHM servers (SPEC §5). The encrypted credential is read only by [`secret`] and
//! [`find_sealed`]; the rows that pages render never carry it, so it cannot reach a template
//! by accident.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::domain::app::App;
use crate::domain::ids::ServerId;
use crate::domain::server::{AuthKind, Module};

/// A server as the admin pages show it and jobs use it, with its number of accounts. The
/// credential is not here: only [`secret`] reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Server {
    pub id: ServerId,
    pub name: String,
    pub hostname: String,
    #[sqlx(try_from = "i32")]
    pub port: u16,
    pub module: Module,
    pub username: String,
    pub auth_kind: AuthKind,
    pub use_tls: bool,
    pub verify_tls: bool,
    pub enabled: bool,
    pub version: Option<String>,
    pub version_checked_at: Option<DateTime<Utc>>,
    pub accounts: i64,
}

/// The fields an admin sets, checked (see `hosting::forms`).
#[derive(Debug, Clone)]
pub struct ServerFields {
    pub name: String,
    pub hostname: String,
    pub port: u16,
    pub module: Module,
    pub username: String,
    pub auth_kind: AuthKind,
    pub use_tls: bool,
    pub verify_tls: bool,
    pub enabled: bool,
}

/// The columns of a [`Server`], of `servers s`.
const COLUMNS: &str = "s.id, s.name, s.hostname, s.port, s.module, s.username, s.auth_kind,
        s.use_tls, s.verify_tls, s.enabled, s.version, s.version_checked_at,
        (select count(*) from accounts a where a.server_id = s.id) as accounts";

/// One page of the list by name, filtered by `search` (a case-insensitive substring of
/// the name or the host).
pub async fn list(
    db: impl PgExecutor<'_>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Server>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from servers s where $1::text is null
            or strpos(lower(s.name), lower($1)) > 0 or strpos(lower(s.hostname), lower($1)) > 0
         order by lower(s.name), s.id limit $2 offset $3"
    )))
    .bind(search)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// Enabled servers whose module belongs to `app`, by name.
pub async fn of_app(db: impl PgExecutor<'_>, app: App) -> sqlx::Result<Vec<Server>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from servers s where s.module = $1 and s.enabled order by s.name"
    )))
    .bind(app.key())
    .fetch_all(db)
    .await
}

/// Enabled servers of modules that cannot link (logged as unsupported), by name.
pub async fn unlinkable(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Server>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from servers s where s.module not in ('cpanel', 'wp2') and s.enabled order by s.name"
    )))
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: ServerId) -> sqlx::Result<Option<Server>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from servers s where s.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// [`find`] with the server's encrypted credential beside it ([`secret`]), in one statement: a
/// job reads both as it starts, and it must not wait for two round trips then.
pub async fn find_sealed(
    db: impl PgExecutor<'_>,
    id: ServerId,
) -> sqlx::Result<Option<(Server, Vec<u8>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        server: Server,
        secret_ciphertext: Vec<u8>,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS}, s.secret_ciphertext from servers s where s.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.server, r.secret_ciphertext)))
}

/// The encrypted token or password (`nonce || ciphertext`, see `crate::crypto`).
pub async fn secret(db: impl PgExecutor<'_>, id: ServerId) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("select secret_ciphertext from servers where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// True when `err` is the unique index on the server name.
pub fn is_name_taken(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.constraint() == Some("servers_name_key"))
}

/// Inserts a server; fails with [`is_name_taken`] when the name is in use.
pub async fn insert(
    db: impl PgExecutor<'_>,
    fields: &ServerFields,
    secret_ciphertext: &[u8],
) -> sqlx::Result<ServerId> {
    sqlx::query_scalar(
        "insert into servers (name, hostname, port, module, username, auth_kind,
             secret_ciphertext, use_tls, verify_tls, enabled)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
    )
    .bind(&fields.name)
    .bind(&fields.hostname)
    .bind(i32::from(fields.port))
    .bind(fields.module.key())
    .bind(&fields.username)
    .bind(fields.auth_kind)
    .bind(secret_ciphertext)
    .bind(fields.use_tls)
    .bind(fields.verify_tls)
    .bind(fields.enabled)
    .fetch_one(db)
    .await
}

/// Updates a server. `None` keeps the stored secret, and then only if the server's host,
/// port, TLS settings, username and auth kind are still what `fields` says. A change of host,
/// port or scheme forgets the version, which belonged to the old address. False when no row
/// was updated (no such server, or it was moved meanwhile).
pub async fn update(
    db: impl PgExecutor<'_>,
    id: ServerId,
    fields: &ServerFields,
    secret_ciphertext: Option<&[u8]>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update servers set
             version = case when (hostname, port, use_tls) = ($2, $3, $8) then version end,
             version_checked_at = case when (hostname, port, use_tls) = ($2, $3, $8)
                                       then version_checked_at end,
             name = $1, hostname = $2, port = $3, module = $4, username = $5, auth_kind = $6,
             secret_ciphertext = coalesce($7, secret_ciphertext),
             use_tls = $8, verify_tls = $9, enabled = $10, updated_at = now()
         where id = $11
           -- A kept secret only where it was entered for: checked here too, in the same
           -- statement, so a concurrent move of the server cannot slip in between.
           and ($7::bytea is not null
                or (lower(hostname), port, use_tls, verify_tls, username, auth_kind)
                   = (lower($2), $3, $8, $9, $5, $6))",
    )
    .bind(&fields.name)
    .bind(&fields.hostname)
    .bind(i32::from(fields.port))
    .bind(fields.module.key())
    .bind(&fields.username)
    .bind(fields.auth_kind)
    .bind(secret_ciphertext)
    .bind(fields.use_tls)
    .bind(fields.verify_tls)
    .bind(fields.enabled)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records what the server's `version` call answered.
pub async fn set_version(db: impl PgExecutor<'_>, id: ServerId, version: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update servers set version = $2, version_checked_at = now(), updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(version)
    .execute(db)
    .await?;
    Ok(())
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The server is gone, with this many accounts.
    Removed {
        accounts: u64,
    },
    /// Nothing changed: the server still has this many accounts.
    HasAccounts(i64),
    NotFound,
}

/// Deletes a server; its accounts too when `with_accounts`, otherwise only when it has none.
/// The server row is locked first, so an account added meanwhile cannot slip through.
pub async fn remove(
    conn: &mut PgConnection,
    id: ServerId,
    with_accounts: bool,
) -> sqlx::Result<Removal> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let found: Option<ServerId> =
        sqlx::query_scalar("select id from servers where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if found.is_none() {
        return Ok(Removal::NotFound);
    }
    let count: i64 = sqlx::query_scalar("select count(*) from accounts where server_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 && !with_accounts {
        return Ok(Removal::HasAccounts(count));
    }
    let accounts = sqlx::query("delete from accounts where server_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("delete from servers where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Removal::Removed { accounts })
}

/// `(id, name)` of every server, for the account form's choice.
pub async fn choices(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(ServerId, String)>> {
    sqlx::query_as("select id, name from servers order by lower(name), id")
        .fetch_all(db)
        .await
}
