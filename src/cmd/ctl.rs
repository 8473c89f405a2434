//! `voicebox ctl`.

use crate::config::Config;

pub fn ctl(config: &Config, command: &str) -> anyhow::Result<()> {
    let _ = (config, command);
    anyhow::bail!("`voicebox ctl` is not implemented yet")
}
