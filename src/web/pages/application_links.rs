//! Setup › Application Links. Everything here sits behind the `configure_application_links`
//! guard in `pages::router`, including routes added later.
//!
//! State changes only write to the database and queue jobs (`crate::jobs`); the work itself
//! happens in workers, so leaving the page never stops a sync.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;

use crate::db;
use crate::db::operations::{LogEntry, OperationSummary};
use crate::domain::app::App;
use crate::domain::links::{self, ConfigErrors, ConfigInput, LinkSetting};
use crate::domain::operation::{AppStatus, Level};
use crate::jobs::{self, OperationError};
use crate::web::error::wants_json;
use crate::web::layout::{Chrome, flash};
use crate::web::{AppError, AppResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(show))
        .route("/{app}/enable", post(enable))
        .route("/{app}/disable", post(disable))
        .route(
            "/{app}/configure",
            get(configure_form).post(save_configuration),
        )
        .route("/{app}/status", get(status))
        .route("/{app}/log", get(log))
        .route("/{app}/retry", post(retry))
}

const BASE: &str = "/admin/setup/application-links";

fn parse_app(app: &str) -> Result<App, AppError> {
    app.parse().map_err(|_| AppError::NotFound)
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
    async fn load(pool: &PgPool, app: App, csrf_token: String) -> AppResult<Self> {
        let enabled = db::applications::is_enabled(pool, app).await?;
        let op = db::operations::last(pool, app).await?;
        let running = op.as_ref().is_some_and(|o| o.finished_at.is_none());
        let failed = op.as_ref().map_or(0, |o| o.servers_failed);
        Ok(Self {
            app,
            enabled,
            state: AppStatus::derive(enabled, running, failed),
            op,
            csrf_token,
        })
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

async fn show(State(pool): State<PgPool>, chrome: Chrome) -> AppResult<ApplicationLinksPage> {
    let mut rows = Vec::new();
    for app in App::ALL {
        let servers = db::provisioning::servers_of_app(&pool, app).await?.len() as i64;
        let status = StatusFragment::load(&pool, app, chrome.csrf_token.clone()).await?;
        rows.push(AppRow {
            app,
            servers,
            status,
        });
    }
    Ok(ApplicationLinksPage { chrome, rows })
}

async fn enable(
    State(pool): State<PgPool>,
    session: Session,
    Path(app): Path<String>,
) -> AppResult<Redirect> {
    toggle(&pool, &session, parse_app(&app)?, true).await
}

async fn disable(
    State(pool): State<PgPool>,
    session: Session,
    Path(app): Path<String>,
) -> AppResult<Redirect> {
    toggle(&pool, &session, parse_app(&app)?, false).await
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
    Path(app): Path<String>,
) -> AppResult<Redirect> {
    let app = parse_app(&app)?;
    match jobs::retry_failed(&pool, app).await {
        Ok(_) => {
            flash(
                &session,
                "success",
                format!("Retrying the {} servers that failed.", app.name()),
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
    Path(app): Path<String>,
) -> AppResult<Response> {
    let app = parse_app(&app)?;
    let token = crate::web::csrf::session_token(&session).await?;
    let fragment = StatusFragment::load(&pool, app, token).await?;
    if wants_json(&headers) {
        Ok(Json(fragment.json()).into_response())
    } else {
        Ok(fragment.into_response())
    }
}

/// One row of the configure form.
pub struct LinkRow {
    pub key: String,
    pub group: &'static str,
    pub shown: bool,
    pub label: String,
    pub error: Option<String>,
    pub first: bool,
    pub last: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/application_links/configure.html")]
pub struct ConfigurePage {
    pub chrome: Chrome,
    pub app: App,
    pub enabled: bool,
    pub rows: Vec<LinkRow>,
    pub order: String,
    pub errors: Vec<String>,
    pub notice: Option<String>,
}

impl ConfigurePage {
    /// Groups in the order their first link appears.
    pub fn groups(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.group) {
                out.push(r.group);
            }
        }
        out
    }
}

fn rows_of(settings: &[LinkSetting], errors: &ConfigErrors) -> Vec<LinkRow> {
    let mut sorted: Vec<&LinkSetting> = settings.iter().collect();
    sorted.sort_by_key(|s| s.position);
    let n = sorted.len();
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, s)| LinkRow {
            key: s.key.clone(),
            group: s.def().map_or("", |d| d.group.name()),
            shown: s.shown,
            label: s.label.clone(),
            error: errors.for_link(&s.key).map(str::to_string),
            first: i == 0,
            last: i + 1 == n,
        })
        .collect()
}

async fn configure_form(
    State(pool): State<PgPool>,
    chrome: Chrome,
    Path(app): Path<String>,
) -> AppResult<ConfigurePage> {
    let app = parse_app(&app)?;
    let settings = db::links::load(&pool, app).await?;
    let order = settings
        .iter()
        .map(|s| s.key.as_str())
        .collect::<Vec<_>>()
        .join(",");
    Ok(ConfigurePage {
        chrome,
        app,
        enabled: db::applications::is_enabled(&pool, app).await?,
        rows: rows_of(&settings, &ConfigErrors::default()),
        order,
        errors: Vec::new(),
        notice: None,
    })
}

/// Reads the posted form: `label_<key>`, `shown_<key>` (checkbox), `order` (keys, comma
/// separated), and optionally `move` = `<key>:up` / `<key>:down` from an arrow button.
fn parse_form(fields: &[(String, String)]) -> (ConfigInput, Option<(String, bool)>) {
    let mut input = ConfigInput::default();
    let mut movement = None;
    for (name, value) in fields {
        if let Some(key) = name.strip_prefix("label_") {
            let shown = fields
                .iter()
                .any(|(n, v)| n == &format!("shown_{key}") && v == "on");
            input.links.push((key.to_string(), shown, value.clone()));
        } else if name == "order" {
            input.order = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        } else if name == "move" {
            movement = value
                .rsplit_once(':')
                .map(|(key, dir)| (key.to_string(), dir == "up"));
        }
    }
    (input, movement)
}

async fn save_configuration(
    State(pool): State<PgPool>,
    session: Session,
    chrome: Chrome,
    Path(app): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = parse_app(&app)?;
    let enabled = db::applications::is_enabled(&pool, app).await?;
    let (mut input, movement) = parse_form(&fields);

    // An arrow without JavaScript: re-render with the new order, nothing saved yet.
    if let Some((key, up)) = movement {
        if let Some(i) = input.order.iter().position(|k| *k == key) {
            let j = if up {
                i.checked_sub(1)
            } else {
                Some(i + 1).filter(|j| *j < input.order.len())
            };
            if let Some(j) = j {
                input.order.swap(i, j);
            }
        }
        return Ok(render_form(
            chrome,
            app,
            enabled,
            &input,
            ConfigErrors::default(),
            Some("Order changed: Save Changes to keep it.".into()),
            StatusCode::OK,
        ));
    }

    match links::validate(&input) {
        Ok(settings) => {
            let op = jobs::save_configuration(&pool, app, &settings).await?;
            let message = match op {
                Some(_) => format!(
                    "Saved. The {} links are being updated on every account.",
                    app.name()
                ),
                None => format!(
                    "Saved. {} is off: the links will be added when you switch it on.",
                    app.name()
                ),
            };
            flash(&session, "success", message).await?;
            Ok(Redirect::to(&format!("{BASE}/{}/configure", app.key())).into_response())
        }
        Err(errors) => Ok(render_form(
            chrome,
            app,
            enabled,
            &input,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    }
}

fn render_form(
    chrome: Chrome,
    app: App,
    enabled: bool,
    input: &ConfigInput,
    errors: ConfigErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    // Rebuild rows from what was sent (known keys only), in the posted order.
    let settings: Vec<LinkSetting> = input
        .links
        .iter()
        .filter(|(k, _, _)| links::find(k).is_some())
        .map(|(k, shown, label)| LinkSetting {
            key: k.clone(),
            shown: *shown,
            label: label.clone(),
            position: input
                .order
                .iter()
                .position(|o| o == k)
                .map_or(i32::MAX, |p| p as i32),
        })
        .collect();
    let order = {
        let mut v: Vec<&LinkSetting> = settings.iter().collect();
        v.sort_by_key(|s| s.position);
        v.iter()
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let page = ConfigurePage {
        chrome,
        app,
        enabled,
        rows: rows_of(&settings, &errors),
        order,
        errors: errors.general.clone(),
        notice,
    };
    (status, page).into_response()
}

#[derive(Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    level: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/application_links/log.html")]
pub struct LogPage {
    pub chrome: Chrome,
    pub app: App,
    pub level: Option<Level>,
    pub levels: Vec<Level>,
    pub entries: Vec<LogEntry>,
}

impl LogPage {
    pub fn level_name(key: &str) -> &'static str {
        key.parse::<Level>().map_or("?", Level::name)
    }

    pub fn is_selected(&self, l: &Level) -> bool {
        self.level == Some(*l)
    }
}

async fn log(
    State(pool): State<PgPool>,
    chrome: Chrome,
    Path(app): Path<String>,
    Query(q): Query<LogQuery>,
) -> AppResult<LogPage> {
    let app = parse_app(&app)?;
    let level = match q.level.as_deref().filter(|l| !l.is_empty() && *l != "all") {
        Some(l) => Some(l.parse::<Level>().map_err(AppError::BadRequest)?),
        None => None,
    };
    let entries = db::operations::log_entries(&pool, app, level, 2000).await?;
    Ok(LogPage {
        chrome,
        app,
        level,
        levels: Level::ALL.to_vec(),
        entries,
    })
}
