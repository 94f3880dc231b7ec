//! Administrators as a use case shared by the command line and the demo: validation, hashing
//! and the insert, with messages a person can act on.

use anyhow::{Context as _, bail};
use sqlx::PgPool;

use crate::crypto::password::hash_password;
use crate::db;

/// Creates an administrator with `role`; refuses short passwords and taken usernames.
pub async fn create_admin(
    pool: &PgPool,
    username: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let username = username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        bail!("a username must be 1 to 64 characters");
    }
    if password.chars().count() < 12 {
        bail!("the password must be at least 12 characters");
    }
    let role_row = db::roles::find_by_name(pool, role)
        .await?
        .with_context(|| {
            format!("there is no role named “{role}” (create it with `applinks role create`)")
        })?;
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
    db::admins::insert(pool, username, &hash, role_row.id)
        .await?
        .with_context(|| format!("an admin named “{username}” already exists"))
}
