//! Administrators, and the sessions that carry their sign-in.
//!
//! Admins are disabled, never deleted, so the log keeps their names. A change that could leave
//! nobody able to manage admins runs under [`lock_for_change`] and checks [`managers_left`]
//! before it commits.

use sqlx::{PgConnection, PgExecutor};

use crate::domain::permission::Grants;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Admin {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
    pub disabled: bool,
}

const SELECT: &str = "select a.id, a.username, a.name, a.email, a.password_hash, a.role_id,
                             r.name as role_name, a.disabled
                      from admins a join roles r on r.id = a.role_id";

pub async fn find_by_username(
    db: impl PgExecutor<'_>,
    username: &str,
) -> sqlx::Result<Option<Admin>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} where lower(a.username) = lower($1)"
    )))
    .bind(username)
    .fetch_optional(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Admin>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where a.id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Every admin, enabled ones first, by username.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Admin>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} order by a.disabled, lower(a.username), a.id"
    )))
    .fetch_all(db)
    .await
}

/// Inserts an admin named after its username; `None` when the username is taken.
pub async fn insert(
    db: impl PgExecutor<'_>,
    username: &str,
    password_hash: &str,
    role_id: i64,
) -> sqlx::Result<Option<i64>> {
    create(
        db,
        &NewAdmin {
            username,
            name: username,
            email: None,
            password_hash,
            role_id,
        },
    )
    .await
}

/// An admin to insert.
pub struct NewAdmin<'a> {
    pub username: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: &'a str,
    pub role_id: i64,
}

/// Inserts an admin; `None` when the username is taken.
pub async fn create(db: impl PgExecutor<'_>, new: &NewAdmin<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into admins (username, name, email, password_hash, role_id)
         values ($1, $2, $3, $4, $5)
         on conflict do nothing returning id",
    )
    .bind(new.username)
    .bind(new.name)
    .bind(new.email)
    .bind(new.password_hash)
    .bind(new.role_id)
    .fetch_optional(db)
    .await
}

/// Changes an admin's username, name, e-mail and role; false when there is no such admin.
/// A taken username is a unique violation ([`is_username_taken`]).
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    username: &str,
    name: &str,
    email: Option<&str>,
    role_id: i64,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "update admins set username = $2, name = $3, email = $4, role_id = $5, updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(username)
    .bind(name)
    .bind(email)
    .bind(role_id)
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Whether `err` says another admin has the username.
pub fn is_username_taken(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| c == "admins_username_key")
}

/// Disables or enables an admin; false when there is no such admin.
pub async fn set_disabled(db: impl PgExecutor<'_>, id: i64, disabled: bool) -> sqlx::Result<bool> {
    let n = sqlx::query("update admins set disabled = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(disabled)
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Stores a new password hash; false when there is no such admin.
pub async fn set_password_hash(db: impl PgExecutor<'_>, id: i64, hash: &str) -> sqlx::Result<bool> {
    let n = sqlx::query("update admins set password_hash = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(hash)
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Ends the admin's sessions (all of them, or all but the session `except`): their rows go,
/// so the next request of each is anonymous. The session store never re-inserts a deleted
/// session on save, so a request in flight cannot bring one back. The key is the one
/// `web::auth` stores the signed-in admin under.
pub async fn end_sessions(
    db: impl PgExecutor<'_>,
    admin_id: i64,
    except: Option<&str>,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "delete from tower_sessions.session
         where data -> 'admin_id' = to_jsonb($1::bigint) and ($2::text is null or id <> $2)",
    )
    .bind(admin_id)
    .bind(except)
    .execute(db)
    .await?
    .rows_affected())
}

/// Serializes the changes that could lock everybody out (admins disabled, roles changed or
/// taken away) until the transaction ends: every such change takes this lock first, then
/// checks [`managers_left`] before it commits, so two of them can never both pass the check
/// on the same old state. Plain reads (sign-in, page views) are not blocked.
pub async fn lock_for_change(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("lock table admins, roles, role_permissions in share row exclusive mode")
        .execute(conn)
        .await?;
    Ok(())
}

/// How many enabled admins hold `manage_admins` (the built-in role holds every permission).
pub async fn managers_left(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from admins a join roles r on r.id = a.role_id
         where not a.disabled
           and (r.built_in or exists (select 1 from role_permissions rp
                                      where rp.role_id = r.id and rp.permission = 'manage_admins'))",
    )
    .fetch_one(db)
    .await
}

/// A signed-in admin as every request needs them: name, role and what the role grants.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: i64,
    pub username: String,
    pub role_name: String,
    pub grants: Grants,
}

/// The enabled admin with their role's permissions in ONE query (one round trip on every
/// signed-in request). Never cached: a disabled admin or a changed role counts from the next
/// request.
/// Unknown permission keys (from a newer version) are ignored.
pub async fn signed_in(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<SignedIn>> {
    let row: Option<SignedInRow> = sqlx::query_as(
        "select a.id, a.username, r.name, r.built_in,
                array(select rp.permission from role_permissions rp where rp.role_id = r.id)
         from admins a join roles r on r.id = a.role_id where a.id = $1 and not a.disabled",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(SignedIn::from_row))
}

/// The columns of [`SignedIn`]: id, username, role name, built-in role, permission keys.
pub type SignedInRow = (i64, String, String, bool, Vec<String>);

impl SignedIn {
    pub fn from_row((id, username, role_name, built_in, permissions): SignedInRow) -> Self {
        Self {
            id,
            username,
            role_name,
            grants: Grants {
                built_in,
                permissions: permissions.iter().filter_map(|p| p.parse().ok()).collect(),
            },
        }
    }
}
