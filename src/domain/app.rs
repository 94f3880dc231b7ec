//! The applications that support linking (SPEC §4).

use std::fmt;
use std::str::FromStr;

/// An application whose servers can carry client-area links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    Cpanel,
    Wp2,
}

impl App {
    pub const ALL: [App; 2] = [App::Cpanel, App::Wp2];

    /// The key used in routes, the database and server modules.
    pub fn key(self) -> &'static str {
        match self {
            App::Cpanel => "cpanel",
            App::Wp2 => "wp2",
        }
    }

    /// The product name an administrator reads.
    pub fn name(self) -> &'static str {
        match self {
            App::Cpanel => "cPanel",
            App::Wp2 => "WP Squared",
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A route or form named an application that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("unknown application `{0}`")]
pub struct UnknownApp(pub String);

impl FromStr for App {
    type Err = UnknownApp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        App::ALL
            .into_iter()
            .find(|a| a.key() == s)
            .ok_or_else(|| UnknownApp(s.to_string()))
    }
}
