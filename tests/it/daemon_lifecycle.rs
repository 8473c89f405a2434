//! `voicebox run` as systemd runs it, with real components: SIGTERM while speaking, SIGHUP with
//! a broken config, and the sd_notify protocol (READY, STATUS, WATCHDOG, STOPPING). The one
//! timed assertion is the shutdown bound the issue demands (SIGTERM → exit within 2 s).
//!
//! What a press does is in `daemon_turns.rs`.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::PATIENCE;
use crate::support::config::Config;
use crate::support::daemon::{Daemon, Launch, long_story};
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::journald::field;
use crate::support::script;
use crate::support::sound::{Audio, spoken_mic};

#[test]
fn sigterm_while_speaking_exits_0_within_2_s_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, "tell me a story");
    let (story, _) = long_story();
    let fake = FakeOllama::start(vec![Reply::chat(&story)]);
    // espeak-ng speaks the first sentence at once; for the later ones it is kept waiting on
    // its stdin for 30 s, so an espeak-ng that shutdown fails to kill outlives the daemon.
    let first = dir.join("tts-first");
    let tts = script(
        dir,
        "tts.sh",
        &format!(
            "if [ -e '{f}' ]; then (cat; sleep 30) | espeak-ng --stdout --stdin\n\
             else touch '{f}'; exec espeak-ng --stdout --stdin; fi",
            f = first.display()
        ),
    );
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "command", &Config::fixed_stt("tell me a story"))
        .set("tts", "command", &Config::argv(&[tts.to_str().unwrap()]));
    let mut d = Daemon::start(dir, &config, &mic);

    d.talk(1);
    d.wait_state("speaking");
    let end = Instant::now() + PATIENCE;
    while Audio::read(dir).speech().is_empty()
        || !d.descendants().iter().any(|p| p.comm == "espeak-ng")
    {
        assert!(Instant::now() < end, "the reply never started playing");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(d.status()["state"], "speaking");
    let children = d.descendants();

    let asked = Instant::now();
    d.signal(libc::SIGTERM);
    let status = d.wait_exit(Duration::from_secs(10));
    let took = asked.elapsed();
    let status = status.expect("voicebox still running 10 s after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", d.stderr());
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");

    assert!(
        !d.socket.exists(),
        "the control socket file was left behind"
    );
    // SIGKILL reaches a process group at once; give the kernel a moment to finish them.
    let end = Instant::now() + Duration::from_millis(500);
    while children.iter().any(|p| p.alive()) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<_> = children.iter().filter(|p| p.alive()).collect();
    assert!(left.is_empty(), "left running: {left:?} (of {children:?})");
    let j = d.journal();
    assert!(j.iter().any(|e| e["MESSAGE"] == "shutting down"));
    // The turn cut short still left its summary.
    assert_eq!(field(&d.turn_summary(1), "OUTCOME"), "cancelled");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, "are you still there");
    let fake = FakeOllama::start(vec![Reply::chat("Still here. The old config works.")]);
    let mut config = Config::daemon(&fake.url());
    config.set("stt", "command", &Config::fixed_stt("are you still there"));
    let mut d = Daemon::start(dir, &config, &mic);

    std::fs::write(&d.config_path, "[ollama]\nattemps = 3\n").unwrap();
    d.signal(libc::SIGHUP);
    let failed = d.wait_entry("reload error", |e| {
        e["MESSAGE"]
            .as_str()
            .is_some_and(|m| m.starts_with("config reload failed"))
    });
    assert_eq!(field(&failed, "PRIORITY"), "3", "an error: {failed}");
    assert!(field(&failed, "MESSAGE").contains("attemps"), "{failed}");

    assert!(d.running(), "SIGHUP stopped the daemon: {}", d.stderr());
    assert_eq!(d.status()["state"], "idle");
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn systemd_hears_ready_status_watchdog_and_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let notify = dir.join("notify.sock");
    let listener = UnixDatagram::bind(&notify).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // The model warm-up hangs: readiness must not wait for it.
    let fake = FakeOllama::start(vec![Reply::Hang]);
    let mut config = Config::daemon(&fake.url());
    config.set("ollama", "warm_up", "true");
    let launch = Launch::new(Path::new("/dev/zero"))
        .env("NOTIFY_SOCKET", notify.to_str().unwrap())
        .env("WATCHDOG_USEC", "200000");
    let mut d = Daemon::launch(dir, &config, launch);

    let mut got: Vec<String> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut receive = |got: &mut Vec<String>| {
        if let Ok(n) = listener.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    };
    let end = Instant::now() + PATIENCE;
    // Pings arrive every 100 ms (half of WATCHDOG_USEC) while the daemon is idle.
    while got.iter().filter(|m| *m == "WATCHDOG=1\n").count() < 5 {
        assert!(Instant::now() < end, "notifications so far: {got:?}");
        receive(&mut got);
    }
    assert_eq!(got[0], "READY=1\n", "{got:?}");
    assert!(got.iter().any(|m| m.starts_with("STATUS=idle")), "{got:?}");
    // Ready and pinging while the warm-up request is still unanswered.
    assert_eq!(fake.wait_requests(1, PATIENCE), 1);
    let warm = &fake.requests()[0];
    assert_eq!(warm.path, "/api/generate");
    assert_eq!(warm.json()["prompt"], "");
    assert_eq!(warm.json()["keep_alive"], "30m");
    assert!(
        !d.journal_text().contains("warm"),
        "the warm-up finished already: {}",
        d.journal_text()
    );

    d.signal(libc::SIGTERM);
    let status = d.wait_exit(PATIENCE).expect("exited");
    assert_eq!(status.code(), Some(0));
    let end = Instant::now() + Duration::from_secs(5);
    while !got.iter().any(|m| m == "STOPPING=1\n") && Instant::now() < end {
        receive(&mut got);
    }
    assert!(got.iter().any(|m| m == "STOPPING=1\n"), "{got:?}");
}
