//! Making text from outside (file names and contents of the scanned tree, advisory data,
//! responses of probed services) safe to show to a person.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal or a log as itself: control characters (C0
/// including ESC, DEL, C1), line breaks of any kind, and the bidirectional overrides and
/// isolates that reorder what a reader sees.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every character that could recolour, hide, reorder or break a line of the
/// output shown escaped instead of obeyed: `\n`, `\r`, `\t`, and `\u{1b}`-style escapes for
/// the rest. A name with a newline stays on its line, so it cannot forge a line of its own
/// (a `::error` workflow command in a CI log, a fake finding). Borrowed when nothing needs
/// escaping, which is nearly always.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_breaks_and_bidi_are_shown_not_obeyed() {
        assert!(matches!(escape("requirements.txt"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\u{1b}[8mb\nc\r\td\u{7f}\u{9b}e\u{202e}f\u{2028}"),
            "a\\u{1b}[8mb\\nc\\r\\td\\u{7f}\\u{9b}e\\u{202e}f\\u{2028}"
        );
        assert_eq!(escape("x\n::error::forged"), "x\\n::error::forged");
        assert_eq!(escape("żółw ✓"), "żółw ✓");
    }
}
