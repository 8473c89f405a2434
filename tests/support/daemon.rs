//! `voicebox run` as a child process for end-to-end tests: its own temp dir, config, control
//! socket and ALSA files, driven through the control socket and read back through journald and
//! /proc. Killed (SIGKILL) when dropped, so a failing test leaves no daemon behind.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long any "wait until" in these tests may take before it counts as a failure. Generous:
/// pocketsphinx and espeak-ng share two cores with the rest of the suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn alsa_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alsa/voicebox-test.conf")
}

/// A daemon config built from sections of `key = value` lines; `set` replaces a key.
#[derive(Clone)]
pub struct Config {
    sections: BTreeMap<String, Vec<(String, String)>>,
}

impl Config {
    /// Fast retries, warm-up off, clear gaps between sentences, a linger long enough that the
    /// unpaced output writes well over 0.35 s of silence after each sound, short recordings
    /// (the unpaced microphone fills `max_record_s` within milliseconds), the socket in `dir`.
    pub fn new(dir: &Path, url: &str) -> Config {
        let mut c = Config {
            sections: BTreeMap::new(),
        };
        c.set("ollama", "url", &format!("{url:?}"))
            .set("ollama", "attempts", "3")
            .set("ollama", "backoff_initial_ms", "50")
            .set("ollama", "backoff_max_ms", "200")
            .set("ollama", "connect_timeout_ms", "2000")
            .set("ollama", "request_timeout_s", "20")
            .set("ollama", "deadline_s", "60")
            .set("ollama", "warm_up", "false")
            .set("audio", "sentence_pause_ms", "700")
            .set("audio", "linger_ms", "300")
            .set("audio", "max_record_s", "5")
            .set("button", "min_press_ms", "50")
            .set(
                "control",
                "socket",
                &format!("{:?}", dir.join("control.sock").display().to_string()),
            );
        c
    }

    pub fn set(&mut self, section: &str, key: &str, value: &str) -> &mut Config {
        let lines = self.sections.entry(section.to_string()).or_default();
        lines.retain(|(k, _)| k != key);
        lines.push((key.to_string(), value.to_string()));
        self
    }

