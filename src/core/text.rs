//! The one rule for text a caller sends, and the one way a caller's text is quoted back.
//!
//! Text that reaches the ledger holds no control characters (NUL, escape, DEL, C1), so SQLite and
//! PostgreSQL store exactly the same strings (PostgreSQL refuses NUL in `TEXT`); free text such
//! as a name or a description may hold line feeds and tabs. A value quoted in a message or kept
//! in the audit log is cut to [`QUOTE_CHARS`] characters, so a huge argument never comes back
//! at full size.

/// Characters of a caller's value a message or an audit entry repeats.
pub const QUOTE_CHARS: usize = 64;

/// Whether `c` may appear in a caller's text: no control characters, except line feed and tab
/// where `multiline` (free text).
pub fn allowed(c: char, multiline: bool) -> bool {
    !c.is_control() || (multiline && (c == '\n' || c == '\t'))
}

/// Check `value` of argument `field`: at most `max` characters (code points, as JSON schema's
/// `maxLength` counts them) and no control characters (line feeds and tabs allowed when
/// `multiline`). The error names the field and says what to send instead.
pub fn check(value: &str, field: &str, max: usize, multiline: bool) -> Result<(), String> {
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "{field} must be at most {max} characters (got {count}); shorten it"
        ));
    }
    if let Some((at, c)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !allowed(*c, multiline))
    {
        let also = if multiline {
            " (line feeds and tabs are fine)"
        } else {
            ""
        };
        return Err(format!(
            "{field} may not contain the control character {} (at character {at}); remove it{also}",
            c.escape_unicode()
        ));
    }
    Ok(())
}

/// A caller's value as a message repeats it: the first [`QUOTE_CHARS`] characters, control
/// characters shown as `\u{…}`, and `…` when something was cut.
pub fn quote(value: &str) -> String {
    cut(value, QUOTE_CHARS)
}

/// The start of `value` in at most `chars` characters as shown, control characters shown as
/// `\u{…}` (each escape counts as the characters it shows), and `…` when something was cut: for
/// a message that may carry a caller's value somewhere inside.
pub fn cut(value: &str, chars: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for c in value.chars() {
        let piece: String = if allowed(c, false) {
            c.to_string()
        } else {
            c.escape_unicode().collect()
        };
        let width = piece.chars().count();
        if shown + width > chars {
            out.push('…');
            break;
        }
        out.push_str(&piece);
        shown += width;
    }
    out
}

/// A value as a record keeps it: unchanged when it is short and clean, else its quote and its
/// size (`zzzz… (10485760 bytes)`), never longer than about 420 bytes and never with a control
/// character.
pub fn summary(value: &str) -> String {
    let clean = value.chars().all(|c| allowed(c, false));
    if clean && value.chars().count() <= QUOTE_CHARS {
        return value.to_string();
    }
    format!("{} ({} bytes)", quote(value), value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_counts_the_escapes_it_shows() {
        let nuls = "\u{0}".repeat(300);
        let shown = cut(&nuls, 64);
        assert!(shown.chars().count() <= 65, "{shown}");
        assert!(shown.ends_with('…'));
        assert_eq!(cut("abc", 64), "abc");
        assert_eq!(cut("abcdef", 3), "abc…");
    }

    #[test]
    fn control_characters_are_refused_with_the_field_named() {
        let e = check("a\0b", "name", 500, true).unwrap_err();
        assert!(e.starts_with("name may not contain"), "{e}");
        assert!(e.contains("\\u{0}"), "{e}");
        assert!(check("line\nnext\tcol", "name", 500, true).is_ok());
        assert!(check("line\nnext", "starting_after", 128, false).is_err());
        assert!(check("\u{7f}", "x", 10, true).is_err());
        assert!(check("\u{85}", "x", 10, true).is_err());
        assert!(check("Zoë – café", "x", 10, false).is_ok());
    }

    #[test]
    fn length_counts_characters() {
        assert!(check(&"é".repeat(500), "name", 500, true).is_ok());
        let e = check(&"é".repeat(501), "name", 500, true).unwrap_err();
        assert!(e.contains("at most 500 characters (got 501)"), "{e}");
    }

    #[test]
    fn quotes_and_summaries_are_short_and_clean() {
        assert_eq!(quote("acme"), "acme");
        let big = "z".repeat(1 << 20);
        assert_eq!(quote(&big), format!("{}…", "z".repeat(QUOTE_CHARS)));
        assert_eq!(quote("a\0b"), "a\\u{0}b");
        assert_eq!(summary("acme"), "acme");
        assert_eq!(
            summary(&big),
            format!("{}… (1048576 bytes)", "z".repeat(QUOTE_CHARS))
        );
        assert_eq!(summary("a\0"), "a\\u{0} (2 bytes)");
        assert!(summary(&"\0".repeat(1000)).len() < 600);
    }
}
