//! Hosting accounts: their status and the cPanel username rule (SPEC §5).

use std::fmt;

/// cPanel's longest username on servers that raise its default limit of 16.
pub const MAX_USERNAME_CHARS: usize = 32;

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

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
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
    fn statuses_parse_from_their_keys_only() {
        for s in AccountStatus::ALL {
            assert_eq!(AccountStatus::parse(s.key()), Some(s));
        }
        assert_eq!(AccountStatus::parse("Active"), None);
    }
}
