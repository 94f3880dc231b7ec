//! Clients (the hosting customers) and their users (SPEC §5, §8). A client has exactly one
//! owner user, created with it; the client's e-mail is the owner's. Either may be missing
//! (`None`, NULL in the database, never ''): cPanel lists some accounts without an e-mail.

use sqlx::{PgConnection, PgExecutor};

use crate::domain::ids::ClientId;

/// A client as the list and the client page show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// `None`: the client has no e-mail, so no imported account is ever matched to it by one.
    pub email: Option<String>,
    /// *Allow Single Sign-On* for the whole client.
    pub allow_sso: bool,
    pub accounts: i64,
}

/// One user of a client.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientUser {
    pub id: i64,
    pub client_id: ClientId,
    pub name: String,
    /// Only an owner can lack one (when its client does); added users always have one.
    pub email: Option<String>,
    pub is_owner: bool,
    /// This user may sign in through single sign-on.
    pub sso_allowed: bool,
}

const SELECT: &str = "select c.id, c.name, c.email, c.allow_sso,
        (select count(*) from accounts a where a.client_id = c.id) as accounts
    from clients c";

/// Every client, by name.
/// One page of the list by name, filtered by `search` (a case-insensitive substring of
/// the name or the e-mail).
pub async fn list(
    db: impl PgExecutor<'_>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Client>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where $1::text is null
            or strpos(lower(c.name), lower($1)) > 0 or strpos(lower(coalesce(c.email, '')), lower($1)) > 0
         order by lower(c.name), c.id limit $2 offset $3"
    )))
    .bind(search)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: ClientId) -> sqlx::Result<Option<Client>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where c.id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// True when `err` is the unique index on the clients' e-mail.
pub fn is_email_taken(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.constraint() == Some("clients_email_key"))
}

/// True when `err` is the unique index on a client's users' e-mail.
pub fn is_user_email_taken(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.constraint() == Some("client_users_email_key"))
}

/// Creates a client and its owner user (same name and e-mail, SSO allowed), in one
/// transaction. Fails with [`is_email_taken`] when another client has the e-mail; any number
/// of clients can be without one.
pub async fn insert(
    conn: &mut PgConnection,
    name: &str,
    email: Option<&str>,
    allow_sso: bool,
) -> sqlx::Result<ClientId> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let id: ClientId = sqlx::query_scalar(
        "insert into clients (name, email, allow_sso) values ($1, $2, $3) returning id",
    )
    .bind(name)
    .bind(email)
    .bind(allow_sso)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "insert into client_users (client_id, name, email, is_owner, sso_allowed)
         values ($1, $2, $3, true, true)",
    )
    .bind(id)
    .bind(name)
    .bind(email)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Updates a client; the owner user's e-mail follows the client's (removed with it, too).
/// False when there is no such client.
pub async fn update(
    conn: &mut PgConnection,
    id: ClientId,
    name: &str,
    email: Option<&str>,
    allow_sso: bool,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let done = sqlx::query(
        "update clients set name = $2, email = $3, allow_sso = $4, updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(email)
    .bind(allow_sso)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "update client_users set email = $2, updated_at = now() where client_id = $1 and is_owner",
    )
    .bind(id)
    .bind(email)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The client whose e-mail, or one of whose users' e-mail, is `email` (case-insensitive);
/// the client's own e-mail wins. Clients and users without an e-mail never match.
pub async fn find_id_by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> sqlx::Result<Option<ClientId>> {
    sqlx::query_scalar(
        "select id from (
             select id, 0 as rank from clients where lower(email) = lower($1)
             union all
             select client_id, 1 from client_users where lower(email) = lower($1)
         ) found order by rank, id limit 1",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// The client's users, owner first.
pub async fn users(db: impl PgExecutor<'_>, client_id: ClientId) -> sqlx::Result<Vec<ClientUser>> {
    sqlx::query_as(
        "select id, client_id, name, email, is_owner, sso_allowed from client_users
         where client_id = $1 order by is_owner desc, lower(name), id",
    )
    .bind(client_id)
    .fetch_all(db)
    .await
}

/// Adds a (non-owner) user. Fails with [`is_user_email_taken`] when the client already has
/// a user with that e-mail.
pub async fn insert_user(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    name: &str,
    email: &str,
    sso_allowed: bool,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into client_users (client_id, name, email, is_owner, sso_allowed)
         values ($1, $2, $3, false, $4) returning id",
    )
    .bind(client_id)
    .bind(name)
    .bind(email)
    .bind(sso_allowed)
    .fetch_one(db)
    .await
}

/// Sets a user's SSO permission. False when the client has no such user.
pub async fn set_user_sso(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    user_id: i64,
    sso_allowed: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update client_users set sso_allowed = $3, updated_at = now()
         where client_id = $1 and id = $2",
    )
    .bind(client_id)
    .bind(user_id)
    .bind(sso_allowed)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the client's *Allow Single Sign-On* (the admin's client form sets it too). False when
/// there is no such client.
pub async fn set_allow_sso(
    db: impl PgExecutor<'_>,
    client_id: ClientId,
    allow_sso: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query("update clients set allow_sso = $2, updated_at = now() where id = $1")
        .bind(client_id)
        .bind(allow_sso)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
