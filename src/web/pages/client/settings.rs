//! The account owner's own switches (SPEC §3; WHMCS's *Security Settings* and *User
//! Management*): `/client/security` sets *Allow Single Sign-On* for the whole client,
//! `/client/users` each other user's SSO permission. They change the very columns that the
//! admin's client page changes, so either side sees what the other set.
//!
//! Only the signed-in account owner may open or post them: another user of the client gets
//! a 403 page in the client area, and a browser without a client sign-in (an admin's
//! included: an admin never acts as a client) is sent to `/client/login`. Nothing changes in
//! either case. The owner's own SSO permission is not offered here: the client-wide switch
//! governs it, and the owner cannot lock only himself out.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::{ClientArea, current_client};
use crate::db;
use crate::db::clients::ClientUser;
use crate::db::sso::ClientIdentity;
use crate::hosting::forms;
use crate::web::extract::Form;
use crate::web::layout::{Chrome, client_flash};
use crate::web::{AppError, AppResult, AppState};

const SECURITY: &str = "/client/security";
const USERS: &str = "/client/users";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(SECURITY, get(security).post(save_security))
        .route(USERS, get(users).post(save_user_sso))
}

/// A page for someone signed in as a client but not the account owner.
#[derive(Template, WebTemplate)]
#[template(path = "client/owner_only.html")]
pub struct OwnerOnlyPage {
    pub chrome: Chrome,
    pub area: ClientArea,
}

/// The account owner of this session, or the answer for anyone else: a redirect to the
/// client sign-in, or the 403 page.
async fn owner(
    state: &AppState,
    session: &Session,
    path: &str,
) -> AppResult<Result<ClientIdentity, Response>> {
    let Some(client) = current_client(state, session).await? else {
        return Ok(Err(Redirect::to("/client/login").into_response()));
    };
    if client.is_owner {
        return Ok(Ok(client));
    }
    tracing::info!(
        client_id = %client.client_id,
        user_id = client.user_id,
        path,
        "client user is not the account owner"
    );
    let page = OwnerOnlyPage {
        chrome: Chrome::for_client(session, true).await?,
        area: ClientArea::new(client, path),
    };
    Ok(Err((StatusCode::FORBIDDEN, page).into_response()))
}

/// A switch posted as `1` / `0` (`forms::switch`); anything else is refused.
fn parse_switch(raw: &str, field: &str) -> AppResult<bool> {
    forms::switch(raw).ok_or_else(|| {
        AppError::BadRequest(format!(
            "Say whether single sign-on is allowed ({field} = 1 or 0). Nothing was changed."
        ))
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "client/security.html")]
pub struct SecurityPage {
    pub chrome: Chrome,
    pub area: ClientArea,
    pub allow_sso: bool,
}

/// `GET /client/security`.
async fn security(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    let client = match owner(&state, &session, SECURITY).await? {
        Ok(client) => client,
        Err(answer) => return Ok(answer),
    };
    let allow_sso = db::clients::find(&state.pool, client.client_id)
        .await?
        .ok_or(AppError::NotFound)?
        .allow_sso;
    Ok(SecurityPage {
        chrome: Chrome::for_client(&session, true).await?,
        area: ClientArea::new(client, SECURITY),
        allow_sso,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
struct SecurityForm {
    #[serde(default)]
    allow_sso: String,
}

/// `POST /client/security`: *Allow Single Sign-On* for the client.
async fn save_security(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SecurityForm>,
) -> AppResult<Response> {
    let client = match owner(&state, &session, SECURITY).await? {
        Ok(client) => client,
        Err(answer) => return Ok(answer),
    };
    let allowed = parse_switch(&form.allow_sso, "allow_sso")?;
    if !db::clients::set_allow_sso(&state.pool, client.client_id, allowed).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(
        client_id = %client.client_id,
        allowed,
        "client set its SSO switch"
    );
    let message = if allowed {
        "Single sign-on is allowed: the links in your control panel sign you in."
    } else {
        "Single sign-on is switched off: the links in your control panel no longer sign anyone in."
    };
    client_flash(&session, "success", message).await?;
    Ok(Redirect::to(SECURITY).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "client/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub area: ClientArea,
    pub users: Vec<ClientUser>,
}

/// `GET /client/users`.
async fn users(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    let client = match owner(&state, &session, USERS).await? {
        Ok(client) => client,
        Err(answer) => return Ok(answer),
    };
    let users = db::clients::users(&state.pool, client.client_id).await?;
    Ok(UsersPage {
        chrome: Chrome::for_client(&session, true).await?,
        area: ClientArea::new(client, USERS),
        users,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
struct UserSsoForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    sso_allowed: String,
}

/// `POST /client/users`: one user's SSO permission (`user_id`, `sso_allowed`).
async fn save_user_sso(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserSsoForm>,
) -> AppResult<Response> {
    let client = match owner(&state, &session, USERS).await? {
        Ok(client) => client,
        Err(answer) => return Ok(answer),
    };
    let user_id: i64 = form.user_id.trim().parse().map_err(|_| {
        AppError::BadRequest("Say which user (user_id). Nothing was changed.".into())
    })?;
    let allowed = parse_switch(&form.sso_allowed, "sso_allowed")?;
    // Only this client's users; another client's user is not there to be found.
    let users = db::clients::users(&state.pool, client.client_id).await?;
    let user = users
        .iter()
        .find(|u| u.id == user_id)
        .ok_or(AppError::NotFound)?;
    if user.is_owner {
        return Err(AppError::BadRequest(
            "The account owner's single sign-on follows Security Settings. Nothing was changed."
                .into(),
        ));
    }
    if !db::clients::set_user_sso(&state.pool, client.client_id, user.id, allowed).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(
        client_id = %client.client_id,
        user_id = user.id,
        allowed,
        "client owner set a user's SSO permission"
    );
    let message = if allowed {
        format!("Single sign-on allowed for {}.", user.name)
    } else {
        format!("Single sign-on disallowed for {}.", user.name)
    };
    client_flash(&session, "success", message).await?;
    Ok(Redirect::to(USERS).into_response())
}
