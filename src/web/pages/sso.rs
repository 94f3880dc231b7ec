//! Single sign-on from cPanel / WP Squared (SPEC §8, whm-api.md §6).
//!
//! `POST /sso/cpanel/{link}` is every link's `autologin_token_url`. cPanel calls it server to
//! server (exempt from CSRF, authenticated by the account's link secret) with the link's
//! stored fields, `token` and `attempt`, but **without `user` and `app`**: the account is
//! identified by `subscriber_unique_id` + `token`, the link by the path; `user` and `app` are
//! cross-checked only when a caller sends them. `POST /sso/cpanel` (no key) takes callers that
//! name the link with `app`. Both answer JSON only: a `redirect_url` to `/sso/login` with a
//! one-time token, a `redirect_url` to the explaining `/client/login?sso=disabled` when a
//! setting refuses (`?sso=suspended` when the hosting service is suspended or terminated),
//! or 403 `{"error": …}` for bad credentials. `GET /sso/login` consumes the
//! token and starts a *client* session; it never touches the admin's session key.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::db;
use crate::domain::account::AccountStatus;
use crate::domain::ids::AccountId;
use crate::domain::links;
use crate::web::layout::Chrome;
use crate::web::pages::client::{CLIENT_ID_KEY, CLIENT_SINCE_KEY, CLIENT_USER_ID_KEY};
use crate::web::{AppResult, AppState, csrf};

/// How long a one-time token lives.
pub const TOKEN_TTL_SECS: i64 = 120;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sso/cpanel", post(autologin_named_by_app))
        .route("/sso/cpanel/{link}", post(autologin_link))
        .route("/sso/login", get(login))
}

/// The fields that identify the caller, from a form or a JSON body. cPanel sends more (the
/// link's stored fields, `attempt`); they are ignored. `user` and `app` stay empty when not
/// sent.
#[derive(Debug, Default)]
struct AutologinRequest {
    app: String,
    token: String,
    user: String,
    subscriber_unique_id: String,
}

impl AutologinRequest {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Option<Self> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let mut req = Self::default();
        if is_json {
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            // A JSON caller may send the id as a number.
            let field = |name: &str| match value.get(name) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            req.app = field("app");
            req.token = field("token");
            req.user = field("user");
            req.subscriber_unique_id = field("subscriber_unique_id");
        } else {
            for (k, v) in form_urlencoded::parse(body) {
                let slot = match k.as_ref() {
                    "app" => &mut req.app,
                    "token" => &mut req.token,
                    "user" => &mut req.user,
                    "subscriber_unique_id" => &mut req.subscriber_unique_id,
                    _ => continue,
                };
                *slot = v.into_owned();
            }
        }
        Some(req)
    }
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

fn forbidden(error: &str) -> Response {
    refuse(StatusCode::FORBIDDEN, error)
}

fn redirect_json(url: String) -> Response {
    Json(serde_json::json!({ "redirect_url": url })).into_response()
}

fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The link a request names: by the URL's key, or by `app` (cPanel's app key); when both
/// name one they must agree. `Err` is the refusal's error word.
fn link_named(path_link: Option<&str>, app: &str) -> Result<&'static links::LinkDef, &'static str> {
    let app_link = if app.is_empty() {
        None
    } else {
        Some(links::key_of_cpanel_app(app).ok_or("unknown_link")?)
    };
    let key = match (path_link, app_link) {
        (Some(path), Some(sent)) if path != sent => return Err("unknown_link"),
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => return Err("unknown_link"),
    };
    links::find(key).ok_or("unknown_link")
}

/// `POST /sso/cpanel/{link}`: the `autologin_token_url` of one link, as cPanel calls it.
async fn autologin_link(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    autologin(state, Some(&link), &headers, &body).await
}

/// `POST /sso/cpanel`: for callers that name the link with `app`.
async fn autologin_named_by_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    autologin(state, None, &headers, &body).await
}

