//! STT over HTTP: one multipart upload to an OpenAI-compatible `/v1/audio/transcriptions`
//! endpoint (speaches, faster-whisper servers) or whisper.cpp's `/inference`, which take the
//! same form (`file`, `response_format=json`, optional `model`, `language` and `prompt`) and
//! answer `{"text": ...}`.
//!
//! Through the one HTTP layer (`crate::http`): a cancel hangs the upload up at once.

use std::io::Read;
use std::time::Duration;

use crate::cancel;
use crate::http::{self, Error, Service};
use crate::url::Url;

/// A transcription reply larger than this is not a transcript.
const MAX_REPLY: u64 = 256 * 1024;

/// One configured endpoint (`stt.url` with an http(s) scheme).
#[derive(Clone)]
pub struct Endpoint {
    /// Its user info goes as Basic authentication, unless `api_key` is set.
    pub url: Url,
    /// Sent as the `model` field when set (OpenAI's API requires one; whisper.cpp ignores it).
    pub model: Option<String>,
    /// The `language` field (`stt.language`); absent, the server detects it (OpenAI's meaning;
    /// whisper.cpp's server needs `-l auto` for that).
    pub language: Option<String>,
    /// The `prompt` field (`stt.prompt`: text the transcript should look like).
    pub prompt: Option<String>,
    /// Bearer token; never logged (the hand-written Debug leaves it out).
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Uploads `wav` as the `file` field and returns the `text` of the JSON reply; `cancel`
    /// hangs the upload up at once.
    pub fn transcribe(&self, wav: &[u8], cancel: &cancel::Token) -> Result<String, Error> {
        let url = self.url.to_string();
        let req = self.request(&url, self.timeout, cancel);
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let boundary = format!("voicebox-{:016x}", fastrand::u64(..));
        let fields = [
            ("model", &self.model),
            ("language", &self.language),
            ("prompt", &self.prompt),
        ];
        let body = multipart(&boundary, wav, &fields);
        let agent = http::agent(self.connect_timeout, Some(self.timeout), None);
        let _hang_up = http::hang_up_on(cancel, &agent);
        let mut request = agent.post(self.url.base()).header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(auth) = self.url.authorization_with(self.api_key.as_deref()) {
            request = request.header("Authorization", auth);
        }
        let mut resp = request.send(&body[..]).map_err(|e| req.transport(e))?;
        req.status(&mut resp)?;
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_REPLY)
            .read_to_string(&mut text)
            .map_err(|e| req.transport(ureq::Error::from(e)))?;
        parse_reply(&req, &text)
    }

    /// For `voicebox check`: the endpoint answers at all. A GET is enough to tell a wrong host
    /// (unreachable), a wrong path (404) and wrong credentials (401/403) from a live endpoint,
    /// which refuses the GET (405) or takes it, without spending a transcription.
    pub fn check(&self) -> Result<String, Error> {
        let url = self.url.to_string();
        let timeout = self.connect_timeout.max(Duration::from_secs(5));
        let never = cancel::Token::new();
        let req = self.request(&url, timeout, &never);
        let mut request =
            http::agent(self.connect_timeout, Some(timeout), None).get(self.url.base());
        if let Some(auth) = self.url.authorization_with(self.api_key.as_deref()) {
            request = request.header("Authorization", auth);
        }
        let resp = request.call().map_err(|e| req.transport(e))?;
        if let Some(location) = http::redirect(&resp) {
            return Err(Error::Redirected {
                service: Service::Stt,
                url,
                status: resp.status().as_u16(),
                location,
            });
        }
        match resp.status().as_u16() {
            404 => Err(Error::Status {
                service: Service::Stt,
                url,
                status: 404,
                snippet: "no such endpoint; stt.url must be the whole path, e.g. …/v1/audio/transcriptions or …/inference".into(),
            }),
            s @ (401 | 403) => Err(Error::Status {
                service: Service::Stt,
                url,
                status: s,
                snippet: "the credentials were refused; check stt.api_key (or $VOICEBOX_STT_API_KEY) or the user:password in stt.url".into(),
            }),
            s => Ok(format!("STT over HTTP: {url} answers (HTTP {s} to a GET)")),
        }
    }

    fn request<'a>(
        &self,
        url: &'a str,
        timeout: Duration,
        cancel: &'a cancel::Token,
    ) -> http::Request<'a> {
        http::Request {
            service: Service::Stt,
            url,
            connect_timeout: self.connect_timeout,
            timeout,
            cancel,
        }
    }
}

