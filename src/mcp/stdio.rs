//! A stdio MCP server: a child the daemon starts from an argv array (never a shell), owns and
//! kills; one JSON-RPC message per line on its stdin and stdout, its stderr to the log at DEBUG.

use std::io::BufReader;
use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::lock;
use super::wire::{self, Error, Message, Reply, Seen};

/// Lines read ahead of the request waiting for them.
const QUEUE: usize = 16;
/// How long writing one message to the server may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Conn {
    stdin: Mutex<ChildStdin>,
    /// The reader thread's lines; `None` once it reported the end.
    lines: Mutex<Receiver<Message>>,
    next_id: AtomicU64,
}

/// The running child: its process group is killed when the owner says so or the daemon dies.
pub struct Process {
    pub child: Child,
    pub conn: Arc<Conn>,
}

/// Starts the server: its own process group (so a kill reaches what it started), killed by the
/// kernel if the daemon dies (PR_SET_PDEATHSIG, tied to the calling thread: the supervisor's,
/// which outlives the child), stderr lines logged at DEBUG under the server's name.
pub fn spawn(name: &str, argv: &[String]) -> Result<Process, Error> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::Down("the command is empty".into()))?;
    let parent = std::process::id() as libc::pid_t;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl and getppid are async-signal-safe and touch no memory of the parent. A
    // server starts rarely (start, reload, restart), so the fork this closure costs is fine.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            if libc::getppid() != parent {
                // The daemon died between fork and prctl.
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| {
        Error::Down(format!(
            "cannot start {}: {e}",
            crate::printable::one_line(program)
        ))
    })?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill(child.id() as i32);
        let _ = child.wait();
        return Err(Error::Down("no pipes to the server".into()));
    };
    // Writes are bounded by poll (`Conn::send`), so the pipe must not block.
    // SAFETY: fcntl on the stdin pipe we own.
    unsafe {
        let fd = stdin.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let (tx, rx) = sync_channel(QUEUE);
    let reader = std::thread::Builder::new()
        .name(format!("mcp-{name}-out"))
        .spawn(move || {
            let mut r = BufReader::with_capacity(64 * 1024, stdout);
            while let Ok(Some(m)) = wire::read_line(&mut r) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
    let server = name.to_string();
    let logger = std::thread::Builder::new()
        .name(format!("mcp-{name}-err"))
        .spawn(move || {
            let mut r = BufReader::with_capacity(4096, stderr);
            while let Ok(Some(Message::Whole(line) | Message::Cut(line))) = wire::read_line(&mut r)
            {
                let line = String::from_utf8_lossy(&line[..line.len().min(2000)]);
                tracing::debug!(server, "{}", crate::printable::escaped(&line));
            }
        });
    if reader.is_err() || logger.is_err() {
        kill(child.id() as i32);
        let _ = child.wait();
        return Err(Error::Down("cannot start a thread".into()));
    }
    Ok(Process {
        child,
        conn: Arc::new(Conn {
            stdin: Mutex::new(stdin),
            lines: Mutex::new(rx),
            next_id: AtomicU64::new(1),
        }),
    })
}

/// Blocks until the child has exited, without reaping it: its pid, and so its process group's
/// id, stay reserved until `Child::wait`, so killing the group after this reaches only its own.
pub fn wait_exit(pid: i32) {
    loop {
        // SAFETY: waitid writes only into the zeroed siginfo it is given.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// Kills the server's process group (and the server, should it have left the group).
pub fn kill(pid: i32) {
    if pid > 0 {
        // SAFETY: kill(2) signals a process group (negative) or a process; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

impl Conn {
    /// One request and its answer, within `timeout`. Requests are one at a time (the lock on
    /// the lines); an answer that comes too late is skipped by the next request.
    pub fn request(&self, method: &str, params: Value, timeout: Duration) -> Result<Reply, Error> {
        let lines = lock(&self.lines);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.send(&wire::request(id, method, params))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match lines.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.send(&wire::notification(
                        "notifications/cancelled",
                        json!({"requestId": id, "reason": "timeout"}),
                    ));
                    return Err(Error::Timeout(timeout));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::Down("the server exited".into()));
                }
            };
            let bytes = match message {
                Message::Whole(b) => b,
                // Only an answer is ever that long; a stale one is skipped by its id below,
                // which a cut message no longer shows: take it as this request's.
                Message::Cut(prefix) => return Ok(Reply::Cut(prefix)),
            };
            match wire::classify(&bytes, id)? {
                Seen::Answer(Ok(v)) => return Ok(Reply::Result(v)),
                Seen::Answer(Err(m)) => return Err(Error::Rpc(m)),
                Seen::ServerRequest(line) => self.send(&line)?,
                Seen::Other => {}
            }
        }
    }

    pub fn notify(&self, method: &str, params: Value) -> Result<(), Error> {
        self.send(&wire::notification(method, params))
    }

    /// Writes one line within `SEND_TIMEOUT`: a server that stops reading its stdin fills the
    /// pipe, and a plain write would then block the caller for ever.
    fn send(&self, line: &[u8]) -> Result<(), Error> {
        let stdin = lock(&self.stdin);
        let fd = stdin.as_raw_fd();
        let deadline = Instant::now() + SEND_TIMEOUT;
        let mut rest = line;
        while !rest.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Down("the server stopped reading its input".into()));
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the stdin pipe we own.
            let ready = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(60_000) as i32) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Down(format!("the server exited ({e})")));
            }
            if ready == 0 {
                continue;
            }
            // SAFETY: writes from a live slice to the fd we own; the pipe is non-blocking.
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) {
                    continue;
                }
                return Err(Error::Down(format!("the server exited ({e})")));
            }
            rest = &rest[n as usize..];
        }
        Ok(())
    }
}
