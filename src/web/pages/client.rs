//! The client area reached through single sign-on (SPEC §3, §4): `/client`, one simple page
//! per link destination, all with the client area's navigation ([`ClientNav`]: the 15
//! destinations grouped as on the links page, and the owner's settings of `settings`) and who
//! is signed in; `/client/login`, which explains how to sign in (and why single sign-on
//! refused, with `?sso=disabled` or `?sso=suspended`), and `POST /client/logout`. A client
//! sign-in is kept apart from an admin one in the same browser: it carries [`CLIENT_ID_KEY`] /
//! [`CLIENT_USER_ID_KEY`], never `admin_id`, so it opens nothing under `/admin`, an admin's
//! sign-in opens nothing here, and signing in or out as a client leaves an admin alone.
//! A client sign-in ends after `APPLINKS_CLIENT_SESSION_MAX_SECS` whatever the activity.
//! An error under `/client` is shown in the same layout, or a plain client-area page to a
//! browser without a client sign-in (`errors`), never in the admin's.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::db;
use crate::db::sso::ClientIdentity;
use crate::domain::ids::ClientId;
use crate::domain::links::{Group, LINKS, LinkDef};
use crate::web::layout::Chrome;
use crate::web::{AppError, AppResult, AppState};

/// Session key of the signed-in client's id.
pub const CLIENT_ID_KEY: &str = "client_id";
/// Session key of the signed-in client user's id.
pub const CLIENT_USER_ID_KEY: &str = "client_user_id";
/// Session key of when (unix seconds) the client signed in, for the absolute lifetime.
pub const CLIENT_SINCE_KEY: &str = "client_since";

pub mod errors;
mod settings;

pub fn router() -> Router<AppState> {
    LINKS
        .iter()
        .fold(Router::new(), |router, def| {
            router.route(def.path, get(destination))
        })
        .route("/client", get(home))
        .route("/client/login", get(login))
        .route("/client/logout", post(logout))
        .merge(settings::router())
}

/// Ends the client's sign-in (an admin signed in in the same browser stays signed in).
pub async fn sign_out_client(session: &Session) -> AppResult<()> {
    for key in [CLIENT_ID_KEY, CLIENT_USER_ID_KEY, CLIENT_SINCE_KEY] {
        if session.get::<serde_json::Value>(key).await?.is_some() {
            session.remove_value(key).await?;
        }
    }
    Ok(())
}

/// `POST /client/logout`.
async fn logout(session: Session) -> AppResult<Redirect> {
    sign_out_client(&session).await?;
    Ok(Redirect::to("/client/login?signed_out=1"))
}

