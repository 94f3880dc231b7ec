//! Setup › Roles (`/admin/setup/roles`, SPEC §3, §4): the list, the add and edit forms with
//! one box per permission (each with a line on what it opens), and deleting a role no admin
//! has. *Full Administrator* is shown but never changed or deleted. Everything here sits
//! behind the `manage_admins` guard in `pages::router`.
//!
//! The rules live in `hosting::admins`: unticking *Manage Admins* on the role of the last
//! admins who hold it is refused (422, nothing saved), as is deleting a role in use.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::db;
use crate::db::roles::{Role, RoleSummary};
use crate::domain::permission::Permission;
use crate::hosting::admins::{self as use_case, AdminsError};
use crate::hosting::forms::FieldErrors;
use crate::hosting::forms::admin::RoleForm;
use crate::web::extract::{Form, Path};
use crate::web::layout::{Chrome, flash};
use crate::web::{AppError, AppResult, AppState};

const HERE: &str = "/admin/setup/roles";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/new", get(new_form).post(create))
        .route("/{id}", get(edit_form).post(update))
        .route("/{id}/delete", post(delete))
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/roles/index.html")]
pub struct RolesPage {
    pub chrome: Chrome,
    pub roles: Vec<RoleSummary>,
    /// Why the last deletion was refused.
    pub refusal: Option<String>,
}

impl RolesPage {
    /// The names of the permissions a role holds (every one for the built-in role).
    pub fn labels(&self, role: &RoleSummary) -> String {
        Permission::ALL
            .into_iter()
            .filter(|p| role.built_in || role.permissions.iter().any(|k| k == p.key()))
            .map(Permission::label)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn list(State(state): State<AppState>, chrome: Chrome) -> AppResult<RolesPage> {
    Ok(RolesPage {
        chrome,
        roles: db::roles::list(&state.pool).await?,
        refusal: None,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/roles/form.html")]
pub struct RoleFormPage {
    pub chrome: Chrome,
    /// `None` on the add form.
    pub role: Option<Role>,
    pub form: RoleForm,
    pub permissions: [Permission; 4],
    pub errors: FieldErrors,
    pub refusal: Option<String>,
}

impl RoleFormPage {
    fn new(chrome: Chrome, role: Option<Role>, form: RoleForm) -> Self {
        Self {
            chrome,
            role,
            form,
            permissions: Permission::ALL,
            errors: FieldErrors::new(),
            refusal: None,
        }
    }

    /// Whether the page shows the built-in role, which is read-only.
    pub fn read_only(&self) -> bool {
        self.role.as_ref().is_some_and(|r| r.built_in)
    }

    /// Whether `p`'s box is ticked (every box for the built-in role).
    pub fn ticked(&self, p: &Permission) -> bool {
        self.read_only() || self.form.has(p)
    }
}

async fn find(state: &AppState, id: i64) -> AppResult<Role> {
    db::roles::find(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The form again after a refused change, 422; errors that are no refusal go up.
async fn refuse(
    state: &AppState,
    session: &Session,
    role: Option<Role>,
    form: RoleForm,
    err: AdminsError,
) -> AppResult<Response> {
    let chrome = Chrome::for_session(state, session, HERE).await?;
    let mut page = RoleFormPage::new(chrome, role, form);
    match err {
        AdminsError::Invalid(errors) => page.errors = errors,
        AdminsError::Lockout => page.refusal = Some(format!("Not saved: {err}.")),
        AdminsError::NotFound => return Err(AppError::NotFound),
        AdminsError::BuiltIn => return Err(AppError::BadRequest(format!("{err}."))),
        other => return Err(AppError::Internal(other.into())),
    }
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn new_form(chrome: Chrome) -> RoleFormPage {
    RoleFormPage::new(chrome, None, RoleForm::default())
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = RoleForm::from_pairs(&pairs);
    let result = match form.validate() {
        Ok(input) => use_case::create_role(&state.pool, &input).await,
        Err(errors) => Err(AdminsError::Invalid(errors)),
    };
    match result {
        Ok(role) => {
            flash(&session, "success", format!("Role “{}” added.", role.name)).await?;
            Ok(Redirect::to(HERE).into_response())
        }
        Err(err) => refuse(&state, &session, None, form, err).await,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    chrome: Chrome,
    Path(id): Path<i64>,
) -> AppResult<RoleFormPage> {
    let role = find(&state, id).await?;
    let grants = db::roles::grants(&state.pool, role.id).await?;
    let form = RoleForm {
        name: role.name.clone(),
        permissions: grants
            .permissions
            .iter()
            .map(|p| p.key().to_string())
            .collect(),
    };
    Ok(RoleFormPage::new(chrome, Some(role), form))
}

async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let role = find(&state, id).await?;
    if role.built_in {
        return Err(AppError::BadRequest(format!("{}.", AdminsError::BuiltIn)));
    }
    let form = RoleForm::from_pairs(&pairs);
    let result = match form.validate() {
        Ok(input) => use_case::update_role(&state.pool, role.id, &input)
            .await
            .map(|()| input.name),
        Err(errors) => Err(AdminsError::Invalid(errors)),
    };
    match result {
        Ok(name) => {
            flash(&session, "success", format!("Role “{name}” saved.")).await?;
            Ok(Redirect::to(HERE).into_response())
        }
        Err(err) => refuse(&state, &session, Some(role), form, err).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let role = find(&state, id).await?;
    match use_case::delete_role(&state.pool, role.id).await {
        Ok(role) => {
            flash(
                &session,
                "success",
                format!("Role “{}” deleted.", role.name),
            )
            .await?;
            Ok(Redirect::to(HERE).into_response())
        }
        Err(err @ AdminsError::RoleInUse { .. }) => {
            let page = RolesPage {
                chrome: Chrome::for_session(&state, &session, HERE).await?,
                roles: db::roles::list(&state.pool).await?,
                refusal: Some(format!("Not deleted: {err}.")),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AdminsError::NotFound) => Err(AppError::NotFound),
        Err(err @ AdminsError::BuiltIn) => Err(AppError::BadRequest(format!("{err}."))),
        Err(other) => Err(AppError::Internal(other.into())),
    }
}
