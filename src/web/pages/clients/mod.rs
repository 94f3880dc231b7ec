//! Clients (`/admin/clients`, SPEC §3, §5): the list, add and edit forms (with *Allow Single
//! Sign-On*), and a client's page with its users (SSO permission per user), its hosting
//! accounts (added by hand, status changed: `accounts`) and the one-click *Allow Single
//! Sign-On* switch (`POST /{id}/sso`, the same column as the owner's `/client/security`).
//! Everything here sits behind the `manage_clients` guard in `pages::router`, routes added
//! later included.
//!
//! An account's change and the provisioning it calls for commit together
//! (`jobs::account_changed_in`, SPEC §5). Handlers build the [`Chrome`] only when they render, so a redirect
//! never swallows a pending flash message.

mod accounts;
mod reset_token;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::db;
use crate::db::accounts::Account;
use crate::db::clients::{Client, ClientUser};
use crate::domain::account::AccountStatus;
use crate::domain::ids::{ClientId, ServerId};
use crate::hosting::forms::client::email_taken;
use crate::hosting::forms::{self, AccountForm, ClientForm, FieldErrors, UserForm};
use crate::web::extract::{Form, Path};
use crate::web::layout::{Chrome, flash};
use crate::web::paging::{ListQuery, Listing};
use crate::web::{AppError, AppResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/new", get(new_form).post(create))
        .route("/{id}", get(show))
        .route("/{id}/edit", get(edit_form).post(update))
        .route("/{id}/sso", post(set_sso))
        .route("/{id}/users", post(add_user))
        .route("/{id}/users/{user_id}/sso", post(set_user_sso))
        .route("/{id}/accounts", post(accounts::add_account))
        .route(
            "/{id}/accounts/{account_id}/status",
            post(accounts::set_account_status),
        )
        .route(
            "/{id}/accounts/{account_id}/reset-token",
            post(reset_token::reset_token),
        )
}

async fn find(state: &AppState, id: ClientId) -> AppResult<Client> {
    db::clients::find(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "clients/index.html")]
pub struct ClientsPage {
    pub chrome: Chrome,
    pub clients: Vec<Client>,
    pub listing: Listing,
}

