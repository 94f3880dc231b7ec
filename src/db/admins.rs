//! Administrators.

use sqlx::PgExecutor;

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
