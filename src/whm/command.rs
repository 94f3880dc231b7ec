//! One WHM API 1 call as data: [`Command`], a function with its arguments (whm-api.md §3, §5),
//! sent alone (`POST /json-api/FUNCTION`) or as one `command` of a `batch` (§2). Building the
//! arguments here keeps the single calls and the batches in agreement.
//!
//! `Debug` shows the function and the argument names only: values carry link tokens.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::types::CreateLink;

/// From this length on, an argument value's encoding in a batch body is kept for the next
/// commands of the body that carry the same value ([`Command::encode_batch_value`]): an icon,
/// a URL or a label recurs in every account's link, a link token in each of the account's
/// links.
const LONG_VALUE_BYTES: usize = 16;

/// An argument's value. Shared: a value that many commands carry (a link's icon, label and
/// URLs; an account's name and token) is one allocation however many commands hold it
/// ([`LinkTemplate`]), and a batch body encodes it once.
pub type Text = Arc<str>;

/// The arguments of one call, in the order sent.
pub(super) type Args = Vec<(&'static str, Text)>;

/// The encodings a batch body has made of its long values, by value (its address and
/// length: every command of the body is alive while the body is encoded, so an address
/// names one value).
pub(super) type Encodings = HashMap<(usize, usize), String>;

/// One call: a function and its arguments.
#[derive(Clone)]
pub struct Command {
    function: &'static str,
    args: Args,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.args.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Command")
            .field("function", &self.function)
            .field("args", &names)
            .finish()
    }
}

impl Command {
    fn new(function: &'static str, args: Args) -> Self {
        Self { function, args }
    }

