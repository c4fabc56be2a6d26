//! Signed release directories.
//!
//! A release is a flat directory of regular files (binaries, an SBOM, a
//! skill or policy bundle). [`sign_release`] adds four files to it:
//!
//! | File | Content |
//! |---|---|
//! | `SHA256SUMS` | `<sha256 hex>  <name>` per release file, sorted by name (what `sha256sum -c` reads) |
//! | `SHA256SUMS.sig.json` | a Gait [`SignatureEnvelope`](gait_sign::SignatureEnvelope) whose `signed_digest` is the SHA-256 of `SHA256SUMS` |
//! | `provenance.json` | an in-toto Statement v1 (canonical JSON) with a SLSA Provenance v1 predicate: subjects are the release files, the predicate records builder, source commit, `Cargo.lock` digest, toolchain and build command |
//! | `provenance.sig.json` | the envelope whose `signed_digest` is the SHA-256 of `provenance.json` (its canonical digest) |
//!
//! Both envelopes are made with the same key, of the
//! [`Release`](gait_sign::Release) role. [`verify_release`] checks all of
//! it against a public key and reports every failure with the file it
//! concerns; a verification failure is a report, not an error.
//!
//! # Errors
//!
//! [`Error`] stops signing or verifying altogether and names the file or
//! field concerned ([`Error::is_io`] tells a failure of the local
//! environment, exit 1, from bad input, exit 6); the errors below it are
//! kept as its [`source`](std::error::Error::source): [`FileError`] (a file
//! that could not be read or hashed) and [`BuildInfoError`] (an invalid
//! [`BuildInfo`] field). The parsers [`parse_sums`] and [`subjects`] give
//! [`SumsError`] and [`ProvenanceError`]; [`verify_release`] reports those
//! as failures of the file they concern.
//!
//! # Example
//!
//! ```
//! use gait_release::{BuildInfo, sign_release, verify_release};
//! use gait_sign::{Release, SigningKey};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("gait"), b"binary")?;
//! let key = SigningKey::<Release>::generate()?;
//! let mut build = BuildInfo::new("local");
//! build.build_command = "cargo build --release".into();
//! sign_release(dir.path(), &key, &build)?;
//!
//! let report = verify_release(dir.path(), key.verifying_key())?;
//! assert!(report.ok);
//!
//! std::fs::write(dir.path().join("gait"), b"binarY")?;
//! let report = verify_release(dir.path(), key.verifying_key())?;
//! assert!(!report.ok);
//! assert_eq!(report.failures[0].file, "gait");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

mod error;
mod provenance;
mod release;
mod sums;

pub use error::{BuildInfoError, Error, FileError, ProvenanceError, SumsError};
pub use provenance::{BUILD_TYPE, BuildInfo, PREDICATE_TYPE, STATEMENT_TYPE, statement, subjects};
pub use release::{
    Failure, FileCheck, FileStatus, GENERATED_FILES, PROVENANCE_FILE, PROVENANCE_SIG_FILE,
    SUMS_FILE, SUMS_SIG_FILE, SignedRelease, VerifyReport, file_sha256, list_release_files,
    sign_release, verify_release,
};
pub use sums::{ChecksumEntry, parse as parse_sums, render as render_sums, valid_file_name};
