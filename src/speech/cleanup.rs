//! Text for the ear: strips what LLMs emit and TTS engines read badly (markdown, code, URLs,
//! emoji, repeated punctuation) and neutralises what espeak-ng would misparse.
//!
//! Pure and line-oriented: line breaks survive (collapsed to one) because the sentence splitter
//! treats them as boundaries between list items.

/// What is said instead of a code block or a long piece of inline code.
const CODE_OMITTED: &str = "Code omitted.";
/// Inline code up to this many characters is read as text (`ls`, `cargo build`).
const INLINE_CODE_KEEP: usize = 24;

/// Cleans a reply for speech. Never panics; the result has no leading/trailing whitespace.
pub fn for_speech(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut in_fence = false;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            if !in_fence {
                lines.push(CODE_OMITTED.to_string());
            }
            in_fence = !in_fence;
            continue;
        }
        if in_fence || is_table_rule(trimmed) || is_horizontal_rule(trimmed) {
            continue;
        }
        let line = clean_line(strip_line_marker(trimmed));
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines.join("\n")
}

/// Removes a heading, bullet, number or quote marker at the start of a line.
fn strip_line_marker(line: &str) -> &str {
    let mut s = line;
    // Quotes may nest ("> > text").
    while let Some(rest) = s.strip_prefix('>') {
        s = rest.trim_start();
    }
    let hashes = s.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) && s[hashes..].starts_with([' ', '\t']) {
        return s[hashes..].trim_start();
    }
    for bullet in ["- ", "* ", "+ ", "• ", "· ", "‣ "] {
        if let Some(rest) = s.strip_prefix(bullet) {
            return strip_checkbox(rest.trim_start());
        }
    }
    // "1. ", "12) "
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &s[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return r.trim_start();
        }
    }
    s
}

fn strip_checkbox(s: &str) -> &str {
    for b in ["[ ] ", "[x] ", "[X] "] {
        if let Some(rest) = s.strip_prefix(b) {
            return rest;
        }
    }
    s
}

