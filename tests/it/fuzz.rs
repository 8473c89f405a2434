//! Mutation fuzzing on the stable toolchain: every parser that outside bytes reach is fed
//! seeded random mutations of a committed corpus (`tests/fuzz-corpus/<target>/`), and must not
//! panic. The audio path is covered end to end: capture frames (`capture`), a hook's WAV and raw
//! PCM (`wav`, `raw`) and the resampler (`resample`), NaNs and infinities included; their
//! targets also assert what comes out is sane (format, length, finite samples).
//!
//! This is a bounded randomized fuzzer, not a coverage-guided one (cargo-fuzz needs nightly; see
//! BENCHMARKS.md). Mutations are the usual AFL-style set — bit flips, interesting bytes, block
//! deletes/duplicates, splices between corpus entries, and per-target dictionary tokens — so it
//! reaches deep into the formats from well-formed seeds. The seed is fixed, so a run is
//! reproducible; a panic prints the input (escaped) and saves it under `target/fuzz-crashes/`,
//! and each fixed crash becomes a regression test in its module.
//!
//! Kept beside proptest because it finds what proptest, as the properties are naturally
//! written (corpus seeds with random byte edits, or arbitrary bytes), does not: of seven bugs
//! planted in these parsers, both found the five shallow ones, and only this fuzzer found the
//! two that need a valid structure around the fault (a `[v6]` URL without a port in the config;
//! a 32-bit integer WAV) — its dictionary tokens and splices build those from the corpus.
//!
//! `cargo test --test it fuzz:: -- --nocapture` prints the executions per target. Longer runs:
//! `VOICEBOX_FUZZ_SECS=60` (per target, time-bounded) or `VOICEBOX_FUZZ_EXECS=N`;
//! `VOICEBOX_FUZZ_SEED=N` picks another sequence.

mod audio;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Default executions per target in `cargo test` (a few seconds each in a debug build).
const DEFAULT_EXECS: u64 = 20_000;

/// One fuzz target: its corpus directory, dictionary tokens and the code under test.
struct Target {
    name: &'static str,
    dict: &'static [&'static [u8]],
    run: fn(&[u8]),
    /// How many plain parses one execution costs: the default budget is divided by it (the
    /// resampler builds FFT plans, slow in a debug build).
    cost: u64,
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut out: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    out.push(Vec::new());
    out
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'"', b'\\', b'.', b'{', b'[', b' ',
];

