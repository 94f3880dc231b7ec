//! Permissions (SPEC §4) and the built-in role.

use std::fmt;
use std::str::FromStr;

/// Name of the built-in role that holds every permission and cannot be changed.
pub const FULL_ADMINISTRATOR: &str = "Full Administrator";

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ConfigureApplicationLinks,
    ConfigureServers,
    ManageClients,
    ManageAdmins,
}

impl Permission {
    pub const ALL: [Permission; 4] = [
        Permission::ConfigureApplicationLinks,
        Permission::ConfigureServers,
        Permission::ManageClients,
        Permission::ManageAdmins,
    ];

    /// The stable key stored in the database and used on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Permission::ConfigureApplicationLinks => "configure_application_links",
            Permission::ConfigureServers => "configure_servers",
            Permission::ManageClients => "manage_clients",
            Permission::ManageAdmins => "manage_admins",
        }
    }

    /// The name an administrator reads.
    pub fn label(self) -> &'static str {
        match self {
            Permission::ConfigureApplicationLinks => "Configure Application Links",
            Permission::ConfigureServers => "Configure Servers",
            Permission::ManageClients => "Manage Clients",
            Permission::ManageAdmins => "Manage Admins",
        }
    }

    /// One line on what the permission opens, beside its box on the role form.
    pub fn explanation(self) -> &'static str {
        match self {
            Permission::ConfigureApplicationLinks => {
                "Setup › Application Links: switch cPanel and WP Squared links on or off, choose and order the links, read the log."
            }
            Permission::ConfigureServers => {
                "Servers: add, edit, test and remove WHM servers, import their accounts."
            }
            Permission::ManageClients => {
                "Clients: clients, their users and single sign-on, hosting accounts, resetting an account's SSO token."
            }
            Permission::ManageAdmins => {
                "Setup › Administrators and Roles: add, edit and disable administrators, set their passwords, define roles."
            }
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// An unknown permission key.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown permission `{0}`; known: configure_application_links, configure_servers, manage_clients, manage_admins"
)]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.key() == s)
            .ok_or_else(|| UnknownPermission(s.to_string()))
    }
}

/// The permissions an administrator's role grants.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub built_in: bool,
    pub permissions: Vec<Permission>,
}

impl Grants {
    /// The built-in role has every permission, whatever is stored for it.
    pub fn allows(&self, permission: Permission) -> bool {
        self.built_in || self.permissions.contains(&permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.key().parse::<Permission>().unwrap(), p);
        }
        assert!("root".parse::<Permission>().is_err());
    }

    #[test]
    fn built_in_role_allows_everything() {
        let full = Grants {
            built_in: true,
            permissions: vec![],
        };
        let restricted = Grants {
            built_in: false,
            permissions: vec![Permission::ManageClients],
        };
        assert!(full.allows(Permission::ConfigureApplicationLinks));
        assert!(!restricted.allows(Permission::ConfigureApplicationLinks));
        assert!(restricted.allows(Permission::ManageClients));
    }
}
