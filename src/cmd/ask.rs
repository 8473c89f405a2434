//! `voicebox ask TEXT`: one turn from text; the reply goes to stdout.

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ollama::Client;

pub fn ask(config: &Config, text: &str, speak: bool) -> anyhow::Result<()> {
    let client = Client::new(&config.ollama).context("cannot set up the Ollama client")?;
    // Ctrl-C ends the process; nothing else cancels a one-shot question.
    let cancel = CancellationToken::new();
    let answer = client
        .ask(&[], text, &cancel)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    println!("{}", answer.text);
    if speak {
        // speech-out slice wires speaking here
    }
    Ok(())
}
