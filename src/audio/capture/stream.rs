//! The cpal input stream of one recording, and its real-time callback.
//!
//! The callback only down-mixes each frame to one sane mono sample (`audio::mix_frame`: a NaN
//! from a glitching card is silence) and stores it into a buffer that was allocated before the
//! stream started (`AtomicU32` slots holding `f32` bits, plus an atomic
//! write index): no allocation, no lock, no logging. The actor reads the index and the slots.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::samples_for;
use crate::audio::devices::{self, DeviceError, Direction};
use crate::config;

/// What the callback shares with the actor: preallocated slots and counters, all atomics.
struct Shared {
    slots: Box<[AtomicU32]>,
    written: AtomicUsize,
    /// Frames that arrived after the buffer was full (only past `max_record` + post-roll).
    dropped: AtomicU64,
    xruns: AtomicU64,
    failed: AtomicBool,
}

/// One open input stream.
pub(super) struct Session {
    stream: cpal::Stream,
    shared: Arc<Shared>,
    pub rate: u32,
}

impl Session {
    pub fn open(audio: &config::Audio) -> Result<Session, DeviceError> {
        let name = &audio.input_device;
        let unusable = |e: cpal::Error| DeviceError::open(Direction::Input, name, e);
        let device = devices::find(Direction::Input, name)?;
        let supported = device.default_input_config().map_err(unusable)?;
        let rate = supported.sample_rate();
        // The rate sizes the buffer below: a device reporting an absurd one (a broken USB
        // descriptor) is refused, not allowed to ask for gigabytes.
        crate::audio::sane_format(rate, supported.channels()).map_err(|why| {
            DeviceError::Format {
                name: name.clone(),
                format: why,
            }
        })?;
        let channels = usize::from(supported.channels().max(1));
        let capacity =
            samples_for(audio.max_record + audio.post_roll, rate) + audio.buffer_frames as usize;
        let shared = Arc::new(Shared {
            slots: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            written: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        });
        let config = cpal::StreamConfig {
            channels: supported.channels(),
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Fixed(audio.buffer_frames),
        };
        use cpal::SampleFormat as F;
        let stream = match supported.sample_format() {
            F::F32 => build::<f32>(&device, config, channels, &shared),
            F::I16 => build::<i16>(&device, config, channels, &shared),
            F::I32 => build::<i32>(&device, config, channels, &shared),
            F::U16 => build::<u16>(&device, config, channels, &shared),
            F::U8 => build::<u8>(&device, config, channels, &shared),
            other => {
                return Err(DeviceError::Format {
                    name: name.clone(),
                    format: format!("{other} samples"),
                });
            }
        }
        .map_err(unusable)?;
        stream.play().map_err(unusable)?;
        tracing::debug!(device = %name, rate, channels, "input open");
        Ok(Session {
            stream,
            shared,
            rate,
        })
    }

    pub fn written(&self) -> usize {
        self.shared.written.load(Ordering::Acquire)
    }

    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Copies samples `from..to` (both at most `written()`).
    pub fn samples(&self, from: usize, to: usize) -> Vec<f32> {
        copy(&self.shared.slots[from..to])
    }

    /// Closes the stream and returns the first `end` samples (fewer if fewer arrived), the
    /// rate and the overrun count.
    pub fn finish(self, end: usize) -> (Vec<f32>, u32, u64) {
        let Session {
            stream,
            shared,
            rate,
        } = self;
        drop(stream);
        let s = &shared;
        let end = end.min(s.written.load(Ordering::Acquire));
        let xruns = s.xruns.load(Ordering::Relaxed);
        let dropped = s.dropped.load(Ordering::Relaxed);
        if xruns > 0 {
            tracing::warn!(
                overruns = xruns,
                "input overruns: audio was lost; a larger audio.buffer_frames may help"
            );
        }
        if dropped > 0 {
            tracing::debug!(dropped, "frames after the recording limit were discarded");
        }
        (copy(&s.slots[..end]), rate, xruns)
    }
}

fn copy(slots: &[AtomicU32]) -> Vec<f32> {
    slots
        .iter()
        .map(|s| f32::from_bits(s.load(Ordering::Relaxed)))
        .collect()
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    channels: usize,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let data = Arc::clone(shared);
    let errors = Arc::clone(shared);
    device.build_input_stream(
        config,
        // Real-time: arithmetic and atomics only.
        move |input: &[T], _: &cpal::InputCallbackInfo| {
            let cap = data.slots.len();
            let mut w = data.written.load(Ordering::Relaxed);
            let mut dropped = 0u64;
            for frame in input.chunks_exact(channels) {
                if w >= cap {
                    dropped += 1;
                    continue;
                }
                let mono = crate::audio::mix_frame(
                    frame
                        .iter()
                        .map(|&s| <f32 as FromSample<T>>::from_sample_(s)),
                    channels,
                );
                data.slots[w].store(mono.to_bits(), Ordering::Relaxed);
                w += 1;
            }
            data.written.store(w, Ordering::Release);
            if dropped > 0 {
                data.dropped.fetch_add(dropped, Ordering::Relaxed);
            }
        },
        move |e: cpal::Error| {
            if e.kind() == cpal::ErrorKind::Xrun {
                errors.xruns.fetch_add(1, Ordering::Relaxed);
            } else {
                errors.failed.store(true, Ordering::Relaxed);
            }
        },
        None,
    )
}
