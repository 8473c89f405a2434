//! Everyday use, end to end on real components (the test sound card, espeak-ng, journald, the
//! fake Ollama, `voicebox ctl`): the volume and its state file, announcements, the follow-up
//! window a question opens, the thinking cue during a slow answer.
//!
//! The sound card is unpaced, so what was heard is judged by counting samples in the output
//! file (`support::sound`); that the microphone opened is seen at the card itself, as opens of
//! its raw input file.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::journald::{field, num};
use crate::support::sound::{Audio, Opens, Sound, silent_mic, spoken_mic, tone_mic};

/// One sentence long enough for a clear level.
const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";
/// What the microphone hears and STT transcribes (a fixed hook: pocketsphinx is not on trial).
const QUESTION: &str = "what is the capital of france";

/// The daemon with `QUESTION` at the microphone, the fake Ollama answering `replies`, and the
/// config keys `(section, key, value)` set; returns it, the server and the microphone's file.
fn asked(
    dir: &Path,
    replies: Vec<Reply>,
    keys: &[(&str, &str, &str)],
) -> (Daemon, FakeOllama, PathBuf) {
    let mic = spoken_mic(dir, QUESTION);
    let fake = FakeOllama::start(replies);
    let mut config = Config::daemon(&fake.url());
    config.set("stt", "command", &Config::fixed_stt(QUESTION));
    for (section, key, value) in keys {
        config.set(section, key, value);
    }
    (Daemon::start(dir, &config, &mic), fake, mic)
}

/// The stretches of speech (not earcons) in what reached the speaker.
fn speech(dir: &Path) -> Vec<Sound> {
    let sounds = Audio::read(dir).sounds();
    sounds.into_iter().filter(|s| s.secs >= 0.5).collect()
}

