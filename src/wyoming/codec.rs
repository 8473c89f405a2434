//! The Wyoming wire format: one JSON header line, then `data_length` bytes of UTF-8 JSON merged
//! over the header's `data`, then `payload_length` bytes of payload (PCM audio).
//!
//! Written here rather than taken from crates.io: the `wyoming` crate (0.2) only serialises,
//! knows no streaming event types (`transcript-chunk`, `synthesize-chunk`) and fails on an
//! unknown type, while the whole format is a line, two lengths and a merge.
//!
//! The reference is the official Python package (`wyoming.event`): what it writes, this reads
//! (tests/it/wyoming_codec.rs checks both directions against it). Every length a server sends is bounded
//! before anything is allocated for it.

use std::io::{BufRead, Read};

use serde_json::{Map, Value};

/// The protocol version written in each header, as the Python package does (servers read it
/// only for logs). The package this client was tested against (tests/wyoming/requirements.txt).
const VERSION: &str = "1.10.2";

/// Bounds on what a peer may send in one event.
const MAX_HEADER: u64 = 64 * 1024;
const MAX_DATA: u64 = 1024 * 1024;
/// Audio chunks are small (piper sends 1024 samples); 8 MiB is minutes of 16-bit mono.
const MAX_PAYLOAD: u64 = 8 * 1024 * 1024;

/// One event: its type, its (merged) data and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: String,
    pub data: Map<String, Value>,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the {what} is {len} bytes, more than the {limit} accepted")]
    TooLong {
        what: &'static str,
        len: u64,
        limit: u64,
    },
    #[error("not a Wyoming event: {0}")]
    Malformed(String),
}

impl Event {
    /// An event with `data` (a JSON object; anything else counts as no data) and no payload.
    pub fn new(kind: &str, data: Value) -> Event {
        let data = match data {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Event {
            kind: kind.to_string(),
            data,
            payload: Vec::new(),
        }
    }

    pub fn with_payload(mut self, payload: Vec<u8>) -> Event {
        self.payload = payload;
        self
    }

    /// A string field of the data, if present.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// A whole-number field of the data, if present.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(Value::as_u64)
    }

    /// The bytes on the wire. As the Python package writes them: non-empty data goes into the
    /// data section (its length in UTF-8 bytes, not characters), never inline in the header.
    pub fn encode(&self) -> Vec<u8> {
        let data = if self.data.is_empty() {
            Vec::new()
        } else {
            // A map of JSON values always serialises.
            serde_json::to_vec(&self.data).unwrap_or_default()
        };
        let kind = Value::String(self.kind.clone());
        let mut header = format!("{{\"type\":{kind},\"version\":\"{VERSION}\"");
        if !data.is_empty() {
            header.push_str(&format!(",\"data_length\":{}", data.len()));
        }
        if !self.payload.is_empty() {
            header.push_str(&format!(",\"payload_length\":{}", self.payload.len()));
        }
        header.push_str("}\n");
        let mut out = header.into_bytes();
        out.extend_from_slice(&data);
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Reads one event. `Ok(None)`: the peer closed the connection between events.
pub fn read(r: &mut impl BufRead) -> Result<Option<Event>, CodecError> {
    let mut line = Vec::new();
    r.take(MAX_HEADER + 1).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if line.len() as u64 > MAX_HEADER {
            return Err(CodecError::TooLong {
                what: "header line",
                len: line.len() as u64,
                limit: MAX_HEADER,
            });
        }
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    let header: Map<String, Value> = serde_json::from_slice(&line)
        .map_err(|e| CodecError::Malformed(format!("header line: {e}")))?;
    let kind = match header.get("type") {
        Some(Value::String(t)) => t.clone(),
        _ => return Err(CodecError::Malformed("the header has no \"type\"".into())),
    };
    let mut data = match header.get("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(CodecError::Malformed("\"data\" is not an object".into())),
    };
    let data_length = length(&header, "data_length", MAX_DATA)?;
    if data_length > 0 {
        let bytes = exactly(r, data_length)?;
        let more: Map<String, Value> = serde_json::from_slice(&bytes)
            .map_err(|e| CodecError::Malformed(format!("data section: {e}")))?;
        // The data section wins over the header's inline data, key by key.
        data.extend(more);
    }
    let payload_length = length(&header, "payload_length", MAX_PAYLOAD)?;
    let payload = exactly(r, payload_length)?;
    Ok(Some(Event {
        kind,
        data,
        payload,
    }))
}

/// A length field: absent or null is 0; anything else must be a whole number within `limit`.
fn length(header: &Map<String, Value>, key: &'static str, limit: u64) -> Result<u64, CodecError> {
    let len = match header.get(key) {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| CodecError::Malformed(format!("\"{key}\" is {v}, not a length")))?,
    };
    if len > limit {
        return Err(CodecError::TooLong {
            what: key,
            len,
            limit,
        });
    }
    Ok(len)
}

