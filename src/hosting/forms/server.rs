//! The server form: what it takes, what it shows again, and which edits need the credential
//! entered again ([`credential_reach_changes`]).

use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;

use super::{FieldErrors, name, plain_text, ticked};
use crate::db::servers::{Server, ServerFields};
use crate::domain::server::{AuthKind, Module, parse_host};

const MAX_NAME_CHARS: usize = 100;
/// The longest host name (RFC 1035); IPv6 addresses are shorter.
const MAX_HOSTNAME_CHARS: usize = 253;
const MAX_USERNAME_CHARS: usize = 64;
const MAX_SECRET_CHARS: usize = 1024;

/// The server form as posted. The secret is never echoed back into a page.
#[derive(Clone, Default, Deserialize)]
pub struct ServerForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub module: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub auth_kind: String,
    /// The API token or password; blank on edit keeps the stored one, unless the edit changes
    /// where it would be sent ([`credential_reach_changes`]).
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub use_tls: Option<String>,
    #[serde(default)]
    pub verify_tls: Option<String>,
    #[serde(default)]
    pub enabled: Option<String>,
}

impl fmt::Debug for ServerForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerForm")
            .field("name", &self.name)
            .field("hostname", &self.hostname)
            .field("port", &self.port)
            .field("module", &self.module)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A checked server form: the fields to store and, when one was given, the new secret.
#[derive(Debug, Clone)]
pub struct ServerInput {
    pub fields: ServerFields,
    pub secret: Option<SecretString>,
}

/// What the server form shows: the posted values, a stored server's, or the defaults.
/// There is no secret here on purpose.
#[derive(Debug, Clone)]
pub struct ServerValues {
    pub name: String,
    pub hostname: String,
    pub port: String,
    pub module: String,
    pub username: String,
    pub auth_kind: String,
    pub use_tls: bool,
    pub verify_tls: bool,
    pub enabled: bool,
}

impl Default for ServerValues {
    fn default() -> Self {
        Self {
            name: String::new(),
            hostname: String::new(),
            port: "2087".to_string(),
            module: Module::Cpanel.key().to_string(),
            username: "root".to_string(),
            auth_kind: AuthKind::Token.key().to_string(),
            use_tls: true,
            verify_tls: true,
            enabled: true,
        }
    }
}

impl From<&ServerForm> for ServerValues {
    fn from(form: &ServerForm) -> Self {
        Self {
            name: form.name.clone(),
            hostname: form.hostname.clone(),
            port: form.port.clone(),
            module: form.module.clone(),
            username: form.username.clone(),
            auth_kind: form.auth_kind.clone(),
            use_tls: ticked(&form.use_tls),
            verify_tls: ticked(&form.verify_tls),
            enabled: ticked(&form.enabled),
        }
    }
}

impl From<&Server> for ServerValues {
    fn from(server: &Server) -> Self {
        Self {
            name: server.name.clone(),
            hostname: server.hostname.clone(),
            port: server.port.to_string(),
            module: server.module.key().to_string(),
            username: server.username.clone(),
            auth_kind: server.auth_kind.key().to_string(),
            use_tls: server.use_tls,
            verify_tls: server.verify_tls,
            enabled: server.enabled,
        }
    }
}

impl ServerForm {
    /// Checks every field; `secret_required` on add (on edit a blank secret may keep the old
    /// one, see [`credential_reach_changes`]).
    pub fn validate(&self, secret_required: bool) -> Result<ServerInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = name(&mut errors, "name", &self.name, MAX_NAME_CHARS);
        let hostname = plain_text(
            &mut errors,
            "hostname",
            "The host name",
            &self.hostname,
            MAX_HOSTNAME_CHARS,
        )
        .and_then(|raw| {
            let host = parse_host(raw);
            if host.is_none() {
                errors.add(
                    "hostname",
                    "Enter a host name (such as server1.example.com) or an IP address, without https:// or a port.",
                );
            }
            host
        });
        let port = match self.port.trim() {
            "" => Some(2087),
            p => p.parse::<u16>().ok().filter(|p| *p >= 1),
        };
        if port.is_none() {
            errors.add(
                "port",
                "Enter a port from 1 to 65535 (WHM listens on 2087).",
            );
        }
        let module = self.module.trim().parse::<Module>().ok();
        if module.is_none() {
            errors.add("module", "Choose one of the listed modules.");
        }
        let username = plain_text(
            &mut errors,
            "username",
            "The WHM username",
            &self.username,
            MAX_USERNAME_CHARS,
        )
        .filter(|u| {
            // The username goes into `Authorization: whm USER:TOKEN` and HTTP Basic.
            let ok = !u.is_empty() && !u.chars().any(|c| c == ':' || c.is_whitespace());
            if !ok {
                errors.add(
                    "username",
                    "Enter the WHM username (usually root): up to 64 characters, no spaces or colons.",
                );
            }
            ok
        });
        let auth = AuthKind::parse(&self.auth_kind);
        if auth.is_none() {
            errors.add("auth_kind", "Choose API token or password.");
        }
        let secret = plain_text(
            &mut errors,
            "secret",
            "The token or password",
            &self.secret,
            MAX_SECRET_CHARS,
        );
        if secret == Some("") && secret_required {
            let what = auth.unwrap_or(AuthKind::Token).the_secret();
            errors.add("secret", format!("Enter {what}."));
        }
        match (name, hostname, port, module, username, auth, secret) {
            (
                Some(name),
                Some(hostname),
                Some(port),
                Some(module),
                Some(username),
                Some(auth),
                Some(secret),
            ) if errors.is_empty() => Ok(ServerInput {
                fields: ServerFields {
                    name,
                    hostname,
                    port,
                    module,
                    username: username.to_string(),
                    auth_kind: auth,
                    use_tls: ticked(&self.use_tls),
                    verify_tls: ticked(&self.verify_tls),
                    enabled: ticked(&self.enabled),
                },
                secret: (!secret.is_empty()).then(|| SecretString::from(secret.to_string())),
            }),
            _ => Err(errors),
        }
    }
}

