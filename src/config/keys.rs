//! Every config key, once: its field, its type and the rule that checks it (defaults live in
//! `config/voicebox.toml`; how a line reads is in `section.rs`, what a rule checks in `rules.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::language::{DefaultLanguage, SttLanguage, Voices};
use super::mcp::McpServers;
use super::rules::{
    Argv, Chip, Choice, Flag, Float, Int, JsonObject, Ms, OllamaUrl, Optional, Pin, Rule, Secret,
    Secs, Socket, SpeechUrl, Text,
};
use crate::url::Url;

section! {
    /// `[ollama]`: the server, and how to ask it.
    #[derive(Clone, PartialEq)]
    pub struct Ollama from "ollama" via RawOllama {
        /// Base URL without a trailing slash, e.g. `http://pi:11434` or `https://host/ollama`;
        /// `http://user:pass@host` sends HTTP Basic authentication (and is shown redacted).
        url: Url = OllamaUrl,
        model: String = Text::NonEmpty,
        endpoint: Endpoint = Choice(&[("generate", Endpoint::Generate), ("chat", Endpoint::Chat)]),
        attempts: u32 = Int(1, 20),
        #[key = "backoff_initial_ms"] backoff_initial: Duration = Ms(0, 600_000),
        /// Never below `backoff_initial`.
        #[key = "backoff_max_ms"] backoff_max: Duration =
            Ms(0, 3_600_000).map(|max| max.max(backoff_initial)),
        #[key = "connect_timeout_ms"] connect_timeout: Duration = Ms(1, 600_000),
        #[key = "request_timeout_s"] request_timeout: Duration = Secs(0.1, 3600.0),
        #[key = "deadline_s"] deadline: Duration = Secs(0.1, 36000.0),
        stream: bool = Flag,
        think: bool = Flag,
        keep_alive: String = Text::NonEmpty,
        system_prompt: String = Text::Any,
        max_reply_bytes: usize = Int(1024, 1 << 30),
        /// Secret: `Ollama`'s Debug impl redacts it, and nothing may log it.
        api_key: Option<String> = Secret {
            env: "OLLAMA_API_KEY",
            beside_credentials: url.authorization().map(|_| "ollama.url"),
        },
        use_env_proxy: bool = Flag,
        warm_up: bool = Flag,
        /// The `options` object sent with each request, as JSON.
        options: serde_json::Map<String, serde_json::Value> = JsonObject,
    }
}

impl std::fmt::Debug for Ollama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ollama")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("endpoint", &self.endpoint)
            .field("attempts", &self.attempts)
            .field("stream", &self.stream)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Generate,
    Chat,
}

section! {
    /// `[conversation]`: what `/api/chat` remembers, and for how long.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Conversation from "conversation" via RawConversation {
        turns: usize = Int(0, 100),
        max_chars: usize = Int(0, 1_000_000),
        #[key = "idle_forget_s"] idle_forget: Duration = Secs(0.0, 604_800.0),
        /// After a reply that asks a question, how long to wait for speech without a press
        /// (zero: never listen without a press).
        #[key = "follow_up_s"] follow_up: Duration = Secs(0.0, 60.0),
        /// Follow-ups in a row before the box goes back to idle and waits for a press (a
        /// television that always talks, a model that always asks, must not keep it going).
        max_follow_ups: u32 = Int(0, 100),
    }
}

section! {
    /// `[tools]`: what the model may do beyond talking (timers, alarms, the volume).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Tools from "tools" via RawTools {
        /// Offer the built-in tools with `/api/chat` (`/api/generate` has none).
        enabled: bool = Flag,
        /// Rounds of tool calls per question; then the model's words, or a short message.
        max_rounds: u32 = Int(1, 10),
        /// Timers and alarms kept at once.
        max_timers: usize = Int(1, 1000),
        /// How long a timer rings unless a press stops it.
        #[key = "ring_s"] ring: Duration = Secs(1.0, 3600.0),
        /// How long before a timer rings the speaker's output is opened and held (0: not):
        /// opening it can take seconds on a slow box, which would make the ring late.
        #[key = "ring_ready_s"] ring_ready: Duration = Secs(0.0, 60.0),
        /// How long one tool call may take (an MCP server's, the daemon's answer to `ask`).
        #[key = "call_timeout_s"] call_timeout: Duration = Secs(0.1, 600.0),
        /// `[[tools.mcp]]`: MCP servers whose tools are offered too (`config/mcp.rs`).
        mcp: Vec<crate::mcp::Server> = McpServers,
    }
}

