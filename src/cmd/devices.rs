//! `voicebox devices`: the audio inputs and outputs, with the defaults and the configured ones marked.

use crate::audio::devices::{self, DeviceInfo};
use crate::config::Config;

pub fn devices(config: &Config) -> anyhow::Result<()> {
    let (inputs, outputs) = devices::list()?;
    print!(
        "{}",
        render(
            "Input devices (audio.input_device)",
            &inputs,
            &config.audio.input_device
        )
    );
    println!();
    print!(
        "{}",
        render(
            "Output devices (audio.output_device)",
            &outputs,
            &config.audio.output_device
        )
    );
    Ok(())
}

/// `*` marks the system default, `>` the device the config selects.
fn render(title: &str, list: &[DeviceInfo], configured: &str) -> String {
    let mut out = format!("{title}:\n");
    if list.is_empty() {
        out.push_str("  (none found; is ALSA configured? try `arecord -L` / `aplay -L`)\n");
    }
    for d in list {
        let mark = match (d.id == configured, d.is_default) {
            (true, true) => ">*",
            (true, false) => "> ",
            (false, true) => " *",
            (false, false) => "  ",
        };
        let desc = if d.description.is_empty() || d.description == d.id {
            String::new()
        } else {
            format!("  {}", d.description)
        };
        out.push_str(&format!("{mark} {}{desc}\n", d.id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_default_and_configured() {
        let list = vec![
            DeviceInfo {
                id: "default".into(),
                description: "Default Audio Device".into(),
                is_default: true,
            },
            DeviceInfo {
                id: "hw:CARD=USB,DEV=0".into(),
                description: "USB Mic".into(),
                is_default: false,
            },
        ];
        let out = render("Inputs", &list, "hw:CARD=USB,DEV=0");
        assert_eq!(
            out,
            "Inputs:\n * default  Default Audio Device\n>  hw:CARD=USB,DEV=0  USB Mic\n"
        );
        assert!(render("X", &[], "default").contains("none found"));
    }
}