fn exactly(r: &mut impl Read, len: u64) -> Result<Vec<u8>, CodecError> {
    // `len` is within the limits above, so this allocation is bounded.
    let mut buf = vec![0; len as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(bytes: &[u8]) -> Result<Option<Event>, CodecError> {
        read(&mut &bytes[..])
    }

    #[test]
    fn encodes_exact_bytes_with_data_and_payload_after_the_header() {
        let e = Event::new(
            "audio-chunk",
            json!({"rate": 16000, "width": 2, "channels": 1}),
        )
        .with_payload(vec![1, 0, 255, 127]);
        let want = b"{\"type\":\"audio-chunk\",\"version\":\"1.10.2\",\"data_length\":37,\"payload_length\":4}\n\
                     {\"channels\":1,\"rate\":16000,\"width\":2}\x01\x00\xff\x7f";
        assert_eq!(e.encode(), want.to_vec());
        assert_eq!(decode(&e.encode()).unwrap().unwrap(), e);
    }

    #[test]
    fn no_data_and_no_payload_is_a_header_alone() {
        let e = Event::new("describe", Value::Null);
        assert_eq!(
            e.encode(),
            b"{\"type\":\"describe\",\"version\":\"1.10.2\"}\n"
        );
        assert_eq!(decode(&e.encode()).unwrap().unwrap(), e);
    }

    #[test]
    fn data_length_counts_utf8_bytes_not_characters() {
        // "你好" is 2 characters and 6 bytes; "é" 1 and 2. A character count (15) would cut
        // the data section short and read the payload's first bytes as JSON.
        let e = Event::new("synthesize", json!({"text": "你好 é"})).with_payload(b"{x".to_vec());
        let bytes = e.encode();
        let data = r#"{"text":"你好 é"}"#;
        assert_eq!(data.len(), 20);
        assert_eq!(data.chars().count(), 15);
        let header = "{\"type\":\"synthesize\",\"version\":\"1.10.2\",\"data_length\":20,\"payload_length\":2}\n";
        assert_eq!(bytes, [header.as_bytes(), data.as_bytes(), b"{x"].concat());
        assert_eq!(
            decode(&bytes).unwrap().unwrap().text("text"),
            Some("你好 é")
        );
    }

    #[test]
    fn the_data_section_is_merged_over_inline_header_data() {
        // As the Python reader does: section keys win, header-only keys stay.
        let bytes = b"{\"type\": \"transcript\", \"data\": {\"text\": \"old\", \"language\": \"en\"}, \"data_length\": 15}\n{\"text\": \"new\"}";
        let e = decode(bytes).unwrap().unwrap();
        assert_eq!(e.kind, "transcript");
        assert_eq!(e.text("text"), Some("new"));
        assert_eq!(e.text("language"), Some("en"));
        assert!(e.payload.is_empty());
    }

    #[test]
    fn payload_bytes_may_hold_newlines_and_events_follow_each_other() {
        let a = Event::new("audio-chunk", json!({"rate": 8000})).with_payload(b"\n\n{\n".to_vec());
        let b = Event::new("audio-stop", json!({"timestamp": null}));
        let stream = [a.encode(), b.encode()].concat();
        let mut r = &stream[..];
        assert_eq!(read(&mut r).unwrap().unwrap(), a);
        assert_eq!(read(&mut r).unwrap().unwrap(), b);
        assert!(
            read(&mut r).unwrap().is_none(),
            "a clean end between events"
        );
    }

    #[test]
    fn what_a_peer_cannot_make_us_do() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"{\"type\":\"x\",\"payload_length\":99999999999}\n",
                "more than",
            ),
            (b"{\"type\":\"x\",\"data_length\":-1}\n", "not a length"),
            (b"{\"type\":\"x\",\"data_length\":1.5}\n", "not a length"),
            (b"{\"data\":{}}\n", "no \"type\""),
            (b"{\"type\":\"x\",\"data\":[1]}\n", "not an object"),
            (b"[1,2]\n", "header line"),
            (b"{\"type\":\"x\",\"data_length\":4}\n[1]x", "data section"),
            (
                b"{\"type\":\"x\",\"payload_length\":10}\nshort",
                "failed to fill",
            ),
            (b"{\"type\":\"x\"", "end of file"),
        ];
        for (bytes, needle) in cases {
            let e = decode(bytes).unwrap_err().to_string();
            assert!(
                e.contains(needle),
                "{:?}: {e}",
                String::from_utf8_lossy(bytes)
            );
        }
        let endless = vec![b'a'; 200_000];
        let e = decode(&endless).unwrap_err();
        assert!(matches!(e, CodecError::TooLong { .. }), "{e}");
    }
}
