//! Hosting accounts: a client's service on one server (SPEC §5). The cPanel username is
//! unique per server when it is known; an empty one is allowed (see the migration).
//!
//! Nothing here reacts to an account's changes: the handlers that change accounts call the
//! provisioning hook themselves, after the change is committed.
//!
//! Pending accounts (issue 8) live in a table of their own, `pending_accounts`: an imported
//! account whose e-mail matched an existing client, waiting for an admin to confirm the match.
//! They are not accounts yet, so nothing that provisions or signs in can see them.

use sqlx::PgExecutor;

use crate::domain::account::AccountStatus;
use crate::domain::ids::{AccountId, ClientId, ServerId};

/// An account with the names of its client and server, for listing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: AccountId,
    pub client_id: ClientId,
    pub client_name: String,
    pub server_id: ServerId,
    pub server_name: String,
    pub username: String,
    pub domain: String,
    pub status: AccountStatus,
}

const SELECT: &str = "select a.id, a.client_id, c.name as client_name, a.server_id,
        s.name as server_name, a.username, a.domain, a.status
    from accounts a join clients c on c.id = a.client_id join servers s on s.id = a.server_id";

/// The accounts of a client, by server and username.
pub async fn for_client(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
) -> sqlx::Result<Vec<Account>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where a.client_id = $1 order by lower(s.name), a.username, a.id"
    )))
    .bind(client_id)
    .fetch_all(db)
    .await
}

/// The accounts of a server, by username.
pub async fn for_server(
    db: impl PgExecutor<'_>,
    server_id: ServerId,
) -> sqlx::Result<Vec<Account>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where a.server_id = $1 order by a.username, a.id"
    )))
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// True when `err` is the unique index on (server, username).
pub fn is_username_taken(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.constraint() == Some("accounts_server_username_key"))
}

/// Creates an account. Fails with [`is_username_taken`] when the server already has an
/// account with that username.
pub async fn insert(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    server_id: ServerId,
    username: &str,
    domain: &str,
    status: AccountStatus,
) -> sqlx::Result<AccountId> {
    sqlx::query_scalar(
        "insert into accounts (client_id, server_id, username, domain, status)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(client_id)
    .bind(server_id)
    .bind(username)
    .bind(domain)
    .bind(status)
    .fetch_one(db)
    .await
}

/// Creates an account unless the server already has one with that username; `None` then.
pub async fn insert_if_new(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    server_id: ServerId,
    username: &str,
    domain: &str,
    status: AccountStatus,
) -> sqlx::Result<Option<AccountId>> {
    sqlx::query_scalar(
        "insert into accounts (client_id, server_id, username, domain, status)
         values ($1, $2, $3, $4, $5)
         on conflict (server_id, username) where username <> '' do nothing
         returning id",
    )
    .bind(client_id)
    .bind(server_id)
    .bind(username)
    .bind(domain)
    .bind(status)
    .fetch_optional(db)
    .await
}

/// The usernames a server's accounts have.
pub async fn usernames(db: impl PgExecutor<'_>, server_id: ServerId) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select username from accounts where server_id = $1")
        .bind(server_id)
        .fetch_all(db)
        .await
}

/// Sets the status of one of a client's accounts; answers the previous status, `None` when
/// the client has no such account.
pub async fn set_status(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    account_id: AccountId,
    status: AccountStatus,
) -> sqlx::Result<Option<AccountStatus>> {
    sqlx::query_scalar(
        "update accounts a set status = $3, updated_at = now()
         from accounts old
         where a.id = old.id and a.id = $2 and a.client_id = $1
         returning old.status",
    )
    .bind(client_id)
    .bind(account_id)
    .bind(status)
    .fetch_optional(db)
    .await
}

/// An imported account waiting for an admin to confirm the client its e-mail matched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub id: i64,
    pub server_id: ServerId,
    pub username: String,
    pub domain: String,
    /// `active` or `suspended`, as the server listed it.
    pub status: AccountStatus,
    /// The e-mail the server listed for the account (its cPanel contact address).
    pub email: String,
    /// The client that e-mail matched.
    pub client_id: ClientId,
    pub client_name: String,
}

/// A server's pending accounts, by username.
pub async fn pending_for_server(
    db: impl PgExecutor<'_>,
    server_id: ServerId,
) -> sqlx::Result<Vec<Pending>> {
    sqlx::query_as(
        "select p.id, p.server_id, p.username, p.domain, p.status, p.email, p.client_id,
                c.name as client_name
         from pending_accounts p join clients c on c.id = p.client_id
         where p.server_id = $1 order by p.username, p.id",
    )
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// One of a server's pending accounts, its row locked until the transaction ends, so that two
/// admins resolving the same match cannot both succeed. `None`: not (or no longer) pending.
pub async fn lock_pending(
    db: impl PgExecutor<'_>,
    server_id: ServerId,
    pending_id: i64,
) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as(
        "select p.id, p.server_id, p.username, p.domain, p.status, p.email, p.client_id,
                c.name as client_name
         from pending_accounts p join clients c on c.id = p.client_id
         where p.server_id = $1 and p.id = $2
         for update of p",
    )
    .bind(server_id)
    .bind(pending_id)
    .fetch_optional(db)
    .await
}

/// The usernames of a server's pending accounts.
pub async fn pending_usernames(
    db: impl PgExecutor<'_>,
    server_id: ServerId,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select username from pending_accounts where server_id = $1")
        .bind(server_id)
        .fetch_all(db)
        .await
}

/// An account for [`insert_pending_if_new`].
pub struct NewPending<'a> {
    pub server_id: ServerId,
    pub username: &'a str,
    pub domain: &'a str,
    pub status: AccountStatus,
    pub email: &'a str,
    pub client_id: ClientId,
}

/// Records a pending account unless the server already has one pending with that username;
/// `None` then.
pub async fn insert_pending_if_new(
    db: impl PgExecutor<'_>,
    p: NewPending<'_>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into pending_accounts (server_id, username, domain, status, email, client_id)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (server_id, username) do nothing
         returning id",
    )
    .bind(p.server_id)
    .bind(p.username)
    .bind(p.domain)
    .bind(p.status)
    .bind(p.email)
    .bind(p.client_id)
    .fetch_optional(db)
    .await
}

/// Forgets a pending account (confirmed, dismissed, or made stale by an account added by hand).
pub async fn delete_pending(db: impl PgExecutor<'_>, pending_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from pending_accounts where id = $1")
        .bind(pending_id)
        .execute(db)
        .await?;
    Ok(())
}
