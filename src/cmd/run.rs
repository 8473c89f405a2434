//! `voicebox run`: the daemon.

use std::path::PathBuf;

use crate::config::Config;

pub fn run(config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let _ = (config, config_path);
    anyhow::bail!("`voicebox run` is not implemented yet")
}
