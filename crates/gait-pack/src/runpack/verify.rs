//! Runpack verification (`gait verify`).

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::path::Path;

use gait_sign::{Trace, VerifyingKey};
use serde::Serialize;
use serde_json::Value;

use super::{
    MANIFEST_FILE, MAX_ENTRY_BYTES, REQUIRED_FILES, RunpackError, archive_error, open_archive,
    parse_manifest, reject_duplicates,
};

/// What to check.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The key to verify signatures with. Without one, signatures present
    /// are [`SignatureStatus::Skipped`].
    pub public_key: Option<VerifyingKey<Trace>>,
    /// Whether a verified signature is required.
    pub require_signature: bool,
}

impl VerifyOptions {
    /// Options with a verify key (or none) and the signature requirement.
    pub fn new(public_key: Option<VerifyingKey<Trace>>, require_signature: bool) -> Self {
        Self {
            public_key,
            require_signature,
        }
    }
}

/// The outcome of the signature checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureStatus {
    /// The manifest carries no signature.
    Missing,
    /// Signatures are present but no key was given.
    Skipped,
    /// At least one signature verified.
    Verified,
    /// Signatures are present and none verified.
    Failed,
}

impl SignatureStatus {
    /// `missing`, `skipped`, `verified` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Missing => "missing",
            SignatureStatus::Skipped => "skipped",
            SignatureStatus::Verified => "verified",
            SignatureStatus::Failed => "failed",
        }
    }
}

/// A declared file whose bytes do not match (or `manifest.json` whose
/// digest does not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HashMismatch {
    /// The entry.
    pub path: String,
    /// The digest the manifest declares.
    pub expected: String,
    /// The digest of the bytes present.
    pub actual: String,
}

/// Everything verification found. All lists are sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The manifest's run id.
    pub run_id: String,
    /// The manifest digest as declared.
    pub manifest_digest: String,
    /// Number of files the manifest declares.
    pub files_checked: usize,
    /// Declared files absent from the zip, and required files the manifest
    /// does not declare.
    pub missing_files: Vec<String>,
    /// Declared files whose bytes differ, and `manifest.json` when its
    /// digest differs.
    pub hash_mismatches: Vec<HashMismatch>,
    /// Zip entries other than `manifest.json` that the manifest does not
    /// declare (a verification failure; the reference ignores them).
    pub undeclared_files: Vec<String>,
    /// The signature outcome.
    pub signature_status: SignatureStatus,
    /// Why signatures failed (or were required and absent).
    pub signature_errors: Vec<String>,
    /// Number of signatures.
    pub signatures_total: usize,
    /// Number of signatures that verified.
    pub signatures_valid: usize,
}

impl VerifyReport {
    /// Whether the runpack verifies: nothing missing, mismatched or
    /// undeclared, and the signature verified (when `require_signature`) or
    /// did not fail.
    pub fn is_ok(&self, require_signature: bool) -> bool {
        let integrity = self.missing_files.is_empty()
            && self.hash_mismatches.is_empty()
            && self.undeclared_files.is_empty();
        let signature = if require_signature {
            self.signature_status == SignatureStatus::Verified
        } else {
            self.signature_status != SignatureStatus::Failed
        };
        integrity && signature
    }
}

/// Verifies the runpack at `path` (see [`verify_runpack`]).
pub fn verify_runpack_file(
    path: &Path,
    options: &VerifyOptions,
) -> Result<VerifyReport, RunpackError> {
    let file = std::fs::File::open(path)
        .map_err(|e| RunpackError::Invalid(format!("open zip: {}: {e}", path.display())))?;
    verify_runpack(std::io::BufReader::new(file), options)
}

