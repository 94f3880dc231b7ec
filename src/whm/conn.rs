//! How the client reaches one WHM server and how patiently: [`ServerConn`] (base URL,
//! credentials, TLS verification), [`WhmAuth`] and [`ClientSettings`]. Plain data: the
//! calls live in `client`. Secrets stay out of `Debug` output.

use secrecy::SecretString;

use crate::domain::server::AuthKind;

/// How to reach one WHM server.
#[derive(Debug, Clone)]
pub struct ServerConn {
    /// Scheme, host and port, e.g. `https://host:2087` or `http://127.0.0.1:1234`.
    pub base_url: String,
    pub auth: WhmAuth,
    /// Verify the server's TLS certificate (off only for servers with self-signed ones).
    pub verify_tls: bool,
}

impl ServerConn {
    /// A server at `hostname:port`: `https://` (or `http://` without TLS), IPv6 addresses
    /// in brackets.
    pub fn new(hostname: &str, port: u16, use_tls: bool, verify_tls: bool, auth: WhmAuth) -> Self {
        let scheme = if use_tls { "https" } else { "http" };
        let base_url = if hostname.contains(':') {
            format!("{scheme}://[{hostname}]:{port}")
        } else {
            format!("{scheme}://{hostname}:{port}")
        };
        Self {
            base_url,
            auth,
            verify_tls,
        }
    }
}

/// The credentials of a server record: an API token (header `Authorization: whm USER:TOKEN`)
/// or a password (HTTP Basic).
#[derive(Clone)]
pub enum WhmAuth {
    ApiToken {
        username: String,
        token: SecretString,
    },
    Password {
        username: String,
        password: SecretString,
    },
}

impl WhmAuth {
    /// The credentials of a server record.
    pub fn from_record(auth_kind: AuthKind, username: String, secret: SecretString) -> Self {
        match auth_kind {
            AuthKind::Password => Self::Password {
                username,
                password: secret,
            },
            AuthKind::Token => Self::ApiToken {
                username,
                token: secret,
            },
        }
    }
}

impl std::fmt::Debug for WhmAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiToken { username, .. } => f
                .debug_struct("ApiToken")
                .field("username", username)
                .field("token", &"[redacted]")
                .finish(),
            Self::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
        }
    }
}

/// Timeouts and retries of every call.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Whole-request timeout of one attempt.
    pub timeout_ms: u64,
    /// Added to `timeout_ms` for every command of a batch beyond the first: the server runs
    /// a batch's commands one after another.
    pub command_timeout_ms: u64,
    /// Attempts per call, the first included (transient errors only; at least 1).
    pub retry_max_attempts: u32,
    /// First pause between attempts; it doubles each time, plus jitter.
    pub retry_base_delay_ms: u64,
    /// The largest answer read; a longer one is a permanent bad response, so a broken or
    /// hostile server cannot make a worker hold an unbounded body in memory.
    pub max_answer_bytes: usize,
}

/// What a batch's timeout grows by per command: far above the few milliseconds a cPanel
/// server spends on one integration call.
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 25;

/// A `listaccts` of tens of thousands of accounts fits well within this.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            timeout_ms: crate::config::DEFAULT_WHM_TIMEOUT_MS,
            command_timeout_ms: DEFAULT_COMMAND_TIMEOUT_MS,
            retry_max_attempts: crate::config::DEFAULT_WHM_RETRY_ATTEMPTS,
            retry_base_delay_ms: crate::config::DEFAULT_WHM_RETRY_BASE_DELAY_MS,
            max_answer_bytes: MAX_ANSWER_BYTES,
        }
    }
}
