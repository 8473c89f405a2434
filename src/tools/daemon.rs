//! The daemon's `Executor`: a checked call posted to the loop as `Event::ToolCall` (the loop
//! keeps the timers and the volume), its answer awaited on the calling thread — the blocking
//! Ollama worker — for at most `tools.call_timeout_s`.

use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::Duration;

use super::{Call, Executor};
use crate::bus::EventSender;
use crate::event::Event;

pub struct ToLoop {
    events: EventSender,
    timeout: Duration,
}

impl ToLoop {
    pub fn new(events: EventSender, timeout: Duration) -> ToLoop {
        ToLoop { events, timeout }
    }
}

impl Executor for ToLoop {
    fn run(&self, call: Call, lang: &str) -> Result<String, String> {
        let shutting_down = || "not done: the box is shutting down".to_string();
        let (reply, answer) = sync_channel(1);
        let event = Event::ToolCall {
            call,
            lang: lang.to_string(),
            reply,
        };
        self.events.send(event).map_err(|_| shutting_down())?;
        match answer.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "not done: the box did not answer within {:.1} s (tools.call_timeout_s)",
                self.timeout.as_secs_f32()
            )),
            Err(RecvTimeoutError::Disconnected) => Err(shutting_down()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Call {
        Call::SetTimer {
            seconds: 60,
            label: Some("茶".into()),
        }
    }

    #[test]
    fn the_loop_answers_through_the_event_and_a_silent_or_gone_loop_is_an_error() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let exec = ToLoop::new(tx, Duration::from_millis(300));
        let answering = std::thread::spawn(move || {
            let Some(Event::ToolCall { call, lang, reply }) = rx.blocking_recv() else {
                panic!("not a tool call")
            };
            reply
                .send(Ok(format!("{} in {lang}", call.name())))
                .unwrap();
            // The next call gets no answer; then the loop is gone.
            let held = rx.blocking_recv();
            std::thread::sleep(Duration::from_millis(500));
            drop(held);
        });
        assert_eq!(exec.run(set(), "zh"), Ok("set_timer in zh".into()));
        let e = exec.run(set(), "zh").unwrap_err();
        assert!(e.contains("did not answer within 0.3 s"), "{e}");
        answering.join().unwrap();
        let e = exec.run(set(), "zh").unwrap_err();
        assert!(e.contains("shutting down"), "{e}");
    }
}
