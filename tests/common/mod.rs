//! Shared helpers for the speech-out tests: run `voicebox` under the test ALSA config and read
//! back what it played (raw samples from alsa-lib's `file` plugin).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn alsa_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alsa/voicebox-test.conf")
}

/// The env value that makes playback append raw samples to `dir/out_<format>_<rate>_<ch>.raw`
/// (appending, because the output closes and reopens between sounds).
pub fn spk_target(dir: &Path) -> String {
    format!("|cat >> {}/out_%f_%r_%c.raw", dir.display())
}

/// A config file with the given TTS argv and extra TOML, clear gaps between sentences and a
/// short linger (the unpaced file device writes silence as fast as it can while open).
pub fn write_config(dir: &Path, tts_command: &[&str], extra_tts: &str) -> PathBuf {
    let argv: Vec<String> = tts_command.iter().map(|a| format!("{a:?}")).collect();
    let text = format!(
        "[tts]\ncommand = [{}]\nmin_sentence_chars = 1\n{extra_tts}\n\n[audio]\nsentence_pause_ms = 700\nlinger_ms = 100\n",
        argv.join(", ")
    );
    let path = dir.join("voicebox.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Run {
    pub output: Output,
    pub stderr: String,
    pub audio: Audio,
}

/// Runs `voicebox --config CONFIG say TEXT` as a child with its own ALSA environment.
pub fn say(dir: &Path, config: &Path, text: &str) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(config)
        .arg("say")
        // A reply may start with "-"; after "--" clap takes it as TEXT.
        .arg("--")
        .arg(text)
        .env("ALSA_CONFIG_PATH", alsa_conf())
        .env("VOICEBOX_TEST_SPK", spk_target(dir))
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    let stderr = strip_ansi(&String::from_utf8_lossy(&output.stderr));
    let audio = Audio::read(dir);
    Run {
        output,
        stderr,
        audio,
    }
}

pub fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What reached the "speaker": per-frame peak level, with the negotiated rate.
pub struct Audio {
    pub rate: u32,
    pub peaks: Vec<f32>,
}

impl Audio {
    /// Reads `dir/out_*.raw`, learning the format from the name alsa-lib gave it.
    /// No file at all means nothing was played.
    pub fn read(dir: &Path) -> Audio {
        let file = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("out_") && n.ends_with(".raw"))
            });
        let Some(file) = file else {
            return Audio {
                rate: 48000,
                peaks: Vec::new(),
            };
        };
        let name = file.file_stem().unwrap().to_str().unwrap().to_string();
        // out_FLOAT_LE_48000_2
        let parts: Vec<&str> = name.rsplitn(3, '_').collect();
        let channels: usize = parts[0].parse().unwrap();
        let rate: u32 = parts[1].parse().unwrap();
        let format = parts[2].trim_start_matches("out_");
        let bytes = std::fs::read(&file).unwrap();
        let samples: Vec<f32> = match format {
            "FLOAT_LE" => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            "S16_LE" => bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                .collect(),
            other => panic!("unexpected negotiated format {other}"),
        };
        let peaks = samples
            .chunks_exact(channels)
            .map(|f| f.iter().fold(0.0f32, |m, s| m.max(s.abs())))
            .collect();
        Audio { rate, peaks }
    }

    /// Durations (seconds) of the non-silent stretches: sound separated by more than 0.35 s of
    /// silence. The sentence pause in the test config is 0.7 s; pauses between words are far
    /// shorter. Blips under 50 ms are ignored.
    pub fn stretches(&self) -> Vec<f64> {
        let gap = (self.rate as f64 * 0.35) as usize;
        let min = (self.rate as f64 * 0.05) as usize;
        let mut out = Vec::new();
        let mut start: Option<usize> = None;
        let mut last_loud = 0;
        for (i, &p) in self.peaks.iter().enumerate() {
            if p > 0.002 {
                if let Some(s) = start
                    && i - last_loud > gap
                {
                    if last_loud + 1 - s >= min {
                        out.push((last_loud + 1 - s) as f64 / self.rate as f64);
                    }
                    start = Some(i);
                }
                start.get_or_insert(i);
                last_loud = i;
            }
        }
        if let Some(s) = start
            && last_loud + 1 - s >= min
        {
            out.push((last_loud + 1 - s) as f64 / self.rate as f64);
        }
        out
    }
}

/// Writes an executable shell script (a test's TTS hook wrapper) and returns its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `key=value` of a field in a log line.
pub fn field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
}
