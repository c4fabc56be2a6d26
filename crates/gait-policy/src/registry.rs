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
/// The members of an entry (matched as Go does: exactly, else ignoring
/// case; see `jsonfold`).
const ENTRY_FIELDS: &[&str] = &[
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "pattern_id",
    "policy_digest",
    "script_hash",
    "tool_sequence",
    "scope",
    "approver_identity",
    "expires_at",
    "signature",
];
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
    /// The entry could not be signed.
    #[error("sign approved script entry: {0}")]
    Sign(#[source] gait_sign::Error),
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
    /// Two members of an entry select the same field (names equal
    /// ignoring case).
    #[error("parse approved script registry: entries[{index}]: ambiguous member names for {field}")]
    AmbiguousMember {
        /// The entry's index.
        index: usize,
        /// The field.
        field: String,
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
    /// The registry could not be written (or its lock taken).
    #[error("write approved script registry {}: {reason}", path.display())]
    Write {
        /// The registry file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
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
    for (i, mut item) in items.into_iter().enumerate() {
        let ambiguous = |field: String| RegistryError::AmbiguousMember { index: i, field };
        crate::jsonfold::fold_member_names(&mut item, ENTRY_FIELDS).map_err(ambiguous)?;
        if let Value::Object(m) = &mut item {
            if let Some(sig) = m.get_mut("signature") {
                crate::jsonfold::fold_member_names(sig, crate::pack_registry::SIGNATURE_FIELDS)
                    .map_err(ambiguous)?;
            }
        }
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

// ---------------------------------------------------------------------------
// Writing: `gait approve-script`, and listing: `gait list-scripts`.
// ---------------------------------------------------------------------------

/// How long a writer waits for another writer's registry lock.
pub const REGISTRY_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why an approved script cannot be created from a policy and an intent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApproveScriptError {
    /// The intent is a single tool call, not a script.
    #[error("intent must include script.steps")]
    NotScript,
    /// The time to live is not positive.
    #[error("invalid --ttl duration")]
    BadTtl,
    /// The entry is invalid or could not be signed.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// What `gait approve-script` approves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScriptApproval {
    /// The approver (`--approver`).
    pub approver_identity: String,
    /// The pattern id (`--pattern-id`; blank: `pattern_<script_hash[:12]>`).
    pub pattern_id: String,
    /// Scopes (`--scope`, split).
    pub scope: Vec<String>,
    /// Time to live in nanoseconds (> 0).
    pub ttl_nanos: i128,
    /// The producer version written into the entry.
    pub producer_version: String,
    /// The creation time (UTC).
    pub now: GoTime,
}

impl ScriptApproval {
    /// An approval by `approver_identity` for `ttl_nanos`, created now.
    pub fn new(approver_identity: &str, ttl_nanos: i128, producer_version: &str) -> Self {
        Self {
            approver_identity: approver_identity.to_owned(),
            pattern_id: String::new(),
            scope: Vec::new(),
            ttl_nanos,
            producer_version: producer_version.to_owned(),
            now: GoTime::now_utc(),
        }
    }

    /// Sets the pattern id.
    #[must_use]
    pub fn with_pattern_id(mut self, pattern_id: &str) -> Self {
        pattern_id.clone_into(&mut self.pattern_id);
        self
    }

    /// Sets the scopes.
    #[must_use]
    pub fn with_scope(mut self, scope: Vec<String>) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the creation time.
    #[must_use]
    pub fn at(mut self, now: GoTime) -> Self {
        self.now = now;
        self
    }
}

impl ApprovedScriptEntry {
    /// A signed entry approving the script of `intent` under the policy
    /// whose digest is `policy_digest`.
    ///
    /// # Errors
    ///
    /// [`ApproveScriptError`]: the intent is not a script, the ttl is not
    /// positive, the entry is invalid, or signing failed.
    pub fn approve(
        intent: &Intent,
        policy_digest: &str,
        approval: &ScriptApproval,
        key: &gait_sign::SigningKey<Approval>,
    ) -> Result<ApprovedScriptEntry, ApproveScriptError> {
        let (Some(script), Some(hash)) = (intent.script(), intent.script_hash()) else {
            return Err(ApproveScriptError::NotScript);
        };
        if script.steps.is_empty() {
            return Err(ApproveScriptError::NotScript);
        }
        if approval.ttl_nanos <= 0 {
            return Err(ApproveScriptError::BadTtl);
        }
        let script_hash = hash.to_hex();
        let mut pattern_id = approval.pattern_id.trim().to_owned();
        if pattern_id.is_empty() {
            pattern_id = format!("pattern_{}", script_hash.get(..12).unwrap_or(&script_hash));
        }
        let created_at = approval.now.to_utc();
        let entry = ApprovedScriptEntry {
            schema_id: ENTRY_SCHEMA_ID.to_owned(),
            schema_version: "1.0.0".to_owned(),
            created_at,
            producer_version: approval.producer_version.clone(),
            pattern_id,
            policy_digest: policy_digest.to_owned(),
            script_hash,
            tool_sequence: script.steps.iter().map(|s| s.tool_name.clone()).collect(),
            scope: approval.scope.clone(),
            approver_identity: approval.approver_identity.clone(),
            expires_at: crate::token::add_nanos(created_at, approval.ttl_nanos),
            signature: None,
        };
        Ok(entry.signed(key)?)
    }

    /// The normalized entry signed with `key` (any earlier signature is
    /// replaced).
    ///
    /// # Errors
    ///
    /// [`EntryError`]: the entry is invalid or signing failed.
    pub fn signed(
        &self,
        key: &gait_sign::SigningKey<Approval>,
    ) -> Result<ApprovedScriptEntry, EntryError> {
        let mut e = self.normalized()?;
        e.signature = None;
        let envelope = key.sign_serialize(&e).map_err(EntryError::Sign)?;
        e.signature = Some(envelope);
        Ok(e)
    }
}

/// Reads the registry file at `path`: a missing file has no entries (see
/// [`read_registry`]).
///
/// # Errors
///
/// [`RegistryError`] when the file is unreadable, not a regular file, too
/// large, not a registry, or an entry is invalid.
pub fn read_registry_path(
    path: &std::path::Path,
) -> Result<Vec<ApprovedScriptEntry>, RegistryError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        _ => read_registry_file(path).and_then(|b| read_registry(&b)),
    }
}

/// Inserts `entry`, replacing an entry with the same `pattern_id` in
/// place, then sorts by (`pattern_id`, `created_at`).
pub fn upsert_entry(entries: &mut Vec<ApprovedScriptEntry>, entry: ApprovedScriptEntry) {
    match entries
        .iter_mut()
        .find(|e| e.pattern_id == entry.pattern_id)
    {
        Some(slot) => *slot = entry,
        None => entries.push(entry),
    }
    entries.sort_by(|a, b| {
        a.pattern_id
            .cmp(&b.pattern_id)
            .then_with(|| a.created_at.unix_nanos().cmp(&b.created_at.unix_nanos()))
    });
}

/// The registry file bytes: `{"entries":[…]}` indented by two spaces in
/// member order, and a newline.
pub fn registry_file_bytes(entries: &[ApprovedScriptEntry]) -> Vec<u8> {
    #[derive(Serialize)]
    struct File<'a> {
        entries: &'a [ApprovedScriptEntry],
    }
    let mut out = serde_json::to_vec_pretty(&File { entries }).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Adds (or replaces, by `pattern_id`) a signed entry in the registry at
/// `path`, under an exclusive lock on `<path>.lock`: the registry is read
/// (an invalid registry is an error and is left as it is), updated and
/// written atomically (temporary file, fsync, rename; mode 0600, missing
/// parent directories 0750). Returns all entries written.
///
/// # Errors
///
/// [`RegistryError`]: the registry is unreadable or invalid, the lock
/// could not be taken within [`REGISTRY_LOCK_TIMEOUT`], or the write
/// failed.
pub fn upsert_registry_file(
    path: &std::path::Path,
    entry: ApprovedScriptEntry,
) -> Result<Vec<ApprovedScriptEntry>, RegistryError> {
    let werr = |reason: String| RegistryError::Write {
        path: path.to_path_buf(),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        gait_sign::create_private_dir(dir).map_err(|e| werr(e.to_string()))?;
    }
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let _lock =
        crate::filelock::FileLock::acquire(std::path::Path::new(&lock_path), REGISTRY_LOCK_TIMEOUT)
            .map_err(|e| werr(e.to_string()))?;
    let mut entries = read_registry_path(path)?;
    upsert_entry(&mut entries, entry);
    gait_sign::write_file_atomic(
        path,
        &registry_file_bytes(&entries),
        gait_sign::PRIVATE_FILE_MODE,
        true,
    )
    .map_err(|e| werr(e.to_string()))?;
    Ok(entries)
}

/// One entry as `gait list-scripts` shows it (signatures are not checked).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ListedScript {
    /// The pattern id.
    pub pattern_id: String,
    /// The approver.
    pub approver_identity: String,
    /// The policy digest.
    pub policy_digest: String,
    /// The script hash.
    pub script_hash: String,
    /// The normalized tool sequence.
    pub tool_sequence: Vec<String>,
    /// The normalized scopes (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// `expires_at`, RFC 3339 with nanoseconds, UTC.
    pub expires_at: String,
    /// `expires_at` ≤ now.
    pub expired: bool,
}

/// The entries of the registry at `path` in file order, with their expiry
/// at `now` (a missing file has none). Signatures are **not** checked:
/// listing is not verification (`gate eval` verifies).
///
/// # Errors
///
/// [`RegistryError`] as [`read_registry_path`].
pub fn list_registry(
    path: &std::path::Path,
    now: &GoTime,
) -> Result<Vec<ListedScript>, RegistryError> {
    Ok(read_registry_path(path)?
        .into_iter()
        .map(|e| ListedScript {
            expired: !e.expires_at.is_after(now),
            pattern_id: e.pattern_id,
            approver_identity: e.approver_identity,
            policy_digest: e.policy_digest,
            script_hash: e.script_hash,
            tool_sequence: e.tool_sequence,
            scope: e.scope,
            expires_at: e.expires_at.to_utc().format(),
        })
        .collect())
}
