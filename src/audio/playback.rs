//! The playback actor (the only rodio user; the device itself comes from `devices`): owns the
//! output on its own thread, opens it when there is something to play (or about to be: `open`)
//! and closes it `audio.linger` after the last sound.
//!
//! Why close it: an open output is a running audio stream (CPU, and with alsa-lib's unpaced
//! `file` plugin a flood of silence), and an idle box must hold none. Clips are played one at a
//! time, in the order given; rodio's mixer converts rate and channels to what the device opened.
//!
//! A background sound (the thinking cue) can repeat while nothing else plays: any clip queued
//! ends it, after at most the repeat in progress, so it never mixes with what follows. The gain
//! can change at any time, also during a clip.

use std::collections::VecDeque;
use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use rodio::{DeviceSinkBuilder, MixerDeviceSink, Player};

use super::Clip;
use super::devices::{self, DeviceError, Direction};
use crate::config;

/// How often a playing actor looks at its queue and the stop flag. Only while sound plays:
/// an idle actor blocks on its channel.
const TICK: Duration = Duration::from_millis(5);

/// How one clip went.
#[derive(Debug, Clone)]
pub struct Played {
    /// When the clip was handed to the device (its first sample queued on the mixer).
    pub started: Option<Instant>,
    pub started_at: Option<SystemTime>,
    /// When the device had taken its last sample (or it was stopped).
    pub ended: Instant,
    pub ended_at: SystemTime,
    pub stopped: bool,
    /// The output device could not be opened.
    pub error: Option<DeviceError>,
}

enum Cmd {
    Play {
        clip: Clip,
        pause_after: Duration,
        generation: u64,
        done: mpsc::Sender<Played>,
    },
    /// Open the output now (if closed), for a clip that is on its way; it lingers as usual,
    /// and is held open at least `hold` from now.
    Open {
        hold: Duration,
    },
    /// Play `clip` every `period` until another clip is queued, `EndRepeat` or a stop.
    Repeat {
        clip: Clip,
        period: Duration,
        generation: u64,
    },
    EndRepeat,
    /// Wakes the actor so it sees a new generation at once.
    Stop,
    Shutdown,
}

/// A background sound being repeated.
struct Repeat {
    clip: Clip,
    period: Duration,
    next: Instant,
    generation: u64,
}

/// A cloneable way to play and stop from other threads; the `Playback` owner keeps the thread.
#[derive(Clone)]
pub struct Remote {
    tx: mpsc::Sender<Cmd>,
    generation: Arc<AtomicU64>,
    /// The playback gain, as f32 bits (an atomic the actor reads while it plays).
    gain: Arc<AtomicU32>,
}

impl Remote {
    /// Queues a clip; the receiver gets one `Played` when it has played, was stopped or failed.
    /// `pause_after` of silence follows the clip (the gap between sentences).
    pub fn play(&self, clip: Clip, pause_after: Duration) -> mpsc::Receiver<Played> {
        let (done, rx) = mpsc::channel();
        let cmd = Cmd::Play {
            clip,
            pause_after,
            generation: self.generation.load(Ordering::SeqCst),
            done,
        };
        // A dead actor drops `done`, which the caller sees as a closed receiver.
        let _ = self.tx.send(cmd);
        rx
    }

    /// Opens the output ahead of a clip that is still being made, so opening the device is not
    /// on the way to its first sample. Errors wait for the play that follows.
    pub fn open(&self) {
        let _ = self.tx.send(Cmd::Open {
            hold: Duration::ZERO,
        });
    }

    /// Opens the output now, ahead of a sound due within `hold` (a timer about to ring), and
    /// keeps it open that long even with nothing played: finding and opening the device can
    /// take seconds (alsa-lib's first device search on a slow box), which would make the sound
    /// late. Errors wait for the play that follows.
    pub fn open_for(&self, hold: Duration) {
        let _ = self.tx.send(Cmd::Open { hold });
    }

    /// Silences the output at once and drops everything queued.
    pub fn stop(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.send(Cmd::Stop);
    }

    /// Plays `clip` now and then every `period` while nothing else is queued; the next clip
    /// queued ends it (after the repeat in progress), as do `end_repeat` and `stop`.
    pub fn repeat(&self, clip: Clip, period: Duration) {
        let generation = self.generation.load(Ordering::SeqCst);
        let _ = self.tx.send(Cmd::Repeat {
            clip,
            period,
            generation,
        });
    }

    pub fn end_repeat(&self) {
        let _ = self.tx.send(Cmd::EndRepeat);
    }

