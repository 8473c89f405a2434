//! Text for the ear, judged by what the engine says: odd forms of a reply (decomposed tone
//! marks, fullwidth digits, zero-width and bidi characters, terminal colours, stray markdown)
//! give the phonemes of the plain text in the voice chosen for it (`espeak-ng -v VOICE -x -q`,
//! real espeak-ng, the embedded default voices).

mod support;

use std::process::Command;

use support::config::Config;
use voicebox::speech::sentences::{Rules, split};
use voicebox::speech::voice::voice_for;

/// espeak-ng's phonemes for `text` in `voice`.
fn phonemes(voice: &str, text: &str) -> String {
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-x", "-q", "--", text])
        .output()
        .unwrap();
    assert!(out.status.success(), "espeak-ng -v {voice}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the box says for a reply with the embedded defaults: each sentence's voice and the
/// phonemes it gives.
fn spoken(reply: &str) -> Vec<(String, String)> {
    let config = Config::new().parse();
    let rules = Rules::new(&config.tts);
    split(reply, &rules)
        .into_iter()
        .map(|s| {
            let voice = voice_for(&config.tts, &s.lang).unwrap().to_string();
            let p = phonemes(&voice, &s.text);
            (voice, p)
        })
        .collect()
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
