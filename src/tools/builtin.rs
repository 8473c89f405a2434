//! The built-in tools: their definitions in Ollama's `tools` format, and `check`, which turns
//! a model's call (a name and a JSON object) into a `Call` or an error the model can act on.
//!
//! Models are not trusted: a call may name a tool that does not exist, send "180" for 180,
//! -5 or 10^12 seconds, a 1 MB label or one full of control characters. Every such call is
//! refused here with a short English sentence saying what was wrong (the model reads it, and
//! usually tries again or explains); nothing out of range reaches an `Executor`.

use serde_json::{Map, Value, json};

use super::Call;
use crate::event::VolumeChange;

/// The longest timer: a day. Later times are alarms.
pub const MAX_TIMER_SECONDS: u64 = 86_400;
/// A label is what the box says when the timer rings: a few words, not a speech.
pub const MAX_LABEL_CHARS: usize = 60;
/// How much of a model's text an error quotes back (a tool name, a wrong value).
const QUOTE_CHARS: usize = 40;

/// The names of the built-in tools, in the order they are offered.
pub const NAMES: [&str; 5] = [
    "set_timer",
    "set_alarm",
    "list_timers",
    "cancel_timer",
    "set_volume",
];

/// The built-in tools in Ollama's `tools` format (OpenAI-style function schemas), for the
/// `tools` field of `/api/chat`. Descriptions are English: small models follow English
/// schemas best whatever the language of the question, and answer in the question's language.
pub fn definitions() -> Vec<Value> {
    let label = json!({
        "type": "string",
        "description": format!("A few words said when it rings, in the user's language, e.g. \"tea\" or \"关火\" (at most {MAX_LABEL_CHARS} characters)")
    });
    vec![
        function(
            "set_timer",
            "Start a countdown timer that rings after the given number of seconds (\"in 3 minutes\", \"三分钟后\"). For a clock time use set_alarm.",
            json!({
                "seconds": {"type": "integer", "minimum": 1, "maximum": MAX_TIMER_SECONDS, "description": "Seconds from now until it rings, 1 to 86400"},
                "label": label,
            }),
            &["seconds"],
        ),
        function(
            "set_alarm",
            "Set an alarm or a reminder at a local clock time (\"at 7:30\", \"明天早上七点\"); a reminder is an alarm with a label. Without a date it is the next time the clock shows that time.",
            json!({
                "time": {"type": "string", "description": "Local time, 24-hour HH:MM, e.g. \"07:30\" or \"19:05\""},
                "date": {"type": "string", "description": "Local date YYYY-MM-DD, if not the next occurrence of time"},
                "label": label,
            }),
            &["time"],
        ),
        function(
            "list_timers",
            "List the timers and alarms that are set, with the time left on each.",
            json!({}),
            &[],
        ),
        function(
            "cancel_timer",
            "Cancel a timer or alarm: the one with this label, the only one, or all of them.",
            json!({
                "label": {"type": "string", "description": "The label of the timer to cancel"},
                "all": {"type": "boolean", "description": "true to cancel every timer and alarm"},
            }),
            &[],
        ),
        function(
            "set_volume",
            "Change the speaker volume: to a percent, or one step up or down. Give exactly one of percent and change.",
            json!({
                "percent": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Volume from 0 to 100"},
                "change": {"type": "string", "enum": ["up", "down"], "description": "One step louder or quieter"},
            }),
            &[],
        ),
    ]
}

fn function(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
            },
        },
    })
}

