//! The language of a piece of text, read from its script: cheap, deterministic, no model.
//!
//! Han → `tts.han` ("zh", or "yue" for Cantonese); any kana → "ja" (Japanese mixes kana and
//! Han); Hangul → "ko"; Latin with Vietnamese letters and tone marks → "vi"; other Latin →
//! `tts.language` (default "en"); Cyrillic, Greek, Arabic, Hebrew, the Indic scripts, Thai,
//! Georgian, Armenian, Burmese and Ethiopic → their main language, which espeak-ng speaks. Mixed
//! text goes by what takes longest to say: a CJK character is about one syllable, a word in a
//! spaced script about one and a half, so "我喜欢用Python写程序。" stays Chinese.

/// Which language a script means where the text alone cannot tell (from `[tts]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    /// Latin-script text that is not recognisably Vietnamese, and text with no letters at all.
    pub latin: String,
    /// Han characters without kana: "zh" (Mandarin) or "yue" (Cantonese).
    pub han: String,
}

/// What earlier sentences of the same reply said, for text that cannot say for itself: a
/// Latin sentence whose only accents are ones Vietnamese shares with French ("Xin chào.")
/// keeps the Latin language of the sentence before it.
#[derive(Debug, Clone, Default)]
pub struct Context {
    latin: Option<String>,
}

impl Languages {
    /// The language of one sentence, given the sentences before it.
    pub fn detect(&self, text: &str, context: &mut Context) -> String {
        // Most sentences are plain ASCII: no script but Latin, no accent, so the tally would
        // say `latin` (and remember it when there is a letter). Checked a word at a time, this
        // makes detection of an English reply cost next to nothing.
        if text.is_ascii() {
            let letters = text.bytes().any(|b| b.is_ascii_alphabetic());
            if letters && context.latin.as_deref() != Some(&self.latin) {
                context.latin = Some(self.latin.clone());
            }
            return self.latin.clone();
        }
        self.by_tally(text, context)
    }

    /// `detect` for text with any character beyond ASCII.
    fn by_tally(&self, text: &str, context: &mut Context) -> String {
        let tally = Tally::of(text);
        let cjk = tally.weight[Script::Han as usize] + tally.weight[Script::Kana as usize];
        let mut best = (0, Script::Latin);
        for script in SCRIPTS {
            let weight = match script {
                Script::Han => cjk,
                Script::Kana => 0,
                s => tally.weight[s as usize],
            };
            // Ties go to the script listed first: Latin is last, since a voice for the other
            // script also reads Latin letters, but an English voice says "Chinese letter".
            if weight > best.0 {
                best = (weight, script);
            }
        }
        match best.1 {
            Script::Han if tally.weight[Script::Kana as usize] > 0 => "ja".into(),
            Script::Han => self.han.clone(),
            Script::Latin => {
                let lang = match tally.vietnamese() {
                    Some(true) => "vi".to_string(),
                    Some(false) => self.latin.clone(),
                    None => context.latin.clone().unwrap_or_else(|| self.latin.clone()),
                };
                if best.0 > 0 {
                    context.latin = Some(lang.clone());
                }
                lang
            }
            Script::Cyrillic if tally.ukrainian => "uk".into(),
            Script::Arabic if tally.urdu => "ur".into(),
            Script::Arabic if tally.persian => "fa".into(),
            script => script.language().into(),
        }
    }

    /// The language of a text on its own (a transcript), without earlier context.
    pub fn of(&self, text: &str) -> String {
        self.detect(text, &mut Context::default())
    }
}

/// `char::is_alphabetic`, without its table search for the letters most text is made of
/// (ASCII, Han, kana, Hangul syllables): it is asked once per character of every reply.
pub fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' => true,
        _ if c.is_ascii() => false,
        '\u{4E00}'..='\u{9FFF}' | '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' => true,
        '\u{AC00}'..='\u{D7A3}' => true,
        _ => c.is_alphabetic(),
    }
}

/// The scripts a voice reads, grouped as a voice would be chosen for them: Han and kana are
/// one group (Japanese mixes them), every other script is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group(Script);

impl Group {
    pub fn is_latin(self) -> bool {
        self.0 == Script::Latin
    }
}

