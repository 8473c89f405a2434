//! The loop in process: the real `App` and machine, fake devices that record every call, tokio's
//! paused clock. A test posts the events a device would post and reads back what the loop asked
//! of the devices, which jobs are still in flight, and the turn summaries it logged.

mod endings;
mod everyday;
mod live;
mod rules;
mod timers;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::dispatch::Job;
use super::*;
use crate::audio::{Clip, earcons::Earcon};
use crate::cancel;
use crate::config::{self, ButtonMode};
use crate::event::{
    Answer, ControlCommand, Failure, FailureClass, Recording, SpeechReport, Transcript, TurnId,
};
use crate::machine::Exchange;

/// What the loop asked of a device.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Start(TurnId),
    /// A start with a feed for a live transcription.
    StartFeeding(TurnId),
    Stop(TurnId),
    CancelCapture,
    Transcribe(TurnId),
    /// A transcribe that claims the live transcription of its recording.
    TranscribeLive(TurnId),
    Ask(TurnId),
    Load,
    Speak(TurnId, String),
    SpeakPart(TurnId, String),
    EndSpeech(TurnId, Option<String>),
    StopSpeaking,
    Earcon(Earcon),
    ThinkingCue(bool),
}

#[derive(Default)]
struct Log {
    calls: Vec<Call>,
    /// The cancel token of each `Transcribe` and `Ask`, in order.
    tokens: Vec<cancel::Token>,
    /// How often the loop built devices (once at start-up, then per applied reload).
    built: usize,
    /// Set: the transcriber hears recordings live, and each live transcription's hang-up token
    /// arrives here once its thread runs.
    live: Option<std::sync::mpsc::Sender<cancel::Token>>,
    /// The live transcriptions `transcribe` claimed, kept as a worker thread would keep them.
    claimed: Vec<crate::stt::live::Live>,
    /// The volume last given to the speaker (kept apart from `calls`: every build sets it).
    volume: Option<u8>,
    /// When the speaker was readied for a timer, and its hold (apart from `calls`: it makes no
    /// sound).
    readied: Vec<(tokio::time::Instant, Duration)>,
    /// The follow-up window of each capture started, in order.
    windows: Vec<Option<Duration>>,
}

/// Every device at once: each call is only written down.
#[derive(Clone)]
struct Fake(Rc<RefCell<Log>>);

impl Fake {
    fn call(&self, call: Call) {
        self.0.borrow_mut().calls.push(call);
    }

    fn job(&self, call: Call, cancel: cancel::Token) {
        let mut log = self.0.borrow_mut();
        log.calls.push(call);
        log.tokens.push(cancel);
    }
}

impl Microphone for Fake {
    fn start(&self, turn: TurnId, listen: crate::audio::capture::Listen) {
        self.call(match listen.feed {
            Some(_) => Call::StartFeeding(turn),
            None => Call::Start(turn),
        });
        self.0.borrow_mut().windows.push(listen.speech_within);
    }
    fn stop(&self, turn: TurnId) {
        self.call(Call::Stop(turn));
    }
    fn cancel(&self) {
        self.call(Call::CancelCapture);
    }
}

impl Loudspeaker for Fake {
    fn speak(&self, turn: TurnId, text: String) {
        self.call(Call::Speak(turn, text));
    }
    fn speak_part(&self, turn: TurnId, text: String) {
        self.call(Call::SpeakPart(turn, text));
    }
    fn end_speech(&self, turn: TurnId, tail: Option<String>) {
        self.call(Call::EndSpeech(turn, tail));
    }
    fn stop(&self) {
        self.call(Call::StopSpeaking);
    }
    fn earcon(&self, earcon: Earcon) {
        self.call(Call::Earcon(earcon));
    }
    fn thinking_cue(&self, on: bool) {
        self.call(Call::ThinkingCue(on));
    }
    fn set_volume(&self, percent: u8) {
        self.0.borrow_mut().volume = Some(percent);
    }
    fn ready(&self, hold: Duration) {
        self.0
            .borrow_mut()
            .readied
            .push((tokio::time::Instant::now(), hold));
    }
}

impl Transcriber for Fake {
    fn live(&self) -> Option<(crate::audio::capture::Feed, crate::stt::live::Live)> {
        let tokens = self.0.borrow().live.clone()?;
        Some(crate::stt::live::Live::spawn(move |_, hang_up| {
            let _ = tokens.send(hang_up.clone());
            hang_up.wait_timeout(Duration::from_secs(600));
            Err(failure(FailureClass::Cancelled))
        }))
    }

