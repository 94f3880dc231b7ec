//! CSRF protection in two layers (OWASP ASVS 3.5).
//!
//! 1. tower-http's `CsrfLayer` refuses cross-origin state changes by `Sec-Fetch-Site` / `Origin`.
//! 2. A synchronizer token bound to the session: every form carries a hidden `csrf_token`
//!    (htmx sends the header `X-CSRF-Token`), compared in constant time. This layer is what
//!    refuses a client that sends no Origin header at all, such as curl.
//!
//! `POST /sso/cpanel` and `POST /sso/cpanel/{link}` are exempt from both: cPanel calls them
//! server to server, and they are authenticated by the account's link secret instead.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use subtle::ConstantTimeEq;
use tower_http::csrf::CsrfLayer;
use tower_sessions::Session;

use crate::web::{AppError, WebSettings};

/// Session key of the synchronizer token.
pub const TOKEN_KEY: &str = "csrf_token";
/// Name of the hidden form field.
pub const FORM_FIELD: &str = "csrf_token";
/// Name of the header htmx sends.
pub const HEADER: &str = "x-csrf-token";
/// Form bodies larger than this are refused before they are parsed (the largest real form,
/// the links' configuration, is a few KiB).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

fn exempt(path: &str) -> bool {
    path == "/sso/cpanel" || path.starts_with("/sso/cpanel/")
}

/// How the Origin check answers a refused request: a short page that says what happened.
pub type OriginRejection = fn(tower_http::csrf::ProtectionError) -> Response;

fn origin_refused(error: tower_http::csrf::ProtectionError) -> Response {
    tracing::info!(?error, "refused a cross-origin state-changing request");
    (
        axum::http::StatusCode::FORBIDDEN,
        axum::response::Html(
            "<!doctype html><title>Refused</title><h1>Request refused</h1>\
             <p>This request came from another site, so it was refused and nothing was changed. \
             Open applinks directly and try again.</p>",
        ),
    )
        .into_response()
}

/// The Origin / Sec-Fetch-Site layer; the public URL is a trusted origin so that a proxy that
/// rewrites `Host` does not break sign-in.
pub fn origin_layer(settings: &WebSettings) -> CsrfLayer<OriginRejection> {
    let layer = CsrfLayer::new()
        .with_insecure_bypass(|_, uri| exempt(uri.path()))
        .with_rejection_response(origin_refused as OriginRejection);
    match layer
        .clone()
        .add_trusted_origin(settings.public_url.as_str())
    {
        Ok(layer) => layer,
        Err(err) => {
            tracing::warn!(public_url = %settings.public_url, ?err, "public URL is not a valid origin");
            layer
        }
    }
}

/// The session's token, if it has one.
pub async fn existing_token(session: &Session) -> Result<Option<String>, AppError> {
    Ok(session.get::<String>(TOKEN_KEY).await?)
}

/// The session's token, created on first use.
pub async fn session_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(TOKEN_KEY).await? {
        return Ok(token);
    }
    let token = new_token();
    session.insert(TOKEN_KEY, &token).await?;
    Ok(token)
}

/// Replaces the session's token (at sign-in, so a token seen before sign-in is worthless).
pub async fn rotate_token(session: &Session) -> Result<String, AppError> {
    let token = new_token();
    session.insert(TOKEN_KEY, &token).await?;
    Ok(token)
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a state-changing request whose token is missing or is not this session's.
pub async fn require_token(req: Request, next: Next) -> Response {
    if !is_state_changing(req.method()) || exempt(req.uri().path()) {
        return next.run(req).await;
    }
    match check(req).await {
        Ok(req) => next.run(req).await,
        Err(err) => err.into_response(),
    }
}

async fn check(req: Request) -> Result<Request, AppError> {
    let session = req
        .extensions()
        .get::<Session>()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("session layer missing"))?;
    let expected = session.get::<String>(TOKEN_KEY).await?;
    let header = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (parts, body) = req.into_parts();
    let (sent, body) = match header {
        Some(sent) => (Some(sent), body),
        None => {
            let bytes = to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| AppError::TooLarge {
                    max_bytes: MAX_FORM_BYTES,
                })?;
            let sent = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == FORM_FIELD)
                .map(|(_, v)| v.into_owned());
            (sent, Body::from(bytes))
        }
    };
    match (expected, sent) {
        (Some(expected), Some(sent)) if bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) => {
            Ok(Request::from_parts(parts, body))
        }
        _ => {
            tracing::info!(path = %parts.uri.path(), "refused a request without a valid CSRF token");
            Err(AppError::Csrf)
        }
    }
}
