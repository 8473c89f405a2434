//! A hook's three pipes, served from the calling thread with poll(2): stdin fed, stdout and
//! stderr collected, until the hook has exited and its pipes have gone quiet.
//!
//! Why not "read to EOF": EOF comes only when every process holding the write end has closed
//! it, and a hook's descendant in a session of its own (a daemonized helper, `setsid`) keeps it
//! open long after the hook exited or was killed, out of reach of the group kill. So the end is
//! decided by the hook itself: it exited (seen through a pidfd, without reaping it) and its pipes
//! have been quiet for `GRACE`, or its deadline passed, or it was cancelled. The same goes for
//! stdin: a descendant that holds it without reading cannot block the feed.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::cancel;

/// After the hook exited, how long its pipes may stay silent before they are abandoned. Output
/// already written is in the pipe and read at once; this is only for late writers.
pub(super) const GRACE: Duration = Duration::from_millis(250);
/// Without a pidfd (kernels before 5.3), how often the hook's exit is looked for.
const EXIT_POLL: Duration = Duration::from_millis(2);
/// While waiting out the grace, how often a cancel is looked for.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// How serving the pipes ended. The hook is not reaped yet (its pid stays reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Exited,
    TimedOut,
    TooLarge,
    Cancelled,
}

pub(super) struct Collected {
    pub stdout: Vec<u8>,
    /// The first `keep` bytes of stderr; the rest is read and dropped.
    pub stderr: Vec<u8>,
    pub end: End,
}

/// One pipe end in non-blocking mode; `None` once closed.
struct Pipe<T>(Option<T>);

impl<T: AsRawFd> Pipe<T> {
    fn new(end: Option<T>) -> Pipe<T> {
        if let Some(e) = &end {
            set_nonblocking(e.as_raw_fd());
        }
        Pipe(end)
    }

    fn fd(&self) -> RawFd {
        self.0.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }
}

/// Serves the child's pipes until it exited and they are quiet, `deadline`, more than
/// `max_stdout` bytes of output, or `cancel`. Reads and writes never block.
pub(super) fn serve(
    child: &mut Child,
    stdin: Option<&[u8]>,
    max_stdout: usize,
    stderr_keep: usize,
    deadline: Instant,
    cancel: &cancel::Token,
) -> Collected {
    let mut input = Pipe::new(child.stdin.take());
    let mut output = Pipe::new(child.stdout.take());
    let mut errors = Pipe::new(child.stderr.take());
    let mut fed = stdin.unwrap_or_default();
    if fed.is_empty() {
        input.0 = None; // EOF at once
    }
    let exit = pidfd(child.id());
    let mut out = Collected {
        stdout: Vec::new(),
        stderr: Vec::new(),
        end: End::Exited,
    };
    // When the hook was seen to exit, then when its pipes last said something.
    let mut quiet_since: Option<Instant> = None;
    loop {
        if cancel.is_cancelled() {
            out.end = End::Cancelled;
            return out;
        }
        let now = Instant::now();
        if quiet_since.is_none() && exited(child) {
            quiet_since = Some(now);
            input.0 = None; // nobody is left to read it
        }
        if let Some(since) = quiet_since
            && ((output.0.is_none() && errors.0.is_none()) || now >= since + GRACE)
        {
            return out;
        }
        if now >= deadline {
            out.end = End::TimedOut;
            return out;
        }
        let mut wait = deadline - now;
        match quiet_since {
            Some(since) => wait = wait.min(since + GRACE - now).min(CANCEL_POLL),
            None if exit.is_none() => wait = wait.min(EXIT_POLL),
            None => {}
        }
        let mut fds = [
            poll_fd(input.fd(), libc::POLLOUT),
            poll_fd(output.fd(), libc::POLLIN),
            poll_fd(errors.fd(), libc::POLLIN),
            poll_fd(exit.as_ref().map_or(-1, AsRawFd::as_raw_fd), libc::POLLIN),
        ];
        if quiet_since.is_some() {
            fds[3].fd = -1; // already seen; a pidfd stays readable
        }
        let ms = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid array of pollfd for its length; negative fds are ignored.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if ready <= 0 {
            continue; // timeout or EINTR: the checks above decide
        }
        if fds[0].revents != 0 {
            fed = feed(&mut input, fed);
        }
        let before = out.stdout.len() + out.stderr.len();
        if fds[1].revents != 0 {
            drain(&mut output, &mut out.stdout, max_stdout + 1, true);
            if out.stdout.len() > max_stdout {
                out.end = End::TooLarge;
                return out;
            }
        }
        if fds[2].revents != 0 {
            drain(&mut errors, &mut out.stderr, stderr_keep, false);
        }
        if quiet_since.is_some() && out.stdout.len() + out.stderr.len() > before {
            quiet_since = Some(Instant::now());
        }
    }
}

fn poll_fd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Writes what the pipe takes now; closes it when everything is written or the reader left.
fn feed<'a, W: Write>(pipe: &mut Pipe<W>, data: &'a [u8]) -> &'a [u8] {
    let Some(w) = pipe.0.as_mut() else {
        return data;
    };
    let mut rest = data;
    while !rest.is_empty() {
        match w.write(rest) {
            Ok(0) => break,
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => return rest,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A hook that exits without reading all of stdin is not an error here; its exit
            // status says whether it worked.
            Err(_) => break,
        }
    }
    pipe.0 = None;
    &[]
}

/// Reads what is there; keeps up to `keep` bytes in `into` (`strict`: stops reading there, as
/// the caller ends the hook; otherwise the rest is dropped). Closes the pipe at EOF or error.
fn drain<R: Read>(pipe: &mut Pipe<R>, into: &mut Vec<u8>, keep: usize, strict: bool) {
    let Some(r) = pipe.0.as_mut() else {
        return;
    };
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = keep.saturating_sub(into.len()).min(n);
                into.extend_from_slice(&buf[..room]);
                if strict && into.len() >= keep {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    pipe.0 = None;
}

/// Whether the child has exited, without reaping it: its pid, and so its process group id,
/// stay reserved until `Child::wait`, so the group can still be killed safely.
fn exited(child: &Child) -> bool {
    // SAFETY: siginfo_t is plain data; waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child with a valid siginfo_t pointer; WNOWAIT leaves it unreaped.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            child.id(),
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is valid to read after a successful waitid (0 when nothing changed).
    r == 0 && unsafe { info.si_pid() } != 0
}

/// A pidfd for the child (readable once it exits), so the loop sleeps until something
/// happens instead of polling; `None` where the kernel has none.
fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the fd was just returned by the kernel and is owned by nobody else.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a pipe fd we own; only the O_NONBLOCK status flag changes.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}
