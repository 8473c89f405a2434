//! Config errors located in the file: line, column and dotted key, with the fix spelled out.

use std::ops::Range;

use super::ConfigError;

/// Where errors point: the file's name for the message and its text for line and column.
pub(super) struct Place<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Place<'_> {
    /// An error about `key`; `span` is the user's value (`None` when the value is a default).
    pub(super) fn err(
        &self,
        key: &str,
        span: Option<Range<usize>>,
        message: String,
    ) -> ConfigError {
        let (line, column) = span.map_or((0, 0), |s| line_col(self.text, s.start));
        ConfigError {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message,
        }
    }

    /// A TOML syntax error, an unknown key or a wrong type, as the toml crate located it.
    pub(super) fn syntax(&self, e: &toml::de::Error) -> ConfigError {
        let start = e.span().map_or(0, |s| s.start);
        if let Some(table) = unknown_top_level_table(self.text, start, e.message()) {
            // serde speaks of a field of the file's root; to the user it is a table header.
            let valid = e.message().split_once(", expected ").map_or("", |(_, v)| v);
            let message = format!(
                "unknown table `[{table}]` at the top level (the tables are {}); check the spelling or remove the table",
                valid.trim().trim_start_matches("one of ")
            );
            return self.err(&table, e.span(), message);
        }
        let key = key_at(self.text, start);
        self.err(&key, e.span(), explain(e.message()))
    }
}

/// The table of a `[name]` (or `[[name]]`) header that the error at `offset` points into, when
/// serde's `message` says the root has no field of that name.
fn unknown_top_level_table(text: &str, offset: usize, message: &str) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?.trim();
    if !line.starts_with('[') {
        return None;
    }
    let table = line.split(']').next()?.trim_start_matches('[').trim();
    let first = table.split('.').next()?.trim().trim_matches('"');
    message
        .starts_with(&format!("unknown field `{first}`"))
        .then(|| table.to_string())
}

/// serde's message with the fix made explicit.
pub(super) fn explain(message: &str) -> String {
    let mut message = message.trim().to_string();
    let renamed = super::keys::RENAMED
        .iter()
        .find(|(old, _)| message.starts_with(&format!("unknown field `{old}`")));
    if let Some((_, instead)) = renamed {
        message = instead.to_string();
    } else if message.starts_with("unknown field") {
        // serde's unknown-field text lists the valid keys; make the fix explicit.
        message.push_str("; check the spelling (valid keys are listed above) or remove the line");
    } else if message.contains("expected i64") {
        message = message.replace(
            "expected i64",
            "expected an integer (write a whole number without quotes)",
        );
    } else if message.contains("expected f64") {
        message = message.replace(
            "expected f64",
            "expected a number (write it without quotes)",
        );
    }
    message
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Best-effort dotted key for an error position: the last `[section]` above it plus the key on
/// that line.
fn key_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let section = before
        .lines()
        .filter_map(|l| {
            let t = l.trim();
            (t.starts_with('[') && !t.starts_with("[[")).then(|| {
                // An error inside the header itself sees only its start (`[ollama.`).
                let t = t.trim_matches(|c| c == '[' || c == ']').trim();
                t.trim_end_matches('.').to_string()
            })
        })
        .next_back();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}"),
        (Some(s), None) => s,
        (None, Some(k)) => k.to_string(),
        (None, None) => "(file)".to_string(),
    }
}
