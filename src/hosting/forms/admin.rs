//! The administrator, role and password forms (Setup › Administrators, Setup › Roles, My
//! account) and the rule for a new password, which `applinks admin set-password` applies too.

use serde::Deserialize;

use super::{FieldErrors, name, optional_email, plain_text};
use crate::domain::permission::Permission;
use crate::domain::text::is_unprintable;

/// Usernames are 1 to 64 characters, as sign-in and `applinks admin create` hold them.
pub const MAX_USERNAME_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 200;
const MAX_ROLE_NAME_CHARS: usize = 100;
/// Passwords are at least this long (as `applinks admin create` requires).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// And at most this long: hashing is cheap for any length, but nobody types more.
pub const MAX_PASSWORD_CHARS: usize = 1000;

/// A new password: 12 to 1000 characters, no control characters. Never trimmed (spaces may be
/// part of it). The message names no field, so the CLI can show it as is.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if password.chars().any(is_unprintable) {
        return Err(
            "The password cannot contain control characters (such as tabs or line breaks).".into(),
        );
    }
    if n < MIN_PASSWORD_CHARS {
        return Err(format!(
            "The password must be at least {MIN_PASSWORD_CHARS} characters (this one has {n})."
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!(
            "The password can be at most {MAX_PASSWORD_CHARS} characters (this one has {n})."
        ));
    }
    Ok(())
}

/// A new password and its confirmation, into `password` / `password_confirm` messages.
fn new_password(errors: &mut FieldErrors, password: &str, confirm: &str) -> Option<String> {
    if let Err(message) = check_new_password(password) {
        errors.add("password", message);
        return None;
    }
    if password != confirm {
        errors.add("password_confirm", "The two passwords differ.");
        return None;
    }
    Some(password.to_string())
}

/// A username: printable, 1 to 64 characters, no spaces inside (sign-in trims what is typed).
pub fn check_username(errors: &mut FieldErrors, input: &str) -> Option<String> {
    let username = plain_text(
        errors,
        "username",
        "The username",
        input,
        MAX_USERNAME_CHARS,
    )?;
    if username.is_empty() || username.chars().any(char::is_whitespace) {
        errors.add(
            "username",
            format!("Enter a username of 1 to {MAX_USERNAME_CHARS} characters without spaces."),
        );
        return None;
    }
    Some(username.to_string())
}

/// The administrator form as posted: details, and on the add form the first password.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role_id: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// A checked administrator form.
#[derive(Debug, Clone)]
pub struct AdminInput {
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub role_id: i64,
    /// Only on the add form.
    pub password: Option<String>,
}

