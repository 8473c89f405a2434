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

/// Sample rates accepted from outside (a hook's audio, a capture device). Anything else is a
/// broken or lying header, refused before it can size a buffer: 4 kHz is below any speech
/// codec, 384 kHz the highest rate audio hardware offers.
pub const RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;
/// Channel counts accepted from outside (7.1 is the most a sound card or a codec writes).
pub const CHANNELS: std::ops::RangeInclusive<u16> = 1..=8;

/// Whether `rate` and `channels` are within `RATES` and `CHANNELS`; the error names the format
/// and what is accepted.
pub fn sane_format(rate: u32, channels: u16) -> Result<(), String> {
    if RATES.contains(&rate) && CHANNELS.contains(&channels) {
        return Ok(());
    }
    Err(format!(
        "{rate} Hz with {channels} channels is not a format voicebox accepts ({}–{} Hz, {}–{} channels)",
        RATES.start(),
        RATES.end(),
        CHANNELS.start(),
        CHANNELS.end()
    ))
}

/// A sample from outside made safe for the rest of the daemon: finite and within -1.0..=1.0.
/// NaN (a glitching USB card, a broken hook) becomes silence; infinities and overs are clipped.
/// The resampler, the level checks and the devices may then assume sane numbers.
#[inline]
pub fn sane(sample: f32) -> f32 {
    if sample.is_nan() {
        0.0
    } else {
        sample.clamp(-1.0, 1.0)
    }
}

/// One captured frame (its channels as f32) down-mixed to one sane mono sample. Each channel is
/// made `sane` first, so one bad channel does not silence the others. Real-time safe: no
/// allocation, no lock.
#[inline]
pub fn mix_frame(frame: impl Iterator<Item = f32>, channels: usize) -> f32 {
    frame.map(sane).sum::<f32>() / channels.max(1) as f32
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_from_outside_are_made_sane() {
        for (given, want) in [
            (0.25, 0.25),
            (-1.0, -1.0),
            (f32::NAN, 0.0),
            (-f32::NAN, 0.0),
            (f32::INFINITY, 1.0),
            (f32::NEG_INFINITY, -1.0),
            (3.5, 1.0),
            (f32::MIN, -1.0),
        ] {
            assert_eq!(sane(given), want, "{given}");
        }
        // A NaN in one channel silences that channel only.
        assert_eq!(mix_frame([0.5, f32::NAN].into_iter(), 2), 0.25);
        assert_eq!(mix_frame([f32::INFINITY, 1.0].into_iter(), 2), 1.0);
    }

    #[test]
    fn formats_outside_the_sane_range_are_named_in_the_error() {
        assert!(sane_format(22_050, 1).is_ok());
        assert!(sane_format(384_000, 8).is_ok());
        for (rate, channels) in [
            (3_999, 1),
            (384_001, 2),
            (48_000, 0),
            (48_000, 9),
            (u32::MAX, u16::MAX),
        ] {
            let e = sane_format(rate, channels).unwrap_err();
            assert!(
                e.contains(&format!("{rate} Hz")) && e.contains("4000–384000 Hz, 1–8 channels"),
                "{e}"
            );
        }
    }
}
