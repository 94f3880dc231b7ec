//! Setup › Administrators (`/admin/setup/admins`, SPEC §3): the list, the add form, and each
//! admin's page with their details, a new password set by another admin, and disable /
//! enable. Admins are disabled, never deleted. Everything here sits behind the
//! `manage_admins` guard in `pages::router`, routes added later included.
//!
//! The rules (lockout prevention, sessions ending) live in `hosting::admins`, shared with the
//! command line; a refused change re-renders the page with 422 and saves nothing.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::db;
use crate::db::admins::Admin;
use crate::hosting::admins::{self as use_case, AdminsError};
use crate::hosting::forms::FieldErrors;
use crate::hosting::forms::admin::{AdminForm, PasswordForm};
use crate::web::auth::CurrentAdmin;
use crate::web::extract::{Form, Path};
use crate::web::layout::{Chrome, flash};
use crate::web::{AppError, AppResult, AppState};

const HERE: &str = "/admin/setup/admins";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/new", get(new_form).post(create))
        .route("/{id}", get(show).post(update))
        .route("/{id}/password", post(reset_password))
        .route("/{id}/disable", post(disable))
        .route("/{id}/enable", post(enable))
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/admins/index.html")]
pub struct AdminsPage {
    pub chrome: Chrome,
    pub admins: Vec<Admin>,
    /// The signed-in admin's id, to mark their row.
    pub me: i64,
}

async fn list(
    State(state): State<AppState>,
    chrome: Chrome,
    me: CurrentAdmin,
) -> AppResult<AdminsPage> {
    Ok(AdminsPage {
        chrome,
        admins: db::admins::list(&state.pool).await?,
        me: me.id,
    })
}

/// The add form, or one admin's page (details, password, disable / enable).
#[derive(Template, WebTemplate)]
#[template(path = "setup/admins/form.html")]
pub struct AdminPage {
    pub chrome: Chrome,
    /// `None` on the add form.
    pub admin: Option<Admin>,
    pub form: AdminForm,
    /// `(id, name)` of every role.
    pub roles: Vec<(i64, String)>,
    pub errors: FieldErrors,
    pub password_errors: FieldErrors,
    /// Why the last change was refused, when it concerns no single field (lockout).
    pub refusal: Option<String>,
    pub me: i64,
}

