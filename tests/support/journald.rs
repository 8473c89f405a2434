//! A real systemd-journald for tests: started once per machine if none answers, read back
//! with `journalctl -o json`.
//!
//! journald's socket path is fixed (`/run/systemd/journal/socket`), so one instance serves
//! every test; each test tells its entries apart by the daemon's `_PID`. An flock keeps
//! parallel tests from starting two. The instance is left running for the next test binary;
//! `.ci/test` stops it by pid at the end of the run.

use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SOCKET: &str = "/run/systemd/journal/socket";
const JOURNALD: &str = "/lib/systemd/systemd-journald";

/// Makes sure a journald accepts datagrams on the standard socket, starting one if needed.
pub fn ensure_running() {
    if accepts() {
        return;
    }
    let lock = std::fs::File::create("/tmp/voicebox-test-journald.lock").expect("lock file");
    // SAFETY: flock on a file descriptor we own; blocks until the other test released it.
    unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    if !accepts() {
        // A stale socket from a killed journald refuses connections; journald replaces it.
        // Own session and no inherited pipes: it outlives this test, and must not keep the test
        // runner's output pipe open (a `cargo test | tee` would never see EOF).
        #[allow(clippy::zombie_processes)] // journald outlives this process; .ci/test stops it
        let child = Command::new(JOURNALD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start systemd-journald (Debian package systemd)");
        std::fs::write("/tmp/voicebox-test-journald.pid", child.id().to_string()).ok();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !accepts() {
            assert!(
                Instant::now() < deadline,
                "systemd-journald did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn accepts() -> bool {
    Path::new(SOCKET).exists()
        && UnixDatagram::unbound()
            .and_then(|s| s.send_to(b"", SOCKET))
            .is_ok()
}

/// Every entry logged by process `pid` since `since` (just before it was started), as JSON
/// objects (all values are strings). The time bound matters: pid_max is 32768 here and the
/// journal keeps earlier runs, so a pid alone can match another, older process.
pub fn entries_of(pid: u32, since: SystemTime) -> Vec<serde_json::Value> {
    let since = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let _ = Command::new("journalctl").arg("--sync").status();
    let out = Command::new("journalctl")
        .args(["--no-pager", "-o", "json", "--all"])
        .arg(format!("--since=@{since}"))
        .arg(format!("_PID={pid}"))
        .output()
        .expect("run journalctl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The entries of `pid` whose MESSAGE equals `message`, waiting up to `wait` for them.
pub fn wait_for(
    pid: u32,
    since: SystemTime,
    message: &str,
    count: usize,
    wait: Duration,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + wait;
    loop {
        let found: Vec<_> = entries_of(pid, since)
            .into_iter()
            .filter(|e| e["MESSAGE"].as_str() == Some(message))
            .collect();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A field of a journal entry (all values are strings); panics, naming the entry, if absent.
pub fn field<'a>(e: &'a serde_json::Value, name: &str) -> &'a str {
    e[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {e}"))
}

/// Whether a journal entry has `name` as a whole number: the check for a `u64` field (a stage's
/// milliseconds) where any value is right, but a missing or garbled one is not.
pub fn has_count(e: &serde_json::Value, name: &str) -> bool {
    e[name].as_str().is_some_and(|v| v.parse::<u64>().is_ok())
}

/// A numeric field of a journal entry.
pub fn num(e: &serde_json::Value, name: &str) -> i64 {
    field(e, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} not a number in {e}"))
}
