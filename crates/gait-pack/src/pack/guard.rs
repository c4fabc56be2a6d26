//! Legacy guard ("evidence") packs: a `pack_manifest.json` with `schema_id`
//! `gait.guard.pack_manifest`, verified by declared hashes and signatures
//! over the guard manifest's typed projection (no `pack_id` recomputation,
//! no undeclared-file check).

use std::io::{Read, Seek};

use gait_digest::{GoTime, null_as_default};
use gait_sign::VerifyFailure;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{PackError, from_archive};
use super::manifest::{PackEntry, PackSignature};
use super::verify::{HashMismatch, PackReport, VerifyOptions};
use crate::archive::Archive;
use crate::runpack::SignatureStatus;

/// `schema_id` of a legacy guard pack manifest.
pub const GUARD_MANIFEST_SCHEMA_ID: &str = "gait.guard.pack_manifest";

/// A control of the guard manifest's `control_index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardControl {
    /// The control's id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub control_id: String,
    /// Its title.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// Evidence paths (`null` when absent, as the reference writes it).
    #[serde(default)]
    pub evidence_paths: Option<Vec<String>>,
}

/// An evidence pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardEvidence {
    /// The pointer's id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pointer_id: String,
    /// The pointed-to path.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// The evidence type.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub evidence_type: String,
    /// Hex SHA-256 of the evidence.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sha256: String,
}

/// The incident window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardWindow {
    /// Window start.
    #[serde(default, deserialize_with = "null_as_default")]
    pub from: GoTime,
    /// Window end.
    #[serde(default, deserialize_with = "null_as_default")]
    pub to: GoTime,
    /// Window length in seconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub window_seconds: i64,
    /// What the window was anchored on (omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub selection_anchor: String,
}

/// A rendered artifact (for example a PDF summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardRendered {
    /// `pdf`, …
    #[serde(default, deserialize_with = "null_as_default")]
    pub format: String,
    /// The artifact's path.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// Hex SHA-256 of the artifact.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sha256: String,
}

/// The guard pack manifest. Serializing it gives the reference's typed
/// projection (field set, order and `omitempty` rules); the signable is that
/// projection without `signatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardManifest {
    /// `gait.guard.pack_manifest`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    /// `1.0.0`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    /// Creation time.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    /// The producing CLI's version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    /// The guard pack id (not recomputed).
    #[serde(default, deserialize_with = "null_as_default")]
    pub pack_id: String,
    /// The run the pack was built from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub run_id: String,
    /// Case id (omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub case_id: String,
    /// Template id (omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub template_id: String,
    /// Generation time.
    #[serde(default, deserialize_with = "null_as_default")]
    pub generated_at: GoTime,
    /// Controls (omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub control_index: Vec<GuardControl>,
    /// Evidence pointers (omitted when empty).
    #[serde(
        rename = "evidence_pointers",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub evidence_pointers: Vec<GuardEvidence>,
    /// Incident window (omitted when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_window: Option<GuardWindow>,
    /// Rendered artifacts (omitted when empty).
    #[serde(
        rename = "rendered_artifacts",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rendered: Vec<GuardRendered>,
    /// Declared entries (`null` when absent, as the reference writes it).
    #[serde(default)]
    pub contents: Option<Vec<PackEntry>>,
    /// Signatures over [`GuardManifest::signable`] (omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub signatures: Vec<PackSignature>,
}

impl GuardManifest {
    /// Decodes a guard manifest: duplicate members, unknown members and
    /// trailing values are refused (a signed document must not carry
    /// content its signature does not cover).
    pub fn parse(bytes: &[u8]) -> Result<Self, super::ContractError> {
        super::error::parse_strict(bytes)
    }

    /// The declared entries.
    pub fn entries(&self) -> &[PackEntry] {
        self.contents.as_deref().unwrap_or_default()
    }

    /// The manifest as JSON (the reference's typed projection).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The signed document: the projection without `signatures`.
    pub fn signable(&self) -> Value {
        let mut m = self.clone();
        m.signatures.clear();
        m.to_value()
    }
}

