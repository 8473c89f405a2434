//! voicebox's Wyoming codec against the official Python package's, byte for byte, both ways:
//! what `wyoming.event.write_event` writes, voicebox reads; what voicebox writes,
//! `wyoming.event.read_event` reads back the same. Unicode text (data lengths in bytes, not
//! characters), payloads holding newlines, inline header data merged under the data section.

use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use voicebox::wyoming::codec::{self, Event};

/// Runs `script` in the venv's python with `input` on stdin; returns stdout.
fn python(script: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(support::speech_servers::python())
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn what_the_python_package_writes_is_read() {
    let written = python(
        r#"
import sys
from wyoming.event import Event, write_event
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk
out = sys.stdout.buffer
write_event(Transcript(text="你好, Việt Nam", language="zh").event(), out)
write_event(AudioChunk(rate=22050, width=2, channels=1, audio=b"\n\x00{\n").event(), out)
write_event(Event(type="describe"), out)
# Inline header data and a data section, as older peers send: the section wins per key.
out.write(b'{"type": "x", "data": {"a": 1, "b": 2}, "data_length": 8}\n{"b": 3}')
out.flush()
"#,
        b"",
    );
    // The exact bytes: spaces after separators, ensure_ascii=False, UTF-8 byte lengths.
    let first_line = written.split(|&b| b == b'\n').next().unwrap();
    assert_eq!(
        String::from_utf8_lossy(first_line),
        r#"{"type": "transcript", "version": "1.10.2", "data_length": 48}"#
    );
    let mut r = &written[..];
    let e = codec::read(&mut r).unwrap().unwrap();
    assert_eq!(e.kind, "transcript");
    assert_eq!(e.text("text"), Some("你好, Việt Nam"));
    assert_eq!(e.text("language"), Some("zh"));
    let e = codec::read(&mut r).unwrap().unwrap();
    assert_eq!(
        (e.kind.as_str(), e.number("rate")),
        ("audio-chunk", Some(22050))
    );
    assert_eq!(e.payload, b"\n\x00{\n");
    let e = codec::read(&mut r).unwrap().unwrap();
    assert_eq!(
        (e.kind.as_str(), e.data.len(), e.payload.len()),
        ("describe", 0, 0)
    );
    let e = codec::read(&mut r).unwrap().unwrap();
    assert_eq!(serde_json::Value::Object(e.data), json!({"a": 1, "b": 3}));
    assert!(codec::read(&mut r).unwrap().is_none());
}

#[test]
fn what_voicebox_writes_the_python_package_reads() {
    let events = [
        Event::new(
            "synthesize",
            json!({"text": "Xin chào, 世界!", "voice": {"name": "vi"}}),
        ),
        Event::new(
            "audio-chunk",
            json!({"rate": 16000, "width": 2, "channels": 1}),
        )
        .with_payload(b"\n\n\x01\xff".to_vec()),
        Event::new("audio-stop", serde_json::Value::Null),
    ];
    let bytes: Vec<u8> = events.iter().flat_map(Event::encode).collect();
    let read = python(
        r#"
import json, sys
from wyoming.event import read_event
src = sys.stdin.buffer
while (e := read_event(src)) is not None:
    print(json.dumps({"type": e.type, "data": e.data, "payload": (e.payload or b"").hex()},
                     ensure_ascii=False))
"#,
        &bytes,
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(read)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"type": "synthesize", "data": {"text": "Xin chào, 世界!", "voice": {"name": "vi"}}, "payload": ""}),
            json!({"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload": "0a0a01ff"}),
            json!({"type": "audio-stop", "data": {}, "payload": ""}),
        ]
    );
}
