//! Ed25519 keys, key roles and signature envelopes for Gait.
//!
//! Every signed Gait document (trace, approval and delegation token,
//! runpack and pack manifest) carries a [`SignatureEnvelope`]:
//!
//! ```text
//! {"alg":"ed25519","key_id":<hex>,"sig":<base64>,"signed_digest":<hex>}
//! ```
//!
//! Signing computes `d = SHA-256(JCS(document without its signature))` and
//! signs the 32 raw bytes of `d` (not its hex text, not the document).
//! Verification re-computes `d` and checks the envelope in the reference's
//! order ([`VerifyingKey::verify_digest`]), with strict Ed25519 verification.
//!
//! # Keys and roles
//!
//! [`SigningKey<R>`] and [`VerifyingKey<R>`] carry their [`Role`] in the
//! type ([`Trace`], [`Approval`], [`Delegation`], [`Release`]), so a key
//! loaded for approvals cannot be handed to the trace signer by accident.
//! Private keys are zeroized on drop and never printed: `Debug` shows the
//! role and key id only.
//!
//! Key text is the reference's: standard padded base64 of the 64 bytes
//! seed ‖ public key for a private key and of the 32 public-key bytes for a
//! public key, one line with a trailing newline in files. A [`KeySource`] is
//! a path or an environment variable; [`KeyConfig`] adds dev mode (an
//! ephemeral key, with [`DEV_MODE_WARNING`]) and prod mode (explicit key,
//! public half checked).
//!
//! A key's role can also be recorded on disk beside the key file (a
//! [`KeyRoleRecord`], see [`check_key_role`]), so a command that needs a
//! release key can refuse a key made for traces.
//!
//! # Example
//!
//! ```
//! use gait_sign::{Approval, SigningKey, Trace, VerifyingKey};
//! use serde_json::json;
//!
//! let key = SigningKey::<Trace>::generate()?;
//! let doc = json!({"schema_id": "example", "verdict": "allow"});
//! let envelope = key.sign_value(&doc);
//! assert_eq!(envelope.key_id, key.key_id().to_hex());
//!
//! // Anyone holding the public key text can verify offline.
//! let public = VerifyingKey::<Trace>::from_public_text(
//!     &key.verifying_key().to_public_text(), "example")?;
//! public.verify_value(&doc, &envelope)?;
//!
//! // A changed document fails.
//! assert!(public.verify_value(&json!({"schema_id": "example", "verdict": "block"}), &envelope).is_err());
//!
//! // Roles are types: this would not compile.
//! // let approver: SigningKey<Approval> = key;
//! # let _unused: Option<SigningKey<Approval>> = None;
//! # Ok::<(), gait_sign::Error>(())
//! ```

#![deny(unreachable_pub)]

mod envelope;
mod error;
mod files;
mod key;
mod role;
mod role_record;
mod source;

pub use envelope::{ALG_ED25519, SignatureEnvelope, split_embedded};
pub use error::{Error, VerifyFailure};
pub use files::{
    KeyPairFiles, MAX_KEY_FILE_BYTES, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE,
    PRIVATE_KEY_FORBIDDEN_MODE_BITS, STALE_TEMP_AGE, TEMP_MARKER, check_private_key_mode,
    create_private_dir, open_regular_file, read_regular_file_limited, remove_stale_temps,
    write_file_atomic, write_key_pair,
};
pub use key::{KeyId, SigningKey, VerifyingKey};
pub use role::{Approval, Delegation, Release, Role, RoleKind, Trace};
pub use role_record::{
    KeyRoleRecord, ROLE_RECORD_SCHEMA_ID, ROLE_RECORD_SCHEMA_VERSION, ROLE_RECORD_SUFFIX,
    RoleCheck, check_key_role, read_role_record, role_record_path, write_role_record,
};
pub use source::{
    DEV_MODE_WARNING, KeyConfig, KeyMode, KeySource, LoadedSigningKey, load_verifying_key,
};
