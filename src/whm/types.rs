//! Wire types of WHM API 1 (whm-api.md §1–§3): the answer envelope, the `data` shapes of the
//! functions applinks calls, and the arguments of `create_integration_link`.
//!
//! Shared by the client and the simulator, so both sides agree on one spelling. No I/O here.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

/// Every answer of WHM API 1: `{"metadata": {…}, "data": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub metadata: Metadata,
    #[serde(default = "Option::default")]
    pub data: Option<T>,
}

/// `metadata` of an answer; `result` is 1 on success, 0 with the reason in `reason` otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub reason: String,
    #[serde(
        deserialize_with = "bool_from_int_or_bool",
        serialize_with = "bool_as_int"
    )]
    pub result: bool,
    #[serde(default)]
    pub version: u32,
}

impl Metadata {
    /// The metadata of an answer to `command`; `result` is serialized as 1 or 0 as cPanel does.
    pub fn new(command: &str, ok: bool, reason: &str) -> Self {
        Self {
            command: command.to_string(),
            reason: reason.to_string(),
            result: ok,
            version: 1,
        }
    }
}

/// One account of `listaccts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub domain: String,
    /// As cPanel lists it: one address, several (`a@x.test, b@y.test`), `*unknown*`, empty,
    /// or null.
    #[serde(default, deserialize_with = "string_or_null")]
    pub email: String,
    /// cPanel answers 0 or 1 here.
    #[serde(
        default,
        deserialize_with = "bool_from_int_or_bool",
        serialize_with = "bool_as_int"
    )]
    pub suspended: bool,
}

/// `data` of `listaccts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListAcctsData {
    #[serde(default)]
    pub acct: Vec<Account>,
}

/// `data` of `version`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionData {
    pub version: String,
}

/// One entry of `list_integration_links`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppEntry {
    pub app: String,
}

/// `data` of `list_integration_links`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinksData {
    #[serde(default)]
    pub links: Vec<AppEntry>,
}

impl LinksData {
    /// The app names listed.
    pub fn apps(self) -> Vec<String> {
        self.links.into_iter().map(|entry| entry.app).collect()
    }
}

/// `data` of `batch` (whm-api.md §2): one envelope per command, in the order sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchData {
    #[serde(default)]
    pub result: Vec<Envelope<serde_json::Value>>,
}

/// One entry of `list_integration_groups` (cPanel names the list `links` here too).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupEntry {
    pub group: String,
}

/// `data` of `list_integration_groups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupsData {
    #[serde(default)]
    pub links: Vec<GroupEntry>,
}

/// A link as `get_integration_link_user_config` answers it: its stored user config (the
/// token is never returned). The server does not repeat `app` and `user`; the client fills
/// them in from its own arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserConfig {
    #[serde(default)]
    pub app: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub hide: Option<String>,
    #[serde(default)]
    pub implements: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub subscriber_unique_id: Option<String>,
    #[serde(default)]
    pub autologin_token_url: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub base64_png_image: Option<String>,
}

/// `data` of `get_integration_link_user_config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserConfigData {
    pub userconfig: UserConfig,
}

/// The arguments of `create_integration_link` (whm-api.md §3, §5). Creating the same `app`
/// again replaces the link. The client leaves out optional arguments that are empty.
#[derive(Clone)]
pub struct CreateLink {
    pub user: String,
    /// `applinks_<linkkey>`: letters, digits and `_` only (the server takes any file name
    /// that does not begin with `group_`).
    pub app: String,
    /// `billing`, `customer_service`, `support` or `upgrade`; optional (empty: left out).
    pub implements: String,
    /// What the customer sees, never containing `'`; optional (empty: cPanel shows `app`).
    pub label: String,
    /// The account's id in applinks; optional (empty: left out).
    pub subscriber_unique_id: String,
    /// The account's link secret; cPanel posts it back to `autologin_token_url`. Optional
    /// (empty: left out).
    pub token: SecretString,
    pub autologin_token_url: Option<String>,
    /// Where cPanel sends the browser when autologin does not answer.
    pub url: Option<String>,
    /// The group the link sits in (`applinks`); none: cPanel's *Preferences*.
    pub group_id: Option<String>,
    /// Position within the application: an integer, as a string (cPanel's default 99999).
    pub order: Option<String>,
    pub hide: bool,
    /// Base64 of a PNG icon; none: cPanel shows a generic icon.
    pub base64_png_image: Option<String>,
}

impl std::fmt::Debug for CreateLink {
    // By hand, so that the image (long) and the token (secret) stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateLink")
            .field("user", &self.user)
            .field("app", &self.app)
            .field("implements", &self.implements)
            .field("label", &self.label)
            .field("subscriber_unique_id", &self.subscriber_unique_id)
            .field("token", &"[redacted]")
            .field("autologin_token_url", &self.autologin_token_url)
            .field("url", &self.url)
            .field("group_id", &self.group_id)
            .field("order", &self.order)
            .field("hide", &self.hide)
            .field(
                "base64_png_image",
                &self.base64_png_image.as_ref().map(|image| image.len()),
            )
            .finish()
    }
}

/// cPanel writes booleans as 0/1 (sometimes as strings); accept those and JSON booleans.
fn bool_from_int_or_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flexible {
        Bool(bool),
        Int(i64),
        Str(String),
    }
    match Flexible::deserialize(deserializer)? {
        Flexible::Bool(value) => Ok(value),
        Flexible::Int(value) => Ok(value != 0),
        Flexible::Str(value) => Ok(!matches!(value.trim(), "" | "0" | "false")),
    }
}

/// A text field that a server may answer as null: read as empty.
fn string_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

fn bool_as_int<S: serde::Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u8(u8::from(*value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_account_with_null_text_fields_reads_as_empty() {
        let account: Account = serde_json::from_str(
            r#"{"user": "bob", "domain": null, "email": null, "suspended": "1"}"#,
        )
        .unwrap();
        assert_eq!(account.email, "");
        assert_eq!(account.domain, "");
        assert!(account.suspended);
    }
}
