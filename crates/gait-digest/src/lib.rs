//! Canonical JSON and digests for Gait artifacts.
//!
//! Everything Gait signs or identifies is "canonicalize, hash, sign": this
//! crate is the first two steps, byte-identical with the reference
//! implementation.
//!
//! * [`canonical`]: RFC 8785 (JCS) canonical JSON from a
//!   [`serde_json::Value`] or from raw bytes, with UTF-16 member order,
//!   ECMAScript number formatting and duplicate-key rejection.
//! * [`Sha256Digest`], [`sha256`], [`digest_json`], [`short_id`] and the
//!   streaming [`Sha256Hasher`]: digests as 64 lowercase hex characters
//!   with no prefix, and the 24-hex short ids the reference uses for trace,
//!   event, token and correlation ids.
//! * [`blake3()`] and [`Blake3Hasher`]: a fast content digest for internal
//!   use; no interchange format uses it.
//! * [`GoTime`]: timestamps formatted as Go's `time.RFC3339Nano`.
//! * [`go_duration`]: durations parsed and formatted as Go's `time`
//!   package does (`1h30m`, `1.5s`).
//! * [`is_go_empty`]: Go `omitempty` rules for serde.
//! * [`clean_path`]: Go's lexical `filepath.Clean`.
//! * [`go_json`]: JSON text as the reference's CLI prints it (sorted keys,
//!   Go escaping).
//!
//! The crate performs no I/O.
//!
//! # Example
//!
//! ```
//! use gait_digest::{canonical, digest_json, sha256};
//!
//! // Raw bytes: parsed strictly, then canonicalized.
//! let canon = canonical::from_slice(br#"{"b": 1.0, "a": [true, null, 1e21]}"#)?;
//! assert_eq!(canon, br#"{"a":[true,null,1e+21],"b":1}"#);
//!
//! // A digest is SHA-256 over the canonical bytes.
//! let value = serde_json::json!({"b": 1, "a": [true, null, 1e21]});
//! assert_eq!(digest_json(&value), sha256(&canon));
//! assert_eq!(digest_json(&value).to_hex().len(), 64);
//!
//! // Duplicate member names are rejected, never silently resolved.
//! assert!(canonical::from_slice(br#"{"a":1,"a":2}"#).is_err());
//! # Ok::<(), gait_digest::Error>(())
//! ```

#![deny(unreachable_pub)]

pub mod canonical;
mod digest;
mod error;
pub mod go_duration;
pub mod go_json;
mod gotime;
mod ident;
mod number;
mod omit;
mod path;

pub use digest::{
    Blake3Digest, Blake3Hasher, Sha256Digest, Sha256Hasher, blake3, digest_json, digest_serialize,
    hex, sha256, short_id,
};
pub use error::Error;
pub use gotime::GoTime;
pub use ident::{check_identifier, identifier_control_char};
pub use number::{es_number_string, write_es_number};
pub use omit::{GoEmpty, is_go_empty, null_as_default};
pub use path::{clean_path, local_path};
