//! One module per area; each starts with its `router()`. They are merged here, with the guards
//! that protect whole prefixes.

pub mod account;
pub mod admins;
pub mod application_links;
pub mod client;
pub mod clients;
pub mod health;
pub mod home;
pub mod login;
pub mod metrics;
pub mod roles;
pub mod servers;
mod servers_pending;
pub mod sso;

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::domain::permission::Permission;
use crate::web::auth::{CurrentAdmin, require_admin, require_permission};
use crate::web::{AppError, AppState};

/// Wraps `router` so every route *and* unmatched path below it needs `permission`.
fn guarded(state: &AppState, permission: Permission, router: Router<AppState>) -> Router<AppState> {
    router.fallback(not_found).layer(from_fn_with_state(
        (state.clone(), permission),
        require_permission,
    ))
}

pub fn router(state: AppState) -> Router<AppState> {
    let admin = Router::new()
        .merge(home::router())
        .nest(
            "/admin/setup/application-links",
            guarded(
                &state,
                Permission::ConfigureApplicationLinks,
                application_links::router(),
            ),
        )
        .nest(
            "/admin/servers",
            guarded(&state, Permission::ConfigureServers, servers::router()),
        )
        .nest(
            "/admin/clients",
            guarded(&state, Permission::ManageClients, clients::router()),
        )
        .nest(
            "/admin/setup/admins",
            guarded(&state, Permission::ManageAdmins, admins::router()),
        )
        .nest(
            "/admin/setup/roles",
            guarded(&state, Permission::ManageAdmins, roles::router()),
        )
        .merge(account::router())
        .layer(from_fn_with_state(state.clone(), require_admin))
        // Outside `require_admin`, which loads the session: see the function.
        .layer(axum::middleware::from_fn(
            application_links::status_with_session,
        ));

    Router::new()
        .merge(login::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(sso::router())
        .merge(client::router())
        .merge(admin)
}

/// The 404 page, in the layout.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// The application's fallback: unknown paths under `/admin` sit behind the sign-in too, so
/// anonymous visitors get the 303 of SPEC §3 and learn nothing about which paths exist.
pub async fn fallback(
    State(state): State<AppState>,
    session: Session,
    uri: Uri,
) -> Result<Response, AppError> {
    if uri.path().starts_with("/admin/") && CurrentAdmin::load(&state, &session).await?.is_none() {
        return Ok(Redirect::to("/admin/login").into_response());
    }
    Err(AppError::NotFound)
}
