//! The one HTTP layer (ureq) for Ollama and the OpenAI-compatible speech servers: the agent
//! every request goes through, the hang-up, the redirect and error-body helpers, and the one
//! error type of the speech servers (Ollama classifies its own, `ollama::Problem`, because its
//! retries branch on them).
//!
//! - An agent has no proxy unless asked for (a LAN server must never go through a stray
//!   `$HTTP_PROXY`), reports statuses as values, and follows no redirect: a redirected POST
//!   arrives as a GET without its body, or at another server whose answer would be taken for
//!   ours, so it is reported with where it pointed.
//! - Authorization comes from `url::Url` (Basic from the URL's user info, or a Bearer token);
//!   what is shown of a URL or a `Location` has its password as `***`.
//! - Hang-up: `hang_up_on` shuts a request's agent down from the cancelling thread, which fails
//!   a connect's aftermath, a write or a read blocked in the kernel at once (ureq's
//!   `Agent::shutdown`), so a cancel, barge-in or new press closes the connection within
//!   moments, with no helper thread per request.

use std::io::Read;
use std::time::Duration;

use crate::cancel;

/// Error bodies are read only this far: enough for a JSON error or a proxy page's title.
const ERROR_BODY_CAP: u64 = 64 * 1024;

/// A fresh agent: connect timeout, optional overall timeout, `proxy` only when asked for, no
/// redirects, statuses as values, our user agent. One agent per request when the request
/// must be hung up on its own (`hang_up_on` closes every connection of the agent).
pub fn agent(
    connect: Duration,
    overall: Option<Duration>,
    proxy: Option<ureq::Proxy>,
) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(overall)
        .http_status_as_error(false)
        .proxy(proxy)
        .max_redirects(0)
        .user_agent(format!("voicebox/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Shuts `agent` (and every clone: they share the connections) down when `cancel` fires, until
/// the guard drops. A request in flight on it fails at once with an I/O error.
pub fn hang_up_on(cancel: &cancel::Token, agent: &ureq::Agent) -> cancel::OnCancel {
    let agent = agent.clone();
    cancel.on_cancel(move || agent.shutdown())
}

/// Where a 3xx answer points (one line, its password as `***`); `None` for any other status.
pub fn redirect<B>(resp: &ureq::http::Response<B>) -> Option<String> {
    if !resp.status().is_redirection() {
        return None;
    }
    Some(location(resp.headers()))
}

/// The `Location` header as safe to show: one line, its password as `***`.
pub fn location(headers: &ureq::http::HeaderMap) -> String {
    let raw = headers
        .get("location")
        .map_or("(no Location header)".into(), |v| {
            String::from_utf8_lossy(v.as_bytes())
        });
    crate::url::redact(&snippet(&raw))
}

/// An error reply's body as evidence: read up to 64 KiB, then its first line (`snippet`).
pub fn error_body(body: &mut ureq::Body) -> String {
    let mut text = String::new();
    let _ = body
        .as_reader()
        .take(ERROR_BODY_CAP)
        .read_to_string(&mut text);
    snippet(&text)
}

/// First non-blank line, control characters dropped, at most 160 characters: error text goes
/// into one log line and one spoken-error context, never a page of HTML.
pub fn snippet(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(160).collect();
    if line.chars().count() > 160 {
        out.push('…');
    }
    out
}

/// Which speech server a request went to: names it in messages, and the config section to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Stt,
    Tts,
}

impl Service {
    fn key(self) -> &'static str {
        match self {
            Service::Stt => "stt",
            Service::Tts => "tts",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Service::Stt => "STT",
            Service::Tts => "TTS",
        })
    }
}

