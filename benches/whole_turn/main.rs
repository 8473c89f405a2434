//! The whole turn, release → first sample at the speaker (issue 13): a question spoken by
//! espeak-ng into the test microphone, paced to real time; the release; the post-roll; STT
//! (pocketsphinx); a fake Ollama that models a real server (300 ms to the first token, 20
//! tokens/s, a three-sentence reply, streamed as NDJSON or returned whole as the request asks);
//! the first sentence synthesized (espeak-ng); its first sample handed to the speaker.
//!
//! The daemon's own loop and devices run in this process (`App` with `cmd::devices`), driven by
//! button events; `stream = false` and `stream = true` each have their own loop, and their turns
//! alternate. The stage marks are the daemon's DEBUG lines (`record.rs`), the fake's log of
//! when it received the request and sent each token, and the hook programs' own start and exit
//! (`timed.rs`). External stages: the post-roll (`audio.post_roll_ms` of real audio), STT,
//! Ollama (request received → the reply whole, or streamed: → the token after the first
//! sentence's final mark, the earliest a splitter can know it ended), TTS of the first sentence.
//! voicebox's share is release → first audio minus those.
//!
//! `cargo bench --bench whole_turn` (`BENCH_RUNS=N`, default 10 after 2 warm-ups); a plain
//! `cargo test --bench whole_turn` runs one turn of each as a smoke check.

mod record;
// A bench uses a few of the shared test helpers; the rest is dead code here.
#[path = "../../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;
mod timed;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use record::Recorder;
use support::fake_ollama::{FakeOllama, Pace, Reply, Run};
use voicebox::app::{App, Parts};
use voicebox::bus::EventSender;
use voicebox::config::Config;
use voicebox::event::Event;

const QUESTION: &str = "what is the capital of france";
/// 57 tokens; the first sentence is 7 of them.
const REPLY: &str = "Paris is the capital of France. It sits on the river Seine, in the north of \
the country, and it has been the capital for more than a thousand years. About two million \
people live in the city itself, and more than twelve million live in the wider region around it.";
const FIRST: &str = "Paris is the capital of France.";
const FIRST_TOKEN_MS: u64 = 300;
const TOKENS_PER_S: f64 = 20.0;
/// Silence before the question in the microphone input (`sound::spoken_mic`).
const LEAD: Duration = Duration::from_millis(500);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(timed::FLAG) {
        timed::wrapper_main(&args[2..]);
    }
    let full = args.iter().any(|a| a == "--bench");
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10 } else { 1 });
    let warm_ups = if full { 2 } else { 0 };

    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let mic = Mic::new(dir)?;
    // SAFETY: set before any thread exists; ALSA reads them when a device opens.
    unsafe {
        std::env::set_var("ALSA_CONFIG_PATH", support::alsa_conf());
        std::env::set_var("VOICEBOX_TEST_MIC", &mic.fifo);
        std::env::set_var("VOICEBOX_TEST_SPK", "/dev/null");
    }
    let rec = Recorder::install();
    let pace = Pace::new(FIRST_TOKEN_MS, TOKENS_PER_S, REPLY);
    let turns = 2 * (runs + warm_ups);
    let fake = FakeOllama::start(vec![Reply::Paced(pace); turns]).answer_loads(vec![]);
    let hooks = dir.join("hooks.log");
    let loops = [false, true].map(|stream| Loop::start(config(&fake.url(), stream, &hooks)));
    let [plain, streamed] = loops;
    let (plain, streamed) = (plain?, streamed?);

    let (mut whole, mut stream) = (Vec::new(), Vec::new());
    for rep in 0..runs + warm_ups {
        let w = turn(&plain, &mic, &rec, &fake, &hooks).context("stream = false")?;
        let s = turn(&streamed, &mic, &rec, &fake, &hooks).context("stream = true")?;
        if rep >= warm_ups {
            whole.push(w);
            stream.push(s);
        }
    }
    plain.stop();
    streamed.stop();
    report(&whole, &stream, &hooks, runs, warm_ups);
    Ok(())
}

