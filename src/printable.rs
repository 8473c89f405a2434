//! Text from outside (the model, a hook, a server) made safe to print and to log.
//!
//! Control characters (C0, DEL, C1) in such text can retitle or clear the user's terminal
//! (`ESC ]0;…`, `ESC c`), and a line break can forge a line (`ok` in `check`, a log entry).
//! What reaches a terminal loses them (`strip`, `one_line`); what reaches a log carries them
//! escaped (`escaped`), so the log still shows what was there. Bidirectional controls (a
//! right-to-left override, U+202E) count as control characters here: they reorder what the
//! terminal shows after them (a file name, the rest of the line) without being seen.

use std::borrow::Cow;

/// A character that must not reach a terminal raw: C0, DEL, C1, and the bidirectional
/// embeddings, overrides, isolates and marks.
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// For printing text meant to have lines (a reply, a transcript): control characters removed,
/// except line breaks and tabs.
pub fn strip(text: &str) -> Cow<'_, str> {
    keep_if(text, |c| !is_control(c) || c == '\n' || c == '\t')
}

/// For printing one line (a `check` line, a header value): line breaks and tabs become spaces,
/// other control characters are removed.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if is_control(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// For a log field or message: control characters written as escapes (`\n`, `\u{1b}`), so
/// the value stays on one line and shows what was there.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn keep_if(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if text.chars().all(&keep) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| keep(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retitle, clear screen, a C1 CSI, a bell, a carriage return and a forged line.
    const HOSTILE: &str = "Hi\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\rok\nFAIL\tx\u{7f}\u{0}";

    #[test]
    fn printing_keeps_lines_and_tabs_only() {
        assert_eq!(strip(HOSTILE), "Hi]0;pwned[2J31mok\nFAIL\tx");
        assert_eq!(one_line(HOSTILE), "Hi]0;pwned[2J31m ok FAIL x");
        assert!(matches!(strip("plain 中文\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn logging_escapes_every_control_character() {
        assert_eq!(
            escaped(HOSTILE),
            "Hi\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{9b}31m\\rok\\nFAIL\\tx\\u{7f}\\u{0}"
        );
        assert!(matches!(escaped("Tiếng Việt"), Cow::Borrowed(_)));
    }

    #[test]
    fn bidi_controls_never_pass() {
        // "evil\u{202e}txt.exe" shows as "evilexe.txt" on a terminal.
        let text = "evil\u{202e}txt.exe \u{2066}a\u{2069} \u{200f}b\u{61c}";
        assert_eq!(strip(text), "eviltxt.exe a b");
        assert_eq!(one_line(text), "eviltxt.exe a b");
        assert_eq!(
            escaped(text),
            "evil\\u{202e}txt.exe \\u{2066}a\\u{2069} \\u{200f}b\\u{61c}"
        );
        // Arabic and Hebrew text itself passes.
        assert!(matches!(strip("שלום مرحبا"), Cow::Borrowed(_)));
    }
}