    /// An argv array as a TOML value.
    pub fn argv(args: &[&str]) -> String {
        let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        format!("[{}]", quoted.join(", "))
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (section, lines) in &self.sections {
            out.push_str(&format!("[{section}]\n"));
            for (k, v) in lines {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out.push('\n');
        }
        out
    }
}

/// espeak-ng says `text` (en-us+klatt, which pocketsphinx recognises), sox turns it into the raw
/// F32/48 kHz/stereo the app's capture negotiates on the test device (shared/research/
/// real-components.md §1; tests/listen.rs probes it), with 0.5 s before and a minute of silence
/// after: the unpaced device must read silence, not stale buffer data, after the words.
pub fn spoken_mic(dir: &Path, text: &str) -> PathBuf {
    let wav = dir.join("question.wav");
    let st = Command::new("espeak-ng")
        .args(["-v", "en-us+klatt", "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("run espeak-ng");
    assert!(st.success());
    let raw = dir.join("mic.raw");
    let st = Command::new("sox")
        .arg(&wav)
        .args([
            "-t",
            "raw",
            "-e",
            "floating-point",
            "-b",
            "32",
            "-r",
            "48000",
            "-c",
            "2",
        ])
        .arg(&raw)
        .args(["pad", "0.5", "60"])
        .status()
        .expect("run sox");
    assert!(st.success());
    raw
}

/// Writes an executable shell script into `dir` (a test's hook wrapper).
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

pub struct Daemon {
    child: Child,
    pub pid: u32,
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub config_path: PathBuf,
    exited: Option<ExitStatus>,
    /// Just before the start: bounds journal queries (pids are reused).
    started: std::time::SystemTime,
}

impl Daemon {
    /// Starts `voicebox --config DIR/voicebox.toml run` with the test ALSA device (capture
    /// reads `mic`, playback appends to `DIR/out_<format>_<rate>_<channels>.raw`), logging to
    /// journald (`JOURNAL_STREAM`), and waits until the control socket answers.
    pub fn start(dir: &Path, config: &Config, mic: &Path, env: &[(&str, &str)]) -> Daemon {
        super::journald::ensure_running();
        let started = std::time::SystemTime::now();
        let config_path = dir.join("voicebox.toml");
        std::fs::write(&config_path, config.text()).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_voicebox"));
        cmd.arg("--config")
            .arg(&config_path)
            .arg("run")
            .current_dir(dir)
            .env("ALSA_CONFIG_PATH", alsa_conf())
            .env("VOICEBOX_TEST_MIC", mic)
            .env(
                "VOICEBOX_TEST_SPK",
                format!("|cat >> {}/out_%f_%r_%c.raw", dir.display()),
            )
            // What systemd sets for a service whose output goes to the journal.
            .env("JOURNAL_STREAM", "8:12345")
            .env("RUST_LOG", "debug")
            .env("TMPDIR", dir)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("OLLAMA_HOST")
            .env_remove("OLLAMA_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start voicebox run");
        let pid = child.id();
        let mut d = Daemon {
            child,
            pid,
            dir: dir.to_path_buf(),
            socket: dir.join("control.sock"),
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

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
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
        assert_eq!(self.ctl(line).as_deref(), Some("ok"), "`{line}` refused");
    }

    pub fn status(&self) -> serde_json::Value {
        let line = self.ctl("status").expect("status answered");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("status {line:?}: {e}"))
    }

    /// Polls `status` (every 10 ms) until `want` holds; panics after `PATIENCE`.
    pub fn wait_status(
        &self,
        what: &str,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + PATIENCE;
        loop {
            let s = self.status();
            if want(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "status never became {what}; last {s}\njournal: {}",
                self.journal_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_state(&self, state: &str) -> serde_json::Value {
        self.wait_status(state, |s| s["state"] == state)
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
        super::journald::entries_of(self.pid, self.started)
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
        let found = super::journald::wait_for(self.pid, self.started, message, count, PATIENCE);
        assert!(
            found.len() >= count,
            "{count} × {message:?} not logged; journal:\n{}",
            self.journal_text()
        );
        found
    }

    /// The per-turn summary line of `turn`.
    pub fn turn_summary(&self, turn: u64) -> serde_json::Value {
        let end = Instant::now() + PATIENCE;
        loop {
            if let Some(e) = self
                .journal()
                .into_iter()
                .find(|e| e["MESSAGE"] == "turn" && e["TURN_ID"] == turn.to_string().as_str())
            {
                return e;
            }
            assert!(
                Instant::now() < end,
                "no turn summary for turn {turn}; journal:\n{}",
                self.journal_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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

    /// Threads of the daemon right now, by name (a thread that has only just started may
    /// still carry its parent's name).
    pub fn threads(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", self.pid))
            .unwrap()
            .filter_map(|t| {
                let t = t.ok()?;
                std::fs::read_to_string(t.path().join("comm")).ok()
            })
            .map(|n| n.trim().to_string())
            .collect();
        names.sort();
        names
    }

    /// How many file descriptors other than sockets the daemon holds.
    pub fn open_files(&self) -> usize {
        self.fds().iter().filter(|f| !f.contains("socket:")).count()
    }

    /// The daemon's file descriptors and what they point at.
    pub fn fds(&self) -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .unwrap()
            .filter_map(|e| {
                let e = e.ok()?;
                let to = std::fs::read_link(e.path()).ok()?;
                Some(format!(
                    "{}→{}",
                    e.file_name().to_string_lossy(),
                    to.display()
                ))
            })
            .collect()
    }

    /// utime + stime of the whole process, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        let f = stat_fields(&stat);
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }

    /// Every live descendant of the daemon (children, their children...), zombies included.
    pub fn descendants(&self) -> Vec<Proc> {
        let all = processes();
        let mut out: Vec<Proc> = Vec::new();
        let mut parents = vec![self.pid];
        while let Some(p) = parents.pop() {
            for c in all.iter().filter(|c| c.ppid == p) {
                parents.push(c.pid);
                out.push(c.clone());
            }
        }
        out
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A process as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    pub state: char,
    /// Start time in ticks since boot: with the pid, names the process even if pids are reused.
    pub start: u64,
}

impl Proc {
    /// Is this very process still running (not exited, not a zombie)?
    pub fn alive(&self) -> bool {
        read_proc(self.pid).is_some_and(|p| p.start == self.start && p.state != 'Z')
    }
}

/// Fields after `comm` (which may hold spaces), 0-based from the state field.
fn stat_fields(stat: &str) -> Vec<&str> {
    let after = stat.rfind(')').map_or(stat, |i| &stat[i + 2..]);
    after.split_whitespace().collect()
}

fn read_proc(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let comm = stat[stat.find('(')? + 1..stat.rfind(')')?].to_string();
    let f = stat_fields(&stat);
    Some(Proc {
        pid,
        ppid: f.get(1)?.parse().ok()?,
        comm,
        state: f.first()?.chars().next()?,
        start: f.get(19)?.parse().ok()?,
    })
}

fn processes() -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_proc)
        .collect()
}
