//! The applications' On/Off switches.

use sqlx::PgExecutor;

use crate::domain::app::App;

#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub app: App,
    pub enabled: bool,
}

/// Both applications, in the order of `App::ALL`.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ApplicationRow>> {
    let rows: Vec<(String, bool)> = sqlx::query_as("select app, enabled from applications")
        .fetch_all(db)
        .await?;
    Ok(App::ALL
        .into_iter()
        .map(|app| ApplicationRow {
            app,
            enabled: rows.iter().any(|(k, e)| k == app.key() && *e),
        })
        .collect())
}
