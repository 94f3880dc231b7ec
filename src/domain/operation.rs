//! Operations, their per-server progress, the application's state, and log levels (SPEC §6).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Activate,
    Sync,
    Deactivate,
    Retry,
    Account,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Activate,
        Kind::Sync,
        Kind::Deactivate,
        Kind::Retry,
        Kind::Account,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Kind::Activate => "activate",
            Kind::Sync => "sync",
            Kind::Deactivate => "deactivate",
            Kind::Retry => "retry",
            Kind::Account => "account",
        }
    }

    /// Whether the operation is about the whole application (all its servers), not one
    /// account: only those log the servers that cannot take part, say when no server can,
    /// and count as the application's last operation.
    pub fn is_application_wide(self) -> bool {
        self != Kind::Account
    }

    /// Whether starting this operation supersedes the application's unfinished ones. An
    /// account event touches one account and leaves a running application-wide sync alone.
    pub fn supersedes(self) -> bool {
        self.is_application_wide()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.key() == s)
            .ok_or_else(|| format!("unknown operation kind {s}"))
    }
}

/// Where one server's job of an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Queued,
    Running,
    Done,
    Failed,
    Skipped,
    Superseded,
}

impl ServerState {
    pub const ALL: [ServerState; 6] = [
        ServerState::Queued,
        ServerState::Running,
        ServerState::Done,
        ServerState::Failed,
        ServerState::Skipped,
        ServerState::Superseded,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ServerState::Queued => "queued",
            ServerState::Running => "running",
            ServerState::Done => "done",
            ServerState::Failed => "failed",
            ServerState::Skipped => "skipped",
            ServerState::Superseded => "superseded",
        }
    }
}

/// Log levels, from least to most important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Notice,
    Warning,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Debug, Level::Info, Level::Notice, Level::Warning];

    pub fn key(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warning => "warning",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "Debug",
            Level::Info => "Information",
            Level::Notice => "Notice",
            Level::Warning => "Warning",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        let s = if s == "information" {
            "info".to_string()
        } else {
            s
        };
        Level::ALL
            .into_iter()
            .find(|l| l.key() == s)
            .ok_or_else(|| format!("unknown level “{s}”: use debug, info, notice or warning"))
    }
}

/// The state of an application as the badge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    Disabled,
    Syncing,
    Active,
    Deactivating,
    Failed,
}

impl AppStatus {
    /// Derives the state from the switch and the last application-wide operation.
    pub fn derive(enabled: bool, op_running: bool, op_failed_servers: i64) -> Self {
        match (enabled, op_running) {
            (true, true) => AppStatus::Syncing,
            (false, true) => AppStatus::Deactivating,
            _ if op_failed_servers > 0 => AppStatus::Failed,
            (true, false) => AppStatus::Active,
            (false, false) => AppStatus::Disabled,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            AppStatus::Disabled => "disabled",
            AppStatus::Syncing => "syncing",
            AppStatus::Active => "active",
            AppStatus::Deactivating => "deactivating",
            AppStatus::Failed => "failed",
        }
    }

    pub fn is_running(self) -> bool {
        matches!(self, AppStatus::Syncing | AppStatus::Deactivating)
    }
}

/// How a server says it does not have an account (whm-api.md §3): cPanel's own words to
/// root, its words to a reseller, and the wording of WHMCS's documentation.
pub const UNKNOWN_ACCOUNT_REASONS: [&str; 3] = [
    "You do not have a user named",
    "You do not have access to an account named",
    "cPanel Account Username not found",
];

/// Whether a server's reason says that it does not have the account.
pub fn is_unknown_account(reason: &str) -> bool {
    UNKNOWN_ACCOUNT_REASONS
        .iter()
        .any(|words| reason.contains(words))
}

/// A plain explanation for server errors known to be harmless (SPEC §6).
pub fn hint_for(reason: &str) -> Option<&'static str> {
    if is_unknown_account(reason) {
        Some(
            "applinks has an account that the server no longer has: terminate or correct the account in applinks.",
        )
    } else if reason.contains("may not be empty") && reason.contains("user") {
        Some("This account has no cPanel username in applinks: add it on the client's page.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_switch_and_last_operation() {
        assert_eq!(AppStatus::derive(false, false, 0), AppStatus::Disabled);
        assert_eq!(AppStatus::derive(true, true, 0), AppStatus::Syncing);
        assert_eq!(AppStatus::derive(false, true, 0), AppStatus::Deactivating);
        assert_eq!(AppStatus::derive(true, false, 0), AppStatus::Active);
        assert_eq!(AppStatus::derive(true, false, 2), AppStatus::Failed);
        assert_eq!(AppStatus::derive(false, false, 1), AppStatus::Failed);
    }

    #[test]
    fn known_harmless_warnings_get_a_hint() {
        assert!(hint_for("cPanel Account Username not found").is_some());
        assert!(hint_for("You do not have a user named “gone”.").is_some());
        assert!(hint_for("You do not have access to an account named “gone”.").is_some());
        assert!(hint_for("The value of “user” may not be empty.").is_some());
        assert!(hint_for("The value of “user” may not be empty").is_some());
        assert!(hint_for("HTTP 500").is_none());
        assert_eq!("information".parse::<Level>().unwrap(), Level::Info);
    }
}
