//! The applications' On/Off switches.

use sqlx::PgExecutor;

use crate::domain::app::App;

/// Locks the application's row for the rest of the transaction (so operations of one
/// application start one at a time) and answers whether it is on.
pub async fn lock(conn: &mut sqlx::PgConnection, app: App) -> sqlx::Result<bool> {
    sqlx::query_scalar("select enabled from applications where app = $1 for update")
        .bind(app.key())
        .fetch_one(conn)
        .await
}

pub async fn set_enabled(db: impl PgExecutor<'_>, app: App, enabled: bool) -> sqlx::Result<()> {
    sqlx::query("update applications set enabled = $2, updated_at = now() where app = $1")
        .bind(app.key())
        .bind(enabled)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn is_enabled(db: impl PgExecutor<'_>, app: App) -> sqlx::Result<bool> {
    sqlx::query_scalar("select enabled from applications where app = $1")
        .bind(app.key())
        .fetch_one(db)
        .await
}

/// The label of applinks' group in the customers' cPanel for this application.
pub async fn group_label(db: impl PgExecutor<'_>, app: App) -> sqlx::Result<String> {
    sqlx::query_scalar("select group_label from applications where app = $1")
        .bind(app.key())
        .fetch_one(db)
        .await
}

pub async fn set_group_label(db: impl PgExecutor<'_>, app: App, label: &str) -> sqlx::Result<()> {
    sqlx::query("update applications set group_label = $2, updated_at = now() where app = $1")
        .bind(app.key())
        .bind(label)
        .execute(db)
        .await?;
    Ok(())
}
