//! The capture thread: idle it blocks on its command channel; a `Start` runs one recording,
//! during which it still answers `Stop`, `Cancel` and a newer `Start`.
//!
//! While recording it watches the stream's write index (the only polling, and only while the
//! stream is open), feeds the end-of-speech detector, and posts the result when done.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::feed::Feeder;
use super::stream::Session;
use super::{Cmd, Listen, STT_RATE, samples_for};
use crate::audio::Clip;
use crate::audio::devices::DeviceError;
use crate::audio::energy::{self, EndDetector};
use crate::audio::resample;
use crate::bus::EventSender;
use crate::config;
use crate::event::{Event, Failure, FailureClass, Recording, TurnId, ms};

/// Opening a busy or missing device is tried this often, with doubling pauses in between.
const OPEN_ATTEMPTS: u32 = 4;
const OPEN_BACKOFF: Duration = Duration::from_millis(150);
/// How often the actor looks at the write index: finely before the first frame and while the
/// post-roll runs out (the question waits for both), coarsely while the user speaks.
const POLL_FINE: Duration = Duration::from_millis(1);
const POLL_RUNNING: Duration = Duration::from_millis(10);
/// A stream that opened but delivers nothing for this long is reported as failed.
const NO_AUDIO_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) fn run(audio: &config::Audio, events: &EventSender, rx: &mpsc::Receiver<Cmd>) {
    let mut next = None;
    loop {
        let cmd = match next.take() {
            Some(c) => c,
            None => match rx.recv() {
                Ok(c) => c,
                Err(_) => return,
            },
        };
        if let Cmd::Start { turn, listen } = cmd {
            match recording(audio, events, rx, turn, listen) {
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
    listen: Listen,
) -> Next {
    let fail = |e: DeviceError| {
        let _ = events.send(Event::Captured {
            turn,
            result: Err(Failure::new(FailureClass::AudioFailed, e.to_string())),
        });
        Next::Idle
    };
    let mut stop_asked = false;

    // Open, retrying a busy or missing device; commands still count while we wait.
    let mut attempt = 0;
    let session = loop {
        attempt += 1;
        match Session::open(audio) {
            Ok(s) => break s,
            Err(e) if !e.may_pass() || attempt >= OPEN_ATTEMPTS || stop_asked => {
                // DEBUG: the loop logs the failure it is sent, once, at WARN.
                tracing::debug!(device = %audio.input_device, attempts = attempt, "{e}");
                return fail(e);
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
    let give_up = listen.speech_within.map(|d| samples_for(d, session.rate));
    let mut detector = (listen.detect_end || give_up.is_some())
        .then(|| EndDetector::new(session.rate, audio.speech_threshold, audio.end_silence));
    let mut feeder = listen.feed.map(|tx| Feeder::new(tx, session.rate));
    let mut seen = 0usize;
    let mut started = false;
    let opened = Instant::now();

    let end = loop {
        let wait = if started && stop_at.is_none() {
            POLL_RUNNING
        } else {
            POLL_FINE
        };
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
            return fail(DeviceError::Silent {
                name: audio.input_device.clone(),
                seconds: NO_AUDIO_TIMEOUT.as_secs(),
            });
        }
        let limit = max.min(stop_at.unwrap_or(usize::MAX));
        // A follow-up window still waiting for speech: look no further than its end, so the
        // recording ends exactly there even when audio arrives in large blocks.
        let heard = |d: &Option<EndDetector>| d.as_ref().is_some_and(EndDetector::heard_speech);
        let window = give_up.filter(|_| !heard(&detector));
        let upto = written.min(limit).min(window.unwrap_or(usize::MAX));
        if upto > seen && (detector.is_some() || feeder.is_some()) {
            let fresh = session.samples(seen, upto);
            if let Some(f) = feeder.as_mut() {
                f.push(&fresh);
            }
            if let Some(d) = detector.as_mut()
                && d.push(&fresh)
                && listen.detect_end
            {
                let _ = events.send(Event::SpeechEnded { turn });
            }
        }
        seen = upto;
        if let Some(end) = window
            && seen >= end
            && !heard(&detector)
        {
            break end;
        }
        if written >= limit || session.failed() {
            break limit;
        }
    };

    let (mono, rate, overruns) = session.finish(end);
    // Before `Captured`: the recogniser may finish while the machine decides what to do next.
    if let Some(f) = feeder {
        f.finish();
    }
    let rec = make_recording(mono, rate, overruns, audio.speech_threshold);
    tracing::debug!(
        record_ms = rec.record_ms,
        overruns = rec.overruns,
        has_speech = rec.has_speech,
        max_reached = end >= max,
        "capture finished"
    );
    let _ = events.send(Event::Captured {
        turn,
        result: Ok(rec),
    });
    Next::Idle
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
}