/// Why a request to a speech server failed; each message names the server, its URL as shown
/// (its password as `***`) and what to check.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{service} server {url} answered {status} redirecting to {location}; voicebox does not follow redirects (a request would be lost or sent elsewhere), so set {}.url to the server's real address",
        service.key()
    )]
    Redirected {
        service: Service,
        url: String,
        status: u16,
        location: String,
    },
    #[error("{service} server {url} unreachable: {why}; check {}.url and that the server runs", service.key())]
    Unreachable {
        service: Service,
        url: String,
        why: String,
    },
    #[error("{service} server {url} did not answer within {} ms", after.as_millis())]
    Timeout {
        service: Service,
        url: String,
        after: Duration,
    },
    #[error("{service} server {url} answered HTTP {status}: {snippet}")]
    Status {
        service: Service,
        url: String,
        status: u16,
        snippet: String,
    },
    /// The reply arrived but is not what the endpoint should send (not JSON, no text, audio
    /// that cannot be played, too big); `why` says what and what to check.
    #[error("{service} server {url}: {why}")]
    BadReply {
        service: Service,
        url: String,
        why: String,
    },
    /// The request was hung up on (`hang_up_on`).
    #[error("cancelled")]
    Cancelled,
}

/// One request's context for its errors.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub service: Service,
    /// The URL as shown (`url::Url`'s Display: any password as `***`).
    pub url: &'a str,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// The request's cancel token: an error after it fired is `Cancelled`.
    pub cancel: &'a cancel::Token,
}

impl Request<'_> {
    /// A transport error (no status line yet, or a body cut off) as the speech servers' error.
    pub fn transport(&self, e: ureq::Error) -> Error {
        if self.cancel.is_cancelled() {
            return Error::Cancelled;
        }
        let (service, url) = (self.service, self.url.to_string());
        match e {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                Error::Unreachable {
                    service,
                    url,
                    why: format!(
                        "no connection within {} ms",
                        self.connect_timeout.as_millis()
                    ),
                }
            }
            ureq::Error::Timeout(_) => Error::Timeout {
                service,
                url,
                after: self.timeout,
            },
            other => Error::Unreachable {
                service,
                url,
                why: snippet(&other.to_string()),
            },
        }
    }

    /// A reply's status: a redirect, or a non-2xx with its body's first line (and, for 401/403,
    /// which credentials to check), is an error.
    pub fn status(&self, resp: &mut ureq::http::Response<ureq::Body>) -> Result<(), Error> {
        let (service, url) = (self.service, self.url.to_string());
        let status = resp.status().as_u16();
        if let Some(location) = redirect(resp) {
            return Err(Error::Redirected {
                service,
                url,
                status,
                location,
            });
        }
        if (200..300).contains(&status) {
            return Ok(());
        }
        let mut snippet = error_body(resp.body_mut());
        if status == 401 || status == 403 {
            let key = service.key();
            let env = key.to_ascii_uppercase();
            snippet.push_str(&format!(
                "; check {key}.api_key (or $VOICEBOX_{env}_API_KEY) or the user:password in {key}.url"
            ));
        }
        Err(Error::Status {
            service,
            url,
            status,
            snippet,
        })
    }

    /// A reply that arrived but is unusable.
    pub fn bad_reply(&self, why: impl Into<String>) -> Error {
        Error::BadReply {
            service: self.service,
            url: self.url.to_string(),
            why: why.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_bounds_text() {
        assert_eq!(snippet("\n  a\nb"), "a");
        assert_eq!(snippet("x\u{7}y"), "xy");
        let long = "é".repeat(500);
        assert_eq!(snippet(&long).chars().count(), 161);
    }

    #[test]
    fn errors_name_the_service_and_its_key() {
        let e = Error::Unreachable {
            service: Service::Tts,
            url: "http://h/v1/audio/speech".into(),
            why: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "TTS server http://h/v1/audio/speech unreachable: connection refused; check tts.url and that the server runs"
        );
        let e = Error::Redirected {
            service: Service::Stt,
            url: "u".into(),
            status: 307,
            location: "v".into(),
        };
        assert!(e.to_string().contains("set stt.url"), "{e}");
    }
}
