//! One closed error type for every handler.
//!
//! Policy: a handler returns `AppError`; its `IntoResponse` only records *what* went wrong (an
//! [`ErrorInfo`] in the response's extensions). The [`render_errors`] middleware, which can see
//! the request and the session, turns that into the normal layout with the navigation of the
//! signed-in admin, into the client area's layout for a request of the client area (never the
//! admin's: `pages::client::errors`), or into JSON when the client asked for JSON. Internal errors are logged
//! with their whole chain and shown as a generic page; their details never reach the browser.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::domain::permission::Permission;
use crate::web::AppState;
use crate::web::layout::{Chrome, ErrorPage};
use crate::web::pages::client::errors as client_errors;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page not found")]
    NotFound,
    #[error("permission denied: {0}")]
    Forbidden(Permission),
    #[error("the form could not be verified")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the request is too large")]
    TooLarge { max_bytes: usize },
    #[error("the form is not sent as a form")]
    NotAForm,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(err.into())
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        AppError::Internal(err.into())
    }
}

/// What went wrong, for the renderer.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    /// Machine-readable code for JSON clients, e.g. `permission_denied`.
    pub code: &'static str,
    pub title: String,
    pub message: String,
    pub permission: Option<Permission>,
}

impl AppError {
    fn info(&self) -> ErrorInfo {
        let (status, code, title, message, permission) = match self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Page not found".to_string(),
                "There is nothing at this address.".to_string(),
                None,
            ),
            AppError::Forbidden(p) => (
                StatusCode::FORBIDDEN,
                "permission_denied",
                "Access denied".to_string(),
                format!(
                    "Your role does not have the “{}” permission, which this page needs. \
                     Ask a Full Administrator to grant it.",
                    p.label()
                ),
                Some(*p),
            ),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "Form expired".to_string(),
                "The form could not be verified: it expired or did not come from this site. \
                 Nothing was changed. Go back, reload the page and try again."
                    .to_string(),
                None,
            ),
            AppError::BadRequest(msg) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Bad request".to_string(),
                msg.clone(),
                None,
            ),
            AppError::TooManyRequests { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many attempts".to_string(),
                format!("Too many attempts. Wait {retry_after_secs} seconds and try again."),
                None,
            ),
            AppError::TooLarge { max_bytes } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "Too large".to_string(),
                format!(
                    "The form is larger than {} KiB, more than any form here sends. Nothing was changed.",
                    max_bytes / 1024
                ),
                None,
            ),
            AppError::NotAForm => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Not a form".to_string(),
                "This address takes an HTML form (Content-Type: application/x-www-form-urlencoded). \
                 Nothing was changed."
                    .to_string(),
                None,
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong".to_string(),
                "The request could not be completed. The error has been logged.".to_string(),
                None,
            ),
        };
        ErrorInfo {
            status,
            code,
            title,
            message,
            permission,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(err) = &self {
            tracing::error!(error = ?err, "request failed");
        }
        let info = self.info();
        let mut response = info.status.into_response();
        if let AppError::TooManyRequests { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
        }
        response.extensions_mut().insert(info);
        response
    }
}

/// True when the client prefers JSON (an `Accept` naming `application/json`).
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Renders responses that carry an [`ErrorInfo`]: the layout page (the admin's, or the client
/// area's under `/client`), or JSON.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let json = wants_json(req.headers());
    let session = req.extensions().get::<Session>().cloned();
    let path = req.uri().path().to_owned();
    let mut response = next.run(req).await;
    let Some(info) = response.extensions_mut().remove::<ErrorInfo>() else {
        return response;
    };
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut rendered = if json {
        let mut body = serde_json::json!({ "error": info.code, "message": info.message });
        if let Some(p) = info.permission {
            body["permission"] = p.key().into();
        }
        (info.status, Json(body)).into_response()
    } else if client_errors::covers(&path) {
        let text = client_errors::ErrorText {
            status: info.status,
            title: info.title,
            message: info.message,
        };
        client_errors::render(&state, session.as_ref(), &path, text).await
    } else {
        let chrome = match session {
            Some(session) => Chrome::for_session(&state, &session, "").await.ok(),
            None => None,
        };
        let page = ErrorPage {
            chrome: chrome.unwrap_or_default(),
            title: info.title,
            message: info.message,
            status: info.status.as_u16(),
        };
        (info.status, page).into_response()
    };
    if let Some(v) = retry_after {
        rendered.headers_mut().insert(header::RETRY_AFTER, v);
    }
    rendered
}