impl Languages {
    /// The group of scripts a language code is written in, as `detect` gives the codes.
    pub fn group_of(&self, lang: &str) -> Option<Group> {
        if lang == self.han || matches!(lang, "zh" | "yue" | "ja") {
            return Some(Group(Script::Han));
        }
        if lang == self.latin || lang == "vi" {
            return Some(Group(Script::Latin));
        }
        let script = match lang {
            "uk" => Script::Cyrillic,
            "fa" | "ur" => Script::Arabic,
            _ => *SCRIPTS.iter().find(|s| s.language() == lang)?,
        };
        group_of_script(script)
    }
}

fn group_of_script(s: Script) -> Option<Group> {
    Some(Group(if s == Script::Kana { Script::Han } else { s }))
}

/// The group of a letter; `None` for anything else (and for scripts without a voice).
pub fn group(c: char) -> Option<Group> {
    if !is_letter(c) {
        return None;
    }
    Script::of(c).and_then(group_of_script)
}

/// Scripts in tie-break order (see `detect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Han,
    Kana,
    Hangul,
    Cyrillic,
    Greek,
    Armenian,
    Hebrew,
    Arabic,
    Devanagari,
    Bengali,
    Gurmukhi,
    Gujarati,
    Oriya,
    Tamil,
    Telugu,
    Kannada,
    Malayalam,
    Sinhala,
    Thai,
    Myanmar,
    Georgian,
    Ethiopic,
    Latin,
}

const SCRIPTS: [Script; 23] = [
    Script::Han,
    Script::Kana,
    Script::Hangul,
    Script::Cyrillic,
    Script::Greek,
    Script::Armenian,
    Script::Hebrew,
    Script::Arabic,
    Script::Devanagari,
    Script::Bengali,
    Script::Gurmukhi,
    Script::Gujarati,
    Script::Oriya,
    Script::Tamil,
    Script::Telugu,
    Script::Kannada,
    Script::Malayalam,
    Script::Sinhala,
    Script::Thai,
    Script::Myanmar,
    Script::Georgian,
    Script::Ethiopic,
    Script::Latin,
];

impl Script {
    /// The language espeak-ng speaks for the script (Han, kana and Latin are decided above).
    fn language(self) -> &'static str {
        match self {
            Script::Han => "zh",
            Script::Kana => "ja",
            Script::Hangul => "ko",
            Script::Cyrillic => "ru",
            Script::Greek => "el",
            Script::Armenian => "hy",
            Script::Hebrew => "he",
            Script::Arabic => "ar",
            Script::Devanagari => "hi",
            Script::Bengali => "bn",
            Script::Gurmukhi => "pa",
            Script::Gujarati => "gu",
            Script::Oriya => "or",
            Script::Tamil => "ta",
            Script::Telugu => "te",
            Script::Kannada => "kn",
            Script::Malayalam => "ml",
            Script::Sinhala => "si",
            Script::Thai => "th",
            Script::Myanmar => "my",
            Script::Georgian => "ka",
            Script::Ethiopic => "am",
            Script::Latin => "en",
        }
    }

    /// Whether the script is written as syllables without spaces (weighed per character).
    fn is_syllabic(self) -> bool {
        matches!(self, Script::Han | Script::Kana | Script::Hangul)
    }

    /// The script of a letter; `None` for scripts without a voice (and for non-letters).
    fn of(c: char) -> Option<Script> {
        Some(match u32::from(c) {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
            0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF => Script::Hangul,
            0x2E80..=0x2FDF | 0x3005..=0x3007 | 0x3021..=0x3029 | 0x3038..=0x303B => Script::Han,
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => Script::Han,
            0x0400..=0x052F => Script::Cyrillic,
            0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
            0x0530..=0x058F => Script::Armenian,
            0x0590..=0x05FF => Script::Hebrew,
            0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
            0x0900..=0x097F => Script::Devanagari,
            0x0980..=0x09FF => Script::Bengali,
            0x0A00..=0x0A7F => Script::Gurmukhi,
            0x0A80..=0x0AFF => Script::Gujarati,
            0x0B00..=0x0B7F => Script::Oriya,
            0x0B80..=0x0BFF => Script::Tamil,
            0x0C00..=0x0C7F => Script::Telugu,
            0x0C80..=0x0CFF => Script::Kannada,
            0x0D00..=0x0D7F => Script::Malayalam,
            0x0D80..=0x0DFF => Script::Sinhala,
            0x0E00..=0x0E7F => Script::Thai,
            0x1000..=0x109F => Script::Myanmar,
            0x10A0..=0x10FF => Script::Georgian,
            0x1200..=0x139F => Script::Ethiopic,
            _ => return None,
        })
    }
}

