//! What every page shares: the navigation of the signed-in admin, flash messages, the CSRF
//! token for its forms. Admin handlers take [`Chrome`] as an extractor and put it in their
//! page; the client area builds it with [`Chrome::for_client`], which never loads the admin.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::domain::permission::Permission;
use crate::web::auth::CurrentAdmin;
use crate::web::{AppError, AppState, csrf};

/// Session keys of the one-time messages: the admin panel's and the client area's apart, so
/// that a browser signed in to both never shows one side's news on the other's pages.
const FLASH_KEY: &str = "flash";
const CLIENT_FLASH_KEY: &str = "client_flash";

/// A session with nobody signed in (a sign-in form's token) ends after this much inactivity.
pub const ANONYMOUS_SESSION_IDLE: time::Duration = time::Duration::minutes(30);

/// A one-time message shown on the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `info` or `error`.
    pub kind: String,
    pub message: String,
}

/// Queues a message for the next admin page this session renders.
pub async fn flash(
    session: &Session,
    kind: &str,
    message: impl Into<String>,
) -> Result<(), AppError> {
    queue_flash(session, FLASH_KEY, kind, message.into()).await
}

/// Queues a message for the next client-area page this session renders.
pub async fn client_flash(
    session: &Session,
    kind: &str,
    message: impl Into<String>,
) -> Result<(), AppError> {
    queue_flash(session, CLIENT_FLASH_KEY, kind, message.into()).await
}

async fn queue_flash(
    session: &Session,
    key: &str,
    kind: &str,
    message: String,
) -> Result<(), AppError> {
    let mut all: Vec<Flash> = session.get(key).await?.unwrap_or_default();
    all.push(Flash {
        kind: kind.to_string(),
        message,
    });
    session.insert(key, all).await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// The navigation entries and the permission each needs.
const NAV: [(&str, &str, Permission); 5] = [
    (
        "Setup › Application Links",
        "/admin/setup/application-links",
        Permission::ConfigureApplicationLinks,
    ),
    ("Servers", "/admin/servers", Permission::ConfigureServers),
    ("Clients", "/admin/clients", Permission::ManageClients),
    (
        "Setup › Administrators",
        "/admin/setup/admins",
        Permission::ManageAdmins,
    ),
    (
        "Setup › Roles",
        "/admin/setup/roles",
        Permission::ManageAdmins,
    ),
];

/// The shared parts of every page.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// Signed-in admin's username and role, if any.
    pub admin: Option<(String, String)>,
    pub nav: Vec<NavItem>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
}

impl Chrome {
    /// Builds the chrome for `session`; `path` marks the active navigation entry.
    pub async fn for_session(
        state: &AppState,
        session: &Session,
        path: &str,
    ) -> Result<Self, AppError> {
        let admin = CurrentAdmin::load(state, session).await?;
        Self::build(admin.as_ref(), session, path, FLASH_KEY).await
    }

    /// The chrome of a client-area page: never an admin's name or navigation, even when an
    /// admin is signed in in the same browser. `sign_out` (a signed-in client) makes sure it
    /// carries the token of the sign-out form; without it a visitor's page creates no session.
    pub async fn for_client(session: &Session, sign_out: bool) -> Result<Self, AppError> {
        let chrome = Self::build(None, session, "", CLIENT_FLASH_KEY).await?;
        if sign_out {
            chrome.with_form_token(session).await
        } else {
            Ok(chrome)
        }
    }

    async fn build(
        admin: Option<&CurrentAdmin>,
        session: &Session,
        path: &str,
        flash_key: &str,
    ) -> Result<Self, AppError> {
        let nav = match admin {
            Some(admin) => NAV
                .iter()
                .filter(|(_, _, p)| admin.can(*p))
                .map(|(label, href, _)| NavItem {
                    label,
                    href,
                    active: path.starts_with(href),
                })
                .collect(),
            None => Vec::new(),
        };
        // Signed-in pages always carry a form (sign out); anonymous pages get a token only
        // when they show a form and ask for one (`with_form_token`), so a visitor who reads a
        // page without a form leaves no session behind.
        let csrf_token = match admin {
            Some(_) => csrf::session_token(session).await?,
            None => csrf::existing_token(session).await?.unwrap_or_default(),
        };
        // Removing marks the session changed, so only remove what is there: a page view
        // without news does not rewrite the session.
        let flashes = match session.get::<Vec<Flash>>(flash_key).await? {
            Some(flashes) => {
                session.remove_value(flash_key).await?;
                flashes
            }
            None => Vec::new(),
        };
        Ok(Self {
            admin: admin.map(|a| (a.username.clone(), a.role_name.clone())),
            nav,
            csrf_token,
            flashes,
        })
    }

    /// Makes sure the page carries a CSRF token, for a page with a form that an admin's
    /// chrome would not give one (the sign-in form, the client area's sign-out).
    pub async fn with_form_token(mut self, session: &Session) -> Result<Self, AppError> {
        if self.csrf_token.is_empty() {
            self.csrf_token = csrf::session_token(session).await?;
        }
        Ok(self)
    }
}

impl FromRequestParts<AppState> for Chrome {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("session layer missing"))?;
        let admin = match parts.extensions.get::<CurrentAdmin>() {
            Some(admin) => Some(admin.clone()),
            None => CurrentAdmin::load(state, &session).await?,
        };
        Self::build(admin.as_ref(), &session, parts.uri.path(), FLASH_KEY).await
    }
}

/// An error in the normal layout.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub status: u16,
}
