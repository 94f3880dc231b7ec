//! The client area's error pages. `web::error::render_errors` hands every error of a request
//! under `/client` (and of `/sso/login`, where a client signs in) to [`render`]: a signed-in
//! client gets it inside the client layout (navigation, who is signed in, *Sign out*), anyone
//! else a plain client-area page. Neither ever shows an admin's navigation or name, even when
//! an admin is signed in in the same browser; the admin's error page is never used here.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::{ClientArea, current_client};
use crate::web::layout::Chrome;
use crate::web::{AppResult, AppState};

/// Whether an error of a request for `path` belongs to the client area.
pub fn covers(path: &str) -> bool {
    path == "/client" || path.starts_with("/client/") || path == "/sso/login"
}

/// What went wrong, as the page says it.
pub struct ErrorText {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
}

/// An error inside the client layout, for a signed-in client.
#[derive(Template, WebTemplate)]
#[template(path = "client/error.html")]
pub struct ClientErrorPage {
    pub chrome: Chrome,
    pub area: ClientArea,
    pub title: String,
    pub message: String,
    pub status: u16,
}

/// An error for a browser without a client sign-in: the client area's top bar only.
#[derive(Template, WebTemplate)]
#[template(path = "client/error_signed_out.html")]
pub struct SignedOutErrorPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub status: u16,
}

/// The error page of a request for `path` in the client area. It cannot fail: when the
/// session or the database does not answer, the plain page without the session's parts.
pub async fn render(
    state: &AppState,
    session: Option<&Session>,
    path: &str,
    text: ErrorText,
) -> Response {
    if let Some(session) = session {
        match for_session(state, session, path, &text).await {
            Ok(response) => return response,
            Err(err) => {
                tracing::warn!(error = ?err, "client-area error page without the session's parts");
            }
        }
    }
    signed_out(Chrome::default(), &text)
}

/// The page in the client layout for a signed-in client, the plain one for anyone else.
async fn for_session(
    state: &AppState,
    session: &Session,
    path: &str,
    text: &ErrorText,
) -> AppResult<Response> {
    let Some(client) = current_client(state, session).await? else {
        return Ok(signed_out(Chrome::for_client(session, false).await?, text));
    };
    let page = ClientErrorPage {
        // The layout has the sign-out form.
        chrome: Chrome::for_client(session, true).await?,
        area: ClientArea::new(client, path),
        title: text.title.clone(),
        message: text.message.clone(),
        status: text.status.as_u16(),
    };
    Ok((text.status, page).into_response())
}

fn signed_out(chrome: Chrome, text: &ErrorText) -> Response {
    let page = SignedOutErrorPage {
        chrome,
        title: text.title.clone(),
        message: text.message.clone(),
        status: text.status.as_u16(),
    };
    (text.status, page).into_response()
}
