//! The approved-script registry: signed entries that pre-approve an exact
//! script (by script hash and tool sequence) under an exact policy.
//!
//! A registry file is `{"entries": [...]}` or a bare array of
//! `gait.gate.approved_script_entry` 1.0.0 documents; a missing or empty
//! file has no entries. Each entry is signed like a token (Ed25519 over the
//! SHA-256 of the canonical normalized entry without its signature) and must
//! be unexpired. A script intent that matches a verified entry is allowed
//! without policy evaluation (`approved_script_match`).

use gait_digest::{GoTime, null_as_default};
use gait_sign::{Approval, SignatureEnvelope, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intent::Intent;
use crate::intent::gostr::lower;
use crate::token::{is_digest_hex, normalize_scope};

/// `schema_id` of registry entries.
pub const ENTRY_SCHEMA_ID: &str = "gait.gate.approved_script_entry";
/// The largest registry file accepted.
pub const MAX_REGISTRY_BYTES: usize = 16 << 20;

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(missing_docs, reason = "field names are the schema's")]
pub struct ApprovedScriptEntry {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pattern_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub policy_digest: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub script_hash: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tool_sequence: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scope: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub approver_identity: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub expires_at: GoTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureEnvelope>,
}

/// Why a registry entry is invalid or does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// An entry's `schema_id` is not [`ENTRY_SCHEMA_ID`].
    #[error("unsupported approved script schema_id: {0}")]
    UnsupportedSchemaId(String),
    /// An entry's `schema_version` is not `1.0.0`.
    #[error("unsupported approved script schema_version: {0}")]
    UnsupportedSchemaVersion(String),
    /// A required entry field is empty (or the signature is absent).
    #[error("{0} is required")]
    MissingField(&'static str),
    /// A digest field is not 64 hex characters.
    #[error("{0} must be sha256 hex")]
    NotDigest(&'static str),
    /// `expires_at` is unset or not after `created_at`.
    #[error("expires_at must be after created_at")]
    ExpiryNotAfterCreation,
    /// The entry has expired.
    #[error("approved script entry is expired")]
    Expired,
    /// The entry's signature does not verify.
    #[error("verify approved script entry signature: {0}")]
    Signature(#[source] gait_sign::Error),
}

/// Why a registry file is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry file could not be read.
    #[error("read approved script registry {}: {source}", path.display())]
    Read {
        /// The registry file.
        path: std::path::PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The registry path is not a regular file.
    #[error("read approved script registry {}: not a regular file", path.display())]
    NotRegularFile {
        /// The registry path.
        path: std::path::PathBuf,
    },
    /// The registry is larger than [`MAX_REGISTRY_BYTES`].
    #[error("parse approved script registry: larger than {max} bytes", max = MAX_REGISTRY_BYTES)]
    TooLarge,
    /// The registry is not strict JSON.
    #[error("parse approved script registry: {0}")]
    Json(#[source] gait_digest::Error),
    /// `entries` is not an array.
    #[error("parse approved script registry: entries must be an array")]
    EntriesNotArray,
    /// The document is neither an array nor `{"entries": [...]}`.
    #[error("parse approved script registry: expected an array or {{\"entries\": [...]}}")]
    NotRegistry,
    /// An entry does not decode as an entry.
    #[error("parse approved script registry: entries[{index}]: {source}")]
    EntryDecode {
        /// The entry's index.
        index: usize,
        /// The decoder's reason.
        #[source]
        source: serde_json::Error,
    },
    /// An entry is invalid.
    #[error("approved script entries[{index}]: {source}")]
    Entry {
        /// The entry's index.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: EntryError,
    },
}

impl ApprovedScriptEntry {
    /// The normalized entry, or why it is invalid.
    ///
    /// # Errors
    ///
    /// [`EntryError`] naming the invalid field.
    pub fn normalized(&self) -> Result<ApprovedScriptEntry, EntryError> {
        let mut e = self.clone();
        if e.schema_id.trim().is_empty() {
            ENTRY_SCHEMA_ID.clone_into(&mut e.schema_id);
        }
        if e.schema_id.trim() != ENTRY_SCHEMA_ID {
            return Err(EntryError::UnsupportedSchemaId(e.schema_id));
        }
        if e.schema_version.trim().is_empty() {
            "1.0.0".clone_into(&mut e.schema_version);
        }
        if e.schema_version.trim() != "1.0.0" {
            return Err(EntryError::UnsupportedSchemaVersion(e.schema_version));
        }
        e.pattern_id = e.pattern_id.trim().to_owned();
        e.policy_digest = lower(e.policy_digest.trim());
        e.script_hash = lower(e.script_hash.trim());
        e.approver_identity = e.approver_identity.trim().to_owned();
        e.tool_sequence = normalize_scope(&e.tool_sequence);
        e.scope = normalize_scope(&e.scope);
        e.created_at = e.created_at.to_utc();
        e.expires_at = e.expires_at.to_utc();
        if e.created_at.is_zero() {
            e.created_at = GoTime::from_unix(315_532_800, 0);
        }
        if e.pattern_id.is_empty() {
            return Err(EntryError::MissingField("pattern_id"));
        }
        if !is_digest_hex(&e.policy_digest) {
            return Err(EntryError::NotDigest("policy_digest"));
        }
        if !is_digest_hex(&e.script_hash) {
            return Err(EntryError::NotDigest("script_hash"));
        }
        if e.tool_sequence.is_empty() {
            return Err(EntryError::MissingField("tool_sequence"));
        }
        if e.approver_identity.is_empty() {
            return Err(EntryError::MissingField("approver_identity"));
        }
        if e.expires_at.is_zero() || !e.expires_at.is_after(&e.created_at) {
            return Err(EntryError::ExpiryNotAfterCreation);
        }
        Ok(e)
    }

    /// Verifies the entry's signature and expiry.
    ///
    /// # Errors
    ///
    /// [`EntryError`]: the entry is invalid, unsigned, expired, or its
    /// signature does not verify.
    pub fn verify(&self, key: &VerifyingKey<Approval>, now: &GoTime) -> Result<(), EntryError> {
        let normalized = self.normalized()?;
        let envelope = normalized
            .signature
            .clone()
            .ok_or(EntryError::MissingField("signature"))?;
        if !normalized.expires_at.is_after(now) {
            return Err(EntryError::Expired);
        }
        let mut signable = normalized;
        signable.signature = None;
        key.verify_serialize(&signable, &envelope)
            .map_err(EntryError::Signature)
    }
}

/// The registry entries a decision may use, and what was skipped.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LoadedRegistry {
    /// Verified, unexpired entries (empty when the fast path is off).
    pub entries: Vec<ApprovedScriptEntry>,
    /// Why the fast path is off, when it is and that is allowed.
    pub warnings: Vec<String>,
}

/// Why the registry could not be used for a decision.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryLoadError<E: std::error::Error + 'static> {
    /// The registry cannot be read or parsed and the call must fail
    /// closed: the call is blocked (`gate eval` exit 3).
    #[error("approved script registry unavailable in fail-closed mode: {0}")]
    Unavailable(#[source] RegistryError),
    /// No verify key is configured and the call must fail closed.
    #[error(
        "approved script registry verification unavailable in fail-closed mode: verify key required"
    )]
    NoVerifyKey,
    /// An entry failed verification and the call must fail closed.
    #[error("approved script registry verification failed at entry {index}: {source}")]
    Unverified {
        /// The entry's index.
        index: usize,
        /// Why it failed.
        #[source]
        source: EntryError,
    },
    /// The verify key could not be loaded.
    #[error(transparent)]
    Key(E),
}

