//! WAV and raw PCM ⇄ `Clip` (hound). Pure: bytes in, bytes out.
//!
//! TTS engines that write WAV to a pipe cannot seek back to fix the header (espeak-ng writes
//! placeholder lengths near 2 GiB), so decoding reads samples until the bytes run out.

use std::io::Cursor;
use std::time::Duration;

use super::{Clip, sane, sane_format};
use crate::config::SampleFormat;

/// The most samples one decoded clip may hold, whatever its header says: two minutes of 48 kHz
/// stereo (44 MiB as f32). At higher rates or channel counts the clip is shorter.
pub const MAX_SAMPLES: usize = 120 * 48_000 * 2;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("not a readable WAV: {0}")]
    Header(String),
    #[error("unsupported WAV sample format: {0}")]
    Format(String),
    /// A rate or channel count outside `audio::RATES` / `audio::CHANNELS`.
    #[error("{0}")]
    Insane(String),
    #[error("more than {0:.0} s of audio, the most one clip may hold")]
    TooLong(f64),
    #[error("no audio samples")]
    Empty,
}

/// Decodes a WAV (PCM 8/16/24/32-bit or float) of a sane rate and channel count, tolerating a
/// header whose lengths are placeholders or too long. At most `max` of audio (and
/// `MAX_SAMPLES`) is decoded: memory follows the audio's duration, never the header's claims.
pub fn decode(bytes: &[u8], max: Duration) -> Result<Clip, WavError> {
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|e| WavError::Header(e.to_string()))?;
    let spec = reader.spec();
    let cap = cap(spec.sample_rate, spec.channels, max)?;
    // `map_while(Result::ok)`: a short data chunk ends the clip instead of failing it.
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .map_while(Result::ok)
            .take(cap + 1)
            .map(sane)
            .collect(),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map_while(Result::ok)
                .take(cap + 1)
                .map(|s| s as f32 * scale)
                .collect()
        }
        (f, b) => return Err(WavError::Format(format!("{f:?} {b}-bit"))),
    };
    whole_frames(samples, spec.sample_rate, spec.channels, cap)
}

/// How many samples `max` of audio is in this format, within `MAX_SAMPLES`; an insane format
/// is refused here, before anything is allocated for it.
fn cap(rate: u32, channels: u16, max: Duration) -> Result<usize, WavError> {
    sane_format(rate, channels).map_err(WavError::Insane)?;
    let per_second = f64::from(rate) * f64::from(channels);
    Ok(((max.as_secs_f64() * per_second) as usize).min(MAX_SAMPLES))
}

/// Refuses more than `cap` samples, drops a partial trailing frame (it would shift the
/// channels) and refuses an empty clip.
fn whole_frames(
    mut samples: Vec<f32>,
    rate: u32,
    channels: u16,
    cap: usize,
) -> Result<Clip, WavError> {
    if samples.len() > cap {
        let per_second = f64::from(rate) * f64::from(channels);
        return Err(WavError::TooLong(cap as f64 / per_second));
    }
    samples.truncate(samples.len() - samples.len() % usize::from(channels.max(1)));
    if samples.is_empty() {
        return Err(WavError::Empty);
    }
    Ok(Clip {
        samples,
        rate,
        channels,
    })
}

/// Decodes headerless little-endian PCM, with the same bounds as `decode`.
pub fn decode_raw(
    bytes: &[u8],
    rate: u32,
    channels: u16,
    format: SampleFormat,
    max: Duration,
) -> Result<Clip, WavError> {
    let cap = cap(rate, channels, max)?;
    let samples: Vec<f32> = match format {
        SampleFormat::S16Le => bytes
            .chunks_exact(2)
            .take(cap + 1)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect(),
        SampleFormat::F32Le => bytes
            .chunks_exact(4)
            .take(cap + 1)
            .map(|b| sane(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
    };
    whole_frames(samples, rate, channels, cap)
}

/// Encodes a clip as 16-bit PCM WAV with a correct header (what STT engines expect).
pub fn encode_i16(clip: &Clip) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: clip.channels.max(1),
        sample_rate: clip.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + clip.samples.len() * 2));
    // Writing to a Vec cannot fail for I/O reasons; the only errors hound reports here are
    // size overflows past 4 GiB, which a bounded recording cannot reach.
    if let Ok(mut w) = hound::WavWriter::new(&mut out, spec) {
        for &s in &clip.samples {
            if w.write_sample(to_i16(s)).is_err() {
                break;
            }
        }
        let _ = w.finalize();
    }
    out.into_inner()
}

/// Headerless 16-bit little-endian PCM (what Wyoming audio chunks carry).
pub fn encode_s16le(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|&s| to_i16(s).to_le_bytes())
        .collect()
}

