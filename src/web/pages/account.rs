//! My account (`/admin/account`, SPEC §3): every signed-in admin sees their own details and
//! changes their own password here. The current password is required (throttled like
//! sign-in); the admin's other sessions end, and this one gets a new id.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use crate::db;
use crate::db::admins::Admin;
use crate::hosting::admins::{self as use_case, AdminsError};
use crate::hosting::forms::FieldErrors;
use crate::hosting::forms::admin::OwnPasswordForm;
use crate::web::auth::CurrentAdmin;
use crate::web::client_addr::ClientAddr;
use crate::web::extract::Form;
use crate::web::layout::{Chrome, flash};
use crate::web::throttle::Verdict;
use crate::web::{AppError, AppResult, AppState};

const HERE: &str = "/admin/account";

pub fn router() -> Router<AppState> {
    Router::new().route(HERE, get(show).post(change_password))
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    pub admin: Admin,
    pub errors: FieldErrors,
}

async fn me(state: &AppState, current: &CurrentAdmin) -> AppResult<Admin> {
    db::admins::find(&state.pool, current.id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    chrome: Chrome,
    current: CurrentAdmin,
) -> AppResult<AccountPage> {
    Ok(AccountPage {
        chrome,
        admin: me(&state, &current).await?,
        errors: FieldErrors::new(),
    })
}

async fn change_password(
    State(state): State<AppState>,
    session: Session,
    current: CurrentAdmin,
    peer: ClientAddr,
    Form(form): Form<OwnPasswordForm>,
) -> AppResult<Response> {
    let result = match form.validate() {
        Ok(password) => {
            // Guessing the current password from a stolen session is throttled as sign-in is.
            match state
                .login_limiter
                .attempt(&current.username, &peer.ip.to_string())
            {
                Verdict::Refuse(wait) => {
                    return Err(AppError::TooManyRequests {
                        retry_after_secs: wait.as_secs().max(1),
                    });
                }
                Verdict::Proceed(backoff) => tokio::time::sleep(backoff).await,
            }
            let this_session = session.id().map(|id| id.to_string());
            use_case::change_own_password(
                &state.pool,
                current.id,
                &form.current_password,
                &password,
                this_session.as_deref(),
            )
            .await
        }
        Err(errors) => Err(AdminsError::Invalid(errors)),
    };
    match result {
        Ok(()) => {
            // A new id for this session too: whoever saw the old one holds nothing.
            session.cycle_id().await?;
            flash(
                &session,
                "success",
                "Password changed. Your other sessions have ended.",
            )
            .await?;
            Ok(Redirect::to(HERE).into_response())
        }
        Err(AdminsError::Invalid(errors)) => {
            let page = AccountPage {
                chrome: Chrome::for_session(&state, &session, HERE).await?,
                admin: me(&state, &current).await?,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AdminsError::NotFound) => Err(AppError::NotFound),
        Err(other) => Err(AppError::Internal(other.into())),
    }
}
