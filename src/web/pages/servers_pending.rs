//! A server's pending matches (issue 8), under `/admin/servers/{id}/pending`: confirm one,
//! dismiss one, confirm all. Merged into `servers::router()`, so the `configure_servers` guard
//! and the CSRF check cover these routes too; the list itself is on the server's page.
//!
//! Every decision answers 303 with a flash message; an unknown server, a malformed id or a
//! match that is no longer pending is a 404, and a match the server's accounts overtook (its
//! username was added by hand meanwhile) a 400 that says to dismiss it. Nothing changes then.

use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::post;
use tower_sessions::Session;

use crate::db;
use crate::domain::ids::ServerId;
use crate::hosting::pending::{self, Dismissed, PendingError};
use crate::web::extract::Path;
use crate::web::layout::flash;
use crate::web::{AppError, AppResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{id}/pending/confirm-all", post(confirm_all))
        .route("/{id}/pending/{pending}/confirm", post(confirm))
        .route("/{id}/pending/{pending}/dismiss", post(dismiss))
}

impl From<PendingError> for AppError {
    fn from(err: PendingError) -> Self {
        match err {
            PendingError::NotPending => AppError::NotFound,
            err @ PendingError::UsernameTaken(_) => {
                AppError::BadRequest(format!("Nothing was changed: {err}."))
            }
            PendingError::Db(err) => err.into(),
            PendingError::Operation(err) => AppError::Internal(err.into()),
        }
    }
}

/// The server named by the path; 404 when it does not exist.
async fn server_id(state: &AppState, id: ServerId) -> AppResult<ServerId> {
    db::servers::find(&state.pool, id)
        .await?
        .map(|s| s.id)
        .ok_or(AppError::NotFound)
}

fn back(server_id: ServerId) -> Redirect {
    Redirect::to(&format!("/admin/servers/{server_id}"))
}

async fn confirm(
    State(state): State<AppState>,
    session: Session,
    Path((id, pending_id)): Path<(ServerId, i64)>,
) -> AppResult<Redirect> {
    let server_id = server_id(&state, id).await?;
    let account = pending::confirm(&state.pool, server_id, pending_id).await?;
    flash(
        &session,
        "success",
        format!(
            "“{}” is now an account of “{}”.",
            account.username, account.client_name
        ),
    )
    .await?;
    Ok(back(server_id))
}

async fn dismiss(
    State(state): State<AppState>,
    session: Session,
    Path((id, pending_id)): Path<(ServerId, i64)>,
) -> AppResult<Redirect> {
    let server_id = server_id(&state, id).await?;
    let message = match pending::dismiss(&state.pool, server_id, pending_id).await? {
        Dismissed::OwnClient {
            account,
            client_name,
        } => format!(
            "“{}” was not attached to “{}”: it has a client of its own, “{client_name}”.",
            account.username, account.client_name
        ),
        Dismissed::AlreadyImported(account) => format!(
            "“{}” was already in applinks; its match with “{}” was dropped.",
            account.username, account.client_name
        ),
    };
    flash(&session, "success", message).await?;
    Ok(back(server_id))
}

async fn confirm_all(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ServerId>,
) -> AppResult<Redirect> {
    let server_id = server_id(&state, id).await?;
    let done = pending::confirm_all(&state.pool, server_id).await?;
    if done.confirmed.is_empty() && done.taken.is_empty() {
        return Err(PendingError::NotPending.into());
    }
    if !done.confirmed.is_empty() {
        flash(
            &session,
            "success",
            format!(
                "Confirmed {} accounts: each is now an account of the client its e-mail matched.",
                done.confirmed.len()
            ),
        )
        .await?;
    }
    if !done.taken.is_empty() {
        let users: Vec<&str> = done.taken.iter().map(|p| p.username.as_str()).collect();
        flash(
            &session,
            "error",
            format!(
                "Not confirmed, the server already has accounts with these usernames: {}. Dismiss them to drop the matches.",
                users.join(", ")
            ),
        )
        .await?;
    }
    Ok(back(server_id))
}
