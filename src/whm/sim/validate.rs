//! The argument rules of WHM API 1 as cPanel's server applies them (whm-api.md §3), with its
//! exact reason texts (typographic quotes included). Pure functions over the merged
//! arguments; a breach is the `reason` of a `result: 0` answer, and the caller stores nothing.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{LazyLock, Mutex};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::state::World;
pub use super::state::{Text, text};

/// The arguments of one call: name → value (the first value of a repeated name).
pub(super) type Args = BTreeMap<Text, Text>;

/// The `order` of a link or group that has none.
pub const DEFAULT_ORDER: i64 = 99_999;

/// The memory a PNG may take to decode: icons are a few KB, this is far beyond any of them
/// and still keeps a hostile "image" from allocating much.
const PNG_DECODE_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Base64 as cPanel reads it: the standard alphabet, padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A required argument: present (`Provide the “NAME” parameter.`) and not empty
/// (`The value of “NAME” may not be empty.`).
pub(super) fn required<'a>(args: &'a Args, name: &str) -> Result<&'a str, String> {
    match args.get(name) {
        None => Err(format!("Provide the “{name}” parameter.")),
        Some(value) if value.is_empty() => Err(format!("The value of “{name}” may not be empty.")),
        Some(value) => Ok(value),
    }
}

/// Several required arguments, checked in the order given.
pub(super) fn all_required(args: &Args, names: &[&str]) -> Result<(), String> {
    names
        .iter()
        .try_for_each(|name| required(args, name).map(drop))
}

/// The `user` argument, naming an account this caller may manage: one the server has and
/// that is not set to fail (`--fail-users`). The reason depends on `--owner`.
pub(super) fn user<'a>(world: &World, args: &'a Args) -> Result<&'a str, String> {
    let user = required(args, "user")?;
    if !world.accounts.contains_key(user) || world.faults.fail_users.iter().any(|u| u == user) {
        return Err(world.faults.owner.unknown_user(user));
    }
    Ok(user)
}

/// `app` or `group_id`: required, a valid file name (cPanel names a file after it) and not
/// beginning with `group_` (cPanel's own prefix for group files).
pub(super) fn file_name<'a>(args: &'a Args, name: &str) -> Result<&'a str, String> {
    let value = required(args, name)?;
    check_file_name(name, value)?;
    Ok(value)
}

/// The file-name rule of [`file_name`] for a value already known to be present.
pub(super) fn check_file_name(name: &str, value: &str) -> Result<(), String> {
    if value == "." || value == ".." || value.contains(['/', '\0']) {
        return Err(format!("The “{name}” argument is not a valid file name."));
    }
    if value.starts_with("group_") {
        return Err(format!("The “{name}” argument cannot begin with “group_”."));
    }
    Ok(())
}

/// At least one of `url` and `autologin_token_url`, not empty.
pub(super) fn url_or_autologin(args: &Args) -> Result<(), String> {
    let present = |name: &str| args.get(name).is_some_and(|value| !value.is_empty());
    if present("url") || present("autologin_token_url") {
        Ok(())
    } else {
        Err("You must supply one of the following parameters: autologin_token_url url".into())
    }
}

/// `label`, when given, without `'` (cPanel writes it into its language strings).
pub(super) fn label(args: &Args) -> Result<(), String> {
    match args.get("label") {
        Some(label) if label.contains('\'') => {
            Err("The parameter “label” may not contain single-quote characters (').".to_string())
        }
        _ => Ok(()),
    }
}

/// `hide`, when given: the boolean 0 or 1.
pub(super) fn hide(args: &Args) -> Result<(), String> {
    match text(args, "hide") {
        None | Some("0" | "1") => Ok(()),
        Some(_) => Err("The “hide” argument must be 0 or 1.".to_string()),
    }
}

/// `order`, when given: an integer, negative ones included; [`DEFAULT_ORDER`] otherwise.
pub(super) fn order(args: &Args) -> Result<i64, String> {
    match args.get("order") {
        None => Ok(DEFAULT_ORDER),
        Some(order) => order
            .parse()
            .map_err(|_| "The “order” argument must be an integer.".to_string()),
    }
}