/// The daemon's config for the bench: the defaults, the fake server, hooks under the timer,
/// no conversation memory (every request the same).
fn config(url: &str, stream: bool, hooks: &Path) -> Config {
    let text = format!(
        "[ollama]\nurl = {url:?}\nstream = {stream}\n[conversation]\nturns = 0\n\
         [audio]\nbuffer_frames = {}\n",
        CHUNK / 8
    );
    let mut c = voicebox::config::parse(&text, None, &|_| None).expect("the bench's config");
    c.stt.command = timed::argv(hooks, "stt", &c.stt.command);
    c.tts.command = timed::argv(hooks, "tts", &c.tts.command);
    c
}

/// One daemon loop on its own thread, with the real devices.
struct Loop {
    events: EventSender,
    shutdown: CancellationToken,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Loop {
    fn start(config: Config) -> anyhow::Result<Loop> {
        let (events, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let parts = {
            let (events, shutdown) = (events.clone(), shutdown.clone());
            move || Parts {
                config: config.clone(),
                rebuild: Box::new({
                    let events = events.clone();
                    move |c: &Config| voicebox::cmd::devices(c, &events)
                }),
                reload: Box::new(|| anyhow::bail!("no reloads in the bench")),
                button: None,
                events_tx: events,
                events: rx,
                // Never sent: the loop's reload branch stays idle.
                reloads: mpsc::channel(1).1,
                status: watch::channel(String::new()).0,
                shutdown,
                // The volume stays at its default; nothing is kept between runs.
                store: voicebox::state::Store::none(),
                clock: voicebox::app::Clock::system(),
            }
        };
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async { App::new(parts())?.run().await })
        });
        Ok(Loop {
            events,
            shutdown,
            thread,
        })
    }

    fn stop(self) {
        self.shutdown.cancel();
        let _ = self.thread.join();
    }
}

/// The spoken question, written into a FIFO at real time for each turn (the test card's
/// capture reads it as its microphone).
///
/// Written from here rather than by `pv`: the FIFO is held open for reading and writing, so
/// the device lookup's probing open and close of the capture cannot end the writer. Chunks of
/// 2048 bytes (256 frames) match the capture's periods (`audio.buffer_frames = 256`): a period
/// larger than what the pipe holds would be read short and padded with stale data.
struct Mic {
    data: std::sync::Arc<Vec<u8>>,
    fifo: PathBuf,
    speech: Duration,
}

/// Writes while the turn lasts; dropping it stops and empties the pipe.
struct Feeder {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const CHUNK: usize = 2048;

impl Mic {
    fn new(dir: &Path) -> anyhow::Result<Mic> {
        let raw = support::sound::spoken_mic(dir, QUESTION);
        let wav = hound::WavReader::open(dir.join("question.wav"))?;
        let secs = f64::from(wav.duration()) / f64::from(wav.spec().sample_rate);
        let fifo = dir.join("mic.fifo");
        anyhow::ensure!(
            Command::new("mkfifo").arg(&fifo).status()?.success(),
            "mkfifo"
        );
        Ok(Mic {
            data: std::sync::Arc::new(std::fs::read(raw)?),
            fifo,
            speech: Duration::from_secs_f64(secs),
        })
    }

