//! `voicebox listen`: record, drop silence locally, transcribe, print the transcript. With a
//! Wyoming server the recording is sent while it is made, as in the daemon.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::audio::capture::{self, StopWhen};
use crate::cancel;
use crate::config::Config;
use crate::stt::Stt;

pub fn listen(config: &Config, seconds: Option<f64>) -> anyhow::Result<()> {
    let audio = &config.audio;
    let stop = match seconds {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            bail!("--seconds {s} is not a positive number of seconds")
        }
        Some(s) => StopWhen::After(Duration::from_secs_f64(s)),
        None if std::io::stdin().is_terminal() => {
            eprintln!(
                "Listening on \"{}\"; press Enter to stop (at most {} s).",
                audio.input_device,
                audio.max_record.as_secs()
            );
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                let _ = tx.send(());
            });
            StopWhen::Signal(rx)
        }
        None => StopWhen::After(audio.max_record),
    };
    let stt = Stt::new(&config.stt);
    // Dropped unclaimed (silence, an error) it hangs up.
    let (feed, live) = stt.live().unzip();
    let rec = capture::record(audio, stop, feed)?;
    if rec.overruns > 0 {
        tracing::warn!(overruns = rec.overruns, "audio was lost while recording");
    }
    if !rec.has_speech {
        tracing::info!(record_ms = rec.record_ms, "no speech heard");
        bail!(
            "no speech heard in {} ms of audio from \"{}\" (nothing above audio.speech_threshold = {}); nothing was sent to speech recognition",
            rec.record_ms,
            audio.input_device,
            audio.speech_threshold
        );
    }
    let cancel = cancel::Token::new();
    let t = match live {
        Some(live) => stt.finish(live, &cancel),
        None => stt.transcribe(&rec.clip, &cancel),
    }
    .context("transcribing")?;
    tracing::info!(
        record_ms = rec.record_ms,
        stt_ms = t.stt_ms,
        transcript_chars = t.text.chars().count(),
        "transcribed"
    );
    println!("{}", crate::printable::strip(&t.text));
    Ok(())
}
