//! The form that adds a hosting account to a client by hand, and the account values the
//! import shares with it (status, cPanel username).

use serde::Deserialize;

use super::{FieldErrors, plain_text};
use crate::domain::server::parse_host;

/// cPanel's longest username on servers that raise its default limit of 16.
const MAX_USERNAME_CHARS: usize = 32;
/// The longest host name (RFC 1035).
const MAX_DOMAIN_CHARS: usize = 253;

/// An account's status (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
    Terminated,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 3] = [
        AccountStatus::Active,
        AccountStatus::Suspended,
        AccountStatus::Terminated,
    ];

    pub fn key(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Terminated => "terminated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountStatus::Active => "Active",
            AccountStatus::Suspended => "Suspended",
            AccountStatus::Terminated => "Terminated",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key.trim())
    }
}

/// A cPanel username: lowercase letters and digits, starting with a letter, at most 32
/// characters (cPanel's default limit is 16; some servers allow more). Empty is allowed: an
/// account whose username was never recorded.
pub fn parse_cpanel_username(input: &str) -> Option<String> {
    let user = input.trim().to_ascii_lowercase();
    if user.is_empty() {
        return Some(user);
    }
    let ok = user.len() <= MAX_USERNAME_CHARS
        && user.starts_with(|c: char| c.is_ascii_lowercase())
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    ok.then_some(user)
}

/// The form that adds an account to a client by hand.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    pub server_id: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub status: String,
}

/// A checked account form.
#[derive(Debug, Clone)]
pub struct AccountInput {
    pub server_id: i64,
    pub username: String,
    pub domain: String,
    pub status: AccountStatus,
}

impl AccountForm {
    /// Checks the fields; `servers` are the ids the form offers.
    pub fn validate(&self, servers: &[i64]) -> Result<AccountInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let server_id = self
            .server_id
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| servers.contains(id));
        if server_id.is_none() {
            errors.add("server_id", "Choose one of the listed servers.");
        }
        let username = plain_text(
            &mut errors,
            "username",
            "The cPanel username",
            &self.username,
            MAX_USERNAME_CHARS,
        )
        .and_then(|raw| {
            let user = parse_cpanel_username(raw);
            if user.is_none() {
                errors.add(
                    "username",
                    "A cPanel username has lowercase letters and digits only, starts with a letter and has at most 32 characters.",
                );
            }
            user
        });
        let domain = match plain_text(
            &mut errors,
            "domain",
            "The domain",
            &self.domain,
            MAX_DOMAIN_CHARS,
        ) {
            None => None,
            Some("") => Some(String::new()),
            Some(d) => {
                let host = parse_host(d);
                if host.is_none() {
                    errors.add(
                        "domain",
                        "Enter a domain such as example.com, or leave it empty.",
                    );
                }
                host
            }
        };
        let status = AccountStatus::parse(&self.status);
        if status.is_none() {
            errors.add("status", "Choose active, suspended or terminated.");
        }
        match (server_id, username, domain, status) {
            (Some(server_id), Some(username), Some(domain), Some(status)) => Ok(AccountInput {
                server_id,
                username,
                domain,
                status,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpanel_usernames_are_lowercase_alphanumerics() {
        assert_eq!(parse_cpanel_username("User0001"), Some("user0001".into()));
        assert_eq!(parse_cpanel_username(""), Some(String::new()));
        assert_eq!(parse_cpanel_username("1abc"), None);
        assert_eq!(parse_cpanel_username("ab_c"), None);
    }

    #[test]
    fn every_account_text_field_refuses_control_characters() {
        let form = AccountForm {
            server_id: "1\0".into(),
            username: "bob\0".into(),
            domain: "example.com\u{0}".into(),
            status: "active\0".into(),
        };
        let errors = form.validate(&[1]).unwrap_err();
        assert!(
            errors
                .get("username")
                .unwrap()
                .contains("control characters")
        );
        assert!(errors.get("domain").unwrap().contains("control characters"));
        assert!(errors.get("server_id").is_some());
        assert!(errors.get("status").is_some());
    }
}