    /// The gain for everything played from now on, the clip playing included.
    pub fn set_gain(&self, gain: f32) {
        self.gain.store(gain.to_bits(), Ordering::Relaxed);
    }
}

/// Handle to the playback actor; dropping it stops playback and ends the thread.
pub struct Playback {
    remote: Remote,
    thread: Option<JoinHandle<()>>,
}

impl Playback {
    /// Starts the actor thread; the output opens on the first `play`. If the thread cannot
    /// start, every `play` answers with a closed receiver, which callers report as a failure.
    pub fn spawn(cfg: &config::Audio) -> Self {
        let (tx, rx) = mpsc::channel();
        let generation = Arc::new(AtomicU64::new(0));
        let gain = Arc::new(AtomicU32::new(cfg.volume.to_bits()));
        let actor = Actor {
            device: cfg.output_device.clone(),
            buffer_frames: cfg.buffer_frames,
            gain: gain.clone(),
            linger: cfg.linger,
            generation: generation.clone(),
            rx,
            queue: VecDeque::new(),
            output: None,
            repeat: None,
            last_sound: Instant::now(),
            held_until: Instant::now(),
        };
        let thread = std::thread::Builder::new()
            .name("playback".into())
            .spawn(move || actor.run())
            .inspect_err(|e| tracing::error!(error = %e, "cannot start the playback thread"))
            .ok();
        Self {
            remote: Remote {
                tx,
                generation,
                gain,
            },
            thread,
        }
    }

    pub fn play(&self, clip: Clip, pause_after: Duration) -> mpsc::Receiver<Played> {
        self.remote.play(clip, pause_after)
    }

    pub fn stop(&self) {
        self.remote.stop();
    }