fn to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(600);

    fn tone(rate: u32, channels: u16, secs: f32) -> Clip {
        let frames = (rate as f32 * secs) as usize;
        let mut samples = Vec::new();
        for i in 0..frames {
            let v = 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin();
            samples.extend(std::iter::repeat_n(v, usize::from(channels)));
        }
        Clip {
            samples,
            rate,
            channels,
        }
    }

    #[test]
    fn round_trip_keeps_rate_channels_and_level() {
        let clip = tone(16000, 2, 0.25);
        let back = decode(&encode_i16(&clip), LONG).unwrap();
        assert_eq!(
            (back.rate, back.channels, back.samples.len()),
            (16000, 2, clip.samples.len())
        );
        assert!((back.rms() - clip.rms()).abs() < 1e-3);
    }

    #[test]
    fn placeholder_lengths_from_a_pipe_are_read_to_eof() {
        let mut bytes = encode_i16(&tone(22050, 1, 0.1));
        // What espeak-ng --stdout writes: RIFF and data sizes of 0x7ffff000.
        bytes[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        bytes[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        let clip = decode(&bytes, LONG).unwrap();
        assert_eq!(clip.frames(), 2205);
    }

    #[test]
    fn garbage_and_empty_are_errors_not_panics() {
        assert!(decode(b"", LONG).is_err());
        assert!(decode(b"RIFF\0\0\0\0WAVEjunk", LONG).is_err());
        assert!(decode(&[0u8; 100], LONG).is_err());
        let header_only = &encode_i16(&tone(8000, 1, 0.01))[..44];
        assert!(matches!(decode(header_only, LONG), Err(WavError::Empty)));
    }

    #[test]
    fn raw_pcm_decodes_both_formats() {
        let s16 = [0u8, 0x40, 0, 0xc0]; // 0.5, -0.5
        let c = decode_raw(&s16, 16000, 1, SampleFormat::S16Le, LONG).unwrap();
        assert_eq!(c.samples, vec![0.5, -0.5]);
        let f32s: Vec<u8> = [0.25f32, -1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode_raw(&f32s, 8000, 2, SampleFormat::F32Le, LONG)
                .unwrap()
                .frames(),
            1
        );
    }

    /// A 32-bit float WAV of `samples`, as a hook might write one.
    fn float_wav(samples: &[f32], rate: u32, channels: u16) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut out = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for &v in samples {
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn lying_rates_and_channel_counts_are_refused_by_name() {
        // 1440 samples: whole frames at 9 and 16 channels too, as hound insists.
        let good = encode_i16(&Clip {
            samples: vec![0.1; 1440],
            rate: 16000,
            channels: 1,
        });
        // A consistent fmt chunk that lies: channels at 22, rate at 24, byte rate at 28,
        // block align at 32 (16-bit samples).
        for (rate, channels) in [(2_000_000_000u32, 1u16), (1, 1), (16000, 16), (16000, 9)] {
            let mut bytes = good.clone();
            bytes[22..24].copy_from_slice(&channels.to_le_bytes());
            bytes[24..28].copy_from_slice(&rate.to_le_bytes());
            let byte_rate = rate * u32::from(channels) * 2;
            bytes[28..32].copy_from_slice(&byte_rate.to_le_bytes());
            bytes[32..34].copy_from_slice(&(channels * 2).to_le_bytes());
            match decode(&bytes, LONG) {
                Err(WavError::Insane(m)) => assert!(m.contains(&format!("{rate} Hz")), "{m}"),
                other => panic!("{rate} Hz × {channels}: {other:?}"),
            }
        }
        let raw = [0u8; 64];
        assert!(matches!(
            decode_raw(&raw, 10, 1, SampleFormat::S16Le, LONG),
            Err(WavError::Insane(_))
        ));
        assert!(matches!(
            decode_raw(&raw, 16000, 200, SampleFormat::F32Le, LONG),
            Err(WavError::Insane(_))
        ));
    }

    #[test]
    fn non_finite_and_over_range_floats_are_made_sane() {
        let wav = float_wav(
            &[0.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 7.0],
            8000,
            1,
        );
        let clip = decode(&wav, LONG).unwrap();
        assert_eq!(clip.samples, vec![0.5, 0.0, 1.0, -1.0, 1.0]);
        let raw: Vec<u8> = [f32::NAN, -3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let clip = decode_raw(&raw, 8000, 1, SampleFormat::F32Le, LONG).unwrap();
        assert_eq!(clip.samples, vec![0.0, -1.0]);
    }

    #[test]
    fn audio_past_the_limit_is_refused_without_reading_it_all() {
        let two_seconds = encode_i16(&tone(8000, 1, 2.0));
        assert!(decode(&two_seconds, Duration::from_secs(2)).is_ok());
        let e = decode(&two_seconds, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, WavError::TooLong(s) if s == 1.0), "{e}");
        let raw = vec![0u8; 8000 * 2 * 3];
        assert!(matches!(
            decode_raw(&raw, 8000, 1, SampleFormat::S16Le, Duration::from_secs(2)),
            Err(WavError::TooLong(_))
        ));
        // Whatever the duration asked for, never more than MAX_SAMPLES.
        assert_eq!(
            cap(384_000, 8, Duration::from_secs(3600)).unwrap(),
            MAX_SAMPLES
        );
    }
}