/// What an edit changes about *where and how* the stored credential would be sent: host name,
/// port, TLS (`use_tls`, `verify_tls`), WHM username, authentication method. Empty when none
/// of them changed. Such an edit needs the token or password entered again: otherwise anyone
/// allowed to edit servers could point a server at a host of their own and have *Test
/// connection* hand it the stored token (issue 8, finding 2). Name, module and enabled are
/// free to change.
pub fn credential_reach_changes(current: &Server, new: &ServerFields) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if !current.hostname.eq_ignore_ascii_case(&new.hostname) {
        changed.push("host name");
    }
    if current.port != new.port {
        changed.push("port");
    }
    if current.use_tls != new.use_tls {
        changed.push("TLS setting");
    }
    if current.verify_tls != new.verify_tls {
        changed.push("certificate verification");
    }
    if current.username != new.username {
        changed.push("WHM username");
    }
    if current.auth_kind != new.auth_kind {
        changed.push("authentication method");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_form() -> ServerForm {
        ServerForm {
            name: "Box 1".into(),
            hostname: "Server1.Example.com".into(),
            port: "2087".into(),
            module: "cpanel".into(),
            username: "root".into(),
            auth_kind: "token".into(),
            secret: "ABC123".into(),
            use_tls: Some("on".into()),
            verify_tls: None,
            enabled: Some("on".into()),
        }
    }

    #[test]
    fn a_valid_server_form_is_normalised() {
        let input = server_form().validate(true).unwrap();
        assert_eq!(input.fields.hostname, "server1.example.com");
        assert_eq!(input.fields.port, 2087);
        assert!(input.fields.use_tls && !input.fields.verify_tls && input.fields.enabled);
        assert!(input.secret.is_some());
    }

    #[test]
    fn every_bad_server_field_gets_its_own_message() {
        let form = ServerForm {
            name: "  ".into(),
            hostname: "https://x".into(),
            port: "70000".into(),
            module: "cpanel2".into(),
            username: "ro ot".into(),
            auth_kind: "key".into(),
            secret: String::new(),
            ..server_form()
        };
        let errors = form.validate(true).unwrap_err();
        for field in [
            "name",
            "hostname",
            "port",
            "module",
            "username",
            "auth_kind",
            "secret",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let blank_secret_on_edit = ServerForm {
            secret: String::new(),
            ..server_form()
        };
        assert!(
            blank_secret_on_edit
                .validate(false)
                .unwrap()
                .secret
                .is_none()
        );
    }

    #[test]
    fn a_nul_in_any_server_text_field_is_named() {
        for field in ["name", "hostname", "username", "secret"] {
            let mut form = server_form();
            let value = match field {
                "name" => &mut form.name,
                "hostname" => &mut form.hostname,
                "username" => &mut form.username,
                _ => &mut form.secret,
            };
            value.insert(1, '\0');
            let errors = form.validate(true).unwrap_err();
            assert!(
                errors.get(field).unwrap().contains("control characters"),
                "{field}: {errors}"
            );
        }
    }

    fn stored(input: &ServerInput) -> Server {
        let f = &input.fields;
        Server {
            id: crate::domain::ids::ServerId(1),
            name: f.name.clone(),
            hostname: f.hostname.clone(),
            port: f.port,
            module: f.module,
            username: f.username.clone(),
            auth_kind: f.auth_kind,
            use_tls: f.use_tls,
            verify_tls: f.verify_tls,
            enabled: f.enabled,
            version: None,
            version_checked_at: None,
            accounts: 0,
        }
    }

    #[test]
    fn moving_a_server_or_changing_how_it_authenticates_is_a_credential_change() {
        let current = stored(&server_form().validate(true).unwrap());
        let edited = |change: fn(&mut ServerForm)| {
            let mut form = server_form();
            change(&mut form);
            credential_reach_changes(&current, &form.validate(false).unwrap().fields)
        };
        assert!(edited(|f| f.name = "Renamed".into()).is_empty());
        assert!(edited(|f| f.module = "wp2".into()).is_empty());
        assert!(edited(|f| f.enabled = None).is_empty());
        assert!(edited(|f| f.hostname = "SERVER1.example.com".into()).is_empty());
        assert_eq!(
            edited(|f| f.hostname = "evil.test".into()),
            vec!["host name"]
        );
        assert_eq!(edited(|f| f.port = "2086".into()), vec!["port"]);
        assert_eq!(edited(|f| f.use_tls = None), vec!["TLS setting"]);
        assert_eq!(
            edited(|f| f.verify_tls = Some("on".into())),
            vec!["certificate verification"]
        );
        assert_eq!(
            edited(|f| f.username = "admin".into()),
            vec!["WHM username"]
        );
        assert_eq!(
            edited(|f| f.auth_kind = "password".into()),
            vec!["authentication method"]
        );
    }
}
