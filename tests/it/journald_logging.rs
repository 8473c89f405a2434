//! Logs reach a real systemd-journald with unprefixed field names under `JOURNAL_STREAM`.

use std::process::Command;
use std::time::Duration;

use crate::support::journald;

#[test]
fn config_error_reaches_journald_with_plain_field_names() {
    journald::ensure_running();
    let since = std::time::SystemTime::now();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("voicebox.toml");
    std::fs::write(&cfg, "[ollama]\nattemps = 3\n").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .args(["--config", cfg.to_str().unwrap(), "check"])
        // What systemd sets for a service whose output goes to the journal.
        .env("JOURNAL_STREAM", "8:12345")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    let entries = journald::wait_for(
        pid,
        since,
        "config error: unknown field `attemps`, expected one of `url`, `model`, `endpoint`, `attempts`, `backoff_initial_ms`, `backoff_max_ms`, `connect_timeout_ms`, `request_timeout_s`, `deadline_s`, `stream`, `think`, `keep_alive`, `system_prompt`, `max_reply_bytes`, `api_key`, `use_env_proxy`, `warm_up`, `options`; check the spelling (valid keys are listed above) or remove the line",
        1,
        Duration::from_secs(5),
    );
    assert_eq!(
        entries.len(),
        1,
        "entries of pid {pid}: {:?}",
        journald::entries_of(pid, since)
    );
    let e = &entries[0];
    assert_eq!(e["SYSLOG_IDENTIFIER"], "voicebox");
    assert_eq!(e["KEY"], "ollama.attemps");
    assert_eq!(e["LINE"], "2");
    assert_eq!(e["PRIORITY"], "3");
    assert!(e.get("F_KEY").is_none(), "no field prefix");
}
