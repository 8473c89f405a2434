//! `voicebox run` end to end with real components: systemd-journald, alsa-lib's `file` plugin as
//! the sound card, espeak-ng, pocketsphinx, a real nginx in front of the fake Ollama, and the
//! control socket as the button. Each test owns its daemon, temp dir, ports and socket; journald
//! is shared and read back by the daemon's `_PID`.
//!
//! The test sound card is unpaced (it plays and records far faster than real time), so audio is
//! judged by counting what reached the output file, never by wall time. The one timed assertion
//! is the shutdown bound the issue demands (SIGTERM → exit within 2 s).

mod common;
mod support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use support::daemon::{Config, Daemon, script, spoken_mic};
use support::fake_ollama::{FakeOllama, Reply};
use support::nginx::Nginx;

const QUESTION: &str = "what is the capital of france";
/// Three sentences, no commas (espeak-ng pauses at commas; only sentence gaps should split).
const ANSWER: &str = "Paris is the capital of France. It lies on the river Seine. \
                      About two million people live in the city.";

/// Durations of the stretches of speech in everything played so far. Earcons are 0.12 s
/// chirps (0.38 s for the error pair), so anything shorter than half a second is not speech.
fn speech(dir: &Path) -> Vec<f64> {
    common::Audio::read(dir)
        .stretches()
        .into_iter()
        .filter(|&d| d >= 0.5)
        .collect()
}

fn field<'a>(e: &'a serde_json::Value, name: &str) -> &'a str {
    e[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {e}"))
}

fn num(e: &serde_json::Value, name: &str) -> i64 {
    field(e, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} not a number in {e}"))
}

/// An STT hook that ignores the recording and "hears" `text` (where the test is about what
/// happens after transcription, pocketsphinx's CPU time buys nothing).
fn fixed_stt(text: &str) -> String {
    Config::argv(&["sh", "-c", &format!("cat > /dev/null; echo {text}")])
}

#[test]
fn a_spoken_question_is_answered_through_nginx_after_two_502s() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, QUESTION);
    // The fake resets the first two connections; nginx turns each into its own 502 page.
    let fake = FakeOllama::start(vec![Reply::Reset, Reply::Reset, Reply::chat(ANSWER)]);
    let nginx = Nginx::start(&format!(
        "location / {{ proxy_pass http://127.0.0.1:{}; }}",
        fake.port()
    ));
    let d = Daemon::start(dir, &Config::new(dir, &nginx.url()), &mic, &[]);
    let idle_threads = d.thread_count();
    let idle_fds = d.open_files();

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());

    // The question was transcribed by pocketsphinx and sent, on the third attempt.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        nginx
            .wait_log("reset by peer", Duration::from_secs(5))
            .is_some()
            || nginx
                .wait_log("prematurely closed", Duration::from_secs(1))
                .is_some(),
        "nginx did not see the upstream fail"
    );
    let sent = requests[2].json();
    assert_eq!(requests[2].path, "/api/chat");
    assert_eq!(sent["stream"], false);
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap()["role"], "user");
    assert_eq!(messages.last().unwrap()["content"], QUESTION);

    // The reply was played: one stretch of speech per sentence.
    let spoken = speech(dir);
    assert_eq!(spoken.len(), 3, "stretches of speech: {spoken:?}");

    // The reply line and the turn summary in journald.
    let reply = &d.wait_log("ollama reply", 1)[0];
    assert_eq!(num(reply, "RESPONSE_CHARS"), ANSWER.chars().count() as i64);
    assert_eq!(num(reply, "ATTEMPTS"), 3);
    assert_eq!(field(reply, "SYSLOG_IDENTIFIER"), "voicebox");
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "answered");
    assert_eq!(num(&turn, "ATTEMPTS"), 3);
    assert_eq!(num(&turn, "RESPONSE_CHARS"), ANSWER.chars().count() as i64);
    assert_eq!(
        num(&turn, "TRANSCRIPT_CHARS"),
        QUESTION.chars().count() as i64
    );
    assert_eq!(num(&turn, "SENTENCES"), 3);
    for stage in ["RECORD_MS", "STT_MS", "OLLAMA_MS", "FIRST_AUDIO_MS"] {
        assert!(num(&turn, stage) >= 0, "{stage} missing: {turn}");
    }
    assert!(num(&turn, "RECORD_MS") > 0);
    assert!(num(&turn, "TOTAL_MS") >= num(&turn, "STT_MS") + num(&turn, "OLLAMA_MS"));
    assert_eq!(field(&turn, "PRIORITY"), "5", "INFO");
    // What a user reads about a turn at INFO: the reply line and the summary, nothing else
    // (the retries are warnings, the rest is DEBUG).
    let info: Vec<String> = d
        .journal()
        .iter()
        .filter(|e| field(e, "PRIORITY") == "5")
        .map(|e| field(e, "MESSAGE").to_string())
        .filter(|m| !["voicebox ready", "control socket listening"].contains(&m.as_str()))
        .collect();
    assert_eq!(info, ["ollama reply", "turn"]);

    // Privacy: the transcript and the reply never appear at INFO or above.
    for e in d.journal() {
        if num(&e, "PRIORITY") <= 5 {
            let text = e.to_string();
            assert!(!text.contains("capital of"), "private text at INFO: {e}");
        }
    }

    assert_idle(&d, idle_threads, idle_fds, true);
}

