//! Servers (`/admin/servers`, SPEC §5): the list, add and edit forms, *Test connection*,
//! removal, and a server's page with its accounts and *Import accounts*. Everything here sits
//! behind the `configure_servers` guard in `pages::router`, routes added later included.
//!
//! The credential is write-only: forms have an empty password field and no page is ever given
//! the stored value. Handlers build the [`Chrome`] only when they render, so a redirect never
//! swallows a pending flash message.

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
use crate::db::accounts::{Account, Pending};
use crate::db::servers::{Removal, Server};
use crate::domain::ids::ServerId;
use crate::domain::server::AuthKind;
use crate::domain::server::Module;
use crate::hosting::forms::{FieldErrors, ServerForm, ServerValues};
use crate::hosting::import::{ImportError, import_accounts};
use crate::hosting::servers::{self as service, SaveError};
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
        .route("/{id}/test", post(test_connection))
        .route("/{id}/import", post(import))
        .route("/{id}/delete", post(remove))
        .merge(super::servers_pending::router())
}

async fn find(state: &AppState, id: ServerId) -> AppResult<Server> {
    db::servers::find(&state.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "servers/index.html")]
pub struct ServersPage {
    pub chrome: Chrome,
    pub servers: Vec<Server>,
    pub listing: Listing,
}

