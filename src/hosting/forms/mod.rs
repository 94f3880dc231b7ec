//! What admins type into the server, client, user and account forms (and what the CLI is
//! given): raw strings in, checked values or one message per field out. No I/O here, so every
//! rule (lengths, printable text) holds before any database work and for every caller.
//!
//! One file per form family: [`server`], [`client`] (clients and their users), [`account`],
//! [`admin`] (administrators, roles, passwords).
//! This module keeps what they share: [`FieldErrors`], checkboxes, button [`switch`]es, and
//! the first check of every free-text field ([`plain_text`]).

use std::collections::BTreeMap;
use std::fmt;

use crate::domain::email::parse_email;
use crate::domain::text::is_unprintable;

pub mod account;
pub mod admin;
pub mod client;
pub mod server;

pub use account::{AccountForm, AccountInput};
pub use client::{ClientForm, ClientInput, UserForm, UserInput};
pub use server::{ServerForm, ServerInput, ServerValues, credential_reach_changes};

/// One message per field that needs correcting, keyed by the form field's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a message for `field` (the first one wins).
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// A single field's error.
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// The message for `field`, if it has one (templates call this).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, message)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// A checkbox: browsers send it (usually as `on`) only when it is ticked.
fn ticked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !matches!(v.trim(), "" | "0" | "false" | "off"))
}

/// A switch posted by a button: `1` / `0` (or `true` / `on`, `false` / `off`). `None` for
/// anything else, which the caller refuses without changing anything.
pub fn switch(value: &str) -> Option<bool> {
    match value.trim() {
        "1" | "true" | "on" => Some(true),
        "0" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// The first check of every free-text field: printable text of at most `max` characters once
/// trimmed. On failure it records the field's message (`what` names the field in it, e.g.
/// "The name") and answers `None`; otherwise the trimmed value, which may still be empty.
fn plain_text<'a>(
    errors: &mut FieldErrors,
    field: &'static str,
    what: &str,
    value: &'a str,
    max: usize,
) -> Option<&'a str> {
    let value = value.trim();
    if value.chars().any(is_unprintable) {
        errors.add(
            field,
            format!("{what} cannot contain control characters (such as NUL, tabs or line breaks)."),
        );
        return None;
    }
    let n = value.chars().count();
    if n > max {
        errors.add(
            field,
            format!("{what} can be at most {max} characters (this one has {n})."),
        );
        return None;
    }
    Some(value)
}

/// A required name: printable, 1 to `max` characters, trimmed.
fn name(errors: &mut FieldErrors, field: &'static str, input: &str, max: usize) -> Option<String> {
    let name = plain_text(errors, field, "The name", input, max)?;
    if name.is_empty() {
        errors.add(field, format!("Enter a name of 1 to {max} characters."));
        return None;
    }
    Some(name.to_string())
}

/// Longest e-mail address a form takes (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// An optional e-mail address: empty is `Some(None)`; otherwise it must parse, and the message
/// shows `example` as the form to follow. `None` when the field has an error.
fn optional_email(
    errors: &mut FieldErrors,
    field: &'static str,
    input: &str,
    example: &str,
) -> Option<Option<String>> {
    match plain_text(errors, field, "The e-mail address", input, MAX_EMAIL_CHARS)? {
        "" => Some(None),
        email => {
            let parsed = parse_email(email);
            if parsed.is_none() {
                errors.add(
                    field,
                    format!("Enter an e-mail address such as {example}, or leave it empty."),
                );
            }
            parsed.map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_refuses_control_characters_and_long_values_naming_the_field() {
        for bad in [
            "a\0b",
            "tab\there",
            "line\nbreak",
            "del\u{7f}",
            "ls\u{2028}x",
            "\u{202E}evil",
        ] {
            let mut errors = FieldErrors::new();
            assert_eq!(
                plain_text(&mut errors, "name", "The name", bad, 100),
                None,
                "{bad:?}"
            );
            assert!(errors.get("name").unwrap().contains("control characters"));
        }
        let mut errors = FieldErrors::new();
        assert_eq!(
            plain_text(&mut errors, "name", "The name", &"é".repeat(101), 100),
            None
        );
        assert!(errors.get("name").unwrap().contains("at most 100"));
        let mut errors = FieldErrors::new();
        assert_eq!(
            plain_text(&mut errors, "name", "The name", "  Ünïcode & <b>  ", 100),
            Some("Ünïcode & <b>")
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn a_name_is_required() {
        let mut errors = FieldErrors::new();
        assert_eq!(name(&mut errors, "name", "   ", 100), None);
        assert_eq!(
            errors.get("name"),
            Some("Enter a name of 1 to 100 characters.")
        );
    }
}