    pub fn remote(&self) -> Remote {
        self.remote.clone()
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.remote.stop();
        let _ = self.remote.tx.send(Cmd::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Output {
    // Field order matters: the player detaches from the mixer before the stream closes.
    player: Player,
    _sink: MixerDeviceSink,
}

struct Actor {
    device: String,
    buffer_frames: u32,
    gain: Arc<AtomicU32>,
    linger: Duration,
    generation: Arc<AtomicU64>,
    rx: mpsc::Receiver<Cmd>,
    /// Commands that arrived while a clip was playing.
    queue: VecDeque<Cmd>,
    output: Option<Output>,
    repeat: Option<Repeat>,
    /// When the last clip ended: the linger counts from here.
    last_sound: Instant,
    /// The output stays open at least until then (`Remote::open_for`).
    held_until: Instant,
}

impl Actor {
    fn run(mut self) {
        while let Some(cmd) = self.next() {
            match cmd {
                Cmd::Shutdown => return,
                Cmd::Stop => {
                    self.output = None;
                    self.repeat = None;
                    self.held_until = Instant::now();
                }
                Cmd::Repeat {
                    clip,
                    period,
                    generation,
                } => {
                    let next = Instant::now();
                    self.repeat = Some(Repeat {
                        clip,
                        period,
                        next,
                        generation,
                    });
                }
                Cmd::EndRepeat => self.repeat = None,
                Cmd::Open { hold } => {
                    if self.output.is_none() {
                        self.output = open(&self.device, self.buffer_frames).ok();
                        // It lingers from now if the clip it was opened for never comes.
                        self.last_sound = Instant::now();
                    }
                    self.held_until = self.held_until.max(Instant::now() + hold);
                }
                Cmd::Play {
                    clip,
                    pause_after,
                    generation,
                    done,
                } => {
                    // Whatever is queued next ends a background sound.
                    self.repeat = None;
                    let played = self.play(clip, pause_after, generation);
                    let _ = done.send(played);
                }
            }
        }
    }

    /// The next command (`None`: the handle is gone). While waiting it plays a repeat when
    /// one is due, and closes the output `linger` after the last sound; with neither, it
    /// blocks (idle is idle).
    fn next(&mut self) -> Option<Cmd> {
        loop {
            if let Some(c) = self.queue.pop_front() {
                return Some(c);
            }
            if self
                .repeat
                .as_ref()
                .is_some_and(|r| self.stale(r.generation))
            {
                self.repeat = None;
            }
            let repeat_at = self.repeat.as_ref().map(|r| r.next);
            let close_at = self
                .output
                .as_ref()
                .map(|_| (self.last_sound + self.linger).max(self.held_until));
            let got = match repeat_at.into_iter().chain(close_at).min() {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => self
                    .rx
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match got {
                Ok(c) => return Some(c),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if let Some(r) = self.repeat.as_mut()
                && r.next <= now
            {
                r.next = now + r.period;
                let (clip, generation) = (r.clip.clone(), r.generation);
                if self.play(clip, Duration::ZERO, generation).error.is_some() {
                    self.repeat = None; // no device: the real sound that follows says so
                }
            } else if close_at.is_some_and(|at| at <= now) {
                tracing::debug!("output closed after linger");
                self.output = None;
                super::release_heap();
            }
        }
    }

    fn stale(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) != generation
    }

    fn gain(&self) -> f32 {
        f32::from_bits(self.gain.load(Ordering::Relaxed))
    }

    fn play(&mut self, clip: Clip, pause_after: Duration, generation: u64) -> Played {
        let finish = |started: Option<(Instant, SystemTime)>, stopped, error| Played {
            started: started.map(|s| s.0),
            started_at: started.map(|s| s.1),
            ended: Instant::now(),
            ended_at: SystemTime::now(),
            stopped,
            error,
        };
        if self.stale(generation) {
            return finish(None, true, None);
        }
        let (Some(channels), Some(rate)) = (NonZero::new(clip.channels), NonZero::new(clip.rate))
        else {
            // Decoded WAVs and earcons always have both; nothing to play is not a device error.
            tracing::warn!("a clip without channels or rate was skipped");
            return finish(None, false, None);
        };
        let out = match self.output.take() {
            Some(o) => o,
            None => match open(&self.device, self.buffer_frames) {
                Ok(o) => o,
                Err(e) => return finish(None, false, Some(e)),
            },
        };
        let gain = self.gain();
        let out = self.output.insert(out);
        out.player.set_volume(gain);
        out.player.append(rodio::buffer::SamplesBuffer::new(
            channels,
            rate,
            clip.samples,
        ));
        // The pause is generated silence, not padding: it costs no memory, whatever the rate.
        let pause = (pause_after.as_secs_f64() * f64::from(clip.rate)) as usize;
        if pause > 0 {
            out.player.append(rodio::source::Zero::new_samples(
                channels,
                rate,
                pause * usize::from(clip.channels),
            ));
        }
        let started = Some((Instant::now(), SystemTime::now()));
        loop {
            if self.stale(generation) {
                // Closing the stream is the fastest silence there is: nothing queued in the
                // device survives it.
                self.output = None;
                self.drop_queue();
                return finish(started, true, None);
            }
            match self.output.as_ref() {
                Some(o) if !o.player.empty() => o.player.set_volume(self.gain()),
                _ => {
                    self.last_sound = Instant::now();
                    return finish(started, false, None);
                }
            }
            match self.rx.recv_timeout(TICK) {
                Ok(Cmd::Stop) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Cmd::Open { hold }) => {
                    self.held_until = self.held_until.max(Instant::now() + hold)
                }
                Ok(c @ (Cmd::Play { .. } | Cmd::Repeat { .. } | Cmd::EndRepeat)) => {
                    self.queue.push_back(c)
                }
                Ok(Cmd::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    self.output = None;
                    self.queue.push_front(Cmd::Shutdown);
                    return finish(started, true, None);
                }
            }
        }
    }

    /// Answers every queued play as stopped.
    fn drop_queue(&mut self) {
        for c in self.queue.drain(..) {
            if let Cmd::Play { done, .. } = c {
                let _ = done.send(Played {
                    started: None,
                    started_at: None,
                    ended: Instant::now(),
                    ended_at: SystemTime::now(),
                    stopped: true,
                    error: None,
                });
            }
        }
    }
}

/// Opens the named output (see `devices::find`) with the configured period size.
fn open(name: &str, buffer_frames: u32) -> Result<Output, DeviceError> {
    let unusable = |e: rodio::DeviceSinkError| DeviceError::open(Direction::Output, name, e);
    let device = devices::find(Direction::Output, name)?;
    let mut sink = DeviceSinkBuilder::from_device(device)
        .map_err(unusable)?
        // Small periods: `stop` is heard within one period.
        .with_buffer_size(rodio::cpal::BufferSize::Fixed(buffer_frames))
        // Stream errors surface as a failed play; the default callback would print to stderr.
        .with_error_callback(|_| {})
        .open_sink_or_fallback()
        .map_err(unusable)?;
    sink.log_on_drop(false);
    let player = Player::connect_new(sink.mixer());
    tracing::debug!(device = name, "output opened");
    Ok(Output {
        player,
        _sink: sink,
    })
}
