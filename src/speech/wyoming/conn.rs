//! One TCP connection to a Wyoming server: connect with a timeout, send and receive events
//! under a deadline, and hang up at once when the cancel token fires (it shuts the socket down,
//! which wakes a read or write blocked in the kernel).

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::codec::{self, CodecError, Event};
use crate::cancel;
use crate::ollama::one_line;

/// Why talking to a Wyoming server failed; each message names the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot connect to the Wyoming server {addr}: {why}; check the url and that the server runs"
    )]
    Connect { addr: String, why: String },
    #[error("the Wyoming server {addr} did not answer within {} ms", after.as_millis())]
    Timeout { addr: String, after: Duration },
    #[error("the Wyoming server {addr} closed the connection {when}")]
    Closed { addr: String, when: &'static str },
    #[error("the Wyoming server {addr} failed: {text}")]
    Server { addr: String, text: String },
    #[error("the Wyoming server {addr} sent {what}")]
    Protocol { addr: String, what: String },
    #[error("cancelled")]
    Cancelled,
}

/// An open connection. Dropping it closes the socket.
pub struct Conn {
    pub addr: String,
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    /// When the current exchange must be over; `None` while waiting is not bounded (the
    /// speech-to-text connection while the user is still speaking).
    deadline: Option<Instant>,
    /// The length of the current deadline, for the message.
    budget: Duration,
    cancel: cancel::Token,
    _hang_up: cancel::OnCancel,
}

