//! The link configuration of each application.

use sqlx::{PgConnection, PgExecutor};

use crate::domain::app::App;
use crate::domain::links::LinkSetting;

/// The application's links in their configured order.
pub async fn load(db: impl PgExecutor<'_>, app: App) -> sqlx::Result<Vec<LinkSetting>> {
    let rows: Vec<(String, bool, String, i32)> = sqlx::query_as(
        "select link_key, shown, label, position from app_links where app = $1 order by position",
    )
    .bind(app.key())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, shown, label, position)| LinkSetting {
            key,
            shown,
            label,
            position,
        })
        .collect())
}

/// Replaces the whole configuration (already validated) inside the caller's transaction.
/// The position constraint is deferred, so a permutation can be written row by row.
pub async fn save(conn: &mut PgConnection, app: App, links: &[LinkSetting]) -> sqlx::Result<()> {
    for link in links {
        sqlx::query(
            "update app_links set shown = $3, label = $4, position = $5, updated_at = now()
             where app = $1 and link_key = $2",
        )
        .bind(app.key())
        .bind(&link.key)
        .bind(link.shown)
        .bind(&link.label)
        .bind(link.position)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
