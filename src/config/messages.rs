//! `[messages]`: what the box says when something fails, per language. The keys directly under
//! `[messages]` are English; `[messages.LANG]` (e.g. `[messages.zh]`) holds another language.
//! `config/voicebox.toml` has en, zh, vi and ja; a user's key overrides one message of one
//! language, and a language given only in part falls back to English key by key.

use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::ConfigError;
use super::language::Lang;
use super::rules::{Rule, Text};
use super::section::Reader;

/// Every message: one per `FailureClass` (see `event.rs`), in its order, then the others
/// (what a ringing timer says: `{label}` and `{time}` are filled in).
pub const KEYS: [&str; 15] = [
    "unreachable",
    "proxy_error",
    "too_slow",
    "model_missing",
    "rejected",
    "unauthorized",
    "bad_reply",
    "didnt_catch",
    "stt_failed",
    "audio_failed",
    "cut_off",
    "tool_unfinished",
    "timer_up",
    "timer_label",
    "timer_missed",
];

/// The language the keys directly under `[messages]` are in.
const BASE: &str = "en";

#[derive(Debug, Clone, PartialEq)]
pub struct Messages {
    /// Language code → one message per `KEYS` entry.
    sets: BTreeMap<String, Vec<String>>,
}

impl Messages {
    /// The message `key` (one of `KEYS`) in `lang`, else in `fallback`, else in English.
    pub fn get(&self, key: &str, lang: &str, fallback: &str) -> &str {
        let i = KEYS.iter().position(|k| *k == key).unwrap_or(0);
        let set = [lang, primary(lang), fallback, BASE]
            .iter()
            .find_map(|l| self.sets.get(*l));
        set.and_then(|s| s.get(i)).map_or("", String::as_str)
    }

    /// The languages that have messages.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }
}

/// "zh-tw" → "zh".
fn primary(lang: &str) -> &str {
    lang.split('-').next().unwrap_or(lang)
}

/// `[messages]` as serde reads it: English keys, and a table per other language.
#[derive(Default)]
pub(super) struct RawMessages {
    base: BTreeMap<String, Spanned<toml::Value>>,
    languages: BTreeMap<String, Spanned<Table>>,
}

/// One `[messages.LANG]` table, its values located.
#[derive(Default)]
struct Table(BTreeMap<String, Spanned<toml::Value>>);

impl<'de> Deserialize<'de> for RawMessages {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = RawMessages;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("message keys and [messages.LANG] tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMessages, A::Error> {
                let mut raw = RawMessages::default();
                while let Some(key) = map.next_key::<String>()? {
                    if KEYS.contains(&key.as_str()) {
                        raw.base.insert(key, map.next_value()?);
                    } else {
                        raw.languages.insert(key, map.next_value()?);
                    }
                }
                Ok(raw)
            }
        }
        d.deserialize_map(Entries)
    }
}

/// A key under `[messages]` that is not a message must be a language's table; for anything
/// else serde's error says what was expected (a misspelt message, most likely).
impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Table;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(
                    f,
                    "one of the messages {} or a table of them for another language, such as [messages.zh]",
                    KEYS.join(", ")
                )
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Table, E> {
                Err(E::custom(format!(
                    "unknown message; the messages are {}, and another language's go in a table such as [messages.zh]",
                    KEYS.join(", ")
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Table, A::Error> {
                let mut t = BTreeMap::new();
                while let Some((k, v)) = map.next_entry()? {
                    t.insert(k, v);
                }
                Ok(Table(t))
            }
        }
        d.deserialize_any(Entries)
    }
}

impl Messages {
    pub(super) fn build(
        reader: &Reader,
        mut user: RawMessages,
        mut default: RawMessages,
    ) -> Result<Messages, ConfigError> {
        let mut base = Vec::with_capacity(KEYS.len());
        for key in KEYS {
            let (u, d) = (user.base.remove(key), default.base.remove(key));
            base.push(reader.get(&format!("messages.{key}"), Text::NonEmpty, u, d)?);
        }
        let mut sets = BTreeMap::new();
        let mut names: Vec<String> = user.languages.keys().cloned().collect();
        names.extend(default.languages.keys().cloned());
        names.sort();
        names.dedup();
        for name in names {
            let user_set = user.languages.remove(&name);
            let span = user_set.as_ref().map(Spanned::span);
            let lang = Lang.check(name.clone()).map_err(|m| {
                reader.place.err(
                    &format!("messages.{name}"),
                    span.clone(),
                    format!(
                        "{m}; [messages] holds the keys {} and one table per language",
                        KEYS.join(", ")
                    ),
                )
            })?;
            if lang == BASE {
                return Err(reader.place.err(
                    "messages.en",
                    span,
                    "write the English messages directly under [messages]".into(),
                ));
            }
            let mut user_set = user_set.map_or_else(BTreeMap::new, |t| t.into_inner().0);
            let mut default_set = default
                .languages
                .remove(&name)
                .map_or_else(BTreeMap::new, |t| t.into_inner().0);
            let mut set = Vec::with_capacity(KEYS.len());
            for (key, english) in KEYS.iter().zip(&base) {
                set.push(reader.get(
                    &format!("messages.{lang}.{key}"),
                    OrEnglish(english),
                    user_set.remove(*key),
                    default_set.remove(*key),
                )?);
            }
            if let Some((key, value)) = user_set.into_iter().next() {
                return Err(reader.place.err(
                    &format!("messages.{lang}.{key}"),
                    Some(value.span()),
                    format!(
                        "unknown message `{key}`; the messages are {}",
                        KEYS.join(", ")
                    ),
                ));
            }
            sets.insert(lang, set);
        }
        sets.insert(BASE.to_string(), base);
        Ok(Messages { sets })
    }
}

/// A message in another language; absent, the English one.
struct OrEnglish<'a>(&'a str);

impl Rule<String> for OrEnglish<'_> {
    type Raw = String;
    fn check(&self, v: String) -> Result<String, String> {
        Text::NonEmpty.check(v)
    }
    fn absent(&self, _env: super::rules::Env) -> Result<String, String> {
        Ok(self.0.to_string())
    }
}
