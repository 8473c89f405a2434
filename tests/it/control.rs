//! The control socket served for real on a temp path, driven by the built `voicebox ctl` binary
//! and by raw socket clients (bad input, long lines, many clients at once, silent clients).
//! Sockets of another local user: `tests/socket_owner.rs`.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::fake_ollama::{FakeOllama, Reply};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use voicebox::control;
use voicebox::event::{ControlCommand, Event};

struct Server {
    dir: tempfile::TempDir,
    socket: PathBuf,
    /// The commands the loop got (the responder answers each, as the loop does).
    events: std::sync::mpsc::Receiver<ControlCommand>,
    status: watch::Sender<String>,
    running: Option<Running>,
}

/// `control::serve` on its own thread and runtime, as the daemon runs it.
struct Running {
    shutdown: CancellationToken,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.thread.join().unwrap()
    }
}

/// Serves `socket` on a thread; returns once it accepts connections (polled, not slept).
fn serve_in_thread(
    socket: &Path,
    events: mpsc::UnboundedSender<Event>,
    status: watch::Receiver<String>,
) -> Running {
    let shutdown = CancellationToken::new();
    let (path, token) = (socket.to_path_buf(), shutdown.clone());
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(control::serve(&path, events, status, token))
    });
    for _ in 0..500 {
        if UnixStream::connect(socket).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Running { shutdown, thread }
}

/// A config whose control socket is `socket`, as `dir/voicebox.toml` (what `ctl` reads).
fn write_config(dir: &Path, socket: &Path) {
    Config::new()
        .set(
            "control",
            "socket",
            &Config::string(socket.to_str().unwrap()),
        )
        .write(dir);
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run/control.sock");
    write_config(dir.path(), &socket);
    let (tx, rx) = mpsc::unbounded_channel();
    let (status_tx, status_rx) = watch::channel(r#"{"state":"idle"}"#.to_string());
    let running = serve_in_thread(&socket, tx, status_rx);
    Server {
        dir,
        socket,
        events: respond(rx),
        status: status_tx,
        running: Some(running),
    }
}

impl Server {
    fn ctl(&self, cmd: &str) -> Output {
        ctl(self.dir.path(), cmd)
    }

    fn next_event(&mut self) -> ControlCommand {
        self.events
            .recv_timeout(Duration::from_secs(5))
            .expect("no event arrived")
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        self.running.take().unwrap().stop()
    }
}

fn ctl(dir: &Path, cmd: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .args(["ctl", cmd])
        .env("VOICEBOX_CONFIG", dir.join("voicebox.toml"))
        .output()
        .unwrap()
}

/// Sends raw bytes, then reads reply lines until the server closes or `lines` arrived.
fn raw(socket: &Path, bytes: &[u8], lines: usize) -> Vec<String> {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut r = BufReader::new(s);
    let mut out = Vec::new();
    while out.len() < lines {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            break;
        }
        out.push(l.trim_end().to_string());
    }
    out
}

/// Stands in for the daemon's loop: answers each command as done and passes it on.
fn respond(
    mut events: mpsc::UnboundedReceiver<Event>,
) -> std::sync::mpsc::Receiver<ControlCommand> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Some(mut e) = events.blocking_recv() {
            if let Some(reply) = e.take_reply() {
                let _ = reply.send(Ok(()));
            }
            if let Event::Control(c, _) = e {
                let _ = tx.send(c);
            }
        }
    });
    rx
}

fn is_control(e: &ControlCommand, want: ControlCommand) -> bool {
    *e == want
}

#[test]
fn ctl_commands_become_events_and_status_is_the_watch_value() {
    let mut srv = start();
    let mode = std::fs::metadata(&srv.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    for (cmd, want) in [
        ("press", ControlCommand::Press),
        ("release", ControlCommand::Release),
        ("tap", ControlCommand::Tap),
        ("cancel", ControlCommand::Cancel),
    ] {
        let out = srv.ctl(cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
        let e = srv.next_event();
        assert!(is_control(&e, want), "{cmd}: {e:?}");
    }
    srv.status
        .send(r#"{"state":"speaking","last_outcome":"ok"}"#.into())
        .unwrap();
    let out = srv.ctl("status");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"state\":\"speaking\",\"last_outcome\":\"ok\"}\n"
    );
    assert!(srv.events.try_recv().is_err(), "status posts no event");
    let socket = srv.socket.clone();
    srv.stop().unwrap();
    assert!(!socket.exists(), "socket removed on shutdown");
}

#[test]
fn bad_input_gets_an_error_line_and_the_server_keeps_going() {
    let mut srv = start();
    let replies = raw(&srv.socket, b"explode\n\n\xff\xfe\npress\nSTATUS\r\n", 4);
    assert_eq!(
        replies[0],
        "error: unknown command \"explode\"; try press, release, tap, cancel, status, volume N|up|down, say TEXT, timers, tool JSON"
    );
    assert!(
        replies[1].starts_with("error: unknown command"),
        "{replies:?}"
    );
    assert_eq!(replies[2], "ok");
    assert_eq!(replies[3], r#"{"state":"idle"}"#);
    assert!(is_control(&srv.next_event(), ControlCommand::Press));

    // An over-long line is refused and skipped; the connection goes on.
    let mut long = vec![b'a'; 100_000];
    long.extend_from_slice(b"\nrelease\n");
    let replies = raw(&srv.socket, &long, 2);
    assert_eq!(replies, vec!["error: line longer than 4096 bytes", "ok"]);
    assert!(is_control(&srv.next_event(), ControlCommand::Release));
    // A client that leaves mid-line does no harm either.
    let _ = UnixStream::connect(&srv.socket).unwrap().write_all(b"pre");

    let out = srv.ctl("tap");
    assert!(out.status.success());
    assert!(is_control(&srv.next_event(), ControlCommand::Tap));
    assert!(srv.events.try_recv().is_err(), "bad input posted nothing");
    srv.stop().unwrap();
}

#[test]
fn many_clients_at_once() {
    let mut srv = start();
    let socket = srv.socket.clone();
    let clients: Vec<_> = (0..40)
        .map(|_| {
            let s = socket.clone();
            std::thread::spawn(move || raw(&s, b"press\nrelease\n", 2))
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), vec!["ok", "ok"]);
    }
    let (mut press, mut release) = (0, 0);
    for _ in 0..80 {
        match srv.next_event() {
            ControlCommand::Press => press += 1,
            ControlCommand::Release => release += 1,
            e => panic!("{e:?}"),
        }
    }
    assert_eq!((press, release), (40, 40));
    srv.stop().unwrap();
}

#[test]
fn ctl_without_a_daemon_names_the_socket_and_says_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody.sock");
    write_config(dir.path(), &socket);
    let out = ctl(dir.path(), "press");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&socket.display().to_string()), "{stderr}");
    assert!(stderr.contains("voicebox run"), "{stderr}");
}

