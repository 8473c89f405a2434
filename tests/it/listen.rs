//! `voicebox listen` end to end with real components: alsa-lib's `file` plugin as the microphone,
//! cpal capture, rubato, hound, and pocketsphinx as the STT hook. No mocks.
//!
//! Each test runs the built binary as a child process with its own ALSA environment (ALSA's
//! config is per process). The `file` device is unpaced, so inputs are padded with a minute of
//! silence and every length is counted in samples by the app.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use crate::support::config::Config;
use crate::support::sound::{MIC_FORMAT, spoken_mic};

fn voicebox(dir: &Path, mic: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_voicebox"));
    c.args(args)
        .current_dir(dir)
        .env("ALSA_CONFIG_PATH", support::alsa_conf())
        .env("VOICEBOX_CONFIG", dir.join("voicebox.toml"))
        .env("TMPDIR", dir)
        .env_remove("JOURNAL_STREAM")
        .env_remove("VOICEBOX_TEST_MIC")
        .env_remove("VOICEBOX_TEST_SPK");
    if let Some(m) = mic {
        c.env("VOICEBOX_TEST_MIC", m);
    }
    c.output().unwrap()
}

/// Learns the capture format the app negotiates: an ALSA config whose capture side also writes
/// what it captured to `cap_%f_%r_%c.raw`, one `listen` on /dev/zero, and the file name.
fn negotiated_format(dir: &Path) -> (String, u32, u16) {
    let probe = dir.join("probe");
    std::fs::create_dir(&probe).unwrap();
    let conf = probe.join("probe.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.!default {{ type asym capture.pcm {{ type file slave.pcm {{ type null }} \
             file \"{}/cap_%f_%r_%c.raw\" infile \"/dev/zero\" }} playback.pcm \"null\" }}\n",
            probe.display()
        ),
    )
    .unwrap();
    Config::new().write(&probe);
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .args(["listen", "--seconds", "0.2"])
        .env("ALSA_CONFIG_PATH", &conf)
        .env("VOICEBOX_CONFIG", probe.join("voicebox.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "silence must not be transcribed");
    let name = std::fs::read_dir(&probe)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("cap_"))
        .expect("the capture device was opened");
    // cap_FLOAT_LE_48000_2.raw
    let parts: Vec<&str> = name.trim_end_matches(".raw").rsplitn(3, '_').collect();
    let channels = parts[0].parse().unwrap();
    let rate = parts[1].parse().unwrap();
    let format = parts[2].trim_start_matches("cap_").to_string();
    (format, rate, channels)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_test_microphone_is_written_in_the_format_capture_negotiates() {
    // Every microphone input in these tests is raw audio in `MIC_FORMAT`: the unpaced file
    // device would read another format as noise at the wrong speed.
    let dir = tempfile::tempdir().unwrap();
    let (format, rate, channels) = negotiated_format(dir.path());
    assert_eq!((format.as_str(), rate, channels), MIC_FORMAT);
}

#[test]
fn spoken_question_is_transcribed_by_pocketsphinx() {
    let dir = tempfile::tempdir().unwrap();
    let mic = spoken_mic(dir.path(), "what is the capital of france");
    Config::new().write(dir.path()); // the default STT command: pocketsphinx_continuous
    let out = voicebox(dir.path(), Some(&mic), &["listen", "--seconds", "4"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(
        stdout, "what is the capital of france\n",
        "stderr: {stderr}"
    );
    for field in ["record_ms", "stt_ms", "transcript_chars"] {
        assert!(stderr.contains(field), "{field} not logged: {stderr}");
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("voicebox-stt-")),
        "the temporary WAV was removed"
    );
}

#[test]
fn silence_is_never_sent_to_stt() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("stt-was-called");
    let hook = format!("touch '{}'; echo heard", marker.display());
    Config::new()
        .set("stt", "command", &Config::argv(&["sh", "-c", &hook]))
        .write(dir.path());
    // Silence only (/dev/zero).
    let out = voicebox(dir.path(), None, &["listen", "--seconds", "2"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no speech heard"),
        "{}",
        text(&out.stderr)
    );
    assert!(!marker.exists(), "STT ran on silence");

    // The control: the same hook does run when there is speech.
    let mic = spoken_mic(dir.path(), "what time is it");
    let out = voicebox(dir.path(), Some(&mic), &["listen", "--seconds", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "heard\n");
    assert!(marker.exists());
}

#[test]
fn missing_input_device_names_it_and_the_devices_hint() {
    let dir = tempfile::tempdir().unwrap();
    Config::new()
        .set("audio", "input_device", "\"nonexistent\"")
        .write(dir.path());
    let out = voicebox(dir.path(), None, &["listen", "--seconds", "1"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("\"nonexistent\""), "{stderr}");
    assert!(stderr.contains("voicebox devices"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn devices_lists_the_default_input_and_output() {
    let dir = tempfile::tempdir().unwrap();
    Config::new().write(dir.path());
    let out = voicebox(dir.path(), None, &["devices"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Input devices"), "{stdout}");
    assert!(stdout.contains("Output devices"), "{stdout}");
    assert_eq!(stdout.matches(">* default").count(), 2, "{stdout}");
}

#[test]
fn a_transcript_cannot_drive_the_terminal_and_a_glitching_microphone_is_still_heard() {
    let dir = tempfile::tempdir().unwrap();
    // NaN and infinities among the samples, as a glitching USB card delivers them.
    let mic = support::sound::tone_mic(dir.path());
    support::sound::glitch(&mic, 997);
    // A recogniser that answers with a retitle, a screen clear and a C1 control in the words.
    let hook = "cat > /dev/null; printf 'hello\\033]0;pwned\\007 \\302\\233 there\\033c\\n'";
    Config::new()
        .set("stt", "command", &Config::argv(&["sh", "-c", hook]))
        .write(dir.path());
    let out = voicebox(dir.path(), Some(&mic), &["listen", "--seconds", "2"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout:?}\nstderr: {stderr}");
    assert_eq!(stdout, "hello]0;pwned  therec\n", "stderr: {stderr}");
}
