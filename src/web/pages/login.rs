//! Sign-in and sign-out.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::{Expiry, Session};

use crate::db;
use crate::web::SESSION_INACTIVITY;
use crate::web::auth::{ADMIN_ID_KEY, verify_password};
use crate::web::client_addr::ClientAddr;
use crate::web::extract::Form;
use crate::web::layout::{ANONYMOUS_SESSION_IDLE, Chrome, flash};
use crate::web::throttle::Verdict;
use crate::web::{AppError, AppResult, AppState, csrf};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(form).post(sign_in))
        .route("/admin/logout", post(sign_out))
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub username: String,
    pub error: Option<String>,
}

async fn form(chrome: Chrome, session: Session) -> AppResult<Response> {
    if chrome.admin.is_some() {
        return Ok(Redirect::to("/admin").into_response());
    }
    if chrome.csrf_token.is_empty() {
        // The form's token starts a session: nobody is signed in, so it lives briefly.
        session.set_expiry(Some(Expiry::OnInactivity(ANONYMOUS_SESSION_IDLE)));
    }
    Ok(LoginPage {
        chrome: chrome.with_form_token(&session).await?,
        username: String::new(),
        error: None,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    peer: ClientAddr,
    chrome: Chrome,
    Form(creds): Form<Credentials>,
) -> AppResult<Response> {
    let username = creds.username.trim().to_string();
    // No admin has such a username: refuse it before any work, and never log what was sent.
    if username.chars().count() > MAX_USERNAME_CHARS || username.chars().any(char::is_control) {
        tracing::info!(
            username_chars = username.chars().count(),
            address = %peer.ip,
            "sign-in refused: unusable username"
        );
        return Ok(refused(chrome, String::new()));
    }
    match state.login_limiter.attempt(&username, &peer.ip.to_string()) {
        Verdict::Refuse(wait) => {
            tracing::warn!(?username, address = %peer.ip, "sign-in attempts throttled");
            return Err(AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        Verdict::Proceed(backoff) if !backoff.is_zero() => {
            tracing::info!(
                ?username,
                backoff_ms = backoff.as_millis() as u64,
                "sign-in slowed down"
            );
            tokio::time::sleep(backoff).await;
        }
        Verdict::Proceed(_) => {}
    }
    let admin = db::admins::find_by_username(&state.pool, &username).await?;
    let hash = admin.as_ref().map(|a| a.password_hash.clone());
    let password = creds.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref()))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    match admin {
        // Only someone who knows the password learns that the account is disabled.
        Some(admin) if ok && admin.disabled => {
            tracing::info!(admin = %admin.username, address = %peer.ip, "sign-in refused: disabled");
            Ok(refused_with(
                chrome,
                username,
                "This administrator account is disabled. Ask an administrator who manages administrators to enable it.",
            ))
        }
        Some(admin) if ok => {
            // A new session id at sign-in defeats session fixation; a new CSRF token too.
            session.cycle_id().await?;
            session.set_expiry(Some(Expiry::OnInactivity(SESSION_INACTIVITY)));
            session.insert(ADMIN_ID_KEY, admin.id).await?;
            csrf::rotate_token(&session).await?;
            tracing::info!(admin = %admin.username, "signed in");
            Ok(Redirect::to("/admin").into_response())
        }
        _ => {
            tracing::info!(?username, address = %peer.ip, "sign-in refused");
            Ok(refused(chrome, username))
        }
    }
}

/// Usernames are at most this long, as `applinks admin create` enforces.
const MAX_USERNAME_CHARS: usize = 64;

/// The page for a refused sign-in; it never says which part was wrong.
fn refused(chrome: Chrome, username: String) -> Response {
    refused_with(chrome, username, "Wrong username or password.")
}

fn refused_with(chrome: Chrome, username: String, error: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        LoginPage {
            chrome,
            username,
            error: Some(error.into()),
        },
    )
        .into_response()
}

async fn sign_out(session: Session) -> AppResult<Redirect> {
    session.flush().await?;
    // What remains is an anonymous session carrying the flash.
    session.set_expiry(Some(Expiry::OnInactivity(ANONYMOUS_SESSION_IDLE)));
    flash(&session, "info", "You have signed out.").await?;
    Ok(Redirect::to("/admin/login"))
}
