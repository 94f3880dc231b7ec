//! What counts as printable text in any field an administrator or a server fills in.

/// A character that is not printable text. Control characters (NUL included) break the
/// database, logs and the WHM calls; line and paragraph separators break a line like `\n`
/// does; the bidirectional overrides and isolates can make one name display as another in a
/// list, so they are refused too.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::is_unprintable;

    #[test]
    fn controls_separators_and_bidi_overrides_are_not_printable() {
        for c in [
            '\0', '\n', '\t', '\u{7f}', '\u{85}', '\u{2028}', '\u{202E}', '\u{2066}',
        ] {
            assert!(is_unprintable(c), "{c:?}");
        }
        for c in ['a', 'é', '’', '<', ' ', '🙂'] {
            assert!(!is_unprintable(c), "{c:?}");
        }
    }
}
