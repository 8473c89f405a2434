//! What went wrong in one attempt, whether it is worth retrying, and the one-line message that
//! tells the user what to do. Classification uses the status code *and* the body's type: an
//! nginx HTML 502 is the proxy talking, a JSON `{"error"}` is Ollama talking.

use std::time::Duration;

use crate::event::{Failure, FailureClass};
use crate::http::snippet;

use super::wire::ErrorBody;

/// Who wrote an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Ollama's `{"error": "..."}` with its text.
    Ollama(String),
    /// An HTML page: nginx, Cloudflare or another proxy.
    Html,
    /// Plain text (gin's `404 page not found`, Go proxies), first line kept.
    Text(String),
    /// No body at all (Ollama's Host-header check sends an empty 403).
    Empty,
    /// Something else (JSON without `error`, binary).
    Other(String),
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// No connection: refused, unknown host, connect timeout.
    Unreachable(String),
    /// Connected, but the connection died before a status line arrived.
    Dropped(String),
    /// No complete answer within `ollama.request_timeout_s` (or what was left of the deadline).
    TimedOut(Duration),
    Status {
        code: u16,
        body: Body,
        retry_after: Option<Duration>,
    },
    /// A 200 whose body was cut off, unparsable, or a stream without its `done` line.
    BadBody(String),
    /// The body passed `ollama.max_reply_bytes`.
    TooBig(usize),
    /// Ollama sent `{"error"}` after the stream had started (status already 200).
    StreamError(String),
    /// A 3xx: not followed (a redirected POST loses its body, and may reach another host).
    /// The `Location` is one line, its password redacted.
    Redirected { code: u16, location: Option<String> },
}

/// How often a problem may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Never,
    /// Retry once at most: a second one means it will keep happening (504, 500).
    Once,
    Always,
}

/// What a message needs to name.
pub struct Context<'a> {
    pub url: &'a str,
    pub path: &'a str,
    pub model: &'a str,
}

impl Problem {
    pub fn retry(&self) -> Retry {
        match self {
            Self::Unreachable(_) | Self::Dropped(_) | Self::TimedOut(_) => Retry::Always,
            Self::BadBody(_) | Self::StreamError(_) => Retry::Always,
            Self::TooBig(_) | Self::Redirected { .. } => Retry::Never,
            Self::Status { code, .. } => match code {
                500 | 504 | 524 => Retry::Once,
                429 | 502 | 503 => Retry::Always,
                c if *c >= 500 => Retry::Always,
                _ => Retry::Never,
            },
        }
    }