section! {
    /// `[tts]`: the text-to-speech hook or server, and the audio it gives.
    #[derive(Clone, PartialEq)]
    pub struct Tts from "tts" via RawTts
    reads {
        raw_rate: u32 = Int(4000, 192_000),
        raw_channels: u16 = Int(1, 8),
        raw_sample_format: SampleFormat =
            Choice(&[("s16le", SampleFormat::S16Le), ("f32le", SampleFormat::F32Le)]),
    }
    {
        /// `{text}`, `{voice}` and `{lang}` are filled in per sentence.
        command: Vec<String> = Argv,
        format: TtsFormat = Choice(&[
            ("wav", TtsFormat::Wav),
            ("raw", TtsFormat::Raw {
                rate: raw_rate,
                channels: raw_channels,
                format: raw_sample_format,
            }),
        ]),
        /// A Wyoming or OpenAI-compatible server instead of the command.
        url: Option<SpeechServer> = Optional(SpeechUrl),
        /// Language code → voice (`{voice}`, or the voice asked of a server); a language
        /// without one uses `language`'s.
        voices: BTreeMap<String, String> = Voices,
        /// The language of Latin-script text (unless it is recognisably Vietnamese), of text
        /// without letters, and of failure messages when the question's is unknown.
        language: String = DefaultLanguage {
            voices: &voices,
            command: (url.is_none()).then_some(&command[..]),
        },
        /// The language of Han characters without kana: "zh" (Mandarin) or "yue" (Cantonese).
        han: String = Choice(&[("zh", "zh"), ("yue", "yue")]).map(str::to_string),
        /// OpenAI-compatible servers only: the `model` of `/v1/audio/speech`.
        model: String = Text::NonEmpty,
        /// OpenAI-compatible servers only: `wav`, or `pcm` (24 kHz 16-bit mono).
        response_format: SpeechFormat =
            Choice(&[("wav", SpeechFormat::Wav), ("pcm", SpeechFormat::Pcm)]),
        /// Secret: the hand-written Debug redacts it, and nothing may log it.
        api_key: Option<String> = Secret {
            env: "VOICEBOX_TTS_API_KEY",
            beside_credentials: SpeechServer::credentials(&url).map(|_| "tts.url"),
        },
        #[key = "connect_timeout_ms"] connect_timeout: Duration = Ms(1, 600_000),
        #[key = "timeout_ms"] timeout: Duration = Ms(1, 600_000),
        lookahead: usize = Int(1, 16),
        /// Speaking time: longer sentences are cut (see `text::sentences`).
        #[key = "max_sentence_s"] max_sentence: Duration = Secs(2.0, 120.0),
        /// Speaking time: shorter sentences run on into the next.
        #[key = "min_sentence_s"] min_sentence: Duration = Secs(0.0, 10.0),
    }
}

/// Keys that were renamed, and what to write instead (`locate::explain` shows it).
pub(super) const RENAMED: &[(&str, &str)] = &[
    (
        "max_sentence_chars",
        "tts.max_sentence_chars was replaced by tts.max_sentence_s: sentence limits are now speaking time, the same in every language (240 characters were about 15 s of English but a minute of Chinese); write max_sentence_s = 15",
    ),
    (
        "min_sentence_chars",
        "tts.min_sentence_chars was replaced by tts.min_sentence_s: sentence limits are now speaking time, the same in every language (12 characters were about 1 s of English but 3 s of Chinese); write min_sentence_s = 1",
    ),
];

impl std::fmt::Debug for Tts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tts")
            .field("command", &self.command)
            .field("format", &self.format)
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Where `stt.url` / `tts.url` point; the scheme picked the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechServer {
    /// `tcp://host:port`: `host:port` of a Wyoming server.
    Wyoming(String),
    /// `http(s)://…`: the whole endpoint URL, without a trailing slash; its user info goes as
    /// Basic authentication and is never shown.
    Http(Url),
}

impl SpeechServer {
    /// The Basic credentials of a configured server's URL, if it has any.
    pub fn credentials(server: &Option<SpeechServer>) -> Option<&str> {
        match server {
            Some(SpeechServer::Http(url)) => url.authorization(),
            _ => None,
        }
    }
}

