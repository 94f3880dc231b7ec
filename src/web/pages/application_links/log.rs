//! The log of an application's last operation, newest first, filterable by level (SPEC §6).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;
use sqlx::PgPool;

use crate::db;
use crate::db::operations::LogEntry;
use crate::domain::app::App;
use crate::domain::operation::Level;
use crate::web::extract::Path;
use crate::web::layout::Chrome;
use crate::web::paging::Pager;
use crate::web::{AppError, AppResult};

/// Entries on one page of the log.
pub const PAGE_SIZE: i64 = 200;

#[derive(Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    level: Option<String>,
    /// 1-based; anything unusable reads as 1.
    #[serde(default)]
    page: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/application_links/log.html")]
pub struct LogPage {
    pub chrome: Chrome,
    pub app: App,
    pub level: Option<Level>,
    pub levels: Vec<Level>,
    pub entries: Vec<LogEntry>,
    pub pager: Pager,
}

impl LogPage {
    pub fn is_selected(&self, l: &Level) -> bool {
        self.level == Some(*l)
    }

    /// The query string of another page, keeping the level filter.
    pub fn page_query(&self, page: &i64) -> String {
        match self.level {
            Some(level) => format!("?level={}&page={page}", level.key()),
            None => format!("?page={page}"),
        }
    }
}

pub(super) async fn log(
    State(pool): State<PgPool>,
    chrome: Chrome,
    Path(app): Path<App>,
    Query(q): Query<LogQuery>,
) -> AppResult<LogPage> {
    let level = match q.level.as_deref().filter(|l| !l.is_empty() && *l != "all") {
        Some(l) => Some(l.parse::<Level>().map_err(AppError::BadRequest)?),
        None => None,
    };
    let mut pager = Pager::parse(q.page.as_deref(), PAGE_SIZE);
    let rows =
        db::operations::log_entries(&pool, app, level, pager.limit(), pager.offset()).await?;
    let entries = pager.take(rows);
    Ok(LogPage {
        chrome,
        app,
        level,
        levels: Level::ALL.to_vec(),
        entries,
        pager,
    })
}