    fn play(&self) -> anyhow::Result<Feeder> {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        use std::sync::atomic::Ordering;
        // O_RDWR: never blocks, and keeps a writer for as long as the turn lasts. Non-blocking
        // writes, so a full pipe (nobody reading) cannot keep the feeder from stopping.
        let mut pipe = std::fs::File::options()
            .read(true)
            .write(true)
            .open(&self.fifo)?;
        // SAFETY: setting O_NONBLOCK on a descriptor we own.
        unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let (_, rate, channels) = support::sound::MIC_FORMAT;
        let bytes_per_s = f64::from(rate) * f64::from(channels) * 4.0;
        let per_chunk = Duration::from_secs_f64(CHUNK as f64 / bytes_per_s);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let (data, stop) = (self.data.clone(), stop.clone());
            std::thread::spawn(move || {
                let t0 = std::time::Instant::now();
                let mut sent = 0;
                while sent < data.len() && !stop.load(Ordering::SeqCst) {
                    let due = t0 + per_chunk * (sent / CHUNK) as u32;
                    std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
                    let end = (sent + CHUNK).min(data.len());
                    match pipe.write(&data[sent..end]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(1))
                        }
                        Err(_) => break,
                    }
                }
                // What the turn did not read must not be the next turn's first audio.
                let mut sink = [0u8; 65536];
                while matches!(pipe.read(&mut sink), Ok(n) if n > 0) {}
            })
        };
        Ok(Feeder {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One turn's figures, in milliseconds.
#[derive(Debug, Clone, Default)]
struct Figures {
    total: f64,
    post_roll: f64,
    stt: f64,
    ollama: f64,
    tts: f64,
    /// voicebox's pieces between the external stages, in order.
    capture: f64,
    to_stt: f64,
    to_ollama: f64,
    to_tts: f64,
    to_speaker: f64,
    /// Request received by the server → first audio.
    reply_to_audio: f64,
}

impl Figures {
    fn external(&self) -> f64 {
        self.post_roll + self.stt + self.ollama + self.tts
    }

    fn share(&self) -> f64 {
        self.total - self.external()
    }
}

fn ms(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

fn turn(
    lp: &Loop,
    mic: &Mic,
    rec: &Recorder,
    fake: &FakeOllama,
    hooks: &Path,
) -> anyhow::Result<Figures> {
    let mark = rec.len();
    let feeder = mic.play()?;
    lp.events.send(Event::Button { pressed: true })?;
    let result = (|| {
        rec.wait(
            mark,
            "first frame captured",
            Duration::from_secs(10),
            |_| true,
        )?;
        std::thread::sleep(LEAD + mic.speech + Duration::from_millis(200));
        let released = SystemTime::now();
        lp.events.send(Event::Button { pressed: false })?;
        let summary = rec.wait(mark, "turn", Duration::from_secs(120), |_| true)?;
        let outcome = summary.fields.get("outcome").cloned().unwrap_or_default();
        anyhow::ensure!(
            outcome == "answered",
            "the turn ended {outcome}: {summary:?}"
        );
        figures(rec, mark, fake, hooks, released)
    })();
    drop(feeder);
    result
}

fn figures(
    rec: &Recorder,
    mark: usize,
    fake: &FakeOllama,
    hooks: &Path,
    released: SystemTime,
) -> anyhow::Result<Figures> {
    let captured = rec
        .wait(mark, "capture finished", Duration::ZERO, |_| true)?
        .at;
    let played = rec.wait(mark, "sentence played", Duration::ZERO, |r| {
        r.num("sentence") == Some(1)
    })?;
    let first_audio = timed::from_ns(played.num("play_start_ns").context("play_start_ns")?);
    let after = |spans: Vec<timed::Span>, t: SystemTime| spans.into_iter().find(|s| s.start > t);
    let stt = after(timed::spans(hooks, "stt"), released).context("no STT run")?;
    let run: Run = fake
        .runs()
        .into_iter()
        .rfind(|r| r.received > released)
        .context("no request")?;
    let done = if run.streamed {
        // The token after the first sentence's final mark.
        let k = support::fake_ollama::paced::tokens(FIRST).len();
        *run.sent.get(k).context("the stream ended early")?
    } else {
        *run.sent.last().context("no reply")?
    };
    let tts = after(timed::spans(hooks, "tts"), run.received).context("no TTS run")?;
    let post_roll = voicebox::config::parse(voicebox::config::DEFAULT_TOML, None, &|_| None)?
        .audio
        .post_roll;
    let post_roll = post_roll.as_secs_f64() * 1e3;
    Ok(Figures {
        total: ms(released, first_audio),
        post_roll,
        stt: ms(stt.start, stt.end),
        ollama: ms(run.received, done),
        tts: ms(tts.start, tts.end),
        capture: ms(released, captured) - post_roll,
        to_stt: ms(captured, stt.start),
        to_ollama: ms(stt.end, run.received),
        to_tts: ms(done, tts.start),
        to_speaker: ms(tts.end, first_audio),
        reply_to_audio: ms(run.received, first_audio),
    })
}

/// Median, min, max of `v`.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (median, s[0], s[n - 1])
}

fn cell(v: &[f64]) -> String {
    let (m, lo, hi) = stats(v);
    format!("{m:.1} ({lo:.1}–{hi:.1})")
}

/// One figure of a turn.
type Stat = fn(&Figures) -> f64;

fn report(whole: &[Figures], stream: &[Figures], hooks: &Path, runs: usize, warm_ups: usize) {
    let col = |f: Stat| {
        let a: Vec<f64> = whole.iter().map(f).collect();
        let b: Vec<f64> = stream.iter().map(f).collect();
        (cell(&a), cell(&b))
    };
    println!(
        "whole turn, release → first sample at the speaker; N={runs} per variant after {warm_ups} warm-ups, variants alternating; median (min–max) ms"
    );
    println!("| stage | stream = false | stream = true |");
    println!("|---|---|---|");
    let rows: [(&str, Stat); 13] = [
        ("**release → first audio**", |f| f.total),
        ("post-roll (audio.post_roll_ms, external)", |f| f.post_roll),
        ("STT: pocketsphinx run (external)", |f| f.stt),
        (
            "Ollama: request → reply whole / first sentence complete (external)",
            |f| f.ollama,
        ),
        ("TTS: espeak-ng, first sentence (external)", |f| f.tts),
        ("sum of the external stages", |f| f.external()),
        (
            "**voicebox's share** (release → first audio − external)",
            |f| f.share(),
        ),
        ("  capture: post-roll end → recording handed over", |f| {
            f.capture
        }),
        ("  recording → STT started (WAV, spawn)", |f| f.to_stt),
        (
            "  STT done → request at the server (event, JSON, send)",
            |f| f.to_ollama,
        ),
        (
            "  reply/sentence at the server → TTS started (read, split)",
            |f| f.to_tts,
        ),
        (
            "  TTS done → first sample to the device (decode, queue)",
            |f| f.to_speaker,
        ),
        ("request at the server → first audio", |f| {
            f.reply_to_audio
        }),
    ];
    for (name, f) in rows {
        let (a, b) = col(f);
        println!("| {name} | {a} | {b} |");
    }
    let ratio = |f: Stat| -> Vec<f64> {
        whole
            .iter()
            .zip(stream)
            .map(|(w, s)| f(w) / f(s).max(1e-3))
            .collect()
    };
    println!(
        "| ratio stream=false / stream=true, release → first audio | {} | |",
        cell(&ratio(|f| f.total))
    );
    println!(
        "| ratio stream=false / stream=true, request → first audio | {} | |",
        cell(&ratio(|f| f.reply_to_audio))
    );
    let overhead = timed::overhead(hooks, 21).as_secs_f64() * 1e3;
    println!(
        "the timing wrapper adds {overhead:.1} ms per hook run (median of 21), twice per turn (STT, TTS), inside voicebox's share"
    );
    progressive();
}

/// What playing espeak-ng's audio as it is written could gain: its first audio bytes (past the
/// WAV header) against its exit, for the first sentence.
fn progressive() {
    use std::io::{Read, Write};
    let (mut first, mut eof) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        let t0 = std::time::Instant::now();
        let Ok(mut child) = Command::new("espeak-ng")
            .args(["--stdout", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            return;
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(FIRST.as_bytes());
        }
        let mut out = child.stdout.take().expect("piped");
        let (mut seen, mut buf, mut at) = (0usize, [0u8; 65536], None);
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen += n;
            if seen > 44 && at.is_none() {
                at = Some(t0.elapsed());
            }
        }
        let _ = child.wait();
        first.push(at.unwrap_or_default().as_secs_f64() * 1e3);
        eof.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let gain: Vec<f64> = eof.iter().zip(&first).map(|(e, f)| e - f).collect();
    println!(
        "espeak-ng, first sentence: first audio bytes {} ms, exit {} ms, so progressive playback could gain {} ms (N=21)",
        cell(&first),
        cell(&eof),
        cell(&gain)
    );
}