/// The audio an OpenAI-compatible speech endpoint is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeechFormat {
    Wav,
    /// Headerless 24 kHz 16-bit mono little-endian, as OpenAI defines `pcm`.
    Pcm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtsFormat {
    Wav,
    Raw {
        rate: u32,
        channels: u16,
        format: SampleFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    S16Le,
    F32Le,
}

section! {
    /// `[stt]`: the speech-to-text hook or server.
    #[derive(Clone, PartialEq)]
    pub struct Stt from "stt" via RawStt {
        /// `{wav}` is the recording, `{lang}` the language (or "auto").
        command: Vec<String> = Argv,
        /// A Wyoming or OpenAI-compatible server instead of the command.
        url: Option<SpeechServer> = Optional(SpeechUrl),
        /// The model to ask for: Wyoming `transcribe` `name`, the upload's `model` field.
        model: Option<String> = Optional(Text::NonEmpty),
        /// Secret: the hand-written Debug redacts it, and nothing may log it.
        api_key: Option<String> = Secret {
            env: "VOICEBOX_STT_API_KEY",
            beside_credentials: SpeechServer::credentials(&url).map(|_| "stt.url"),
        },
        /// Wyoming: send the audio while it is recorded (false: all of it after the release).
        stream: bool = Flag,
        /// The language spoken to the box (`{lang}`, the upload's `language`, Wyoming's
        /// `transcribe`); `None` for "auto" (the recogniser detects it).
        language: Option<String> = SttLanguage,
        /// Text that primes the recogniser (whisper's `prompt`), sent with HTTP uploads.
        prompt: Option<String> = Optional(Text::NonEmpty),
        #[key = "connect_timeout_ms"] connect_timeout: Duration = Ms(1, 600_000),
        #[key = "timeout_ms"] timeout: Duration = Ms(1, 600_000),
    }
}

impl std::fmt::Debug for Stt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stt")
            .field("command", &self.command)
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("stream", &self.stream)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

section! {
    /// `[audio]`: devices, recording limits, playback.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Audio from "audio" via RawAudio {
        input_device: String = Text::NonEmpty,
        output_device: String = Text::NonEmpty,
        buffer_frames: u32 = Int(32, 65536),
        #[key = "max_record_s"] max_record: Duration = Secs(0.5, 600.0),
        #[key = "min_record_ms"] min_record: Duration = Ms(0, 10_000),
        #[key = "post_roll_ms"] post_roll: Duration = Ms(0, 5_000),
        speech_threshold: f32 = Float(0.0, 1.0),
        #[key = "end_silence_ms"] end_silence: Duration = Ms(100, 60_000),
        volume: f32 = Float(0.0, 2.0),
        #[key = "sentence_pause_ms"] sentence_pause: Duration = Ms(0, 10_000),
        #[key = "linger_ms"] linger: Duration = Ms(0, 60_000),
        /// Silence after the question before the thinking cue starts (zero: no cue).
        #[key = "thinking_cue_ms"] thinking_cue: Duration = Ms(0, 60_000),
    }
}

section! {
    /// `[button]`: the GPIO push button and status LED.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Button from "button" via RawButton {
        /// The GPIO character device (`/dev/gpiochipN`) for boards other than a Raspberry Pi;
        /// the pins below are then line offsets on it. `None`: rppal on a Raspberry Pi.
        chip: Option<PathBuf> = Optional(Chip),
        gpio: Option<u8> = Optional(Pin(chip.is_some())),
        active_low: bool = Flag,
        pull_up: bool = Flag,
        #[key = "debounce_ms"] debounce: Duration = Ms(0, 1000),
        mode: ButtonMode = Choice(&[("hold", ButtonMode::Hold), ("toggle", ButtonMode::Toggle)]),
        #[key = "min_press_ms"] min_press: Duration = Ms(0, 5000),
        #[key = "long_press_ms"] long_press: Duration = Ms(200, 60_000),
        led_gpio: Option<u8> = Optional(Pin(chip.is_some())),
        volume_up_gpio: Option<u8> = Optional(Pin(chip.is_some())),
        volume_down_gpio: Option<u8> = Optional(Pin(chip.is_some())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonMode {
    Hold,
    Toggle,
}

section! {
    /// `[control]`: the local control socket.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Control from "control" via RawControl {
        socket: PathBuf = Socket,
    }
}
