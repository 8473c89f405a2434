//! The rules of the language keys: language codes, `stt.language`, `[tts.voices]` and
//! `tts.language` (which needs a voice when the command asks for one).

use std::collections::BTreeMap;

use super::rules::Rule;

/// A language code: "en", "zh", "yue", "pt-br" (ISO 639 and optional subtags), lower-cased.
pub(super) struct Lang;

impl Rule<String> for Lang {
    type Raw = String;
    fn check(&self, v: String) -> Result<String, String> {
        language_code(&v)
    }
}

fn language_code(v: &str) -> Result<String, String> {
    let mut parts = v.split('-');
    let primary = parts.next().unwrap_or("");
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!(
            "\"{v}\" is not a language code; write one such as \"en\", \"zh\", \"vi\" or \"pt-br\""
        ))
    }
}

/// `stt.language`: "auto" (`None`) or a language code.
pub(super) struct SttLanguage;

impl Rule<Option<String>> for SttLanguage {
    type Raw = String;
    fn check(&self, v: String) -> Result<Option<String>, String> {
        if v == "auto" {
            return Ok(None);
        }
        language_code(&v)
            .map(Some)
            .map_err(|e| format!("{e}, or \"auto\""))
    }
}

/// `[tts.voices]`: language code → voice (an espeak-ng voice name, a model path, a voice name
/// on a server).
pub(super) struct Voices;

impl Rule<BTreeMap<String, String>> for Voices {
    type Raw = toml::Table;
    fn check(&self, t: toml::Table) -> Result<BTreeMap<String, String>, String> {
        let mut voices = BTreeMap::new();
        for (lang, voice) in t {
            let lang = language_code(&lang)?;
            match voice {
                toml::Value::String(v) if !v.trim().is_empty() => voices.insert(lang, v),
                _ => {
                    return Err(format!(
                        "the voice for \"{lang}\" must be a non-empty string, e.g. {lang} = \"{lang}\""
                    ));
                }
            };
        }
        Ok(voices)
    }
}

/// `tts.language`, which must have a voice when `tts.command` asks for `{voice}` (and the
/// command is used: `None` when a server speaks instead).
pub(super) struct DefaultLanguage<'a> {
    pub voices: &'a BTreeMap<String, String>,
    pub command: Option<&'a [String]>,
}

