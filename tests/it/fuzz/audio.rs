//! The audio path's fuzz targets: what capture, a hook or a server hands the daemon as samples
//! or bytes (any bits, NaN and infinities included), and the invariants of what comes out.

/// What every clip decoded from outside must be: a sane format, whole frames, at most
/// `MAX_SAMPLES`, every sample finite and within -1..=1.
fn assert_sane(clip: &voicebox::audio::Clip) {
    use voicebox::audio::{sane_format, wav::MAX_SAMPLES};
    assert!(
        sane_format(clip.rate, clip.channels).is_ok(),
        "{} Hz × {}",
        clip.rate,
        clip.channels
    );
    assert!(clip.samples.len() <= MAX_SAMPLES);
    assert_eq!(clip.samples.len() % usize::from(clip.channels), 0);
    assert!(
        clip.samples.iter().all(|s| (-1.0..=1.0).contains(s)),
        "insane sample"
    );
}

/// Little-endian numbers off the front of the input (zero when it runs out).
struct Take<'a>(&'a [u8]);

impl Take<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = self.0.len().min(N);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes())
    }
    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    /// The rest as f32s: every bit pattern, NaNs and infinities included.
    fn floats(&self) -> Vec<f32> {
        self.0
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

/// Common rates most of the time, so the resampler's real paths are reached; any u32 else.
fn rate(t: &mut Take) -> u32 {
    const COMMON: [u32; 8] = [8000, 11025, 16000, 22050, 44100, 48000, 96000, 384000];
    let raw = t.u32();
    if raw.is_multiple_of(4) {
        raw
    } else {
        COMMON[(raw as usize / 4) % COMMON.len()]
    }
}

pub fn wav_decode(b: &[u8]) {
    let max = std::time::Duration::from_millis((b.len() % 8) as u64 * 1000 + 500);
    if let Ok(clip) = voicebox::audio::wav::decode(b, max) {
        assert_sane(&clip);
        let _ = clip.rms();
    }
}

/// A TTS hook's raw PCM as `tts.format = "raw"` reads it: rate, channels and sample format from
/// the input's first bytes (any value, as if the config allowed them), then the samples.
pub fn raw_decode(b: &[u8]) {
    use voicebox::config::SampleFormat;
    let mut t = Take(b);
    let (rate, channels) = (t.u32(), t.u16());
    let format = if t.u8() % 2 == 0 {
        SampleFormat::S16Le
    } else {
        SampleFormat::F32Le
    };
    let max = std::time::Duration::from_millis(u64::from(t.u16()));
    if let Ok(clip) = voicebox::audio::wav::decode_raw(t.0, rate, channels, format, max) {
        assert_sane(&clip);
    }
}

/// The capture callback's per-frame step: f32 frames of any bits (a glitching card), any
/// channel count, down-mixed to one sane sample each.
pub fn capture_frames(b: &[u8]) {
    let mut t = Take(b);
    let channels = usize::from(t.u8() % 9).max(1);
    for frame in t.floats().chunks_exact(channels) {
        let mono = voicebox::audio::mix_frame(frame.iter().copied(), channels);
        assert!((-1.0..=1.0).contains(&mono), "{frame:?} → {mono}");
    }
}

/// A recording on its way to STT: any samples (non-finite too), any input and output rate,
/// down-mixed, resampled (whole and as a live stream) and checked for speech.
pub fn resample(b: &[u8]) {
    use voicebox::audio::{Clip, energy, resample};
    let mut t = Take(b);
    let (from, to) = (rate(&mut t), rate(&mut t));
    let channels = u16::from(t.u8() % 9);
    let clip = Clip {
        samples: t.floats(),
        rate: from,
        channels,
    };
    let out = resample::to_mono(&clip, to);
    assert_eq!((out.rate, out.channels), (to, 1));
    assert!(
        out.samples.iter().all(|s| s.is_finite()),
        "non-finite output"
    );
    // Linear interpolation and the FFT resampler both keep the duration (plus rounding).
    let frames = clip.samples.len() / usize::from(channels.max(1));
    let want = frames as u64 * u64::from(to) / u64::from(from.max(1));
    assert!(
        out.samples.len() as u64 <= want + 2,
        "{} > {want}",
        out.samples.len()
    );
    let _ = energy::has_speech(&out.samples, out.rate, 0.01);
    // The live path: the same samples as mono, resampled as they arrive, in three pieces.
    let mono = &clip.samples;
    let mut live = resample::Stream::new(from, to);
    let mut streamed = Vec::new();
    for piece in mono.chunks(mono.len() / 3 + 1) {
        streamed.extend(live.push(piece));
    }
    streamed.extend(live.finish());
    assert!(streamed.iter().all(|s| s.is_finite()), "non-finite stream");
    let want = mono.len() as u64 * u64::from(to) / u64::from(from.max(1));
    assert!(
        streamed.len() as u64 <= want + 2,
        "{} > {want}",
        streamed.len()
    );
}
