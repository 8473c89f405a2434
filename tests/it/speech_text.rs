//! Text for the ear, judged by what the engine says: odd forms of a reply (decomposed tone
//! marks, fullwidth digits, zero-width and bidi characters, terminal colours, stray markdown)
//! give the phonemes of the plain text in the voice chosen for it (`espeak-ng -v VOICE -x -q`,
//! real espeak-ng, the embedded default voices); a word of another script inside a sentence is
//! said by its own voice, and a short sentence is not said by the next one's voice.

use std::process::Command;

use crate::support::config::Config;
use crate::support::log_field;
use crate::support::say::say_with;
use voicebox::text::runs::runs;
use voicebox::text::sentences::{Rules, split};
use voicebox::tts::voice::voice_for;

/// espeak-ng's phonemes for `text` in `voice`.
fn phonemes(voice: &str, text: &str) -> String {
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-x", "-q", "--", text])
        .output()
        .unwrap();
    assert!(out.status.success(), "espeak-ng -v {voice}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the box says for a reply with the embedded defaults: each voice call (a sentence, or
/// a run of one in another script), its voice, text and the phonemes it gives.
fn calls(reply: &str) -> Vec<(String, String, String)> {
    let config = Config::new().parse();
    let rules = Rules::new(&config.tts);
    let mut out = Vec::new();
    for s in split(reply, &rules) {
        for run in runs(&s.text, &s.lang, &rules.languages) {
            let voice = voice_for(&config.tts, &run.lang).unwrap().to_string();
            let p = phonemes(&voice, run.text);
            out.push((voice, run.text.to_string(), p));
        }
    }
    out
}

/// Each call's voice and phonemes.
fn spoken(reply: &str) -> Vec<(String, String)> {
    calls(reply).into_iter().map(|(v, _, p)| (v, p)).collect()
}

/// A character spelled out by a voice of another language: "Chinese letter", "Japanese
/// letter" (by English rules, also inside another voice).
fn spelled_out(phonemes: &str) -> bool {
    ["tS'aIni:z", "dZ'ap@ni:z", "l'et@", "l,Et3", "l'e1t@"]
        .iter()
        .any(|m| phonemes.contains(m))
}

#[test]
fn odd_forms_of_a_reply_are_said_as_the_plain_text() {
    let wrong: Vec<&str> = [
        // Vietnamese typed decomposed (NFD): base letters and combining tone marks.
        (
            "To\u{302}i thi\u{301}ch Ha\u{300} No\u{323}\u{302}i la\u{306}\u{301}m.",
            "Tôi thích Hà Nội lắm.",
        ),
        ("Ba\u{323}n kho\u{309}e kho\u{302}ng?", "Bạn khỏe không?"),
        // Fullwidth digits: the Chinese voice says nothing for them.
        ("今年是２０２５年，我三２岁。", "今年是2025年，我三2岁。"),
        // Zero-width spaces and joiners inside words: espeak-ng splits the word there.
        (
            "I love choco\u{200B}late and co\u{2060}ffee.",
            "I love chocolate and coffee.",
        ),
        (
            "\u{FEFF}Good mor\u{200C}ning to you.",
            "Good morning to you.",
        ),
        // Bidi controls.
        (
            "\u{202E}Dinner\u{202C} is \u{2067}ready\u{2069} now.",
            "Dinner is ready now.",
        ),
        // Terminal colours: not "thirty-one m".
        (
            "\u{1b}[1;31mWarning:\u{1b}[0m the oven is hot.",
            "Warning: the oven is hot.",
        ),
        // A stray markdown mark between sentences: not "hash".
        (
            "The soup is ready. # Serve it hot.",
            "The soup is ready. Serve it hot.",
        ),
    ]
    .into_iter()
    .filter(|(odd, plain)| {
        let plain_said = spoken(plain);
        assert!(!plain_said.is_empty(), "{plain:?}");
        spoken(odd) != plain_said
    })
    .map(|(odd, _)| odd)
    .collect();
    assert!(
        wrong.is_empty(),
        "said otherwise than the plain text: {wrong:?}"
    );
}

#[test]
fn a_word_of_another_script_is_said_by_its_own_voice() {
    for (reply, voices) in [
        (
            "The Chinese word 谢谢 means thank you.",
            &["en", "cmn-latn-pinyin", "en"][..],
        ),
        ("In Japanese, こんにちは means hello.", &["en", "ja", "en"]),
        (
            "Tôi tên là 王小明, rất vui được gặp bạn.",
            &["vi", "cmn-latn-pinyin", "vi"],
        ),
        // Across sentences: a short one keeps its own voice.
        ("你呢？Tôi thích Hà Nội lắm.", &["cmn-latn-pinyin", "vi"]),
        ("好。I will go to the market.", &["cmn-latn-pinyin", "en"]),
        // Acronyms, and Latin in Japanese, are not read right by those voices.
        (
            "这个API的response很慢。",
            &["cmn-latn-pinyin", "en", "cmn-latn-pinyin"],
        ),
        ("Pythonは たのしいです。", &["en", "ja"]),
    ] {
        let said = calls(reply);
        let got: Vec<&str> = said.iter().map(|(v, _, _)| v.as_str()).collect();
        assert_eq!(got, voices, "{reply}: {said:?}");
        for (voice, text, p) in &said {
            assert!(!spelled_out(p), "{reply}: {voice} spells out {text:?}: {p}");
        }
    }
    // What stays with its neighbours: the Chinese voice reads an English word in English.
    let said = calls("我喜欢用Python写程序。");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].2.contains("(en)paI"), "{said:?}");
    // The check tells: one voice for the whole sentence spells the word out.
    assert!(spelled_out(&phonemes(
        "en",
        "The Chinese word 谢谢 means thank you."
    )));
    assert!(spelled_out(&phonemes("vi", "Tôi tên là 王小明.")));
    assert!(spelled_out(&phonemes("ja", "Pythonで")));
}

#[test]
fn the_runs_of_a_sentence_are_spoken_in_order_without_a_pause() {
    let dir = tempfile::tempdir().unwrap();
    let (path, log) = crate::support::logging_espeak(dir.path());
    let mut config = Config::new();
    config.lines("audio", "sentence_pause_ms = 700\nlinger_ms = 100");
    let cfg = config.write(dir.path());
    let run = say_with(
        dir.path(),
        &cfg,
        "The Chinese word 谢谢 means thank you. Then we had some tea by the river.",
        &[("PATH", path)],
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    let calls = crate::support::espeak_calls(&log);
    assert_eq!(
        calls,
        [
            ("en", "The Chinese word"),
            ("cmn-latn-pinyin", "谢谢"),
            ("en", "means thank you."),
            ("en", "Then we had some tea by the river."),
        ]
        .map(|(v, t)| (v.to_string(), t.to_string())),
    );
    // The sentence's pause (700 ms) comes between the two sentences only, not between the
    // runs of the first.
    let pauses: Vec<String> = run
        .stderr
        .lines()
        .filter(|l| l.contains("sentence played"))
        .map(|l| log_field(l, "pause_ms").unwrap())
        .collect();
    assert_eq!(pauses, ["0", "0", "700", "0"], "{}", run.stderr);
    assert!(!run.audio.stretches().is_empty(), "{}", run.stderr);
}
