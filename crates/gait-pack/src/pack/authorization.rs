//! Authorization packs (`pack_type: authorization`): an authorization
//! bundle (`gait.gate.authorization_bundle` 1.0.0) and the evidence files
//! it links, byte for byte.
//!
//! | entry | content |
//! |---|---|
//! | `authorization_bundle.json` | the normalized [`AuthorizationBundle`] (canonical JSON) |
//! | `evidence/<path>` | a raw copy of each linked file (a path linked twice is stored once) |
//!
//! A bundle links up to six evidence files (`trace`, `approval_audit`,
//! `credential_evidence`, `delegation_audit`, `context_evidence`,
//! `outcome`), each as a `<name>_path` (local, relative to the bundle's
//! directory) and a `<name>_digest`: SHA-256 of the canonical JSON for a
//! `.json` file, of the raw bytes otherwise. [`check_authorization_contract`]
//! recomputes every digest from the packed copies and requires the trace
//! link (and the outcome link when `outcome_status` is set). The builder
//! requires them too, where the reference builds packs its own verifier
//! rejects.

use std::io::Read as _;
use std::path::Path;

use gait_digest::{GoTime, null_as_default, sha256};
use gait_sign::{SigningKey, Trace};
use serde::{Deserialize, Serialize};

use super::build::{
    BuildOptions, BuildResult, BuiltPack, assemble, local_or_absolute, write_built,
};
use super::error::{ContractError, PackError, parse_strict};
use super::manifest::{deterministic_time, is_sha256_hex};
use super::verify::MAX_PACK_ENTRY_BYTES;

/// `authorization_bundle.json`.
pub const AUTHORIZATION_BUNDLE_FILE: &str = "authorization_bundle.json";
/// `schema_id` of an authorization bundle.
pub const AUTHORIZATION_BUNDLE_SCHEMA_ID: &str = "gait.gate.authorization_bundle";
/// `schema_id` of the derived authorization payload (`pack inspect`).
pub const AUTHORIZATION_PAYLOAD_SCHEMA_ID: &str = "gait.pack.authorization";
/// The folder of the evidence copies inside a pack.
pub const EVIDENCE_DIR: &str = "evidence/";
/// The outcome statuses a bundle may declare.
pub const OUTCOME_STATUSES: [&str; 4] = ["allow", "block", "dry_run", "require_approval"];

const REQUIRED_IDS: &str =
    "authorization bundle requires trace_id, policy_digest, and intent_digest";

/// A freeze-window decision recorded in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FreezeWindowDecision {
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub effect: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub timezone: String,
    /// Never omitted: a zero time is `0001-01-01T00:00:00Z`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub evaluated_at: GoTime,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub window_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub window_start: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub window_end: GoTime,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub reason: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub reason_code: String,
}

/// A kill-switch decision recorded in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct KillSwitchDecision {
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub reason_code: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reason_codes: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub matched_entry_ids: Vec<String>,
    /// Never omitted: a zero time is `0001-01-01T00:00:00Z`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub evaluated_at: GoTime,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A sandbox decision recorded in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SandboxDecision {
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub network_mode: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub env_exposure_mode: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    pub timeout_seconds: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub filesystem_isolation: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user_mode: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub evidence_ref: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub evidence_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reason_codes: Vec<String>,
}

macro_rules! bundle {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// An authorization bundle (`gait.gate.authorization_bundle`).
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(missing_docs)]
        pub struct AuthorizationBundle {
            #[serde(default, deserialize_with = "null_as_default")]
            pub schema_id: String,
            #[serde(default, deserialize_with = "null_as_default")]
            pub schema_version: String,
            #[serde(default, deserialize_with = "null_as_default")]
            pub created_at: GoTime,
            #[serde(default, deserialize_with = "null_as_default")]
            pub producer_version: String,
            #[serde(default, deserialize_with = "null_as_default")]
            pub trace_id: String,
            #[serde(default, deserialize_with = "null_as_default")]
            pub policy_digest: String,
            #[serde(default, deserialize_with = "null_as_default")]
            pub intent_digest: String,
            $(
                #[serde(
                    default,
                    deserialize_with = "null_as_default",
                    skip_serializing_if = "String::is_empty"
                )]
                pub $name: String,
            )*
            #[serde(
                default,
                deserialize_with = "null_as_default",
                skip_serializing_if = "String::is_empty"
            )]
            pub outcome_status: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub freeze_window: Option<FreezeWindowDecision>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub kill_switch: Option<KillSwitchDecision>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub sandbox: Option<SandboxDecision>,
        }
    };
}

