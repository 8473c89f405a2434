//! `describe` → `info`: what a Wyoming server offers, summed up in one line for `voicebox check`.

use std::time::Duration;

use serde_json::Value;

use super::codec::Event;
use super::conn::{Conn, Error};
use crate::cancel;
use crate::http::snippet;

/// Which kind of program the caller needs: `asr` (speech to text) or `tts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Asr,
    Tts,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Asr => "asr",
            Kind::Tts => "tts",
        }
    }
}

/// Asks the server what it offers and sums up its programs of `kind`: names, models or voices,
/// languages. An error when it offers none.
pub fn describe(
    addr: &str,
    kind: Kind,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<String, Error> {
    let mut conn = Conn::open(addr, connect_timeout, &cancel::Token::new())?;
    conn.deadline_in(timeout);
    conn.send(&Event::new("describe", Value::Null))?;
    let info = loop {
        let e = conn.recv()?;
        if e.kind == "info" {
            break e;
        }
    };
    let programs = info
        .data
        .get(kind.key())
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if programs.is_empty() {
        return Err(conn.protocol(format!(
            "an info that offers no {} program; is the url the right server?",
            kind.key()
        )));
    }
    Ok(programs
        .iter()
        .map(|p| program(kind, p))
        .collect::<Vec<_>>()
        .join("; "))
}

/// `piper 1.5 (voices: en_US-lessac-medium [en_US], … 12 in all)` and whether it streams.
fn program(kind: Kind, p: &Value) -> String {
    let (list, streaming) = match kind {
        Kind::Asr => ("models", "supports_transcript_streaming"),
        Kind::Tts => ("voices", "supports_synthesize_streaming"),
    };
    let name = text(p, "name");
    let version = p
        .get("version")
        .and_then(Value::as_str)
        .map(|v| format!(" {}", snippet(v)))
        .unwrap_or_default();
    let items = p
        .get(list)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let shown: Vec<String> = items
        .iter()
        .filter(|i| i.get("installed").and_then(Value::as_bool) != Some(false))
        .take(5)
        .map(|i| {
            let langs: Vec<String> = i
                .get("languages")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .take(8)
                        .map(snippet)
                        .collect()
                })
                .unwrap_or_default();
            format!("{} [{}]", text(i, "name"), langs.join(", "))
        })
        .collect();
    let more = if items.len() > shown.len() {
        format!(", … {} in all", items.len())
    } else {
        String::new()
    };
    let streams = if p.get(streaming).and_then(Value::as_bool) == Some(true) {
        ", streaming"
    } else {
        ""
    };
    format!(
        "{name}{version} ({list}: {}{more}){streams}",
        shown.join(", ")
    )
}

fn text(v: &Value, key: &str) -> String {
    snippet(v.get(key).and_then(Value::as_str).unwrap_or("?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn programs_are_summed_up_with_languages_and_streaming() {
        let p = json!({"name": "piper", "version": "1.5.0", "supports_synthesize_streaming": true,
        "voices": [
            {"name": "en_US-lessac-medium", "languages": ["en_US"], "installed": true},
            {"name": "not-here", "languages": ["de"], "installed": false},
            {"name": "zh_CN-huayan", "languages": ["zh_CN"]}
        ]});
        assert_eq!(
            program(Kind::Tts, &p),
            "piper 1.5.0 (voices: en_US-lessac-medium [en_US], zh_CN-huayan [zh_CN], … 3 in all), streaming"
        );
        let asr = json!({"name": "whisper\u{1b}[31m", "models": [{"name": "small", "languages": ["en", "zh"]}]});
        assert_eq!(
            program(Kind::Asr, &asr),
            "whisper[31m (models: small [en, zh])"
        );
    }
}
