//! Microphone capture (the only cpal user): an actor that opens the input on `start` and closes it
//! when the recording ends, so an idle box holds no audio stream.
//!
//! The real-time callback only down-mixes each frame to mono and stores it into a buffer that
//! was allocated before the stream started (`AtomicU32` slots holding `f32` bits, plus an atomic
//! write index): no allocation, no lock, no logging. The actor thread watches the write index
//! while recording (that is the only polling, and only while the stream is open).
//!
//! Durations that decide what is kept (post-roll, `max_record`, `listen --seconds`) are counted
//! in captured samples, not wall time: the same on a real microphone, and correct on an unpaced
//! test device that delivers audio far faster than real time.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::Clip;
use super::energy::{self, EndDetector};
use super::resample;
use crate::config;
use crate::event::{Event, EventSender, Failure, FailureClass, Recording, TurnId, ms};

/// Recordings are handed on at the rate STT engines expect.
pub const STT_RATE: u32 = 16_000;
/// Opening a busy or missing device is tried this often, with doubling pauses in between.
const OPEN_ATTEMPTS: u32 = 4;
const OPEN_BACKOFF: Duration = Duration::from_millis(150);
/// How often the actor looks at the write index before and after the first frame arrived.
const POLL_FIRST: Duration = Duration::from_millis(1);
const POLL_RUNNING: Duration = Duration::from_millis(10);
/// A stream that opened but delivers nothing for this long is reported as failed.
const NO_AUDIO_TIMEOUT: Duration = Duration::from_secs(3);

/// Handle to the capture actor. Dropping it stops the actor (and any open stream).
pub struct Capture {
    tx: Option<mpsc::Sender<Cmd>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
enum Cmd {
    Start { turn: TurnId, detect_end: bool },
    Stop { turn: TurnId },
    Cancel,
}

impl Capture {
    /// Starts the actor thread. Nothing is opened until `start`.
    pub fn spawn(audio: &config::Audio, events: EventSender) -> Capture {
        let (tx, rx) = mpsc::channel();
        let audio = audio.clone();
        let thread = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || actor(&audio, &events, &rx));
        match thread {
            Ok(t) => Capture {
                tx: Some(tx),
                thread: Some(t),
            },
            Err(e) => {
                // Without a thread every start answers with a failure instead of hanging.
                tracing::error!(error = %e, "cannot start the capture thread");
                Capture {
                    tx: None,
                    thread: None,
                }
            }
        }
    }

    /// Opens the input and records for `turn`: posts `CaptureStarted` on the first frame, and
    /// in toggle mode (`detect_end`) `SpeechEnded` after speech and `end_silence` of quiet.
    /// A recording already running is dropped without a result.
    pub fn start(&self, turn: TurnId, detect_end: bool) {
        self.send(Cmd::Start { turn, detect_end });
    }

    /// Keeps recording for `post_roll`, then posts `Captured` and closes the input.
    pub fn stop(&self, turn: TurnId) {
        self.send(Cmd::Stop { turn });
    }

    /// Drops the recording and closes the input; nothing is posted.
    pub fn cancel(&self) {
        self.send(Cmd::Cancel);
    }

