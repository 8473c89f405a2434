//! What ends a sentence (English, Chinese, Japanese, Vietnamese and other scripts that use the
//! same marks), and how long a piece of text takes to say.

/// Words whose trailing "." never ends a sentence (compared lower-case, without the last dot).
const NEVER_FINAL: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf", "approx", "fig",
    "mt", "tp", "inc", "ltd", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec",
];
/// Words whose "." ends a sentence only when the next word starts with a capital.
const MAYBE_FINAL: &[&str] = &["etc", "al", "a.m", "p.m"];
/// Longer than any word above: `word_before` looks no further back.
const WORD_LOOKBACK: usize = 8;
/// Clause boundaries where an over-long sentence is best cut, after the mark.
pub(super) fn is_clause_mark(c: char) -> bool {
    matches!(c, ',' | '，' | '、' | ';' | '；' | ':' | '：' | '—')
}
/// Closing quotes and brackets that belong to the sentence before them.
pub(super) const CLOSERS: &[char] = &[
    '"', '\'', ')', ']', '}', '”', '’', '」', '』', '）', '】', '》', '〉', '»',
];

/// Speaking time is counted in units of a sixteenth of a second: about four syllables a
/// second in every language, a syllable being four units.
pub const UNITS_PER_SECOND: u32 = 16;

pub(super) fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | '｡' | '…')
}

/// Han, kana, Hangul and full-width forms: scripts written without spaces between words.
pub(super) fn is_cjk(c: char) -> bool {
    !c.is_ascii()
        && matches!(u32::from(c),
        0x2E80..=0x2FFF | 0x3000..=0x30FF | 0x3100..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// The speaking time `c` adds, in units; `letter` is `lang::is_letter(c)`, `word` counts the
/// letters of the word it is in. A CJK character or a digit is a syllable; a word of a spaced
/// script about one and a half, a little more when it is long.
pub(super) fn units(c: char, letter: bool, word: &mut u32) -> u32 {
    if letter {
        if is_cjk(c) {
            *word = 0;
            return 4;
        }
        *word += 1;
        match *word {
            1 => 6,
            2..=8 => 0,
            _ => 1,
        }
    } else if c.is_numeric() {
        *word = 0;
        4
    } else if matches!(u32::from(c), 0x0300..=0x036F) || matches!(c, '\'' | '’') {
        // Combining marks and apostrophes continue the word ("khỏe", "don't").
        0
    } else {
        *word = 0;
        0
    }
}

/// Whether the marks `text[start..end]` (a run of terminal marks and the closers after it) end
/// a sentence, given the character after them (`next`) and, when that is a space, the one
/// after the space.
pub(super) fn is_end(
    text: &str,
    start: usize,
    end: usize,
    next: Option<char>,
    after_space: Option<char>,
) -> bool {
    let run = &text[start..end];
    if run
        .chars()
        .any(|c| matches!(c, '。' | '！' | '？' | '；' | '｡'))
    {
        return true;
    }
    if run.starts_with("..") || run.starts_with('…') {
        // "Wait... what?" goes on; "I see... Then" or "我想想…好吧" ends.
        return match next {
            None => true,
            Some(n) if is_cjk(n) => true,
            Some(' ') => after_space.is_some_and(starts_sentence),
            _ => false,
        };
    }
    // "3.14", "1.2.3", "e.g", "example.com": a mark glued to the next word is not an end.
    match next {
        None | Some(' ') => {}
        Some(n) if is_cjk(n) => {}
        Some(_) => return false,
    }
    if run.starts_with('.') {
        let word = word_before(text, start);
        let is = |list: &[&str]| list.iter().any(|w| w.eq_ignore_ascii_case(word));
        if is(NEVER_FINAL) {
            return false;
        }
        if is(MAYBE_FINAL) && !after_space.is_some_and(starts_sentence) {
            return next.is_none();
        }
        // An initial ("J. R. R. Tolkien"), but not the pronoun ("So do I.").
        let mut w = word.chars();
        if let (Some(first), None) = (w.next(), w.next())
            && first.is_uppercase()
            && first != 'I'
        {
            return false;
        }
    }
    true
}

/// The letters (and inner dots, for "e.g") just before byte `i`; a longer word than any
/// abbreviation comes back cut short, which matches none.
fn word_before(text: &str, i: usize) -> &str {
    let start = text[..i]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphabetic() || c == '.')
        .take(WORD_LOOKBACK)
        .last()
        .map_or(i, |(at, _)| at);
    &text[start..i]
}

fn starts_sentence(c: char) -> bool {
    c.is_uppercase()
        || c.is_numeric()
        || is_cjk(c)
        || CLOSERS.contains(&c)
        || "\"“‘«¿¡(".contains(c)
}