    fn transcribe(
        &self,
        turn: TurnId,
        _: Clip,
        live: Option<crate::stt::live::Live>,
        cancel: cancel::Token,
        _: &EventSender,
    ) {
        let call = match live {
            Some(live) => {
                self.0.borrow_mut().claimed.push(live);
                Call::TranscribeLive(turn)
            }
            None => Call::Transcribe(turn),
        };
        self.job(call, cancel);
    }
}

impl Responder for Fake {
    fn ask(
        &self,
        turn: TurnId,
        _: String,
        _: Vec<Exchange>,
        _: String,
        c: cancel::Token,
        _: &EventSender,
    ) {
        self.job(Call::Ask(turn), c);
    }
    fn load(&self) {
        self.call(Call::Load);
    }
}

/// Log lines, as the fmt subscriber writes them.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The lines logged at INFO.
    fn info(&self) -> Vec<String> {
        let lines = self.lines().into_iter();
        lines.filter(|l| l.contains(" INFO ")).collect()
    }

    /// The `outcome` of every turn summary logged so far.
    fn outcomes(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter(|l| l.contains(": turn "))
            .filter_map(|l| l.split_once(" outcome=\""))
            .filter_map(|(_, rest)| rest.split_once('"'))
            .map(|(outcome, _)| outcome.to_string())
            .collect()
    }
}

fn test_config(mode: ButtonMode) -> Config {
    let mut config = config::parse(config::DEFAULT_TOML, None, &|_| None).unwrap();
    config.button.mode = mode;
    config
}

struct Harness {
    app: App,
    /// Where this harness's daemon keeps its volume.
    state_dir: tempfile::TempDir,
    log: Rc<RefCell<Log>>,
    events: EventSender,
    reloads: mpsc::Sender<()>,
    shutdown: CancellationToken,
    /// What the next reload reads; `None`: the file is broken.
    next_config: Rc<RefCell<Option<Config>>>,
    /// Whether building devices fails.
    rebuild_fails: Rc<RefCell<bool>>,
    logs: Logs,
    _logging: tracing::subscriber::DefaultGuard,
}

impl Harness {
    fn new(mode: ButtonMode) -> Harness {
        Harness::with_state(mode, tempfile::tempdir().unwrap())
    }

    /// A harness whose daemon keeps its state in `state_dir` (a restart: the same dir again).
    fn with_state(mode: ButtonMode, state_dir: tempfile::TempDir) -> Harness {
        Harness::at(mode, state_dir, &timers::at("2026-12-06 05:00"))
    }

    /// A harness whose wall clock reads `wall` now (and then moves with tokio's clock).
    fn at(mode: ButtonMode, state_dir: tempfile::TempDir, wall: &jiff::Zoned) -> Harness {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .finish();
        let logging = tracing::subscriber::set_default(subscriber);

        let log = Rc::new(RefCell::new(Log::default()));
        let next_config = Rc::new(RefCell::new(None));
        let rebuild_fails = Rc::new(RefCell::new(false));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (reloads_tx, reloads) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let app = App::new(Parts {
            config: test_config(mode),
            rebuild: {
                let (log, fails) = (log.clone(), rebuild_fails.clone());
                Box::new(move |_: &Config| {
                    anyhow::ensure!(!*fails.borrow(), "no such output device");
                    log.borrow_mut().built += 1;
                    let fake = Fake(log.clone());
                    Ok(Devices {
                        microphone: Box::new(fake.clone()),
                        speaker: Box::new(fake.clone()),
                        stt: Box::new(fake.clone()),
                        ollama: Box::new(fake),
                    })
                })
            },
            reload: {
                let next = next_config.clone();
                Box::new(move || next.borrow_mut().take().context("line 3: not TOML"))
            },
            button: None,
            events_tx: events_tx.clone(),
            events,
            reloads,
            status: watch::channel(String::new()).0,
            shutdown: shutdown.clone(),
            store: {
                let dir = state_dir.path().to_str().unwrap().to_string();
                crate::state::Store::locate(&move |k| (k == "STATE_DIRECTORY").then(|| dir.clone()))
            },
            clock: Clock::starting_at(wall),
        })
        .unwrap();
        Harness {
            app,
            state_dir,
            log,
            events: events_tx,
            reloads: reloads_tx,
            shutdown,
            next_config,
            rebuild_fails,
            logs,
            _logging: logging,
        }
    }