    fn send(&self, cmd: Cmd) {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(cmd).is_ok());
        if !sent {
            tracing::error!("the capture thread is gone; the microphone cannot be used");
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// When `record` stops.
pub enum StopWhen {
    /// After this much captured audio (capped by `audio.max_record`).
    After(Duration),
    /// When the sender sends or hangs up (e.g. Enter was pressed), or at `audio.max_record`.
    Signal(mpsc::Receiver<()>),
}

/// Records once, blocking: for `voicebox listen`. Uses the same actor as the daemon.
pub fn record(audio: &config::Audio, stop: StopWhen) -> Result<Recording, Failure> {
    let mut audio = audio.clone();
    let signal = match stop {
        StopWhen::After(d) => {
            audio.max_record = audio.max_record.min(d);
            audio.post_roll = Duration::ZERO;
            None
        }
        StopWhen::Signal(rx) => Some(rx),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let capture = Arc::new(Capture::spawn(&audio, tx));
    capture.start(1, false);
    if let Some(signal) = signal {
        let c = Arc::downgrade(&capture);
        // Detached: it may wait on stdin forever; the process ends without it.
        std::thread::spawn(move || {
            let _ = signal.recv();
            if let Some(c) = c.upgrade() {
                c.stop(1);
            }
        });
    }
    while let Some(ev) = rx.blocking_recv() {
        if let Event::Captured { result, .. } = ev {
            return result;
        }
    }
    Err(Failure::new(
        FailureClass::AudioFailed,
        "the capture thread ended without a recording",
    ))
}

/// The actor: idle it blocks on its command channel; a `Start` runs one recording.
fn actor(audio: &config::Audio, events: &EventSender, rx: &mpsc::Receiver<Cmd>) {
    let mut next = None;
    loop {
        let cmd = match next.take() {
            Some(c) => c,
            None => match rx.recv() {
                Ok(c) => c,
                Err(_) => return,
            },
        };
        if let Cmd::Start { turn, detect_end } = cmd {
            match recording(audio, events, rx, turn, detect_end) {
                Next::Idle => {}
                Next::Command(c) => next = Some(c),
                Next::Exit => return,
            }
        }
    }
}

enum Next {
    Idle,
    Command(Cmd),
    Exit,
}

/// What happened to a command that arrived during a recording.
enum Seen {
    Nothing,
    StopAsked,
    Leave(Next),
}

fn on_command(msg: Result<Cmd, mpsc::RecvTimeoutError>, turn: TurnId) -> Seen {
    match msg {
        Ok(Cmd::Stop { turn: t }) if t == turn => Seen::StopAsked,
        Ok(Cmd::Stop { .. }) => Seen::Nothing, // a late stop for an old turn
        Ok(Cmd::Cancel) => Seen::Leave(Next::Idle),
        Ok(start @ Cmd::Start { .. }) => Seen::Leave(Next::Command(start)),
        Err(mpsc::RecvTimeoutError::Timeout) => Seen::Nothing,
        Err(mpsc::RecvTimeoutError::Disconnected) => Seen::Leave(Next::Exit),
    }
}

fn recording(
    audio: &config::Audio,
    events: &EventSender,
    rx: &mpsc::Receiver<Cmd>,
    turn: TurnId,
    detect_end: bool,
) -> Next {
    let post = |result| {
        let _ = events.send(Event::Captured { turn, result });
    };
    let mut stop_asked = false;

    // Open, retrying a busy or missing device; commands still count while we wait.
    let mut attempt = 0;
    let session = loop {
        attempt += 1;
        match Session::open(audio) {
            Ok(s) => break s,
            Err(e) if attempt >= OPEN_ATTEMPTS || stop_asked => {
                tracing::warn!(device = %audio.input_device, attempts = attempt, "{e}");
                post(Err(Failure::new(FailureClass::AudioFailed, e)));
                return Next::Idle;
            }
            Err(e) => {
                tracing::debug!(device = %audio.input_device, attempt, "{e}; retrying");
                let pause = OPEN_BACKOFF * 2u32.pow(attempt - 1);
                match on_command(rx.recv_timeout(pause), turn) {
                    Seen::Nothing => {}
                    Seen::StopAsked => stop_asked = true,
                    Seen::Leave(n) => return n,
                }
            }
        }
    };

    let max = samples_for(audio.max_record, session.rate);
    let post_roll = samples_for(audio.post_roll, session.rate);
    let mut stop_at: Option<usize> = stop_asked.then_some(post_roll);
    let mut detector = detect_end
        .then(|| EndDetector::new(session.rate, audio.speech_threshold, audio.end_silence));
    let mut seen = 0usize;
    let mut started = false;
    let opened = Instant::now();

    let end = loop {
        let wait = if started { POLL_RUNNING } else { POLL_FIRST };
        match on_command(rx.recv_timeout(wait), turn) {
            Seen::Nothing => {}
            Seen::StopAsked => {
                if stop_at.is_none() {
                    stop_at = Some(session.written() + post_roll);
                }
            }
            Seen::Leave(n) => return n,
        }
        let written = session.written();
        if written > 0 && !started {
            started = true;
            let _ = events.send(Event::CaptureStarted { turn });
        }
        if !started && opened.elapsed() > NO_AUDIO_TIMEOUT {
            post(Err(Failure::new(
                FailureClass::AudioFailed,
                format!(
                    "input device \"{}\" opened but delivered no audio for {} s; check it with `voicebox devices` and `arecord -D {}`",
                    audio.input_device,
                    NO_AUDIO_TIMEOUT.as_secs(),
                    audio.input_device
                ),
            )));
            return Next::Idle;
        }
        let limit = max.min(stop_at.unwrap_or(usize::MAX));
        let upto = written.min(limit);
        if let Some(d) = detector.as_mut()
            && upto > seen
            && d.push(&session.samples(seen, upto))
        {
            let _ = events.send(Event::SpeechEnded { turn });
        }
        seen = upto;
        if written >= limit || session.failed() {
            break limit;
        }
    };

    let (mono, rate, overruns) = session.finish(end);
    let hit_max = end >= max;
    let rec = make_recording(mono, rate, overruns, audio.speech_threshold);
    tracing::debug!(
        record_ms = rec.record_ms,
        overruns = rec.overruns,
        has_speech = rec.has_speech,
        max_reached = hit_max,
        "capture finished"
    );
    post(Ok(rec));
    Next::Idle
}

fn samples_for(d: Duration, rate: u32) -> usize {
    (d.as_secs_f64() * f64::from(rate)).round() as usize
}

/// Builds the 16 kHz mono recording from captured mono samples.
fn make_recording(mono: Vec<f32>, rate: u32, overruns: u64, threshold: f32) -> Recording {
    let record_ms = ms(Duration::from_secs_f64(
        mono.len() as f64 / f64::from(rate.max(1)),
    ));
    let clip = resample::to_mono(
        &Clip {
            samples: mono,
            rate,
            channels: 1,
        },
        STT_RATE,
    );
    let has_speech = energy::has_speech(&clip.samples, clip.rate, threshold);
    Recording {
        clip,
        record_ms,
        has_speech,
        overruns,
    }
}

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
struct Session {
    stream: cpal::Stream,
    shared: Arc<Shared>,
    rate: u32,
}

impl Session {
    fn open(audio: &config::Audio) -> Result<Session, String> {
        let name = &audio.input_device;
        let hint = "run `voicebox devices` to list the inputs and set audio.input_device";
        let host = cpal::default_host();
        let device = find_input(&host, name)
            .ok_or_else(|| format!("input device \"{name}\" was not found; {hint}"))?;
        let supported = device
            .default_input_config()
            .map_err(|e| format!("cannot open input device \"{name}\": {e}; {hint}"))?;
        let rate = supported.sample_rate();
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
                return Err(format!(
                    "input device \"{name}\" offers only {other} samples, which voicebox cannot read; choose another device ({hint})"
                ));
            }
        }
        .map_err(|e| format!("cannot open input device \"{name}\": {e}; {hint}"))?;
        stream
            .play()
            .map_err(|e| format!("cannot start input device \"{name}\": {e}; {hint}"))?;
        tracing::debug!(device = %name, rate, channels, "input open");
        Ok(Session {
            stream,
            shared,
            rate,
        })
    }

    fn written(&self) -> usize {
        self.shared.written.load(Ordering::Acquire)
    }

    fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Copies samples `from..to` (both at most `written()`).
    fn samples(&self, from: usize, to: usize) -> Vec<f32> {
        self.shared.slots[from..to]
            .iter()
            .map(|s| f32::from_bits(s.load(Ordering::Relaxed)))
            .collect()
    }

    /// Closes the stream and returns the first `end` samples (fewer if fewer arrived).
    fn finish(self, end: usize) -> (Vec<f32>, u32, u64) {
        drop(self.stream);
        let end = end.min(self.shared.written.load(Ordering::Acquire));
        let s = &self.shared;
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
        let samples = s.slots[..end]
            .iter()
            .map(|v| f32::from_bits(v.load(Ordering::Relaxed)))
            .collect();
        (samples, self.rate, xruns)
    }
}

/// One audio device for `voicebox devices`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// What `audio.input_device` / `audio.output_device` accept.
    pub id: String,
    pub description: String,
    pub is_default: bool,
}

