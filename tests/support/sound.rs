//! The test sound card (alsa-lib's `file` plugin, `tests/alsa`): what the microphone plays and
//! what reached the speaker.
//!
//! The card is unpaced: it records and plays far faster than real time, so inputs are padded
//! with silence and outputs are judged by counting samples, never by wall time.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The raw format the app's capture negotiates on the test card, which every microphone input
/// here is written in: (ALSA format, rate, channels). `tests/listen.rs` checks it.
pub const MIC_FORMAT: (&str, u32, u16) = ("FLOAT_LE", 48000, 2);

/// espeak-ng says `text` (en-us+klatt, which pocketsphinx recognises), with 0.5 s of silence
/// before and a minute after: the unpaced device must read silence, not stale buffer data,
/// after the words. Returns the raw file for `VOICEBOX_TEST_MIC`.
pub fn spoken_mic(dir: &Path, text: &str) -> PathBuf {
    let wav = dir.join("question.wav");
    let st = Command::new("espeak-ng")
        .args(["-v", "en-us+klatt", "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("run espeak-ng");
    assert!(st.success());
    let wav = wav.to_str().unwrap();
    mic_from_sox(dir, &[wav], &["pad", "0.5", "60"])
}

/// 0.3 s of silence, a 0.6 s tone, 3 s of silence: toggle mode's end-of-speech detection ends
/// every recording after the tone (samples are counted, so no wall time).
pub fn tone_mic(dir: &Path) -> PathBuf {
    mic_from_sox(
        dir,
        &["-n"],
        &[
            "synth", "0.6", "sine", "440", "vol", "0.3", "pad", "0.3", "3",
        ],
    )
}

/// A microphone that delivers `raw` in real time: a FIFO fed by `pv` at the byte rate of
/// `MIC_FORMAT` (research/real-components.md, pitfall 6). Use `fifo` as `VOICEBOX_TEST_MIC` with
/// `audio.buffer_frames = 512`, so that one period is one 4096-byte pipe write.
///
/// Each open of the FIFO gets `raw` from its start: listing the devices opens and closes it
/// before the capture does, which ends one `pv`, and the loop starts the next. Dropping the
/// microphone ends the loop and its `pv` (their own process group).
pub struct PacedMic {
    pub fifo: PathBuf,
    feeder: std::process::Child,
}

impl PacedMic {
    pub fn new(dir: &Path, raw: &Path) -> PacedMic {
        use std::os::unix::process::CommandExt;
        let (_, rate, channels) = MIC_FORMAT;
        let fifo = dir.join("mic.fifo");
        let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(st.success());
        let bytes_per_s = rate * u32::from(channels) * 4;
        let feeder = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while :; do pv -q -B 4096 -L {bytes_per_s} '{}' > '{}'; done",
                raw.display(),
                fifo.display()
            ))
            .process_group(0)
            .spawn()
            .expect("start the pv loop");
        PacedMic { fifo, feeder }
    }
}

impl Drop for PacedMic {
    fn drop(&mut self) {
        // SAFETY: signalling the process group this value started (its leader's pid).
        unsafe {
            libc::kill(-(self.feeder.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.feeder.wait();
    }
}

/// sox turns `input` (plus `effects`) into `dir/mic.raw` in `MIC_FORMAT`.
fn mic_from_sox(dir: &Path, input: &[&str], effects: &[&str]) -> PathBuf {
    let (format, rate, channels) = MIC_FORMAT;
    assert_eq!(
        format, "FLOAT_LE",
        "the sox arguments below write 32-bit floats"
    );
    let raw = dir.join("mic.raw");
    let st = Command::new("sox")
        .args(input)
        .args(["-t", "raw", "-e", "floating-point", "-b", "32"])
        .args(["-r", &rate.to_string(), "-c", &channels.to_string()])
        .arg(&raw)
        .args(effects)
        .status()
        .expect("run sox");
    assert!(st.success(), "sox failed");
    raw
}

/// The `VOICEBOX_TEST_SPK` value that makes playback append raw samples to
/// `dir/out_<format>_<rate>_<channels>.raw` (appending, because the output closes and reopens
/// between sounds).
pub fn speaker_files(dir: &Path) -> String {
    format!("|cat >> {}/out_%f_%r_%c.raw", dir.display())
}

/// What reached the speaker: per-frame peak level, with the negotiated rate.
pub struct Audio {
    pub rate: u32,
    pub peaks: Vec<f32>,
}

impl Audio {
    /// Reads `dir/out_*.raw`, learning the format from the name alsa-lib gave it.
    /// No file at all means nothing was played.
    pub fn read(dir: &Path) -> Audio {
        let Some(file) = output_file(dir) else {
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
    /// silence. The sentence pause in the test configs is 0.7 s; pauses between words are far
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

    /// The stretches that are speech. Earcons are 0.12 s chirps (0.38 s for the error pair),
    /// so anything shorter than half a second is not speech.
    pub fn speech(&self) -> Vec<f64> {
        self.stretches().into_iter().filter(|&d| d >= 0.5).collect()
    }
}

/// The `out_*.raw` file in `dir`, if anything was played.
pub fn output_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("out_") && n.ends_with(".raw"))
        })
}