/// The client user of this session, if any (and if they still exist and the sign-in has not
/// outlived its absolute lifetime).
async fn current_client(state: &AppState, session: &Session) -> AppResult<Option<ClientIdentity>> {
    let client_id = session.get::<ClientId>(CLIENT_ID_KEY).await?;
    let user_id = session.get::<i64>(CLIENT_USER_ID_KEY).await?;
    let (Some(client_id), Some(user_id)) = (client_id, user_id) else {
        return Ok(None);
    };
    let since = session.get::<i64>(CLIENT_SINCE_KEY).await?.unwrap_or(0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if now.saturating_sub(since) >= state.settings.client_session_max_secs as i64 {
        sign_out_client(session).await?;
        return Ok(None);
    }
    Ok(db::sso::identity(&state.pool, client_id, user_id).await?)
}

fn find_destination(path: &str) -> Option<&'static LinkDef> {
    LINKS.iter().find(|l| l.path == path)
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One entry of the client area's navigation.
#[derive(Debug, Clone)]
pub struct ClientNavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// A group of entries, named as on the links page (Ordering, Support, Account).
#[derive(Debug, Clone)]
pub struct ClientNavGroup {
    pub name: &'static str,
    pub items: Vec<ClientNavItem>,
}

/// The client area's navigation: every destination of SPEC §4 in its group, then the account
/// owner's own settings (nobody else is offered them).
#[derive(Debug, Clone)]
pub struct ClientNav {
    pub groups: Vec<ClientNavGroup>,
    /// *Security Settings* and *User Management*; empty for a user who is not the owner.
    pub settings: Vec<ClientNavItem>,
}

/// The owner's settings pages (`settings`).
const SETTINGS_NAV: [(&str, &str); 2] = [
    ("Security Settings", "/client/security"),
    ("User Management", "/client/users"),
];

impl ClientNav {
    /// The navigation for `client`; `path` marks the active entry.
    pub fn new(client: &ClientIdentity, path: &str) -> Self {
        let item = |label, href| ClientNavItem {
            label,
            href,
            active: href == path,
        };
        let groups = Group::ALL
            .iter()
            .map(|group| ClientNavGroup {
                name: group.name(),
                items: LINKS
                    .iter()
                    .filter(|l| l.group == *group)
                    .map(|l| item(l.default_label, l.path))
                    .collect(),
            })
            .collect();
        let settings = if client.is_owner {
            SETTINGS_NAV
                .iter()
                .map(|(label, href)| item(label, href))
                .collect()
        } else {
            Vec::new()
        };
        Self { groups, settings }
    }
}

/// What every page of the signed-in client area shows around its content.
#[derive(Debug, Clone)]
pub struct ClientArea {
    pub client: ClientIdentity,
    pub nav: ClientNav,
}

impl ClientArea {
    pub fn new(client: ClientIdentity, path: &str) -> Self {
        let nav = ClientNav::new(&client, path);
        Self { client, nav }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "client/page.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub area: ClientArea,
    pub link: &'static LinkDef,
}

#[derive(Template, WebTemplate)]
#[template(path = "client/home.html")]
pub struct ClientHomePage {
    pub chrome: Chrome,
    pub area: ClientArea,
}

/// `GET /client`: the client area's start page.
async fn home(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    let Some(client) = current_client(&state, &session).await? else {
        return Ok(Redirect::to("/client/login").into_response());
    };
    Ok(ClientHomePage {
        chrome: Chrome::for_client(&session, true).await?,
        area: ClientArea::new(client, "/client"),
    }
    .into_response())
}

/// Every destination of SPEC §4: the page named by the link's default label.
async fn destination(
    State(state): State<AppState>,
    session: Session,
    uri: Uri,
) -> AppResult<Response> {
    let link = find_destination(uri.path()).ok_or(AppError::NotFound)?;
    let Some(client) = current_client(&state, &session).await? else {
        return Ok(
            Redirect::to(&format!("/client/login?next={}", encode(link.path))).into_response(),
        );
    };
    Ok(ClientPage {
        // The page has the sign-out form.
        chrome: Chrome::for_client(&session, true).await?,
        area: ClientArea::new(client, link.path),
        link,
    }
    .into_response())
}

#[derive(Deserialize)]
struct LoginQuery {
    sso: Option<String>,
    next: Option<String>,
    signed_out: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "client/login.html")]
pub struct ClientLoginPage {
    pub chrome: Chrome,
    pub sso_disabled: bool,
    /// Single sign-on refused because the hosting service is suspended or terminated.
    pub sso_suspended: bool,
    pub signed_out: bool,
    /// The destination the client was headed for, when it is one of ours.
    pub next: Option<&'static LinkDef>,
    pub client: Option<ClientIdentity>,
}

/// `GET /client/login`.
async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> AppResult<ClientLoginPage> {
    let client = current_client(&state, &session).await?;
    // With a client signed in, the page has the sign-out form.
    let chrome = Chrome::for_client(&session, client.is_some()).await?;
    Ok(ClientLoginPage {
        chrome,
        sso_disabled: query.sso.as_deref() == Some("disabled"),
        sso_suspended: query.sso.as_deref() == Some("suspended"),
        signed_out: query.signed_out.is_some(),
        // Only our own paths: `next` never becomes an open redirect.
        next: query.next.as_deref().and_then(find_destination),
        client,
    })
}