bundle!(
    trace_path,
    trace_digest,
    approval_audit_path,
    approval_audit_digest,
    credential_evidence_path,
    credential_evidence_digest,
    delegation_audit_path,
    delegation_audit_digest,
    context_evidence_path,
    context_evidence_digest,
    outcome_path,
    outcome_digest,
);

/// What `pack inspect` derives from an authorization bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub struct AuthorizationPayload {
    pub schema_id: String,
    pub schema_version: String,
    pub created_at: GoTime,
    pub trace_id: String,
    pub policy_digest: String,
    pub intent_digest: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub outcome_status: String,
    /// Links with a path.
    pub linked_evidence_count: usize,
    /// The trace and the outcome links with both path and digest (0–2).
    pub required_evidence_count: usize,
}

impl AuthorizationBundle {
    /// Parses a bundle strictly (one JSON value, unknown and repeated
    /// members rejected).
    pub fn parse(bytes: &[u8]) -> Result<Self, ContractError> {
        parse_strict(bytes)
    }

    /// The six evidence links in their fixed order: `(name, path, digest)`.
    pub fn links(&self) -> [(&'static str, &str, &str); 6] {
        [
            ("trace", &self.trace_path, &self.trace_digest),
            (
                "approval_audit",
                &self.approval_audit_path,
                &self.approval_audit_digest,
            ),
            (
                "credential_evidence",
                &self.credential_evidence_path,
                &self.credential_evidence_digest,
            ),
            (
                "delegation_audit",
                &self.delegation_audit_path,
                &self.delegation_audit_digest,
            ),
            (
                "context_evidence",
                &self.context_evidence_path,
                &self.context_evidence_digest,
            ),
            ("outcome", &self.outcome_path, &self.outcome_digest),
        ]
    }

    fn links_mut(&mut self) -> [(&'static str, &mut String, &mut String); 6] {
        [
            ("trace", &mut self.trace_path, &mut self.trace_digest),
            (
                "approval_audit",
                &mut self.approval_audit_path,
                &mut self.approval_audit_digest,
            ),
            (
                "credential_evidence",
                &mut self.credential_evidence_path,
                &mut self.credential_evidence_digest,
            ),
            (
                "delegation_audit",
                &mut self.delegation_audit_path,
                &mut self.delegation_audit_digest,
            ),
            (
                "context_evidence",
                &mut self.context_evidence_path,
                &mut self.context_evidence_digest,
            ),
            ("outcome", &mut self.outcome_path, &mut self.outcome_digest),
        ]
    }

    /// The payload `pack inspect` shows.
    pub fn payload(&self) -> AuthorizationPayload {
        let linked = self
            .links()
            .iter()
            .filter(|(_, p, _)| !p.trim().is_empty())
            .count();
        let complete = |p: &str, d: &str| usize::from(!p.trim().is_empty() && !d.trim().is_empty());
        AuthorizationPayload {
            schema_id: AUTHORIZATION_PAYLOAD_SCHEMA_ID.into(),
            schema_version: "1.0.0".into(),
            created_at: self.created_at,
            trace_id: self.trace_id.clone(),
            policy_digest: self.policy_digest.clone(),
            intent_digest: self.intent_digest.clone(),
            outcome_status: self.outcome_status.clone(),
            linked_evidence_count: linked,
            required_evidence_count: complete(&self.trace_path, &self.trace_digest)
                + complete(&self.outcome_path, &self.outcome_digest),
        }
    }
}

/// Cleans an evidence path (trimmed, `\` as `/`, lexically cleaned) and
/// refuses anything that is not local and relative.
pub(crate) fn clean_evidence_path(raw: &str) -> Result<String, String> {
    let p = raw.trim().replace('\\', "/");
    let cleaned = gait_digest::clean_path(&p);
    if p.is_empty()
        || cleaned.starts_with('/')
        || cleaned == "."
        || cleaned == ".."
        || cleaned.starts_with("../")
    {
        return Err(format!(
            "authorization evidence path must be local relative: {raw}"
        ));
    }
    Ok(cleaned)
}

/// The digest of an evidence file: SHA-256 of its canonical JSON when the
/// name ends in `.json` (any case), else of its bytes.
pub fn evidence_digest(path: &str, bytes: &[u8]) -> Result<String, ContractError> {
    if path.to_ascii_lowercase().ends_with(".json") {
        let canonical = gait_digest::canonical::from_slice(bytes).map_err(ContractError::Json)?;
        Ok(sha256(&canonical).to_hex())
    } else {
        Ok(sha256(bytes).to_hex())
    }
}

fn read_evidence(path: &Path, what: &str) -> Result<Vec<u8>, PackError> {
    let fail =
        |e: std::io::Error| PackError::invalid(format!("read {what} {}: {e}", path.display()));
    let file = gait_sign::open_regular_file(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(MAX_PACK_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_PACK_ENTRY_BYTES {
        return Err(PackError::invalid(format!(
            "{what} {} exceeds {MAX_PACK_ENTRY_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Builds an authorization pack in memory from the bytes of a bundle;
/// evidence paths are read relative to `bundle_dir`. A blank bundle
/// `producer_version` becomes `producer_version` (the CLI's), which the
/// manifest and proof records carry, so a bundle that names its producer
/// version gives the same pack in every implementation.
pub fn build_authorization_pack_bytes(
    bundle: &[u8],
    bundle_dir: &Path,
    producer_version: &str,
    signing_key: Option<&SigningKey<Trace>>,
) -> Result<BuiltPack, PackError> {
    let mut b = AuthorizationBundle::parse(bundle)
        .map_err(|e| PackError::invalid(format!("parse authorization bundle: {e}")))?;
    if b.schema_id.trim().is_empty() {
        b.schema_id = AUTHORIZATION_BUNDLE_SCHEMA_ID.into();
    }
    if b.schema_version.trim().is_empty() {
        b.schema_version = "1.0.0".into();
    }
    if b.schema_id.trim() != AUTHORIZATION_BUNDLE_SCHEMA_ID {
        return Err(PackError::invalid(format!(
            "authorization bundle schema_id must be {AUTHORIZATION_BUNDLE_SCHEMA_ID}"
        )));
    }
    if b.schema_version.trim() != "1.0.0" {
        return Err(PackError::invalid(
            "authorization bundle schema_version must be 1.0.0",
        ));
    }
    b.schema_id = AUTHORIZATION_BUNDLE_SCHEMA_ID.into();
    b.schema_version = "1.0.0".into();
    b.created_at = if b.created_at.is_zero() {
        deterministic_time()
    } else {
        b.created_at.to_utc()
    };
    b.producer_version = b.producer_version.trim().to_owned();
    if b.producer_version.is_empty() {
        b.producer_version = match producer_version.trim() {
            "" => super::DEFAULT_PRODUCER_VERSION.to_owned(),
            v => v.to_owned(),
        };
    }
    b.trace_id = b.trace_id.trim().to_owned();
    b.policy_digest = b.policy_digest.trim().to_ascii_lowercase();
    b.intent_digest = b.intent_digest.trim().to_ascii_lowercase();
    if b.trace_id.is_empty() || !is_sha256_hex(&b.policy_digest) || !is_sha256_hex(&b.intent_digest)
    {
        return Err(PackError::invalid(REQUIRED_IDS));
    }
    if !b.outcome_status.is_empty() && !OUTCOME_STATUSES.contains(&b.outcome_status.as_str()) {
        return Err(PackError::invalid(
            "authorization bundle outcome_status must be allow|block|dry_run|require_approval",
        ));
    }
    let mut evidence: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, path, digest) in b.links_mut() {
        let given = digest.trim().to_ascii_lowercase();
        if path.trim().is_empty() {
            if !given.is_empty() {
                return Err(PackError::invalid(format!(
                    "authorization bundle digest requires corresponding path ({name}_digest)"
                )));
            }
            path.clear();
            digest.clear();
            continue;
        }
        let cleaned = clean_evidence_path(path).map_err(PackError::invalid)?;
        let bytes = read_evidence(&bundle_dir.join(&cleaned), "authorization evidence")?;
        let computed = evidence_digest(&cleaned, &bytes)
            .map_err(|e| PackError::invalid(format!("authorization evidence {cleaned}: {e}")))?;
        if !given.is_empty() && given != computed {
            return Err(PackError::invalid(format!(
                "authorization evidence digest mismatch for {name}_path {cleaned}: expected {given}, computed {computed}"
            )));
        }
        *path = cleaned.clone();
        *digest = computed;
        let entry = format!("{EVIDENCE_DIR}{cleaned}");
        if !evidence.iter().any(|(n, _)| *n == entry) {
            evidence.push((entry, bytes));
        }
    }
    // Refused here, where the reference builds packs its verifier rejects
    // (defect D9).
    if b.trace_path.is_empty() {
        return Err(PackError::invalid(
            "authorization bundle requires trace_path (the pack would not verify)",
        ));
    }
    if !b.outcome_status.is_empty() && b.outcome_path.is_empty() {
        return Err(PackError::invalid(
            "authorization bundle with outcome_status requires outcome_path (the pack would not verify)",
        ));
    }
    let bundle_bytes = gait_digest::canonical::to_vec_from(&b)
        .map_err(|e| PackError::invalid(format!("encode authorization bundle: {e}")))?;
    let mut files = vec![(AUTHORIZATION_BUNDLE_FILE.to_owned(), bundle_bytes)];
    files.extend(evidence);
    assemble(
        "authorization",
        &b.trace_id,
        &b.producer_version,
        files,
        signing_key,
    )
}

/// Builds an authorization pack from the bundle at `bundle` and writes it
/// atomically (mode 0600, parent directories 0750) to
/// `options.output_path` or `pack_<pack_id>.zip` next to the bundle.
pub fn build_authorization_pack(
    bundle: &Path,
    options: &BuildOptions,
) -> Result<BuildResult, PackError> {
    let bundle = local_or_absolute(bundle)
        .map_err(|e| PackError::invalid(format!("authorization bundle path: {e}")))?;
    let bytes = read_evidence(&bundle, "authorization bundle")?;
    let dir = bundle.parent().unwrap_or(Path::new(".")).to_path_buf();
    let built = build_authorization_pack_bytes(
        &bytes,
        &dir,
        &options.producer_version,
        options.signing_key.as_ref(),
    )?;
    let out = match &options.output_path {
        Some(p) => p.clone(),
        None => super::call::default_out(&dir, &built),
    };
    write_built(&out, built)
}

/// The payload contract of an authorization pack. `read` returns an
/// entry's bytes (`None` when absent).
pub fn check_authorization_contract(read: &mut super::ReadEntry<'_>) -> Result<(), ContractError> {
    let bytes = read(AUTHORIZATION_BUNDLE_FILE)?
        .ok_or(ContractError::MissingEntry(AUTHORIZATION_BUNDLE_FILE))?;
    let b = AuthorizationBundle::parse(&bytes)
        .map_err(|e| ContractError::parse(AUTHORIZATION_BUNDLE_FILE, e))?;
    if b.schema_id.trim() != AUTHORIZATION_BUNDLE_SCHEMA_ID {
        return Err(ContractError::Rule(
            "authorization bundle schema_id must be gait.gate.authorization_bundle",
        ));
    }
    if b.schema_version.trim() != "1.0.0" {
        return Err(ContractError::Rule(
            "authorization bundle schema_version must be 1.0.0",
        ));
    }
    if b.created_at.is_zero() {
        return Err(ContractError::Rule(
            "authorization bundle created_at is required",
        ));
    }
    if b.trace_id.trim().is_empty()
        || !is_sha256_hex(&b.policy_digest)
        || !is_sha256_hex(&b.intent_digest)
    {
        return Err(ContractError::Rule(REQUIRED_IDS));
    }
    let status = b.outcome_status.trim();
    if !status.is_empty() && !OUTCOME_STATUSES.contains(&status) {
        return Err(ContractError::Rule(
            "authorization bundle outcome_status must be allow|block|dry_run|require_approval",
        ));
    }
    for (name, path, digest) in b.links() {
        if path.trim().is_empty() {
            if !digest.trim().is_empty() {
                return Err(ContractError::Detail(format!(
                    "authorization bundle {name}_digest requires {name}_path"
                )));
            }
            continue;
        }
        let cleaned = clean_evidence_path(path).map_err(ContractError::Detail)?;
        let entry = format!("{EVIDENCE_DIR}{cleaned}");
        let data = read(&entry)?.ok_or_else(|| ContractError::MissingNamedEntry(entry.clone()))?;
        let computed = evidence_digest(&cleaned, &data)
            .map_err(|e| ContractError::Detail(format!("{entry}: {e}")))?;
        if computed != digest.trim().to_ascii_lowercase() {
            return Err(ContractError::Detail(format!("{entry} digest mismatch")));
        }
    }
    if b.trace_path.trim().is_empty() || b.trace_digest.trim().is_empty() {
        return Err(ContractError::Rule(
            "authorization bundle requires trace_path and trace_digest",
        ));
    }
    if !status.is_empty()
        && (b.outcome_path.trim().is_empty() || b.outcome_digest.trim().is_empty())
    {
        return Err(ContractError::Rule(
            "authorization bundle with outcome_status requires outcome_path and outcome_digest",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_paths_must_be_local_and_relative() {
        assert_eq!(clean_evidence_path(" ./ev//a.json ").unwrap(), "ev/a.json");
        assert_eq!(clean_evidence_path("ev\\b.txt").unwrap(), "ev/b.txt");
        assert_eq!(clean_evidence_path("ev/x/../a").unwrap(), "ev/a");
        for bad in [
            "/etc/passwd",
            "..",
            "../x",
            "ev/../../x",
            ".",
            "",
            "  ",
            "\\abs",
        ] {
            assert!(clean_evidence_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn json_evidence_is_digested_canonically() {
        let a = evidence_digest("a.JSON", br#"{ "b": 1, "a": [1, 2] }"#).unwrap();
        let b = evidence_digest("a.json", br#"{"a":[1,2],"b":1}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, sha256(br#"{"a":[1,2],"b":1}"#).to_hex());
        let raw = evidence_digest("a.txt", b"{ }").unwrap();
        assert_eq!(raw, sha256(b"{ }").to_hex());
        assert!(evidence_digest("a.json", b"{not json").is_err());
    }

    #[test]
    fn payload_counts_links() {
        let b = AuthorizationBundle {
            trace_path: "t.json".into(),
            trace_digest: "a".repeat(64),
            outcome_path: "o.json".into(),
            approval_audit_path: "a.json".into(),
            outcome_status: "allow".into(),
            ..AuthorizationBundle::default()
        };
        let p = b.payload();
        assert_eq!(p.linked_evidence_count, 3);
        assert_eq!(p.required_evidence_count, 1);
        assert_eq!(p.schema_id, AUTHORIZATION_PAYLOAD_SCHEMA_ID);
    }

    #[test]
    fn zero_decision_times_are_written() {
        let b = AuthorizationBundle {
            kill_switch: Some(KillSwitchDecision {
                status: "inactive".into(),
                ..KillSwitchDecision::default()
            }),
            ..AuthorizationBundle::default()
        };
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(
            v["kill_switch"],
            serde_json::json!({"evaluated_at": "0001-01-01T00:00:00Z", "status": "inactive"})
        );
        assert!(v.get("trace_path").is_none());
    }
}