impl AdminForm {
    /// Checks the form; `roles` are the ids a role may be chosen from, `with_password` says
    /// whether the form sets the first password (the add form).
    pub fn validate(&self, roles: &[i64], with_password: bool) -> Result<AdminInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let username = check_username(&mut errors, &self.username);
        let name = name(&mut errors, "name", &self.name, MAX_NAME_CHARS);
        let email = optional_email(&mut errors, "email", &self.email, "jane@example.com");
        let role_id = self
            .role_id
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| roles.contains(id));
        if role_id.is_none() {
            errors.add("role_id", "Choose one of the roles.");
        }
        let password = if with_password {
            new_password(&mut errors, &self.password, &self.password_confirm).map(Some)
        } else {
            Some(None)
        };
        match (username, name, email, role_id, password) {
            (Some(username), Some(name), Some(email), Some(role_id), Some(password))
                if errors.is_empty() =>
            {
                Ok(AdminInput {
                    username,
                    name,
                    email,
                    role_id,
                    password,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A password set by another admin: the new one twice.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

impl PasswordForm {
    pub fn validate(&self) -> Result<String, FieldErrors> {
        let mut errors = FieldErrors::new();
        new_password(&mut errors, &self.password, &self.password_confirm).ok_or(errors)
    }
}

/// One's own new password: the current one, and the new one twice.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OwnPasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

impl OwnPasswordForm {
    /// Checks the new password; the current one is checked against the stored hash later.
    pub fn validate(&self) -> Result<String, FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.current_password.is_empty() {
            errors.add("current_password", "Enter your current password.");
        } else if self.current_password.chars().count() > MAX_PASSWORD_CHARS {
            errors.add("current_password", "This is not your current password.");
        }
        let password = new_password(&mut errors, &self.password, &self.password_confirm);
        match password {
            Some(password) if errors.is_empty() => Ok(password),
            _ => Err(errors),
        }
    }
}

/// The role form as posted: its name and one `permission` field per ticked box (so it is
/// read from the raw pairs; a form struct cannot hold a repeated field).
#[derive(Debug, Clone, Default)]
pub struct RoleForm {
    pub name: String,
    /// The permission keys as sent, ticked boxes only.
    pub permissions: Vec<String>,
}

/// A checked role form.
#[derive(Debug, Clone)]
pub struct RoleInput {
    pub name: String,
    pub permissions: Vec<Permission>,
}

impl RoleForm {
    /// Reads the posted pairs (`name`, `permission` repeated; anything else is ignored).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = RoleForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value.clone(),
                "permission" => form.permissions.push(value.clone()),
                _ => {}
            }
        }
        form
    }

    /// Whether the box of `permission` is ticked (templates call this).
    pub fn has(&self, permission: &Permission) -> bool {
        self.permissions.iter().any(|p| p == permission.key())
    }

    pub fn validate(&self) -> Result<RoleInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = name(&mut errors, "name", &self.name, MAX_ROLE_NAME_CHARS);
        let mut permissions = Vec::new();
        for key in &self.permissions {
            match key.parse::<Permission>() {
                Ok(p) if !permissions.contains(&p) => permissions.push(p),
                Ok(_) => {}
                Err(_) => errors.add("permissions", "Tick only the permissions listed."),
            }
        }
        match name {
            Some(name) if errors.is_empty() => Ok(RoleInput { name, permissions }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_form() -> AdminForm {
        AdminForm {
            username: " jane ".into(),
            name: "Jane Doe".into(),
            email: "".into(),
            role_id: "1".into(),
            password: "a long enough password".into(),
            password_confirm: "a long enough password".into(),
        }
    }

    #[test]
    fn a_good_admin_form_is_trimmed_and_a_blank_email_is_none() {
        let input = admin_form().validate(&[1], true).unwrap();
        assert_eq!(input.username, "jane");
        assert_eq!(input.email, None);
        assert_eq!(input.password.as_deref(), Some("a long enough password"));
        assert_eq!(admin_form().validate(&[1], false).unwrap().password, None);
    }

    #[test]
    fn admin_form_names_each_bad_field() {
        let form = AdminForm {
            username: "ja ne".into(),
            name: "x\0".into(),
            email: "nope".into(),
            role_id: "7".into(),
            password: "short".into(),
            password_confirm: "short".into(),
        };
        let errors = form.validate(&[1], true).unwrap_err();
        for field in ["username", "name", "email", "role_id", "password"] {
            assert!(errors.get(field).is_some(), "{field}: {errors}");
        }
        let mut form = admin_form();
        form.password_confirm = "another long password".into();
        let errors = form.validate(&[1], true).unwrap_err();
        assert_eq!(
            errors.get("password_confirm"),
            Some("The two passwords differ.")
        );
        form.username = "u".repeat(65);
        let errors = form.validate(&[1], false).unwrap_err();
        assert!(errors.get("username").unwrap().contains("at most 64"));
    }

    #[test]
    fn passwords_need_twelve_printable_characters() {
        assert!(check_new_password("eleven char").is_err());
        assert!(check_new_password("twelve chars").is_ok());
        assert!(check_new_password("tab\tinside a password").is_err());
        assert!(check_new_password(&"p".repeat(1001)).is_err());
    }

    #[test]
    fn role_form_reads_repeated_permissions_and_refuses_unknown_ones() {
        let pairs = |perms: &[&str]| {
            let mut pairs = vec![("name".to_string(), "Support".to_string())];
            pairs.extend(
                perms
                    .iter()
                    .map(|p| ("permission".to_string(), p.to_string())),
            );
            pairs.push(("csrf_token".into(), "x".into()));
            pairs
        };
        let form = RoleForm::from_pairs(&pairs(&["manage_clients", "configure_servers"]));
        assert!(form.has(&Permission::ManageClients));
        assert!(!form.has(&Permission::ManageAdmins));
        let input = form.validate().unwrap();
        assert_eq!(
            input.permissions,
            [Permission::ManageClients, Permission::ConfigureServers]
        );
        let errors = RoleForm::from_pairs(&pairs(&["root"]))
            .validate()
            .unwrap_err();
        assert!(errors.get("permissions").is_some());
    }
}