/// The multipart body: the WAV as `file`, `response_format=json`, and the `fields` that are set.
fn multipart(boundary: &str, wav: &[u8], fields: &[(&str, &Option<String>)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(wav.len() + 512);
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(wav);
    let set = fields
        .iter()
        .filter_map(|(name, value)| Some((*name, value.as_deref()?)));
    for (name, value) in std::iter::once(("response_format", "json")).chain(set) {
        b.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}"
            )
            .as_bytes(),
        );
    }
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

fn parse_reply(req: &http::Request<'_>, body: &str) -> Result<String, Error> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        req.bad_reply(format!(
            "the reply is not JSON ({e}); is stt.url an OpenAI-compatible /v1/audio/transcriptions endpoint?"
        ))
    })?;
    v.get("text")
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| req.bad_reply("the JSON reply has no \"text\" string"))
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
        serve_once_with(status, "", reply)
    }

    /// `serve_once` with extra header lines in the answer.
    fn serve_once_with(
        status: u16,
        headers: &'static str,
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
                "HTTP/1.1 {status} X\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
            (head, body)
        });
        (url, h)
    }

    fn endpoint(url: &str) -> Endpoint {
        Endpoint {
            url: Url::parse(url).unwrap(),
            model: None,
            language: None,
            prompt: None,
            api_key: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }

    fn transcribe(url: &str, _timeout: Duration, wav: &[u8]) -> Result<String, Error> {
        endpoint(url).transcribe(wav, &cancel::Token::new())
    }

    /// `parse_reply` as an endpoint at `u` sees it.
    fn parse(body: &str) -> Result<String, Error> {
        let never = cancel::Token::new();
        parse_reply(
            &endpoint("http://u/").request("u", Duration::ZERO, &never),
            body,
        )
    }

    #[test]
    fn whisper_cpp_inference_with_model_and_token() {
        // whisper.cpp's server answers /inference with the segment text, spaces and newline
        // included; the model field and the bearer token go along when configured.
        let (url, h) = serve_once(200, "{\"text\":\" hello there\\n\"}\n");
        let url = url.replace("/v1/audio/transcriptions", "/inference");
        let mut e = endpoint(&url);
        e.model = Some("ggml-base.en".into());
        e.api_key = Some("sekrit".into());
        assert_eq!(
            e.transcribe(b"RIFF", &cancel::Token::new()).unwrap(),
            " hello there\n"
        );
        let (head, body) = h.join().unwrap();
        assert!(head.starts_with("POST /inference "), "{head}");
        assert!(head.contains("Bearer sekrit"), "{head}");
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("name=\"model\"\r\n\r\nggml-base.en\r\n"),
            "{body}"
        );
        assert!(
            !format!("{e:?}").contains("sekrit"),
            "Debug shows the token"
        );
    }

    #[test]
    fn uploads_multipart_file_and_reads_text() {
        let (url, h) = serve_once(200, r#"{"text":" what is the capital of france\n"}"#);
        let wav = b"RIFF\x00\x01binary\r\n--not-a-boundary";
        let text = transcribe(&url, Duration::from_secs(5), wav).unwrap();
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
        assert!(
            !text.contains("name=\"language\""),
            "auto: no language field"
        );
    }

    #[test]
    fn language_and_prompt_are_form_fields() {
        let (url, h) = serve_once(200, r#"{"text":"今天天气怎么样"}"#);
        let mut e = endpoint(&url);
        e.language = Some("zh".into());
        e.prompt = Some("以下是普通话的句子。".into());
        assert_eq!(
            e.transcribe(b"RIFF", &cancel::Token::new()).unwrap(),
            "今天天气怎么样"
        );
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
    fn check_tells_a_live_endpoint_from_a_wrong_path_and_wrong_credentials() {
        let (url, h) = serve_once(405, r#"{"error":"method not allowed"}"#);
        let ok = endpoint(&url).check().unwrap();
        assert!(ok.contains("answers (HTTP 405"), "{ok}");
        assert!(h.join().unwrap().0.starts_with("GET "));
        for (status, hint) in [(404, "whole path"), (401, "stt.api_key")] {
            let (url, h) = serve_once(status, "{}");
            let e = endpoint(&url).check().unwrap_err().to_string();
            assert!(
                e.contains(&format!("HTTP {status}")) && e.contains(hint),
                "{e}"
            );
            h.join().unwrap();
        }
    }

    #[test]
    fn http_errors_and_bad_json_are_reported() {
        let (url, h) = serve_once(500, r#"{"error":"model not loaded"}"#);
        let e = transcribe(&url, Duration::from_secs(5), b"x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("HTTP 500") && e.contains("model not loaded"),
            "{e}"
        );
        h.join().unwrap();
        let (url, h) = serve_once(200, "<html>hello</html>");
        let e = transcribe(&url, Duration::from_secs(5), b"x").unwrap_err();
        assert!(matches!(e, Error::BadReply { .. }), "{e}");
        h.join().unwrap();
    }

    #[test]
    fn unreachable_server_is_an_error_that_never_shows_credentials() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = transcribe(
            &format!("http://u:secret@127.0.0.1:{port}/x"),
            Duration::from_secs(5),
            b"x",
        )
        .unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        let e = e.to_string();
        assert!(e.contains("unreachable") && e.contains("127.0.0.1"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn reply_parsing_table() {
        assert_eq!(parse(r#"{"text":"hi"}"#).unwrap(), "hi");
        assert!(matches!(
            parse(r#"{"text":5}"#),
            Err(Error::BadReply { .. })
        ));
        assert!(matches!(parse(r#"{}"#), Err(Error::BadReply { .. })));
        assert!(matches!(parse(""), Err(Error::BadReply { .. })));
    }

    #[test]
    fn user_info_is_sent_as_basic_auth_and_never_shown() {
        let (url, h) = serve_once(500, r#"{"error":"x"}"#);
        let url = url.replace("http://", "http://stt:hunter2@");
        let e = endpoint(&url)
            .transcribe(b"x", &cancel::Token::new())
            .unwrap_err()
            .to_string();
        let (head, _) = h.join().unwrap();
        // base64("stt:hunter2"), and a request line without the user info.
        assert!(head.contains("Basic c3R0Omh1bnRlcjI="), "{head}");
        assert!(head.starts_with("POST /v1/audio/transcriptions "), "{head}");
        assert!(e.contains("stt:***@") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_redirect_is_reported_with_its_location_not_followed() {
        for check in [false, true] {
            let (url, h) = serve_once_with(
                307,
                "Location: http://x:hunter2@elsewhere.example/v1/audio/transcriptions\r\n",
                "",
            );
            let e = if check {
                endpoint(&url).check().unwrap_err()
            } else {
                endpoint(&url)
                    .transcribe(b"x", &cancel::Token::new())
                    .unwrap_err()
            };
            h.join().unwrap();
            assert!(matches!(e, Error::Redirected { status: 307, .. }), "{e}");
            let e = e.to_string();
            assert!(
                e.contains("http://x:***@elsewhere.example/v1/audio/transcriptions")
                    && e.contains("stt.url")
                    && !e.contains("hunter2"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_cancel_hangs_up_an_upload_the_server_never_answers() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/audio/transcriptions", l.local_addr().unwrap());
        // The server reads the request, answers nothing, and reports when the client left.
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            while s.read(&mut buf).is_ok_and(|n| n > 0) {}
            std::time::Instant::now()
        });
        let cancel = cancel::Token::new();
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                cancel.cancel();
                std::time::Instant::now()
            })
        };
        let mut e = endpoint(&url);
        e.timeout = Duration::from_secs(60);
        let got = e.transcribe(b"RIFF", &cancel);
        assert!(matches!(got, Err(Error::Cancelled)), "{got:?}");
        let (cancelled, gone) = (canceller.join().unwrap(), server.join().unwrap());
        assert!(
            gone.duration_since(cancelled) < Duration::from_secs(1),
            "hung up {:?} after the cancel",
            gone.duration_since(cancelled)
        );
    }
}
