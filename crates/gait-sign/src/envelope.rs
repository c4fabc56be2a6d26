//! The signature envelope carried by every signed Gait document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::VerifyFailure;

/// The only algorithm Gait signs with.
pub const ALG_ED25519: &str = "ed25519";

/// `{"alg","key_id","sig","signed_digest"}`: who signed what, and how.
///
/// * `alg` is always `ed25519`;
/// * `key_id` is the hex SHA-256 of the signer's 32 public-key bytes;
/// * `sig` is standard padded base64 of the 64-byte Ed25519 signature over
///   the 32 raw bytes of `signed_digest`;
/// * `signed_digest` is the hex SHA-256 of the canonical (RFC 8785) form of
///   the signed document without its signature. It is omitted from JSON when
///   empty, as in the reference, though Gait always fills it.
///
/// Missing members decode as empty strings and unknown members are ignored,
/// as the reference decodes them; verification then fails on whatever is
/// missing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignatureEnvelope {
    /// The algorithm: `ed25519`.
    #[serde(default)]
    pub alg: String,
    /// The signer's key id.
    #[serde(default)]
    pub key_id: String,
    /// Base64 of the signature.
    #[serde(default)]
    pub sig: String,
    /// Hex of the signed digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signed_digest: String,
}

impl SignatureEnvelope {
    /// Parses an envelope from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, VerifyFailure> {
        Self::deserialize(value).map_err(|e| VerifyFailure::MalformedEnvelope(e.to_string()))
    }
}

/// Splits a document into its signable part (the document minus `field`)
/// and the envelope stored in `field`.
pub fn split_embedded(
    document: &Value,
    field: &str,
) -> Result<(Value, SignatureEnvelope), VerifyFailure> {
    let Value::Object(map) = document else {
        return Err(VerifyFailure::MalformedEnvelope(
            "document is not a JSON object".to_owned(),
        ));
    };
    let envelope = match map.get(field) {
        None | Some(Value::Null) => return Err(VerifyFailure::MissingSignature),
        Some(v) => SignatureEnvelope::from_value(v)?,
    };
    let mut signable = map.clone();
    signable.remove(field);
    Ok((Value::Object(signable), envelope))
}