/// How a Latin letter bears on Vietnamese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accent {
    /// Plain ASCII.
    None,
    /// Only Vietnamese writes it: ă đ ơ ư, the dot below and hook above, ĩ ũ.
    Vietnamese,
    /// Vietnamese and French or Portuguese alike: à á â ã è é ê ì í ò ó ô õ ù ú ý.
    Shared,
    /// Vietnamese never writes it: ç ñ ü ö ß å ø …
    Foreign,
}

fn accent(c: char) -> Accent {
    let lower = c.to_lowercase().next().unwrap_or(c);
    match lower {
        'a'..='z' => Accent::None,
        'ă' | 'đ' | 'ơ' | 'ư' | 'ĩ' | 'ũ' | '\u{1EA0}'..='\u{1EF9}' => Accent::Vietnamese,
        // Decomposed tone marks: hook above, dot below, horn.
        '\u{0309}' | '\u{0323}' | '\u{031B}' => Accent::Vietnamese,
        'à' | 'á' | 'â' | 'ã' | 'è' | 'é' | 'ê' | 'ì' | 'í' | 'ò' | 'ó' | 'ô' | 'õ' | 'ù' | 'ú'
        | 'ý' => Accent::Shared,
        '\u{0300}' | '\u{0301}' | '\u{0302}' | '\u{0303}' | '\u{0306}' => Accent::Shared,
        _ => Accent::Foreign,
    }
}

/// Combining marks continue the letter before them (decomposed Vietnamese tone marks).
fn is_combining(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F)
}

/// How long each script takes to say, and the evidence for Vietnamese, in one pass.
#[derive(Debug, Default)]
struct Tally {
    /// Per `Script as usize`: 2 per syllabic character, 3 per word of a spaced script.
    weight: [u32; SCRIPTS.len()],
    latin_words: u32,
    /// Latin words holding a letter only Vietnamese writes.
    vietnamese_words: u32,
    /// Latin words holding a Vietnamese diacritic, shared or not.
    accented_words: u32,
    foreign_words: u32,
    ukrainian: bool,
    persian: bool,
    urdu: bool,
}

impl Tally {
    fn of(text: &str) -> Tally {
        let mut t = Tally::default();
        // The script of the word being read, and the strongest accent seen in it.
        let mut word: Option<Script> = None;
        let mut word_accent = Accent::None;
        for c in text.chars() {
            if is_combining(c) {
                if word == Some(Script::Latin) {
                    word_accent = strongest(word_accent, accent(c));
                }
                continue;
            }
            let script = if is_letter(c) { Script::of(c) } else { None };
            if word.is_some() && word != script {
                t.end_word(word, word_accent);
                word = None;
            }
            let Some(script) = script else { continue };
            if script.is_syllabic() {
                t.weight[script as usize] += 2;
                continue;
            }
            if word.is_none() {
                t.weight[script as usize] += 3;
                word = Some(script);
                word_accent = Accent::None;
            }
            match script {
                Script::Latin if c.is_ascii() => {}
                Script::Latin => word_accent = strongest(word_accent, accent(c)),
                Script::Cyrillic => t.ukrainian |= "іїєґІЇЄҐ".contains(c),
                Script::Arabic => {
                    t.persian |= "پچژگ".contains(c);
                    t.urdu |= "ٹڈڑںے".contains(c);
                }
                _ => {}
            }
        }
        t.end_word(word, word_accent);
        t
    }

    fn end_word(&mut self, word: Option<Script>, accent: Accent) {
        if word != Some(Script::Latin) {
            return;
        }
        self.latin_words += 1;
        match accent {
            Accent::Vietnamese => {
                self.vietnamese_words += 1;
                self.accented_words += 1;
            }
            Accent::Shared => self.accented_words += 1,
            Accent::Foreign => self.foreign_words += 1,
            Accent::None => {}
        }
    }

    /// `Some(true)`: Vietnamese (a letter only Vietnamese writes, and at least a third of the
    /// words accented the Vietnamese way: Vietnamese marks nearly every syllable, while an
    /// English sentence may name "Phở"). `Some(false)`: not Vietnamese. `None`: the accents
    /// fit Vietnamese but are shared with other languages.
    fn vietnamese(&self) -> Option<bool> {
        let enough = self.accented_words * 3 >= self.latin_words && self.accented_words > 0;
        if !enough || self.foreign_words > 0 {
            Some(false)
        } else if self.vietnamese_words > 0 {
            Some(true)
        } else {
            None
        }
    }
}

