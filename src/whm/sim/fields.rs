//! A request's form fields as the simulator reads them, and a batch's `command` fields kept as
//! they came until each command runs.
//!
//! A `command` is form-encoded twice: its `FUNCTION?ARGS` text is the value of a form field,
//! and ARGS are the call's own form fields. Decoding every command when the request arrives
//! (the outer layer, then the inner one) cost the simulators a fifth of a benchmark's CPU, and
//! it came at the worst moment, when many requests arrive together. So a command keeps its
//! field's encoded text and is read when it runs, one pair at a time: its pairs are the pieces
//! between the encoded separators (`%26`, an `&` once decoded; no escape can span one, so the
//! pieces decode to exactly what the whole would). A piece is decoded once per request, however
//! many commands carry it: most of a link's pairs (its icon, label, URLs, group) are the same
//! in every account's link. All decoding is `form_urlencoded`'s own.

use bytes::Bytes;

use super::validate::{Args, Text};

/// The body's form fields, then the query string's, in one pass: the arguments (the first
/// value of a name wins) and, for a `batch`, every `command` field's value as it came (still
/// encoded), in order.
pub(super) fn read(query: &str, body: &Bytes, is_batch: bool) -> (Args, Vec<Bytes>) {
    let mut args = Args::new();
    let mut commands = Vec::new();
    let query = Bytes::copy_from_slice(query.as_bytes());
    for source in [body, &query] {
        // `form_urlencoded::parse` splits at `&` and skips empty pairs, as here; what differs is
        // that a command's value is kept, not decoded.
        for pair in source.split(|b| *b == b'&').filter(|pair| !pair.is_empty()) {
            let name_end = pair.iter().position(|b| *b == b'=');
            let name = decode(&pair[..name_end.unwrap_or(pair.len())]);
            if is_batch && name == "command" {
                let value = name_end.map_or(&[][..], |end| &pair[end + 1..]);
                commands.push(if value.is_empty() {
                    Bytes::new()
                } else {
                    source.slice_ref(value)
                });
            } else if let Some((name, value)) = form_urlencoded::parse(pair).next() {
                args.entry(Text::from(name))
                    .or_insert_with(|| Text::from(value));
            }
        }
    }
    (args, commands)
}