/// Checks a call the model made: the tool exists, every argument is known, of the right JSON
/// type and in range. `Err` is the sentence sent back to the model as the tool's result.
pub fn check(name: &str, arguments: &Value) -> Result<Call, String> {
    let empty = Map::new();
    let args = match arguments {
        Value::Object(m) => m,
        // Some servers send no arguments for a tool that takes none.
        Value::Null => &empty,
        other => {
            return Err(format!(
                "the arguments of {} must be a JSON object, not {}",
                quote(name),
                kind(other)
            ));
        }
    };
    let a = Args { tool: name, args };
    match name {
        "set_timer" => {
            a.only(&["seconds", "label"])?;
            let seconds = a.integer("seconds", 1, MAX_TIMER_SECONDS)?.ok_or_else(|| {
                "set_timer needs seconds (1 to 86400); for a clock time use set_alarm".to_string()
            })?;
            Ok(Call::SetTimer {
                // In range of u32: at most 86400.
                seconds: u32::try_from(seconds).unwrap_or(u32::MAX),
                label: a.label()?,
            })
        }
        "set_alarm" => {
            a.only(&["time", "date", "label"])?;
            let time = a
                .string("time")?
                .ok_or("set_alarm needs time as \"HH:MM\" (24-hour local time)")?;
            let (hour, minute) = clock_time(time)?;
            let date = match a.string("date")? {
                None => None,
                Some(d) => Some(date(d)?),
            };
            Ok(Call::SetAlarm {
                hour,
                minute,
                date,
                label: a.label()?,
            })
        }
        "list_timers" => {
            a.only(&[])?;
            Ok(Call::ListTimers)
        }
        "cancel_timer" => {
            a.only(&["label", "all"])?;
            let all = a.boolean("all")?.unwrap_or(false);
            let label = a.label()?;
            Ok(Call::CancelTimer { label, all })
        }
        "set_volume" => {
            a.only(&["percent", "change"])?;
            let percent = a.integer("percent", 0, 100)?;
            let change = match a.string("change")? {
                None => None,
                Some("up") => Some(VolumeChange::Up),
                Some("down") => Some(VolumeChange::Down),
                Some(other) => {
                    return Err(format!(
                        "set_volume: change must be \"up\" or \"down\", not {}",
                        quote(other)
                    ));
                }
            };
            match (percent, change) {
                // At most 100: checked above.
                (Some(p), None) => Ok(Call::SetVolume(VolumeChange::Set(
                    u8::try_from(p).unwrap_or(100),
                ))),
                (None, Some(c)) => Ok(Call::SetVolume(c)),
                (Some(_), Some(_)) => {
                    Err("set_volume takes percent or change, not both".to_string())
                }
                (None, None) => Err(
                    "set_volume needs percent (0 to 100) or change (\"up\" or \"down\")"
                        .to_string(),
                ),
            }
        }
        _ => Err(format!(
            "there is no tool named {}; the tools are {}",
            quote(name),
            NAMES.join(", ")
        )),
    }
}

impl Call {
    /// The tool's name, as the model calls it.
    pub fn name(&self) -> &'static str {
        match self {
            Call::SetTimer { .. } => "set_timer",
            Call::SetAlarm { .. } => "set_alarm",
            Call::ListTimers => "list_timers",
            Call::CancelTimer { .. } => "cancel_timer",
            Call::SetVolume(_) => "set_volume",
        }
    }

    /// The checked arguments as the model would write them: `check(call.name(),
    /// &call.arguments())` gives the call back (how `voicebox ask` hands a call to the daemon).
    pub fn arguments(&self) -> Value {
        let mut m = Map::new();
        let mut label = |label: &Option<String>| {
            if let Some(l) = label {
                m.insert("label".into(), json!(l));
            }
        };
        match self {
            Call::SetTimer { seconds, label: l } => {
                label(l);
                m.insert("seconds".into(), json!(seconds));
            }
            Call::SetAlarm {
                hour,
                minute,
                date,
                label: l,
            } => {
                label(l);
                m.insert("time".into(), json!(format!("{hour:02}:{minute:02}")));
                if let Some(d) = date {
                    m.insert("date".into(), json!(d.to_string()));
                }
            }
            Call::ListTimers => {}
            Call::CancelTimer { label: l, all } => {
                label(l);
                if *all {
                    m.insert("all".into(), json!(true));
                }
            }
            Call::SetVolume(VolumeChange::Set(p)) => {
                m.insert("percent".into(), json!(p));
            }
            Call::SetVolume(VolumeChange::Up) => {
                m.insert("change".into(), json!("up"));
            }
            Call::SetVolume(VolumeChange::Down) => {
                m.insert("change".into(), json!("down"));
            }
        }
        Value::Object(m)
    }
}

/// One call's arguments, read strictly.
struct Args<'a> {
    tool: &'a str,
    args: &'a Map<String, Value>,
}

