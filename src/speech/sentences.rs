//! Sentence splitter for speech (English, Chinese, Japanese, Vietnamese and other scripts that
//! use the same marks): one TTS call per sentence, none too short to be worth a call, none so
//! long that its synthesis is unbounded.
//!
//! Invariant (property-tested): the output, concatenated with whitespace ignored, is the input
//! with whitespace ignored. Nothing is dropped, added or reordered; only spaces change.

/// Words whose trailing "." never ends a sentence (compared lower-case, without the last dot).
const NEVER_FINAL: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf", "approx", "fig",
    "mt", "tp", "inc", "ltd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec",
];
/// Words whose "." ends a sentence only when the next word starts with a capital.
const MAYBE_FINAL: &[&str] = &["etc", "al", "a.m", "p.m"];
/// Clause boundaries where an over-long sentence is best cut, after the mark.
const CLAUSE_MARKS: &[char] = &[',', '，', '、', ';', '；', ':', '：', '—'];
/// Closing quotes and brackets that belong to the sentence before them.
const CLOSERS: &[char] = &[
    '"', '\'', ')', ']', '}', '”', '’', '」', '』', '）', '】', '》', '〉', '»',
];

/// Splits `text` into sentences of at most `max_chars` characters (Unicode scalar values);
/// fragments under `min_chars` are merged with a neighbour when that stays within `max_chars`.
pub fn split(text: &str, min_chars: usize, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut pieces = Vec::new();
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.is_empty() {
            pieces.extend(sentences_of_line(&line));
        }
    }
    let merged = merge_short(pieces, min_chars, max_chars);
    merged
        .into_iter()
        .flat_map(|s| cut_long(&s, max_chars))
        .collect()
}

/// Splits one whitespace-normalised line at its sentence ends.
fn sentences_of_line(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        if let Some(end) = sentence_end(&chars, i) {
            push_trimmed(&mut out, &chars[start..end]);
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    push_trimmed(&mut out, &chars[start..]);
    out
}

fn push_trimmed(out: &mut Vec<String>, chars: &[char]) {
    let s: String = chars.iter().collect();
    let s = s.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
}

/// If a sentence ends at the mark at `i`, the index just past it (closers included).
fn sentence_end(chars: &[char], i: usize) -> Option<usize> {
    let c = chars[i];
    let is_terminal =
        |c: char| matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | '｡' | '…');
    if !is_terminal(c) {
        return None;
    }
    // Take the whole run of marks ("?!", "...", "。」").
    let mut end = i;
    while end < chars.len() && is_terminal(chars[end]) {
        end += 1;
    }
    // A run is judged once, at its first mark.
    if i > 0 && is_terminal(chars[i - 1]) {
        return None;
    }
    while end < chars.len() && CLOSERS.contains(&chars[end]) {
        end += 1;
    }
    let next = chars.get(end).copied();
    let after_space = if next == Some(' ') {
        chars.get(end + 1).copied()
    } else {
        None
    };
    let run: String = chars[i..end].iter().collect();
    let full_width = run
        .chars()
        .any(|c| matches!(c, '。' | '！' | '？' | '；' | '｡'));
    if full_width {
        return Some(end);
    }
    let ellipsis = run.starts_with("..") || run.starts_with('…');
    if ellipsis {
        // "Wait... what?" goes on; "I see... Then" or "我想想…好吧" ends.
        return match next {
            None => Some(end),
            Some(n) if is_cjk(n) => Some(end),
            Some(' ') if after_space.is_some_and(starts_sentence) => Some(end),
            _ => None,
        };
    }
    // "3.14", "1.2.3", "e.g", "example.com": a mark glued to the next word is not an end.
    match next {
        None => {}
        Some(' ') => {}
        Some(n) if is_cjk(n) => {}
        Some(_) => return None,
    }
    if c == '.' {
        let word = word_before(chars, i).to_lowercase();
        if NEVER_FINAL.contains(&word.as_str()) {
            return None;
        }
        if MAYBE_FINAL.contains(&word.as_str()) && !after_space.is_some_and(starts_sentence) {
            return if next.is_none() { Some(end) } else { None };
        }
        // An initial ("J. R. R. Tolkien"), but not the pronoun ("So do I.").
        let mut w = word.chars();
        if let (Some(first), None) = (w.next(), w.next())
            && first.is_alphabetic()
            && chars[i - 1].is_uppercase()
            && chars[i - 1] != 'I'
        {
            return None;
        }
    }
    Some(end)
}

/// The letters (and inner dots, for "e.g") just before index `i`.
fn word_before(chars: &[char], i: usize) -> String {
    let mut j = i;
    while j > 0 && (chars[j - 1].is_alphabetic() || chars[j - 1] == '.') {
        j -= 1;
    }
    chars[j..i].iter().collect()
}

