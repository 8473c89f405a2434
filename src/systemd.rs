//! Talks to systemd over `$NOTIFY_SOCKET` (Type=notify): READY, STATUS, WATCHDOG, STOPPING.
//!
//! Every call is a no-op when the daemon does not run under systemd (`NOTIFY_SOCKET` unset), so
//! the same binary runs on a laptop. A failed notification is logged and otherwise ignored: the
//! daemon serving its user matters more than systemd hearing about it (a missed READY shows up
//! as a start timeout in `systemctl status`, which names the problem well enough).

use std::time::Duration;

use sd_notify::NotifyState;

/// Start-up is finished: config valid, actors up. systemd starts ordering dependants now.
pub fn ready() {
    send(&[NotifyState::Ready], "READY");
}

/// A one-line human status shown by `systemctl status voicebox` (e.g. "idle", "listening").
pub fn status(text: &str) {
    // A newline would end the STATUS= field and start a bogus assignment; keep it one line.
    let line = text.replace(['\n', '\r'], " ");
    send(&[NotifyState::Status(&line)], "STATUS");
}

/// The config is being re-read (SIGHUP). Follow with [`ready`] when done.
pub fn reloading() {
    // systemd >= 253 demands MONOTONIC_USEC with RELOADING=1 for Type=notify-reload; older
    // versions ignore the extra field, so always send it.
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now], "RELOADING"),
        Err(e) => {
            tracing::warn!("sd_notify RELOADING skipped: cannot read the monotonic clock: {e}")
        }
    }
}

/// Shutdown has begun; systemd stops waiting for READY/WATCHDOG and starts its stop timeout.
pub fn stopping() {
    send(&[NotifyState::Stopping], "STOPPING");
}

/// Keep-alive ping. Call it from the main loop itself (not a side task), so that a loop that
/// hangs stops pinging and systemd restarts the service.
pub fn watchdog() {
    send(&[NotifyState::Watchdog], "WATCHDOG");
}

/// How often to call [`watchdog`]: half of `$WATCHDOG_USEC` (sd_watchdog_enabled(3) advises
/// pinging at half the interval so one late wake-up is not fatal). `None` when systemd set no
/// watchdog for this process: then the loop needs no periodic timer at all.
pub fn watchdog_interval() -> Option<Duration> {
    ping_period(sd_notify::watchdog_enabled())
}

/// Half the watchdog timeout; a zero or absent timeout means "no watchdog".
fn ping_period(timeout: Option<Duration>) -> Option<Duration> {
    timeout.filter(|t| !t.is_zero()).map(|t| t / 2)
}

fn send(state: &[NotifyState], what: &str) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!("sd_notify {what} failed: {e} (is $NOTIFY_SOCKET stale?)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn ping_period_is_half_the_timeout() {
        let cases = [
            (None, None),
            (Some(Duration::ZERO), None),
            (Some(Duration::from_secs(30)), Some(Duration::from_secs(15))),
            (
                Some(Duration::from_micros(3)),
                Some(Duration::from_nanos(1500)),
            ),
        ];
        for (timeout, want) in cases {
            assert_eq!(ping_period(timeout), want, "timeout {timeout:?}");
        }
    }

    /// Which child behaviour to run when this test binary re-executes itself.
    const CHILD: &str = "VOICEBOX_SYSTEMD_TEST_CHILD";

    /// The child half of `notifications_reach_the_socket`: it runs in its own process because
    /// `NOTIFY_SOCKET` is process-wide and tests run in parallel. Ignored in a normal run, where
    /// it would have nothing to send to; its parent runs it with `--ignored`.
    #[test]
    #[ignore = "child half: run by notifications_reach_the_socket"]
    fn child_sends_notifications() {
        assert!(
            std::env::var_os(CHILD).is_some(),
            "run by notifications_reach_the_socket, which gives it a socket"
        );
        ready();
        status("thinking\nabout it");
        watchdog();
        status(&format!("interval={:?}", watchdog_interval()));
        reloading();
        stopping();
    }

    fn run_child(socket: &std::path::Path, watchdog_usec: &str) {
        let mut cmd = crate::testing::rerun_self();
        cmd.args([
            "--exact",
            "systemd::tests::child_sends_notifications",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("WATCHDOG_USEC", watchdog_usec)
        .env_remove("WATCHDOG_PID")
        .env("NOTIFY_SOCKET", socket);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "child failed: {out:?}");
    }

    #[test]
    fn notifications_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        run_child(&path, "30000000");

        // The child has exited, so every datagram it sent is already queued: read without
        // waiting, and stop at the first empty read.
        listener.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = listener.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], "READY=1\n");
        assert_eq!(got[1], "STATUS=thinking about it\n");
        assert_eq!(got[2], "WATCHDOG=1\n");
        assert_eq!(got[3], "STATUS=interval=Some(15s)\n");
        assert!(
            got[4].starts_with("RELOADING=1\nMONOTONIC_USEC="),
            "{:?}",
            got[4]
        );
        assert_eq!(got[5], "STOPPING=1\n");
    }
}
