//! STT over HTTP: one multipart upload to an OpenAI-compatible `/v1/audio/transcriptions`
//! endpoint (whisper.cpp's server, faster-whisper servers), `{"text": ...}` back.
//!
//! The second ureq user besides `ollama`: the request is small and blocking, like Ollama's.

use std::io::Read;
use std::time::Duration;

/// A transcription reply larger than this is not a transcript.
const MAX_REPLY: u64 = 256 * 1024;

/// Why a transcription over HTTP failed; each message names the URL and what to check.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("STT server {url} unreachable: {source}; check stt.url and that the server runs")]
    Unreachable { url: String, source: ureq::Error },
    #[error("STT server {url} sent an unreadable reply: {source}")]
    Unreadable { url: String, source: std::io::Error },
    #[error("STT server {url} answered HTTP {status}: {snippet}")]
    Status {
        url: String,
        status: u16,
        snippet: String,
    },
    #[error(
        "STT server {url}: the reply is not JSON ({source}); is stt.url an OpenAI-compatible /v1/audio/transcriptions endpoint?"
    )]
    NotJson {
        url: String,
        source: serde_json::Error,
    },
    #[error("STT server {url}: the JSON reply has no \"text\" string")]
    NoText { url: String },
}

/// What the recogniser is told besides the audio.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// The `language` field; absent, the server detects it (OpenAI's meaning; whisper.cpp's
    /// server needs `-l auto` for that).
    pub language: Option<String>,
    /// The `prompt` field (whisper: text the transcript should look like).
    pub prompt: Option<String>,
}

/// Uploads `wav` as the `file` field and returns the `text` of the JSON reply.
pub fn transcribe(
    url: &str,
    timeout: Duration,
    wav: &[u8],
    hints: &Hints,
) -> Result<String, Error> {
    let boundary = format!("voicebox-{:016x}", fastrand::u64(..));
    let body = multipart(&boundary, wav, hints);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A LAN server: never route it through a stray $HTTP_PROXY.
        .proxy(None)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .map_err(|source| Error::Unreachable {
            url: url.to_string(),
            source,
        })?;
    let status = resp.status().as_u16();
    let mut text = String::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_REPLY)
        .read_to_string(&mut text)
        .map_err(|source| Error::Unreadable {
            url: url.to_string(),
            source,
        })?;
    if !(200..300).contains(&status) {
        let snippet: String = text.chars().take(300).collect();
        return Err(Error::Status {
            url: url.to_string(),
            status,
            snippet: snippet.trim().to_string(),
        });
    }
    parse_reply(url, &text)
}

/// The multipart body: the WAV as `file`, `response_format=json`, and the hints.
fn multipart(boundary: &str, wav: &[u8], hints: &Hints) -> Vec<u8> {
    let mut b = Vec::with_capacity(wav.len() + 512);
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(wav);
    let fields = [
        ("response_format", Some("json")),
        ("language", hints.language.as_deref()),
        ("prompt", hints.prompt.as_deref()),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            b.extend_from_slice(
                format!(
                    "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}"
                )
                .as_bytes(),
            );
        }
    }
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

fn parse_reply(url: &str, body: &str) -> Result<String, Error> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|source| Error::NotJson {
        url: url.to_string(),
        source,
    })?;
    v.get("text")
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::NoText {
            url: url.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// One-request HTTP server: returns the raw request body it got (via the join handle) and
    /// answers `status` with `reply`.
    fn serve_once(
        status: u16,
        reply: &'static str,
    ) -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/audio/transcriptions", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut s = s;
            write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
            (head, body)
        });
        (url, h)
    }

    #[test]
    fn uploads_multipart_file_and_reads_text() {
        let (url, h) = serve_once(200, r#"{"text":" what is the capital of france\n"}"#);
        let wav = b"RIFF\x00\x01binary\r\n--not-a-boundary";
        let text = transcribe(&url, Duration::from_secs(5), wav, &Hints::default()).unwrap();
        assert_eq!(text, " what is the capital of france\n");
        let (head, body) = h.join().unwrap();
        assert!(head.starts_with("POST /v1/audio/transcriptions "), "{head}");
        let ct = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-type:"))
            .unwrap();
        let boundary = ct.split("boundary=").nth(1).unwrap().trim().to_string();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")), "{text}");
        assert!(text.contains("name=\"file\"; filename=\"speech.wav\""));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        // The WAV bytes are in the body unchanged.
        assert!(body.windows(wav.len()).any(|w| w == wav));
        assert!(text.contains("name=\"response_format\"\r\n\r\njson\r\n"));
        assert!(
            !text.contains("name=\"language\""),
            "auto: no language field"
        );
    }

    #[test]
    fn language_and_prompt_are_form_fields() {
        let (url, h) = serve_once(200, r#"{"text":"今天天气怎么样"}"#);
        let hints = Hints {
            language: Some("zh".into()),
            prompt: Some("以下是普通话的句子。".into()),
        };
        let text = transcribe(&url, Duration::from_secs(5), b"RIFF", &hints).unwrap();
        assert_eq!(text, "今天天气怎么样");
        let (_, body) = h.join().unwrap();
        let body = String::from_utf8(body).unwrap();
        assert!(
            body.contains("name=\"language\"\r\n\r\nzh\r\n--voicebox-"),
            "{body}"
        );
        assert!(
            body.contains("name=\"prompt\"\r\n\r\n以下是普通话的句子。\r\n--voicebox-"),
            "{body}"
        );
    }

    #[test]
    fn http_errors_and_bad_json_are_reported() {
        let (url, h) = serve_once(500, r#"{"error":"model not loaded"}"#);
        let e = transcribe(&url, Duration::from_secs(5), b"x", &Hints::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("HTTP 500") && e.contains("model not loaded"),
            "{e}"
        );
        h.join().unwrap();
        let (url, h) = serve_once(200, "<html>hello</html>");
        let e = transcribe(&url, Duration::from_secs(5), b"x", &Hints::default()).unwrap_err();
        assert!(matches!(e, Error::NotJson { .. }), "{e}");
        h.join().unwrap();
    }

    #[test]
    fn unreachable_server_is_an_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = transcribe(
            &format!("http://127.0.0.1:{port}/x"),
            Duration::from_secs(5),
            b"x",
            &Hints::default(),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        assert!(e.to_string().contains("unreachable"), "{e}");
    }

    #[test]
    fn reply_parsing_table() {
        assert_eq!(parse_reply("u", r#"{"text":"hi"}"#).unwrap(), "hi");
        assert!(matches!(
            parse_reply("u", r#"{"text":5}"#),
            Err(Error::NoText { .. })
        ));
        assert!(matches!(
            parse_reply("u", r#"{}"#),
            Err(Error::NoText { .. })
        ));
        assert!(matches!(parse_reply("u", ""), Err(Error::NotJson { .. })));
    }
}