    /// The WHM function called.
    pub fn function(&self) -> &'static str {
        self.function
    }

    pub(super) fn args(&self) -> &Args {
        &self.args
    }

    /// `FUNCTION?ARGS`, the value of one `command` field of a batch: the call's own
    /// form-encoded arguments, `api.version=1` first (whm-api.md §2).
    /// (The batch body is encoded by [`Command::encode_batch_value`]; this is its reference.)
    #[cfg(test)]
    pub(super) fn batch_value(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("api.version", "1");
        for (name, value) in &self.args {
            query.append_pair(name, value);
        }
        format!("{}?{}", self.function, query.finish())
    }

    /// Appends [`Command::batch_value`] form-encoded (as the value of a body field) to `out`.
    /// `long` keeps the encodings of long argument values across the commands of a body: the
    /// same few icons, URLs and labels travel with every account's links.
    pub(super) fn encode_batch_value(&self, out: &mut String, long: &mut Encodings) {
        // Encoding goes byte by byte, so the value's encoding is its pieces' encodings one
        // after another: the separators and the function name are encoded once (as part of
        // the field value), names and values twice (as arguments, then as part of the value).
        fn once(out: &mut String, raw: &str) {
            out.extend(form_urlencoded::byte_serialize(raw.as_bytes()));
        }
        fn twice(out: &mut String, raw: &str) {
            for piece in form_urlencoded::byte_serialize(raw.as_bytes()) {
                once(out, piece);
            }
        }
        once(out, self.function);
        once(out, "?api.version=1");
        for (name, value) in &self.args {
            once(out, "&");
            twice(out, name);
            once(out, "=");
            if value.len() >= LONG_VALUE_BYTES {
                let key = (value.as_ptr() as usize, value.len());
                let encoded = long.entry(key).or_insert_with(|| {
                    let mut encoded = String::new();
                    twice(&mut encoded, value);
                    encoded
                });
                out.push_str(encoded);
            } else {
                twice(out, value);
            }
        }
    }

    /// About the bytes this command adds to a batch body (its value is encoded once more
    /// there): what a caller sizes its batches by.
    pub fn batch_len(&self) -> usize {
        let raw: usize = self
            .args
            .iter()
            .map(|(name, value)| name.len() + value.len() + 2)
            .sum();
        // Encoding twice turns a reserved byte into up to 7; arguments are mostly plain.
        self.function.len() + 32 + raw + raw / 4
    }

    pub fn version() -> Self {
        Self::new("version", Vec::new())
    }

    pub fn listaccts() -> Self {
        Self::new("listaccts", Vec::new())
    }

    /// `create_integration_link`; optional arguments that are empty are left out.
    pub fn create_integration_link(link: &CreateLink) -> Self {
        Self::create_integration_link_from(link.clone())
    }

    /// [`Command::create_integration_link`], taking the link's values instead of copying them
    /// (a job plans thousands of links).
    pub fn create_integration_link_from(link: CreateLink) -> Self {
        let CreateLink {
            user,
            app,
            implements,
            label,
            subscriber_unique_id,
            token,
            autologin_token_url,
            url,
            group_id,
            order,
            hide,
            base64_png_image,
        } = link;
        let mut args: Args = vec![("user", user.into()), ("app", app.into())];
        let optional = [
            ("implements", Some(implements)),
            ("label", Some(label)),
            ("subscriber_unique_id", Some(subscriber_unique_id)),
            ("autologin_token_url", autologin_token_url),
            ("url", url),
            ("group_id", group_id),
            ("order", order),
            ("base64_png_image", base64_png_image),
        ];
        for (name, value) in optional {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                args.push((name, value.into()));
            }
        }
        let token = token.expose_secret();
        if !token.is_empty() {
            args.push(("token", token.into()));
        }
        args.push(("hide", if hide { "1" } else { "0" }.into()));
        Self::new("create_integration_link", args)
    }

    pub fn remove_integration_link(user: &str, app: &str) -> Self {
        Self::new(
            "remove_integration_link",
            vec![("user", user.into()), ("app", app.into())],
        )
    }

    pub fn list_integration_links(user: &str) -> Self {
        Self::new("list_integration_links", vec![("user", user.into())])
    }

    pub fn get_integration_link_user_config(user: &str, app: &str) -> Self {
        Self::new(
            "get_integration_link_user_config",
            vec![("user", user.into()), ("app", app.into())],
        )
    }

    pub fn update_integration_link_token(user: &str, app: &str, token: &SecretString) -> Self {
        Self::new(
            "update_integration_link_token",
            vec![
                ("user", user.into()),
                ("app", app.into()),
                ("token", token.expose_secret().into()),
            ],
        )
    }

    /// `create_integration_group`; an empty `label` is left out (cPanel then shows the id).
    pub fn create_integration_group(user: &str, group_id: &str, label: &str, order: i64) -> Self {
        let mut args = vec![("user", user.into()), ("group_id", group_id.into())];
        if !label.is_empty() {
            args.push(("label", label.into()));
        }
        args.push(("order", order.to_string().into()));
        Self::new("create_integration_group", args)
    }

    pub fn list_integration_groups(user: &str) -> Self {
        Self::new("list_integration_groups", vec![("user", user.into())])
    }

    pub fn remove_integration_group(user: &str, group_id: &str) -> Self {
        Self::new(
            "remove_integration_group",
            vec![("user", user.into()), ("group_id", group_id.into())],
        )
    }

    pub fn get_users_links(user: &str) -> Self {
        Self::new("get_users_links", vec![("user", user.into())])
    }
}

/// A link's `create_integration_link` with the values every account's copy of it shares
/// (label, URLs, icon…), built once: [`LinkTemplate::command`] adds an account's own `user`,
/// `subscriber_unique_id` and `token`, sharing the rest instead of copying it.
#[derive(Debug, Clone)]
pub struct LinkTemplate(Command);

impl LinkTemplate {
    /// `link`'s shared values; its `user`, `subscriber_unique_id` and `token` are ignored.
    pub fn new(mut link: CreateLink) -> Self {
        // Placeholders keep those arguments' places in the order sent.
        link.user = "-".into();
        link.subscriber_unique_id = "-".into();
        link.token = SecretString::from("-");
        Self(Command::create_integration_link_from(link))
    }

    /// Makes the equal argument values of `templates` one shared value each (the links of a
    /// group carry the same icon), so that a batch body, which remembers encodings by value,
    /// encodes each of them once.
    pub fn share_values(templates: &mut [LinkTemplate]) {
        let mut seen: HashSet<Text> = HashSet::new();
        for (_, value) in templates.iter_mut().flat_map(|t| t.0.args.iter_mut()) {
            match seen.get(value) {
                Some(shared) => *value = shared.clone(),
                None => {
                    seen.insert(value.clone());
                }
            }
        }
    }

