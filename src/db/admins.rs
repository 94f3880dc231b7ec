//! Administrators.

use sqlx::PgExecutor;

use crate::domain::permission::Grants;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Admin {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role_id: i64,
    pub role_name: String,
}

const SELECT: &str = "select a.id, a.username, a.password_hash, a.role_id, r.name as role_name
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

/// Inserts an admin; `None` when the username is taken.
pub async fn insert(
    db: impl PgExecutor<'_>,
    username: &str,
    password_hash: &str,
    role_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into admins (username, password_hash, role_id) values ($1, $2, $3)
         on conflict do nothing returning id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role_id)
    .fetch_optional(db)
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

/// The admin with their role's permissions in ONE query (one round trip on every signed-in
/// request). Never cached: a deleted admin or a changed role counts from the next request.
/// Unknown permission keys (from a newer version) are ignored.
pub async fn signed_in(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<SignedIn>> {
    let row: Option<(i64, String, String, bool, Vec<String>)> = sqlx::query_as(
        "select a.id, a.username, r.name, r.built_in,
                array(select rp.permission from role_permissions rp where rp.role_id = r.id)
         from admins a join roles r on r.id = a.role_id where a.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(id, username, role_name, built_in, permissions)| SignedIn {
            id,
            username,
            role_name,
            grants: Grants {
                built_in,
                permissions: permissions.iter().filter_map(|p| p.parse().ok()).collect(),
            },
        },
    ))
}
