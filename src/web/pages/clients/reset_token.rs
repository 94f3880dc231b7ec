//! *Reset SSO token* on a client's page: a new link secret for one of its accounts, pushed to
//! the account's links by a `reset_token` job (`jobs::reset_token`). The old token is refused
//! from the moment this answers.

use axum::extract::State;
use axum::response::Redirect;
use tower_sessions::Session;

use super::find;
use crate::db;
use crate::domain::ids::{AccountId, ClientId};
use crate::jobs::ResetError;
use crate::web::auth::CurrentAdmin;
use crate::web::extract::Path;
use crate::web::layout::flash;
use crate::web::{AppError, AppResult, AppState};

pub(super) async fn reset_token(
    State(state): State<AppState>,
    session: Session,
    admin: CurrentAdmin,
    Path((id, account_id)): Path<(ClientId, AccountId)>,
) -> AppResult<Redirect> {
    let client = find(&state, id).await?;
    // Only an account of this client: the URL names both.
    let owned = db::provisioning::account(&state.pool, account_id)
        .await?
        .is_some_and(|a| a.client_id == client.id);
    if !owned {
        return Err(AppError::NotFound);
    }
    let by = format!("administrator {}", admin.username);
    let started = match crate::jobs::reset_token(&state.pool, &state.secrets, account_id, &by).await
    {
        Ok(started) => started,
        Err(ResetError::NotFound) => return Err(AppError::NotFound),
        Err(err @ ResetError::NotLinkable(_)) => {
            return Err(AppError::BadRequest(format!("Nothing was reset: {err}.")));
        }
        Err(err) => return Err(AppError::Internal(err.into())),
    };
    flash(
        &session,
        "success",
        format!(
            "New SSO token for “{}”: the old one is refused from now on, and the new one is being pushed to its {} links (see the {} log).",
            started.username,
            started.app.name(),
            started.app.name()
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/clients/{}", client.id)))
}
