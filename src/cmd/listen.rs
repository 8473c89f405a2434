//! `voicebox listen`.

use crate::config::Config;

pub fn listen(config: &Config, seconds: Option<f64>) -> anyhow::Result<()> {
    let _ = (config, seconds);
    anyhow::bail!("`voicebox listen` is not implemented yet")
}