impl Args<'_> {
    /// Refuses any argument not in `known`.
    fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.args.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) if known.is_empty() => Err(format!(
                "{} takes no arguments, not {}",
                self.tool,
                quote(k)
            )),
            Some(k) => Err(format!(
                "{} has no argument {}; it takes {}",
                self.tool,
                quote(k),
                known.join(", ")
            )),
        }
    }

    /// A whole number in `min..=max`; a number written as a string is refused (the schema says
    /// integer, and "180" from a model that ignores it is a sign of a confused call).
    fn integer(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
        let Some(v) = self.present(key) else {
            return Ok(None);
        };
        let tool = self.tool;
        let range = || format!("{tool}: {key} must be from {min} to {max}");
        let Value::Number(n) = v else {
            return Err(format!(
                "{tool}: {key} must be a number from {min} to {max}, not {}",
                kind(v)
            ));
        };
        if let Some(u) = n.as_u64() {
            return if (min..=max).contains(&u) {
                Ok(Some(u))
            } else {
                Err(format!("{}, not {u}", range()))
            };
        }
        if n.as_i64().is_some() {
            return Err(format!("{}, not {n}", range()));
        }
        // A float: 180.0 is 180; 1.5 or 1e300 is not a whole number in range.
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => Ok(Some(f as u64)),
            Some(f) if f.fract() == 0.0 => Err(format!("{}, not {n}", range())),
            _ => Err(format!("{tool}: {key} must be a whole number, not {n}")),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&str>, String> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(format!(
                "{}: {key} must be a string, not {}",
                self.tool,
                kind(v)
            )),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, String> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(format!(
                "{}: {key} must be true or false, not {}",
                self.tool,
                kind(v)
            )),
        }
    }

    /// The label without control characters and surrounding spaces; an empty one is none.
    fn label(&self) -> Result<Option<String>, String> {
        let Some(raw) = self.string("label")? else {
            return Ok(None);
        };
        let clean: String = raw.chars().filter(|c| !c.is_control()).collect();
        let clean = clean.trim();
        let n = clean.chars().count();
        if n > MAX_LABEL_CHARS {
            return Err(format!(
                "{}: label must be at most {MAX_LABEL_CHARS} characters, not {n}; say it in a few words",
                self.tool
            ));
        }
        Ok((!clean.is_empty()).then(|| clean.to_string()))
    }

    /// A key given as `null` counts as absent (some models fill every optional key so).
    fn present(&self, key: &str) -> Option<&Value> {
        self.args.get(key).filter(|v| !v.is_null())
    }
}

/// "HH:MM" (or "H:MM"), 24-hour.
fn clock_time(text: &str) -> Result<(u8, u8), String> {
    let bad = || {
        format!(
            "set_alarm: time must be 24-hour \"HH:MM\" such as \"07:30\", not {}",
            quote(text)
        )
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u8>().ok())
            .flatten()
    };
    match (digits(h, 1..=2), digits(m, 2..=2)) {
        (Some(h), Some(m)) if h < 24 && m < 60 => Ok((h, m)),
        _ => Err(bad()),
    }
}

fn date(text: &str) -> Result<jiff::civil::Date, String> {
    let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    ok.then(|| text.parse::<jiff::civil::Date>().ok())
        .flatten()
        .ok_or_else(|| {
            format!(
                "set_alarm: date must be a real date \"YYYY-MM-DD\", not {}",
                quote(text)
            )
        })
}