#[test]
fn stale_socket_is_replaced_but_a_live_one_or_a_plain_file_is_not() {
    // Stale: a socket file nobody listens on.
    let mut srv = start();
    let socket = srv.socket.clone();
    let dir_path = srv.dir.path().to_path_buf();
    srv.stop().unwrap();
    let stale = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(stale); // the file stays, nobody listens
    assert!(socket.exists());
    let srv2 = start_at(&socket);
    let out = ctl(&dir_path, "status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Live: a second server on the same path refuses and leaves the first alone.
    let err = serve_once_blocking(&socket).unwrap_err();
    assert!(err.to_string().contains("already listening"), "{err}");
    assert!(ctl(&dir_path, "status").status.success());
    let _ = srv2.stop();

    // A plain file is never deleted.
    let plain = dir_path.join("plain");
    std::fs::write(&plain, "keep me").unwrap();
    let err = serve_once_blocking(&plain).unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "keep me");
}

/// A second server on `socket` whose events and status nobody looks at.
fn start_at(socket: &Path) -> Running {
    let (tx, rx) = mpsc::unbounded_channel();
    std::mem::forget(rx); // events are not looked at here
    let (_s, status) = watch::channel(String::from("{}"));
    serve_in_thread(socket, tx, status)
}

fn serve_once_blocking(socket: &Path) -> anyhow::Result<()> {
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_s, status) = watch::channel(String::new());
    let token = CancellationToken::new();
    token.cancel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(control::serve(socket, tx, status, token))
}

#[test]
fn silent_clients_cannot_lock_out_ctl() {
    let mut srv = start();
    // More silent clients than the server serves at once, and one that trickles half a line.
    let silent: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(&srv.socket).unwrap())
        .collect();
    let mut trickler = UnixStream::connect(&srv.socket).unwrap();
    trickler.write_all(b"pre").unwrap();
    let started = Instant::now();
    let out = srv.ctl("tap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < control::LINE_DEADLINE + Duration::from_secs(3),
        "ctl waited {:?}",
        started.elapsed()
    );
    assert!(is_control(&srv.next_event(), ControlCommand::Tap));
    // The server closed every one of them (EOF), and took no command from the trickler.
    for mut s in silent.into_iter().chain([trickler]) {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(s.read(&mut byte).unwrap(), 0);
    }
    assert!(srv.events.try_recv().is_err());
    srv.stop().unwrap();
}

#[test]
fn an_ignored_command_says_so_and_a_lost_release_does_not_block_the_button() {
    let fake = FakeOllama::start(vec![Reply::chat("Fine."); 4]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::daemon(&fake.url());
    config
        .set("audio", "max_record_s", "1")
        .set("stt", "command", &Config::fixed_stt("hello"));
    let mic = support::sound::tone_mic(dir.path());
    let d = Daemon::start(dir.path(), &config, &mic);
    let run_ctl = |cmd: &str| {
        Command::new(env!("CARGO_BIN_EXE_voicebox"))
            .args(["--config", d.config_path.to_str().unwrap(), "ctl", cmd])
            .output()
            .unwrap()
    };
    let pressed = Instant::now();
    d.send("press");
    let out = run_ctl("press");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second press answered ok");
    assert!(
        stderr.contains("the daemon ignored `press`") && stderr.contains("already held"),
        "{stderr}"
    );
    // The script that pressed "crashed": no release comes. Once audio.max_record_s has passed,
    // the next press (the physical button, or another script) starts a new turn.
    std::thread::sleep(Duration::from_secs(1).saturating_sub(pressed.elapsed()));
    d.wait_turn_end(1);
    let out = run_ctl("press");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.wait_status("turn 2", |s| s["turn"] == 2 || s["last_turn"] == 2);
    d.send("release");
    let out = run_ctl("release");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no press is held"));
}
