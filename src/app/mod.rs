//! The one loop: wait for an event, a reload, the watchdog or shutdown; feed the machine;
//! dispatch its actions to the devices. The clock is read here only (`now`).
//!
//! The loop builds no device itself: `cmd/run.rs` (the composition root) hands it a `rebuild`
//! function that makes the real ones, the tests one that makes fakes.

mod clock;
mod devices;
mod dispatch;
#[cfg(test)]
mod tests;
mod timers;

use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use clock::{Clock, system_zone};
pub use devices::{Devices, Loudspeaker, Microphone, Responder, Transcriber};
use dispatch::Driver;
use timers::Keeper;

use crate::bus::{EventReceiver, EventSender};
use crate::button::Button;
use crate::config::Config;
use crate::event::Event;
use crate::machine::{Action, Machine, Settings, State};
use crate::printable::escaped;
use crate::shutdown::Reloads;
use crate::{state, systemd};

/// Re-reads the config (on SIGHUP).
pub type Reload = Box<dyn FnMut() -> anyhow::Result<Config>>;
/// Builds the devices for a config: at start-up, and when a reloaded config is applied.
pub type Rebuild = Box<dyn FnMut(&Config) -> anyhow::Result<Devices>>;

/// What the loop is built from.
pub struct Parts {
    pub config: Config,
    pub rebuild: Rebuild,
    pub reload: Reload,
    /// Kept across reloads: GPIO changes take a restart.
    pub button: Option<Button>,
    pub events_tx: EventSender,
    pub events: EventReceiver,
    pub reloads: Reloads,
    /// The control socket's `status` line.
    pub status: watch::Sender<String>,
    pub shutdown: CancellationToken,
    /// Where the volume (and beside it the timers) is kept across restarts.
    pub store: state::Store,
    /// The wall clock of timers and alarms.
    pub clock: Clock,
}

pub struct App {
    machine: Machine,
    driver: Driver,
    config: Config,
    /// A reloaded config waiting for the machine to be idle.
    pending: Option<Config>,
    rebuild: Rebuild,
    reload: Reload,
    events: EventReceiver,
    reloads: Reloads,
    status: watch::Sender<String>,
    shutdown: CancellationToken,
    watchdog: Option<tokio::time::Interval>,
    last_state: State,
    /// The user's timers; the loop sleeps until the soonest.
    keeper: Keeper,
}

/// What woke the loop.
enum Input {
    Event(Option<Event>),
    Reload,
    Watchdog,
    /// The soonest timer's due time came.
    TimersDue,
    /// The soonest timer is due within `tools.ring_ready_s`: get the speaker ready.
    TimerSoon,
    Shutdown,
}

impl App {
    /// Builds the devices for `parts.config` and the machine. Call inside the runtime.
    pub fn new(mut parts: Parts) -> anyhow::Result<App> {
        let devices = (parts.rebuild)(&parts.config)?;
        let volume = parts.store.load().volume.unwrap_or(100);
        let file = crate::timers::file::TimerFile::in_store(&parts.store);
        let (mut keeper, missed) = Keeper::start(file, parts.clock, parts.config.tools.max_timers);
        keeper.ready_ahead = parts.config.tools.ring_ready;
        // Rung by the first steps of the loop, like any other due timer.
        for due in missed {
            let _ = parts.events_tx.send(Event::TimerDue(due));
        }
        let machine = Machine::new(Settings::from_config(&parts.config)).with_volume(volume);
        devices.speaker.set_volume(machine.volume());
        Ok(App {
            last_state: machine.state(),
            machine,
            driver: Driver::new(devices, parts.button, parts.events_tx, parts.store),
            config: parts.config,
            pending: None,
            rebuild: parts.rebuild,
            reload: parts.reload,
            events: parts.events,
            reloads: parts.reloads,
            status: parts.status,
            shutdown: parts.shutdown,
            watchdog: systemd::watchdog_interval().map(tokio::time::interval),
            keeper,
        })
    }

