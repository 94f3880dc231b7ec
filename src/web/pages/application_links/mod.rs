//! Setup › Application Links. Everything here sits behind the `configure_application_links`
//! guard in `pages::router`, including routes added later.
//!
//! State changes only write to the database and queue jobs (`crate::jobs`); the work itself
//! happens in workers, so leaving the page never stops a sync.
//!
//! This file: the page with one row per application, the switch, the status badge and the
//! retry. `configure`: the links of one application; `log`: the last operation's log.

mod configure;
mod log;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sqlx::PgPool;
use tower_sessions::Session;

use crate::db;
use crate::db::operations::{AppOverview, OperationSummary};
use crate::domain::app::App;
use crate::domain::operation::AppStatus;
use crate::jobs::{self, OperationError};
use crate::web::auth;
use crate::web::error::wants_json;
use crate::web::extract::Path;
use crate::web::layout::{Chrome, flash};
use crate::web::{AppError, AppResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(show))
        .route("/{app}/enable", post(enable))
        .route("/{app}/disable", post(disable))
        .route(
            "/{app}/configure",
            get(configure::configure_form).post(configure::save_configuration),
        )
        .route("/{app}/status", get(status))
        .route("/{app}/log", get(log::log))
        .route("/{app}/retry", post(retry))
}

const BASE: &str = "/admin/setup/application-links";

/// Layer of the whole admin panel, outside its guards (the first thing that loads the
/// session): a status poll (`BASE/{app}/status`) has the session store read the
/// application's status in the session's own statement, which the guards' check of the admin
/// runs anyway, so a poll costs one database round trip. The status reaches the handler only
/// once the guards have let the request through.
pub async fn status_with_session(req: Request, next: Next) -> Response {
    if let Some(app) = polled_app(req.uri().path()) {
        auth::read_status_with_session(app);
    }
    next.run(req).await
}

/// The application of a status poll's path.
fn polled_app(path: &str) -> Option<App> {
    path.strip_prefix(BASE)?
        .strip_prefix('/')?
        .strip_suffix("/status")?
        .parse()
        .ok()
}

impl From<OperationError> for AppError {
    fn from(err: OperationError) -> Self {
        match err {
            OperationError::NothingToRetry => AppError::BadRequest(err.to_string()),
            other => AppError::Internal(other.into()),
        }
    }
}

/// The badge part of a row: polled while an operation runs.
#[derive(Template, WebTemplate)]
#[template(path = "setup/application_links/status.html")]
pub struct StatusFragment {
    pub app: App,
    pub enabled: bool,
    pub state: AppStatus,
    pub op: Option<OperationSummary>,
    pub csrf_token: String,
}

impl StatusFragment {
    /// The fragment of one application from its overview row (no query of its own).
    fn new(overview: AppOverview, csrf_token: String) -> Self {
        let op = overview.last;
        let running = op.as_ref().is_some_and(|o| o.finished_at.is_none());
        let failed = op.as_ref().map_or(0, |o| o.servers_failed);
        Self {
            app: overview.app,
            enabled: overview.enabled,
            state: AppStatus::derive(overview.enabled, running, failed),
            op,
            csrf_token,
        }
    }

    /// Percentage of accounts done (servers when no account is known yet).
    pub fn percent(&self) -> i64 {
        match &self.op {
            Some(o) if o.accounts_total > 0 => o.accounts_done * 100 / o.accounts_total,
            Some(o) if o.servers_total > 0 => {
                (o.servers_done + o.servers_failed + o.servers_skipped) * 100 / o.servers_total
            }
            _ => 0,
        }
    }

