//! Single sign-on (SPEC §8): what `/sso/cpanel` checks (the account, its link secret, the
//! client's SSO switches), the one-time tokens it issues, and the client identity that a
//! client session carries. One-time tokens are stored as their SHA-256 only.

use sqlx::PgExecutor;

use crate::domain::account::AccountStatus;
use crate::domain::app::App;
use crate::domain::ids::{AccountId, ClientId};
use crate::domain::server::Module;

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

/// Everything the autologin checks need about an account, in one query: the account, its
/// link secret for its server's application, whether `link_key` is a shown link of that
/// application and the application is on, and the client's SSO switch with its owner user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AutologinFacts {
    pub id: AccountId,
    pub client_id: ClientId,
    pub username: String,
    pub status: AccountStatus,
    /// The module of the account's server.
    pub module: Module,
    /// The encrypted link secret, if the account has one for its application.
    pub secret: Option<Vec<u8>>,
    pub link_shown: bool,
    pub app_enabled: bool,
    pub allow_sso: bool,
    pub owner_user_id: Option<i64>,
    pub owner_sso_allowed: Option<bool>,
}

pub async fn autologin_facts(
    db: impl PgExecutor<'_>,
    account_id: AccountId,
    link_key: Option<&str>,
) -> sqlx::Result<Option<AutologinFacts>> {
    // An application's key is its servers' module key (cpanel, wp2); other modules match no
    // application and so carry no secret and no link.
    sqlx::query_as(
        "select a.id, a.client_id, a.username, a.status, s.module,
                ls.token_ciphertext as secret,
                coalesce(l.shown, false) as link_shown,
                coalesce(ap.enabled, false) as app_enabled,
                c.allow_sso, u.id as owner_user_id, u.sso_allowed as owner_sso_allowed
         from accounts a
         join servers s on s.id = a.server_id
         join clients c on c.id = a.client_id
         left join applications ap on ap.app = s.module
         left join account_link_secrets ls on ls.account_id = a.id and ls.app = s.module
         left join app_links l on l.app = s.module and l.link_key = $2
         left join client_users u on u.client_id = c.id and u.is_owner
         where a.id = $1",
    )
    .bind(account_id)
    .bind(link_key)
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

/// Stores a one-time token. `sso_tokens` is an unlogged table (migration
/// `20261126130000`): its writes skip the WAL, so issuing and consuming a token wait for no
/// disk flush; crash recovery empties it, so a used token can never come back.
pub async fn insert_token(db: impl PgExecutor<'_>, t: NewToken<'_>) -> sqlx::Result<()> {
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
    .execute(db)
    .await?;
    Ok(())
}

/// Drops tokens that expired more than a day ago (a periodic task of every web instance).
pub async fn delete_expired_tokens(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("delete from sso_tokens where expires_at < now() - interval '1 day'")
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// What a consumed token grants.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Consumed {
    pub client_id: ClientId,
    pub client_user_id: i64,
    pub destination: String,
}

/// Marks the token used and answers what it grants, in one statement, so two concurrent
/// requests with the same token cannot both succeed. `None`: unknown, used, expired, or what
/// it was bound to changed meanwhile: the account or the user is gone or no longer the
/// client's, or the client or the user lost single sign-on (the table has no foreign keys, see
/// `insert_token`, so this statement checks them).
pub async fn consume(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<Consumed>> {
    sqlx::query_as(
        "update sso_tokens t set used_at = now(), updated_at = now()
         from accounts a, client_users u, clients c
         where t.token_hash = $1 and t.used_at is null and t.expires_at > now()
           and a.id = t.account_id and a.client_id = t.client_id
           and u.id = t.client_user_id and u.client_id = t.client_id and u.sso_allowed
           and c.id = t.client_id and c.allow_sso
         returning t.client_id, t.client_user_id, t.destination",
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
