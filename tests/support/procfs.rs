//! What /proc says about a process: its threads, file descriptors, descendants, memory and
//! CPU time. Idle-means-idle and leak checks are built from these.

use std::path::PathBuf;

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

/// Every live descendant of `pid` (children, their children...), zombies included.
pub fn descendants(pid: u32) -> Vec<Proc> {
    let all = processes();
    let mut out: Vec<Proc> = Vec::new();
    let mut parents = vec![pid];
    while let Some(p) = parents.pop() {
        for c in all.iter().filter(|c| c.ppid == p) {
            parents.push(c.pid);
            out.push(c.clone());
        }
    }
    out
}

/// The names of `pid`'s threads, sorted (a thread that has only just started may still carry
/// its parent's name).
pub fn threads(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}

/// What each of `pid`'s file descriptors points at (`/dev/null`, `pipe:[123]`, `socket:[456]`).
pub fn fd_targets(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .collect()
}

/// Socket inodes (as `fd_targets` shows them) of `pid`'s TCP connections to remote `port`.
pub fn tcp_sockets_to(pid: u32, port: u16) -> Vec<PathBuf> {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    let remote = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 9 && f[2].ends_with(&remote))
                .then(|| PathBuf::from(format!("socket:[{}]", f[9])))
        })
        .collect()
}

/// A number from `/proc/PID/status`, e.g. `VmRSS:` (KiB) or `Threads:`; -1 if missing.
pub fn status_field(pid: u32, key: &str) -> i64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// utime + stime of the whole process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f = stat_fields(&stat);
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
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