impl Rule<String> for DefaultLanguage<'_> {
    type Raw = String;
    fn check(&self, v: String) -> Result<String, String> {
        let lang = language_code(&v)?;
        let uses_voice = self
            .command
            .is_some_and(|c| c.iter().any(|a| a.contains("{voice}")));
        if uses_voice && !self.voices.contains_key(&lang) {
            return Err(format!(
                "tts.command uses {{voice}} but [tts.voices] has no voice for \"{lang}\", the voice every other language falls back to; add {lang} = \"...\" to [tts.voices]"
            ));
        }
        Ok(lang)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::{ErrorCase, assert_errors, parse_str};

    #[test]
    fn renamed_sentence_limits_say_what_to_write_instead() {
        for (old, new) in [
            ("max_sentence_chars = 240", "max_sentence_s = 15"),
            ("min_sentence_chars = 12", "min_sentence_s = 1"),
        ] {
            let e = parse_str(&format!("[tts]\n{old}\n")).unwrap_err();
            assert_eq!(
                (e.line, e.key.as_str()),
                (2, &*format!("tts.{}", &old[..18])),
                "{e}"
            );
            assert!(
                e.message.contains(new) && e.message.contains("speaking time"),
                "{e}"
            );
        }
        let c = parse_str("[tts]\nmax_sentence_s = 20\nmin_sentence_s = 0.5\n").unwrap();
        assert_eq!(c.tts.max_sentence, Duration::from_secs(20));
        assert_eq!(c.tts.min_sentence, Duration::from_millis(500));
    }

    #[test]
    fn voices_and_languages_are_checked_and_located() {
        let c = parse_str("[tts]\nlanguage = \"DE\"\nhan = \"yue\"\n[tts.voices]\nde = \"de\"\n")
            .unwrap();
        assert_eq!((c.tts.language.as_str(), c.tts.han.as_str()), ("de", "yue"));
        assert_eq!(c.tts.voices.len(), 1, "the table replaces the default one");
        let cases: &[ErrorCase] = &[
            ("[tts]\nhan = \"cmn\"\n", "tts.han", 2, "\"zh\", \"yue\""),
            (
                "[tts]\nlanguage = \"english\"\n",
                "tts.language",
                2,
                "language code",
            ),
            (
                "[tts]\nlanguage = \"sw\"\n",
                "tts.language",
                2,
                "no voice for \"sw\"",
            ),
            (
                "[tts.voices]\nzh = \"\"\n",
                "tts.voices",
                1,
                "non-empty string",
            ),
            (
                "[tts.voices]\nzh = 5\n",
                "tts.voices",
                1,
                "non-empty string",
            ),
            (
                "[tts.voices]\nchinese = \"cmn\"\n",
                "tts.voices",
                1,
                "not a language code",
            ),
            (
                "[stt]\nlanguage = \"zh_CN\"\n",
                "stt.language",
                2,
                "\"auto\"",
            ),
        ];
        assert_errors(cases);
        // Without {voice} in the command, no voice is needed.
        let c = parse_str("[tts]\ncommand = [\"say\"]\nlanguage = \"de\"\n").unwrap();
        assert_eq!(c.tts.language, "de");
        let c = parse_str("[stt]\nlanguage = \"zh\"\nprompt = \"以下是普通话的句子。\"\n").unwrap();
        assert_eq!(c.stt.language.as_deref(), Some("zh"));
        assert_eq!(c.stt.prompt.as_deref(), Some("以下是普通话的句子。"));
    }

    #[test]
    fn messages_override_per_language_and_fall_back_to_english() {
        let c = parse_str(
            "[messages]\nunreachable = \"Server down.\"\n[messages.zh]\ntoo_slow = \"太慢了。\"\n[messages.de]\ndidnt_catch = \"Wie bitte?\"\n",
        )
        .unwrap();
        let m = &c.messages;
        assert_eq!(m.get("unreachable", "en", "en"), "Server down.");
        assert_eq!(m.get("too_slow", "zh", "en"), "太慢了。");
        assert_eq!(
            m.get("unreachable", "zh", "en"),
            "我连不上服务器。",
            "built in"
        );
        assert_eq!(m.get("didnt_catch", "de", "en"), "Wie bitte?");
        assert_eq!(
            m.get("unreachable", "de", "en"),
            "Server down.",
            "English, key by key"
        );
        assert_eq!(
            m.get("unreachable", "ko", "vi"),
            "Tôi không kết nối được với máy chủ."
        );
        assert_eq!(m.get("didnt_catch", "zh-tw", "en"), "抱歉，我没听清楚。");

        let cases: &[ErrorCase] = &[
            (
                "[messages.zh]\nunreachble = \"x\"\n",
                "messages.zh.unreachble",
                2,
                "unknown message",
            ),
            (
                "[messages]\nunreachble = \"x\"\n",
                "messages.unreachble",
                2,
                "unknown message",
            ),
            (
                "[messages]\nunreachable = 5\n",
                "messages.unreachable",
                2,
                "string",
            ),
            ("[messages]\nzh = 5\n", "messages.zh", 2, "[messages.zh]"),
            (
                "[messages.zh]\nunreachable = \"  \"\n",
                "messages.zh.unreachable",
                2,
                "must not be empty",
            ),
            (
                "[messages.en]\nunreachable = \"x\"\n",
                "messages.en",
                1,
                "directly under [messages]",
            ),
            (
                "[messages.chinese]\nunreachable = \"x\"\n",
                "messages.chinese",
                1,
                "language code",
            ),
        ];
        assert_errors(cases);
    }
}