/// Whether manifest bytes that failed PackSpec parsing name the guard schema.
pub(crate) fn is_guard_manifest(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("schema_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .is_some_and(|s| s == GUARD_MANIFEST_SCHEMA_ID)
}

/// Verifies a legacy guard pack whose manifest bytes are `manifest_bytes`:
/// every declared entry present and hashing to its declared digest, then the
/// manifest signatures over the guard projection. Reported as `pack_type`
/// `guard`, `legacy_type` `guard`, `source_ref` = `run_id`.
pub(crate) fn verify_guard_pack<R: Read + Seek>(
    archive: &mut Archive<R>,
    manifest_bytes: &[u8],
    options: &VerifyOptions,
) -> Result<PackReport, PackError> {
    let manifest = GuardManifest::parse(manifest_bytes)
        .map_err(|e| PackError::verification(format!("parse guard pack manifest: {e}")))?;
    let entries = manifest.entries();
    let mut report = PackReport {
        pack_id: manifest.pack_id.clone(),
        pack_type: "guard".into(),
        source_ref: manifest.run_id.clone(),
        files_checked: entries.len(),
        signature_status: SignatureStatus::Missing,
        signatures_total: manifest.signatures.len(),
        legacy_type: "guard".into(),
        ..PackReport::default()
    };
    for entry in entries {
        if archive.entry(&entry.path).is_none() {
            report.missing_files.push(entry.path.clone());
            continue;
        }
        let (actual, _) = archive
            .sha256(&entry.path)
            .map_err(|e| from_archive(format!("hash {}", entry.path), e))?;
        let actual = actual.to_hex();
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            report.hash_mismatches.push(HashMismatch {
                path: entry.path.clone(),
                expected: entry.sha256.clone(),
                actual,
            });
        }
    }
    check_guard_signatures(&manifest, options, &mut report);
    report.missing_files.sort();
    report.hash_mismatches.sort_by(|a, b| a.path.cmp(&b.path));
    report.signature_errors.sort();
    Ok(report)
}

/// Guard signature rules: none → `missing` (+ `pack manifest has no
/// signatures` when required); no key → `skipped`; else each signature is
/// verified over the projection without signatures, each failure adding its
/// error (`signature verification failed` for a bad signature); one valid
/// gives `verified`, none `failed`.
fn check_guard_signatures(
    manifest: &GuardManifest,
    options: &VerifyOptions,
    report: &mut PackReport,
) {
    if manifest.signatures.is_empty() {
        if options.require_signature {
            report
                .signature_errors
                .push("pack manifest has no signatures".into());
        }
        return;
    }
    let Some(key) = options.public_key.as_ref() else {
        report.signature_status = SignatureStatus::Skipped;
        report
            .signature_errors
            .push("public key not configured".into());
        return;
    };
    let signable = manifest.signable();
    let mut valid = 0;
    for sig in &manifest.signatures {
        match key.verify_value(&signable, &sig.to_envelope()) {
            Ok(()) => valid += 1,
            Err(VerifyFailure::BadSignature) => report
                .signature_errors
                .push("signature verification failed".into()),
            Err(e) => report.signature_errors.push(e.to_string()),
        }
    }
    report.signatures_valid = valid;
    report.signature_status = if valid > 0 {
        SignatureStatus::Verified
    } else {
        SignatureStatus::Failed
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_follows_the_reference_field_rules() {
        let m = GuardManifest::parse(
            br#"{"schema_id":"gait.guard.pack_manifest","schema_version":"1.0.0",
                "created_at":"2026-01-01T00:00:00.500+02:00","producer_version":"x",
                "pack_id":"p","run_id":"r","generated_at":"2026-01-01T00:00:00Z",
                "control_index":[{"control_id":"c","title":"t"}]}"#,
        )
        .unwrap();
        let v = m.signable();
        assert_eq!(v["contents"], Value::Null);
        assert_eq!(v["control_index"][0]["evidence_paths"], Value::Null);
        assert_eq!(v["created_at"], "2026-01-01T00:00:00.5+02:00");
        for absent in [
            "case_id",
            "template_id",
            "evidence_pointers",
            "incident_window",
            "rendered_artifacts",
            "signatures",
        ] {
            assert!(v.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn unknown_and_duplicate_members_are_refused() {
        assert!(GuardManifest::parse(br#"{"schema_id":"a","extra":1}"#).is_err());
        assert!(GuardManifest::parse(br#"{"schema_id":"a","schema_id":"b"}"#).is_err());
    }
}
