//! Hook runner: starts a TTS/STT helper from an argv array (never a shell), feeds it stdin,
//! collects bounded output, and kills its whole process group on timeout or cancel.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cancel;

/// How much of a hook's stderr is kept for the log line.
const STDERR_KEEP: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("cannot start hook `{program}`: {source}; check that it is installed and on PATH")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("hook `{program}` did not finish within {}ms and was killed", after.as_millis())]
    Timeout { program: String, after: Duration },
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
    /// ever sees it); `stdin` is written to the child's stdin. Blocks until the child exits,
    /// the timeout passes or `cancel` fires, which kills the hook's whole process group.
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
        let mut child = Command::new(&path)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so a timeout kills the hook's children too (a wrapper script's
            // espeak-ng, say), not just the direct child.
            .process_group(0)
            // The daemon's systemd channel is its own: a hook must not be able to report
            // READY/WATCHDOG on its behalf.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .spawn()
            .map_err(|source| HookError::Spawn {
                program: program.clone(),
                source,
            })?;
        let pgid = child.id() as i32;
        // Runs at once if a cancel raced with the spawn. Unregistered only after the child is
        // reaped: until then its pid, and so the group id, cannot be reused.
        let kill_on_cancel = cancel.on_cancel(move || kill_group(pgid));

        let feeder = child
            .stdin
            .take()
            .zip(stdin.map(<[u8]>::to_vec))
            .map(|(mut w, data)| {
                std::thread::spawn(move || {
                    // A hook that exits without reading all of stdin is not an error here; its
                    // exit status says whether it worked.
                    let _ = w.write_all(&data);
                })
            });
        let stderr_reader = child.stderr.take().map(|r| {
            std::thread::spawn(move || {
                let mut r = r;
                let mut kept = Vec::new();
                let _ = (&mut r).take(STDERR_KEEP as u64).read_to_end(&mut kept);
                // Drain the rest so the hook never blocks on a full stderr pipe.
                let _ = std::io::copy(&mut r, &mut std::io::sink());
                String::from_utf8_lossy(&kept).trim().to_string()
            })
        });

        let (tx, rx) = mpsc::channel();
        let mut out = child.stdout.take();
        let limit = self.max_output;
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut too_large = false;
            if let Some(out) = out.as_mut() {
                let _ = out.take(limit as u64 + 1).read_to_end(&mut buf);
                too_large = buf.len() > limit;
            }
            let _ = tx.send(());
            (buf, too_large)
        });

        let deadline = started + self.timeout;
        let timed_out = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_err();
        let (stdout, too_large) = if timed_out || cancel.is_cancelled() {
            kill_group(pgid);
            reader.join().unwrap_or_default()
        } else {
            let r = reader.join().unwrap_or_default();
            if r.1 {
                kill_group(pgid);
            }
            r
        };
        // stdout is closed; the child is exiting or killed. Waiting here also reaps it (no zombies).
        let status = wait_bounded(&mut child, deadline, pgid);
        drop(kill_on_cancel);
        if let Some(f) = feeder {
            let _ = f.join();
        }
        let stderr = stderr_reader
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let elapsed = started.elapsed();

        if cancel.is_cancelled() {
            return Err(HookError::Cancelled { program });
        }
        if timed_out || status.is_none() {
            return Err(HookError::Timeout {
                program,
                after: self.timeout,
            });
        }
        if too_large {
            return Err(HookError::TooLarge { program, limit });
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
            stdout,
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

/// Waits for the child; if it still lives after the deadline (it closed stdout but kept
/// running), kills its group and reaps it. `None` means it had to be killed.
fn wait_bounded(
    child: &mut std::process::Child,
    deadline: Instant,
    pgid: i32,
) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                kill_group(pgid);
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(argv: &[&str], timeout_ms: u64) -> Hook {
        Hook {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
            max_output: 1 << 20,
        }
    }

    #[test]
    fn stdin_goes_in_and_stdout_comes_out() {
        let out = hook(&["cat"], 5000)
            .run(None, Some(b"hello"), &cancel::Token::new())
            .unwrap();
        assert_eq!(out.stdout, b"hello");
    }

    #[test]
    fn placeholder_is_one_argument_never_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let evil = format!(
            "$(touch {0}/a) `touch {0}/b`; touch {0}/c | tee {0}/d > {0}/e",
            dir.path().display()
        );
        let out = hook(&["printf", "%s", "{text}"], 5000)
            .run(Some(("{text}", &evil)), None, &cancel::Token::new())
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), evil);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing was created"
        );
    }

    #[test]
    fn failure_carries_status_and_stderr() {
        let e = hook(&["sh", "-c", "echo broken >&2; exit 3"], 5000)
            .run(None, None, &cancel::Token::new())
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("exit code 3") && msg.contains("broken"),
            "{msg}"
        );
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let started = Instant::now();
        // The grandchild `sleep` keeps stdout open; only a group kill ends it.
        let e = hook(&["sh", "-c", "sleep 30 & sleep 30"], 200)
            .run(None, None, &cancel::Token::new())
            .unwrap_err();
        assert!(matches!(e, HookError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_cancel_from_another_thread_kills_the_hook() {
        let k = cancel::Token::new();
        let k2 = k.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            k2.cancel();
        });
        let started = Instant::now();
        let e = hook(&["sleep", "30"], 20_000)
            .run(None, None, &k)
            .unwrap_err();
        assert!(matches!(e, HookError::Cancelled { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let e = hook(&["/nonexistent/tts"], 1000)
            .run(None, None, &cancel::Token::new())
            .unwrap_err();
        assert!(matches!(e, HookError::Spawn { .. }), "{e}");
    }

    #[test]
    fn output_is_capped() {
        let mut h = hook(&["head", "-c", "100000", "/dev/zero"], 5000);
        h.max_output = 1000;
        let e = h.run(None, None, &cancel::Token::new()).unwrap_err();
        assert!(matches!(e, HookError::TooLarge { .. }), "{e}");
    }
}