/// Inputs and outputs as ALSA lists them, "default" first. Here rather than in a file of its
/// own because this is the one file that talks to cpal.
pub fn list_devices() -> (Vec<DeviceInfo>, Vec<DeviceInfo>) {
    let host = cpal::default_host();
    let info = |d: &cpal::Device, default_id: &Option<String>| {
        let id = d.id().map(|i| i.id().to_string()).unwrap_or_default();
        let description = d
            .description()
            .map(|x| x.name().to_string())
            .unwrap_or_default();
        DeviceInfo {
            is_default: default_id.as_deref() == Some(id.as_str()),
            id,
            description,
        }
    };
    let collect = |default: Option<cpal::Device>, all: Option<Vec<cpal::Device>>| {
        let default_id = default
            .as_ref()
            .and_then(|d| d.id().ok())
            .map(|i| i.id().to_string());
        let mut out: Vec<DeviceInfo> = default.iter().map(|d| info(d, &default_id)).collect();
        for d in all.unwrap_or_default() {
            let i = info(&d, &default_id);
            if !out.iter().any(|o| o.id == i.id) {
                out.push(i);
            }
        }
        out
    };
    let inputs = collect(
        host.default_input_device(),
        host.input_devices().ok().map(Iterator::collect),
    );
    let outputs = collect(
        host.default_output_device(),
        host.output_devices().ok().map(Iterator::collect),
    );
    (inputs, outputs)
}

