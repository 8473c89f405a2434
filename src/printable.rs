//! Text from outside (the model, a hook, a server) made safe to print and to log.
//!
//! Control characters (C0, DEL, C1) in such text can retitle or clear the user's terminal
//! (`ESC ]0;…`, `ESC c`), and a line break can forge a line (`ok` in `check`, a log entry).
//! What reaches a terminal loses them (`strip`, `one_line`); what reaches a log carries them
//! escaped (`escaped`), so the log still shows what was there.

use std::borrow::Cow;

/// For printing text meant to have lines (a reply, a transcript): control characters removed,
/// except line breaks and tabs.
pub fn strip(text: &str) -> Cow<'_, str> {
    keep_if(text, |c| !c.is_control() || c == '\n' || c == '\t')
}

/// For printing one line (a `check` line, a header value): line breaks and tabs become spaces,
/// other control characters are removed.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// For a log field or message: control characters written as escapes (`\n`, `\u{1b}`), so
/// the value stays on one line and shows what was there.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
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
}
