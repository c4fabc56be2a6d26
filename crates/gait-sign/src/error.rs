//! The crate's error type.

use std::path::PathBuf;

/// Why a signature did not verify, in the order the checks run.
///
/// The messages are the reference implementation's, so scripts that match
/// on them keep working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyFailure {
    /// The envelope carries no `signed_digest`.
    #[error("missing signed_digest")]
    MissingSignedDigest,
    /// The envelope's `signed_digest` is not the digest of the document.
    #[error("signed_digest mismatch")]
    SignedDigestMismatch,
    /// `alg` is not `ed25519`.
    #[error("unsupported alg: {0}")]
    UnsupportedAlg(String),
    /// `key_id` names a different key than the one verifying.
    #[error("key id mismatch")]
    KeyIdMismatch,
    /// `sig` is not standard padded base64.
    #[error("decode sig: {0}")]
    DecodeSig(String),
    /// `sig` does not decode to 64 bytes.
    #[error("invalid signature length: {0}")]
    InvalidSignatureLength(usize),
    /// The Ed25519 check itself failed.
    #[error("signature verification failed")]
    BadSignature,
    /// The document has no signature member at all.
    #[error("missing signature")]
    MissingSignature,
    /// The signature member is not a signature envelope object.
    #[error("malformed signature: {0}")]
    MalformedEnvelope(String),
}

/// Everything that can go wrong in `gait-sign`.
///
/// No message ever contains private key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A signature did not verify.
    #[error("{0}")]
    Verify(#[from] VerifyFailure),
    /// Key text could not be decoded, or has the wrong length.
    #[error("{source_name}: {reason}")]
    InvalidKey {
        /// Where the key came from (`path:<p>`, `env:<NAME>`, or a
        /// description).
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key file could not be read.
    #[error("read key file {}: {source}", path.display())]
    KeyRead {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A private key file may be read or written by group or others.
    #[error(
        "private key file {} has mode {mode:04o}: group or others may read or write it; refusing to use it (fix: chmod 600 {})",
        path.display(),
        path.display()
    )]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file could not be written.
    #[error("write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A directory could not be created.
    #[error("write {}: create directory: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A key file exists and overwriting was not requested.
    #[error("{what} path already exists (use --force): {}", path.display())]
    AlreadyExists {
        /// `private key` or `public key`.
        what: &'static str,
        /// The existing file.
        path: PathBuf,
    },
    /// A key environment variable is unset or empty.
    #[error("{what} env not set: {name}")]
    EnvNotSet {
        /// `private key` or `public key`.
        what: &'static str,
        /// The variable's name.
        name: String,
    },
    /// A path and an environment variable were both given for one key.
    #[error("{what}: set either path or env")]
    BothKeySources {
        /// Which key (the flag pair's description).
        what: &'static str,
    },
    /// A key mode other than `dev` or `prod`.
    #[error("unsupported key mode: {0}")]
    UnsupportedKeyMode(String),
    /// Dev mode was given an explicit key source.
    #[error("dev mode does not accept explicit key sources")]
    DevModeKeySource,
    /// Prod mode without a private key source.
    #[error("prod mode requires a private key source")]
    PrivateKeyRequired,
    /// The declared public key is not the private key's own.
    #[error("public key does not match private key")]
    PublicKeyMismatch,
    /// No key to verify with was configured.
    #[error("public key not configured")]
    PublicKeyNotConfigured,
    /// A key pair's file name prefix is empty.
    #[error("prefix must not be empty")]
    EmptyPrefix,
    /// A key pair's file name prefix is not a plain file name fragment.
    #[error("prefix must be a file name fragment without path separators: {0}")]
    InvalidPrefix(String),
    /// A key pair's output directory is empty.
    #[error("out-dir must not be empty")]
    EmptyOutDir,
    /// A key's role record exists but cannot be read, is malformed, or
    /// names another key.
    #[error("key role record {}: {reason}", path.display())]
    RoleRecord {
        /// The record file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A key's role record names another role than the one needed.
    #[error("key is recorded for role {recorded} ({}), not {wanted}", path.display())]
    RoleMismatch {
        /// The record file.
        path: PathBuf,
        /// The recorded role.
        recorded: String,
        /// The role the operation needs.
        wanted: &'static str,
    },
    /// The operating system's random number generator failed.
    #[error("generate keypair: {0}")]
    Random(#[source] std::io::Error),
    /// A document could not be canonicalized.
    #[error(transparent)]
    Canonical(#[from] gait_digest::Error),
}

impl Error {
    /// Whether this error means "the evidence does not verify" (as opposed to
    /// bad input or an I/O failure).
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, Error::Verify(_))
    }

    /// Whether this error is a failure of the local environment (a file
    /// could not be written, the random number generator failed) rather
    /// than of the input. An unreadable key file named by the caller is
    /// input, not environment.
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            Error::Write { .. } | Error::CreateDir { .. } | Error::Random(_)
        )
    }
}