impl AdminPage {
    async fn load(
        state: &AppState,
        chrome: Chrome,
        admin: Option<Admin>,
        me: i64,
    ) -> AppResult<Self> {
        let roles = db::roles::list(&state.pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
        let form = match &admin {
            Some(a) => AdminForm {
                username: a.username.clone(),
                name: a.name.clone(),
                email: a.email.clone().unwrap_or_default(),
                role_id: a.role_id.to_string(),
                ..AdminForm::default()
            },
            None => AdminForm::default(),
        };
        Ok(Self {
            chrome,
            admin,
            form,
            roles,
            errors: FieldErrors::new(),
            password_errors: FieldErrors::new(),
            refusal: None,
            me,
        })
    }

    /// Whether `id` is the role chosen in the form (templates call this).
    pub fn role_selected(&self, id: &i64) -> bool {
        self.form.role_id.trim() == id.to_string()
    }

    fn unprocessable(mut self) -> Response {
        // Passwords are never sent back to the browser.
        self.form.password.clear();
        self.form.password_confirm.clear();
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

/// The ids a role may be chosen from.
async fn role_ids(state: &AppState) -> AppResult<Vec<i64>> {
    Ok(db::roles::list(&state.pool)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

async fn find(state: &AppState, id: i64) -> AppResult<Admin> {
    db::admins::find(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A page built after a refused change: the chrome is made only now, so a redirect elsewhere
/// never swallows a pending flash message.
async fn page_again(
    state: &AppState,
    session: &Session,
    admin: Option<Admin>,
    me: i64,
) -> AppResult<AdminPage> {
    let chrome = Chrome::for_session(state, session, HERE).await?;
    AdminPage::load(state, chrome, admin, me).await
}

/// A refused change as the page shows it; errors that are no refusal go up.
fn refuse(mut page: AdminPage, err: AdminsError, password_form: bool) -> AppResult<Response> {
    match err {
        AdminsError::Invalid(errors) if password_form => page.password_errors = errors,
        AdminsError::Invalid(errors) => page.errors = errors,
        AdminsError::Lockout => page.refusal = Some(format!("Not saved: {err}.")),
        AdminsError::NotFound => return Err(AppError::NotFound),
        other => return Err(AppError::Internal(other.into())),
    }
    Ok(page.unprocessable())
}

async fn new_form(
    State(state): State<AppState>,
    chrome: Chrome,
    me: CurrentAdmin,
) -> AppResult<AdminPage> {
    AdminPage::load(&state, chrome, None, me.id).await
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    me: CurrentAdmin,
    Form(form): Form<AdminForm>,
) -> AppResult<Response> {
    let result = match form.validate(&role_ids(&state).await?, true) {
        Ok(input) => use_case::add_admin(&state.pool, &input)
            .await
            .map(|id| (id, input.username)),
        Err(errors) => Err(AdminsError::Invalid(errors)),
    };
    match result {
        Ok((id, username)) => {
            flash(
                &session,
                "success",
                format!("Administrator “{username}” added."),
            )
            .await?;
            Ok(Redirect::to(&format!("{HERE}/{id}")).into_response())
        }
        Err(err) => {
            let mut page = page_again(&state, &session, None, me.id).await?;
            page.form = form;
            refuse(page, err, false)
        }
    }
}

async fn show(
    State(state): State<AppState>,
    chrome: Chrome,
    me: CurrentAdmin,
    Path(id): Path<i64>,
) -> AppResult<AdminPage> {
    let admin = find(&state, id).await?;
    AdminPage::load(&state, chrome, Some(admin), me.id).await
}

async fn update(
    State(state): State<AppState>,
    session: Session,
    me: CurrentAdmin,
    Path(id): Path<i64>,
    Form(form): Form<AdminForm>,
) -> AppResult<Response> {
    let admin = find(&state, id).await?;
    let admin_id = admin.id;
    let result = match form.validate(&role_ids(&state).await?, false) {
        Ok(input) => use_case::update_admin(&state.pool, admin_id, &input)
            .await
            .map(|()| input.username),
        Err(errors) => Err(AdminsError::Invalid(errors)),
    };
    match result {
        Ok(username) => {
            flash(
                &session,
                "success",
                format!("Administrator “{username}” saved."),
            )
            .await?;
            Ok(Redirect::to(&format!("{HERE}/{admin_id}")).into_response())
        }
        Err(err) => {
            let mut page = page_again(&state, &session, Some(admin), me.id).await?;
            page.form = form;
            refuse(page, err, false)
        }
    }
}

async fn reset_password(
    State(state): State<AppState>,
    session: Session,
    me: CurrentAdmin,
    Path(id): Path<i64>,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let checked = form.validate(); // before any database work
    let admin = find(&state, id).await?;
    let result = match checked {
        Ok(password) => use_case::reset_password(&state.pool, admin.id, &password).await,
        Err(errors) => Err(AdminsError::Invalid(errors)),
    };
    match result {
        Ok(admin) => {
            let message = if admin.id == me.id {
                "Your password was changed and your sessions ended: sign in with the new one."
                    .to_string()
            } else {
                format!(
                    "New password set for “{}”; their sessions have ended.",
                    admin.username
                )
            };
            flash(&session, "success", message).await?;
            Ok(Redirect::to(&format!("{HERE}/{}", admin.id)).into_response())
        }
        Err(err) => {
            let page = page_again(&state, &session, Some(admin), me.id).await?;
            refuse(page, err, true)
        }
    }
}

async fn disable(
    state: State<AppState>,
    session: Session,
    me: CurrentAdmin,
    id: Path<i64>,
) -> AppResult<Response> {
    switch(state, session, me, id, true).await
}

async fn enable(
    state: State<AppState>,
    session: Session,
    me: CurrentAdmin,
    id: Path<i64>,
) -> AppResult<Response> {
    switch(state, session, me, id, false).await
}

async fn switch(
    State(state): State<AppState>,
    session: Session,
    me: CurrentAdmin,
    Path(id): Path<i64>,
    disabled: bool,
) -> AppResult<Response> {
    let admin = find(&state, id).await?;
    match use_case::set_disabled(&state.pool, admin.id, disabled).await {
        Ok(admin) => {
            let message = if disabled {
                format!(
                    "Administrator “{}” disabled; their sessions have ended.",
                    admin.username
                )
            } else {
                format!("Administrator “{}” enabled.", admin.username)
            };
            flash(&session, "success", message).await?;
            Ok(Redirect::to(&format!("{HERE}/{}", admin.id)).into_response())
        }
        Err(err) => {
            let page = page_again(&state, &session, Some(admin), me.id).await?;
            refuse(page, err, false)
        }
    }
}