/// "default" is the default input; other names match a device id (`hw:CARD=...`) or its name.
fn find_input(host: &cpal::Host, name: &str) -> Option<cpal::Device> {
    if name == "default" {
        return host.default_input_device();
    }
    let matches = |d: &cpal::Device| {
        d.id().is_ok_and(|id| id.id() == name)
            || d.description().is_ok_and(|desc| desc.name() == name)
    };
    host.input_devices()
        .ok()
        .and_then(|mut ds| ds.find(|d| matches(d)))
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
                let sum: f32 = frame
                    .iter()
                    .map(|&s| <f32 as FromSample<T>>::from_sample_(s))
                    .sum();
                data.slots[w].store((sum / channels as f32).to_bits(), Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_is_16k_mono_with_length_and_speech_flag() {
        let rate = 48000;
        let tone: Vec<f32> = (0..rate)
            .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin())
            .collect();
        let r = make_recording(tone, rate, 2, 0.01);
        assert_eq!((r.clip.rate, r.clip.channels), (16000, 1));
        assert_eq!(r.record_ms, 1000);
        assert!(r.has_speech);
        assert_eq!(r.overruns, 2);
        let r = make_recording(vec![0.0; 24000], rate, 0, 0.01);
        assert_eq!(r.record_ms, 500);
        assert!(!r.has_speech);
    }

    #[test]
    fn sample_counts_follow_the_rate() {
        assert_eq!(samples_for(Duration::from_millis(250), 48000), 12000);
        assert_eq!(samples_for(Duration::from_secs(4), 16000), 64000);
        assert_eq!(samples_for(Duration::ZERO, 44100), 0);
    }
}