/// The accent that says most about the word: Vietnamese-only beats foreign beats shared.
fn strongest(a: Accent, b: Accent) -> Accent {
    let rank = |x| match x {
        Accent::None => 0,
        Accent::Shared => 1,
        Accent::Foreign => 2,
        Accent::Vietnamese => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_ascii_shortcut_answers_as_the_tally_does(
            text in "[ -~]{0,40}",
            before in proptest::option::of("(en|de|vi)"),
        ) {
            let langs = Languages { latin: "en".into(), han: "zh".into() };
            let mut quick = Context { latin: before.clone() };
            let mut tallied = Context { latin: before };
            proptest::prop_assert_eq!(langs.detect(&text, &mut quick), langs.by_tally(&text, &mut tallied));
            proptest::prop_assert_eq!(quick.latin, tallied.latin);
        }
    }

    fn languages() -> Languages {
        Languages {
            latin: "en".into(),
            han: "zh".into(),
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("Hello there, how are you?", "en"),
            ("你觉得这个主意怎么样？", "zh"),
            ("我喜欢用Python写程序。", "zh"),
            ("GPS导航很好用。", "zh"),
            ("这个API的response很慢。", "zh"),
            ("I love Beijing, 北京 is great.", "en"),
            ("こんにちは。", "ja"),
            ("日本語のテストです。", "ja"),
            ("東京タワー", "ja"),
            ("안녕하세요, 반갑습니다.", "ko"),
            ("Xin lỗi, tôi không nghe rõ.", "vi"),
            ("Thiết bị thu âm không hoạt động.", "vi"),
            ("Tôi ở TP. Hồ Chí Minh.", "vi"),
            // Decomposed (NFD) tone marks: "khỏe" as k h o + hook above + e.
            ("Ba\u{0323}n kho\u{0309}e không?", "vi"),
            ("Phở is a Vietnamese noodle soup.", "en"),
            ("Ça va très bien, merci.", "en"),
            ("Привет, как дела?", "ru"),
            ("Привіт, як справи? Є новини.", "uk"),
            ("Καλημέρα σας.", "el"),
            ("שלום עולם", "he"),
            ("مرحبا بالعالم", "ar"),
            ("سلام، چطوری؟", "fa"),
            ("नमस्ते दुनिया", "hi"),
            ("สวัสดีครับ", "th"),
            ("გამარჯობა", "ka"),
            // No letters: the default language.
            ("42.", "en"),
            ("…", "en"),
            ("", "en"),
        ];
        for (text, want) in cases {
            assert_eq!(languages().of(text), *want, "{text:?}");
        }
    }

    #[test]
    fn is_letter_is_is_alphabetic() {
        for c in (0..0x11_0000).filter_map(char::from_u32) {
            assert_eq!(
                is_letter(c),
                c.is_alphabetic(),
                "{c:?} U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn han_can_mean_cantonese_and_latin_another_language() {
        let l = Languages {
            latin: "de".into(),
            han: "yue".into(),
        };
        assert_eq!(l.of("你好。"), "yue");
        assert_eq!(l.of("Guten Morgen."), "de");
        assert_eq!(
            l.of("今日はいい天気ですね。"),
            "ja",
            "kana still means Japanese"
        );
        assert_eq!(l.of("Xin lỗi, tôi không nghe rõ."), "vi");
    }

    #[test]
    fn shared_accents_keep_the_latin_language_of_the_sentence_before() {
        let l = languages();
        let mut ctx = Context::default();
        assert_eq!(l.detect("Xin chào.", &mut ctx), "en", "nothing before it");
        assert_eq!(l.detect("Bạn khỏe không?", &mut ctx), "vi");
        assert_eq!(l.detect("Xin chào.", &mut ctx), "vi", "after Vietnamese");
        assert_eq!(l.detect("你好。", &mut ctx), "zh");
        assert_eq!(
            l.detect("Xin chào.", &mut ctx),
            "vi",
            "CJK does not reset it"
        );
        assert_eq!(l.detect("Hello there.", &mut ctx), "en");
        assert_eq!(l.detect("Xin chào.", &mut ctx), "en");
    }
}
