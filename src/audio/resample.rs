//! Down-mix to mono and resample to the rate STT engines expect (rubato's FFT resampler).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::{Clip, RATES, sane};

/// Frames per resampler chunk: large enough for a sharp FFT filter, small enough for a short
/// startup delay (which `process_all` trims anyway).
const CHUNK: usize = 1024;
/// The largest `rate / gcd` the FFT resampler is used for (see `to_mono`).
const MAX_FFT_STEP: u32 = 2000;

/// Averages the channels of `clip` and resamples the result to `rate` Hz.
///
/// Never fails and never panics: samples are made `sane` on the way in (the FFT resampler
/// panics on NaN); an empty clip, or a rate outside `audio::RATES` (whose ratio could size a
/// buffer of gigabytes), gives an empty clip at `rate`; should the resampler refuse the ratio,
/// linear interpolation stands in (worse quality, same length).
pub fn to_mono(clip: &Clip, rate: u32) -> Clip {
    let empty = Clip {
        samples: Vec::new(),
        rate,
        channels: 1,
    };
    let how = Method::between(clip.rate, rate);
    if how == Method::Refuse {
        return empty;
    }
    let mono = down_mix(clip);
    if mono.is_empty() {
        return empty;
    }
    let samples = match how {
        Method::Refuse | Method::Same => mono,
        Method::Linear => linear(&mono, clip.rate, rate),
        Method::Fft => resample_fft(&mono, clip.rate, rate)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, from = clip.rate, to = rate, "resampler refused the rates; using linear interpolation");
            linear(&mono, clip.rate, rate)
        }),
    };
    Clip {
        samples,
        rate,
        channels: 1,
    }
}

fn down_mix(clip: &Clip) -> Vec<f32> {
    let ch = usize::from(clip.channels.max(1));
    if ch == 1 {
        return clip.samples.iter().copied().map(sane).collect();
    }
    clip.samples
        .chunks_exact(ch)
        .map(|f| super::mix_frame(f.iter().copied(), ch))
        .collect()
}

fn resample_fft(mono: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    let mut r = Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input)
        .map_err(|e| e.to_string())?;
    let input = InterleavedSlice::new(mono, 1, mono.len()).map_err(|e| e.to_string())?;
    let out = r
        .process_all(&input, mono.len(), None)
        .map_err(|e| e.to_string())?;
    Ok(out.take_data())
}

/// How audio goes from one rate to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// A rate outside `audio::RATES`: its ratio could size a buffer of gigabytes.
    Refuse,
    Same,
    /// rubato's FFT lengths are multiples of `rate / gcd(from, to)`: fine for real rates
    /// (44100 → 16000 is 441 → 160), but a 384k-point FFT for, say, 383999 Hz costs seconds of
    /// CPU; such ratios are interpolated.
    Linear,
    Fft,
}

impl Method {
    fn between(from: u32, to: u32) -> Method {
        if !RATES.contains(&from) || !RATES.contains(&to) {
            tracing::warn!(from, to, "cannot resample between these rates");
            return Method::Refuse;
        }
        if from == to {
            return Method::Same;
        }
        let (mut a, mut b) = (from, to);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if from / a > MAX_FFT_STEP || to / a > MAX_FFT_STEP {
            Method::Linear
        } else {
            Method::Fft
        }
    }
}

/// Resamples mono audio as it arrives, chunk by chunk, to what `to_mono` gives for the whole:
/// the resampler's start-up delay trimmed and the same length. For the recording handed to a
/// streaming recogniser while it is made.
pub struct Stream {
    how: Method,
    fft: Option<Fft<f32>>,
    from: u32,
    to: u32,
    pending: Vec<f32>,
    /// Input frames taken and output frames given so far.
    taken: usize,
    given: usize,
    /// Output frames of start-up delay still to drop.
    trim: usize,
}