/// Checks the caller, then the link, then the SSO switches, and answers where the browser
/// goes. `path_link` is the link key of the URL, if the URL names one.
async fn autologin(
    state: AppState,
    path_link: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> AppResult<Response> {
    let Some(req) = AutologinRequest::parse(headers, body) else {
        return Ok(refuse(StatusCode::BAD_REQUEST, "malformed_body"));
    };
    const BAD: &str = "invalid_credentials";
    // The link: named by the URL, or by `app`; when both name one, they must agree. Worked
    // out before the query (which answers whether it is shown) but reported only after the
    // credentials.
    let link = link_named(path_link, &req.app);
    let Ok(account_id) = req.subscriber_unique_id.trim().parse::<AccountId>() else {
        return Ok(forbidden(BAD));
    };
    let key = link.ok().map(|def| def.key);
    let Some(facts) = db::sso::autologin_facts(&state.pool, account_id, key).await? else {
        return Ok(forbidden(BAD));
    };
    // Credentials first, all refused alike, so the answer says nothing about which part
    // was wrong (nor whether an account exists). The token is the credential; `user` is
    // only a cross-check, and only when sent.
    if facts.username.is_empty() || (!req.user.is_empty() && facts.username != req.user) {
        return Ok(forbidden(BAD));
    }
    let (Some(_app), Some(stored)) = (facts.module.app(), facts.secret.as_deref()) else {
        return Ok(forbidden(BAD));
    };
    let secret = state
        .secrets
        .decrypt(stored)
        .map_err(|_| anyhow::anyhow!("link secret of account {} does not decrypt", facts.id))?;
    if !bool::from(
        secret
            .expose_secret()
            .as_bytes()
            .ct_eq(req.token.as_bytes()),
    ) {
        tracing::info!(account = %facts.id, "autologin refused: wrong link token");
        return Ok(forbidden(BAD));
    }

    // It must be one of ours, shown, of an application that is on.
    let def = match link {
        Ok(def) => def,
        Err(error) => return Ok(forbidden(error)),
    };
    if !facts.link_shown || !facts.app_enabled {
        return Ok(forbidden("link_not_available"));
    }

    let public = &state.settings.public_url;
    let next: String = form_urlencoded::byte_serialize(def.path.as_bytes()).collect();
    // No sign-in into a service that is not running; the page says why.
    if facts.status != AccountStatus::Active {
        tracing::info!(account = %facts.id, status = %facts.status, "autologin refused: service not active");
        return Ok(redirect_json(format!(
            "{public}/client/login?sso=suspended&next={next}"
        )));
    }
    let user_allowed = facts.owner_sso_allowed.unwrap_or(false);
    let (true, true, Some(user_id)) = (facts.allow_sso, user_allowed, facts.owner_user_id) else {
        tracing::info!(
            client = %facts.client_id,
            "autologin refused by the SSO settings"
        );
        return Ok(redirect_json(format!(
            "{public}/client/login?sso=disabled&next={next}"
        )));
    };

    let raw: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    db::sso::insert_token(
        &state.pool,
        db::sso::NewToken {
            token_hash: &sha256(&token),
            client_id: facts.client_id,
            client_user_id: user_id,
            account_id: facts.id,
            destination: def.path,
            ttl_secs: TOKEN_TTL_SECS,
        },
    )
    .await?;
    tracing::info!(
        account = %facts.id,
        link = def.key,
        "autologin token issued"
    );
    Ok(redirect_json(format!("{public}/sso/login?token={token}")))
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    token: String,
}

/// The 410 page for a used, expired or unknown token.
#[derive(Template, WebTemplate)]
#[template(path = "sso/expired.html")]
pub struct ExpiredPage {
    pub chrome: Chrome,
}

/// `GET /sso/login?token=…`: consumes the token and signs the client in.
async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> AppResult<Response> {
    let consumed = if query.token.is_empty() {
        None
    } else {
        db::sso::consume(&state.pool, &sha256(&query.token)).await?
    };
    let Some(grant) = consumed else {
        // A client-area page: never an admin's navigation, whoever else is signed in here.
        let chrome = Chrome::for_client(&session, false).await?;
        return Ok((StatusCode::GONE, ExpiredPage { chrome }).into_response());
    };
    // A client sign-in, never an admin one, and kept apart from an admin's: it replaces any
    // client sign-in of this browser (the customer asked for it) but leaves an admin's alone.
    // A new session id (and CSRF token) defeats session fixation. A browser that came
    // without a session gets a fresh id when the session is first stored: nothing to cycle
    // (cycling costs a delete in the store).
    if session.id().is_some() {
        session.cycle_id().await?;
    }
    session.insert(CLIENT_ID_KEY, grant.client_id).await?;
    session
        .insert(CLIENT_USER_ID_KEY, grant.client_user_id)
        .await?;
    session
        .insert(
            CLIENT_SINCE_KEY,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
        .await?;
    csrf::rotate_token(&session).await?;
    tracing::info!(
        client = %grant.client_id,
        user = grant.client_user_id,
        "client signed in through SSO"
    );
    Ok(Redirect::to(&grant.destination).into_response())
}
