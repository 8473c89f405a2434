//! `voicebox say`.

use crate::config::Config;

pub fn say(config: &Config, text: &str) -> anyhow::Result<()> {
    let _ = (config, text);
    anyhow::bail!("`voicebox say` is not implemented yet")
}
