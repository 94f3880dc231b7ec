//! Typed ids: a server's id is not a client's, and the compiler says so. Each wraps the
//! database's key (`bigint`, or the operation's `uuid`); serde sees the bare number, so a
//! job's JSON, a session's value and a route's path segment keep their form, and `Display`
//! and `FromStr` are the key's (a command line's argument parses as before). How they are
//! stored is `db::types`' business (domain stays free of sqlx).

use std::fmt;
use std::str::FromStr;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = <$inner as FromStr>::Err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id!(
    /// A WHM server (`servers.id`).
    ServerId(i64)
);
id!(
    /// A client (`clients.id`).
    ClientId(i64)
);
id!(
    /// A hosting account (`accounts.id`).
    AccountId(i64)
);
id!(
    /// A provisioning operation (`operations.id`).
    OperationId(uuid::Uuid)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_the_bare_key_on_the_wire_and_in_text() {
        assert_eq!(serde_json::to_string(&ServerId(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<ClientId>("7").unwrap(), ClientId(7));
        let raw = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let op: OperationId = raw.parse().unwrap();
        assert_eq!(serde_json::to_string(&op).unwrap(), format!("\"{raw}\""));
        assert_eq!(op.to_string(), raw);
        assert_eq!(AccountId(5).to_string(), "5");
        assert_eq!("12".parse::<AccountId>(), Ok(AccountId(12)));
        assert!("12x".parse::<AccountId>().is_err());
        assert!(serde_json::from_str::<ServerId>("\"a\"").is_err());
    }
}