/// `voicebox ctl ARGS` against the daemon, as a user or a script runs it.
fn ctl(d: &Daemon, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(&d.config_path)
        .arg("ctl")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ctl {args:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn volume_40_is_clearly_quieter_than_100_and_is_kept_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = tone_mic(dir);
    // Announcements never ask the server.
    let config = Config::daemon("http://127.0.0.1:9");
    let mut d = Daemon::start(dir, &config, &mic);
    assert_eq!(
        d.status()["volume"],
        100,
        "full volume before anything is kept"
    );

    ctl(&d, &["say", SENTENCE]);
    assert_eq!(d.wait_turn_end(1), "announced");
    assert_eq!(ctl(&d, &["volume", "40"]), "ok");
    assert_eq!(d.status()["volume"], 40);
    ctl(&d, &["say", SENTENCE]);
    assert_eq!(d.wait_turn_end(2), "announced");
    let heard = speech(dir);
    assert_eq!(heard.len(), 2, "{heard:?}");
    let (loud, quiet) = (heard[0].rms, heard[1].rms);
    // The curve puts 40 % at 0.22 of full gain (-13 dB): "clearly below" is under half.
    assert!(quiet < loud * 0.5, "RMS at 40: {quiet}, at 100: {loud}");
    assert!(
        quiet > loud * 0.1,
        "40 % is still clearly audible: {quiet} vs {loud}"
    );
    let kept = std::fs::read_to_string(d.state_file()).unwrap();
    assert_eq!(kept.trim(), r#"{"volume":40}"#);

    // A step up beeps once, at the new level.
    let before = Audio::read(dir).sounds().len();
    assert_eq!(ctl(&d, &["volume", "up"]), "ok");
    d.wait_status("volume 50", |s| s["volume"] == 50);
    let sounds = support::poll(support::PATIENCE, Duration::from_millis(50), || {
        let s = Audio::read(dir).sounds();
        (s.len() > before).then_some(s)
    })
    .expect("no beep");
    let beep = sounds[before];
    assert!(beep.secs < 0.2 && beep.peak < 0.3 * 0.5, "{beep:?}");

    // A restart finds the level where it was left.
    d.stop();
    let mut d = Daemon::start(dir, &config, &mic);
    assert_eq!(d.status()["volume"], 50);

    // A damaged state file: a warning in the journal, full volume, the box still starts.
    d.stop();
    std::fs::write(d.state_file(), "{\"volume\": fo").unwrap();
    let d = Daemon::start(dir, &config, &mic);
    assert_eq!(d.status()["volume"], 100);
    let warning = d.wait_entry("a warning about the state file", |e| {
        field(e, "MESSAGE").contains("damaged state file")
    });
    assert_eq!(field(&warning, "PRIORITY"), "4", "WARN: {warning}");
}

#[test]
fn ctl_say_speaks_two_sentences_from_idle_and_waits_for_a_turn_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let slow = Reply::chat("Paris it is.").after(Duration::from_secs(2));
    let (d, _fake, _) = asked(dir, vec![slow], &[]);

    let text = "The laundry is done. Please take it out of the machine.";
    assert_eq!(ctl(&d, &["say", text]), "ok");
    assert_eq!(d.wait_turn_end(1), "announced");
    assert_eq!(speech(dir).len(), 2, "two sentences, two stretches");
    let entry = d.wait_entry("the announcement's log line", |e| {
        e["MESSAGE"] == "announcement"
    });
    assert_eq!(field(&entry, "PRIORITY"), "5", "INFO: {entry}");
    assert_eq!(num(&entry, "RESPONSE_CHARS"), text.chars().count() as i64);
    assert_eq!(num(&entry, "SENTENCES"), 2);
    for e in d.journal() {
        if num(&e, "PRIORITY") <= 5 {
            assert!(
                !e.to_string().contains("laundry"),
                "private text at INFO: {e}"
            );
        }
    }

    // While a question is under way the announcement waits for its answer.
    d.talk(2);
    d.wait_state("thinking");
    assert_eq!(ctl(&d, &["say", "Dinner is ready."]), "ok");
    assert_eq!(d.status()["turn"], 2, "the question goes on");
    assert_eq!(d.wait_turn_end(3), "announced");
    assert_eq!(field(&d.turn_summary(2), "OUTCOME"), "answered");
    // The earlier two sentences, the answer, then the announcement.
    assert_eq!(speech(dir).len(), 4, "{:?}", speech(dir));
}

#[test]
fn a_question_reopens_the_microphone_and_a_silent_room_ends_it_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let replies = vec![
        Reply::chat("Paris is the capital of France."),
        // Slow enough that the test can hush the room before the window opens.
        Reply::chat("Paris is the capital of France. Would you like to know more?")
            .after(Duration::from_secs(1)),
    ];
    let (d, fake, mic) = asked(dir, replies, &[("conversation", "follow_up_s", "2")]);
    let mut opens = Opens::watch(&mic);

    // A statement: the microphone stays closed after the reply.
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered");
    let after_statement = opens.count();
    assert!(after_statement > 0, "the press opened the microphone");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        opens.count(),
        after_statement,
        "a statement reopened the microphone"
    );
    assert_eq!(d.status()["last_turn"], 1);

    // A question: once the recording is in, the room falls silent; after the reply the
    // microphone opens by itself, hears nothing, and the box goes back to idle.
    d.talk(2);
    let silence = dir.join("silence.raw");
    silent_mic(&silence, 10.0);
    std::fs::rename(&silence, &mic).unwrap();
    let before_reply = opens.count();
    assert_eq!(d.wait_turn_end(3), "no_follow_up", "{}", d.journal_text());
    assert!(
        opens.count() > before_reply,
        "the microphone did not reopen"
    );
    assert_eq!(field(&d.turn_summary(2), "OUTCOME"), "answered");
    assert_eq!(d.status()["remembered"], 2, "the conversation goes on");

    // Nothing was said after the question: no "didn't catch that".
    let heard = speech(dir);
    assert_eq!(heard.len(), 3, "one sentence, then two: {heard:?}");
    let spoken_after = d
        .journal()
        .into_iter()
        .filter(|e| e["MESSAGE"] == "reply spoken" && e["TURN"] == "3");
    assert_eq!(spoken_after.count(), 0, "{}", d.journal_text());
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_television_and_a_model_that_always_asks_stop_after_max_follow_ups() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The microphone is a television: every time it opens it hears speech, then a pause (the
    // card plays the file from its start at each open). The model ends every reply asking.
    let replies = (0..12)
        .map(|_| Reply::chat("Sure. Do you want to hear more?"))
        .collect();
    let (d, fake, _) = asked(
        dir,
        replies,
        &[
            ("conversation", "follow_up_s", "3"),
            ("conversation", "max_follow_ups", "2"),
        ],
    );

    // One press: its turn, then two follow-ups, then idle.
    d.talk(1);
    assert_eq!(d.wait_turn_end(3), "answered", "{}", d.journal_text());
    // Quiet means quiet: no further window opens on its own.
    std::thread::sleep(Duration::from_secs(2));
    let status = d.status();
    assert_eq!(
        (&status["state"], &status["last_turn"]),
        (&"idle".into(), &3.into()),
        "{}",
        d.journal_text()
    );
    assert_eq!(fake.requests().len(), 3);

    // A press starts a new chain of the same length.
    d.talk(4);
    assert_eq!(d.wait_turn_end(6), "answered", "{}", d.journal_text());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(d.status()["last_turn"], 6, "{}", d.journal_text());
    assert_eq!(fake.requests().len(), 6);
}

#[test]
fn the_thinking_cue_is_heard_during_a_slow_answer_and_stops_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let slow = Reply::chat("Paris is the capital of France.").after(Duration::from_millis(2500));
    let (d, _fake, _) = asked(dir, vec![slow], &[("audio", "thinking_cue_ms", "300")]);

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered");
    // Longer than the cue's period: a cue that went on after the reply would be heard by now.
    std::thread::sleep(Duration::from_millis(1500));
    let sounds = Audio::read(dir).sounds();
    let reply = sounds
        .iter()
        .position(|s| s.secs >= 0.5)
        .unwrap_or_else(|| panic!("no reply heard: {sounds:?}"));
    // The cue: short and soft (the earcons are 0.3 peak, the cue 0.1).
    let is_cue = |s: &&Sound| s.secs < 0.3 && s.peak < 0.15;
    let before = sounds[..reply].iter().filter(is_cue).count();
    let after = sounds[reply..].iter().filter(is_cue).count();
    // Ticks at 0.3, 1.3 and 2.3 s of a 2.5 s wait: at least two even on a loaded machine.
    assert!(
        before >= 2,
        "cue ticks before the reply: {before}; {sounds:?}"
    );
    assert_eq!(
        after, 0,
        "the cue went on after the reply started: {sounds:?}"
    );
    assert_eq!(
        sounds.len() - reply,
        1,
        "only the reply from there on: {sounds:?}"
    );
}
