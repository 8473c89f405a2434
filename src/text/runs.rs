//! A sentence cut into runs of one voice each: a word of another script inside a sentence gets
//! its own voice ("The Chinese word 谢谢 means thank you." is English, Chinese, English), since
//! one voice per sentence says "Chinese letter" for every Han character in English, "Japanese
//! letter" for kana, and the same in Vietnamese for a Han name. The runs are spoken one after
//! the other with no pause between them, in order.
//!
//! What stays with its neighbours: Latin words inside a sentence of another script, which the
//! voices of those scripts read in English by themselves (espeak-ng's cmn, ko and ru voices
//! switch to English rules for "Python"); but not an acronym (cmn reads "GPS" as pinyin), nor
//! any Latin inside Japanese (espeak-ng's ja voice spells it letter by letter). Digits and
//! opening brackets glued to a word go with it ("2025年").

use super::lang::{Languages, group};

/// A piece of a sentence and the language of its voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<'a> {
    pub text: &'a str,
    pub lang: String,
}

const OPENERS: &[char] = &[
    '(', '[', '"', '\'', '“', '‘', '「', '『', '（', '《', '〈', '【', '«',
];

/// The runs of `text`, a sentence in `lang`, in order; together they hold all of its text but
/// the blanks between them. A sentence in one script is one run.
pub fn runs<'a>(text: &'a str, lang: &str, languages: &Languages) -> Vec<Run<'a>> {
    let whole = || {
        vec![Run {
            text,
            lang: lang.to_string(),
        }]
    };
    if text.is_ascii() {
        return whole();
    }
    let segments = segments(text);
    if segments.len() < 2 {
        return whole();
    }
    let home = languages.group_of(lang);
    // Each segment's language; `None`: its neighbours' voice reads it right.
    let langs: Vec<Option<String>> = segments
        .iter()
        .map(|&(range, g)| {
            let piece = &text[range.0..range.1];
            if Some(g) == home {
                Some(lang.to_string())
            } else if g.is_latin() && lang != "ja" && !has_acronym(piece) {
                None
            } else {
                Some(languages.of(piece))
            }
        })
        .collect();
    let mut out: Vec<Run<'a>> = Vec::new();
    let mut start = 0;
    for (i, &((_, end), _)) in segments.iter().enumerate() {
        let resolved = langs[..=i]
            .iter()
            .rev()
            .flatten()
            .next()
            .or_else(|| langs[i..].iter().flatten().next())
            .cloned()
            .unwrap_or_else(|| lang.to_string());
        let next_same = segments.get(i + 1).is_some_and(|_| {
            let next = langs[i + 1].as_ref().unwrap_or(&resolved);
            *next == resolved
        });
        if next_same {
            continue;
        }
        let piece = text[start..end].trim();
        if !piece.is_empty() {
            out.push(Run {
                text: piece,
                lang: resolved,
            });
        }
        start = end;
    }
    out
}

/// The text cut where the script of its letters changes: byte ranges covering all of it, and
/// the script group of each. A change is moved back over digits and opening marks glued to the
/// first letter.
fn segments(text: &str) -> Vec<((usize, usize), super::lang::Group)> {
    let mut starts = Vec::new();
    let mut glue: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if let Some(g) = group(c) {
            match starts.last() {
                None => starts.push((0, g)),
                Some(&(_, last)) if last != g => starts.push((glue.unwrap_or(i), g)),
                Some(_) => {}
            }
            glue = None;
        } else if c.is_numeric() || OPENERS.contains(&c) {
            glue.get_or_insert(i);
        } else {
            glue = None;
        }
    }
    (0..starts.len())
        .map(|k| {
            let end = starts.get(k + 1).map_or(text.len(), |s| s.0);
            ((starts[k].0, end), starts[k].1)
        })
        .collect()
}

/// Whether a word of two or more capitals and no small letters is in `text` ("GPS", "API").
fn has_acronym(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn languages() -> Languages {
        Languages {
            latin: "en".into(),
            han: "zh".into(),
        }
    }

    fn of(text: &str) -> Vec<(String, String)> {
        let l = languages();
        let lang = l.of(text);
        runs(text, &lang, &l)
            .into_iter()
            .map(|r| (r.lang, r.text.to_string()))
            .collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("Hello there.", &[("en", "Hello there.")]),
            ("你好。", &[("zh", "你好。")]),
            (
                "The Chinese word 谢谢 means thank you.",
                &[
                    ("en", "The Chinese word"),
                    ("zh", "谢谢"),
                    ("en", "means thank you."),
                ],
            ),
            (
                "In Japanese, こんにちは means hello.",
                &[
                    ("en", "In Japanese,"),
                    ("ja", "こんにちは"),
                    ("en", "means hello."),
                ],
            ),
            (
                "Tôi tên là 王小明, rất vui được gặp bạn.",
                &[
                    ("vi", "Tôi tên là"),
                    ("zh", "王小明,"),
                    ("vi", "rất vui được gặp bạn."),
                ],
            ),
            // Latin words in Chinese stay: the Chinese voice reads them in English.
            (
                "我喜欢用Python写程序。",
                &[("zh", "我喜欢用Python写程序。")],
            ),
            (
                "I love Beijing, 北京 is great.",
                &[
                    ("en", "I love Beijing,"),
                    ("zh", "北京"),
                    ("en", "is great."),
                ],
            ),
            // ... but not an acronym, nor Latin inside Japanese.
            (
                "这个API的response很慢。",
                &[("zh", "这个"), ("en", "API"), ("zh", "的response很慢。")],
            ),
            (
                "Pythonでプログラムを書きます。",
                &[("en", "Python"), ("ja", "でプログラムを書きます。")],
            ),
            // Han and kana are one run in Japanese; digits and openers go with their word.
            ("東京タワーは高い。", &[("ja", "東京タワーは高い。")]),
            (
                "It was founded in 2025年 (「東京」) here.",
                &[
                    ("en", "It was founded in"),
                    ("zh", "2025年 (「東京」)"),
                    ("en", "here."),
                ],
            ),
            (
                "Привет, my dear old friend.",
                &[("ru", "Привет,"), ("en", "my dear old friend.")],
            ),
        ];
        for (text, want) in cases {
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect();
            assert_eq!(of(text), want, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn runs_hold_all_the_text_in_order(text in "[a-zA-Z0-9 ,.()「」你好東京こんにちはПриветàạ]{0,40}") {
            let l = languages();
            let lang = l.of(&text);
            let rs = runs(&text, &lang, &l);
            let joined: String = rs.iter().map(|r| r.text).collect();
            let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            proptest::prop_assert_eq!(squeeze(&joined), squeeze(&text));
            proptest::prop_assert!(rs.windows(2).all(|w| w[0].lang != w[1].lang));
        }
    }
}
