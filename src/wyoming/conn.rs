//! One TCP connection to a Wyoming server: connect with a timeout, send and receive events
//! under a deadline, and hang up at once when the cancel token fires (it shuts the socket down,
//! which wakes a read or write blocked in the kernel).

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::codec::{self, CodecError, Event};
use crate::cancel;
use crate::http::snippet;

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
                        text: snippet(event.text("text").unwrap_or("no reason given")),
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
            what: snippet(&what),
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
