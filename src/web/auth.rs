//! Who is signed in, what they may do, and how they sign in.
//!
//! Passwords are hashed and checked in `crypto::password` (argon2id), shared with the
//! command line.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

pub use crate::crypto::password::{hash_password, verify_password};
use crate::db;
use crate::db::operations::AppOverview;
use crate::db::session_store::{ALONGSIDE, Alongside};
use crate::domain::app::App;
use crate::domain::permission::{Grants, Permission};
use crate::web::{AppError, AppState};

/// Session key holding the signed-in admin's id.
pub const ADMIN_ID_KEY: &str = "admin_id";

/// The signed-in administrator, with what their role grants.
#[derive(Debug, Clone)]
pub struct CurrentAdmin {
    pub id: i64,
    pub username: String,
    pub role_name: String,
    pub grants: Grants,
}

impl CurrentAdmin {
    pub fn can(&self, permission: Permission) -> bool {
        self.grants.allows(permission)
    }

    /// Loads the admin of this session, if any (cached in the request's extensions): the
    /// session (loaded once per request by the session layer) and one query.
    pub async fn load(state: &AppState, session: &Session) -> Result<Option<Self>, AppError> {
        let Some(id) = session.get::<i64>(ADMIN_ID_KEY).await? else {
            return Ok(None);
        };
        // The admin and their role's permissions come with the session's own statement
        // (`db::session_store`); a session stored or cycled during this request has none
        // there yet, so one query then. Never cached beyond the request.
        let loaded = match loaded_with_session(session, id) {
            Some(admin) => Some(admin),
            None => db::admins::signed_in(&state.pool, id).await?,
        };
        let Some(admin) = loaded else {
            // The admin is gone or disabled (disabling ends their sessions too; this covers a
            // request that loaded its session just before): the session is worthless.
            session.flush().await?;
            return Ok(None);
        };
        touch(session).await?;
        Ok(Some(Self {
            id: admin.id,
            username: admin.username,
            role_name: admin.role_name,
            grants: admin.grants,
        }))
    }
}

/// The enabled admin `id` that the session store loaded with this very session during this
/// request, if it did.
fn loaded_with_session(session: &Session, id: i64) -> Option<db::admins::SignedIn> {
    let session_id = session.id()?;
    ALONGSIDE
        .try_with(|slot| match &slot.borrow().admin {
            Some((loaded, Some(admin))) if *loaded == session_id && admin.id == id => {
                Some(admin.clone())
            }
            _ => None,
        })
        .ok()
        .flatten()
}

/// Asks the session store to read `app`'s status in the session's own statement (the status
/// poll). Only takes effect before anything in this request loads the session.
pub fn read_status_with_session(app: App) {
    let _ = ALONGSIDE.try_with(|slot| slot.borrow_mut().status_of = Some(app));
}

/// The status of `app` that the session store read with this very session during this
/// request, if it did ([`read_status_with_session`]).
pub fn status_read_with_session(session: &Session, app: App) -> Option<AppOverview> {
    let session_id = session.id()?;
    ALONGSIDE
        .try_with(|slot| match &slot.borrow().status {
            Some((loaded, overview)) if *loaded == session_id && overview.app == app => {
                Some(overview.clone())
            }
            _ => None,
        })
        .ok()
        .flatten()
}

/// Outermost middleware: gives each request the slot in which the session store leaves what
/// it read with the session (the admin; the status, when asked for).
pub async fn scope_session_admin(req: Request, next: Next) -> Response {
    ALONGSIDE
        .scope(std::cell::RefCell::new(Alongside::default()), next.run(req))
        .await
}

/// Session key of the last time (unix seconds) the session was marked active.
const SEEN_AT_KEY: &str = "seen_at";
/// How often an active session's idle expiry is pushed back.
const TOUCH_EVERY_SECS: i64 = 60;

/// Keeps an active session alive. The idle expiry moves only when the session is saved, and
/// a page view that changes nothing is not saved (so it cannot race a sign-out); marking the
/// session changed at most once a minute keeps the expiry fresh with few writes.
pub async fn touch(session: &Session) -> Result<(), AppError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let seen = session.get::<i64>(SEEN_AT_KEY).await?;
    if seen.is_none_or(|seen| now - seen >= TOUCH_EVERY_SECS) {
        session.insert(SEEN_AT_KEY, now).await?;
    }
    Ok(())
}

/// Rejection for a request with no signed-in admin.
pub enum AuthRejection {
    SignIn,
    Error(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn => Redirect::to("/admin/login").into_response(),
            AuthRejection::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for CurrentAdmin {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(admin) = parts.extensions.get::<CurrentAdmin>() {
            return Ok(admin.clone());
        }
        let session =
            parts.extensions.get::<Session>().cloned().ok_or_else(|| {
                AuthRejection::Error(anyhow::anyhow!("session layer missing").into())
            })?;
        let admin = CurrentAdmin::load(state, &session)
            .await
            .map_err(AuthRejection::Error)?
            .ok_or(AuthRejection::SignIn)?;
        parts.extensions.insert(admin.clone());
        Ok(admin)
    }
}

/// Middleware for everything under `/admin` except sign-in: anonymous requests get 303 to
/// `/admin/login`.
pub async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    match CurrentAdmin::from_request_parts(&mut parts, &state).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// A guard for a whole route prefix: every route and fallback below it needs `permission`,
/// so a route added later is guarded without anyone remembering to. Use with
/// `middleware::from_fn_with_state((state, permission), require_permission)`.
pub async fn require_permission(
    State((state, permission)): State<(AppState, Permission)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let admin = match CurrentAdmin::from_request_parts(&mut parts, &state).await {
        Ok(admin) => admin,
        Err(rejection) => return rejection.into_response(),
    };
    if admin.can(permission) {
        next.run(Request::from_parts(parts, body)).await
    } else {
        tracing::info!(admin = %admin.username, %permission, "permission denied");
        AppError::Forbidden(permission).into_response()
    }
}
