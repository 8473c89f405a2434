//! `voicebox run` as a child process for end-to-end tests: its own temp dir, config, control
//! socket and sound-card files, driven through the control socket and read back through
//! journald (or its text log) and /proc. Stopped (SIGTERM, then SIGKILL) when dropped, so a
//! failing test leaves no daemon behind.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::config::Config;
use super::{PATIENCE, journald, poll, procfs, sound};

/// How the daemon is started besides its config.
pub struct Launch {
    /// What the microphone plays (`VOICEBOX_TEST_MIC`).
    mic: PathBuf,
    /// Set after the defaults, so an entry can replace one.
    env: Vec<(String, String)>,
    /// Logs to journald, as under systemd; else as text into `DIR/stderr.log`.
    journald: bool,
    bin: PathBuf,
}

impl Launch {
    /// This build's binary, logging to journald at DEBUG, the speaker appending to
    /// `DIR/out_*.raw`, the microphone playing `mic`.
    pub fn new(mic: &Path) -> Launch {
        Launch {
            mic: mic.to_path_buf(),
            env: Vec::new(),
            journald: true,
            bin: PathBuf::from(env!("CARGO_BIN_EXE_voicebox")),
        }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Launch {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Plain-text logs in `DIR/stderr.log` instead of journald.
    pub fn text_log(mut self) -> Launch {
        self.journald = false;
        self
    }

    pub fn bin(mut self, bin: impl Into<PathBuf>) -> Launch {
        self.bin = bin.into();
        self
    }
}

pub struct Daemon {
    child: Child,
    pub pid: u32,
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub config_path: PathBuf,
    exited: Option<ExitStatus>,
    /// Just before the start: bounds journal queries (pids are reused).
    started: SystemTime,
}

impl Daemon {
    /// Starts the daemon with `config` in `dir` (see `Launch::new`) and waits until the control
    /// socket answers.
    pub fn start(dir: &Path, config: &Config, mic: &Path) -> Daemon {
        Daemon::launch(dir, config, Launch::new(mic))
    }

    /// `voicebox --config DIR/voicebox.toml run` with the test sound card, its control socket
    /// at `DIR/control.sock`; returns once the socket answers.
    pub fn launch(dir: &Path, config: &Config, launch: Launch) -> Daemon {
        if launch.journald {
            journald::ensure_running();
        }
        let started = SystemTime::now();
        let socket = dir.join("control.sock");
        let config_path = config
            .clone()
            .set(
                "control",
                "socket",
                &Config::string(socket.to_str().unwrap()),
            )
            .write(dir);
        let mut cmd = Command::new(&launch.bin);
        cmd.arg("--config")
            .arg(&config_path)
            .arg("run")
            .current_dir(dir)
            .env("ALSA_CONFIG_PATH", super::alsa_conf())
            .env("VOICEBOX_TEST_MIC", &launch.mic)
            .env("VOICEBOX_TEST_SPK", sound::speaker_files(dir))
            .env("RUST_LOG", "debug")
            .env("TMPDIR", dir)
            // The volume is kept in DIR/state/voicebox: a restart in DIR finds it again.
            .env("XDG_STATE_HOME", dir.join("state"))
            .env_remove("STATE_DIRECTORY")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("OLLAMA_HOST")
            .env_remove("OLLAMA_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap());
        if launch.journald {
            // What systemd sets for a service whose output goes to the journal.
            cmd.env("JOURNAL_STREAM", "8:12345");
        } else {
            cmd.env_remove("JOURNAL_STREAM");
        }
        cmd.envs(launch.env);
        let child = cmd.spawn().expect("start voicebox run");
        let pid = child.id();
        let mut d = Daemon {
            child,
            pid,
            dir: dir.to_path_buf(),
            socket,
            config_path,
            exited: None,
            started,
        };
        let end = Instant::now() + PATIENCE;
        while d.ctl("status").is_none() {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("voicebox run exited at start with {st}: {}", d.stderr());
            }
            assert!(Instant::now() < end, "control socket never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    /// Where the daemon keeps its volume.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state/voicebox/state.json")
    }

    /// SIGTERM, and the exit (within 10 s) is a clean one.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        let st = self.wait_exit(Duration::from_secs(10));
        assert!(
            st.is_some_and(|s| s.success()),
            "voicebox run did not stop cleanly: {st:?}\n{}",
            self.stderr_tail()
        );
    }

    /// Everything the daemon wrote to stderr: its text log, or (with journald) only what
    /// bypasses logging.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// The last 30 lines of `stderr`, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let text = self.stderr();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// One control-socket line and its one-line reply; `None` if the socket does not answer.
    pub fn ctl(&self, line: &str) -> Option<String> {
        let mut s = UnixStream::connect(&self.socket).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        s.write_all(format!("{line}\n").as_bytes()).ok()?;
        let mut reply = String::new();
        BufReader::new(s).read_line(&mut reply).ok()?;
        Some(reply.trim_end().to_string())
    }

    pub fn send(&self, line: &str) {
        assert_eq!(
            self.ctl(line).as_deref(),
            Some("ok"),
            "`{line}` refused\n{}",
            self.stderr_tail()
        );
    }

    pub fn status(&self) -> serde_json::Value {
        let line = self
            .ctl("status")
            .unwrap_or_else(|| panic!("status not answered\n{}", self.stderr_tail()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("status {line:?}: {e}"))
    }

    /// Polls `status` (every 10 ms) until `want` holds; panics after `PATIENCE`.
    pub fn wait_status(
        &self,
        what: &str,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let found = poll(PATIENCE, Duration::from_millis(10), || {
            last = self.status();
            want(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| {
            panic!(
                "status never became {what}; last {last}\njournal: {}",
                self.journal_text()
            )
        })
    }

    pub fn wait_state(&self, state: &str) -> serde_json::Value {
        self.wait_status(state, |s| s["state"] == state)
    }

    /// Polls `status` (every 10 ms) until the daemon is in `state`; false after `limit`.
    /// Panics if the daemon died.
    pub fn reaches(&mut self, state: &str, limit: Duration) -> bool {
        poll(limit, Duration::from_millis(10), || {
            assert!(self.running(), "voicebox run died\n{}", self.stderr_tail());
            (self.status()["state"] == state).then_some(())
        })
        .is_some()
    }

    /// Hold-mode push-to-talk for turn `turn`: press, hold until the recording is complete,
    /// release. The test microphone is unpaced (usually far faster than real time, slower
    /// under load), so "long enough" is not a wall-clock time: the button is held until the
    /// capture has filled `audio.max_record_s` and the turn moved on, as a user holds it until
    /// they have finished speaking. The release then ends nothing.
    pub fn talk(&self, turn: u64) {
        self.send("press");
        self.wait_status(&format!("turn {turn} recorded"), |s| {
            (s["turn"].as_u64() == Some(turn) && s["state"] != "listening")
                || s["last_turn"].as_u64() >= Some(turn)
        });
        self.send("release");
    }

    /// Waits until turn `turn` has ended and the box is idle again; returns its outcome.
    pub fn wait_turn_end(&self, turn: u64) -> String {
        let s = self.wait_status(&format!("idle after turn {turn}"), |s| {
            s["state"] == "idle" && s["last_turn"].as_u64() >= Some(turn)
        });
        s["last_outcome"].as_str().unwrap_or_default().to_string()
    }

    pub fn journal(&self) -> Vec<serde_json::Value> {
        journald::entries_of(self.pid, self.started)
    }

    /// The journal as MESSAGE lines, for failure messages.
    pub fn journal_text(&self) -> String {
        self.journal()
            .iter()
            .map(|e| e["MESSAGE"].as_str().unwrap_or("?").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until at least `count` entries with this MESSAGE are in the journal.
    pub fn wait_log(&self, message: &str, count: usize) -> Vec<serde_json::Value> {
        let found = journald::wait_for(self.pid, self.started, message, count, PATIENCE);
        assert!(
            found.len() >= count,
            "{count} × {message:?} not logged; journal:\n{}",
            self.journal_text()
        );
        found
    }

    /// The per-turn summary line of `turn`.
    pub fn turn_summary(&self, turn: u64) -> serde_json::Value {
        let id = turn.to_string();
        self.wait_entry(&format!("a turn summary for turn {turn}"), |e| {
            e["MESSAGE"] == "turn" && e["TURN_ID"] == id.as_str()
        })
    }

    /// Polls the journal (every 100 ms) until an entry matches `want`; panics after
    /// `PATIENCE`, saying `what` was missing.
    pub fn wait_entry(
        &self,
        what: &str,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        poll(PATIENCE, Duration::from_millis(100), || {
            self.journal().into_iter().find(&want)
        })
        .unwrap_or_else(|| panic!("no {what} in the journal:\n{}", self.journal_text()))
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: signalling our own child by its pid (it is not reaped before `wait_exit`).
        assert_eq!(unsafe { libc::kill(self.pid as libc::pid_t, sig) }, 0);
    }

    /// Polls for the exit (every 2 ms) up to `limit`; `None` if still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.exited = Some(st);
                return Some(st);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn running(&mut self) -> bool {
        self.exited.is_none() && self.child.try_wait().unwrap().is_none()
    }

    /// How many threads the daemon runs.
    pub fn thread_count(&self) -> usize {
        self.threads().len()
    }

    /// Threads of the daemon right now, by name.
    pub fn threads(&self) -> Vec<String> {
        procfs::threads(self.pid)
    }

    /// How many file descriptors other than sockets the daemon holds.
    pub fn open_files(&self) -> usize {
        self.fds()
            .iter()
            .filter(|f| !f.to_string_lossy().starts_with("socket:"))
            .count()
    }

    /// What the daemon's file descriptors point at.
    pub fn fds(&self) -> Vec<PathBuf> {
        procfs::fd_targets(self.pid)
    }

    pub fn cpu_ticks(&self) -> u64 {
        procfs::cpu_ticks(self.pid)
    }

    /// Every live descendant of the daemon (children, their children...), zombies included.
    pub fn descendants(&self) -> Vec<procfs::Proc> {
        procfs::descendants(self.pid)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only a child not yet reaped: a reaped child's pid may already be someone else's.
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            super::stop_child(&mut self.child, libc::SIGTERM);
        }
    }
}

/// Thirty short sentences: long enough that a press during Speaking lands well before the end.
/// Returns the text and its sentence count.
pub fn long_story() -> (String, usize) {
    #[rustfmt::skip]
    const PARTS: [&str; 30] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen", "twenty", "twenty one", "twenty two", "twenty three", "twenty four",
        "twenty five", "twenty six", "twenty seven", "twenty eight", "twenty nine", "thirty",
    ];
    let text: Vec<String> = PARTS
        .iter()
        .map(|w| format!("This is part {w} of a long story."))
        .collect();
    (text.join(" "), text.len())
}
