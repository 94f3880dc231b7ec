//! The links of one application (SPEC §4): applinks' group label in cPanel, and per link
//! shown?, display label and order, saved as a whole. The arrows work without JavaScript:
//! they re-render the form with the new order and save nothing until *Save Changes*.

use std::collections::HashSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;
use tower_sessions::Session;

use super::BASE;
use crate::db;
use crate::domain::app::App;
use crate::domain::configuration::{self, ConfigErrors, ConfigInput};
use crate::domain::links::{self, LinkSetting};
use crate::jobs;
use crate::web::extract::{Form, Path};
use crate::web::layout::{Chrome, flash};
use crate::web::{AppError, AppResult};

/// More fields than any real configure form sends.
const MAX_FIELDS: usize = 200;

/// One row of the configure form.
pub struct LinkRow {
    pub key: String,
    pub group: &'static str,
    /// The group's icon under `/static/icons/`, as cPanel will show it.
    pub icon: &'static str,
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
    pub group_label: String,
    pub group_label_error: Option<String>,
    pub rows: Vec<LinkRow>,
    pub order: String,
    pub errors: Vec<String>,
    pub notice: Option<String>,
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
            icon: s.def().map_or("", |d| d.group.icon_file()),
            shown: s.shown,
            label: s.label.clone(),
            error: errors.for_link(&s.key).map(str::to_string),
            first: i == 0,
            last: i + 1 == n,
        })
        .collect()
}

pub(super) async fn configure_form(
    State(pool): State<PgPool>,
    chrome: Chrome,
    Path(app): Path<App>,
) -> AppResult<ConfigurePage> {
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
        group_label: db::applications::group_label(&pool, app).await?,
        group_label_error: None,
        rows: rows_of(&settings, &ConfigErrors::default()),
        order,
        errors: Vec::new(),
        notice: None,
    })
}

/// Reads the posted form: `group_label`, `label_<key>`, `shown_<key>` (checkbox), `order`
/// (keys, comma separated), and optionally `move` = `<key>:up` / `<key>:down` from an arrow.
/// Linear in the number of fields, whatever a hostile form sends.
fn parse_form(fields: &[(String, String)]) -> (ConfigInput, Option<(String, bool)>) {
    let mut input = ConfigInput::default();
    let mut movement = None;
    let shown: HashSet<&str> = fields
        .iter()
        .filter(|(_, value)| value == "on")
        .filter_map(|(name, _)| name.strip_prefix("shown_"))
        .collect();
    for (name, value) in fields {
        if let Some(key) = name.strip_prefix("label_") {
            let shown = shown.contains(key);
            input.links.push((key.to_string(), shown, value.clone()));
        } else if name == "group_label" {
            input.group_label = Some(value.clone());
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

pub(super) async fn save_configuration(
    State(pool): State<PgPool>,
    session: Session,
    chrome: Chrome,
    Path(app): Path<App>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    // The form has 15 links × 2 fields and a few more; anything far beyond is not ours.
    if fields.len() > MAX_FIELDS {
        return Err(AppError::BadRequest(format!(
            "The form has {} fields; a configuration has at most {MAX_FIELDS}.",
            fields.len()
        )));
    }
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
        let page = form_page(chrome, app, enabled, &input, ConfigErrors::default());
        return Ok(ConfigurePage {
            notice: Some("Order changed: Save Changes to keep it.".into()),
            ..page
        }
        .into_response());
    }

    match configuration::validate(&input) {
        Ok(config) => {
            let op = jobs::save_configuration(&pool, app, &config).await?;
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
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(chrome, app, enabled, &input, errors),
        )
            .into_response()),
    }
}

/// The form as it was posted (known keys only, in the posted order), with its errors.
fn form_page(
    chrome: Chrome,
    app: App,
    enabled: bool,
    input: &ConfigInput,
    errors: ConfigErrors,
) -> ConfigurePage {
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
    ConfigurePage {
        chrome,
        app,
        enabled,
        group_label: input.group_label.clone().unwrap_or_default(),
        group_label_error: errors.group_label.clone(),
        rows: rows_of(&settings, &errors),
        order,
        errors: errors.general.clone(),
        notice: None,
    }
}
