//! What a user reads when the sound card is missing or ALSA is misconfigured: voicebox's one
//! line with its fix, not alsa-lib's "ALSA lib confmisc.c…" lines, which go to the debug log.
//! Runs the built binary with real alsa-lib, cpal, rodio and espeak-ng; only the ALSA
//! configuration is made up (a default device on a card that does not exist).

use std::process::Command;

const NO_CARD: &str = "pcm.!default { type hw card \"NoSuchCard\" }\n";

/// Runs `voicebox args` under the ALSA configuration `alsa`; it must fail without alsa-lib
/// writing to stderr. Returns stderr.
fn fails_quietly(alsa: &str, rust_log: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("asound.conf");
    std::fs::write(&conf, alsa).unwrap();
    std::fs::write(dir.path().join("voicebox.toml"), "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .args(args)
        .env("ALSA_CONFIG_PATH", &conf)
        .env("VOICEBOX_CONFIG", dir.path().join("voicebox.toml"))
        .env("RUST_LOG", rust_log)
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("ALSA lib")),
        "{args:?}: alsa-lib wrote to stderr:\n{stderr}"
    );
    stderr
}

#[test]
fn a_missing_card_gives_one_line_per_device_and_no_alsa_lib_noise() {
    for (args, says) in [
        (
            &["listen", "--seconds", "1"][..],
            "voicebox: cannot open input device \"default\"",
        ),
        (
            &["say", "Hello."],
            "voicebox: could not play audio: cannot open output device \"default\"",
        ),
    ] {
        let stderr = fails_quietly(NO_CARD, "info", args);
        let line = stderr.lines().find(|l| l.starts_with(says));
        assert!(
            line.is_some_and(|l| l.ends_with("_device")),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn alsa_lib_messages_are_debug_log_lines() {
    let stderr = fails_quietly(NO_CARD, "debug", &["listen", "--seconds", "1"]);
    let alsa: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("alsa-lib: Cannot get card index"))
        .collect();
    assert!(!alsa.is_empty(), "{stderr}");
    for line in alsa {
        assert!(
            line.contains("DEBUG") && line.contains("file=confmisc.c"),
            "{line}"
        );
    }
}

#[test]
fn a_broken_alsa_configuration_is_an_error_not_a_crash() {
    // A syntax error: alsa-lib cannot load its configuration at all.
    let broken = "pcm.!default { type hw card\n";
    for args in [&["devices"][..], &["listen", "--seconds", "1"]] {
        let stderr = fails_quietly(broken, "info", args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("voicebox: ALSA cannot be used") && stderr.contains("aplay -L"),
            "{args:?}: {stderr}"
        );
    }
}
