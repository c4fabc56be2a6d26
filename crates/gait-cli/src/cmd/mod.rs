//! One module per command family: each turns parsed arguments into library
//! calls and prints the result.

pub mod approve;
pub mod delegate;
pub mod gate;
pub mod hook;
pub mod keys;
pub mod mcp;
pub mod mcp_proxy;
pub mod onboard;
pub mod pack;
pub mod policy;
pub mod progress;
pub mod project_config;
pub mod regress;
pub mod release;
pub mod runpack;
pub mod tokens;
pub mod trace;
pub mod verify_chain;
pub mod version;

use std::path::Path;

use serde_json::{Map, Value};

use crate::exit::Exit;
use crate::output::{Out, stderr_line};

/// The exit status for an error from `gait-sign`.
pub fn sign_error_exit(e: &gait_sign::Error) -> Exit {
    if e.is_verification_failure() {
        Exit::VerifyFailed
    } else if e.is_io() {
        Exit::Internal
    } else {
        Exit::InvalidInput
    }
}

/// Resolves a verify key from the shared key flags: a public source wins,
/// else the public half of a private source.
pub fn load_verify_key<R: gait_sign::Role>(
    keys: &crate::args::VerifyKeyArgs,
) -> Result<gait_sign::VerifyingKey<R>, (String, Exit)> {
    let err = |e: gait_sign::Error| (e.to_string(), sign_error_exit(&e));
    let private = gait_sign::KeySource::from_flags(
        "private key",
        keys.private_key.as_deref(),
        keys.private_key_env.as_deref(),
    )
    .map_err(err)?;
    let public = gait_sign::KeySource::from_flags(
        "public key",
        keys.public_key.as_deref(),
        keys.public_key_env.as_deref(),
    )
    .map_err(err)?;
    gait_sign::load_verifying_key(private.as_ref(), public.as_ref()).map_err(err)
}

/// An optional verify key from a public key file flag (`None` when the
/// flag is absent or empty).
pub fn optional_public_key<R: gait_sign::Role>(
    what: &'static str,
    path: Option<&str>,
) -> Result<Option<gait_sign::VerifyingKey<R>>, (String, Exit)> {
    let err = |e: gait_sign::Error| (e.to_string(), sign_error_exit(&e));
    match gait_sign::KeySource::from_flags(what, path, None).map_err(err)? {
        Some(src) => src.load_verifying::<R>().map(Some).map_err(err),
        None => Ok(None),
    }
}

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

/// Loads the signing key of a minting command (`--key-mode`,
/// `--private-key`, `--private-key-env`).
pub fn load_signing_key<R: gait_sign::Role>(
    keys: &crate::args::SignKeyArgs,
) -> Result<gait_sign::LoadedSigningKey<R>, (String, Exit)> {
    let err = |e: gait_sign::Error| (e.to_string(), sign_error_exit(&e));
    let mode = gait_sign::KeyMode::parse(&keys.key_mode).map_err(err)?;
    let private = gait_sign::KeySource::from_flags(
        "private key",
        keys.private_key.as_deref(),
        keys.private_key_env.as_deref(),
    )
    .map_err(err)?;
    let config = gait_sign::KeyConfig {
        mode,
        private,
        public: None,
    };
    config.load_signing::<R>().map_err(err)
}

/// Writes a token file as the reference does (pretty JSON and a newline,
/// mode 0600, missing parent directories created with mode 0750), but
/// atomically: an existing file is replaced in one step, never truncated
/// and rewritten, and a symlink at `path` is replaced rather than
/// followed.
pub fn write_token_file(path: &str, bytes: &[u8]) -> Result<(), (String, Exit)> {
    let err = |e: gait_sign::Error| (e.to_string(), sign_error_exit(&e));
    let path = Path::new(path);
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && *p != Path::new("."))
    {
        gait_sign::create_private_dir(parent).map_err(err)?;
    }
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, true).map_err(err)
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