    /// Runs until `shutdown` is cancelled, then ends the turn in progress. Returns an error
    /// only if the event channel breaks, which means a device actor died: systemd then
    /// restarts the daemon.
    pub async fn run(&mut self) -> anyhow::Result<()> {
        systemd::status(&status_line(self.last_state));
        self.status.send_replace(self.status_json());
        while self.step().await? {}
        self.finish();
        Ok(())
    }

    /// Waits for one input and handles it; false once shutdown is requested.
    async fn step(&mut self) -> anyhow::Result<bool> {
        // A timer nearer than `tools.ring_ready_s` (just set, or just restored) readies the
        // speaker at once, without a pass of its own.
        if self
            .keeper
            .ready_deadline()
            .is_some_and(|at| at <= tokio::time::Instant::now())
        {
            self.ready_speaker();
        }
        let due = self.keeper.deadline();
        let soon = self.keeper.ready_deadline();
        let input = tokio::select! {
            _ = self.shutdown.cancelled() => Input::Shutdown,
            event = self.events.recv() => Input::Event(event),
            Some(()) = self.reloads.recv() => Input::Reload,
            // The watchdog is pinged from the loop itself, so a hung loop stops the pings.
            _ = tick(&mut self.watchdog) => Input::Watchdog,
            // One sleep until the soonest timer (recomputed each pass: sets and cancels move it).
            _ = sleep_until(due) => Input::TimersDue,
            _ = sleep_until(soon) => Input::TimerSoon,
        };
        match input {
            Input::Shutdown => return Ok(false),
            Input::Event(None) => anyhow::bail!("the event channel closed: a device actor died"),
            Input::Event(Some(Event::ToolCall { call, lang, reply })) => {
                let answer = self.tool_call(call, &lang);
                // The caller may have given up waiting; the call was made either way.
                let _ = reply.try_send(answer);
            }
            Input::TimerSoon => self.ready_speaker(),
            Input::TimersDue => {
                for due in self.keeper.take_due() {
                    self.handle(Event::TimerDue(due));
                }
            }
            Input::Event(Some(mut event)) => {
                log_private(&event);
                log_failure(&event);
                self.driver.finished(&event);
                let reply = event.take_reply();
                let actions = self.machine.handle(event, now());
                if let Some(reply) = reply {
                    let ignored = actions.iter().find_map(|a| match a {
                        Action::Ignored(why) => Some(why.to_string()),
                        _ => None,
                    });
                    // The client may have gone; the command was handled either way.
                    let _ = reply.send(ignored.map_or(Ok(()), Err));
                }
                for action in actions {
                    self.driver.dispatch(action);
                }
            }
            Input::Reload => self.read_config(),
            Input::Watchdog => systemd::watchdog(),
        }

        // Devices are swapped only between turns, so no reply is cut or lost.
        if self.machine.state() == State::Idle
            && let Some(new) = self.pending.take()
        {
            self.apply(new);
        }
        let state = self.machine.state();
        if state != self.last_state {
            systemd::status(&status_line(state));
            if state == State::Idle {
                crate::audio::release_heap();
            }
            self.last_state = state;
        }
        self.status.send_replace(self.status_json());
        Ok(true)
    }

    /// The machine's status, and how many timers are pending.
    fn status_json(&self) -> String {
        let mut status = self.machine.status();
        status["timers"] = self.keeper.len().into();
        status.to_string()
    }

    /// An event the loop itself produced: to the machine, its actions to the devices.
    /// The soonest timer is due within `tools.ring_ready_s`: the machine readies the speaker.
    fn ready_speaker(&mut self) {
        if let Some(left) = self.keeper.readying() {
            self.handle(Event::TimerSoon { left });
        }
    }

    fn handle(&mut self, event: Event) {
        for action in self.machine.handle(event, now()) {
            self.driver.dispatch(action);
        }
    }

