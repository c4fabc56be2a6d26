//! One module per command family: each turns parsed arguments into library
//! calls and prints the result.

pub mod keys;
pub mod trace;
pub mod version;

use crate::exit::Exit;

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

/// Reads an input file named on the command line, at most `limit` bytes.
/// A missing or unreadable file, or one over the limit, is invalid input.
pub fn read_input(path: &str, what: &str, limit: u64) -> Result<Vec<u8>, (String, Exit)> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .map_err(|e| (format!("read {what} {path}: {e}"), Exit::InvalidInput))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| (format!("read {what} {path}: {e}"), Exit::InvalidInput))?;
    if buf.len() as u64 > limit {
        return Err((format!("read {what} {path}: larger than {limit} bytes"), Exit::InvalidInput));
    }
    Ok(buf)
}