impl Stream {
    /// Rates as `to_mono` takes them: outside `audio::RATES` nothing comes out.
    pub fn new(from: u32, to: u32) -> Stream {
        let how = Method::between(from, to);
        let fft = (how == Method::Fft)
            .then(|| Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input).ok())
            .flatten();
        let trim = fft.as_ref().map_or(0, |f| f.output_delay());
        Stream {
            how,
            fft,
            from,
            to,
            pending: Vec::new(),
            taken: 0,
            given: 0,
            trim,
        }
    }

    /// The resampled audio that `mono` completes (possibly none yet).
    pub fn push(&mut self, mono: &[f32]) -> Vec<f32> {
        self.taken += mono.len();
        let Some(fft) = self.fft.as_mut() else {
            return self.unresampled(mono);
        };
        // Sane on the way in, as in `to_mono`: the resampler panics on NaN.
        self.pending.extend(mono.iter().copied().map(sane));
        let mut out = Vec::new();
        loop {
            let need = fft.input_frames_next();
            if self.pending.len() < need {
                break;
            }
            let chunk: Vec<f32> = self.pending.drain(..need).collect();
            out.extend(chunk_through(fft, &chunk, None));
        }
        self.trimmed(out)
    }

    /// The rest: the last partial chunk and the resampler's tail, up to the expected length.
    pub fn finish(mut self) -> Vec<f32> {
        let Some(fft) = self.fft.as_mut() else {
            return Vec::new();
        };
        let expected = (self.taken as u64 * u64::from(self.to)).div_ceil(u64::from(self.from));
        let mut out = Vec::new();
        let mut partial = std::mem::take(&mut self.pending);
        // Once for the partial chunk, then zeros, until the delay and the expected length are out.
        for _ in 0..64 {
            if (self.given + out.len()) as u64 >= expected + self.trim as u64 {
                break;
            }
            let need = fft.input_frames_next();
            let len = partial.len();
            partial.resize(need, 0.0);
            out.extend(chunk_through(fft, &partial, Some(len)));
            partial.clear();
        }
        let room = expected.saturating_sub(self.given as u64) as usize;
        let mut out = self.trimmed(out);
        out.truncate(room);
        out
    }

    /// Drops what is left of the start-up delay from the front of `out`.
    fn trimmed(&mut self, mut out: Vec<f32>) -> Vec<f32> {
        let drop = self.trim.min(out.len());
        out.drain(..drop);
        self.trim -= drop;
        self.given += out.len();
        out
    }

    /// Equal rates pass through, other ratios without an FFT are interpolated chunk by chunk,
    /// insane rates give nothing.
    fn unresampled(&mut self, mono: &[f32]) -> Vec<f32> {
        let out = match self.how {
            Method::Refuse => Vec::new(),
            Method::Same => mono.iter().copied().map(sane).collect(),
            Method::Linear | Method::Fft => {
                let sane: Vec<f32> = mono.iter().copied().map(sane).collect();
                linear(&sane, self.from, self.to)
            }
        };
        self.given += out.len();
        out
    }
}

/// One full-size chunk through the resampler; `partial` frames of it are real input.
fn chunk_through(fft: &mut Fft<f32>, chunk: &[f32], partial: Option<usize>) -> Vec<f32> {
    let Ok(input) = InterleavedSlice::new(chunk, 1, chunk.len()) else {
        return Vec::new();
    };
    let indexing = partial.map(|p| Indexing::new().partial_len(p));
    fft.process(&input, indexing.as_ref())
        .map(|o| o.take_data())
        .unwrap_or_default()
}

