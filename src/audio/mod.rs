//! Audio: the `Clip` type that crosses actor boundaries, and the device actors.
//!
//! cpal is imported by `devices` (finding devices) and `capture::stream` (the input stream)
//! only, rodio by `playback` only; `alsa_log` keeps alsa-lib's messages off stderr.

mod alsa_log;
pub mod capture;
pub mod devices;
pub mod earcons;
pub mod energy;
pub mod playback;
pub mod resample;
pub mod volume;
pub mod wav;

/// Interleaved f32 samples in -1.0..=1.0 with their rate and channel count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clip {
    pub samples: Vec<f32>,
    pub rate: u32,
    pub channels: u16,
}

impl Clip {
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.frames() as f64 / f64::from(self.rate.max(1)))
    }

    /// Root-mean-square level over all samples (0.0 for an empty clip).
    pub fn rms(&self) -> f32 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        (sum / self.samples.len() as f64).sqrt() as f32
    }
}

/// Hands the heap's free pages back to the kernel. Audio buffers are the daemon's biggest
/// allocations (a capture buffer, a reply's clips), freed on worker threads whose arenas keep
/// the pages: without this the RSS of an idle box is the high-water mark of its largest turn.
/// Called when a turn ends and when the output closes, never periodically, so idle stays idle.
pub fn release_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