fn starts_sentence(c: char) -> bool {
    c.is_uppercase()
        || c.is_numeric()
        || is_cjk(c)
        || CLOSERS.contains(&c)
        || "\"“‘«¿¡(".contains(c)
}

/// Han, kana, Hangul and full-width forms: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x2E80..=0x2FFF | 0x3000..=0x30FF | 0x3100..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Joins two pieces: no space between CJK text, one space otherwise.
fn join(a: &str, b: &str) -> String {
    let tight = a.chars().last().is_some_and(is_cjk) || b.chars().next().is_some_and(is_cjk);
    if tight {
        format!("{a}{b}")
    } else {
        format!("{a} {b}")
    }
}

fn len(s: &str) -> usize {
    s.chars().count()
}

/// Merges each piece under `min` characters into the next one (or, for the last, the previous
/// one), as long as the result stays within `max`.
fn merge_short(pieces: Vec<String>, min: usize, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in pieces {
        match out.last_mut() {
            Some(prev) if len(prev) < min && len(prev) + 1 + len(&piece) <= max => {
                *prev = join(prev, &piece);
            }
            _ => out.push(piece),
        }
    }
    if out.len() >= 2 {
        let last = &out[out.len() - 1];
        let prev = &out[out.len() - 2];
        if len(last) < min && len(prev) + 1 + len(last) <= max {
            let joined = join(prev, last);
            out.pop();
            out.pop();
            out.push(joined);
        }
    }
    out
}

