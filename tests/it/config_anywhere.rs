//! `--config` anywhere on the command line, end to end: after a `ctl say` text of many words it
//! is still the config (and so the daemon's socket), not part of the announcement.

use std::process::Command;

use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::sound::tone_mic;

#[test]
fn ctl_say_with_config_after_the_text_reaches_that_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Announcements never ask the server.
    let d = Daemon::start(dir, &Config::daemon("http://127.0.0.1:9"), &tone_mic(dir));
    // No other socket to find: the default would be under this empty runtime directory.
    let runtime = dir.join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    for (turn, args) in [
        (1, &["ctl", "say", "Dinner is ready.", "--config"][..]),
        (2, &["ctl", "say", "Dinner", "is", "ready.", "--config"][..]),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
            .args(args)
            .arg(&d.config_path)
            .env_remove("VOICEBOX_CONFIG")
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert_eq!(d.wait_turn_end(turn), "announced");
    }
}