fn linear(mono: &[f32], from: u32, to: u32) -> Vec<f32> {
    let n = (mono.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..n)
        .map(|i| {
            let pos = i as f64 * step;
            let j = pos as usize;
            let frac = (pos - j as f64) as f32;
            let a = mono[j.min(mono.len() - 1)];
            let b = mono[(j + 1).min(mono.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::wav;

    fn tone(freq: f32, rate: u32, channels: u16, secs: f32, amp: f32) -> Clip {
        let frames = (rate as f32 * secs) as usize;
        let mut samples = Vec::with_capacity(frames * usize::from(channels));
        for i in 0..frames {
            let v = amp * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin();
            samples.extend(std::iter::repeat_n(v, usize::from(channels)));
        }
        Clip {
            samples,
            rate,
            channels,
        }
    }

    /// Sign changes per second / 2 = frequency of a pure tone.
    fn zero_crossing_hz(c: &Clip) -> f32 {
        // Skip the edges, where the resampler's filter rings.
        let s = &c.samples[c.samples.len() / 10..c.samples.len() * 9 / 10];
        let crossings = s
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        crossings as f32 / 2.0 / (s.len() as f32 / c.rate as f32)
    }

    fn middle_rms(c: &Clip) -> f32 {
        let s = &c.samples[c.samples.len() / 10..c.samples.len() * 9 / 10];
        Clip {
            samples: s.to_vec(),
            rate: c.rate,
            channels: 1,
        }
        .rms()
    }

    #[test]
    fn tones_keep_frequency_level_and_length() {
        // (input rate, channels, tone Hz)
        for (rate, ch, hz) in [
            (48000, 2, 1000.0),
            (44100, 2, 1000.0),
            (48000, 1, 440.0),
            (22050, 1, 3000.0),
            (8000, 1, 1000.0),
        ] {
            let input = tone(hz, rate, ch, 1.0, 0.5);
            let out = to_mono(&input, 16000);
            assert_eq!((out.rate, out.channels), (16000, 1));
            let n = out.samples.len() as i64;
            assert!((n - 16000).abs() <= 2, "{rate}/{ch}: {n} samples");
            let f = zero_crossing_hz(&out);
            assert!((f - hz).abs() / hz < 0.01, "{rate}/{ch}: {f} Hz, want {hz}");
            let want = 0.5 / 2f32.sqrt();
            let got = middle_rms(&out);
            assert!((got - want).abs() / want < 0.03, "{rate}/{ch}: rms {got}");
        }
    }

    #[test]
    fn tone_above_the_new_nyquist_is_filtered_out() {
        let out = to_mono(&tone(12000.0, 48000, 1, 1.0, 0.5), 16000);
        assert!(middle_rms(&out) < 0.01, "rms {}", middle_rms(&out));
    }

    #[test]
    fn opposite_channels_cancel_in_the_down_mix() {
        let mut c = tone(1000.0, 16000, 2, 0.5, 0.5);
        for f in c.samples.chunks_exact_mut(2) {
            f[1] = -f[0];
        }
        let out = to_mono(&c, 16000);
        assert_eq!(out.samples.len(), 8000);
        assert_eq!(out.rms(), 0.0);
    }

    #[test]
    fn empty_and_degenerate_input_give_empty_output() {
        let empty = Clip {
            samples: vec![],
            rate: 48000,
            channels: 2,
        };
        assert!(to_mono(&empty, 16000).samples.is_empty());
        let zero_rate = Clip {
            samples: vec![0.1; 10],
            rate: 0,
            channels: 1,
        };
        assert!(to_mono(&zero_rate, 16000).samples.is_empty());
    }

    #[test]
    fn streaming_in_any_chunks_gives_what_the_whole_clip_gives() {
        let input = tone(440.0, 48000, 1, 1.3, 0.5);
        let whole = to_mono(&input, 16000).samples;
        for chunk in [1, 160, 480, 1000, 4096, 100_000] {
            let mut s = Stream::new(48000, 16000);
            let mut got = Vec::new();
            for part in input.samples.chunks(chunk) {
                got.extend(s.push(part));
            }
            got.extend(s.finish());
            assert_eq!(got.len(), whole.len(), "chunks of {chunk}");
            let worst = got
                .iter()
                .zip(&whole)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "chunks of {chunk}: differs by {worst}");
        }
        // Equal rates pass through untouched.
        let mut same = Stream::new(16000, 16000);
        assert_eq!(same.push(&[0.1, 0.2]), vec![0.1, 0.2]);
        assert!(same.finish().is_empty());
    }

    #[test]
    fn linear_fallback_keeps_length_and_frequency() {
        let input = tone(1000.0, 48000, 1, 1.0, 0.5);
        let out = Clip {
            samples: linear(&input.samples, 48000, 16000),
            rate: 16000,
            channels: 1,
        };
        assert_eq!(out.samples.len(), 16000);
        assert!((zero_crossing_hz(&out) - 1000.0).abs() < 10.0);
    }

    #[test]
    fn round_trip_through_the_wav_writer() {
        let out = to_mono(&tone(1000.0, 48000, 2, 1.0, 0.5), 16000);
        let back = wav::decode(&wav::encode_i16(&out), std::time::Duration::from_secs(60)).unwrap();
        assert_eq!((back.rate, back.channels), (16000, 1));
        assert_eq!(back.samples.len(), out.samples.len());
        assert!((zero_crossing_hz(&back) - 1000.0).abs() < 10.0);
        assert!((middle_rms(&back) - middle_rms(&out)).abs() < 1e-3);
    }

    #[test]
    fn non_finite_samples_and_wild_rates_never_panic() {
        let mut input = tone(1000.0, 48000, 2, 0.5, 0.5);
        for (i, bad) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30]
            .iter()
            .enumerate()
        {
            input.samples[1000 * (i + 1)] = *bad;
        }
        let out = to_mono(&input, 16000);
        assert_eq!(out.samples.len(), 8000);
        assert!(out.samples.iter().all(|s| s.is_finite()));
        // A ratio of large coprime rates: linear interpolation, in well under a second.
        let started = std::time::Instant::now();
        let odd = Clip {
            samples: vec![0.1; 38_400],
            rate: 383_999,
            channels: 1,
        };
        assert_eq!(to_mono(&odd, 16000).samples.len(), 1600);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        for (from, to) in [
            (1, 16000),
            (u32::MAX, 16000),
            (48000, 0),
            (48000, 1_000_000_000),
        ] {
            let c = Clip {
                samples: vec![0.1; 4800],
                rate: from,
                channels: 1,
            };
            assert!(to_mono(&c, to).samples.is_empty(), "{from} -> {to}");
        }
    }
}