/// A whole form value decoded (`+` a space, percent escapes, UTF-8 with replacement), by
/// `form_urlencoded` itself: parsed as the value of a field with an empty name.
fn decode(raw: &[u8]) -> String {
    let mut field = Vec::with_capacity(raw.len() + 1);
    field.push(b'=');
    field.extend_from_slice(raw);
    form_urlencoded::parse(&field)
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// The encoded separator of a command's own pairs: `&`, encoded once more.
const SEPARATOR: &[u8] = b"%26";

/// The pieces of a command's encoded text between its separators.
fn pieces(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(raw);
    std::iter::from_fn(move || {
        let text = rest?;
        // A vectorised search: a command's text is mostly its icon, and looking at each of
        // its positions in turn showed in a profile of `bench provision`.
        match memchr::memmem::find(text, SEPARATOR) {
            Some(at) => {
                rest = Some(&text[at + SEPARATOR.len()..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// A request's pieces, decoded: the name and value of the pair each holds.
pub(super) type Decoded = foldhash::HashMap<Bytes, Option<(Text, Text)>>;

/// One `command` field of a batch: `FUNCTION?ARGS`, the function's name decoded when the
/// request arrives (it is counted then), the arguments when the command runs.
pub(super) struct Command {
    /// The field's value as it came.
    raw: Bytes,
    function: String,
    /// The decoded text after the `?`, up to the piece's end: the first pair.
    first: String,
    /// Where the pieces after that first pair start in `raw`.
    rest: usize,
}

impl Command {
    pub(super) fn new(raw: Bytes) -> Self {
        let mut function = String::new();
        let mut first = String::new();
        let mut rest = raw.len();
        let mut offset = 0;
        for (i, piece) in pieces(&raw).enumerate() {
            offset += piece.len() + SEPARATOR.len();
            let text = decode(piece);
            if i > 0 {
                // No `?` yet: the decoded `&` belongs to the function's name.
                function.push('&');
            }
            if let Some((name, pair)) = text.split_once('?') {
                function.push_str(name);
                first = pair.to_string();
                rest = offset.min(raw.len());
                break;
            }
            function.push_str(&text);
        }
        Self {
            raw,
            function,
            first,
            rest,
        }
    }

    pub(super) fn function(&self) -> &str {
        &self.function
    }

    /// The command's own arguments (the first value of a repeated name); pieces come from,
    /// or go to, the request's `decoded`.
    pub(super) fn args(&self, decoded: &mut Decoded) -> Args {
        let mut args = Args::new();
        let mut add = |pair: Option<(Text, Text)>| {
            if let Some((name, value)) = pair {
                args.entry(name).or_insert(value);
            }
        };
        add(pair(self.first.as_bytes()));
        if self.rest < self.raw.len() {
            for piece in pieces(&self.raw[self.rest..]) {
                let known = match decoded.get(piece) {
                    Some(known) => known.clone(),
                    None => {
                        let known = pair(decode(piece).as_bytes());
                        decoded.insert(self.raw.slice_ref(piece), known.clone());
                        known
                    }
                };
                add(known);
            }
        }
        args
    }

    /// The command's `user` argument, if any (the first one).
    pub(super) fn user(&self) -> Option<String> {
        self.args(&mut Decoded::default())
            .remove("user")
            .map(|user| user.to_string())
    }
}

/// The name and value of one decoded pair (`NAME=VALUE`, itself form-encoded); none when it
/// is empty.
fn pair(text: &[u8]) -> Option<(Text, Text)> {
    form_urlencoded::parse(text)
        .next()
        .map(|(name, value)| (Text::from(name), Text::from(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whm::sim::validate::text;

    /// What decoding the whole field, then its `FUNCTION?ARGS`, gives: the reference.
    fn whole(field: &str) -> (String, Args) {
        let value = decode(field.as_bytes());
        let (function, query) = value.split_once('?').unwrap_or((&value, ""));
        let mut args = Args::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            args.entry(Text::from(name)).or_insert(Text::from(value));
        }
        (function.to_string(), args)
    }

    fn encoded(text: &str) -> String {
        form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    #[test]
    fn a_command_read_piece_by_piece_equals_the_whole_decoded_at_once() {
        let icon = "iVBORw0KGgo+/=".repeat(40);
        let inner: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("user", "bob")
            .append_pair("label", "Pay & go = 100% +more é")
            .append_pair("base64_png_image", &icon)
            .append_pair("user", "second")
            .append_pair("odd", "%26 and %2526 and %%26")
            .finish();
        let fields = [
            encoded(&format!("create_integration_link?{inner}")),
            encoded("version"),
            encoded("a&b?x=1"),
            encoded("f?a=1&&b=2&"),
            encoded("list_integration_links?user=al+ice"),
            // Unencoded characters a lenient client may leave: `?`, `=`, `+`, stray `%`.
            "create_integration_link?user=bob%26app=x+y%26z=%%26w=%2".to_string(),
            String::new(),
        ];
        let mut decoded = Decoded::default();
        for field in fields {
            let command = Command::new(Bytes::from(field.clone()));
            let (function, args) = whole(&field);
            assert_eq!(command.function(), function, "{field}");
            assert_eq!(command.args(&mut decoded), args, "{field}");
            // Again, with the pieces now known.
            assert_eq!(command.args(&mut decoded), args, "{field}");
        }
        let icons = decoded
            .values()
            .filter(|pair| {
                pair.as_ref()
                    .is_some_and(|(name, _)| &**name == "base64_png_image")
            })
            .count();
        assert_eq!(icons, 1, "the icon is decoded once");
    }

    #[test]
    fn fields_keep_commands_in_order_and_the_first_value_of_other_names() {
        let body = Bytes::from_static(b"command=version&x=1&&command=b%3Fuser%3Dz&x=2&command");
        let (args, commands) = read("command=q&x=3&y=4", &body, true);
        let functions: Vec<String> = commands
            .into_iter()
            .map(|raw| Command::new(raw).function().to_string())
            .collect();
        assert_eq!(functions, ["version", "b", "", "q"]);
        assert_eq!(text(&args, "x"), Some("1"));
        assert_eq!(text(&args, "y"), Some("4"));
        let (args, commands) = read("", &body, false);
        assert!(commands.is_empty());
        assert_eq!(text(&args, "command"), Some("version"));
    }
}
