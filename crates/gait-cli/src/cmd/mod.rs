//! One module per command family: each turns parsed arguments into library
//! calls and prints the result.

pub mod approve;
pub mod delegate;
pub mod gate;
pub mod hook;
pub mod job;
pub mod keys;
pub mod kill_switch;
pub mod mcp;
pub mod mcp_proxy;
pub mod migrate;
pub mod onboard;
pub mod pack;
pub mod policy;
pub mod progress;
pub mod project_config;
pub mod reduce;
pub mod registry;
pub mod regress;
pub mod release;
pub mod runpack;
pub mod scripts;
pub mod session;
pub mod tokens;
pub mod trace;
pub mod verify_chain;
pub mod version;
pub mod wrap;

use std::path::Path;

use serde_json::{Map, Value};

use crate::exit::{Exit, failure};
use crate::output::{Out, stderr_line};

/// Reads an input file named on the command line, at most `limit` bytes.
/// A missing or unreadable file, one that is not a regular file (a device
/// such as `/dev/zero`, a FIFO, a socket, a directory: refused before it is
/// opened, so nothing blocks or streams forever), or one over the limit, is
/// invalid input.
pub fn read_input(path: &str, what: &str, limit: u64) -> Result<Vec<u8>, (String, Exit)> {
    gait_sign::read_regular_file_limited(std::path::Path::new(path), limit)
        .map_err(|e| (format!("read {what} {path}: {e}"), Exit::InvalidInput))
}

/// Splits a comma-separated flag value: items trimmed, empty items dropped.
pub fn parse_csv(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a `--ttl` value (trimmed) as a positive Go duration, in
/// nanoseconds.
pub fn parse_ttl(value: Option<&str>) -> Result<i128, (String, Exit)> {
    let text = value.unwrap_or_default().trim();
    match gait_digest::go_duration::parse_go_duration(text) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err((
            "invalid --ttl, expected positive duration".into(),
            Exit::InvalidInput,
        )),
    }
}

/// Writes a token file as the reference does (pretty JSON and a newline,
/// mode 0600, missing parent directories created with mode 0750), but
/// atomically: an existing file is replaced in one step, never truncated
/// and rewritten, and a symlink at `path` is replaced rather than
/// followed.
pub fn write_token_file(path: &str, bytes: &[u8]) -> Result<(), (String, Exit)> {
    let path = Path::new(path);
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && *p != Path::new("."))
    {
        gait_sign::create_private_dir(parent).map_err(failure)?;
    }
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, true).map_err(failure)
}

/// Inserts a string member unless it is empty (Go's `omitempty`).
pub fn put_str(m: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        m.insert(key.into(), Value::String(value.to_owned()));
    }
}

/// Inserts a list of strings unless it is empty (Go's `omitempty`).
pub fn put_strs(m: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        m.insert(
            key.into(),
            Value::Array(values.iter().cloned().map(Value::String).collect()),
        );
    }
}

/// Inserts an integer unless it is zero (Go's `omitempty`).
pub fn put_int(m: &mut Map<String, Value>, key: &str, value: i64) {
    if value != 0 {
        m.insert(key.into(), Value::from(value));
    }
}

/// Reports a failure: under `--json` the object `fields` plus
/// `{ok:false, error}` and the error envelope; otherwise
/// `<label> error: <message>` on standard error.
pub fn fail(
    out: &Out,
    label: &str,
    mut fields: Map<String, Value>,
    message: &str,
    exit: Exit,
) -> Exit {
    if out.is_json() {
        fields.insert("ok".into(), Value::Bool(false));
        fields.insert("error".into(), Value::String(message.trim().to_owned()));
        return out.json(fields, exit);
    }
    stderr_line(&format!("{label} error: {message}"));
    exit
}
