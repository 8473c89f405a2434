//! Keeping the model loaded: an empty prompt with `keep_alive` only loads the model (Ollama
//! answers `done_reason: "load"`), at start (`warm_up`) and whenever the button is pressed
//! (`load`), so the question does not pay for a cold start. Other clients of the same server
//! that omit `keep_alive` reset it to 5 minutes, so loading once at start is not enough.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::event::{Failure, ms};
use crate::{cancel, printable};

use super::client::{Client, Conn};
use super::wire::{Common, GenerateRequest};

/// Clears the loading flag however the load ends.
struct Loading<'a>(&'a AtomicBool);

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Client {
    /// Loads the model at start, retrying as a question would (the server may be starting
    /// too); blocking, for its own thread. Logs the outcome at INFO.
    pub fn warm_up(&self) -> Result<(), Failure> {
        self.loading().store(true, Ordering::SeqCst);
        let _loading = Loading(self.loading());
        let started = Instant::now();
        let never = cancel::Token::new();
        let body = |_streaming: bool| self.load_body();
        let (reply, attempts) =
            self.exchange(Conn::Load, "/api/generate", &body, &never, started, None)?;
        tracing::info!(
            attempts,
            ollama_ms = ms(started.elapsed()),
            model = %self.config().model,
            done_reason = %printable::escaped(reply.done_reason.as_deref().unwrap_or("none")),
            "ollama model warmed up"
        );
        Ok(())
    }

    /// Asks the server to load the model, in the background, once: returns at once, never
    /// delays a question (it has its own connection), is skipped while a question or another
    /// load is in flight, and its outcome is only a DEBUG line. Off with `ollama.warm_up`.
    pub fn load(&self) {
        if !self.config().warm_up {
            return;
        }
        if self.busy() || self.loading().swap(true, Ordering::SeqCst) {
            tracing::debug!("model load skipped: a request is in flight");
            return;
        }
        let client = self.clone();
        let spawned = std::thread::Builder::new()
            .name("model-load".into())
            .spawn(move || {
                let _loading = Loading(client.loading());
                let started = Instant::now();
                let cfg = client.config();
                let result = client.attempt(
                    &client.loader(),
                    "/api/generate",
                    &client.load_body(),
                    false,
                    cfg.request_timeout,
                    &mut |_| {},
                );
                match result {
                    Ok(reply) => tracing::debug!(
                        ollama_ms = ms(started.elapsed()),
                        // From the server: escaped, so it can neither forge a line nor
                        // drive a terminal showing the log.
                        done_reason = %printable::escaped(
                            reply.done_reason.as_deref().unwrap_or("none")
                        ),
                        "model load answered"
                    ),
                    Err(p) => tracing::debug!(problem = %p.summary(), "model load failed"),
                }
            });
        if let Err(e) = spawned {
            self.loading().store(false, Ordering::SeqCst);
            tracing::debug!(error = %e, "model load skipped: no thread");
        }
    }

    fn load_body(&self) -> Vec<u8> {
        let body = GenerateRequest {
            common: Common::new(self.config(), false),
            prompt: "",
            system: "",
        };
        // Serializing strings and a JSON map cannot fail; an empty body would be a clear 400.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}