/// A model's text quoted back to it, bounded and on one line.
fn quote(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(QUOTE_CHARS)
        .collect();
    if text
        .chars()
        .filter(|c| !c.is_control())
        .nth(QUOTE_CHARS)
        .is_some()
    {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> jiff::civil::Date {
        s.parse().unwrap()
    }

    #[test]
    fn a_call_written_back_checks_to_itself() {
        let calls = [
            Call::SetTimer {
                seconds: 180,
                label: Some("关火".into()),
            },
            Call::SetTimer {
                seconds: 1,
                label: None,
            },
            Call::SetAlarm {
                hour: 7,
                minute: 5,
                date: Some(date("2026-12-24")),
                label: Some("吃药".into()),
            },
            Call::SetAlarm {
                hour: 0,
                minute: 0,
                date: None,
                label: None,
            },
            Call::ListTimers,
            Call::CancelTimer {
                label: None,
                all: true,
            },
            Call::CancelTimer {
                label: Some("tea".into()),
                all: false,
            },
            Call::SetVolume(VolumeChange::Set(0)),
            Call::SetVolume(VolumeChange::Up),
            Call::SetVolume(VolumeChange::Down),
        ];
        for call in calls {
            assert_eq!(
                check(call.name(), &call.arguments()),
                Ok(call.clone()),
                "{call:?}"
            );
        }
    }

    #[test]
    fn good_calls_become_calls() {
        let timer = |seconds, label: Option<&str>| Call::SetTimer {
            seconds,
            label: label.map(str::to_string),
        };
        let cases: Vec<(&str, Value, Call)> = vec![
            (
                "set_timer",
                json!({"seconds": 180, "label": "关火"}),
                timer(180, Some("关火")),
            ),
            ("set_timer", json!({"seconds": 1}), timer(1, None)),
            (
                "set_timer",
                json!({"seconds": 86400, "label": null}),
                timer(86400, None),
            ),
            // A whole float is the number it says.
            ("set_timer", json!({"seconds": 180.0}), timer(180, None)),
            // Control characters go, surrounding spaces go, an empty label is none.
            (
                "set_timer",
                json!({"seconds": 5, "label": " tea\u{1b}[31m\n\u{7} "}),
                timer(5, Some("tea[31m")),
            ),
            (
                "set_timer",
                json!({"seconds": 5, "label": "\n\t "}),
                timer(5, None),
            ),
            // Exactly the cap is fine.
            (
                "set_timer",
                json!({"seconds": 5, "label": "茶".repeat(MAX_LABEL_CHARS)}),
                timer(5, Some(&"茶".repeat(MAX_LABEL_CHARS))),
            ),
            (
                "set_alarm",
                json!({"time": "07:30"}),
                Call::SetAlarm {
                    hour: 7,
                    minute: 30,
                    date: None,
                    label: None,
                },
            ),
            (
                "set_alarm",
                json!({"time": "7:05", "date": "2026-12-24", "label": "吃药"}),
                Call::SetAlarm {
                    hour: 7,
                    minute: 5,
                    date: Some(date("2026-12-24")),
                    label: Some("吃药".into()),
                },
            ),
            (
                "set_alarm",
                json!({"time": "23:59", "date": null}),
                Call::SetAlarm {
                    hour: 23,
                    minute: 59,
                    date: None,
                    label: None,
                },
            ),
            (
                "set_alarm",
                json!({"time": "00:00", "date": "2028-02-29"}),
                Call::SetAlarm {
                    hour: 0,
                    minute: 0,
                    date: Some(date("2028-02-29")),
                    label: None,
                },
            ),
            ("list_timers", json!({}), Call::ListTimers),
            ("list_timers", Value::Null, Call::ListTimers),
            (
                "cancel_timer",
                json!({}),
                Call::CancelTimer {
                    label: None,
                    all: false,
                },
            ),
            (
                "cancel_timer",
                json!({"label": "关火"}),
                Call::CancelTimer {
                    label: Some("关火".into()),
                    all: false,
                },
            ),
            (
                "cancel_timer",
                json!({"all": true}),
                Call::CancelTimer {
                    label: None,
                    all: true,
                },
            ),
            (
                "set_volume",
                json!({"percent": 0}),
                Call::SetVolume(VolumeChange::Set(0)),
            ),
            (
                "set_volume",
                json!({"percent": 100}),
                Call::SetVolume(VolumeChange::Set(100)),
            ),
            (
                "set_volume",
                json!({"change": "up"}),
                Call::SetVolume(VolumeChange::Up),
            ),
            (
                "set_volume",
                json!({"change": "down", "percent": null}),
                Call::SetVolume(VolumeChange::Down),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(check(name, &args), Ok(want), "{name} {args}");
        }
    }

    #[test]
    fn hostile_calls_are_refused_with_what_was_wrong() {
        let huge = "x".repeat(1 << 20);
        let cases: Vec<(&str, Value, &str)> = vec![
            // No such tool; the error lists the real ones.
            (
                "get_weather",
                json!({}),
                "there is no tool named \"get_weather\"; the tools are set_timer",
            ),
            ("", json!({}), "there is no tool named \"\""),
            (
                "SET_TIMER",
                json!({"seconds": 5}),
                "no tool named \"SET_TIMER\"",
            ),
            // A 1 MB name is quoted back bounded.
            (
                &huge,
                json!({}),
                "no tool named \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\"",
            ),
            // Not an object.
            (
                "set_timer",
                json!("{\"seconds\": 5}"),
                "arguments of \"set_timer\" must be a JSON object, not a string",
            ),
            ("set_timer", json!([5]), "must be a JSON object, not a list"),
            // Missing, wrong type, strings for numbers.
            ("set_timer", json!({}), "set_timer needs seconds"),
            (
                "set_timer",
                json!({"seconds": "180"}),
                "set_timer: seconds must be a number from 1 to 86400, not a string",
            ),
            ("set_timer", json!({"seconds": true}), "not true or false"),
            (
                "set_timer",
                json!({"seconds": {"value": 5}}),
                "not an object",
            ),
            // Out of range: zero, negative, 10^12, huge floats, fractions.
            (
                "set_timer",
                json!({"seconds": 0}),
                "seconds must be from 1 to 86400, not 0",
            ),
            (
                "set_timer",
                json!({"seconds": -5}),
                "seconds must be from 1 to 86400, not -5",
            ),
            (
                "set_timer",
                json!({"seconds": 1_000_000_000_000u64}),
                "not 1000000000000",
            ),
            ("set_timer", json!({"seconds": 86401}), "not 86401"),
            (
                "set_timer",
                json!({"seconds": 1e300}),
                "seconds must be from 1 to 86400",
            ),
            (
                "set_timer",
                json!({"seconds": -1e300}),
                "seconds must be from 1 to 86400",
            ),
            (
                "set_timer",
                json!({"seconds": 1.5}),
                "seconds must be a whole number, not 1.5",
            ),
            // Labels: too long after stripping, wrong type.
            (
                "set_timer",
                json!({"seconds": 5, "label": huge}),
                "label must be at most 60 characters, not 1048576",
            ),
            (
                "set_timer",
                json!({"seconds": 5, "label": "茶".repeat(MAX_LABEL_CHARS + 1)}),
                "not 61",
            ),
            (
                "set_timer",
                json!({"seconds": 5, "label": 7}),
                "label must be a string, not a number",
            ),
            // Unknown arguments.
            (
                "set_timer",
                json!({"seconds": 5, "minutes": 3}),
                "set_timer has no argument \"minutes\"; it takes seconds, label",
            ),
            (
                "list_timers",
                json!({"all": true}),
                "list_timers takes no arguments, not \"all\"",
            ),
            // Alarms: bad times and dates.
            ("set_alarm", json!({}), "set_alarm needs time"),
            (
                "set_alarm",
                json!({"time": 730}),
                "time must be a string, not a number",
            ),
            (
                "set_alarm",
                json!({"time": "24:00"}),
                "time must be 24-hour \"HH:MM\"",
            ),
            ("set_alarm", json!({"time": "7:60"}), "not \"7:60\""),
            ("set_alarm", json!({"time": "7pm"}), "not \"7pm\""),
            ("set_alarm", json!({"time": "07:30:00"}), "not \"07:30:00\""),
            ("set_alarm", json!({"time": "+7:30"}), "not \"+7:30\""),
            (
                "set_alarm",
                json!({"time": "١٢:٣٠"}),
                "time must be 24-hour",
            ),
            (
                "set_alarm",
                json!({"time": "07:30", "date": "2026-02-30"}),
                "date must be a real date \"YYYY-MM-DD\", not \"2026-02-30\"",
            ),
            (
                "set_alarm",
                json!({"time": "07:30", "date": "tomorrow"}),
                "not \"tomorrow\"",
            ),
            (
                "set_alarm",
                json!({"time": "07:30", "date": "2026-1-5"}),
                "not \"2026-1-5\"",
            ),
            // Cancel and volume.
            (
                "cancel_timer",
                json!({"all": "true"}),
                "cancel_timer: all must be true or false, not a string",
            ),
            (
                "set_volume",
                json!({}),
                "set_volume needs percent (0 to 100) or change",
            ),
            (
                "set_volume",
                json!({"percent": 101}),
                "percent must be from 0 to 100, not 101",
            ),
            ("set_volume", json!({"percent": "50"}), "not a string"),
            (
                "set_volume",
                json!({"change": "louder"}),
                "change must be \"up\" or \"down\", not \"louder\"",
            ),
            (
                "set_volume",
                json!({"percent": 50, "change": "up"}),
                "not both",
            ),
        ];
        for (name, args, want) in cases {
            let got = check(name, &args).expect_err(&format!("{name} {args}"));
            assert!(got.contains(want), "{name}: {got:?} lacks {want:?}");
            assert!(got.chars().count() < 300, "bounded: {got:?}");
            assert!(!got.chars().any(char::is_control), "one line: {got:?}");
        }
    }

    #[test]
    fn definitions_are_ollamas_tool_shape_and_match_check() {
        let defs = definitions();
        let names: Vec<&str> = defs
            .iter()
            .map(|d| d["function"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, NAMES);
        for d in &defs {
            assert_eq!(d["type"], "function");
            let f = &d["function"];
            assert!(!f["description"].as_str().unwrap().is_empty());
            let params = &f["parameters"];
            assert_eq!(params["type"], "object");
            let props = params["properties"].as_object().unwrap();
            // Every property the schema offers is one check accepts, and every required one is
            // a property.
            for req in params["required"].as_array().unwrap() {
                assert!(props.contains_key(req.as_str().unwrap()));
            }
            let name = f["name"].as_str().unwrap();
            for key in props.keys() {
                let err = check(name, &json!({ key: Value::Null, "zzz": 1 })).unwrap_err();
                assert!(err.contains("\"zzz\""), "{name}.{key}: {err}");
                assert!(err.contains(key.as_str()), "{name} lists {key}: {err}");
            }
        }
    }
}
