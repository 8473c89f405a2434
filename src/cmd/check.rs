//! `voicebox check`.

use crate::config::Config;

pub fn check(config: &Config) -> anyhow::Result<()> {
    let _ = config;
    anyhow::bail!("`voicebox check` is not implemented yet")
}