/// Returns a mutated copy of a corpus entry (1..=4 stacked mutations).
fn mutate(rng: &mut fastrand::Rng, corpus: &[Vec<u8>], dict: &[&[u8]]) -> Vec<u8> {
    let mut v = corpus[rng.usize(..corpus.len())].clone();
    for _ in 0..rng.usize(1..=4) {
        let len = v.len();
        match rng.u8(..8) {
            0 if len > 0 => {
                let i = rng.usize(..len);
                v[i] ^= 1 << rng.u8(..8);
            }
            1 if len > 0 => {
                let i = rng.usize(..len);
                v[i] = INTERESTING[rng.usize(..INTERESTING.len())];
            }
            2 if len > 0 => {
                let a = rng.usize(..len);
                let b = (a + rng.usize(..=len.min(64))).min(len);
                v.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.usize(..len);
                let b = (a + rng.usize(..=len.min(64))).min(len);
                let block = v[a..b].to_vec();
                let at = rng.usize(..=v.len());
                v.splice(at..at, block);
            }
            4 => {
                let other = &corpus[rng.usize(..corpus.len())];
                let cut = rng.usize(..=v.len());
                let from = rng.usize(..=other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            5 if !dict.is_empty() => {
                let tok = dict[rng.usize(..dict.len())];
                let at = rng.usize(..=v.len());
                v.splice(at..at, tok.iter().copied());
            }
            6 => {
                let at = rng.usize(..=v.len());
                let n = rng.usize(1..=16);
                let junk: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
                v.splice(at..at, junk);
            }
            _ if len > 0 => v.truncate(rng.usize(..len)),
            _ => v.push(rng.u8(..)),
        }
    }
    v
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

/// Runs one target: the corpus itself first, then mutations until the budget is spent.
fn fuzz(t: &Target) {
    let seeds = corpus(t.name);
    assert!(seeds.len() > 1, "empty corpus for {}", t.name);
    let seed = env_u64("VOICEBOX_FUZZ_SEED").unwrap_or(0x5eed_b0c5);
    let mut rng = fastrand::Rng::with_seed(seed ^ t.name.len() as u64);
    let secs = env_u64("VOICEBOX_FUZZ_SECS");
    let execs = env_u64("VOICEBOX_FUZZ_EXECS").unwrap_or(DEFAULT_EXECS / t.cost);
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    let start = Instant::now();
    let mut n = 0u64;
    let mut crash: Option<Vec<u8>> = None;
    loop {
        let done = match deadline {
            Some(d) => n.is_multiple_of(64) && Instant::now() >= d,
            None => n >= execs,
        };
        if done {
            break;
        }
        let input = match seeds.get(n as usize) {
            Some(s) => s.clone(),
            None => mutate(&mut rng, &seeds, t.dict),
        };
        n += 1;
        if catch_unwind(AssertUnwindSafe(|| (t.run)(&input))).is_err() {
            crash = Some(input);
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz {}: {n} executions in {secs:.1} s ({:.0}/s), seed {seed:#x}",
        t.name,
        n as f64 / secs.max(1e-9)
    );
    if let Some(input) = crash {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{}-{n}", t.name));
        let _ = std::fs::write(&path, &input);
        // Re-run outside catch_unwind so the panic message and location are shown.
        (t.run)(&input);
        panic!(
            "{} crashed on input #{n} (saved to {}): {:?}",
            t.name,
            path.display(),
            String::from_utf8_lossy(&input)
        );
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Hands a body out in small reads of varying size, as a re-chunking proxy would.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(buf.len()).min(self.step);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.step = self.step % 97 + 7;
        Ok(n)
    }
}

fn speech_text(b: &[u8]) {
    use voicebox::text::lang::Languages;
    use voicebox::text::sentences::{Limits, Rules, Splitter, split};
    let text = text(b);
    // Vary the bounds from the input so unusual pairs are covered too.
    let min = b.first().map_or(16, |&x| u32::from(x % 40));
    let max = b.last().map_or(240, |&x| 8 + u32::from(x));
    let rules = Rules {
        limits: Limits {
            min,
            max,
            max_chars: 2 * max as usize,
        },
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    };
    let whole = split(&text, &rules);
    for s in &whole {
        assert!(!s.text.trim().is_empty(), "empty sentence from {text:?}");
        // The documented bound on an engine's input (synthesis stays bounded).
        assert!(
            s.text.chars().count() <= 2 * max as usize,
            "{s:?} over {} chars",
            2 * max
        );
    }
    // The same reply streamed in pieces (cut where the input says) gives the same sentences.
    let step = 1 + usize::from(b.get(1).copied().unwrap_or(7) % 13);
    let chars: Vec<char> = text.chars().collect();
    let mut splitter = Splitter::new(&rules);
    let mut streamed = Vec::new();
    for piece in chars.chunks(step) {
        streamed.extend(splitter.push(&piece.iter().collect::<String>()));
    }
    streamed.extend(splitter.finish());
    assert_eq!(
        streamed, whole,
        "streamed in pieces of {step} from {text:?}"
    );
    // Nothing an engine would read wrongly is left: escape sequences, invisible format
    // characters, fullwidth digits.
    for s in &whole {
        assert!(
            !s.text.chars().any(|c| matches!(c,
                '\u{1b}' | '\u{9b}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '０'..='９')),
            "{s:?} from {text:?}"
        );
        // Each run of another script is a piece of the sentence, in order.
        let runs = voicebox::text::runs::runs(&s.text, &s.lang, &rules.languages);
        let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let joined: String = runs.iter().map(|r| r.text).collect();
        assert_eq!(squeeze(&joined), squeeze(&s.text), "runs of {s:?}");
        assert!(runs.windows(2).all(|w| w[0].lang != w[1].lang), "{runs:?}");
    }
    // Streamed with a pause after each piece (each sentence its end decides is released at
    // once): no letter or digit is lost or reordered.
    let mut splitter = Splitter::new(&rules);
    let mut paused = Vec::new();
    for (i, piece) in chars.chunks(step).enumerate() {
        paused.extend(splitter.push(&piece.iter().collect::<String>()));
        paused.extend(if i % 2 == 0 {
            splitter.release()
        } else {
            splitter.settle()
        });
    }
    paused.extend(splitter.finish());
    let alnum = |v: &[voicebox::text::sentences::Sentence]| -> String {
        v.iter()
            .flat_map(|s| s.text.chars())
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    assert_eq!(
        alnum(&paused),
        alnum(&whole),
        "paused in pieces of {step} from {text:?}"
    );
}

fn config_parse(b: &[u8]) {
    let env = |k: &str| (k == "OLLAMA_HOST").then(|| "10.0.0.2:11434".to_string());
    let _ = voicebox::config::parse(&text(b), None, &env);
}

fn ollama_json(b: &[u8]) {
    use voicebox::ollama::fuzz_api as o;
    o::reply(b);
    o::error_body(Some("application/json; charset=utf-8"), b);
    o::error_body(Some("text/html"), b);
    o::error_body(None, b);
}

fn ollama_ndjson(b: &[u8]) {
    let step = b.len() % 13 + 1;
    voicebox::ollama::fuzz_api::ndjson(Trickle { data: b, step }, 1 << 20);
    voicebox::ollama::fuzz_api::ndjson(Trickle { data: b, step }, b.len() / 2);
}

/// A Wyoming server's byte stream, in small reads, read event by event to its end or first error.
fn wyoming_events(b: &[u8]) {
    use voicebox::wyoming::codec;
    let step = b.len() % 13 + 1;
    let mut r = std::io::BufReader::new(Trickle { data: b, step });
    while let Ok(Some(e)) = codec::read(&mut r) {
        let _ = (e.text("text"), e.number("rate"), e.encode().len());
    }
}

fn control_line(b: &[u8]) {
    let _ = voicebox::control::parse_line(&text(b));
}

/// A model's tool call (`{"name", "arguments"}`): refused, or a call in range that writes back
/// to itself, its label bounded and free of control characters.
fn tool_call(b: &[u8]) {
    use voicebox::tools::{Call, MAX_LABEL_CHARS, MAX_TIMER_SECONDS, check};
    let v: serde_json::Value = serde_json::from_slice(b).unwrap_or(serde_json::Value::Null);
    let name = v["name"].as_str().map_or_else(|| text(b), str::to_string);
    let Ok(call) = check(&name, &v["arguments"]) else {
        return;
    };
    let label = match &call {
        Call::SetTimer { seconds, label } => {
            assert!((1..=MAX_TIMER_SECONDS).contains(&u64::from(*seconds)));
            label
        }
        Call::SetAlarm {
            hour,
            minute,
            label,
            ..
        } => {
            assert!(*hour < 24 && *minute < 60);
            label
        }
        Call::CancelTimer { label, .. } => label,
        Call::ListTimers | Call::SetVolume(_) => &None,
    };
    if let Some(l) = label {
        assert!(!l.is_empty() && l.chars().count() <= MAX_LABEL_CHARS);
        assert!(!l.chars().any(char::is_control), "{l:?}");
    }
    assert_eq!(check(call.name(), &call.arguments()), Ok(call.clone()));
}

macro_rules! target {
    ($test:ident, $name:literal, $run:expr, $dict:expr) => {
        target!($test, $name, $run, $dict, 1);
    };
    ($test:ident, $name:literal, $run:expr, $dict:expr, $cost:expr) => {
        #[test]
        fn $test() {
            fuzz(&Target {
                name: $name,
                dict: $dict,
                run: $run,
                cost: $cost,
            });
        }
    };
}

target!(
    speech_cleanup_and_split,
    "text",
    speech_text,
    &[
        b"**",
        b"`",
        b"```",
        b"# ",
        b"- ",
        b"1. ",
        b"...",
        b"e.g.",
        b"Dr.",
        b"http://a.b/c",
        b" \xe2\x80\x94 ",
        b"\xe3\x80\x82",
        b"?!",
        b"\n\n",
        b"3.5",
        b"[x](y)",
        b"\t",
        // Text for the ear: escapes, invisible characters, decomposed and fullwidth forms,
        // words of another script.
        b"\x1b[1;31m",
        b"\x1b]0;t\x07",
        b"\xe2\x80\x8b",
        b"\xe2\x80\xae",
        b"\xcc\x81",
        b"\xcc\xa3",
        b"\xef\xbc\x92",
        b"\xef\xbe\x9e",
        b"\xe8\xb0\xa2",
        b"\xe3\x81\x93",
        b" # ",
    ]
);
target!(
    config_parser,
    "config",
    config_parse,
    &[
        b"[ollama]\n",
        b"[tts]\n",
        b"[audio]\n",
        b"[button]\n",
        b"= \"",
        b"= 0\n",
        b"= -1\n",
        b"= 1e309\n",
        b"= []\n",
        b"= [\"\"]\n",
        b"url = \"http://[::1]:1\"\n",
        b"gpio = 99\n",
        b"= 18446744073709551616\n",
        b"= true\n",
        b"{text}",
    ]
);
target!(
    ollama_reply_json,
    "ollama_json",
    ollama_json,
    &[
        b"\"done\":true",
        b"\"response\":",
        b"\"message\":{\"content\":\"",
        b"\"error\":\"",
        b"null",
        b"\"\\ud800\"",
        b"1e999",
        b"[",
        b"{",
        b"}",
    ]
);
target!(
    ollama_ndjson_stream,
    "ollama_ndjson",
    ollama_ndjson,
    &[
        b"\n",
        b"{\"done\":true}\n",
        b"{\"error\":\"x\"}\n",
        b"\"response\":\"",
        b"\r\n",
    ]
);
target!(
    wav_reader,
    "wav",
    audio::wav_decode,
    &[
        b"RIFF",
        b"WAVE",
        b"fmt ",
        b"data",
        b"LIST",
        b"\xff\xff\xff\xff",
        b"\x00\x00\x00\x00",
        b"\xfe\xff",
        b"\x03\x00",
        b"\x01\x00",
    ]
);
target!(
    tts_raw_pcm,
    "raw",
    audio::raw_decode,
    &[
        b"\x80\xbb\x00\x00",
        b"\x00\x00\xc0\x7f",
        b"\x00\x00\x80\x7f",
        b"\x00\x00\x80\xff",
        b"\xff\xff",
        b"\x00\x80",
    ]
);
target!(
    capture_frame_mix,
    "capture",
    audio::capture_frames,
    &[
        b"\x00\x00\xc0\x7f",
        b"\x00\x00\x80\x7f",
        b"\x00\x00\x80\xff",
        b"\xff\xff\x7f\x7f",
        b"\x00\x00\x80\x3f",
    ]
);
target!(
    resample_to_stt_rate,
    "resample",
    audio::resample,
    &[
        b"\x00\x00\xc0\x7f",
        b"\x00\x00\x80\x7f",
        b"\x00\x00\x80\xff",
        b"\x80\xbb\x00\x00",
        b"\x44\xac\x00\x00",
        b"\x00\x7d\x00\x00",
        b"\x01\x00\x00\x00",
        b"\xff\xff\xff\xff",
    ],
    10
);
target!(
    wyoming_stream,
    "wyoming",
    wyoming_events,
    &[
        b"\n",
        b"{\"type\": \"",
        b"\"data_length\": ",
        b"\"payload_length\": ",
        b"\"data\": {",
        b"18446744073709551615",
        b"-1",
        b"1e9",
        b"null",
        b"\"\\ud800\"",
    ]
);
target!(
    control_socket_line,
    "control",
    control_line,
    &[b"press", b"status", b"\0", b"\xc3\xa9", b"\r\n", b" "]
);
target!(
    tool_calls,
    "tool_call",
    tool_call,
    &[
        b"\"seconds\":",
        b"\"label\":\"",
        b"\"time\":\"",
        b"\"date\":\"",
        b"\"all\":true",
        b"\"percent\":",
        b"\"change\":\"up\"",
        b"-1",
        b"86400",
        b"86401",
        b"1e12",
        b"0.5",
        b"\\u0007",
        b"null",
        b"\"24:00\"",
        b"\"2028-02-29\"",
    ]
);
