//! The test sound card (alsa-lib's `file` plugin, `tests/alsa`): what the microphone plays and
//! what reached the speaker.
//!
//! The card is unpaced: it records and plays far faster than real time, so inputs are padded
//! with silence and outputs are judged by counting samples, never by wall time.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The raw format the app's capture negotiates on the test card, which every microphone input
/// here is written in: (ALSA format, rate, channels). `tests/it/listen.rs` checks it.
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

/// `secs` of digital silence in `MIC_FORMAT`, written to `path`.
pub fn silent_mic(path: &Path, secs: f64) {
    let (_, rate, channels) = MIC_FORMAT;
    let bytes = (secs * f64::from(rate)) as usize * usize::from(channels) * 4;
    std::fs::write(path, vec![0u8; bytes]).unwrap();
}

/// Counts the opens of one file, seen from outside the process that opens it (inotify on its
/// directory, so a file renamed over it is still watched). The test sound card opens the
/// microphone's raw file whenever the daemon opens its input: this is "the microphone opened"
/// as the device sees it.
pub struct Opens {
    fd: OwnedFd,
    name: String,
    seen: usize,
}

impl Opens {
    pub fn watch(file: &Path) -> Opens {
        let dir = std::ffi::CString::new(file.parent().unwrap().to_str().unwrap()).unwrap();
        // SAFETY: plain syscalls; the fd is owned from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), dir.as_ptr(), libc::IN_OPEN) };
        assert!(
            wd >= 0,
            "inotify_add_watch: {}",
            std::io::Error::last_os_error()
        );
        Opens {
            fd,
            name: file.file_name().unwrap().to_str().unwrap().to_string(),
            seen: 0,
        }
    }

    /// Opens of the file since `watch`.
    pub fn count(&mut self) -> usize {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reading into a buffer we own, of the length given.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return self.seen; // EAGAIN: nothing more for now
            }
            let mut at = 0;
            while at < n as usize {
                // struct inotify_event: wd, mask, cookie, len (4 bytes each), then the name.
                let field =
                    |i: usize| u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().unwrap());
                let len = field(12) as usize;
                let name = &buf[at + 16..at + 16 + len];
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                if field(4) & libc::IN_OPEN != 0 && name == self.name.as_bytes() {
                    self.seen += 1;
                }
                at += 16 + len;
            }
        }
    }
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

/// A glitching card: every `every`-th sample of a `MIC_FORMAT` file becomes NaN, +inf or -inf
/// in turn (a raw f32 stream can carry any bits).
pub fn glitch(raw: &Path, every: usize) {
    let mut bytes = std::fs::read(raw).unwrap();
    let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
    for (n, sample) in bytes.chunks_exact_mut(4).step_by(every).enumerate() {
        sample.copy_from_slice(&bad[n % bad.len()].to_le_bytes());
    }
    std::fs::write(raw, bytes).unwrap();
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
        self.sounds().iter().map(|s| s.secs).collect()
    }

    /// The non-silent stretches (as `stretches`), with where they are and how loud.
    pub fn sounds(&self) -> Vec<Sound> {
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
                    out.extend(self.sound(s, last_loud + 1, min));
                    start = Some(i);
                }
                start.get_or_insert(i);
                last_loud = i;
            }
        }
        if let Some(s) = start {
            out.extend(self.sound(s, last_loud + 1, min));
        }
        out
    }

    /// Frames `from..to` as a `Sound`, unless shorter than `min` frames.
    fn sound(&self, from: usize, to: usize, min: usize) -> Option<Sound> {
        let frames = &self.peaks[from..to];
        (frames.len() >= min).then(|| Sound {
            start: from,
            secs: frames.len() as f64 / self.rate as f64,
            peak: frames.iter().fold(0.0, |m, &p| m.max(p)),
            // Mono upmixed to both channels: a frame's peak is its sample's magnitude.
            rms: (frames.iter().map(|&p| f64::from(p).powi(2)).sum::<f64>() / frames.len() as f64)
                .sqrt() as f32,
        })
    }

    /// The stretches that are speech. Earcons are 0.12 s chirps (0.38 s for the error pair),
    /// so anything shorter than half a second is not speech.
    pub fn speech(&self) -> Vec<f64> {
        self.stretches().into_iter().filter(|&d| d >= 0.5).collect()
    }
}

/// One stretch of sound at the speaker.
#[derive(Debug, Clone, Copy)]
pub struct Sound {
    /// First frame (shown in a failing assertion's `{:?}`).
    #[allow(dead_code)]
    pub start: usize,
    pub secs: f64,
    pub peak: f32,
    pub rms: f32,
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
