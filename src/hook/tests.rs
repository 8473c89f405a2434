//! The hook runner with real processes: argv and stdin in, output, failures, timeouts, cancels,
//! and hooks whose descendants hold the pipes.

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

/// A shell snippet that starts `cmd` in a session of its own (out of reach of the group kill)
/// with the hook's pipes inherited, and writes its pid to `pidfile`.
fn escaped(pidfile: &std::path::Path, cmd: &str) -> String {
    format!(
        "setsid sh -c 'echo $$ > {}; exec {cmd}' &",
        pidfile.display()
    )
}

/// Kills the escaped helper when the test ends (it is nobody's child any more).
struct Escapee(std::path::PathBuf);

impl Drop for Escapee {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(&self.0).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: signalling the test's own helper by pid.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn escapee() -> (tempfile::TempDir, Escapee) {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("helper.pid");
    (dir, Escapee(pidfile))
}

#[test]
fn a_helper_in_its_own_session_holding_stdout_does_not_hold_the_result() {
    let (_dir, helper) = escapee();
    let script = format!("{} printf spoken", escaped(&helper.0, "sleep 30"));
    let started = Instant::now();
    let out = hook(&["sh", "-c", &script], 20_000)
        .run(None, None, &cancel::Token::new())
        .unwrap();
    assert_eq!(out.stdout, b"spoken");
    // The hook exits at once; what is left is the grace for late output.
    let took = started.elapsed();
    assert!(took < pipes::GRACE + Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_helper_holding_stdout_cannot_stretch_the_timeout_or_a_cancel() {
    let (_dir, helper) = escapee();
    let script = format!("{} sleep 30", escaped(&helper.0, "sleep 30"));
    let started = Instant::now();
    let e = hook(&["sh", "-c", &script], 300)
        .run(None, None, &cancel::Token::new())
        .unwrap_err();
    assert!(matches!(e, HookError::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let (_dir, helper) = escapee();
    let script = format!("{} sleep 30", escaped(&helper.0, "sleep 30"));
    let k = cancel::Token::new();
    let k2 = k.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        k2.cancel();
    });
    let started = Instant::now();
    let e = hook(&["sh", "-c", &script], 20_000)
        .run(None, None, &k)
        .unwrap_err();
    assert!(matches!(e, HookError::Cancelled { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_helper_holding_stdin_unread_cannot_block_the_feed() {
    // 4 MiB is far more than a pipe holds: a blocking writer would wait for ever.
    let (_dir, helper) = escapee();
    let script = format!("{} echo heard", escaped(&helper.0, "sleep 30"));
    let big = vec![b'x'; 4 << 20];
    let started = Instant::now();
    let out = hook(&["sh", "-c", &script], 20_000)
        .run(None, Some(&big), &cancel::Token::new())
        .unwrap();
    assert_eq!(out.stdout, b"heard\n");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn late_output_within_the_grace_is_kept() {
    let out = hook(
        &["sh", "-c", "(sleep 0.1; printf late) & printf early"],
        5000,
    )
    .run(None, None, &cancel::Token::new())
    .unwrap();
    assert_eq!(out.stdout, b"earlylate");
}

#[test]
fn stragglers_of_the_hook_group_are_killed_when_it_is_done() {
    let out = hook(
        &["sh", "-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $!"],
        5000,
    )
    .run(None, None, &cancel::Token::new())
    .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // SIGKILL lands asynchronously: gone (or a zombie waiting for whoever reaps orphans here)
    // within a moment.
    let dead = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .to_string();
        (state.is_empty() || state.starts_with('Z')).then_some(())
    };
    let end = Instant::now() + Duration::from_secs(2);
    while dead().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(dead().is_some(), "the group's sleep {pid} is still running");
}

#[test]
fn a_timeout_says_what_the_hook_said() {
    let e = hook(&["sh", "-c", "echo loading the model >&2; sleep 30"], 300)
        .run(None, None, &cancel::Token::new())
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("within 300ms") && msg.contains("loading the model"),
        "{msg}"
    );
}

#[test]
fn the_hook_inherits_no_descriptor_of_the_daemon() {
    // As alsa-lib does: a descriptor opened without O_CLOEXEC.
    // SAFETY: dup of our own stderr; closed below.
    let leaked = unsafe { libc::dup(2) };
    assert!(leaked > 2);
    let out = hook(&["sh", "-c", "ls /proc/$$/fd"], 5000)
        .run(None, None, &cancel::Token::new())
        .unwrap();
    // SAFETY: closing the descriptor dup'ed above.
    unsafe { libc::close(leaked) };
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert!(!fds.contains(&leaked.to_string()), "{leaked} in {fds:?}");
    assert!(fds.contains(&"1".to_string()), "{fds:?}");
}