    /// A checked tool call: timers here, the volume through the machine (as `ctl volume`).
    fn tool_call(&mut self, call: crate::tools::Call, lang: &str) -> Result<String, String> {
        if let crate::tools::Call::SetVolume(change) = call {
            self.handle(Event::Volume(change));
            return Ok(format!("volume set to {} %", self.machine.volume()));
        }
        self.keeper
            .run(call, lang)
            .unwrap_or_else(|| Err("not a built-in tool".into()))
    }

    /// Shutdown: a turn cut short still gets its summary line (as cancelled), then everything
    /// in flight stops.
    fn finish(&mut self) {
        systemd::stopping();
        tracing::info!("shutting down");
        for summary in self.machine.finish_all(now()) {
            self.driver.dispatch(Action::LogTurn(summary));
        }
        self.driver.shutdown();
    }

    fn read_config(&mut self) {
        systemd::reloading();
        match (self.reload)() {
            Ok(new) => {
                let file = new
                    .source
                    .as_deref()
                    .unwrap_or("<embedded defaults>".as_ref());
                tracing::info!(config = %file.display(), "config re-read; applying it when idle");
                self.pending = Some(new);
            }
            Err(e) => tracing::error!("config reload failed, keeping the running config: {e:#}"),
        }
        systemd::ready();
    }

    fn apply(&mut self, new: Config) {
        if new.button != self.config.button || new.control != self.config.control {
            tracing::warn!("changes to [button] and [control] take effect at the next restart");
        }
        match (self.rebuild)(&new) {
            Ok(devices) => {
                devices.speaker.set_volume(self.machine.volume());
                self.driver.devices = devices;
            }
            Err(e) => {
                tracing::error!("cannot apply the new config, keeping the running one: {e:#}");
                return;
            }
        }
        self.machine.reconfigure(Settings::from_config(&new));
        self.keeper.set_max(new.tools.max_timers);
        self.keeper.ready_ahead = new.tools.ring_ready;
        self.config = new;
    }
}

/// Tokio's clock, which the tests pause and advance; outside them it is the monotonic clock.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

async fn tick(watchdog: &mut Option<tokio::time::Interval>) {
    match watchdog {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn status_line(state: State) -> String {
    format!(
        "{}; press the button or run `voicebox ctl tap`",
        state.as_str()
    )
}

/// A stage's failure, with its reason (a hook's stderr, a timeout, the server's words), once at
/// WARN: the turn summary that follows only names the class. The stages themselves log only
/// what happens on the way (a retry, an overrun), never the final failure again.
fn log_failure(event: &Event) {
    let (stage, turn, failure) = match event {
        Event::Captured {
            turn,
            result: Err(f),
        } => ("recording", turn, f),
        Event::Transcribed {
            turn,
            result: Err(f),
        } => ("speech recognition", turn, f),
        Event::Answered {
            turn,
            result: Err(f),
        } => ("the question", turn, f),
        _ => return,
    };
    // The message names what failed and what to do ("speech recognition failed: hook ...").
    if failure.class != crate::event::FailureClass::Cancelled {
        tracing::warn!(
            turn,
            stage,
            outcome = failure.class.as_str(),
            "{}",
            failure.message
        );
    }
}

/// Transcripts and replies are private: DEBUG only, never INFO.
fn log_private(event: &Event) {
    match event {
        // benches/idle.py times press → this line (press-to-first-captured-frame).
        Event::CaptureStarted { turn } => tracing::debug!(turn, "first frame captured"),
        Event::Transcribed {
            turn,
            result: Ok(t),
        } => {
            tracing::debug!(turn, transcript = %escaped(&t.text), "transcript")
        }
        Event::Answered {
            turn,
            result: Ok(a),
        } => {
            tracing::debug!(turn, reply = %escaped(&a.text), "reply text")
        }
        Event::Announce(text) => tracing::debug!(text = %text, "announcement received"),
        _ => {}
    }
}
