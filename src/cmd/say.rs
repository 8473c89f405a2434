//! `voicebox say TEXT`: speak TEXT through the TTS hook and the speaker, sentence by sentence.

use anyhow::bail;

use crate::audio::earcons::Earcon;
use crate::config::Config;
use crate::event::SpeechReport;
use crate::speech::pipeline::Speaker;
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
            "the TTS hook failed for every sentence (see the log above); check tts.command with `voicebox check`"
        );
    }
    Ok(())
}

/// Speaks `text` at the volume the daemon keeps, and waits for the report. When every sentence
/// failed, the error earcon says so by sound, as the daemon does: the listener is never left in
/// silence.
pub(super) fn speak(config: &Config, text: &str) -> anyhow::Result<SpeechReport> {
    let speaker = Speaker::spawn(config, None)?;
    speaker.set_volume(Store::from_env().load().volume.unwrap_or(100));
    let report = speaker.speak_and_wait(text);
    if report.every_sentence_failed() {
        speaker.earcon_and_wait(Earcon::Error);
    }
    Ok(report)
}
