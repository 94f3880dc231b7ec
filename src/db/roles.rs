//! Roles and their permissions.

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
