//! `voicebox run`: the daemon and its composition root. Builds the real devices, serves the
//! control socket, runs the loop.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::app::{App, Devices, Parts};
use crate::audio::capture::Capture;
use crate::bus::EventSender;
use crate::button::Button;
use crate::config::{self, Config};
use crate::ollama::Client;
use crate::speaker::pipeline::Speaker;
use crate::stt::Stt;
use crate::tools::daemon::ToLoop;
use crate::{control, shutdown, state, systemd};

pub fn run(config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    limit_arenas();
    // One thread: the loop only routes events; blocking work runs on actor and worker threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(daemon(config, config_path))
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core), and an
/// arena's free pages stay resident: hooks, HTTP and audio run on short-lived worker threads,
/// so without a cap idle RSS grows with the number of arenas ever touched. Two suffice here.
fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists; mallopt only tunes the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // A fixed threshold turns off glibc's sliding one, which after the first large free
        // (a recording, a reply clip) keeps later large buffers in the heap, where they pin
        // memory at rest. Fixed, every buffer over 128 KiB is its own mapping, unmapped on free.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

async fn daemon(config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let reloads = shutdown::listen(token.clone()).context("cannot install signal handlers")?;
    let (status_tx, status_rx) = watch::channel(String::new());
    let (events_tx, events) = mpsc::unbounded_channel();
    let store = state::Store::from_env();
    match store.file() {
        Some(file) => tracing::debug!(file = %file.display(), "state file"),
        None => tracing::warn!(
            "no state directory ($STATE_DIRECTORY, $XDG_STATE_HOME and $HOME are unset): the volume is not kept across restarts"
        ),
    }
    let button = match Button::spawn(&config.button, events_tx.clone()) {
        Ok(b) => Some(b),
        Err(why) => {
            tracing::warn!("GPIO button unavailable, using the control socket only: {why}");
            None
        }
    };
    let mut app = App::new(Parts {
        rebuild: {
            let events = events_tx.clone();
            Box::new(move |config: &Config| devices(config, &events))
        },
        // The file the daemon started with: if it is gone now, keep the running config rather
        // than fall back to the defaults.
        reload: {
            let source = config::Source::Explicit(config_path);
            Box::new(move || Ok(config::load(&source)?))
        },
        config: config.clone(),
        button,
        events_tx: events_tx.clone(),
        events,
        reloads,
        status: status_tx,
        shutdown: token.clone(),
        store,
        clock: crate::app::Clock::system(),
    })?;
    let socket = config.control.socket.clone();
    let listener = control::bind(&socket)?;
    let control = {
        let (events, token) = (events_tx.clone(), token.clone());
        tokio::spawn(async move {
            if let Err(e) = control::serve_on(listener, &socket, events, status_rx, token).await {
                tracing::error!("control socket failed: {e:#}");
            }
        })
    };

    if config.ollama.warm_up {
        // In the background: a cold model load must not delay readiness or the first press.
        let client = Client::new(&config.ollama);
        std::thread::Builder::new()
            .name("warm-up".into())
            .spawn(move || match client.warm_up() {
                Ok(()) => tracing::info!("model warmed up"),
                Err(f) => {
                    tracing::warn!("model warm-up failed (the first question may be slow): {f}")
                }
            })
            .context("cannot start the warm-up thread")?;
    }

    tracing::info!(
        url = %config.ollama.url,
        model = %config.ollama.model,
        socket = %config.control.socket.display(),
        "voicebox ready"
    );
    systemd::ready();
    let result = app.run().await;
    // Stops the device actors before the control socket goes.
    drop(app);
    token.cancel();
    // The control task removes its socket file; bounded so a stuck client cannot hold us.
    let _ = tokio::time::timeout(Duration::from_secs(1), control).await;
    result
}

/// The real devices for `config`, at start-up and on every applied reload.
pub fn devices(config: &Config, events: &EventSender) -> anyhow::Result<Devices> {
    Ok(Devices {
        microphone: Box::new(Capture::spawn(&config.audio, events.clone())),
        speaker: Box::new(Speaker::spawn(config, Some(events.clone()))?),
        stt: Box::new(Stt::new(&config.stt)),
        // Built-in tool calls go to the loop, which keeps the timers and the volume; the MCP
        // servers' tools beside them. The servers connect in the background; a reload replaces
        // them (the old set is stopped when the old client goes).
        ollama: Box::new(Client::with_tools(
            config,
            std::sync::Arc::new(crate::mcp::WithMcp::new(
                std::sync::Arc::new(ToLoop::new(events.clone(), config.tools.call_timeout)),
                crate::mcp::Mcp::start(crate::mcp::in_use(config), config.tools.call_timeout),
            )),
        )),
    })
}
