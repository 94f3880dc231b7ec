//! Single sign-on (SPEC §8): what `/sso/cpanel` checks (the account, its link secret, the
//! client's SSO switches), the one-time tokens it issues, and the client identity that a
//! client session carries. One-time tokens are stored as their SHA-256 only.

use sqlx::PgExecutor;

use crate::domain::app::App;
use crate::domain::ids::{AccountId, ClientId};

/// The stored (encrypted) link secret of an account for an application, if it has one.
pub async fn link_secret(
    db: impl PgExecutor<'_>,
    account_id: AccountId,
    app: App,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select token_ciphertext from account_link_secrets where account_id = $1 and app = $2",
    )
    .bind(account_id)
    .bind(app.key())
    .fetch_optional(db)
    .await
}

/// The client's SSO switch and its owner user (the user single sign-on signs in), if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoOwner {
    pub allow_sso: bool,
    pub user_id: Option<i64>,
    pub user_sso_allowed: Option<bool>,
}

pub async fn owner(db: impl PgExecutor<'_>, client_id: ClientId) -> sqlx::Result<Option<SsoOwner>> {
    sqlx::query_as(
        "select c.allow_sso, u.id as user_id, u.sso_allowed as user_sso_allowed
         from clients c left join client_users u on u.client_id = c.id and u.is_owner
         where c.id = $1",
    )
    .bind(client_id)
    .fetch_optional(db)
    .await
}

/// A one-time token to store (by hash).
pub struct NewToken<'a> {
    pub token_hash: &'a [u8],
    pub client_id: ClientId,
    pub client_user_id: i64,
    pub account_id: AccountId,
    pub destination: &'a str,
    pub ttl_secs: i64,
}

/// Stores a one-time token, and drops tokens that expired more than a day ago so the table
/// stays small without a separate job.
pub async fn insert_token(conn: &mut sqlx::PgConnection, t: NewToken<'_>) -> sqlx::Result<()> {
    sqlx::query("delete from sso_tokens where expires_at < now() - interval '1 day'")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into sso_tokens (token_hash, client_id, client_user_id, account_id, destination, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
    )
    .bind(t.token_hash)
    .bind(t.client_id)
    .bind(t.client_user_id)
    .bind(t.account_id)
    .bind(t.destination)
    .bind(t.ttl_secs as f64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a consumed token grants.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Consumed {
    pub client_id: ClientId,
    pub client_user_id: i64,
    pub destination: String,
}

/// Marks the token used and answers what it grants, in one statement, so two concurrent
/// requests with the same token cannot both succeed. `None`: unknown, used or expired.
pub async fn consume(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<Consumed>> {
    sqlx::query_as(
        "update sso_tokens set used_at = now(), updated_at = now()
         where token_hash = $1 and used_at is null and expires_at > now()
         returning client_id, client_user_id, destination",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// The signed-in client user, as client pages show them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientIdentity {
    pub client_id: ClientId,
    pub client_name: String,
    pub user_id: i64,
    pub user_name: String,
    /// `None` for an owner whose client has no e-mail (imported without one).
    pub user_email: Option<String>,
    /// The account owner (the only one who may change the client's SSO switches).
    pub is_owner: bool,
}

pub async fn identity(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    client_user_id: i64,
) -> sqlx::Result<Option<ClientIdentity>> {
    sqlx::query_as(
        "select c.id as client_id, c.name as client_name, u.id as user_id, u.name as user_name,
                u.email as user_email, u.is_owner
         from client_users u join clients c on c.id = u.client_id
         where u.id = $1 and c.id = $2",
    )
    .bind(client_user_id)
    .bind(client_id)
    .fetch_optional(db)
    .await
}
