//! How results reach the terminal: JSON objects with sorted keys and the
//! error envelope, or one line of text.

use std::io::Write as _;

use gait_digest::go_json;
use serde_json::{Map, Value};

use crate::exit::Exit;

/// The correlation id of an invocation: hex of the first 12 bytes of the
/// SHA-256 of all arguments (including the program name), each trimmed,
/// joined by U+001F. No arguments at all gives 24 zeros.
pub fn correlation_id(args: &[String]) -> String {
    if args.is_empty() {
        return "0".repeat(24);
    }
    let joined = args
        .iter()
        .map(|a| a.trim())
        .collect::<Vec<_>>()
        .join("\u{1f}");
    gait_digest::short_id(joined.as_bytes())
}

/// Output context for one invocation.
#[derive(Debug, Clone)]
pub struct Out {
    correlation_id: String,
    json: bool,
}

impl Out {
    /// Output for an invocation with these arguments.
    pub fn new(args: &[String]) -> Self {
        Self {
            correlation_id: correlation_id(args),
            json: false,
        }
    }

    /// The same context, with the global `--json` flag as parsed.
    pub fn with_json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    /// Whether `--json` was given: results print as JSON objects and
    /// failures as the JSON error envelope.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// This invocation's correlation id.
    pub fn correlation(&self) -> &str {
        &self.correlation_id
    }

    /// Prints `value` (an object) as one line of JSON with sorted keys,
    /// adding `correlation_id`, and, when `error` is set, the error envelope
    /// (`error_code`, `error_category`, `retryable`, `hint`) for `exit`.
    pub fn json(&self, mut value: Map<String, Value>, exit: Exit) -> Exit {
        let has_cid = value
            .get("correlation_id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !has_cid {
            value.insert(
                "correlation_id".into(),
                Value::String(self.correlation_id.clone()),
            );
        }
        let has_error = value
            .get("error")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if has_error {
            value
                .entry("error_code")
                .or_insert_with(|| exit.error_code().into());
            value
                .entry("error_category")
                .or_insert_with(|| exit.error_category().into());
            value.entry("retryable").or_insert(Value::Bool(false));
            value.entry("hint").or_insert_with(|| exit.hint().into());
        }
        stdout_line(&go_json::to_sorted_string(&Value::Object(value)));
        exit
    }

    /// Prints a typed output record (a struct serializing to an object) as
    /// [`Out::json`] does.
    pub fn json_typed<T: serde::Serialize + ?Sized>(&self, value: &T, exit: Exit) -> Exit {
        match serde_json::to_value(value) {
            Ok(Value::Object(m)) => self.json(m, exit),
            _ => self.json_error("encode output", Exit::Internal),
        }
    }

    /// Prints the error envelope `{ok:false, error}` for `exit`.
    pub fn json_error(&self, message: &str, exit: Exit) -> Exit {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(false));
        m.insert("error".into(), Value::String(message.trim().to_owned()));
        self.json(m, exit)
    }
}

/// `skip_serializing_if` tests for typed output records: Go's
/// `omitempty` on borrowed strings and lists and on counts.
pub mod omit {
    /// An empty string.
    pub fn blank(s: &&str) -> bool {
        s.is_empty()
    }

    /// An empty list.
    pub fn no_items(v: &&[String]) -> bool {
        v.is_empty()
    }

    /// Zero.
    pub fn zero(n: &u64) -> bool {
        *n == 0
    }

    /// Zero (a signed count).
    pub fn zero_i64(n: &i64) -> bool {
        *n == 0
    }
}

/// Writes one line to standard output. A closed pipe is not an error worth
/// reporting (the reader went away), so write failures are ignored.
pub fn stdout_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Writes `text` to standard output as is (no newline added). Write
/// failures are ignored, as in [`stdout_line`].
pub fn stdout_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes one line to standard error.
pub fn stderr_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.write_all(b"\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_id_rules() {
        assert_eq!(correlation_id(&[]), "000000000000000000000000");
        let a = correlation_id(&["gait".into(), " keys ".into()]);
        let b = correlation_id(&["gait".into(), "keys".into()]);
        assert_eq!(a, b);
        assert_eq!(a, gait_digest::short_id(b"gait\x1fkeys"));
    }
}
