//! `voicebox ask TEXT`: one turn from text. The reply goes to stdout as it arrives and to the
//! speaker, which speaks a streamed reply's sentences as they complete.

use std::io::Write;
use std::sync::Arc;

use crate::config::Config;
use crate::ollama::{Client, Question};
use crate::speaker::pipeline;
use crate::text::sentences::Rules;
use crate::{cancel, printable};

pub fn ask(config: &Config, text: &str, speak: bool) -> anyhow::Result<()> {
    let speaker = speak.then(|| super::say::speaker(config)).transpose()?;
    let report = speaker.as_ref().map(|s| s.speak_reported(0));
    let mut stdout = std::io::stdout();
    let mut streamed = false;
    let mut piece = |text: &str| {
        streamed = true;
        // The model's text: no escape sequence of its own reaches the terminal. A closed
        // stdout (`| head`) must not stop the answer from being spoken.
        let shown = printable::strip(text);
        let _ = write!(stdout, "{shown}").and_then(|()| stdout.flush());
        if let Some(s) = &speaker {
            s.speak_part(0, text);
        }
    };
    // The question's language, as the daemon reads it: the time context and a timer's words.
    let lang = match &config.stt.language {
        Some(l) => l.clone(),
        None => Rules::new(&config.tts).languages.of(text),
    };
    // Tool calls go to the running daemon, which keeps timers and the volume.
    let to_daemon = Arc::new(super::handed::ToDaemon {
        socket: config.control.socket.clone(),
        timeout: config.tools.call_timeout,
    });
    let question = Question {
        history: &[],
        text,
        lang: &lang,
        now: Some(jiff::Zoned::now()),
    };
    // Ctrl-C ends the process; nothing else cancels a one-shot question.
    let result = Client::with_tools(config, to_daemon).ask_question(
        &question,
        &cancel::Token::new(),
        Some(&mut piece),
    );
    let tail = match &result {
        Ok(answer) if !streamed => {
            println!("{}", printable::strip(&answer.text));
            if let Some(s) = &speaker {
                s.speak(0, answer.text.as_str());
            }
            None
        }
        Ok(_) => {
            println!();
            None
        }
        // Part of the reply was printed and spoken: say that the rest is missing.
        Err(_) if streamed => {
            println!();
            // In the language of the question, as the daemon says it.
            let message = config.messages.get("cut_off", &lang, &config.tts.language);
            Some(message.to_string())
        }
        Err(_) => None,
    };
    let (Some(speaker), Some(report)) = (speaker, report) else {
        return Ok(result.map(drop)?);
    };
    speaker.end_speech(0, tail);
    let report = super::say::heard(&speaker, pipeline::wait(&report));
    result?;
    if let Some(e) = report.device_error {
        anyhow::bail!("could not play the reply: {e}; use --no-speak to print only");
    }
    if report.every_sentence_failed() {
        let (what, key) = super::say::tts_names(config);
        anyhow::bail!("{what} failed for every sentence; check {key} with `voicebox check`");
    }
    Ok(())
}
