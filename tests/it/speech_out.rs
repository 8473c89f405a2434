//! `voicebox say` end to end on real components: espeak-ng as the TTS hook and alsa-lib's
//! `file` plugin as the speaker. Tests count samples, never wall time (the device is unpaced).

use crate::support;

use crate::support::config::Config;
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::say::say;
use crate::support::sound::Audio;
use crate::support::{Helpers, log_field, script};

const ESPEAK: &[&str] = &["espeak-ng", "--stdout", "--stdin"];

#[test]
fn english_three_sentences_give_three_stretches() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::speaker(ESPEAK).write(dir.path());
    let run = say(
        dir.path(),
        &cfg,
        "The weather is fine today. I will water the garden. Then we can have lunch outside.",
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    let s = run.audio.stretches();
    assert_eq!(s.len(), 3, "stretches {s:?}\n{}", run.stderr);
    assert!(s.iter().all(|d| *d > 0.5), "{s:?}");
    assert!(run.stderr.contains("reply spoken"), "{}", run.stderr);
    assert!(run.stderr.contains("sentences=3"), "{}", run.stderr);
    assert!(run.stderr.contains("first_audio_ms="), "{}", run.stderr);
}

#[test]
fn chinese_three_sentences_give_three_stretches() {
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        Config::speaker(&["espeak-ng", "--stdout", "-v", "{voice}", "--stdin"]).write(dir.path());
    let run = say(
        dir.path(),
        &cfg,
        "今天天气很好。我们去公园散步吧。然后一起吃午饭。",
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    let s = run.audio.stretches();
    assert_eq!(s.len(), 3, "stretches {s:?}\n{}", run.stderr);
}

#[test]
fn synthesis_runs_ahead_of_playback_and_order_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, log) = support::timed_espeak(dir.path(), r#"-- "$1""#);
    let cfg = Config::speaker(&[hook.to_str().unwrap(), "{text}"]).write(dir.path());
    let run = say(
        dir.path(),
        &cfg,
        "Short one here. This second sentence is quite a bit longer than the first one. \
         And this third sentence is the longest of them all, by a very wide margin indeed, truly.",
    );
    assert!(run.output.status.success(), "{}", run.stderr);

    // Playback order = sentence order: distinct lengths come out in increasing order.
    let s = run.audio.stretches();
    assert_eq!(s.len(), 3, "stretches {s:?}\n{}", run.stderr);
    assert!(s[0] < s[1] && s[1] < s[2], "out of order: {s:?}");

    let played: Vec<(u32, u64, u64)> = run
        .stderr
        .lines()
        .filter(|l| l.contains("sentence played"))
        .map(|l| {
            (
                log_field(l, "sentence").unwrap().parse().unwrap(),
                log_field(l, "play_start_ns").unwrap().parse().unwrap(),
                log_field(l, "play_end_ns").unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        played.iter().map(|p| p.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "{}",
        run.stderr
    );
    assert!(
        played.windows(2).all(|w| w[0].2 <= w[1].1),
        "overlapping playback {played:?}"
    );

    let starts: Vec<u64> = support::synth_starts(&log)
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(starts.len(), 3);
    // The second sentence was being synthesized while the first was still playing.
    assert!(
        starts[1] < played[0].2,
        "synthesis of sentence 2 started at {} after playback of sentence 1 ended at {}",
        starts[1],
        played[0].2
    );
}

#[test]
fn injection_is_spoken_literally_and_creates_nothing() {
    for stdin in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(dir.path().join("keep"), "x").unwrap();
        let argv: &[&str] = if stdin {
            ESPEAK
        } else {
            &["espeak-ng", "--stdout", "{text}"]
        };
        let cfg = Config::speaker(argv).write(dir.path());
        let text = format!(
            "-w {d}/w now. Run $(touch {d}/a) and `touch {d}/b`; rm -rf {d}/keep | tee {d}/c > {d}/e\n- -v"
        );
        let run = say(dir.path(), &cfg, &text);
        assert!(run.output.status.success(), "{}", run.stderr);
        assert!(!run.audio.stretches().is_empty(), "nothing was spoken");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("out_"))
            .collect();
        names.sort();
        assert_eq!(names, ["keep", "voicebox.toml"], "stdin={stdin}");
    }
}

#[test]
fn a_hanging_hook_is_killed_at_its_timeout_and_the_next_sentence_plays() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        dir.path(),
        "tts-hang",
        r#"case "$1" in *hang*) sleep 60;; esac
exec espeak-ng --stdout -- "$1""#,
    );
    let cfg = Config::speaker(&[hook.to_str().unwrap(), "{text}"])
        .lines("tts", "timeout_ms = 1500")
        .write(dir.path());
    let run = say(
        dir.path(),
        &cfg,
        "The first sentence is fine. Please hang here forever. The third sentence is fine too.",
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(run.audio.stretches().len(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("sentence skipped"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did not finish within 1500ms"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("failed=1"), "{}", run.stderr);
}

#[test]
fn a_failing_hook_is_logged_with_its_stderr_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        dir.path(),
        "tts-fail",
        r#"case "$1" in *fail*) echo "synthetic failure for this test" >&2; exit 1;; esac
exec espeak-ng --stdout -- "$1""#,
    );
    let cfg = Config::speaker(&[hook.to_str().unwrap(), "{text}"]).write(dir.path());
    let run = say(
        dir.path(),
        &cfg,
        "The first sentence is fine. This one will fail now. The third sentence is fine too.",
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(run.audio.stretches().len(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("synthetic failure for this test"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("exit code 1"), "{}", run.stderr);
}

#[test]
fn when_every_sentence_fails_the_error_earcon_plays_and_say_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::speaker(&["sh", "-c", "echo no voice >&2; exit 1"]).write(dir.path());
    let run = say(dir.path(), &cfg, "Hello there. How are you?");
    assert!(!run.output.status.success());
    assert!(
        run.stderr.contains("failed for every sentence"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no voice"), "{}", run.stderr);
    // The earcon: one short stretch, not silence.
    let s = run.audio.stretches();
    assert_eq!(s.len(), 1, "{s:?}");
    assert!(s[0] < 1.0, "{s:?}");
}

#[test]
fn nothing_to_say_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::speaker(ESPEAK).write(dir.path());
    let run = say(dir.path(), &cfg, "😀 👍 **");
    assert!(!run.output.status.success());
    assert!(run.stderr.contains("nothing to say"), "{}", run.stderr);
    assert!(Audio::read(dir.path()).stretches().is_empty());
}

#[test]
fn a_missing_output_device_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::speaker(ESPEAK)
        .set("audio", "output_device", "\"no-such-speaker\"")
        .write(dir.path());
    let run = say(dir.path(), &cfg, "Hello there.");
    assert!(!run.output.status.success());
    assert!(
        run.stderr
            .contains("output device \"no-such-speaker\" was not found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("audio.output_device"), "{}", run.stderr);
}

#[test]
fn a_helper_that_keeps_the_hook_output_open_does_not_mute_the_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let helpers = Helpers::new(dir.path());
    // Each call leaves a "daemon" in its own session holding the hook's stdout for a minute.
    let hook = script(
        dir.path(),
        "tts-daemonizing",
        &format!("{}\nexec espeak-ng --stdout --stdin", helpers.start(60)),
    );
    let cfg = Config::speaker(&[hook.to_str().unwrap()])
        .lines("tts", "timeout_ms = 20000")
        .write(dir.path());
    let started = std::time::Instant::now();
    let run = say(
        dir.path(),
        &cfg,
        "The first sentence. The second sentence. The third sentence.",
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(run.audio.speech().len(), 3, "{}", run.stderr);
    // Each sentence waits out at most the quiet grace, never the helper's minute (nor the
    // 20 s timeout).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(helpers.count(), 3, "one helper per sentence");
}

#[test]
fn audio_whose_header_lies_is_refused_by_name_and_non_finite_samples_play_as_silence() {
    let dir = tempfile::tempdir().unwrap();
    // A float WAV of a 440 Hz tone (1 s at 22050 Hz) with NaN, +inf and -inf sprinkled in.
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let good = dir.path().join("nan.wav");
    let mut w = hound::WavWriter::create(&good, spec).unwrap();
    for i in 0..22050 {
        let v = match i % 500 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / 22050.0).sin(),
        };
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let cfg = Config::speaker(&["cat", good.to_str().unwrap()]).write(dir.path());
    let run = say(dir.path(), &cfg, "x");
    assert!(run.output.status.success(), "{}", run.stderr);
    let played = run.audio.speech();
    assert_eq!(played.len(), 1, "{}", run.stderr);
    assert!(run.audio.peaks.iter().all(|p| p.is_finite() && *p <= 1.0));

    // The same file claiming 50 MHz and 10 channels, its byte rate and block align to match:
    // refused, naming the hook and what is accepted, without allocating for it.
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[22..24].copy_from_slice(&10u16.to_le_bytes());
    bytes[24..28].copy_from_slice(&50_000_000u32.to_le_bytes());
    bytes[28..32].copy_from_slice(&2_000_000_000u32.to_le_bytes());
    bytes[32..34].copy_from_slice(&40u16.to_le_bytes());
    let lie = dir.path().join("lie.wav");
    std::fs::write(&lie, &bytes).unwrap();
    let cfg = Config::speaker(&["cat", lie.to_str().unwrap()]).write(dir.path());
    let run = say(dir.path(), &cfg, "x");
    assert!(!run.output.status.success());
    for words in [
        "`cat`",
        "50000000 Hz with 10 channels",
        "4000–384000 Hz, 1–8 channels",
    ] {
        assert!(run.stderr.contains(words), "{words}: {}", run.stderr);
    }
}

#[test]
fn control_characters_in_a_reply_never_reach_the_hook() {
    // A NUL cannot be an argv element: in {text} it failed the sentence ("not on PATH").
    let fake = FakeOllama::start(vec![Reply::generate(
        "Hello\u{0} there, my friend. All \u{1b}[31mfine\u{1b}[0m here, thanks.",
    )]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::ollama(&fake.url())
        .set(
            "tts",
            "command",
            &Config::argv(&["espeak-ng", "--stdout", "{text}"]),
        )
        .lines("audio", "sentence_pause_ms = 700\nlinger_ms = 100")
        .write(dir.path());
    let run = support::say::run(dir.path(), &cfg, &["ask", "hi"], &[]);
    let stderr = &run.stderr;
    assert!(run.output.status.success(), "{stderr}");
    assert!(stderr.contains("failed=0"), "{stderr}");
    assert_eq!(run.audio.stretches().len(), 2, "{stderr}");
}
