//! The admin panel and the HTTP surface: router, state, sessions, CSRF, permissions, pages.
//!
//! Layers, outermost first: tracing, security headers, tower-http's `CsrfLayer` (Origin / Sec-Fetch-Site),
//! sessions, error rendering (so every error page keeps the layout), the synchronizer-token
//! check on every state-changing request. Permission guards sit on whole route prefixes.

pub mod auth;
pub mod client_addr;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod headers;
pub mod layout;
pub mod pages;
pub mod paging;
pub mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use sqlx::PgPool;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::crypto::SecretBox;
use crate::db::session_store::PgSessionStore;

pub use error::{AppError, AppResult};

/// Shared by every handler. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<WebSettings>,
    pub login_limiter: Arc<throttle::LoginLimiter>,
    /// Encrypts server credentials and link secrets at rest.
    pub secrets: SecretBox,
    /// Calls WHM servers (test connection, import).
    pub whm: crate::whm::client::WhmClient,
    /// Whether this process's in-process workers run (for `/readyz`).
    pub workers: crate::jobs::WorkerStatus,
}

impl AppState {
    /// The state of a web instance (or a worker's listener) with these settings: a fresh
    /// sign-in limiter and WHM client. The caller runs `throttle::prune` on the limiter if it
    /// serves sign-ins.
    pub fn new(
        pool: PgPool,
        settings: WebSettings,
        secrets: SecretBox,
        workers: crate::jobs::WorkerStatus,
    ) -> Self {
        Self {
            pool,
            settings: Arc::new(settings),
            login_limiter: Arc::new(throttle::LoginLimiter::new(LOGIN_ATTEMPTS_PER_MINUTE)),
            secrets,
            whm: crate::whm::client::WhmClient::new(Default::default()),
            workers,
        }
    }
}

/// Sign-in attempts per (username, address) a minute (see `throttle`).
const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;

/// What the web layer needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Base URL without trailing slash, e.g. `https://billing.example.com`.
    pub public_url: String,
    /// Proxies whose forwarding headers name the client (`APPLINKS_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bearer token of `/metrics` (`APPLINKS_METRICS_TOKEN`).
    pub metrics_token: Option<secrecy::SecretString>,
    /// Absolute lifetime of a client's sign-in (`APPLINKS_CLIENT_SESSION_MAX_SECS`).
    pub client_session_max_secs: u64,
}

impl WebSettings {
    /// Cookies are Secure when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Sessions end after this much inactivity.
pub const SESSION_INACTIVITY: time::Duration = time::Duration::hours(8);

/// The whole application.
pub fn router(state: AppState) -> Router {
    let store = PgSessionStore::new(state.pool.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name("applinks_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(SESSION_INACTIVITY));

    let static_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static");
    let router = Router::new()
        .merge(pages::router(state.clone()))
        .nest_service("/static", ServeDir::new(static_dir))
        // Browsers ask for /favicon.ico on pages that name no icon (JSON, the Origin refusal).
        .route_service(
            "/favicon.ico",
            ServeFile::new(concat!(env!("CARGO_MANIFEST_DIR"), "/static/favicon.ico")),
        )
        .fallback(pages::fallback)
        // Every body is bounded: forms and cPanel's autologin POST (the link's fields with its
        // icon) are a few KiB.
        .layer(DefaultBodyLimit::max(csrf::MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn(csrf::require_token))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::render_errors,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn(auth::scope_session_admin))
        .layer(csrf::origin_layer(&state.settings));
    headers::apply(router, &state.settings)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The small HTTP surface of an `applinks worker` process (`--listen`): `/healthz`,
/// `/readyz` (the database, and this process's workers) and `/metrics`, with the same rules
/// as the web's.
pub fn worker_router(state: AppState) -> Router {
    let router = Router::new()
        .merge(pages::health::router())
        .merge(pages::metrics::router());
    headers::apply(router, &state.settings)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::WebSettings;

    #[test]
    fn cookies_are_secure_exactly_when_the_public_url_is_https() {
        let https = WebSettings {
            public_url: "https://billing.example.com".into(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            client_session_max_secs: 28_800,
        };
        let http = WebSettings {
            public_url: "http://127.0.0.1:8080".into(),
            ..https.clone()
        };
        assert!(https.secure_cookies());
        assert!(!http.secure_cookies());
    }
}
