//! Hook runner: starts a TTS/STT helper from an argv array (never a shell), feeds it stdin,
//! collects bounded output (`pipes.rs`), and kills its whole process group when it is done,
//! too slow, too loud or cancelled.
//!
//! The deadline holds whatever the hook's descendants do: a helper that escaped into its own
//! session and holds stdout open neither keeps the caller waiting nor hides the hook's exit,
//! and it inherits none of the daemon's other descriptors to hold instead.

mod pipes;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cancel;
use pipes::End;

/// How much of a hook's stderr is kept for the log line.
const STDERR_KEEP: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("cannot start hook `{program}`: {source}; check that it is installed and on PATH")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("hook `{program}` did not finish within {}ms and was killed{}", after.as_millis(), said(stderr))]
    Timeout {
        program: String,
        after: Duration,
        stderr: String,
    },
    #[error("hook `{program}` failed ({status}): {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("hook `{program}` wrote more than {limit} bytes and was killed")]
    TooLarge { program: String, limit: usize },
    #[error("hook `{program}` was cancelled")]
    Cancelled { program: String },
}

/// "; its stderr: ..." when the hook said anything, for the timeout message.
fn said(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr: {stderr}")
    }
}

/// A hook's captured output.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    /// The first bytes of stderr, lossily decoded (for logs).
    pub stderr: String,
    pub elapsed: Duration,
}

/// One configured hook: argv, a per-run timeout and an output cap.
#[derive(Debug, Clone)]
pub struct Hook {
    pub argv: Vec<String>,
    pub timeout: Duration,
    pub max_output: usize,
}

impl Hook {
    /// Does any argument hold `placeholder` (e.g. `{text}`)? Then stdin is not used.
    pub fn uses(&self, placeholder: &str) -> bool {
        self.argv.iter().any(|a| a.contains(placeholder))
    }

    /// Runs the hook. `placeholder` is replaced by `value` inside arguments (as data: no shell
    /// ever sees it); `stdin` is written to the child's stdin. Returns once the hook has exited
    /// and its output is read, the timeout passed or `cancel` fired; in every case whatever is
    /// left of its process group is killed and the hook reaped.
    pub fn run(
        &self,
        placeholder: Option<(&str, &str)>,
        stdin: Option<&[u8]>,
        cancel: &cancel::Token,
    ) -> Result<Output, HookError> {
        let program = self.argv.first().cloned().unwrap_or_default();
        if cancel.is_cancelled() {
            return Err(HookError::Cancelled { program });
        }
        let args = self.argv[1..].iter().map(|a| match placeholder {
            Some((p, v)) => a.replace(p, v),
            None => a.clone(),
        });
        // Resolved here rather than left to exec: the error then says "not installed" the same
        // way everywhere (qemu-user, for one, cannot report a failed exec to the parent).
        let Some(path) = find_program(&program) else {
            return Err(HookError::Spawn {
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not found on PATH or not executable",
                ),
                program,
            });
        };
        let started = Instant::now();
        let mut command = Command::new(&path);
        command
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so one kill reaches the hook's children too (a wrapper
            // script's espeak-ng, say), not just the direct child.
            .process_group(0)
            // The daemon's systemd channel is its own: a hook must not be able to report
            // READY/WATCHDOG on its behalf.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        // In this process, not in a `pre_exec` closure: any closure makes std fork the whole
        // daemon instead of posix_spawn's vfork, which cost 4-5 ms per hook run (the whole-turn
        // bench: voicebox's share 28 ms, 17 ms without it).
        inherit_nothing();
        let mut child = command.spawn().map_err(|source| HookError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pid = child.id() as i32;
        // Runs at once if a cancel raced with the spawn. Unregistered only after the child is
        // reaped: until then its pid, and so the group id, cannot be reused.
        let kill_on_cancel = cancel.on_cancel(move || kill(pid));
        let deadline = started + self.timeout;
        let got = pipes::serve(
            &mut child,
            stdin,
            self.max_output,
            STDERR_KEEP,
            deadline,
            cancel,
        );
        // Exited or not, the group goes: its stragglers would outlive the work they were for.
        // The hook is not reaped yet, so its pid (the group id) still names this group.
        kill(pid);
        let status = child.wait();
        drop(kill_on_cancel);
        let stderr = String::from_utf8_lossy(&got.stderr).trim().to_string();
        let elapsed = started.elapsed();

        match got.end {
            End::Cancelled => return Err(HookError::Cancelled { program }),
            End::TimedOut => {
                return Err(HookError::Timeout {
                    program,
                    after: self.timeout,
                    stderr,
                });
            }
            End::TooLarge => {
                return Err(HookError::TooLarge {
                    program,
                    limit: self.max_output,
                });
            }
            End::Exited => {}
        }
        let status = status.unwrap_or_default();
        if !status.success() {
            let status = match (status.code(), status.signal()) {
                (Some(c), _) => format!("exit code {c}"),
                (None, Some(s)) => format!("killed by signal {s}"),
                _ => "unknown status".to_string(),
            };
            let stderr = if stderr.is_empty() {
                "(no stderr)".to_string()
            } else {
                stderr
            };
            return Err(HookError::Failed {
                program,
                status,
                stderr,
            });
        }
        Ok(Output {
            stdout: got.stdout,
            stderr,
            elapsed,
        })
    }
}

/// The executable a hook's program names: a path as given, or the first match on `$PATH`.
pub fn find_program(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// Marks every descriptor above stderr close-on-exec, just before a hook is spawned, so the hook
/// (and any helper it leaves behind) holds nothing of the daemon's: descriptors that libraries
/// open without `O_CLOEXEC` (alsa-lib's pipe to its `file` plugin's writer, a sound device)
/// would otherwise stay open for as long as the helper lives. The daemon itself never execs,
/// so the flag changes nothing for it, and the hook's own pipes are dup'ed onto 0-2 in the
/// child, which clears the flag there. A descriptor another thread opens without `O_CLOEXEC`
/// in the microseconds between this call and the spawn still leaks: the price of keeping the
/// spawn a vfork.
fn inherit_nothing() {
    // SAFETY: close_range and fcntl only change descriptor flags.
    unsafe {
        let marked = libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if marked != 0 {
            // Kernels before 5.11: one by one, up to a bound no daemon of this size reaches.
            for fd in 3..4096 {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// SIGKILL to the hook's process group and to the hook itself (which may have left the group).
/// Only while the hook is unreaped, so neither id can belong to anyone else yet.
fn kill(pid: i32) {
    if pid > 0 {
        // SAFETY: kill(2) signals a process group (negative) or a process; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests;