    /// The command for one account: [`Command::create_integration_link`] of the template's
    /// link with these three values (an empty `token` is left out, as there).
    pub fn command(&self, user: &Text, subscriber_unique_id: &Text, token: &Text) -> Command {
        let args = self
            .0
            .args
            .iter()
            .filter_map(|(name, value)| {
                let value = match *name {
                    "user" => user,
                    "subscriber_unique_id" => subscriber_unique_id,
                    "token" if token.is_empty() => return None,
                    "token" => token,
                    _ => value,
                };
                Some((*name, value.clone()))
            })
            .collect();
        Command::new(self.0.function, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_value_is_the_function_and_its_encoded_arguments() {
        let command = Command::remove_integration_link("bob", "applinks_a&b");
        assert_eq!(
            command.batch_value(),
            "remove_integration_link?api.version=1&user=bob&app=applinks_a%26b"
        );
        assert!(command.batch_len() >= command.batch_value().len());
    }

    #[test]
    fn a_command_encoded_into_a_batch_body_is_its_batch_value_encoded_as_a_field() {
        let link = CreateLink {
            user: "bob".into(),
            app: "applinks_a&b=c".into(),
            implements: "Support".into(),
            label: "Support & Tickets 100% ünïcode + more/less?".into(),
            subscriber_unique_id: "42".into(),
            token: SecretString::from("t0k+en/=".to_string()),
            autologin_token_url: Some("https://billing.example/sso/cpanel/a?b=c&d".into()),
            url: None,
            group_id: Some("applinks".into()),
            order: Some("3".into()),
            hide: false,
            base64_png_image: Some(format!("iVBORw0KGgo+/AAA={}", "Ab+/".repeat(100))),
        };
        for command in [
            Command::create_integration_link(&link),
            Command::remove_integration_link("bob", "applinks_x"),
        ] {
            let mut long = HashMap::new();
            let mut encoded = String::new();
            command.encode_batch_value(&mut encoded, &mut long);
            // Again, with the long values' encodings remembered from the first time.
            let mut again = String::new();
            command.encode_batch_value(&mut again, &mut long);
            assert_eq!(again, encoded);
            let expected: String =
                form_urlencoded::byte_serialize(command.batch_value().as_bytes()).collect();
            assert_eq!(encoded, expected);
            assert!(command.batch_len() >= encoded.len() / 2);
        }
    }

    #[test]
    fn a_link_from_its_template_is_the_link_built_alone() {
        let link = |user: &str, id: &str, token: &str| CreateLink {
            user: user.into(),
            app: "applinks_a".into(),
            implements: "support".into(),
            label: "Support & more".into(),
            subscriber_unique_id: id.into(),
            token: SecretString::from(token.to_string()),
            autologin_token_url: Some("https://billing.example/sso/cpanel/a".into()),
            url: Some("https://billing.example/a".into()),
            group_id: Some("applinks".into()),
            order: Some("3".into()),
            hide: false,
            base64_png_image: Some("iVBORw0KGgo+/AAA=".into()),
        };
        let template = LinkTemplate::new(link("", "", "secret"));
        for (user, id, token) in [("bob", "42", "t0k+en/="), ("al ice", "7", "")] {
            let alone = Command::create_integration_link(&link(user, id, token));
            let built = template.command(&user.into(), &id.into(), &token.into());
            assert_eq!(built.batch_value(), alone.batch_value(), "{user}");
        }
        // Two links with the same icon share it once their templates share their values.
        let mut other = link("", "", "secret");
        other.app = "applinks_b".into();
        let mut templates = [template, LinkTemplate::new(other)];
        let icon = |t: &LinkTemplate| {
            let (_, value) =
                t.0.args
                    .iter()
                    .find(|(n, _)| *n == "base64_png_image")
                    .unwrap();
            value.clone()
        };
        assert!(!Arc::ptr_eq(&icon(&templates[0]), &icon(&templates[1])));
        LinkTemplate::share_values(&mut templates);
        assert!(Arc::ptr_eq(&icon(&templates[0]), &icon(&templates[1])));
        let before = Command::create_integration_link(&link("bob", "42", "t"));
        let after = templates[0].command(&"bob".into(), &"42".into(), &"t".into());
        assert_eq!(after.batch_value(), before.batch_value());
    }

    #[test]
    fn debug_shows_no_argument_values() {
        let token = SecretString::from("s3cret-token".to_string());
        let command = Command::update_integration_link_token("bob", "applinks_x", &token);
        let shown = format!("{command:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("token"));
    }
}
