//! What a provisioning job reads: the servers of an application, one server's connection
//! record, the accounts on a server, and each account's link secret.

use sqlx::PgExecutor;

use crate::domain::app::App;

/// A server as provisioning sees it (credentials still encrypted).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerRecord {
    pub id: i64,
    pub name: String,
    pub hostname: String,
    pub port: i32,
    pub module: String,
    pub username: String,
    pub auth_kind: String,
    pub secret_ciphertext: Vec<u8>,
    pub use_tls: bool,
    pub verify_tls: bool,
    pub enabled: bool,
    pub version: Option<String>,
}

const SERVER: &str =
    "select id, name, hostname, port, module, username, auth_kind, secret_ciphertext,
                             use_tls, verify_tls, enabled, version from servers";

impl ServerRecord {
    /// `https://host:port` or `http://host:port` (IPv6 literals bracketed).
    pub fn base_url(&self) -> String {
        super::servers::base_url(&self.hostname, self.port, self.use_tls)
    }
}

/// Enabled servers whose module belongs to `app`.
pub async fn servers_of_app(db: impl PgExecutor<'_>, app: App) -> sqlx::Result<Vec<ServerRecord>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SERVER} where module = $1 and enabled order by name"
    )))
    .bind(app.key())
    .fetch_all(db)
    .await
}

/// Enabled servers of modules that cannot link (logged as unsupported).
pub async fn unlinkable_servers(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ServerRecord>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SERVER} where module not in ('cpanel', 'wp2') and enabled order by name"
    )))
    .fetch_all(db)
    .await
}

pub async fn server(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<ServerRecord>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SERVER} where id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// An account on a server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRecord {
    pub id: i64,
    pub username: String,
    pub status: String,
}

/// The accounts on a server, or just `only` when given.
pub async fn accounts_on(
    db: impl PgExecutor<'_>,
    server_id: i64,
    only: Option<i64>,
) -> sqlx::Result<Vec<AccountRecord>> {
    sqlx::query_as(
        "select id, username, status from accounts
         where server_id = $1 and ($2::bigint is null or id = $2) order by username, id",
    )
    .bind(server_id)
    .bind(only)
    .fetch_all(db)
    .await
}

/// An account with what provisioning and single sign-on need to know about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRef {
    pub id: i64,
    pub client_id: i64,
    pub server_id: i64,
    pub username: String,
    pub status: String,
    /// The module of the account's server.
    pub module: String,
}

pub async fn account(db: impl PgExecutor<'_>, account_id: i64) -> sqlx::Result<Option<AccountRef>> {
    sqlx::query_as(
        "select a.id, a.client_id, a.server_id, a.username, a.status, s.module
         from accounts a join servers s on s.id = a.server_id where a.id = $1",
    )
    .bind(account_id)
    .fetch_optional(db)
    .await
}

/// The account's encrypted link secret for `app`, creating it with `new_ciphertext` when
/// there is none. One statement, so concurrent creators agree on the first value stored: the
/// no-op update on conflict returns the row that won.
pub async fn link_secret(
    db: impl PgExecutor<'_>,
    account_id: i64,
    app: App,
    new_ciphertext: &[u8],
) -> sqlx::Result<Vec<u8>> {
    sqlx::query_scalar(
        "insert into account_link_secrets (account_id, app, token_ciphertext) values ($1, $2, $3)
         on conflict (account_id, app) do update set updated_at = account_link_secrets.updated_at
         returning token_ciphertext",
    )
    .bind(account_id)
    .bind(app.key())
    .bind(new_ciphertext)
    .fetch_one(db)
    .await
}

/// [`link_secret`] for many accounts in one statement: each account's encrypted secret,
/// created from its entry in `new_ciphertexts` where it has none yet.
pub async fn link_secrets(
    db: impl PgExecutor<'_>,
    account_ids: &[i64],
    app: App,
    new_ciphertexts: &[Vec<u8>],
) -> sqlx::Result<Vec<(i64, Vec<u8>)>> {
    sqlx::query_as(
        "insert into account_link_secrets (account_id, app, token_ciphertext)
         select u.account_id, $2, u.token from unnest($1::bigint[], $3::bytea[]) as u(account_id, token)
         on conflict (account_id, app) do update set updated_at = account_link_secrets.updated_at
         returning account_id, token_ciphertext",
    )
    .bind(account_ids)
    .bind(app.key())
    .bind(new_ciphertexts)
    .fetch_all(db)
    .await
}