async fn list(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> AppResult<ServersPage> {
    let mut listing = query.listing();
    let rows = db::servers::list(
        &state.pool,
        listing.search(),
        listing.pager.limit(),
        listing.pager.offset(),
    )
    .await?;
    let servers = listing.pager.take(rows);
    Ok(ServersPage {
        chrome,
        servers,
        listing,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "servers/form.html")]
pub struct ServerFormPage {
    pub chrome: Chrome,
    /// `None` on the add form.
    pub server_id: Option<ServerId>,
    pub values: ServerValues,
    pub errors: FieldErrors,
    pub modules: [Module; 4],
    pub auth_kinds: [AuthKind; 2],
}

impl ServerFormPage {
    fn new(
        chrome: Chrome,
        server_id: Option<ServerId>,
        values: ServerValues,
        errors: FieldErrors,
    ) -> Self {
        Self {
            chrome,
            server_id,
            values,
            errors,
            modules: Module::ALL,
            auth_kinds: AuthKind::ALL,
        }
    }
}

async fn new_form(chrome: Chrome) -> ServerFormPage {
    ServerFormPage::new(chrome, None, ServerValues::default(), FieldErrors::new())
}

/// The form again with its messages, 422, nothing saved.
async fn invalid(
    state: &AppState,
    session: &Session,
    server_id: Option<ServerId>,
    form: &ServerForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let chrome = Chrome::for_session(state, session, "/admin/servers").await?;
    let page = ServerFormPage::new(chrome, server_id, ServerValues::from(form), errors);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ServerForm>,
) -> AppResult<Response> {
    let input = match form.validate(true) {
        Ok(input) => input,
        Err(errors) => return invalid(&state, &session, None, &form, errors).await,
    };
    match service::create(&state.pool, &state.secrets, &input).await {
        Ok(id) => {
            flash(
                &session,
                "success",
                format!(
                    "Server “{}” added. Test the connection to check the credentials.",
                    input.fields.name
                ),
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/servers/{id}")).into_response())
        }
        Err(SaveError::Invalid(errors)) => invalid(&state, &session, None, &form, errors).await,
        Err(SaveError::NotFound) => Err(AppError::NotFound),
        Err(SaveError::Db(err)) => Err(err.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "servers/show.html")]
pub struct ServerPage {
    pub chrome: Chrome,
    pub server: Server,
    pub accounts: Vec<Account>,
    /// Imported accounts whose e-mail matched an existing client, waiting for a decision.
    pub pending: Vec<Pending>,
}

async fn show(
    State(state): State<AppState>,
    chrome: Chrome,
    Path(id): Path<ServerId>,
) -> AppResult<ServerPage> {
    let server = find(&state, id).await?;
    let accounts = db::accounts::for_server(&state.pool, server.id).await?;
    let pending = db::accounts::pending_for_server(&state.pool, server.id).await?;
    Ok(ServerPage {
        chrome,
        server,
        accounts,
        pending,
    })
}

async fn edit_form(
    State(state): State<AppState>,
    chrome: Chrome,
    Path(id): Path<ServerId>,
) -> AppResult<ServerFormPage> {
    let server = find(&state, id).await?;
    Ok(ServerFormPage::new(
        chrome,
        Some(server.id),
        ServerValues::from(&server),
        FieldErrors::new(),
    ))
}

async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ServerId>,
    Form(form): Form<ServerForm>,
) -> AppResult<Response> {
    // Checked before any database work, so a hostile value never gets that far.
    let checked = form.validate(false);
    let server = find(&state, id).await?;
    let input = match checked {
        Ok(input) => input,
        Err(errors) => return invalid(&state, &session, Some(server.id), &form, errors).await,
    };
    match service::update(&state.pool, &state.secrets, server.id, &input).await {
        Ok(()) => {
            let kept = if input.secret.is_none() {
                " The stored credential was kept."
            } else {
                ""
            };
            flash(
                &session,
                "success",
                format!("Server “{}” saved.{kept}", input.fields.name),
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/servers/{}", server.id)).into_response())
        }
        Err(SaveError::Invalid(errors)) => {
            invalid(&state, &session, Some(server.id), &form, errors).await
        }
        Err(SaveError::NotFound) => Err(AppError::NotFound),
        Err(SaveError::Db(err)) => Err(err.into()),
    }
}

async fn test_connection(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ServerId>,
) -> AppResult<Redirect> {
    let server = find(&state, id).await?;
    match service::test_connection(&state.pool, &state.whm, &state.secrets, &server).await {
        Ok(version) => {
            flash(
                &session,
                "success",
                format!("Connected to “{}”: it runs version {version}.", server.name),
            )
            .await?
        }
        Err(err) => {
            flash(
                &session,
                "error",
                format!(
                    "Test connection to “{}” failed: {}.",
                    server.name,
                    err.describe()
                ),
            )
            .await?
        }
    }
    Ok(Redirect::to(&format!("/admin/servers/{}", server.id)))
}

async fn import(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ServerId>,
) -> AppResult<Redirect> {
    let server = find(&state, id).await?;
    match import_accounts(&state.pool, &state.whm, &state.secrets, server.id).await {
        Ok(summary) => {
            flash(&session, "success", summary.sentence()).await?;
            if summary.pending > 0 {
                flash(
                    &session,
                    "info",
                    "Accounts whose e-mail matches an existing client are not attached to it until you confirm the match below: the customer sets that e-mail in cPanel himself.",
                )
                .await?;
            }
            for line in summary.skipped_reasons() {
                flash(&session, "info", format!("Skipped: {line}.")).await?;
            }
        }
        Err(ImportError::NotFound) => return Err(AppError::NotFound),
        Err(ImportError::Connection(err)) => {
            flash(
                &session,
                "error",
                format!(
                    "Import from “{}” failed, nothing was imported: {}.",
                    server.name,
                    err.describe()
                ),
            )
            .await?
        }
        Err(ImportError::Db(err)) => return Err(err.into()),
        Err(ImportError::Provisioning(err)) => return Err(err.into()),
    }
    Ok(Redirect::to(&format!("/admin/servers/{}", server.id)))
}

#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(default)]
    confirm: Option<String>,
}

async fn remove(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<ServerId>,
    Form(form): Form<RemoveForm>,
) -> AppResult<Redirect> {
    let server = find(&state, id).await?;
    let confirmed = form.confirm.is_some_and(|v| !v.is_empty());
    let mut conn = state.pool.acquire().await?;
    match db::servers::remove(&mut conn, server.id, confirmed).await? {
        Removal::Removed { accounts } => {
            let with = if accounts > 0 {
                format!(" with its {accounts} accounts")
            } else {
                String::new()
            };
            tracing::info!(server = %server.id, accounts, "server removed");
            flash(
                &session,
                "success",
                format!("Server “{}” removed{with}.", server.name),
            )
            .await?;
            Ok(Redirect::to("/admin/servers"))
        }
        Removal::HasAccounts(n) => {
            flash(
                &session,
                "error",
                format!(
                    "Server “{}” was not removed: it still has {n} accounts. Tick “Also delete this server's {n} accounts” to remove it with them.",
                    server.name
                ),
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/servers/{}", server.id)))
        }
        Removal::NotFound => Err(AppError::NotFound),
    }
}
