//! A client's hosting accounts, added by hand or changed in status. Each change and the
//! operation that provisions it commit in one transaction (SPEC §5).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::{ClientPage, find};
use crate::db;
use crate::domain::account::AccountStatus;
use crate::domain::ids::{AccountId, ClientId, ServerId};
use crate::hosting::forms::{AccountForm, FieldErrors};
use crate::web::extract::{Form, Path};
use crate::web::layout::{Chrome, flash};
use crate::web::{AppError, AppResult, AppState};

pub(super) async fn add_account(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
    Form(form): Form<AccountForm>,
) -> AppResult<Response> {
    let client = find(&state, id).await?;
    let servers = db::servers::choices(&state.pool).await?;
    let ids: Vec<ServerId> = servers.iter().map(|(id, _)| *id).collect();
    let errors = match form.validate(&ids) {
        Ok(input) => {
            let mut tx = db::begin(&state.pool).await?;
            match db::accounts::insert(
                &mut *tx,
                client.id,
                input.server_id,
                &input.username,
                &input.domain,
                input.status,
            )
            .await
            {
                Ok(account_id) => {
                    // The account and the operation that provisions it commit together.
                    crate::jobs::account_changed_in(&mut tx, account_id).await?;
                    tx.commit().await?;
                    let shown = if input.username.is_empty() {
                        "without a username".to_string()
                    } else {
                        format!("“{}”", input.username)
                    };
                    flash(&session, "success", format!("Account {shown} added.")).await?;
                    return Ok(
                        Redirect::to(&format!("/admin/clients/{}", client.id)).into_response()
                    );
                }
                Err(err) if db::accounts::is_username_taken(&err) => {
                    let server = servers
                        .iter()
                        .find(|(id, _)| *id == input.server_id)
                        .map_or("This server", |(_, name)| name.as_str());
                    FieldErrors::one(
                        "username",
                        format!(
                            "{server} already has an account “{}”; a cPanel username is unique per server.",
                            input.username
                        ),
                    )
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(errors) => errors,
    };
    let chrome = Chrome::for_session(&state, &session, "/admin/clients").await?;
    let mut page = ClientPage::load(&state, chrome, client).await?;
    page.account_form = form;
    page.account_errors = errors;
    Ok(page.unprocessable())
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    status: String,
}

pub(super) async fn set_account_status(
    State(state): State<AppState>,
    session: Session,
    Path((id, account_id)): Path<(ClientId, AccountId)>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    let client = find(&state, id).await?;
    let Some(status) = AccountStatus::parse(&form.status) else {
        let chrome = Chrome::for_session(&state, &session, "/admin/clients").await?;
        let mut page = ClientPage::load(&state, chrome, client).await?;
        page.account_errors =
            FieldErrors::one("status_change", "Choose active, suspended or terminated.");
        return Ok(page.unprocessable());
    };
    let mut tx = db::begin(&state.pool).await?;
    let Some(previous) = db::accounts::set_status(&mut *tx, client.id, account_id, status).await?
    else {
        return Err(AppError::NotFound);
    };
    let reactivated = status == AccountStatus::Active && previous != status;
    let terminated = status == AccountStatus::Terminated && previous != status;
    if reactivated || terminated {
        // The status and the operation that follows it commit together.
        crate::jobs::account_changed_in(&mut tx, account_id).await?;
    }
    tx.commit().await?;
    flash(
        &session,
        "success",
        format!("The account is now {}.", status.key()),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/clients/{}", client.id)).into_response())
}
