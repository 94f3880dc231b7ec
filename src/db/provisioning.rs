//! What a provisioning job reads besides servers (`db::servers`): the accounts on a server,
//! one account with its server's module, and each account's link secret.

use sqlx::PgExecutor;

use crate::domain::account::AccountStatus;
use crate::domain::app::App;
use crate::domain::ids::{AccountId, ClientId, ServerId};
use crate::domain::server::Module;

/// An account on a server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRecord {
    pub id: AccountId,
    pub username: String,
    pub status: AccountStatus,
}

/// The accounts on a server, or just `only` when given.
pub async fn accounts_on(
    db: impl PgExecutor<'_>,
    server_id: ServerId,
    only: Option<AccountId>,
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
    pub id: AccountId,
    pub client_id: ClientId,
    pub server_id: ServerId,
    pub username: String,
    pub status: AccountStatus,
    /// The module of the account's server.
    pub module: Module,
}

pub async fn account(
    db: impl PgExecutor<'_>,
    account_id: AccountId,
) -> sqlx::Result<Option<AccountRef>> {
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
    account_id: AccountId,
    app: App,
    new_ciphertext: &[u8],
) -> sqlx::Result<Vec<u8>> {
    sqlx::query_scalar(
        "insert into account_link_secrets (account_id, app, token_ciphertext)
         select a.id, $2, $3 from accounts a where a.id = $1
         on conflict (account_id, app) do update set updated_at = account_link_secrets.updated_at
         returning token_ciphertext",
    )
    .bind(account_id)
    .bind(app.key())
    .bind(new_ciphertext)
    .fetch_one(db)
    .await
}

/// Replaces the account's link secret for `app` (creating it when there is none): from the
/// commit on, `/sso/cpanel` accepts only the new one.
pub async fn replace_link_secret(
    db: impl PgExecutor<'_>,
    account_id: AccountId,
    app: App,
    new_ciphertext: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into account_link_secrets (account_id, app, token_ciphertext)
         select a.id, $2, $3 from accounts a where a.id = $1
         on conflict (account_id, app)
         do update set token_ciphertext = excluded.token_ciphertext, updated_at = now()",
    )
    .bind(account_id)
    .bind(app.key())
    .bind(new_ciphertext)
    .execute(db)
    .await?;
    Ok(())
}

/// [`link_secret`] for many accounts in one statement: each account's encrypted secret,
/// created from its entry in `new_ciphertexts` where it has none yet. Secrets that exist are
/// read, not rewritten (every operation after the first finds them all); an account whose
/// secret another transaction created meanwhile gets that one, as in [`link_secret`]. An
/// account deleted meanwhile gets none (a secret is written only for an account that exists).
pub async fn link_secrets(
    db: impl PgExecutor<'_>,
    account_ids: &[AccountId],
    app: App,
    new_ciphertexts: &[Vec<u8>],
) -> sqlx::Result<Vec<(AccountId, Vec<u8>)>> {
    sqlx::query_as(
        "with stored as (
             select account_id, token_ciphertext from account_link_secrets
             where app = $2 and account_id = any($1::bigint[])),
         created as (
             insert into account_link_secrets (account_id, app, token_ciphertext)
             select a.id, $2, u.token
             from unnest($1::bigint[], $3::bytea[]) as u(account_id, token)
             join accounts a on a.id = u.account_id
             where u.account_id not in (select account_id from stored)
             on conflict (account_id, app) do update set updated_at = account_link_secrets.updated_at
             returning account_id, token_ciphertext)
         select account_id, token_ciphertext from stored
         union all
         select account_id, token_ciphertext from created",
    )
    .bind(account_ids)
    .bind(app.key())
    .bind(new_ciphertexts)
    .fetch_all(db)
    .await
}