/// The `order` of a stored link or group as the page sorts it (stored ones passed [`order`]).
pub(super) fn order_of(stored: Option<&str>) -> i64 {
    stored
        .and_then(|order| order.parse().ok())
        .unwrap_or(DEFAULT_ORDER)
}

/// `group_id` of a link, when given and not empty (empty means none: Preferences).
pub(super) fn link_group(args: &Args) -> Result<(), String> {
    match args.get("group_id") {
        Some(group_id) if !group_id.is_empty() => check_file_name("group_id", group_id),
        _ => Ok(()),
    }
}

/// `base64_png_image`, when given: Base64 (line breaks allowed, as MIME writes it) of an
/// image that really decodes as a PNG.
pub(super) fn png_image(args: &Args) -> Result<(), String> {
    let Some(image) = args.get("base64_png_image") else {
        return Ok(());
    };
    image_verdict_remembered(image).map_err(str::to_string)
}

/// [`image_verdict`], remembered for the last few hundred distinct values: every link of an
/// account carries one of a few icons, and decoding each again (Base64, then the PNG) would
/// make the simulator, not the client, the bottleneck of a benchmark. The verdict is a
/// function of the text, so it is the same either way.
fn image_verdict_remembered(image: &str) -> Result<(), &'static str> {
    type Verdicts = foldhash::HashMap<String, Result<(), &'static str>>;
    static VERDICTS: LazyLock<Mutex<Verdicts>> = LazyLock::new(Default::default);
    let known = VERDICTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(image)
        .copied();
    if let Some(verdict) = known {
        return verdict;
    }
    let verdict = image_verdict(image);
    let mut verdicts = VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    if verdicts.len() >= 256 {
        verdicts.clear();
    }
    verdicts.insert(image.to_string(), verdict);
    verdict
}

/// The `base64_png_image` checks, in cPanel's order and words.
fn image_verdict(image: &str) -> Result<(), &'static str> {
    let compact: String = image.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = BASE64
        .decode(compact)
        .map_err(|_| "“base64_png_image” is not valid Base64.")?;
    if is_png(&bytes) {
        Ok(())
    } else {
        Err("“base64_png_image” is not a valid PNG image.")
    }
}

/// Whether `bytes` decode as a PNG: signature, header, and the first frame's image data.
fn is_png(bytes: &[u8]) -> bool {
    let decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: PNG_DECODE_LIMIT_BYTES,
        },
    );
    let Ok(mut reader) = decoder.read_info() else {
        return false;
    };
    let Some(size) = reader.output_buffer_size() else {
        return false;
    };
    let mut buffer = vec![0; size];
    reader.next_frame(&mut buffer).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Args {
        pairs
            .iter()
            .map(|(name, value)| (Text::from(*name), Text::from(*value)))
            .collect()
    }

    #[test]
    fn file_names_refuse_slashes_dots_nul_and_the_group_prefix() {
        for bad in [".", "..", "a/b", "a\0b"] {
            assert_eq!(
                check_file_name("app", bad),
                Err("The “app” argument is not a valid file name.".to_string())
            );
        }
        assert_eq!(
            check_file_name("group_id", "group_tools"),
            Err("The “group_id” argument cannot begin with “group_”.".to_string())
        );
        assert!(check_file_name("app", "my app-1.x").is_ok());
    }

    #[test]
    fn order_is_any_integer_and_defaults_to_99999() {
        assert_eq!(order(&args(&[])), Ok(DEFAULT_ORDER));
        assert_eq!(order(&args(&[("order", "-3")])), Ok(-3));
        assert!(order(&args(&[("order", "1.5")])).is_err());
        assert_eq!(order_of(None), DEFAULT_ORDER);
    }

    #[test]
    fn an_image_must_be_base64_of_a_real_png() {
        let not_base64 = args(&[("base64_png_image", "not base64!")]);
        assert_eq!(
            png_image(&not_base64),
            Err("“base64_png_image” is not valid Base64.".to_string())
        );
        // The PNG signature alone is no image.
        let signature_only = args(&[("base64_png_image", "iVBORw0KGgo=")]);
        assert_eq!(
            png_image(&signature_only),
            Err("“base64_png_image” is not a valid PNG image.".to_string())
        );
    }
}