impl Conn {
    /// Connects to `addr` (`host:port`), trying each resolved address for `timeout`.
    pub fn open(addr: &str, timeout: Duration, cancel: &cancel::Token) -> Result<Conn, Error> {
        let fail = |why: String| Error::Connect {
            addr: addr.to_string(),
            why,
        };
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let targets: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve it ({e})")))?
            .collect();
        let mut last = String::from("no address");
        let stream = targets
            .iter()
            .find_map(|a| match TcpStream::connect_timeout(a, timeout) {
                Ok(s) => Some(s),
                Err(e) => {
                    last = match e.kind() {
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                            format!("no answer within {} ms", timeout.as_millis())
                        }
                        _ => e.to_string(),
                    };
                    None
                }
            })
            .ok_or_else(|| fail(last))?;
        // Small events (a header, an audio chunk) go out at once, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let io = |e: std::io::Error| fail(e.to_string());
        let reader = BufReader::new(stream.try_clone().map_err(io)?);
        let killer = stream.try_clone().map_err(io)?;
        let hang_up = cancel.on_cancel(move || {
            let _ = killer.shutdown(Shutdown::Both);
        });
        Ok(Conn {
            addr: addr.to_string(),
            writer: stream,
            reader,
            deadline: None,
            budget: Duration::ZERO,
            cancel: cancel.clone(),
            _hang_up: hang_up,
        })
    }

    /// Bounds everything from now on to `budget`.
    pub fn deadline_in(&mut self, budget: Duration) {
        self.deadline = Some(Instant::now() + budget);
        self.budget = budget;
    }

    pub fn send(&mut self, event: &Event) -> Result<(), Error> {
        let timeout = self.remaining()?;
        let _ = self.writer.set_write_timeout(timeout);
        let bytes = event.encode();
        self.writer
            .write_all(&bytes)
            .map_err(|e| self.io_error(e, "while voicebox was sending"))
    }

    /// The next event, skipping `ping`s (answered with `pong`); an `error` event is an error.
    pub fn recv(&mut self) -> Result<Event, Error> {
        loop {
            let timeout = self.remaining()?;
            let _ = self.reader.get_ref().set_read_timeout(timeout);
            let event = match codec::read(&mut self.reader) {
                Ok(Some(e)) => e,
                Ok(None) => return Err(self.closed("before it answered")),
                Err(CodecError::Io(e)) => return Err(self.io_error(e, "in the middle of an event")),
                Err(e) => return Err(self.protocol(e.to_string())),
            };
            match event.kind.as_str() {
                "ping" => self.send(&Event::new("pong", serde_json::Value::Null))?,
                "error" => {
                    return Err(Error::Server {
                        addr: self.addr.clone(),
                        text: one_line(event.text("text").unwrap_or("no reason given")),
                    });
                }
                _ => return Ok(event),
            }
        }
    }

    /// An error for an event that does not belong in this exchange.
    pub fn protocol(&self, what: String) -> Error {
        Error::Protocol {
            addr: self.addr.clone(),
            what: one_line(&what),
        }
    }

    /// Time left before the deadline (`None`: no deadline), or the timeout error.
    fn remaining(&self) -> Result<Option<Duration>, Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        match self.deadline {
            None => Ok(None),
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(self.timeout()),
            },
        }
    }

    fn timeout(&self) -> Error {
        Error::Timeout {
            addr: self.addr.clone(),
            after: self.budget,
        }
    }

    fn closed(&self, when: &'static str) -> Error {
        Error::Closed {
            addr: self.addr.clone(),
            when,
        }
    }

    fn io_error(&self, e: std::io::Error, when: &'static str) -> Error {
        use std::io::ErrorKind as K;
        if self.cancel.is_cancelled() {
            return Error::Cancelled;
        }
        match e.kind() {
            K::WouldBlock | K::TimedOut => self.timeout(),
            K::UnexpectedEof | K::ConnectionReset | K::BrokenPipe | K::ConnectionAborted => {
                self.closed(when)
            }
            _ => self.protocol(format!("an unreadable stream ({e})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use serde_json::json;

    use super::*;
    use crate::speech::wyoming::tts;

    /// A one-connection server that reads one event, then writes `answer` and nothing more,
    /// and returns what it read until the client hung up.
    fn serve(answer: Vec<Event>) -> (String, std::thread::JoinHandle<Vec<Event>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut seen = vec![codec::read(&mut r).unwrap().unwrap()];
            let mut w = s;
            for e in answer {
                w.write_all(&e.encode()).unwrap();
            }
            let _ = w.shutdown(Shutdown::Write);
            while let Ok(Some(e)) = codec::read(&mut r) {
                seen.push(e);
            }
            seen
        });
        (addr, h)
    }

    fn say(addr: &str) -> Result<crate::audio::Clip, Error> {
        let req = tts::Request {
            addr,
            text: "Xin chào.",
            voice: Some("vi"),
            language: Some("vi"),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            max_bytes: 1 << 20,
        };
        tts::synthesize(&req, &cancel::Token::new())
    }

    #[test]
    fn a_ping_is_answered_and_an_error_event_is_the_servers_failure_made_safe() {
        let (addr, h) = serve(vec![
            Event::new("ping", json!({})),
            Event::new(
                "error",
                json!({"text": "voice \u{1b}[31mvi\nnot found", "code": "x"}),
            ),
        ]);
        let e = say(&addr).unwrap_err();
        assert!(matches!(e, Error::Server { .. }), "{e}");
        assert!(e.to_string().ends_with("failed: voice [31mvi"), "{e}");
        let seen = h.join().unwrap();
        assert_eq!(seen[0].kind, "synthesize");
        assert_eq!(
            seen[0].data["voice"],
            json!({"name": "vi", "language": "vi"})
        );
        assert_eq!(seen[1].kind, "pong");
    }

    #[test]
    fn a_streamed_transcript_without_a_final_one_is_put_together_from_its_chunks() {
        use crate::audio::capture::Fed;
        use crate::speech::wyoming::stt;
        let (addr, h) = serve(vec![
            Event::new("transcript-start", json!({"language": "en"})),
            Event::new("transcript-chunk", json!({"text": "what "})),
            Event::new("transcript-chunk", json!({"text": "time is it"})),
            Event::new("transcript-stop", json!({})),
        ]);
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(Fed::Audio(vec![0.5; 160])).unwrap();
        tx.send(Fed::End).unwrap();
        let req = stt::Request {
            addr,
            model: Some("small".into()),
            language: Some("en".into()),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        };
        let heard = stt::transcribe(&req, &rx, &cancel::Token::new()).unwrap();
        assert_eq!(heard.text, "what time is it");
        let seen = h.join().unwrap();
        let kinds: Vec<&str> = seen.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["transcribe", "audio-start", "audio-chunk", "audio-stop"]
        );
        assert_eq!(
            seen[0].data,
            *json!({"name": "small", "language": "en"})
                .as_object()
                .unwrap()
        );
        assert_eq!(seen[2].payload.len(), 320, "160 samples of 16-bit audio");
    }

    #[test]
    fn audio_voicebox_cannot_play_is_refused_by_name() {
        let chunk = |width: u64, rate: u64| {
            Event::new(
                "audio-chunk",
                json!({"rate": rate, "width": width, "channels": 1}),
            )
            .with_payload(vec![0; 8])
        };
        let stop = || Event::new("audio-stop", json!({}));
        for (answer, needle) in [
            (vec![chunk(4, 22050), stop()], "4-byte samples"),
            (vec![chunk(2, 0), stop()], "not a usable audio format"),
            (
                vec![chunk(2, 22050), chunk(2, 16000), stop()],
                "changing formats",
            ),
            (vec![stop()], "without any audio"),
            (vec![], "closed the connection"),
        ] {
            let (addr, h) = serve(answer);
            let e = say(&addr).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
            h.join().unwrap();
        }
        let (addr, h) = serve(vec![chunk(2, 22050), stop()]);
        let clip = say(&addr).unwrap();
        assert_eq!(
            (clip.rate, clip.channels, clip.samples.len()),
            (22050, 1, 4)
        );
        h.join().unwrap();
    }
}
