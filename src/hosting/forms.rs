//! What admins type into the server, client, user and account forms (and what the CLI is
//! given): raw strings in, checked values or one message per field out. No I/O here.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;

use crate::db::servers::ServerFields;
use crate::domain::email::parse_email;
use crate::domain::server::{Module, parse_host};

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

/// A name of 1 to `max` characters, trimmed.
fn name(input: &str, max: usize) -> Option<String> {
    let name = input.trim();
    let len = name.chars().count();
    (1..=max).contains(&len).then(|| name.to_string())
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
}

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
    /// The API token or password; blank on edit keeps the stored one.
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

impl From<&crate::db::servers::Server> for ServerValues {
    fn from(server: &crate::db::servers::Server) -> Self {
        Self {
            name: server.name.clone(),
            hostname: server.hostname.clone(),
            port: server.port.to_string(),
            module: server.module.clone(),
            username: server.username.clone(),
            auth_kind: server.auth_kind.clone(),
            use_tls: server.use_tls,
            verify_tls: server.verify_tls,
            enabled: server.enabled,
        }
    }
}

impl ServerForm {
    /// Checks every field; `secret_required` on add (on edit a blank secret keeps the old one).
    pub fn validate(&self, secret_required: bool) -> Result<ServerInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = name(&self.name, 100);
        if name.is_none() {
            errors.add("name", "Enter a name of 1 to 100 characters.");
        }
        let hostname = parse_host(&self.hostname);
        if hostname.is_none() {
            errors.add(
                "hostname",
                "Enter a host name (such as server1.example.com) or an IP address, without https:// or a port.",
            );
        }
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
        let username = self.username.trim();
        let username_ok = !username.is_empty()
            && username.chars().count() <= 64
            && !username
                .chars()
                .any(|c| c == ':' || c.is_whitespace() || c.is_control());
        if !username_ok {
            errors.add(
                "username",
                "Enter the WHM username (usually root): up to 64 characters, no spaces or colons.",
            );
        }
        let auth = AuthKind::parse(&self.auth_kind);
        if auth.is_none() {
            errors.add("auth_kind", "Choose API token or password.");
        }
        let secret = self.secret.trim();
        if secret.is_empty() {
            if secret_required {
                let what = match auth {
                    Some(AuthKind::Password) => "the password",
                    _ => "the API token",
                };
                errors.add("secret", format!("Enter {what}."));
            }
        } else if secret.chars().any(char::is_control) || secret.chars().count() > 1024 {
            errors.add(
                "secret",
                "The token or password cannot contain line breaks or control characters.",
            );
        }
        match (name, hostname, port, module, auth) {
            (Some(name), Some(hostname), Some(port), Some(module), Some(auth))
                if errors.is_empty() =>
            {
                Ok(ServerInput {
                    fields: ServerFields {
                        name,
                        hostname,
                        port,
                        module,
                        username: username.to_string(),
                        auth_kind: auth.key(),
                        use_tls: ticked(&self.use_tls),
                        verify_tls: ticked(&self.verify_tls),
                        enabled: ticked(&self.enabled),
                    },
                    secret: (!secret.is_empty()).then(|| SecretString::from(secret.to_string())),
                })
            }
            _ => Err(errors),
        }
    }
}

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
        let name = name(&self.name, 200);
        if name.is_none() {
            errors.add("name", "Enter a name of 1 to 200 characters.");
        }
        let email = match self.email.trim() {
            "" => Some(None),
            email => parse_email(email).map(Some),
        };
        if email.is_none() {
            errors.add(
                "email",
                "Enter an e-mail address such as owner@example.com, or leave it empty.",
            );
        }
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

/// The form that adds a user to a client.
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
        let name = name(&self.name, 200);
        if name.is_none() {
            errors.add("user_name", "Enter a name of 1 to 200 characters.");
        }
        let email = parse_email(&self.email);
        if email.is_none() {
            errors.add(
                "user_email",
                "Enter an e-mail address such as jane@example.com.",
            );
        }
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
    let ok = user.len() <= 32
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
        let username = parse_cpanel_username(&self.username);
        if username.is_none() {
            errors.add(
                "username",
                "A cPanel username has lowercase letters and digits only, starts with a letter and has at most 32 characters.",
            );
        }
        let domain = match self.domain.trim() {
            "" => Some(String::new()),
            d => parse_host(d),
        };
        if domain.is_none() {
            errors.add(
                "domain",
                "Enter a domain such as example.com, or leave it empty.",
            );
        }
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
    fn cpanel_usernames_are_lowercase_alphanumerics() {
        assert_eq!(parse_cpanel_username("User0001"), Some("user0001".into()));
        assert_eq!(parse_cpanel_username(""), Some(String::new()));
        assert_eq!(parse_cpanel_username("1abc"), None);
        assert_eq!(parse_cpanel_username("ab_c"), None);
    }
}
