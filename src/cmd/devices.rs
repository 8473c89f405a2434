//! `voicebox devices`.

use crate::config::Config;

pub fn devices(config: &Config) -> anyhow::Result<()> {
    let _ = config;
    anyhow::bail!("`voicebox devices` is not implemented yet")
}