    /// One pass of the loop. Under the paused clock, waiting only advances time to the next
    /// timer; a loop with nothing at all to wait for fails the test instead of hanging it.
    async fn step(&mut self) {
        let stepped = tokio::time::timeout(Duration::from_secs(24 * 3600), self.app.step()).await;
        assert!(stepped.expect("the loop waited for nothing").unwrap());
    }

    /// Posts what a device (or the control socket) would post, and lets the loop handle it.
    async fn post(&mut self, event: Event) {
        self.events.send(event).unwrap();
        self.step().await;
    }

    /// Shutdown as SIGTERM does it: through `run`, which returns after ending the turn.
    async fn shut_down(&mut self) {
        self.shutdown.cancel();
        self.app.run().await.unwrap();
    }

    fn calls(&self) -> Vec<Call> {
        self.log.borrow().calls.clone()
    }

    /// The cancel token handed with the last `Transcribe` or `Ask`.
    fn last_token(&self) -> cancel::Token {
        self.log
            .borrow()
            .tokens
            .last()
            .expect("no job started")
            .clone()
    }

    fn jobs(&self) -> Vec<Job> {
        self.app.driver.jobs.in_flight()
    }

    fn state(&self) -> State {
        self.app.machine.state()
    }

    fn built(&self) -> usize {
        self.log.borrow().built
    }

    /// Drives turn 1 from idle up to `stage`: a tap, the microphone opening, the end of speech,
    /// a recording, a transcript, an answer.
    async fn reach(&mut self, stage: State) {
        self.post(Event::control(ControlCommand::Tap)).await;
        self.post(Event::CaptureStarted { turn: 1 }).await;
        if stage == State::Listening {
            return;
        }
        self.post(Event::SpeechEnded { turn: 1 }).await;
        self.post(captured(1, true)).await;
        if stage == State::Transcribing {
            return;
        }
        self.post(transcribed(1, Ok("what time is it"))).await;
        if stage == State::Thinking {
            return;
        }
        self.post(answered(1, Ok("It is noon. Time for lunch.")))
            .await;
        assert_eq!(self.state(), stage);
    }

    /// Lets the failure message the machine is speaking (if any) play to the end.
    async fn hear_notice(&mut self) {
        if self.state() == State::Speaking {
            self.post(spoken(1, heard(1))).await;
        }
    }
}

fn captured(turn: TurnId, has_speech: bool) -> Event {
    let recording = Recording {
        clip: Clip {
            samples: vec![0.0; 24_000],
            rate: 16_000,
            channels: 1,
        },
        record_ms: 1500,
        has_speech,
        overruns: 0,
    };
    Event::Captured {
        turn,
        result: Ok(recording),
    }
}

fn failure(class: FailureClass) -> Failure {
    Failure::new(class, format!("a {} failure", class.as_str()))
}

fn transcribed(turn: TurnId, result: Result<&str, FailureClass>) -> Event {
    Event::Transcribed {
        turn,
        result: result
            .map(|text| Transcript {
                text: text.into(),
                stt_ms: 400,
            })
            .map_err(failure),
    }
}

/// A piece of a streamed reply.
fn replying(turn: TurnId, text: &str) -> Event {
    Event::Replying {
        turn,
        text: text.into(),
    }
}

fn answered(turn: TurnId, result: Result<&str, FailureClass>) -> Event {
    Event::Answered {
        turn,
        result: result
            .map(|text| Answer {
                text: text.into(),
                attempts: 1,
                ollama_ms: 900,
                model: "llama3.2".into(),
                done_reason: Some("stop".into()),
                tools: Vec::new(),
            })
            .map_err(failure),
    }
}

fn spoken(turn: TurnId, report: SpeechReport) -> Event {
    Event::Spoken { turn, report }
}

/// `sentences` sentences, all heard.
fn heard(sentences: usize) -> SpeechReport {
    SpeechReport {
        sentences,
        first_audio_ms: Some(300),
        tts_first_ms: Some(200),
        total_ms: 2000,
        ..SpeechReport::default()
    }
}
