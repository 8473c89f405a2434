//! Finding audio devices: the ALSA host, lookup by configured name, the list `voicebox devices`
//! prints, and the one error type every device opener returns.
//!
//! Capture and playback both resolve `audio.*_device` here, so "what does this name mean" has one
//! answer. `host` is the only door to ALSA: it installs the alsa-lib log handler first, and
//! reports a broken ALSA configuration as an error (cpal's `default_host` panics on one).

use cpal::traits::{DeviceTrait, HostTrait};

use super::alsa_log;

/// Which side of the sound card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// Why a device cannot be used. Each message is one line that ends with what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "ALSA cannot be used: {cause}; fix the ALSA configuration (/etc/asound.conf, ~/.asoundrc, $ALSA_CONFIG_PATH) until `aplay -L` runs cleanly"
    )]
    NoAlsa { cause: String },
    #[error(
        "{direction} device \"{name}\" was not found; run `voicebox devices` to list the {direction}s and set audio.{direction}_device"
    )]
    NotFound { direction: Direction, name: String },
    #[error(
        "cannot open {direction} device \"{name}\": {cause}; run `voicebox devices` to list the {direction}s and set audio.{direction}_device"
    )]
    Open {
        direction: Direction,
        name: String,
        cause: String,
    },
    #[error(
        "input device \"{name}\" offers only {format}, which voicebox cannot read; run `voicebox devices` and set audio.input_device to another one"
    )]
    Format { name: String, format: String },
    #[error(
        "input device \"{name}\" opened but delivered no audio for {seconds} s; check it with `voicebox devices` and `arecord -D {name}`"
    )]
    Silent { name: String, seconds: u64 },
}

impl DeviceError {
    pub fn open(direction: Direction, name: &str, cause: impl std::fmt::Display) -> Self {
        DeviceError::Open {
            direction,
            name: name.to_string(),
            cause: cause.to_string(),
        }
    }

    /// Whether trying again shortly may succeed: a busy device frees up, a USB microphone
    /// finishes enumerating. A broken configuration or an unreadable format stays broken.
    pub fn may_pass(&self) -> bool {
        matches!(
            self,
            DeviceError::NotFound { .. } | DeviceError::Open { .. }
        )
    }
}

/// One audio device for `voicebox devices`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// What `audio.input_device` / `audio.output_device` accept.
    pub id: String,
    pub description: String,
    pub is_default: bool,
}

/// The ALSA host, with alsa-lib's messages routed to the log.
pub fn host() -> Result<cpal::Host, DeviceError> {
    alsa_log::install();
    cpal::host_from_id(cpal::HostId::Alsa).map_err(|e| DeviceError::NoAlsa {
        cause: e.to_string(),
    })
}

/// The device a configured name means: "default" is the system default; other names match a
/// device id (`hw:CARD=...`) or its description.
pub fn find(direction: Direction, name: &str) -> Result<cpal::Device, DeviceError> {
    let host = host()?;
    let found = if name == "default" {
        match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
    } else {
        let all = match direction {
            Direction::Input => host.input_devices(),
            Direction::Output => host.output_devices(),
        }
        .map_err(|e| DeviceError::open(direction, name, format!("cannot list devices: {e}")))?;
        all.into_iter().find(|d| {
            d.id().is_ok_and(|id| id.id() == name)
                || d.description().is_ok_and(|desc| desc.name() == name)
        })
    };
    found.ok_or_else(|| DeviceError::NotFound {
        direction,
        name: name.to_string(),
    })
}

/// Inputs and outputs as ALSA lists them, "default" first.
pub fn list() -> Result<(Vec<DeviceInfo>, Vec<DeviceInfo>), DeviceError> {
    let host = host()?;
    let inputs = collect(
        host.default_input_device(),
        host.input_devices().ok().map(Iterator::collect),
    );
    let outputs = collect(
        host.default_output_device(),
        host.output_devices().ok().map(Iterator::collect),
    );
    Ok((inputs, outputs))
}

/// The default device first, then every other one once.
fn collect(default: Option<cpal::Device>, all: Option<Vec<cpal::Device>>) -> Vec<DeviceInfo> {
    let default_id = default.as_ref().and_then(id);
    let info = |d: &cpal::Device| {
        let id = id(d).unwrap_or_default();
        DeviceInfo {
            is_default: default_id.as_deref() == Some(id.as_str()),
            description: d
                .description()
                .map(|x| x.name().to_string())
                .unwrap_or_default(),
            id,
        }
    };
    let mut out: Vec<DeviceInfo> = default.iter().map(info).collect();
    for d in all.unwrap_or_default() {
        let i = info(&d);
        if !out.iter().any(|o| o.id == i.id) {
            out.push(i);
        }
    }
    out
}

fn id(d: &cpal::Device) -> Option<String> {
    d.id().ok().map(|i| i.id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_device_and_the_key_to_set() {
        let e = DeviceError::NotFound {
            direction: Direction::Output,
            name: "usb".into(),
        };
        assert_eq!(
            e.to_string(),
            "output device \"usb\" was not found; run `voicebox devices` to list the outputs and set audio.output_device"
        );
        let e = DeviceError::open(Direction::Input, "hw:1", "Device or resource busy");
        assert!(e.to_string().contains("\"hw:1\": Device or resource busy"));
        assert!(e.to_string().ends_with("audio.input_device"));
    }

    #[test]
    fn only_a_missing_or_busy_device_is_worth_retrying() {
        let busy = DeviceError::open(Direction::Input, "hw:1", "busy");
        let gone = DeviceError::NotFound {
            direction: Direction::Input,
            name: "usb".into(),
        };
        let format = DeviceError::Format {
            name: "x".into(),
            format: "f64".into(),
        };
        let alsa = DeviceError::NoAlsa {
            cause: "bad config".into(),
        };
        assert!(busy.may_pass() && gone.may_pass());
        assert!(!format.may_pass() && !alsa.may_pass());
    }
}
