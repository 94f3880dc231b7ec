//! The form that adds a hosting account to a client by hand. The account values it checks
//! (status, cPanel username) are the domain's, shared with the import.

use serde::Deserialize;

use super::{FieldErrors, plain_text};
use crate::domain::account::{AccountStatus, MAX_USERNAME_CHARS, parse_cpanel_username};
use crate::domain::ids::ServerId;
use crate::domain::server::parse_host;
/// The longest host name (RFC 1035).
const MAX_DOMAIN_CHARS: usize = 253;

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
    pub server_id: ServerId,
    pub username: String,
    pub domain: String,
    pub status: AccountStatus,
}

impl AccountForm {
    /// Checks the fields; `servers` are the ids the form offers.
    pub fn validate(&self, servers: &[ServerId]) -> Result<AccountInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let server_id = self
            .server_id
            .trim()
            .parse::<ServerId>()
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
    fn every_account_text_field_refuses_control_characters() {
        let form = AccountForm {
            server_id: "1\0".into(),
            username: "bob\0".into(),
            domain: "example.com\u{0}".into(),
            status: "active\0".into(),
        };
        let errors = form.validate(&[ServerId(1)]).unwrap_err();
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
