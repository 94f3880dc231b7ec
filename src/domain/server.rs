//! Server modules, how applinks authenticates to a server, and the rules for server fields
//! (SPEC §5).

use std::fmt;
use std::str::FromStr;

use crate::domain::app::App;

/// What kind of panel a server runs. Only cPanel and WP Squared can carry links; the others
/// are listed so that they show up in the log as unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Cpanel,
    Wp2,
    Plesk,
    DirectAdmin,
}

impl Module {
    pub const ALL: [Module; 4] = [
        Module::Cpanel,
        Module::Wp2,
        Module::Plesk,
        Module::DirectAdmin,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Module::Cpanel => "cpanel",
            Module::Wp2 => "wp2",
            Module::Plesk => "plesk",
            Module::DirectAdmin => "directadmin",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Module::Cpanel => "cPanel & WHM",
            Module::Wp2 => "WP Squared",
            Module::Plesk => "Plesk (no application links)",
            Module::DirectAdmin => "DirectAdmin (no application links)",
        }
    }

    /// The application whose links this module's servers carry, if any.
    pub fn app(self) -> Option<App> {
        match self {
            Module::Cpanel => Some(App::Cpanel),
            Module::Wp2 => Some(App::Wp2),
            Module::Plesk | Module::DirectAdmin => None,
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown module `{0}`; choose cpanel, wp2, plesk or directadmin")]
pub struct UnknownModule(pub String);

impl FromStr for Module {
    type Err = UnknownModule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Module::ALL
            .into_iter()
            .find(|m| m.key() == s)
            .ok_or_else(|| UnknownModule(s.to_string()))
    }
}

/// How applinks authenticates to a server (whm-api.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: whm USER:TOKEN`.
    Token,
    /// HTTP Basic.
    Password,
}

impl AuthKind {
    pub const ALL: [AuthKind; 2] = [AuthKind::Token, AuthKind::Password];

    pub fn key(self) -> &'static str {
        match self {
            AuthKind::Token => "token",
            AuthKind::Password => "password",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AuthKind::Token => "API token",
            AuthKind::Password => "Password",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key.trim())
    }

    /// "the API token" or "the password", for messages.
    pub fn the_secret(self) -> &'static str {
        match self {
            AuthKind::Token => "the API token",
            AuthKind::Password => "the password",
        }
    }
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The first cPanel & WHM version with the integration-link API (whm-api.md §2).
pub const MIN_LINK_VERSION: (u32, u32) = (11, 54);

/// [`MIN_LINK_VERSION`] as people write it, for messages: `11.54`.
pub fn min_link_version() -> String {
    let (major, minor) = MIN_LINK_VERSION;
    format!("{major}.{minor}")
}

/// Whether a server reporting `version` (e.g. `11.134.0.5`) can take links. An unknown or
/// unparseable version is given the benefit of the doubt: the calls themselves will tell.
pub fn version_supports_links(version: Option<&str>) -> bool {
    let Some(v) = version else { return true };
    let mut parts = v.trim().split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= MIN_LINK_VERSION,
        _ => true,
    }
}

/// A valid hostname (RFC 1123 labels) or IP address; `None` otherwise.
pub fn parse_host(input: &str) -> Option<String> {
    let host = input.trim().to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some(host);
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    valid.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_below_11_54_cannot_link() {
        assert!(version_supports_links(Some("11.134.0.5")));
        assert!(version_supports_links(Some("11.54.0.0")));
        assert!(!version_supports_links(Some("11.52.1.3")));
        assert!(!version_supports_links(Some("11.9")));
        assert!(version_supports_links(None));
        assert_eq!(min_link_version(), "11.54");
    }

    #[test]
    fn hosts_are_hostnames_or_ips() {
        assert_eq!(
            parse_host(" Server1.Example.com "),
            Some("server1.example.com".into())
        );
        assert_eq!(parse_host("127.0.0.1"), Some("127.0.0.1".into()));
        assert_eq!(parse_host("::1"), Some("::1".into()));
        assert_eq!(parse_host("bad host"), None);
        assert_eq!(parse_host("-x.example"), None);
        assert_eq!(parse_host(""), None);
    }
}
