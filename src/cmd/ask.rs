//! `voicebox ask TEXT`: one turn from text; the reply goes to stdout, then to the speaker.

use crate::cancel;
use crate::config::Config;
use crate::ollama::Client;

pub fn ask(config: &Config, text: &str, speak: bool) -> anyhow::Result<()> {
    // Ctrl-C ends the process; nothing else cancels a one-shot question.
    let answer = Client::new(&config.ollama).ask(&[], text, &cancel::Token::new())?;
    // The model's text, so no escape sequence of its own reaches the terminal.
    println!("{}", crate::printable::strip(&answer.text));
    if speak {
        // The reply is printed whole first (it arrived whole); speech then goes sentence by
        // sentence, the first playing while the next is synthesized.
        let report = super::say::speak(config, &answer.text)?;
        if let Some(e) = report.device_error {
            anyhow::bail!("could not play the reply: {e}; use --no-speak to print only");
        }
        if report.every_sentence_failed() {
            anyhow::bail!(
                "the TTS hook failed for every sentence; check tts.command with `voicebox check`"
            );
        }
    }
    Ok(())
}
