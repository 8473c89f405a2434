//! Turns Unix signals into the daemon's two requests: stop (SIGTERM/SIGINT) and reload (SIGHUP).
//!
//! The first SIGTERM or SIGINT cancels the one `CancellationToken` the whole daemon watches; the
//! loop then stops audio, resets the pins and returns within `TimeoutStopSec`. SIGHUP posts a
//! reload request; the app re-reads the config and keeps the old one if the new one is invalid.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Receives one message per SIGHUP (bursts coalesce: a reload reads the newest file anyway).
pub type Reloads = mpsc::Receiver<()>;

/// Installs the handlers and returns the reload requests. Must be called inside a tokio runtime
/// with the IO driver enabled (signals are delivered through it).
pub fn listen(token: CancellationToken) -> std::io::Result<Reloads> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (reload_tx, reload_rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut stopping = false;
        loop {
            let (name, number) = tokio::select! {
                Some(()) = term.recv() => ("SIGTERM", libc::SIGTERM),
                Some(()) = int.recv() => ("SIGINT", libc::SIGINT),
                Some(()) = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    // Full means a reload is already pending; it will read the same file.
                    let _ = reload_tx.try_send(());
                    continue;
                }
                else => return,
            };
            if stopping {
                // The one `exit` below `main`, on purpose: the user (or an impatient script)
                // asked twice, so the graceful path is evidently stuck or too slow for them.
                // Waiting for it again would make the second signal useless. 128 + signal
                // number is the shell convention for "killed by this signal".
                tracing::warn!("second {name}: exiting at once");
                std::process::exit(128 + number);
            }
            stopping = true;
            tracing::info!("{name}: shutting down (send it again to exit at once)");
            token.cancel();
        }
    });
    Ok(reload_rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "VOICEBOX_SHUTDOWN_TEST_CHILD";

    /// The child half of the signal tests below: signals are process-wide, so they are raised
    /// in a process of their own, never in the shared test process. Ignored in a normal run;
    /// its parents run it with `--ignored`.
    #[test]
    #[ignore = "child half: run by the signal tests of this module"]
    fn child_raises_signals() {
        let which = std::env::var_os(CHILD).expect("run by a signal test, which says which signal");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let token = CancellationToken::new();
            let mut reloads = listen(token.clone()).unwrap();
            // SAFETY: raise has no memory-safety preconditions; the handlers are installed.
            unsafe { libc::raise(libc::SIGHUP) };
            reloads.recv().await.unwrap();
            println!("reload");
            assert!(!token.is_cancelled(), "SIGHUP must not stop the daemon");
            let first = if which == "int" {
                libc::SIGINT
            } else {
                libc::SIGTERM
            };
            unsafe { libc::raise(first) };
            token.cancelled().await;
            println!("cancelled");
            unsafe { libc::raise(libc::SIGTERM) };
            // The second signal must end the process; parking here forever would hang the
            // parent's `output()`, so give up loudly after a generous bound instead.
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            println!("still alive");
        });
    }

    fn run_child(which: &str) -> (Option<i32>, String) {
        let out = crate::testing::rerun_self()
            .args([
                "--exact",
                "shutdown::tests::child_raises_signals",
                "--ignored",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD, which)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn sigterm_stops_and_a_second_signal_exits_at_once() {
        let (code, stdout) = run_child("term");
        assert!(stdout.contains("reload\n"), "{stdout}");
        assert!(stdout.contains("cancelled\n"), "{stdout}");
        assert!(!stdout.contains("still alive"), "{stdout}");
        assert_eq!(code, Some(128 + libc::SIGTERM), "{stdout}");
    }

    #[test]
    fn sigint_stops_like_sigterm() {
        let (code, stdout) = run_child("int");
        assert!(stdout.contains("cancelled\n"), "{stdout}");
        assert_eq!(code, Some(128 + libc::SIGTERM), "{stdout}");
    }
}
