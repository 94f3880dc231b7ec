//! The client area reached through single sign-on (SPEC §3, §4): one simple page per link
//! destination that shows who is signed in, `/client/login`, which explains how to sign in
//! (and why single sign-on refused, with `?sso=disabled` or `?sso=suspended`), and
//! `POST /client/logout`. A client sign-in is kept apart from an admin one in the same
//! browser: it carries [`CLIENT_ID_KEY`] / [`CLIENT_USER_ID_KEY`], never `admin_id`, so it
//! opens nothing under `/admin`, and signing in or out as a client leaves an admin alone.
//! A client sign-in ends after `APPLINKS_CLIENT_SESSION_MAX_SECS` whatever the activity.

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
use crate::domain::links::{LINKS, LinkDef};
use crate::web::layout::Chrome;
use crate::web::{AppError, AppResult, AppState};

/// Session key of the signed-in client's id.
pub const CLIENT_ID_KEY: &str = "client_id";
/// Session key of the signed-in client user's id.
pub const CLIENT_USER_ID_KEY: &str = "client_user_id";
/// Session key of when (unix seconds) the client signed in, for the absolute lifetime.
pub const CLIENT_SINCE_KEY: &str = "client_since";

pub fn router() -> Router<AppState> {
    LINKS
        .iter()
        .fold(Router::new(), |router, def| {
            router.route(def.path, get(destination))
        })
        .route("/client/login", get(login))
        .route("/client/logout", post(logout))
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
    let client_id = session.get::<i64>(CLIENT_ID_KEY).await?;
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

#[derive(Template, WebTemplate)]
#[template(path = "client/page.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub client: ClientIdentity,
    pub link: &'static LinkDef,
}

/// Every destination of SPEC §4: the page named by the link's default label.
async fn destination(
    State(state): State<AppState>,
    session: Session,
    uri: Uri,
    chrome: Chrome,
) -> AppResult<Response> {
    let link = find_destination(uri.path()).ok_or(AppError::NotFound)?;
    let Some(client) = current_client(&state, &session).await? else {
        return Ok(
            Redirect::to(&format!("/client/login?next={}", encode(link.path))).into_response(),
        );
    };
    Ok(ClientPage {
        // The page has the sign-out form.
        chrome: chrome.with_form_token(&session).await?,
        client,
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
    chrome: Chrome,
    Query(query): Query<LoginQuery>,
) -> AppResult<ClientLoginPage> {
    let client = current_client(&state, &session).await?;
    let chrome = match client {
        // The page has the sign-out form.
        Some(_) => chrome.with_form_token(&session).await?,
        None => chrome,
    };
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