/// Idle means idle: the output closed after its linger, the input closed, no worker thread or
/// child process is left, and the process burns no CPU.
///
/// `lingered`: every output was closed by its linger (not by a stop), so the log shows each
/// open matched by a close; stopped outputs are checked through the threads (cpal runs one
/// thread per open stream).
fn assert_idle(d: &Daemon, idle_threads: usize, idle_fds: usize, lingered: bool) {
    let end = Instant::now() + support::daemon::PATIENCE;
    if lingered {
        loop {
            let j = d.journal();
            let count = |m: &str| j.iter().filter(|e| e["MESSAGE"] == m).count();
            let (opened, closed) = (count("output opened"), count("output closed after linger"));
            if opened > 0 && opened == closed {
                break;
            }
            assert!(
                Instant::now() < end,
                "output opened {opened}×, closed {closed}×"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let end = Instant::now() + support::daemon::PATIENCE;
    while d.thread_count() != idle_threads {
        assert!(
            Instant::now() < end,
            "threads after the turn {:?}, {idle_threads} when idle before it",
            d.threads()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Files, pipes and devices as before the turn: a stream, a pipe to a hook or the `file`
    // plugin's `cat` would show here. Sockets are left out: control clients come and go, and
    // the HTTP client keeps its connection to the server alive for the next question.
    while d.open_files() != idle_fds {
        assert!(
            Instant::now() < end,
            "{} non-socket file descriptors open after the turn, {idle_fds} before it: {:?}",
            d.open_files(),
            d.fds()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let children = d.descendants();
    assert!(children.is_empty(), "child processes left: {children:?}");
    // Ticks, not wall time: a polling loop or an open unpaced stream burns whole seconds of
    // CPU here; an idle process none. One tick of slack for a tick boundary.
    let before = d.cpu_ticks();
    std::thread::sleep(Duration::from_secs(2));
    let after = d.cpu_ticks();
    assert!(
        after - before <= 1,
        "idle daemon used {} ticks",
        after - before
    );
}

#[test]
fn server_down_is_heard_and_the_next_press_is_answered_once_it_is_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, QUESTION);
    let port = support::free_port();
    let mut config = Config::new(dir, &format!("http://127.0.0.1:{port}"));
    config.set("ollama", "attempts", "2");
    let d = Daemon::start(dir, &config, &mic, &[]);
    let (idle_threads, idle_fds) = (d.thread_count(), d.open_files());

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "unreachable");
    let heard = speech(dir);
    assert!(
        !heard.is_empty(),
        "the failure was not spoken: {:?}",
        common::Audio::read(dir).stretches()
    );
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "unreachable");
    assert!(
        d.journal()
            .iter()
            .any(|e| e["MESSAGE"] == "reply spoken" && e["TURN"] == "1" && e["SENTENCES"] == "1"),
        "the message was not spoken as one sentence: {}",
        d.journal_text()
    );

    let fake = FakeOllama::start_on(port, vec![Reply::chat("The server is back. Paris it is.")]);
    d.talk(2);
    assert_eq!(d.wait_turn_end(2), "answered", "{}", d.journal_text());
    assert_eq!(field(&d.turn_summary(2), "OUTCOME"), "answered");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let messages = requests[0].json()["messages"].clone();
    assert_eq!(
        messages.as_array().unwrap().last().unwrap()["content"],
        QUESTION
    );
    assert_eq!(speech(dir).len(), heard.len() + 2);
    assert_idle(&d, idle_threads, idle_fds, true);
}

/// Thirty short sentences: long enough that a press during Speaking lands well before the end.
fn long_story() -> (String, usize) {
    let words = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "twenty one",
        "twenty two",
        "twenty three",
        "twenty four",
        "twenty five",
        "twenty six",
        "twenty seven",
        "twenty eight",
        "twenty nine",
        "thirty",
    ];
    let text: Vec<String> = words
        .iter()
        .map(|w| format!("This is part {w} of a long story."))
        .collect();
    (text.join(" "), words.len())
}

#[test]
fn a_press_while_speaking_stops_the_reply_and_listens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, "tell me a story");
    let (story, sentences) = long_story();
    let fake = FakeOllama::start(vec![Reply::chat(&story)]);
    // espeak-ng at the pace of a slower engine (piper on a Pi): the unpaced test device plays
    // a sentence the moment it is synthesized, so synthesis sets the pace of the reply, and
    // the test must be able to press before the end of it.
    let tts = script(dir, "tts.sh", "sleep 0.3; exec espeak-ng --stdout --stdin");
    let mut config = Config::new(dir, &fake.url());
    config
        .set("stt", "command", &fixed_stt("tell me a story"))
        .set("tts", "command", &Config::argv(&[tts.to_str().unwrap()]))
        // A long recording keeps the second turn in Listening long enough to be seen.
        .set("audio", "max_record_s", "30");
    let d = Daemon::start(dir, &config, &mic, &[]);
    let (idle_threads, idle_fds) = (d.thread_count(), d.open_files());

    d.talk(1);
    d.wait_state("speaking");
    // Let the reply be heard first, so the press cuts a reply that is really playing.
    let end = Instant::now() + support::daemon::PATIENCE;
    while speech(dir).is_empty() {
        assert!(Instant::now() < end, "the reply never started playing");
        std::thread::sleep(Duration::from_millis(20));
    }
    d.send("press");
    let s = d.wait_status("listening for turn 2", |s| s["turn"] == 2);
    assert_eq!(s["state"], "listening", "{s}");
    d.send("cancel");
    d.send("release");
    assert_eq!(d.wait_turn_end(2), "cancelled");

    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "interrupted");
    let report = d
        .journal()
        .into_iter()
        .find(|e| e["MESSAGE"] == "reply spoken" && e["TURN"] == "1")
        .expect("the speaker reported on turn 1");
    assert_eq!(field(&report, "STOPPED"), "true");
    assert_eq!(num(&report, "SENTENCES"), sentences as i64);
    let played = d
        .journal()
        .iter()
        .filter(|e| e["MESSAGE"] == "sentence played" && e["TURN"] == "1")
        .count();
    let heard = speech(dir);
    // Uninterrupted, every sentence is one stretch (the first test shows it): 30 here.
    assert!(
        (1..=sentences / 3).contains(&played) && (1..=sentences / 3).contains(&heard.len()),
        "{played} sentences played, {} stretches heard, of {sentences}",
        heard.len()
    );
    // The stopped synthesis, its hook and the stopped output are all gone.
    assert_idle(&d, idle_threads, idle_fds, false);
}

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
    let mut config = Config::new(dir, &fake.url());
    config
        .set("stt", "command", &fixed_stt("tell me a story"))
        .set("tts", "command", &Config::argv(&[tts.to_str().unwrap()]));
    let mut d = Daemon::start(dir, &config, &mic, &[]);

    d.talk(1);
    d.wait_state("speaking");
    let end = Instant::now() + support::daemon::PATIENCE;
    while speech(dir).is_empty() || !d.descendants().iter().any(|p| p.comm == "espeak-ng") {
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
    let mut config = Config::new(dir, &fake.url());
    config.set("stt", "command", &fixed_stt("are you still there"));
    let mut d = Daemon::start(dir, &config, &mic, &[]);

    std::fs::write(&d.config_path, "[ollama]\nattemps = 3\n").unwrap();
    d.signal(libc::SIGHUP);
    let end = Instant::now() + support::daemon::PATIENCE;
    let failed = loop {
        let found = d.journal().into_iter().find(|e| {
            e["MESSAGE"]
                .as_str()
                .is_some_and(|m| m.starts_with("config reload failed"))
        });
        if let Some(e) = found {
            break e;
        }
        assert!(
            Instant::now() < end,
            "no reload error: {}",
            d.journal_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
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
    let mut config = Config::new(dir, &fake.url());
    config.set("ollama", "warm_up", "true");
    let mut d = Daemon::start(
        dir,
        &config,
        Path::new("/dev/zero"),
        &[
            ("NOTIFY_SOCKET", notify.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );

    let mut got: Vec<String> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut receive = |got: &mut Vec<String>| {
        if let Ok(n) = listener.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    };
    let end = Instant::now() + support::daemon::PATIENCE;
    // Pings arrive every 100 ms (half of WATCHDOG_USEC) while the daemon is idle.
    while got.iter().filter(|m| *m == "WATCHDOG=1\n").count() < 5 {
        assert!(Instant::now() < end, "notifications so far: {got:?}");
        receive(&mut got);
    }
    assert_eq!(got[0], "READY=1\n", "{got:?}");
    assert!(got.iter().any(|m| m.starts_with("STATUS=idle")), "{got:?}");
    // Ready and pinging while the warm-up request is still unanswered.
    assert_eq!(fake.wait_requests(1, support::daemon::PATIENCE), 1);
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
    let status = d.wait_exit(support::daemon::PATIENCE).expect("exited");
    assert_eq!(status.code(), Some(0));
    let end = Instant::now() + Duration::from_secs(5);
    while !got.iter().any(|m| m == "STOPPING=1\n") && Instant::now() < end {
        receive(&mut got);
    }
    assert!(got.iter().any(|m| m == "STOPPING=1\n"), "{got:?}");
}

#[test]
fn a_press_on_a_silent_mic_says_it_did_not_catch_that_without_running_stt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let marker = dir.join("stt-ran");
    let fake = FakeOllama::start(vec![]);
    let mut config = Config::new(dir, &fake.url());
    config.set(
        "stt",
        "command",
        &Config::argv(&[
            "sh",
            "-c",
            &format!("touch '{}'; echo heard", marker.display()),
        ]),
    );
    let d = Daemon::start(dir, &config, Path::new("/dev/zero"), &[]);

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "didnt_catch", "{}", d.journal_text());
    assert!(!marker.exists(), "STT ran on silence");
    assert!(
        !speech(dir).is_empty(),
        "\"didn't catch that\" was not heard: {:?}",
        common::Audio::read(dir).stretches()
    );
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "didnt_catch");
    assert!(
        turn.get("STT_MS").is_none(),
        "STT never ran, so no STT_MS: {turn}"
    );
    assert!(fake.requests().is_empty());
}