    /// Same kind of problem, for "at most once" counting.
    pub fn same_kind(&self, other: &Problem) -> bool {
        match (self, other) {
            (Self::Status { code: a, .. }, Self::Status { code: b, .. }) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }

    /// Ollama's 400 for `tools` sent to a model whose template has none
    /// ("registry.ollama.ai/library/gemma2:2b does not support tools").
    pub fn lacks_tools(&self) -> bool {
        matches!(self, Self::Status { code: 400, body: Body::Ollama(t), .. } if t.contains("does not support tools"))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Short description for the per-attempt WARN line.
    pub fn summary(&self) -> String {
        match self {
            Self::Unreachable(d) => format!("cannot connect ({d})"),
            Self::Dropped(d) => format!("connection dropped before the answer ({d})"),
            Self::TimedOut(t) => format!("no answer within {}", secs(*t)),
            Self::Status { code, body, .. } => {
                format!("{code} {} ({})", reason(*code), body.describe())
            }
            Self::BadBody(d) => format!("unreadable reply ({d})"),
            Self::TooBig(n) => format!("reply larger than {n} bytes"),
            Self::StreamError(t) => format!("Ollama failed mid-stream ({t})"),
            Self::Redirected { code, location } => {
                format!(
                    "{code} redirect to {}",
                    location.as_deref().unwrap_or("nowhere")
                )
            }
        }
    }

    /// The final, user-facing failure: class plus one line that says what to do.
    pub fn failure(&self, cx: &Context) -> Failure {
        let Context { url, path, model } = *cx;
        let (class, message) = match self {
            Self::Unreachable(d) => (
                FailureClass::Unreachable,
                format!(
                    "cannot reach Ollama at {url} ({d}); check that the server is running and that ollama.url (or $OLLAMA_HOST) points at it"
                ),
            ),
            Self::Dropped(d) => (
                FailureClass::Unreachable,
                format!(
                    "the connection to {url} was dropped before any answer ({d}); Ollama or its proxy closed it, check their logs"
                ),
            ),
            Self::TimedOut(t) => (
                FailureClass::TooSlow,
                format!(
                    "no answer from {url} within {} (ollama.request_timeout_s / ollama.deadline_s); the model may be loading or answering at length: lower ollama.options.num_predict or raise the timeout",
                    secs(*t)
                ),
            ),
            Self::TooBig(n) => (
                FailureClass::BadReply,
                format!(
                    "the reply from {url} is larger than ollama.max_reply_bytes ({n} bytes); lower ollama.options.num_predict or raise the cap"
                ),
            ),
            Self::BadBody(d) => (
                FailureClass::BadReply,
                format!(
                    "the reply from {url}{path} could not be read ({d}); check that ollama.url points at Ollama and not at another service"
                ),
            ),
            Self::StreamError(t) => (
                FailureClass::BadReply,
                format!(
                    "Ollama failed in the middle of the answer: {t}; try again, and read the server's log if it repeats"
                ),
            ),
            Self::Status { code, body, .. } => status_failure(*code, body, url, path, model),
            Self::Redirected { code, location } => (
                FailureClass::Rejected,
                format!(
                    "{url}{path} answered {code} redirecting to {}; voicebox does not follow redirects (a redirected question loses its body or reaches another server), so ollama.url is wrong or a proxy redirects: set ollama.url to Ollama's real address",
                    location.as_deref().unwrap_or("(no Location header)")
                ),
            ),
        };
        Failure::new(class, message)
    }
}

fn status_failure(
    code: u16,
    body: &Body,
    url: &str,
    path: &str,
    model: &str,
) -> (FailureClass, String) {
    let r = reason(code);
    match (code, body) {
        (504 | 524, _) => (
            FailureClass::TooSlow,
            format!(
                "the proxy in front of Ollama gave up waiting for the answer ({code} {r}) and a retry of the same question usually times out again; raise proxy_read_timeout on the proxy (e.g. 600s) or lower ollama.options.num_predict"
            ),
        ),
        (404, Body::Ollama(t)) if t.contains("not found") => (
            FailureClass::ModelMissing,
            format!(
                "model '{model}' is not on the server at {url} (\"{t}\"); run `ollama pull {model}` on the server, or set ollama.model to a model it has"
            ),
        ),
        (404, b) => (
            FailureClass::Rejected,
            format!(
                "{url}{path} answered 404 Not Found ({}), so no Ollama API is there; check ollama.url (a missing or extra proxy path prefix?)",
                b.describe()
            ),
        ),
        (401, b) => (
            FailureClass::Unauthorized,
            format!(
                "{url} answered 401 Unauthorized ({}); set ollama.api_key (or $OLLAMA_API_KEY) to the token the proxy expects",
                b.describe()
            ),
        ),
        (403, Body::Empty) => (
            FailureClass::Rejected,
            format!(
                "{url} answered 403 with an empty body: Ollama refused the Host header the proxy forwarded; in nginx set `proxy_set_header Host localhost:11434`"
            ),
        ),
        (403, b) => (
            FailureClass::Unauthorized,
            format!(
                "{url} answered 403 Forbidden ({}); check ollama.api_key (or $OLLAMA_API_KEY) and the proxy's access rules",
                b.describe()
            ),
        ),
        (429, b) => (
            FailureClass::Rejected,
            format!(
                "{url} is rate-limiting requests (429, {}); wait a little and ask again",
                b.describe()
            ),
        ),
        (503, Body::Ollama(t)) => (
            FailureClass::Rejected,
            format!(
                "Ollama is busy (503: \"{t}\"); ask again later, or raise OLLAMA_MAX_QUEUE on the server"
            ),
        ),
        (500, Body::Ollama(t)) => (
            FailureClass::Rejected,
            format!(
                "Ollama failed to answer (500: \"{t}\"); often the model could not be loaded, check the server's memory and its log"
            ),
        ),
        (c, Body::Ollama(t)) if c >= 500 => (
            FailureClass::ProxyError,
            format!(
                "Ollama reported an upstream failure ({c} {r}: \"{t}\"); check the server's log"
            ),
        ),
        (c, b) if c >= 500 => (
            FailureClass::ProxyError,
            format!(
                "the proxy in front of Ollama answered {c} {r} ({}; the proxy's own error page, not Ollama): Ollama behind it is down, restarting or unreachable from the proxy; check the Ollama service and the proxy's upstream address",
                b.describe()
            ),
        ),
        (c, Body::Ollama(t)) => (
            FailureClass::Rejected,
            format!(
                "Ollama rejected the request ({c}: \"{t}\"); fix the ollama settings it names (model, think, options, keep_alive)"
            ),
        ),
        (c, b) => (
            FailureClass::Rejected,
            format!(
                "{url}{path} rejected the request ({c} {r}, {}); check ollama.url",
                b.describe()
            ),
        ),
    }
}

impl Body {
    /// Reads an error body: `Content-Type` decides who wrote it, never a guess from the text.
    pub fn classify(content_type: Option<&str>, bytes: &[u8]) -> Body {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Body::Empty;
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("application/json")
            && let Ok(e) = serde_json::from_slice::<ErrorBody>(bytes)
        {
            return Body::Ollama(snippet(&e.error));
        }
        if ct.starts_with("text/html") {
            return Body::Html;
        }
        let text = snippet(&String::from_utf8_lossy(bytes));
        if ct.starts_with("text/plain") {
            Body::Text(text)
        } else {
            Body::Other(text)
        }
    }

    fn describe(&self) -> String {
        match self {
            Body::Ollama(t) => format!("Ollama says \"{t}\""),
            Body::Html => "an HTML error page".into(),
            Body::Text(t) => format!("text \"{t}\""),
            Body::Empty => "empty body".into(),
            Body::Other(t) => format!("unexpected body \"{t}\""),
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        524 => "A Timeout Occurred",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX_502: &[u8] = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n";

    fn status(code: u16, ct: &str, body: &[u8]) -> Problem {
        Problem::Status {
            code,
            body: Body::classify(Some(ct), body),
            retry_after: None,
        }
    }

    #[test]
    fn classes_retries_and_hints() {
        let cx = Context {
            url: "http://pi:11434",
            path: "/api/chat",
            model: "llama3.2",
        };
        let json = "application/json; charset=utf-8";
        // (problem, class, retry, words the message must contain)
        let cases: Vec<(Problem, FailureClass, Retry, &[&str])> = vec![
            (status(502, "text/html", NGINX_502), FailureClass::ProxyError, Retry::Always, &["502", "proxy's own error page, not Ollama"]),
            (status(502, "", b""), FailureClass::ProxyError, Retry::Always, &["502", "empty body"]),
            (status(503, "text/html", NGINX_502), FailureClass::ProxyError, Retry::Always, &["503"]),
            (status(503, json, br#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#), FailureClass::Rejected, Retry::Always, &["busy"]),
            (status(504, "text/html", b"<html>504</html>"), FailureClass::TooSlow, Retry::Once, &["proxy_read_timeout", "num_predict"]),
            (status(524, "text/html", b"<html>cf</html>"), FailureClass::TooSlow, Retry::Once, &["proxy_read_timeout"]),
            (status(404, json, br#"{"error":"model 'llama3.2' not found"}"#), FailureClass::ModelMissing, Retry::Never, &["ollama pull llama3.2", "llama3.2"]),
            (status(404, json, br#"{"error":"model \"llama3.2\" not found, try pulling it first"}"#), FailureClass::ModelMissing, Retry::Never, &["ollama pull llama3.2"]),
            (status(404, "text/plain", b"404 page not found"), FailureClass::Rejected, Retry::Never, &["ollama.url", "/api/chat"]),
            (status(400, json, br#"{"error":"\"llama3.2\" does not support thinking"}"#), FailureClass::Rejected, Retry::Never, &["does not support thinking"]),
            (status(401, json, br#"{"error":"unauthorized"}"#), FailureClass::Unauthorized, Retry::Never, &["ollama.api_key", "OLLAMA_API_KEY"]),
            (status(403, "text/plain", b""), FailureClass::Rejected, Retry::Never, &["Host"]),
            (status(403, "text/html", b"<html>no</html>"), FailureClass::Unauthorized, Retry::Never, &["ollama.api_key"]),
            (status(405, "text/plain", b"405 method not allowed"), FailureClass::Rejected, Retry::Never, &["405"]),
            (status(429, json, br#"{"error":"rate limit exceeded"}"#), FailureClass::Rejected, Retry::Always, &["429"]),
            (status(500, json, br#"{"error":"llama-server process has terminated"}"#), FailureClass::Rejected, Retry::Once, &["terminated"]),
            (Problem::Unreachable("connection refused".into()), FailureClass::Unreachable, Retry::Always, &["http://pi:11434", "connection refused"]),
            (Problem::Dropped("reset".into()), FailureClass::Unreachable, Retry::Always, &["http://pi:11434"]),
            (Problem::TimedOut(Duration::from_secs(58)), FailureClass::TooSlow, Retry::Always, &["58.0 s", "num_predict"]),
            (Problem::BadBody("truncated".into()), FailureClass::BadReply, Retry::Always, &["truncated"]),
            (Problem::TooBig(1024), FailureClass::BadReply, Retry::Never, &["max_reply_bytes", "1024"]),
            (Problem::StreamError("boom".into()), FailureClass::BadReply, Retry::Always, &["boom"]),
            (Problem::Redirected { code: 302, location: Some("https://other:443/api/chat".into()) }, FailureClass::Rejected, Retry::Never, &["302", "https://other:443/api/chat", "ollama.url"]),
        ];
        for (p, class, retry, words) in cases {
            let f = p.failure(&cx);
            assert_eq!(f.class, class, "{p:?}");
            assert_eq!(p.retry(), retry, "{p:?}");
            assert!(!f.message.contains('\n'), "{}", f.message);
            for w in words {
                assert!(f.message.contains(w), "{:?} lacks {w:?}: {}", p, f.message);
            }
        }
    }

    #[test]
    fn bodies_are_told_apart_by_content_type() {
        let cases = [
            (
                Some("application/json; charset=utf-8"),
                &br#"{"error":"x"}"#[..],
                Body::Ollama("x".into()),
            ),
            (Some("text/html"), NGINX_502, Body::Html),
            // nginx HTML mislabelled as JSON is still not Ollama.
            (
                Some("application/json"),
                NGINX_502,
                Body::Other("<html>".into()),
            ),
            (
                Some("text/plain; charset=utf-8"),
                b"404 page not found",
                Body::Text("404 page not found".into()),
            ),
            (None, b"", Body::Empty),
            (Some("text/html"), b" \r\n", Body::Empty),
        ];
        for (ct, bytes, want) in cases {
            assert_eq!(Body::classify(ct, bytes), want, "{ct:?}");
        }
    }
}