/// `|---|:--:|` separates a markdown table's header from its rows.
fn is_table_rule(line: &str) -> bool {
    line.contains('-') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn is_horizontal_rule(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3
        && (t.chars().all(|c| c == '-')
            || t.chars().all(|c| c == '*')
            || t.chars().all(|c| c == '_'))
}

/// Cleans the inside of one line.
fn clean_line(line: &str) -> String {
    let s = inline_code(line);
    let s = links(&s);
    let s = urls(&s);
    let s = symbols(&s);
    let s = repeated_punctuation(&s);
    // Words are split on any whitespace (tabs, ideographic spaces) before looking at dashes.
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let s = leading_dashes(&s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `` `x` `` → x when short, else "Code omitted."; an unpaired backtick is dropped.
fn inline_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let after = rest[open..].trim_start_matches('`');
        let ticks = rest[open..].len() - after.len();
        let fence = &rest[open..open + ticks];
        match after.find(fence) {
            Some(close) => {
                let code = after[..close].trim();
                if code.chars().count() <= INLINE_CODE_KEEP {
                    out.push_str(code);
                } else {
                    out.push_str(CODE_OMITTED);
                }
                rest = &after[close + ticks..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// `[text](url)` and `![alt](url)` → text; other brackets are dropped later.
fn links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let (before, from) = rest.split_at(open);
        out.push_str(before.strip_suffix('!').unwrap_or(before));
        let Some(close) = from.find("](") else {
            out.push_str(from);
            return out;
        };
        let label = &from[1..close];
        let target = &from[close + 2..];
        match target.find(')') {
            Some(end) if !label.contains('[') => {
                out.push_str(label);
                rest = &target[end + 1..];
            }
            _ => {
                out.push('[');
                rest = &from[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A bare URL is read as its host ("example.com"), or "link" when it has none.
fn urls(s: &str) -> String {
    s.split(' ')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let body = ["https://", "http://", "ftp://", "www."]
                .iter()
                .find_map(|p| lower.starts_with(p).then(|| &word[p.len()..]));
            match body {
                None => word.to_string(),
                Some(body) => {
                    // Keep punctuation that ends the sentence after the URL.
                    let trail: String = word
                        .chars()
                        .rev()
                        .take_while(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | ')'))
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    let host = body
                        .split(['/', '?', '#', ':'])
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("www.")
                        .trim_end_matches(['.', ',', '!', '?', ';', ')']);
                    let host = if host.is_empty() { "link" } else { host };
                    format!("{host}{trail}")
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops markdown emphasis, brackets, pipes and pictographs.
fn symbols(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        match c {
            '*' | '~' => {}
            // `_` is emphasis at a word edge; inside a word (snake_case) it is a space.
            '_' => {
                let inner = prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric);
                if inner {
                    out.push(' ');
                }
            }
            // espeak-ng reads `[[...]]` as phonemes; brackets add nothing to speech.
            '[' | ']' | '{' | '}' => {}
            // Table cells and pipes become a pause.
            '|' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                if !out.is_empty() && !out.ends_with(',') {
                    out.push(',');
                }
                out.push(' ');
            }
            // Arrows ("->", "=>", "<-") are decoration.
            '-' | '=' if next == Some('>') || prev == Some('<') => out.push(' '),
            '<' | '>' if is_arrowish(prev, next) => out.push(' '),
            _ if is_pictograph(c) => {}
            _ => out.push(c),
        }
    }
    out
}

fn is_arrowish(prev: Option<char>, next: Option<char>) -> bool {
    matches!(prev, Some('-' | '=' | '<')) || matches!(next, Some('-' | '=' | '>'))
}

/// Emoji and other pictographs, with their joiners, selectors and skin-tone modifiers.
fn is_pictograph(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF   // mahjong, cards, emoji, symbols & pictographs, skin tones, flags
        | 0x2600..=0x27BF   // misc symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows, stars
        | 0x2190..=0x21FF   // arrows
        | 0x2300..=0x23FF   // technical (⌚ ⏰)
        | 0x25A0..=0x25FF   // geometric shapes
        | 0xFE00..=0xFE0F   // variation selectors
        | 0x200D            // zero-width joiner
        | 0x20E3            // keycap
        | 0xE0020..=0xE007F // tag characters
    )
}

/// "!!!" → "!", "?!" → "?", "。。" → "。", ",,," → ","; four or more dots → "...".
fn repeated_punctuation(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '!' | '?' | '！' | '？' => {
                let mut question = matches!(c, '?' | '？');
                while let Some(&n) = chars.peek() {
                    if !matches!(n, '!' | '?' | '！' | '？') {
                        break;
                    }
                    question |= matches!(n, '?' | '？');
                    chars.next();
                }
                let full = !c.is_ascii();
                out.push(match (question, full) {
                    (true, false) => '?',
                    (true, true) => '？',
                    (false, false) => '!',
                    (false, true) => '！',
                });
            }
            '.' => {
                let mut n = 1;
                while chars.peek() == Some(&'.') {
                    chars.next();
                    n += 1;
                }
                out.push_str(if n >= 3 { "..." } else { "." });
            }
            ',' | ';' | ':' | '。' | '，' | '、' | '；' | '：' | '…' | '=' | '-' | '—' => {
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                match c {
                    // A run of dashes or equals signs is decoration (or a pause).
                    '-' | '—' | '=' if n >= 2 => out.push_str(" — "),
                    '=' => out.push_str(" = "),
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A word that starts with `-` would be an option to an engine that gets the text in argv:
/// "-5" becomes "−5" (read "minus five"), other leading dashes are dropped.
fn leading_dashes(s: &str) -> String {
    s.split(' ')
        .map(|w| match w.strip_prefix('-') {
            None => w.to_string(),
            Some(rest) => {
                let rest = rest.trim_start_matches('-');
                if rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                    format!("−{rest}")
                } else if rest.is_empty() {
                    "—".to_string()
                } else {
                    rest.to_string()
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("plain text.", "plain text."),
            (
                "**bold** and *italic* and __strong__ and _em_",
                "bold and italic and strong and em",
            ),
            ("~~gone~~ stays", "gone stays"),
            ("# Title\nBody.", "Title\nBody."),
            ("### Deep heading", "Deep heading"),
            ("#hashtag stays", "#hashtag stays"),
            ("- one\n- two\n* three\n+ four", "one\ntwo\nthree\nfour"),
            ("1. first\n2) second\n10. tenth", "first\nsecond\ntenth"),
            ("- [x] done\n- [ ] todo", "done\ntodo"),
            ("> quoted text", "quoted text"),
            ("Run `ls` now.", "Run ls now."),
            (
                "Use `let x = vec![1, 2, 3].iter().map(f).collect();` here.",
                "Use Code omitted. here.",
            ),
            (
                "Text\n```rust\nfn main() {}\n```\nAfter.",
                "Text\nCode omitted.\nAfter.",
            ),
            ("```\nunclosed fence\nstill code", "Code omitted."),
            (
                "See [the docs](https://docs.rs/x) now.",
                "See the docs now.",
            ),
            ("![a cat](cat.png) sleeps", "a cat sleeps"),
            (
                "Visit https://www.example.com/path?q=1.",
                "Visit example.com.",
            ),
            ("Go to http://localhost:8080/x now", "Go to localhost now"),
            ("see www.rust-lang.org, ok", "see rust-lang.org, ok"),
            ("file:///etc", "file:///etc"),
            ("https:// broken", "link broken"),
            ("Great 😀👍🏽 job 🇫🇷!", "Great job !"),
            ("I ❤️ tea ☕.", "I tea ."),
            ("family 👨‍👩‍👧 here", "family here"),
            ("Really!!!", "Really!"),
            ("What?!?", "What?"),
            ("Wait.... what", "Wait... what"),
            ("Hmm,,, ok;;", "Hmm, ok;"),
            ("好的！！！真的？？", "好的！真的？"),
            ("结束。。。", "结束。"),
            ("a   b\t\tc", "a b c"),
            ("\n\n  spaced  \n\n\n out \n", "spaced\nout"),
            ("-5 degrees", "−5 degrees"),
            ("a\t-b c\u{3000}-d", "a b c d"),
            ("-w /x hi", "w /x hi"),
            ("Yes. -v please", "Yes. v please"),
            ("say [[h@loU]] now", "say h@loU now"),
            ("a | b | c", "a, b, c"),
            ("| x | y |", "x, y,"),
            ("|---|:--:|", ""),
            ("---", ""),
            ("snake_case_name", "snake case name"),
            ("x -> y => z <- w", "x y z w"),
            (
                "$(touch /tmp/x) `rm -rf /`; ls | cat > f",
                "$(touch /tmp/x) rm rf /; ls, cat > f",
            ),
            ("Xin chào! Bạn khỏe không?", "Xin chào! Bạn khỏe không?"),
            ("日本語の**テスト**です。", "日本語のテストです。"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(&for_speech(input), want, "input: {input:?}");
        }
    }

    #[test]
    fn nothing_left_starts_with_a_dash_or_holds_double_brackets() {
        for input in ["- - -x", "--help", "-", "[[[a]]]", "- -5", "—-x"] {
            let out = for_speech(input);
            assert!(
                !out.split_whitespace().any(|w| w.starts_with('-')),
                "{input:?} -> {out:?}"
            );
            assert!(!out.contains("[["), "{input:?} -> {out:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_cleaned_without_panics_or_espeak_traps(
            text in "(\\PC|[-\\[\\]`*_#>|\n\t\u{3000} (){}!?.])*"
        ) {
            let out = for_speech(&text);
            proptest::prop_assert!(!out.contains("[["));
            proptest::prop_assert!(!out.split_whitespace().any(|w| w.starts_with('-')), "{:?}", out);
            proptest::prop_assert_eq!(out.trim(), out.as_str());
        }
    }
}