async fn list(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> AppResult<ClientsPage> {
    let mut listing = query.listing();
    let rows = db::clients::list(
        &state.pool,
        listing.search(),
        listing.pager.limit(),
        listing.pager.offset(),
    )
    .await?;
    let clients = listing.pager.take(rows);
    Ok(ClientsPage {
        chrome,
        clients,
        listing,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "clients/form.html")]
pub struct ClientFormPage {
    pub chrome: Chrome,
    /// `None` on the add form.
    pub client_id: Option<ClientId>,
    pub name: String,
    pub email: String,
    pub allow_sso: bool,
    pub errors: FieldErrors,
}

async fn new_form(chrome: Chrome) -> ClientFormPage {
    ClientFormPage {
        chrome,
        client_id: None,
        name: String::new(),
        email: String::new(),
        allow_sso: true,
        errors: FieldErrors::new(),
    }
}

/// The client form again with its messages, 422, nothing saved.
async fn invalid_client(
    state: &AppState,
    session: &Session,
    client_id: Option<ClientId>,
    form: &ClientForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let page = ClientFormPage {
        chrome: Chrome::for_session(state, session, "/admin/clients").await?,
        client_id,
        name: form.name.clone(),
        email: form.email.clone(),
        allow_sso: form.allow_sso(),
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ClientForm>,
) -> AppResult<Response> {
    let input = match form.validate() {
        Ok(input) => input,
        Err(errors) => return invalid_client(&state, &session, None, &form, errors).await,
    };
    let mut conn = state.pool.acquire().await?;
    let email = input.email.as_deref();
    match db::clients::insert(&mut conn, &input.name, email, input.allow_sso).await {
        Ok(id) => {
            flash(
                &session,
                "success",
                format!("Client “{}” added.", input.name),
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/clients/{id}")).into_response())
        }
        Err(err) => match email_taken(&err) {
            Some(errors) => invalid_client(&state, &session, None, &form, errors).await,
            None => Err(err.into()),
        },
    }
}

async fn edit_form(
    State(state): State<AppState>,
    chrome: Chrome,
    Path(id): Path<ClientId>,
) -> AppResult<ClientFormPage> {
    let client = find(&state, id).await?;
    Ok(ClientFormPage {
        chrome,
        client_id: Some(client.id),
        name: client.name,
        email: client.email.unwrap_or_default(),
        allow_sso: client.allow_sso,
        errors: FieldErrors::new(),
    })
}

async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
    Form(form): Form<ClientForm>,
) -> AppResult<Response> {
    let checked = form.validate(); // before any database work
    let client = find(&state, id).await?;
    let input = match checked {
        Ok(input) => input,
        Err(errors) => {
            return invalid_client(&state, &session, Some(client.id), &form, errors).await;
        }
    };
    let mut conn = state.pool.acquire().await?;
    match db::clients::update(
        &mut conn,
        client.id,
        &input.name,
        input.email.as_deref(),
        input.allow_sso,
    )
    .await
    {
        Ok(true) => {
            flash(
                &session,
                "success",
                format!("Client “{}” saved.", input.name),
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/clients/{}", client.id)).into_response())
        }
        Ok(false) => Err(AppError::NotFound),
        Err(err) => match email_taken(&err) {
            Some(errors) => invalid_client(&state, &session, Some(client.id), &form, errors).await,
            None => Err(err.into()),
        },
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "clients/show.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub client: Client,
    pub users: Vec<ClientUser>,
    pub accounts: Vec<Account>,
    /// `(id, name)` of the servers an account can be added on.
    pub servers: Vec<(ServerId, String)>,
    pub statuses: [AccountStatus; 3],
    /// The add-user form as posted (blank at first).
    pub user_form: UserForm,
    pub user_sso_checked: bool,
    pub user_errors: FieldErrors,
    /// The add-account form as posted (blank at first).
    pub account_form: AccountForm,
    pub account_errors: FieldErrors,
}

impl ClientPage {
    async fn load(state: &AppState, chrome: Chrome, client: Client) -> AppResult<Self> {
        let users = db::clients::users(&state.pool, client.id).await?;
        let accounts = db::accounts::for_client(&state.pool, client.id).await?;
        let servers = db::servers::choices(&state.pool).await?;
        Ok(Self {
            chrome,
            client,
            users,
            accounts,
            servers,
            statuses: AccountStatus::ALL,
            user_form: UserForm::default(),
            user_sso_checked: true,
            user_errors: FieldErrors::new(),
            account_form: AccountForm {
                status: AccountStatus::Active.key().to_string(),
                ..AccountForm::default()
            },
            account_errors: FieldErrors::new(),
        })
    }

    fn unprocessable(self) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

async fn show(
    State(state): State<AppState>,
    chrome: Chrome,
    Path(id): Path<ClientId>,
) -> AppResult<ClientPage> {
    let client = find(&state, id).await?;
    ClientPage::load(&state, chrome, client).await
}

async fn add_user(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    let checked = form.validate(); // before any database work
    let client = find(&state, id).await?;
    let errors = match checked {
        Ok(input) => {
            match db::clients::insert_user(
                &state.pool,
                client.id,
                &input.name,
                &input.email,
                input.sso_allowed,
            )
            .await
            {
                Ok(_) => {
                    flash(
                        &session,
                        "success",
                        format!("User “{}” added to “{}”.", input.name, client.name),
                    )
                    .await?;
                    return Ok(
                        Redirect::to(&format!("/admin/clients/{}", client.id)).into_response()
                    );
                }
                Err(err) if db::clients::is_user_email_taken(&err) => FieldErrors::one(
                    "user_email",
                    "This client already has a user with this e-mail address.",
                ),
                Err(err) => return Err(err.into()),
            }
        }
        Err(errors) => errors,
    };
    let chrome = Chrome::for_session(&state, &session, "/admin/clients").await?;
    let mut page = ClientPage::load(&state, chrome, client).await?;
    page.user_sso_checked = form.sso_allowed();
    page.user_form = form;
    page.user_errors = errors;
    Ok(page.unprocessable())
}

#[derive(Debug, Deserialize)]
struct SsoForm {
    #[serde(default)]
    sso_allowed: String,
}

async fn set_user_sso(
    State(state): State<AppState>,
    session: Session,
    Path((id, user_id)): Path<(ClientId, i64)>,
    Form(form): Form<SsoForm>,
) -> AppResult<Redirect> {
    let client = find(&state, id).await?;
    let allowed = forms::switch(&form.sso_allowed).ok_or_else(|| {
        AppError::BadRequest("Say whether single sign-on is allowed (sso_allowed = 1 or 0).".into())
    })?;
    if !db::clients::set_user_sso(&state.pool, client.id, user_id, allowed).await? {
        return Err(AppError::NotFound);
    }
    let message = if allowed {
        "Single sign-on allowed for the user."
    } else {
        "Single sign-on disallowed for the user."
    };
    flash(&session, "success", message).await?;
    Ok(Redirect::to(&format!("/admin/clients/{}", client.id)))
}

#[derive(Debug, Deserialize)]
struct ClientSsoForm {
    #[serde(default)]
    allow_sso: String,
}

/// `POST /{id}/sso`: the client-wide *Allow Single Sign-On* in one click, the very switch the
/// account owner sets on `/client/security` (`allow_sso` = 1 or 0).
async fn set_sso(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
    Form(form): Form<ClientSsoForm>,
) -> AppResult<Redirect> {
    let client = find(&state, id).await?;
    let allowed = forms::switch(&form.allow_sso).ok_or_else(|| {
        AppError::BadRequest(
            "Say whether single sign-on is allowed (allow_sso = 1 or 0). Nothing was changed."
                .into(),
        )
    })?;
    if !db::clients::set_allow_sso(&state.pool, client.id, allowed).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(client_id = %client.id, allowed, "admin set the client's SSO switch");
    let message = if allowed {
        format!("Single sign-on allowed for “{}”.", client.name)
    } else {
        format!("Single sign-on switched off for “{}”.", client.name)
    };
    flash(&session, "success", message).await?;
    Ok(Redirect::to(&format!("/admin/clients/{}", client.id)))
}
