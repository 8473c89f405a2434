//! `voicebox say TEXT`: speak TEXT through the TTS hook and the speaker, sentence by sentence.

use anyhow::bail;

use crate::audio::earcons::Earcon;
use crate::config::Config;
use crate::event::SpeechReport;
use crate::speaker::pipeline::Speaker;
use crate::state::Store;

pub fn say(config: &Config, text: &str) -> anyhow::Result<()> {
    let report = speak(config, text)?;
    if let Some(e) = report.device_error {
        bail!("could not play audio: {e}");
    }
    if report.sentences == 0 {
        bail!("nothing to say: the text is empty once markdown, code and emoji are removed");
    }
    if report.every_sentence_failed() {
        bail!(
            "{} failed for every sentence (see the log above); check {} with `voicebox check`",
            tts_names(config).0,
            tts_names(config).1
        );
    }
    Ok(())
}

/// What speaks, and the key that configures it: the TTS hook (`tts.command`) or server
/// (`tts.url`).
pub(super) fn tts_names(config: &Config) -> (&'static str, &'static str) {
    if config.tts.url.is_some() {
        ("the TTS server", "tts.url")
    } else {
        ("the TTS hook", "tts.command")
    }
}

/// Speaks `text` and waits for the report. When every sentence failed, the error earcon says so
/// by sound, as the daemon does.
fn speak(config: &Config, text: &str) -> anyhow::Result<SpeechReport> {
    let speaker = speaker(config)?;
    Ok(heard(&speaker, speaker.speak_and_wait(text)))
}

/// A speaker for a command, at the volume the daemon keeps.
pub(super) fn speaker(config: &Config) -> anyhow::Result<Speaker> {
    let speaker = Speaker::spawn(config, None)?;
    speaker.set_volume(Store::from_env().load().volume.unwrap_or(100));
    Ok(speaker)
}

/// Plays the error earcon when every sentence failed, so nobody is left in silence.
pub(super) fn heard(speaker: &Speaker, report: SpeechReport) -> SpeechReport {
    if report.every_sentence_failed() {
        speaker.earcon_and_wait(Earcon::Error);
    }
    report
}
