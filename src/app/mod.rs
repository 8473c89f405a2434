//! The one loop: `select!` over events, reloads, the watchdog and shutdown; feed the machine;
//! dispatch its actions to the device handles. `Instant::now()` is read here only.

mod dispatch;

use std::path::PathBuf;
use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use dispatch::Devices;

use crate::config::{self, Config};
use crate::event::{Event, EventReceiver, EventSender};
use crate::machine::{Action, Machine, Settings, State};
use crate::shutdown::Reloads;
use crate::systemd;

/// Everything the loop owns besides the machine.
pub struct Loop {
    pub devices: Devices,
    pub events_tx: EventSender,
    pub events: EventReceiver,
    pub reloads: Reloads,
    pub status: watch::Sender<String>,
    pub shutdown: CancellationToken,
    /// Re-read on SIGHUP.
    pub config_path: PathBuf,
    pub config: Config,
}

/// Runs until `shutdown` is cancelled. Returns an error only if the event channel breaks,
/// which means a device actor died: systemd then restarts the daemon.
pub async fn run(mut machine: Machine, mut l: Loop) -> anyhow::Result<()> {
    let mut watchdog = systemd::watchdog_interval().map(tokio::time::interval);
    let mut pending: Option<Config> = None;
    let mut last_state = machine.state();
    systemd::status(&status_line(last_state));
    l.status.send_replace(machine.status_json());

    loop {
        tokio::select! {
            _ = l.shutdown.cancelled() => break,
            event = l.events.recv() => {
                let Some(event) = event else {
                    anyhow::bail!("the event channel closed: a device actor died");
                };
                log_private(&event);
                let actions = machine.handle(event, Instant::now());
                for action in actions {
                    l.devices.dispatch(action, &l.events_tx);
                }
            }
            Some(()) = l.reloads.recv() => {
                systemd::reloading();
                // The file the daemon started with: if it is gone now, keep the running config
                // rather than fall back to the defaults.
                match config::load(&config::Source::Explicit(l.config_path.clone())) {
                    Ok(new) => {
                        tracing::info!(config = %l.config_path.display(), "config re-read; applying it when idle");
                        pending = Some(new);
                    }
                    Err(e) => tracing::error!("config reload failed, keeping the running config: {e}"),
                }
                systemd::ready();
            }
            // The watchdog is pinged from the loop itself, so a hung loop stops the pings.
            _ = tick(&mut watchdog) => systemd::watchdog(),
        }

        // Device handles are swapped only between turns, so no reply is cut or lost.
        if machine.state() == State::Idle
            && let Some(new) = pending.take()
        {
            apply(&mut machine, &mut l, new);
        }
        let state = machine.state();
        if state != last_state {
            systemd::status(&status_line(state));
            if state == State::Idle {
                crate::audio::release_heap();
            }
            last_state = state;
        }
        l.status.send_replace(machine.status_json());
    }

    systemd::stopping();
    tracing::info!("shutting down");
    // A turn cut short by shutdown still gets its summary line (as cancelled).
    for summary in machine.finish_all(Instant::now()) {
        l.devices.dispatch(Action::LogTurn(summary), &l.events_tx);
    }
    l.devices.shutdown();
    Ok(())
}

fn apply(machine: &mut Machine, l: &mut Loop, new: Config) {
    if new.button != l.config.button || new.control != l.config.control {
        tracing::warn!("changes to [button] and [control] take effect at the next restart");
    }
    if let Err(e) = l.devices.reconfigure(&new, &l.events_tx) {
        tracing::error!("cannot apply the new config, keeping the running one: {e:#}");
        return;
    }
    machine.reconfigure(Settings::from_config(&new));
    l.config = new;
}

async fn tick(watchdog: &mut Option<tokio::time::Interval>) {
    match watchdog {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn status_line(state: State) -> String {
    format!(
        "{}; press the button or run `voicebox ctl tap`",
        state.as_str()
    )
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
            tracing::debug!(turn, transcript = %t.text, "transcript")
        }
        Event::Answered {
            turn,
            result: Ok(a),
        } => {
            tracing::debug!(turn, reply = %a.text, "reply text")
        }
        _ => {}
    }
}