/// Cuts a sentence longer than `max` characters: after the last clause mark in its second half,
/// else at the last space, else exactly at `max` characters.
fn cut_long(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    // An index into one buffer, not a re-collected tail per cut: re-collecting made this
    // quadratic in the length (benches/text_throughput.rs, no_punctuation).
    let mut start = 0;
    while chars.len() - start > max {
        let window = &chars[start..=start + max];
        let floor = max / 2;
        let clause = (floor..max)
            .rev()
            .find(|&k| CLAUSE_MARKS.contains(&window[k]))
            .map(|k| k + 1);
        let space = (1..=max).rev().find(|&k| window[k] == ' ');
        let cut = clause.or(space).unwrap_or(max);
        push_trimmed(&mut out, &window[..cut]);
        start += cut;
        while start < chars.len() && chars[start].is_whitespace() {
            start += 1;
        }
    }
    push_trimmed(&mut out, &chars[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (input, expected) with min 0 and a generous max: the splitting rules alone.
    const TABLE: &[(&str, &[&str])] = &[
        // English
        (
            "Hello there. How are you?",
            &["Hello there.", "How are you?"],
        ),
        ("Stop! Now.", &["Stop!", "Now."]),
        ("Really?! Yes.", &["Really?!", "Yes."]),
        (
            "Dr. Smith is here. He waits.",
            &["Dr. Smith is here.", "He waits."],
        ),
        ("Mr. and Mrs. Jones left.", &["Mr. and Mrs. Jones left."]),
        (
            "Use tools, e.g. a hammer. Then rest.",
            &["Use tools, e.g. a hammer.", "Then rest."],
        ),
        (
            "That is, i.e. the end. Next.",
            &["That is, i.e. the end.", "Next."],
        ),
        (
            "Apples, pears, etc. are fruit.",
            &["Apples, pears, etc. are fruit."],
        ),
        (
            "I like fruit etc. Then I eat.",
            &["I like fruit etc.", "Then I eat."],
        ),
        (
            "Pi is 3.14 roughly. Nice.",
            &["Pi is 3.14 roughly.", "Nice."],
        ),
        (
            "Update to 1.2.3 today. Done.",
            &["Update to 1.2.3 today.", "Done."],
        ),
        ("Wait... what? Yes.", &["Wait... what?", "Yes."]),
        ("I see... Then we go.", &["I see...", "Then we go."]),
        (
            "He said \"Go.\" Then left.",
            &["He said \"Go.\"", "Then left."],
        ),
        ("(It works.) Good.", &["(It works.)", "Good."]),
        (
            "J. R. R. Tolkien wrote it. Yes.",
            &["J. R. R. Tolkien wrote it.", "Yes."],
        ),
        (
            "See example.com for more. Bye.",
            &["See example.com for more.", "Bye."],
        ),
        (
            "first item\nsecond item\nthird",
            &["first item", "second item", "third"],
        ),
        ("No terminator at all", &["No terminator at all"]),
        ("Ends with space.   ", &["Ends with space."]),
        (
            "Temperature is -5 degrees. Cold!",
            &["Temperature is -5 degrees.", "Cold!"],
        ),
        ("It is 5 p.m. now.", &["It is 5 p.m. now."]),
        ("So do I. The end.", &["So do I.", "The end."]),
        ("The answer is no. Sorry.", &["The answer is no.", "Sorry."]),
        // Chinese
        (
            "你好。今天天气很好！你呢？",
            &["你好。", "今天天气很好！", "你呢？"],
        ),
        ("我想想…好吧。", &["我想想…", "好吧。"]),
        (
            "他说：“走吧。”然后走了。",
            &["他说：“走吧。”", "然后走了。"],
        ),
        ("第一；第二。", &["第一；", "第二。"]),
        ("价格是3.5元。很便宜。", &["价格是3.5元。", "很便宜。"]),
        ("我喜欢Rust。It is fast.", &["我喜欢Rust。", "It is fast."]),
        ("真的吗？！是的。", &["真的吗？！", "是的。"]),
        ("一\n二\n三", &["一", "二", "三"]),
        // Japanese
        (
            "こんにちは。元気ですか？",
            &["こんにちは。", "元気ですか？"],
        ),
        ("「はい。」と言った。", &["「はい。」", "と言った。"]),
        ("すごい！本当に？", &["すごい！", "本当に？"]),
        ("東京は大きい｡大阪も｡", &["東京は大きい｡", "大阪も｡"]),
        ("ええと…そうですね。", &["ええと…", "そうですね。"]),
        // Vietnamese
        (
            "Xin chào. Bạn khỏe không?",
            &["Xin chào.", "Bạn khỏe không?"],
        ),
        (
            "Tôi ở TP. Hồ Chí Minh. Còn bạn?",
            &["Tôi ở TP. Hồ Chí Minh.", "Còn bạn?"],
        ),
        (
            "Giá là 3.5 triệu! Đắt quá.",
            &["Giá là 3.5 triệu!", "Đắt quá."],
        ),
        ("Ừ... Được rồi.", &["Ừ...", "Được rồi."]),
        (
            "Đây là câu một.\nĐây là câu hai.",
            &["Đây là câu một.", "Đây là câu hai."],
        ),
        // Edge cases
        ("", &[]),
        ("   \n\n  ", &[]),
        ("...", &["..."]),
        ("?!", &["?!"]),
        (".Hello", &[".Hello"]),
    ];

    #[test]
    fn table() {
        assert!(TABLE.len() >= 40);
        for (input, want) in TABLE {
            assert_eq!(split(input, 0, 1000), *want, "input: {input:?}");
        }
    }

    #[test]
    fn short_fragments_merge() {
        let cases: &[(&str, &[&str])] = &[
            ("Yes. I will do that now.", &["Yes. I will do that now."]),
            ("I will do that now. Ok.", &["I will do that now. Ok."]),
            ("好。我们走吧现在就走。", &["好。我们走吧现在就走。"]),
            ("Hi. Yo. Hey.", &["Hi. Yo. Hey."]),
            (
                "This one is long enough. And so is this.",
                &["This one is long enough.", "And so is this."],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(split(input, 10, 240), *want, "input: {input:?}");
        }
    }

    #[test]
    fn long_sentences_cut_at_clause_then_space_then_hard() {
        let cases: &[(&str, usize, &[&str])] = &[
            (
                "one two three, four five six seven eight",
                20,
                &["one two three,", "four five six seven", "eight"],
            ),
            (
                "一二三四五，六七八九十一二三四五",
                10,
                &["一二三四五，", "六七八九十一二三四五"],
            ),
            (
                "abcdefghijklmnopqrstuvwxyz",
                10,
                &["abcdefghij", "klmnopqrst", "uvwxyz"],
            ),
            ("aaaa bbbb cccc dddd", 10, &["aaaa bbbb", "cccc dddd"]),
        ];
        for (input, max, want) in cases {
            assert_eq!(split(input, 0, *max), *want, "input: {input:?}");
            assert!(split(input, 0, *max).iter().all(|s| len(s) <= *max));
        }
    }

    fn squeeze(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    proptest! {
        #[test]
        fn nothing_lost_or_reordered(text in any::<String>(), min in 0usize..40, max in 1usize..300) {
            let out = split(&text, min, max);
            prop_assert_eq!(squeeze(&out.concat()), squeeze(&text));
            prop_assert!(out.iter().all(|s| len(s) <= max && !s.trim().is_empty()));
        }

        #[test]
        fn sentence_like_text_keeps_every_word(
            words in proptest::collection::vec("[a-zA-Z0-9.!?,;:…。！？、\"()「」]{1,8}", 0..60),
            seps in proptest::collection::vec(prop_oneof![Just(" "), Just("\n"), Just(""), Just("  ")], 60),
        ) {
            let text: String = words.iter().zip(&seps).map(|(w, s)| format!("{w}{s}")).collect();
            let out = split(&text, 12, 40);
            prop_assert_eq!(squeeze(&out.concat()), squeeze(&text));
        }
    }
}