/// Verifies a runpack from untrusted bytes.
///
/// Errors (rather than a report) for what cannot be verified at all:
/// duplicate entry names and unsafe archives
/// ([`RunpackError::Verification`]); an unreadable zip, a missing or
/// malformed `manifest.json` ([`RunpackError::Invalid`]).
///
/// Otherwise every problem is reported: each declared file is looked up
/// and stream-hashed (at most 100 MiB per entry), the four required files
/// must be declared, undeclared entries are listed, the manifest digest is
/// recomputed from the manifest's typed projection, and signatures are
/// checked over the raw manifest object minus `signatures`.
pub fn verify_runpack<R: Read + Seek>(
    reader: R,
    options: &VerifyOptions,
) -> Result<VerifyReport, RunpackError> {
    let mut archive = open_archive(reader)?;
    reject_duplicates(&archive)?;
    if archive.entry(MANIFEST_FILE).is_none() {
        return Err(RunpackError::Invalid("missing manifest.json".to_owned()));
    }
    let manifest_bytes = archive
        .read(MANIFEST_FILE, MAX_ENTRY_BYTES)
        .map_err(|e| archive_error("read manifest.json", e))?;
    let (raw, manifest) = parse_manifest(&manifest_bytes)?;

    let files = manifest.files.clone().unwrap_or_default();
    let mut report = VerifyReport {
        run_id: manifest.run_id.clone(),
        manifest_digest: manifest.manifest_digest.clone(),
        files_checked: files.len(),
        missing_files: Vec::new(),
        hash_mismatches: Vec::new(),
        undeclared_files: Vec::new(),
        signature_status: SignatureStatus::Missing,
        signature_errors: Vec::new(),
        signatures_total: manifest.signatures.len(),
        signatures_valid: 0,
    };

    let mut declared = BTreeSet::new();
    for file in &files {
        declared.insert(file.path.as_str());
        if archive.entry(&file.path).is_none() {
            report.missing_files.push(file.path.clone());
            continue;
        }
        let (digest, _) = archive
            .sha256(&file.path)
            .map_err(|e| archive_error(&format!("hash {}", file.path), e))?;
        let actual = digest.to_hex();
        if !actual.eq_ignore_ascii_case(&file.sha256) {
            report.hash_mismatches.push(HashMismatch {
                path: file.path.clone(),
                expected: file.sha256.clone(),
                actual,
            });
        }
    }
    for required in REQUIRED_FILES {
        if !declared.contains(required) {
            report.missing_files.push(required.to_owned());
        }
    }
    report.undeclared_files = archive
        .entries()
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| *n != MANIFEST_FILE && !declared.contains(n))
        .map(str::to_owned)
        .collect();

    let computed = manifest.compute_digest();
    // Exact comparison (the reference ignores case): the digest field is
    // the only manifest text no digest covers, so its case must not vary.
    if computed != manifest.manifest_digest {
        report.hash_mismatches.push(HashMismatch {
            path: MANIFEST_FILE.to_owned(),
            expected: manifest.manifest_digest.clone(),
            actual: computed,
        });
    }

    if manifest.signatures.is_empty() {
        if options.require_signature {
            report
                .signature_errors
                .push("manifest has no signatures".to_owned());
        }
    } else if let Some(key) = &options.public_key {
        let signable = signable_manifest(&raw);
        for envelope in &manifest.signatures {
            // Stricter than the reference: Gait always names the signing
            // key, and an envelope without `key_id` is not accepted.
            if envelope.key_id.is_empty() {
                report.signature_errors.push("missing key_id".to_owned());
                continue;
            }
            match key.verify_value(&signable, envelope) {
                Ok(()) => report.signatures_valid += 1,
                Err(e) => report.signature_errors.push(e.to_string()),
            }
        }
        report.signature_status = if report.signatures_valid > 0 {
            SignatureStatus::Verified
        } else {
            SignatureStatus::Failed
        };
    } else {
        report.signature_status = SignatureStatus::Skipped;
        report
            .signature_errors
            .push("public key not configured".to_owned());
    }

    report.missing_files.sort();
    report.hash_mismatches.sort_by(|a, b| a.path.cmp(&b.path));
    report.undeclared_files.sort();
    report.signature_errors.sort();
    Ok(report)
}

/// The signed document of a runpack manifest: the manifest object exactly
/// as written, minus its `signatures` member.
pub(crate) fn signable_manifest(raw: &Value) -> Value {
    let mut raw = raw.clone();
    if let Value::Object(map) = &mut raw {
        map.remove("signatures");
    }
    raw
}
