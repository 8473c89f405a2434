//! `voicebox ask`.

use crate::config::Config;

pub fn ask(config: &Config, text: &str, speak: bool) -> anyhow::Result<()> {
    let _ = (config, text, speak);
    anyhow::bail!("`voicebox ask` is not implemented yet")
}
