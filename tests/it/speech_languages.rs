//! Each sentence in the voice of its own language, judged by what was said, with real
//! espeak-ng: the voice chosen for a sentence gives phonemes of its language
//! (`espeak-ng -v VOICE -x -q TEXT` has no "(en)" switch and no spelled-out "Chinese letter"),
//! the embedded defaults speak a Chinese reply correctly, and a mixed reply is routed sentence
//! by sentence while synthesis still runs ahead of playback.

use crate::support;

use std::process::Command;

use crate::support::config::Config;
use crate::support::say::{say, say_with};
use crate::support::{log_field, logging_espeak};
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

/// What a voice of the wrong language leaves in the phonemes: a switch to English rules
/// ("(en)"), or a character spelled out as "Chinese letter" / "Japanese letter" (by an English
/// voice, or by English rules inside another voice).
fn wrong_language(phonemes: &str) -> bool {
    ["(en)", "tS'aIni:z", "dZ'ap@ni:z", "l'et@", "l,Et3"]
        .iter()
        .any(|m| phonemes.contains(m))
}

/// The embedded defaults, with the test sound card's gaps between sentences.
fn defaults() -> Config {
    let mut c = Config::new();
    c.lines("audio", "sentence_pause_ms = 700\nlinger_ms = 100");
    c
}

#[test]
fn the_voice_chosen_for_each_language_speaks_that_language() {
    let config = defaults().parse();
    let rules = Rules::new(&config.tts);
    for (text, lang) in [
        ("今天天气很好，我们去公园散步吧。", "zh"),
        ("你觉得这个主意怎么样？", "zh"),
        ("こんにちは、きょうは いい てんきですね。", "ja"),
        ("Xin lỗi, tôi không nghe rõ câu hỏi của bạn.", "vi"),
        ("The weather is lovely today, so we can walk.", "en"),
        ("안녕하세요, 만나서 반갑습니다.", "ko"),
        ("Привет, как у тебя дела сегодня?", "ru"),
    ] {
        let sentences = split(text, &rules);
        assert_eq!(sentences.len(), 1, "{sentences:?}");
        assert_eq!(sentences[0].lang, lang, "{text}");
        let voice = voice_for(&config.tts, lang).unwrap();
        let p = phonemes(voice, &sentences[0].text);
        assert!(!wrong_language(&p), "{lang} in {voice}: {p}");
        if lang == "en" {
            assert!(!p.contains('('), "English switched language: {p}");
        }
    }
    // The check tells: the voices these replace read Chinese as English.
    assert!(wrong_language(&phonemes("en", "你好")), "the default voice");
    assert!(wrong_language(&phonemes("cmn", "你好")), "Debian 12's cmn");
}

#[test]
fn every_built_in_message_is_spoken_in_its_own_language() {
    let config = defaults().parse();
    let rules = Rules::new(&config.tts);
    let languages: Vec<&str> = config.messages.languages().collect();
    assert_eq!(languages, ["en", "ja", "vi", "zh"]);
    for lang in languages {
        // A ringing timer's label is said in the language it was set in.
        let label = match lang {
            "zh" => "喝茶",
            "vi" => "uống trà",
            "ja" => "おちゃ",
            _ => "tea",
        };
        for key in voicebox::config::MESSAGE_KEYS {
            let text = config
                .messages
                .get(key, lang, "en")
                .replace("{label}", label)
                .replace("{time}", "07:30");
            let text = text.as_str();
            for s in split(text, &rules) {
                assert_eq!(s.lang, lang, "{key} in {lang}: {s:?}");
                let voice = voice_for(&config.tts, lang).unwrap();
                let p = phonemes(voice, &s.text);
                assert!(!wrong_language(&p), "{key} in {lang}: {} -> {p}", s.text);
            }
        }
    }
}

#[test]
fn the_defaults_speak_a_mixed_reply_each_sentence_in_its_voice() {
    let dir = tempfile::tempdir().unwrap();
    let (path, log) = logging_espeak(dir.path());
    let cfg = defaults().write(dir.path());
    let run = say_with(
        dir.path(),
        &cfg,
        "今天天气很好，我们去公园散步吧。Then we can have lunch outside by the river. 然后一起吃午饭，好不好？",
        &[("PATH", path)],
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(run.audio.stretches().len(), 3, "{}", run.stderr);
    let calls = support::espeak_calls(&log);
    let voices: Vec<&str> = calls.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(
        voices,
        ["cmn-latn-pinyin", "en", "cmn-latn-pinyin"],
        "{calls:?}"
    );
    for (voice, text) in &calls {
        let p = phonemes(voice, text);
        assert!(!wrong_language(&p), "{voice}: {text} -> {p}");
    }
}

#[test]
fn a_mixed_reply_is_routed_sentence_by_sentence_and_synthesis_runs_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, log) = support::timed_espeak(dir.path(), r#"-v "$1" -- "$3""#);
    let cfg = defaults()
        .set(
            "tts",
            "command",
            &Config::argv(&[hook.to_str().unwrap(), "{voice}", "{lang}", "{text}"]),
        )
        .write(dir.path());
    let run = say(
        dir.path(),
        &cfg,
        "The weather is fine today, and the sky is clear. 今天天气很好，我们去公园散步吧。\
         Xin chào, hôm nay trời đẹp quá, chúng ta đi dạo nhé. こんにちは、きょうは いい てんきですね。",
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(run.audio.stretches().len(), 4, "{}", run.stderr);

    // The hook's arguments: voice, language, text.
    let starts: Vec<(u64, String)> = support::synth_starts(&log)
        .into_iter()
        .map(|(at, args)| (at, args.split(' ').take(2).collect::<Vec<_>>().join(" ")))
        .collect();
    let routed: Vec<&str> = starts.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(routed, ["en en", "cmn-latn-pinyin zh", "vi vi", "ja ja"]);

    let played: Vec<(String, u64)> = run
        .stderr
        .lines()
        .filter(|l| l.contains("sentence played"))
        .map(|l| {
            (
                log_field(l, "lang").unwrap(),
                log_field(l, "play_end_ns").unwrap().parse().unwrap(),
            )
        })
        .collect();
    let langs: Vec<&str> = played.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(langs, ["en", "zh", "vi", "ja"], "{}", run.stderr);
    // Each next sentence, in another language and voice, was being synthesized while the one
    // before it was still playing.
    for i in 1..starts.len() {
        assert!(
            starts[i].0 < played[i - 1].1,
            "sentence {} started at {} after sentence {i} ended at {}",
            i + 1,
            starts[i].0,
            played[i - 1].1
        );
    }
}