/// Loads the approved-script registry at `path` for one decision and
/// verifies every entry with the key `key` returns (called once the
/// registry has been read; `None` means no verify key is configured), at
/// `now`.
///
/// A registry that is missing has no entries. When the registry cannot be
/// read or parsed, no verify key is configured, or an entry fails
/// verification: with `fail_closed` (the `oss-prod` profile, or a high or
/// critical risk class; see [`crate::gate::optional_inputs_fail_closed`])
/// the result is a [`RegistryLoadError`] other than
/// [`RegistryLoadError::Key`] and the call is blocked; otherwise the fast path is turned off with a warning.
///
/// # Errors
///
/// [`RegistryLoadError`] as above.
pub fn load_for_decision<E, K>(
    path: &std::path::Path,
    fail_closed: bool,
    now: &GoTime,
    key: K,
) -> Result<LoadedRegistry, RegistryLoadError<E>>
where
    E: std::error::Error + 'static,
    K: FnOnce() -> Result<Option<VerifyingKey<Approval>>, E>,
{
    let unusable = |error: RegistryLoadError<E>, warning: &str| {
        if fail_closed {
            Err(error)
        } else {
            Ok(LoadedRegistry {
                entries: Vec::new(),
                warnings: vec![warning.to_owned()],
            })
        }
    };
    let read = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        _ => read_registry_file(path).and_then(|b| read_registry(&b)),
    };
    let entries = match read {
        Ok(e) => e,
        Err(e) => {
            return unusable(
                RegistryLoadError::Unavailable(e),
                "approved script registry unavailable; continuing without fast-path pre-approval",
            );
        }
    };
    let Some(key) = key().map_err(RegistryLoadError::Key)? else {
        return unusable(
            RegistryLoadError::NoVerifyKey,
            "approved script fast-path disabled because registry verify key is not configured",
        );
    };
    for (i, e) in entries.iter().enumerate() {
        if let Err(source) = e.verify(&key, now) {
            return unusable(
                RegistryLoadError::Unverified { index: i, source },
                "approved script registry entry failed verification; fast-path disabled",
            );
        }
    }
    Ok(LoadedRegistry {
        entries,
        warnings: Vec::new(),
    })
}

