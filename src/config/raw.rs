//! The file's shape as serde sees it: every key optional and spanned, unknown keys rejected.
//!
//! Kept private to `config`: the rest of the crate only sees the validated `Config`.

use serde::Deserialize;
use toml::Spanned;

pub(super) type F<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Raw {
    pub ollama: RawOllama,
    pub conversation: RawConversation,
    pub tts: RawTts,
    pub stt: RawStt,
    pub audio: RawAudio,
    pub button: RawButton,
    pub control: RawControl,
    pub messages: RawMessages,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawOllama {
    pub url: F<String>,
    pub model: F<String>,
    pub endpoint: F<String>,
    pub attempts: F<i64>,
    pub backoff_initial_ms: F<i64>,
    pub backoff_max_ms: F<i64>,
    pub connect_timeout_ms: F<i64>,
    pub request_timeout_s: F<f64>,
    pub deadline_s: F<f64>,
    pub stream: F<bool>,
    pub think: F<bool>,
    pub keep_alive: F<String>,
    pub system_prompt: F<String>,
    pub max_reply_bytes: F<i64>,
    pub api_key: F<String>,
    pub use_env_proxy: F<bool>,
    pub warm_up: F<bool>,
    pub options: Option<Spanned<toml::Table>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawConversation {
    pub turns: F<i64>,
    pub max_chars: F<i64>,
    pub idle_forget_s: F<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawTts {
    pub command: F<Vec<String>>,
    pub format: F<String>,
    pub raw_rate: F<i64>,
    pub raw_channels: F<i64>,
    pub raw_sample_format: F<String>,
    pub timeout_ms: F<i64>,
    pub lookahead: F<i64>,
    pub max_sentence_chars: F<i64>,
    pub min_sentence_chars: F<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawStt {
    pub command: F<Vec<String>>,
    pub url: F<String>,
    pub timeout_ms: F<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawAudio {
    pub input_device: F<String>,
    pub output_device: F<String>,
    pub buffer_frames: F<i64>,
    pub max_record_s: F<f64>,
    pub min_record_ms: F<i64>,
    pub post_roll_ms: F<i64>,
    pub speech_threshold: F<f64>,
    pub end_silence_ms: F<i64>,
    pub volume: F<f64>,
    pub sentence_pause_ms: F<i64>,
    pub linger_ms: F<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawButton {
    pub chip: F<String>,
    pub gpio: F<i64>,
    pub active_low: F<bool>,
    pub pull_up: F<bool>,
    pub debounce_ms: F<i64>,
    pub mode: F<String>,
    pub min_press_ms: F<i64>,
    pub long_press_ms: F<i64>,
    pub led_gpio: F<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawControl {
    pub socket: F<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawMessages {
    pub unreachable: F<String>,
    pub proxy_error: F<String>,
    pub too_slow: F<String>,
    pub model_missing: F<String>,
    pub rejected: F<String>,
    pub unauthorized: F<String>,
    pub bad_reply: F<String>,
    pub didnt_catch: F<String>,
    pub stt_failed: F<String>,
    pub audio_failed: F<String>,
}
