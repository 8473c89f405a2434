//! The daemon with hostile speech-to-text hooks and a glitching microphone, read back from a
//! real journald: every failure is heard, logged once at WARN with its reason, no deadline
//! stretches, and nothing crashes.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::Helpers;
use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::sound::{glitch, tone_mic};

/// A daemon whose STT hook is the script `body`, asking `fake`.
fn daemon(dir: &Path, fake: &FakeOllama, stt: &str, timeout_ms: u64, mic: &Path) -> Daemon {
    let hook = support::script(dir, "stt.sh", stt);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "command", &Config::argv(&[hook.to_str().unwrap()]))
        .set("stt", "timeout_ms", &timeout_ms.to_string());
    Daemon::start(dir, &config, mic)
}

/// Journal entries of `d` at WARN (priority 4) whose message contains `needle`.
fn warnings(d: &Daemon, needle: &str) -> Vec<String> {
    d.journal()
        .iter()
        .filter(|e| e["PRIORITY"] == "4")
        .filter_map(|e| e["MESSAGE"].as_str().map(str::to_string))
        .filter(|m| m.contains(needle))
        .collect()
}

#[test]
fn a_failed_transcription_is_logged_once_with_the_hooks_words() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOllama::start(vec![]);
    let stt = "cat > /dev/null\necho 'acoustic model missing: /usr/share/am' >&2\nexit 2";
    let d = daemon(dir.path(), &fake, stt, 10_000, &tone_mic(dir.path()));
    d.send("tap");
    assert_eq!(d.wait_turn_end(1), "stt_failed");
    d.turn_summary(1);
    let found = warnings(&d, "acoustic model missing");
    assert_eq!(found.len(), 1, "{found:?}\n{}", d.journal_text());
    assert!(found[0].contains("exit code 2"), "{}", found[0]);
    assert!(fake.requests().is_empty());
}

#[test]
fn a_transcription_deadline_holds_whatever_the_hooks_helpers_do() {
    let dir = tempfile::tempdir().unwrap();
    let helpers = Helpers::new(dir.path());
    let fake = FakeOllama::start(vec![Reply::chat("Fine.")]);
    // Each run leaves a helper in its own session holding stdout; the first run then hangs,
    // the second answers at once.
    let stt = format!(
        "{helper}\n\
         cat > /dev/null\n\
         if [ ! -e {dir}/hung ]; then touch {dir}/hung; echo 'waiting for the GPU' >&2; sleep 60; fi\n\
         echo hello there",
        helper = helpers.start(60),
        dir = dir.path().display()
    );
    let d = daemon(dir.path(), &fake, &stt, 1500, &tone_mic(dir.path()));
    let started = Instant::now();
    d.send("tap");
    assert_eq!(d.wait_turn_end(1), "stt_failed");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    d.turn_summary(1);
    let found = warnings(&d, "did not finish within 1500ms");
    assert_eq!(found.len(), 1, "{}", d.journal_text());
    assert!(found[0].contains("waiting for the GPU"), "{}", found[0]);

    d.send("tap");
    assert_eq!(d.wait_turn_end(2), "answered", "{}", d.journal_text());
    let asked = fake.requests();
    assert!(asked[0].body.contains("hello there"), "{}", asked[0].body);
}

#[test]
fn a_glitching_microphone_is_heard_as_sound_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mic = tone_mic(dir.path());
    glitch(&mic, 997);
    let fake = FakeOllama::start(vec![Reply::chat("Fine.")]);
    let mut d = daemon(
        dir.path(),
        &fake,
        "cat > /dev/null; echo what time is it",
        10_000,
        &mic,
    );
    d.send("tap");
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());
    assert!(d.running());
    // The panic hook logs to the journal; anything else to stderr.
    for text in [d.stderr(), d.journal_text()] {
        assert!(!text.contains("panicked"), "{text}");
    }
}
