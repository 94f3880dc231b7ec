//! The client form and the form that adds a user to a client.

use serde::Deserialize;

use super::{FieldErrors, MAX_EMAIL_CHARS, name, optional_email, plain_text, ticked};
use crate::db;
use crate::domain::email::parse_email;

/// The longest e-mail address (RFC 5321's path limit); [`parse_email`] holds to it too.
const MAX_NAME_CHARS: usize = 200;

/// The client form as posted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub allow_sso: Option<String>,
}

/// A checked client form.
#[derive(Debug, Clone)]
pub struct ClientInput {
    pub name: String,
    /// `None`: the client has no e-mail (a blank field), like the clients the import creates
    /// for accounts cPanel lists without one.
    pub email: Option<String>,
    pub allow_sso: bool,
}

impl ClientForm {
    pub fn validate(&self) -> Result<ClientInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = name(&mut errors, "name", &self.name, MAX_NAME_CHARS);
        let email = optional_email(&mut errors, "email", &self.email, "owner@example.com");
        match (name, email) {
            (Some(name), Some(email)) => Ok(ClientInput {
                name,
                email,
                allow_sso: ticked(&self.allow_sso),
            }),
            _ => Err(errors),
        }
    }

    /// Whether the *Allow Single Sign-On* box is ticked.
    pub fn allow_sso(&self) -> bool {
        ticked(&self.allow_sso)
    }
}

/// The client form's message for a unique e-mail that is taken, if `err` is one (the
/// database has the last word on uniqueness).
pub fn email_taken(err: &sqlx::Error) -> Option<FieldErrors> {
    if db::clients::is_email_taken(err) {
        Some(FieldErrors::one(
            "email",
            "Another client already uses this e-mail address.",
        ))
    } else if db::clients::is_user_email_taken(err) {
        Some(FieldErrors::one(
            "email",
            "Another user of this client already has this e-mail address.",
        ))
    } else {
        None
    }
}

/// The form that adds a user to a client. Its messages are keyed `user_name` and
/// `user_email`, apart from the client form's on the same page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub sso_allowed: Option<String>,
}

/// A checked user form.
#[derive(Debug, Clone)]
pub struct UserInput {
    pub name: String,
    pub email: String,
    pub sso_allowed: bool,
}

impl UserForm {
    pub fn validate(&self) -> Result<UserInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = name(&mut errors, "user_name", &self.name, MAX_NAME_CHARS);
        let email = plain_text(
            &mut errors,
            "user_email",
            "The e-mail address",
            &self.email,
            MAX_EMAIL_CHARS,
        )
        .and_then(|email| {
            let parsed = parse_email(email);
            if parsed.is_none() {
                errors.add(
                    "user_email",
                    "Enter an e-mail address such as jane@example.com.",
                );
            }
            parsed
        });
        match (name, email) {
            (Some(name), Some(email)) => Ok(UserInput {
                name,
                email,
                sso_allowed: ticked(&self.sso_allowed),
            }),
            _ => Err(errors),
        }
    }

    pub fn sso_allowed(&self) -> bool {
        ticked(&self.sso_allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_form_without_an_email_is_valid_but_a_bad_one_is_not() {
        let form = |email: &str| ClientForm {
            name: "Acme".into(),
            email: email.into(),
            allow_sso: None,
        };
        assert_eq!(form("  ").validate().unwrap().email, None);
        assert_eq!(
            form("A@Acme.Example").validate().unwrap().email.as_deref(),
            Some("A@acme.example")
        );
        assert!(form("acme").validate().unwrap_err().get("email").is_some());
    }

    #[test]
    fn client_and_user_names_refuse_nul_and_over_long_values() {
        let client = ClientForm {
            name: "Ac\0me".into(),
            email: "a@b.test\u{1}".into(),
            allow_sso: None,
        };
        let errors = client.validate().unwrap_err();
        assert!(errors.get("name").unwrap().contains("control characters"));
        assert!(errors.get("email").unwrap().contains("control characters"));
        let user = UserForm {
            name: "x".repeat(201),
            email: format!("{}@example.test", "a".repeat(300)),
            sso_allowed: None,
        };
        let errors = user.validate().unwrap_err();
        assert!(errors.get("user_name").unwrap().contains("at most 200"));
        assert!(errors.get("user_email").unwrap().contains("at most 254"));
    }
}
