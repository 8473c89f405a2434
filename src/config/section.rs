//! The `section!` macro: from one line per key, a section's public struct, its serde struct and
//! the code that checks each key.
//!
//! ```text
//! section! {
//!     #[derive(Debug, Clone, PartialEq)]
//!     pub struct Stt from "stt" via RawStt {
//!         /// The hook's argv.                          (a doc comment is optional)
//!         command: Vec<String> = Argv,                 // TOML key `stt.command`
//!         #[key = "timeout_ms"] timeout: Duration = Ms(1, 600_000), // TOML name != field name
//!     }
//! }
//! ```
//! makes `pub struct Stt { pub command: Vec<String>, pub timeout: Duration }`, a serde struct
//! `RawStt` with one optional, spanned field per key (`deny_unknown_fields`, so a typo lists the
//! valid keys), and `Stt::build`, which checks each key with its rule (`rules.rs`) in order.
//! Each key is a local while `build` runs, so a rule may use a key declared above it. Keys in an
//! optional `reads { key: Type = Rule, }` block before the body are checked first and are not
//! fields: they feed a field's rule (`tts.raw_rate` feeds `tts.format`).

use toml::Spanned;

use super::ConfigError;
use super::locate::{Place, explain};
use super::rules::{Env, Rule};

/// A key's value as serde read it, with its place in the file; `None` when the key is absent.
/// serde checks only that it is TOML here; the rule's `Raw` type is checked by `Reader::get`.
pub(super) type Value = Option<Spanned<toml::Value>>;

/// What a section's `build` reads with: where errors point, and the environment.
pub(super) struct Reader<'a> {
    pub place: Place<'a>,
    pub env: Env<'a>,
    /// Every key read and its rule's range, so the tests can walk every key.
    #[cfg(test)]
    pub seen: std::cell::RefCell<Vec<(String, Option<super::rules::Bounds>)>>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(place: Place<'a>, env: Env<'a>) -> Reader<'a> {
        Reader {
            place,
            env,
            #[cfg(test)]
            seen: Default::default(),
        }
    }

    /// The user's value, else the embedded default, else what the rule says absence means;
    /// errors point at the user's value.
    pub(super) fn get<T, R: Rule<T>>(
        &self,
        key: &str,
        rule: R,
        user: Value,
        default: Value,
    ) -> Result<T, ConfigError> {
        #[cfg(test)]
        self.seen
            .borrow_mut()
            .push((key.to_string(), rule.bounds()));
        let (value, span) = match (user, default) {
            (Some(u), _) => {
                let span = u.span();
                (u.into_inner(), Some(span))
            }
            (None, Some(d)) => (d.into_inner(), None),
            (None, None) => {
                return rule
                    .absent(self.env)
                    .map_err(|m| self.place.err(key, None, m));
            }
        };
        let raw = value
            .try_into::<R::Raw>()
            .map_err(|e| self.place.err(key, span.clone(), explain(e.message())))?;
        rule.check(raw).map_err(|m| self.place.err(key, span, m))
    }
}

macro_rules! section {
    (@key $table:literal, $field:ident) => {
        concat!($table, ".", stringify!($field))
    };
    (@key $table:literal, $field:ident, $key:literal) => {
        concat!($table, ".", $key)
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident from $table:literal via $raw:ident
        $(reads { $($local:ident: $local_ty:ty = $local_rule:expr),* $(,)? })?
        {
            $(
                $(#[doc = $doc:literal])*
                $(#[key = $key:literal])?
                $field:ident: $ty:ty = $rule:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        #[derive(Default, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub(super) struct $raw {
            $($($local: $crate::config::section::Value,)*)?
            $($(#[serde(rename = $key)])? $field: $crate::config::section::Value,)*
        }

        impl $name {
            pub(super) fn build(
                reader: &$crate::config::section::Reader,
                user: $raw,
                default: $raw,
            ) -> Result<Self, $crate::config::ConfigError> {
                $($(
                    let $local: $local_ty = reader.get(
                        section!(@key $table, $local),
                        $local_rule,
                        user.$local,
                        default.$local,
                    )?;
                )*)?
                $(
                    let $field: $ty = reader.get(
                        section!(@key $table, $field $(, $key)?),
                        $rule,
                        user.$field,
                        default.$field,
                    )?;
                )*
                Ok($name { $($field),* })
            }
        }
    };
}
