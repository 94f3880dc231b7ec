//! Roles and their permissions. The built-in role (*Full Administrator*) holds every
//! permission whatever is stored for it, and is never changed or deleted.

use sqlx::{PgConnection, PgExecutor};

use crate::domain::permission::{Grants, Permission};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub built_in: bool,
}

/// Errors creating a role.
#[derive(Debug, thiserror::Error)]
pub enum CreateRoleError {
    #[error("a role named “{0}” already exists")]
    Exists(String),
    #[error("a role name must be 1 to 100 characters")]
    BadName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn find_by_name(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<Option<Role>> {
    sqlx::query_as("select id, name, built_in from roles where name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Creates a role with the given permissions, in one transaction.
pub async fn create(
    conn: &mut PgConnection,
    name: &str,
    permissions: &[Permission],
) -> Result<Role, CreateRoleError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(CreateRoleError::BadName);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let role: Option<Role> = sqlx::query_as(
        "insert into roles (name) values ($1) on conflict (name) do nothing
         returning id, name, built_in",
    )
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let role = role.ok_or_else(|| CreateRoleError::Exists(name.to_string()))?;
    for p in permissions {
        sqlx::query(
            "insert into role_permissions (role_id, permission) values ($1, $2) on conflict do nothing",
        )
        .bind(role.id)
        .bind(p.key())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(role)
}

/// What the role grants. Unknown keys in the table (from a newer version) are ignored.
pub async fn grants(db: impl PgExecutor<'_>, role_id: i64) -> sqlx::Result<Grants> {
    let rows: Vec<(bool, Option<String>)> = sqlx::query_as(
        "select r.built_in, rp.permission from roles r
         left join role_permissions rp on rp.role_id = r.id where r.id = $1",
    )
    .bind(role_id)
    .fetch_all(db)
    .await?;
    Ok(Grants {
        built_in: rows.first().is_some_and(|r| r.0),
        permissions: rows
            .into_iter()
            .filter_map(|(_, p)| p.and_then(|p| p.parse().ok()))
            .collect(),
    })
}

/// A role as the roles page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleSummary {
    pub id: i64,
    pub name: String,
    pub built_in: bool,
    /// The permission keys stored for it, in key order.
    pub permissions: Vec<String>,
    /// Admins (enabled or not) that have this role.
    pub admins: i64,
}

/// Every role, the built-in one first, then by name.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RoleSummary>> {
    sqlx::query_as(
        "select r.id, r.name, r.built_in,
                coalesce((select array_agg(rp.permission order by rp.permission)
                          from role_permissions rp where rp.role_id = r.id), '{}') as permissions,
                (select count(*) from admins a where a.role_id = r.id) as admins
         from roles r order by r.built_in desc, lower(r.name), r.id",
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Role>> {
    sqlx::query_as("select id, name, built_in from roles where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Renames a role that is not built in and replaces its permissions, in the caller's
/// transaction; false when there is no such role (or it is built in). A taken name is a
/// unique violation ([`is_name_taken`]).
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    name: &str,
    permissions: &[Permission],
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "update roles set name = $2, updated_at = now() where id = $1 and not built_in",
    )
    .bind(id)
    .bind(name)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Ok(false);
    }
    let keys: Vec<&str> = permissions.iter().map(|p| p.key()).collect();
    sqlx::query("delete from role_permissions where role_id = $1 and permission <> all($2)")
        .bind(id)
        .bind(&keys)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into role_permissions (role_id, permission)
         select $1, unnest($2::text[]) on conflict do nothing",
    )
    .bind(id)
    .bind(&keys)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Whether `err` says another role has the name.
pub fn is_name_taken(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| c == "roles_name_key")
}

/// How many admins (enabled or not) have the role.
pub async fn admins_with(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from admins where role_id = $1")
        .bind(id)
        .fetch_one(db)
        .await
}

/// Deletes a role that is not built in; false when there is no such role.
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let n = sqlx::query("delete from roles where id = $1 and not built_in")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}
