//! `voicebox say TEXT`: speak TEXT through the TTS hook and the speaker, sentence by sentence.

use anyhow::bail;

use crate::config::Config;
use crate::speech::pipeline::Speaker;

pub fn say(config: &Config, text: &str) -> anyhow::Result<()> {
    let speaker = Speaker::spawn(config, None)?;
    let report = speaker.speak_and_wait(text);
    if let Some(e) = report.device_error {
        bail!("could not play audio: {e}");
    }
    if report.sentences == 0 {
        bail!("nothing to say: the text is empty once markdown, code and emoji are removed");
    }
    if report.failed == report.sentences {
        bail!(
            "the TTS hook failed for every sentence (see the log above); check tts.command with `voicebox check`"
        );
    }
    Ok(())
}