fn read_registry_file(path: &std::path::Path) -> Result<Vec<u8>, RegistryError> {
    use std::io::Read as _;
    let what = |source: std::io::Error| RegistryError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(what)?;
    if !file.metadata().map_err(what)?.is_file() {
        return Err(RegistryError::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    let mut buf = Vec::new();
    file.take(MAX_REGISTRY_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(what)?;
    Ok(buf)
}

/// Parses a registry file (entries are normalized; an invalid entry is an
/// error naming its index).
///
/// # Errors
///
/// [`RegistryError`] when the file is too large, not JSON, not a
/// registry, or an entry is invalid.
pub fn read_registry(bytes: &[u8]) -> Result<Vec<ApprovedScriptEntry>, RegistryError> {
    if bytes.len() > MAX_REGISTRY_BYTES {
        return Err(RegistryError::TooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value = gait_digest::canonical::parse_strict(bytes).map_err(RegistryError::Json)?;
    let items = match value {
        Value::Object(mut m) => match m.remove("entries") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(RegistryError::EntriesNotArray),
            None => return Err(RegistryError::NotRegistry),
        },
        Value::Array(a) => a,
        _ => return Err(RegistryError::NotRegistry),
    };
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let e: ApprovedScriptEntry = serde_json::from_value(item)
            .map_err(|source| RegistryError::EntryDecode { index: i, source })?;
        entries.push(
            e.normalized()
                .map_err(|source| RegistryError::Entry { index: i, source })?,
        );
    }
    Ok(entries)
}

/// The outcome of looking an intent up in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryMatch {
    /// Whether an entry matched.
    pub matched: bool,
    /// The matching entry's pattern id.
    pub pattern_id: String,
    /// `approved_script_match`, `approved_script_not_found` or `not_script`.
    pub reason: String,
}

fn scope_matches(intent: &Intent, scope: &[String]) -> bool {
    scope.iter().all(|s| {
        if let Some(risk) = s.strip_prefix("risk:") {
            lower(intent.context().risk_class.trim()) == risk
        } else if let Some(tool) = s.strip_prefix("tool:") {
            lower(intent.tool_name().trim()) == tool
        } else if let Some(prefix) = s.strip_prefix("workspace_prefix:") {
            let ws = gait_digest::clean_path(intent.context().workspace.trim());
            ws == prefix || ws.strip_prefix(prefix).is_some_and(|r| r.starts_with('/'))
        } else if let Some(class) = s.strip_prefix("endpoint:") {
            match intent.script() {
                Some(script) => script
                    .steps
                    .iter()
                    .flat_map(|st| st.targets.iter())
                    .any(|t| t.endpoint_class.as_str() == class),
                None => intent
                    .targets()
                    .iter()
                    .any(|t| t.endpoint_class.as_str() == class),
            }
        } else {
            false
        }
    })
}

/// Looks a (normalized) intent up in verified registry entries.
pub fn match_script(
    intent: &Intent,
    policy_digest: &str,
    entries: &[ApprovedScriptEntry],
    now: &GoTime,
) -> RegistryMatch {
    let not = |reason: &str| RegistryMatch {
        matched: false,
        pattern_id: String::new(),
        reason: reason.to_owned(),
    };
    let (Some(script), Some(hash)) = (intent.script(), intent.script_hash()) else {
        return not("not_script");
    };
    let sequence: Vec<&str> = script.steps.iter().map(|s| s.tool_name.as_str()).collect();
    let hash = hash.to_hex();
    let policy_digest = lower(policy_digest.trim());
    for e in entries {
        if lower(e.policy_digest.trim()) != policy_digest || lower(e.script_hash.trim()) != hash {
            continue;
        }
        if !e.expires_at.is_after(now) {
            continue;
        }
        let seq = normalize_scope(&e.tool_sequence);
        if seq.len() != sequence.len() || seq.iter().zip(&sequence).any(|(a, b)| a != b) {
            continue;
        }
        if !scope_matches(intent, &normalize_scope(&e.scope)) {
            continue;
        }
        return RegistryMatch {
            matched: true,
            pattern_id: e.pattern_id.clone(),
            reason: "approved_script_match".into(),
        };
    }
    not("approved_script_not_found")
}