    pub fn servers_finished(&self) -> i64 {
        self.op
            .as_ref()
            .map_or(0, |o| o.servers_done + o.servers_failed + o.servers_skipped)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "app": self.app.key(),
            "enabled": self.enabled,
            "state": self.state.key(),
            "operation": self.op.as_ref().map(|o| serde_json::json!({
                "id": o.id,
                "kind": o.kind,
                "started_at": o.started_at,
                "finished_at": o.finished_at,
                "servers_total": o.servers_total,
                "servers_done": o.servers_done,
                "servers_failed": o.servers_failed,
                "servers_skipped": o.servers_skipped,
                "accounts_total": o.accounts_total,
                "accounts_done": o.accounts_done,
                "warnings": o.warnings,
            })),
        })
    }
}

pub struct AppRow {
    pub app: App,
    pub servers: i64,
    pub status: StatusFragment,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/application_links/index.html")]
pub struct ApplicationLinksPage {
    pub chrome: Chrome,
    pub rows: Vec<AppRow>,
}

/// The page's data is one query (`db::operations::overview`), whatever the applications.
async fn show(State(pool): State<PgPool>, chrome: Chrome) -> AppResult<ApplicationLinksPage> {
    let rows = db::operations::overview(&pool, None)
        .await?
        .into_iter()
        .map(|overview| AppRow {
            app: overview.app,
            servers: overview.servers,
            status: StatusFragment::new(overview, chrome.csrf_token.clone()),
        })
        .collect();
    Ok(ApplicationLinksPage { chrome, rows })
}

async fn enable(
    State(pool): State<PgPool>,
    session: Session,
    Path(app): Path<App>,
) -> AppResult<Redirect> {
    toggle(&pool, &session, app, true).await
}

async fn disable(
    State(pool): State<PgPool>,
    session: Session,
    Path(app): Path<App>,
) -> AppResult<Redirect> {
    toggle(&pool, &session, app, false).await
}

async fn toggle(pool: &PgPool, session: &Session, app: App, on: bool) -> AppResult<Redirect> {
    jobs::set_enabled(pool, app, on).await?;
    let message = if on {
        format!(
            "{} links are being added to every account. You can leave this page: the work continues in the background.",
            app.name()
        )
    } else {
        format!("{} links are being removed from every account.", app.name())
    };
    flash(session, "success", message).await?;
    Ok(Redirect::to(BASE))
}

async fn retry(
    State(pool): State<PgPool>,
    session: Session,
    Path(app): Path<App>,
) -> AppResult<Redirect> {
    match jobs::retry_failed(&pool, app).await {
        Ok(_) => {
            flash(
                &session,
                "success",
                format!("Retrying the {} accounts that failed.", app.name()),
            )
            .await?
        }
        Err(OperationError::NothingToRetry) => {
            flash(
                &session,
                "info",
                "There is nothing to retry: no server failed in the last operation.",
            )
            .await?
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(BASE))
}

async fn status(
    State(pool): State<PgPool>,
    session: Session,
    headers: HeaderMap,
    Path(app): Path<App>,
) -> AppResult<Response> {
    let token = crate::web::csrf::session_token(&session).await?;
    // Read with the session ([`status_with_session`]); else one query: the application's
    // switch and last operation.
    let overview = match auth::status_read_with_session(&session, app) {
        Some(overview) => overview,
        None => db::operations::overview(&pool, Some(app))
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound)?,
    };
    let fragment = StatusFragment::new(overview, token);
    if wants_json(&headers) {
        Ok(Json(fragment.json()).into_response())
    } else {
        Ok(fragment.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::polled_app;
    use crate::domain::app::App;

    #[test]
    fn only_a_status_poll_of_a_known_application_reads_its_status_with_the_session() {
        let base = "/admin/setup/application-links";
        assert_eq!(
            polled_app(&format!("{base}/cpanel/status")),
            Some(App::Cpanel)
        );
        for path in [
            format!("{base}/cpanel/log"),
            format!("{base}/nothing/status"),
            format!("{base}/status"),
            format!("{base}/cpanel/status/x"),
            "/admin/servers/cpanel/status".to_string(),
        ] {
            assert_eq!(polled_app(&path), None, "{path}");
        }
    }
}
