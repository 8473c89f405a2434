//! Checks the shipped unit `systemd/voicebox.service` with systemd's own offline tools.
//!
//! `systemd-analyze verify` needs `ExecStart` to exist, so the unit is copied to a temp dir with
//! `ExecStart` pointed at the freshly built binary; everything else is checked as shipped.

use std::path::{Path, PathBuf};
use std::process::Command;

const UNIT: &str = include_str!("../../systemd/voicebox.service");

/// The shipped unit, with its ExecStart rewritten to the built binary, in a fresh temp dir.
fn unit_for_test() -> (tempfile::TempDir, PathBuf) {
    let bin = env!("CARGO_BIN_EXE_voicebox");
    let mut rewritten = 0;
    let text: String = UNIT
        .lines()
        .map(|line| match line.strip_prefix("ExecStart=") {
            Some(rest) => {
                rewritten += 1;
                let args = rest.strip_prefix("/usr/bin/voicebox").unwrap_or_else(|| {
                    panic!("ExecStart must run /usr/bin/voicebox, found {rest:?}")
                });
                format!("ExecStart={bin}{args}\n")
            }
            None => format!("{line}\n"),
        })
        .collect();
    assert_eq!(rewritten, 1, "exactly one ExecStart= line expected");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voicebox.service");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze must be installed (Debian package systemd)")
}

#[test]
fn unit_runs_the_daemon_as_specified() {
    // The product contract, not style: these lines are what the issue and the docs promise.
    for want in [
        "Type=notify",
        "ExecStart=/usr/bin/voicebox run",
        "NotifyAccess=main",
        "WatchdogSec=30s",
        "Restart=on-failure",
        "RestartPreventExitStatus=78",
        "User=voicebox",
        "SupplementaryGroups=audio gpio",
        "RuntimeDirectory=voicebox",
        "StateDirectory=voicebox",
        "After=network-online.target sound.target",
        "DeviceAllow=char-alsa rw",
        "DeviceAllow=char-gpiochip rw",
        "DeviceAllow=/dev/gpiomem rw",
        "DeviceAllow=/dev/gpiomem0 rw",
        "CapabilityBoundingSet=",
    ] {
        assert!(
            UNIT.lines().any(|l| l.trim() == want),
            "systemd/voicebox.service lacks the line {want:?}"
        );
    }
}

#[test]
fn verify_prints_nothing() {
    let (_dir, unit) = unit_for_test();
    let out = analyze(&["verify", "--man=no"], &unit);
    // Most unit mistakes are warnings ("Unknown key ..., ignoring") with exit status 0, so the
    // output must be empty, not merely the status zero.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.is_empty() && stderr.is_empty(),
        "systemd-analyze verify complained:\nstatus {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
}

/// The "Overall exposure level for voicebox.service: 1.5 OK" figure.
fn exposure(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|l| l.contains("Overall exposure level for"))?;
    let after = line.rsplit_once(": ")?.1;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn exposure_parser_reads_the_summary_line() {
    let cases = [
        (
            "→ Overall exposure level for voicebox.service: 1.5 OK 🙂",
            Some(1.5),
        ),
        (
            "→ Overall exposure level for x.service: 9.6 UNSAFE 😨\n",
            Some(9.6),
        ),
        ("no summary here", None),
    ];
    for (text, want) in cases {
        assert_eq!(exposure(text), want, "{text}");
    }
}

#[test]
fn security_exposure_is_at_most_2_5() {
    let (_dir, unit) = unit_for_test();
    // --threshold is in tenths of the printed score: 25 makes the tool itself fail above 2.5.
    let out = analyze(&["security", "--offline=true", "--threshold=25"], &unit);
    let report = String::from_utf8_lossy(&out.stdout);
    let score = exposure(&report).unwrap_or_else(|| {
        panic!(
            "no exposure line in:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(score <= 2.5, "exposure {score} > 2.5:\n{report}");
    assert!(out.status.success(), "threshold check failed:\n{report}");
}
