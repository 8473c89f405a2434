//! The voice for a sentence's language (`[tts.voices]`, else the default language's), and
//! whether espeak-ng has the voices configured.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::time::Duration;

use crate::cancel;
use crate::config;
use crate::hook::Hook;

/// The voice for `lang`: its own in `tts.voices` (or its primary subtag's: "zh-tw" → "zh"),
/// else `tts.language`'s, with a DEBUG line. `None` only when the table has neither, which the
/// config allows only for a command without `{voice}`.
pub fn voice_for<'a>(tts: &'a config::Tts, lang: &str) -> Option<&'a str> {
    if let Some(v) = own_voice(tts, lang) {
        return Some(v);
    }
    let fallback = tts.voices.get(&tts.language)?;
    tracing::debug!(
        lang,
        voice = %fallback,
        "no voice for this language in [tts.voices]; using the {} voice",
        tts.language
    );
    Some(fallback)
}

/// The voice to ask a TTS server (`tts.url`) for: the language's own from `[tts.voices]` once
/// the table was written for the server; `None`, the server's choice for the language, while
/// it is the built-in table, whose names are espeak-ng's.
pub fn for_server<'a>(tts: &'a config::Tts, lang: &str) -> Option<&'a str> {
    static BUILT_IN: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| {
        config::parse(config::DEFAULT_TOML, None, &|_| None)
            .map(|c| c.tts.voices)
            .unwrap_or_default()
    });
    if tts.voices == *BUILT_IN {
        return None;
    }
    own_voice(tts, lang)
}

/// `lang`'s voice in the table, or its primary subtag's ("zh-tw" → "zh").
fn own_voice<'a>(tts: &'a config::Tts, lang: &str) -> Option<&'a str> {
    let primary = lang.split('-').next().unwrap_or(lang);
    tts.voices
        .get(lang)
        .or_else(|| tts.voices.get(primary))
        .map(String::as_str)
}

/// Whether `argv` runs espeak-ng (or the old espeak), whose voices `check` can list.
pub fn is_espeak(argv: &[String]) -> bool {
    argv.first()
        .and_then(|p| std::path::Path::new(p).file_name())
        .is_some_and(|n| n == "espeak-ng" || n == "espeak")
}

/// The configured voices `program` (espeak-ng) does not have, per `--voices` and
/// `--voices=mb` (MBROLA); an error if it cannot be asked.
pub fn missing_espeak_voices<'a>(
    program: &str,
    voices: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut known = BTreeSet::new();
    for list in ["--voices", "--voices=mb"] {
        let hook = Hook {
            argv: vec![program.to_string(), list.to_string()],
            timeout: Duration::from_secs(10),
            max_output: 1 << 20,
        };
        let out = hook
            .run(None, None, &cancel::Token::new())
            .map_err(|e| e.to_string())?;
        known.extend(voice_names(&String::from_utf8_lossy(&out.stdout)));
    }
    Ok(voices
        .into_iter()
        .filter(|v| {
            // A variant ("en-us+klatt") is a voice and a modifier.
            let name = v.split('+').next().unwrap_or(v).to_lowercase();
            !known.contains(&name)
        })
        .map(str::to_string)
        .collect())
}

/// Every name `-v` accepts, from an `espeak-ng --voices` table: the language code, the voice
/// name and the file (with and without its directory), lower-cased.
fn voice_names(table: &str) -> impl Iterator<Item = String> + '_ {
    table.lines().skip(1).flat_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let mut names = Vec::new();
        if let [_, lang, _, name, file, ..] = cols[..] {
            names.extend([lang, name, file]);
            names.extend(file.rsplit('/').next());
        }
        names.into_iter().map(str::to_lowercase)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tts(toml: &str) -> config::Tts {
        config::parse(toml, None, &|_| None).unwrap().tts
    }

    #[test]
    fn own_voice_else_the_default_languages() {
        let t = tts("");
        assert_eq!(voice_for(&t, "zh"), Some("cmn-latn-pinyin"));
        assert_eq!(voice_for(&t, "zh-tw"), Some("cmn-latn-pinyin"));
        assert_eq!(voice_for(&t, "vi"), Some("vi"));
        assert_eq!(voice_for(&t, "xx"), Some("en"));
        let t = tts("[tts]\nlanguage = \"de\"\n[tts.voices]\nde = \"de\"\n");
        assert_eq!(voice_for(&t, "zh"), Some("de"), "the table was replaced");
    }

    #[test]
    fn a_server_gets_only_voices_written_for_it() {
        let server = "[tts]\nurl = \"tcp://127.0.0.1:10200\"\n";
        let t = tts(server);
        assert_eq!(
            for_server(&t, "zh"),
            None,
            "espeak-ng's names mean nothing to it"
        );
        let t = tts(&format!(
            "{server}[tts.voices]\nen = \"en_US-lessac-medium\"\n"
        ));
        assert_eq!(for_server(&t, "en"), Some("en_US-lessac-medium"));
        assert_eq!(
            for_server(&t, "zh"),
            None,
            "no fallback: the server picks by language"
        );
    }

    #[test]
    fn espeak_has_every_default_voice_and_not_a_made_up_one() {
        let t = tts("");
        let voices = t
            .voices
            .values()
            .map(String::as_str)
            .chain(["en-us+klatt", "nosuch"]);
        assert_eq!(
            missing_espeak_voices("espeak-ng", voices).unwrap(),
            ["nosuch"]
        );
        assert!(is_espeak(&t.command));
        assert!(!is_espeak(&["piper".to_string()]));
    }
}
