//! WAV and raw PCM ⇄ `Clip` (hound). Pure: bytes in, bytes out.
//!
//! TTS engines that write WAV to a pipe cannot seek back to fix the header (espeak-ng writes
//! placeholder lengths near 2 GiB), so decoding reads samples until the bytes run out.

use std::io::Cursor;

use super::Clip;
use crate::config::SampleFormat;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("not a readable WAV: {0}")]
    Header(String),
    #[error("unsupported WAV sample format: {0}")]
    Format(String),
    #[error("no audio samples")]
    Empty,
}

/// Decodes a WAV (PCM 8/16/24/32-bit or float) of any channel count, tolerating a header whose
/// lengths are placeholders or too long.
pub fn decode(bytes: &[u8]) -> Result<Clip, WavError> {
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|e| WavError::Header(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(WavError::Header("zero channels or zero sample rate".into()));
    }
    // `map_while(Result::ok)`: a short data chunk ends the clip instead of failing it.
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            reader.into_samples::<f32>().map_while(Result::ok).collect()
        }
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map_while(Result::ok)
                .map(|s| s as f32 * scale)
                .collect()
        }
        (f, b) => return Err(WavError::Format(format!("{f:?} {b}-bit"))),
    };
    whole_frames(samples, spec.sample_rate, spec.channels)
}

/// Drops a partial trailing frame (it would shift the channels) and refuses an empty clip.
fn whole_frames(mut samples: Vec<f32>, rate: u32, channels: u16) -> Result<Clip, WavError> {
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

/// Decodes headerless little-endian PCM.
pub fn decode_raw(
    bytes: &[u8],
    rate: u32,
    channels: u16,
    format: SampleFormat,
) -> Result<Clip, WavError> {
    let samples: Vec<f32> = match format {
        SampleFormat::S16Le => bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect(),
        SampleFormat::F32Le => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    };
    whole_frames(samples, rate, channels)
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
        let back = decode(&encode_i16(&clip)).unwrap();
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
        let clip = decode(&bytes).unwrap();
        assert_eq!(clip.frames(), 2205);
    }

    #[test]
    fn garbage_and_empty_are_errors_not_panics() {
        assert!(decode(b"").is_err());
        assert!(decode(b"RIFF\0\0\0\0WAVEjunk").is_err());
        assert!(decode(&[0u8; 100]).is_err());
        let header_only = &encode_i16(&tone(8000, 1, 0.01))[..44];
        assert!(matches!(decode(header_only), Err(WavError::Empty)));
    }

    #[test]
    fn raw_pcm_decodes_both_formats() {
        let s16 = [0u8, 0x40, 0, 0xc0]; // 0.5, -0.5
        let c = decode_raw(&s16, 16000, 1, SampleFormat::S16Le).unwrap();
        assert_eq!(c.samples, vec![0.5, -0.5]);
        let f32s: Vec<u8> = [0.25f32, -1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode_raw(&f32s, 8000, 2, SampleFormat::F32Le)
                .unwrap()
                .frames(),
            1
        );
    }
}
