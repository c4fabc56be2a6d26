//! `verify_pack`: the PackSpec v1 verify algorithm.

use std::io::{Read, Seek};
use std::path::Path;

use gait_sign::{Trace, VerifyFailure, VerifyingKey};
use serde::Serialize;

use super::error::{ContractError, PackError, from_archive};
use super::manifest::{MANIFEST_FILE, PackManifest};
use super::payload::{RUN_PAYLOAD_FILE, RunPayload, SOURCE_RUNPACK_FILE};
use super::proof::{PROOF_RECORDS_FILE, verify_proof_records};
use crate::archive::{Archive, Limits};
use crate::runpack::SignatureStatus;

/// The largest entry a pack reader accepts (100 MiB, as the reference).
pub const MAX_PACK_ENTRY_BYTES: u64 = 100 << 20;

/// Verify options.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The key signatures must verify with; `None` skips signature checks
    /// (status `skipped` when the manifest is signed).
    pub public_key: Option<VerifyingKey<Trace>>,
    /// Require a verified manifest signature (and, with a key, valid
    /// proof-record signatures).
    pub require_signature: bool,
}

/// A declared entry whose bytes do not hash to the declared digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashMismatch {
    /// The entry.
    pub path: String,
    /// The declared digest.
    pub expected: String,
    /// The digest of the bytes in the zip.
    pub actual: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The result of verifying a pack (the `verify` object of the CLI output).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PackReport {
    /// The manifest's pack id (a legacy runpack's manifest digest).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pack_id: String,
    /// `run`, `job`, `call`, `authorization` (`guard` for a legacy guard
    /// pack).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pack_type: String,
    /// The source reference (run id for runpacks and guard packs).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_ref: String,
    /// Number of declared entries.
    pub files_checked: usize,
    /// Number of proof records whose hash chain verified.
    #[serde(rename = "proof_records_verified", skip_serializing_if = "is_zero")]
    pub proof_records: usize,
    /// Declared entries absent from the zip, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_files: Vec<String>,
    /// Declared entries whose bytes differ, sorted by path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hash_mismatches: Vec<HashMismatch>,
    /// Zip entries no manifest entry declares, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undeclared_files: Vec<String>,
    /// `verified`, `failed`, `missing` or `skipped`.
    pub signature_status: SignatureStatus,
    /// Why signatures failed, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signature_errors: Vec<String>,
    /// Number of manifest signatures.
    #[serde(skip_serializing_if = "is_zero")]
    pub signatures_total: usize,
    /// Number of manifest signatures that verified.
    #[serde(skip_serializing_if = "is_zero")]
    pub signatures_valid: usize,
    /// `runpack` or `guard` when a legacy runpack or guard pack was
    /// verified.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub legacy_type: String,
}

impl PackReport {
    /// The CLI's verdict: nothing missing, mismatched or undeclared, and
    /// the signature status `verified` when required, else not `failed`.
    pub fn ok(&self, require_signature: bool) -> bool {
        let intact = self.missing_files.is_empty()
            && self.hash_mismatches.is_empty()
            && self.undeclared_files.is_empty();
        let signed = if require_signature {
            self.signature_status == SignatureStatus::Verified
        } else {
            self.signature_status != SignatureStatus::Failed
        };
        intact && signed
    }

    /// The report as JSON.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Where a legacy runpack can be re-read from.
enum Source<'a> {
    Path(&'a Path),
    Bytes(&'a [u8]),
}

pub(crate) fn pack_limits() -> Limits {
    Limits {
        max_entry_bytes: MAX_PACK_ENTRY_BYTES,
        ..Limits::default()
    }
}

/// Opens a pack file with the pack limits. A missing or unreadable file
/// and a non-zip are bad input.
pub(crate) fn open_path(path: &Path) -> Result<Archive<std::fs::File>, PackError> {
    let file = gait_sign::open_regular_file(path)
        .map_err(|e| PackError::invalid(format!("open zip: {}: {e}", path.display())))?;
    Archive::open_with(file, pack_limits()).map_err(|e| from_archive("open zip", e))
}

pub(crate) fn open_bytes(bytes: &[u8]) -> Result<Archive<std::io::Cursor<&[u8]>>, PackError> {
    Archive::open_with(std::io::Cursor::new(bytes), pack_limits())
        .map_err(|e| from_archive("open zip", e))
}

/// Duplicate names fail closed.
pub(crate) fn check_duplicates<R: Read + Seek>(a: &Archive<R>) -> Result<(), PackError> {
    if a.duplicates().is_empty() {
        return Ok(());
    }
    Err(PackError::verification(format!(
        "zip contains duplicate entries: {}",
        a.duplicates().join(", ")
    )))
}

/// Verifies the pack at `path` (PackSpec v1, a legacy runpack or a legacy
/// guard pack).
///
/// `Ok` carries a report whose [`PackReport::ok`] decides the verdict;
/// `Err` is either a verification failure that stops verification early
/// (duplicates, unparsable manifest, pack id mismatch, broken proof chain,
/// payload contract) or unusable input (see [`PackError`]).
pub fn verify_pack(path: &Path, options: &VerifyOptions) -> Result<PackReport, PackError> {
    let archive = open_path(path)?;
    verify_archive(archive, Source::Path(path), options)
}

/// [`verify_pack`] over the bytes of a zip.
pub fn verify_pack_bytes(bytes: &[u8], options: &VerifyOptions) -> Result<PackReport, PackError> {
    let archive = open_bytes(bytes)?;
    verify_archive(archive, Source::Bytes(bytes), options)
}

fn verify_archive<R: Read + Seek>(
    mut archive: Archive<R>,
    source: Source<'_>,
    options: &VerifyOptions,
) -> Result<PackReport, PackError> {
    check_duplicates(&archive)?;
    if archive.entry(MANIFEST_FILE).is_none() {
        if archive.entry("manifest.json").is_some() {
            drop(archive);
            return legacy_runpack(source, options);
        }
        return Err(PackError::invalid(format!("missing {MANIFEST_FILE}")));
    }
    let manifest_bytes = archive
        .read(MANIFEST_FILE, MAX_PACK_ENTRY_BYTES)
        .map_err(|e| from_archive(format!("read {MANIFEST_FILE}"), e))?;
    let manifest = match PackManifest::parse(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            if super::guard::is_guard_manifest(&manifest_bytes) {
                return super::guard::verify_guard_pack(&mut archive, &manifest_bytes, options);
            }
            return Err(PackError::verification(format!("parse manifest: {e}")));
        }
    };
    let expected_id = manifest.compute_pack_id().to_hex();
    if !expected_id.eq_ignore_ascii_case(&manifest.pack_id) {
        return Err(PackError::verification(format!(
            "pack_id mismatch: expected={expected_id} actual={}",
            manifest.pack_id
        )));
    }

    let mut report = PackReport {
        pack_id: manifest.pack_id.clone(),
        pack_type: manifest.pack_type.clone(),
        source_ref: manifest.source_ref.clone(),
        files_checked: manifest.contents.len(),
        signature_status: SignatureStatus::Missing,
        signatures_total: manifest.signatures.len(),
        ..PackReport::default()
    };

    for entry in &manifest.contents {
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
    let names: Vec<String> = archive.entries().iter().map(|e| e.name.clone()).collect();
    for name in &names {
        if name != MANIFEST_FILE && !manifest.contents.iter().any(|c| &c.path == name) {
            report.undeclared_files.push(name.clone());
        }
    }

    let mut proof_signature_errors = Vec::new();
    let proof_mismatch = report
        .hash_mismatches
        .iter()
        .any(|m| m.path == PROOF_RECORDS_FILE);
    if archive.entry(PROOF_RECORDS_FILE).is_some() && !proof_mismatch {
        let raw = archive
            .read(PROOF_RECORDS_FILE, MAX_PACK_ENTRY_BYTES)
            .map_err(|e| from_archive(format!("read {PROOF_RECORDS_FILE}"), e))?;
        let (n, errors) =
            verify_proof_records(&raw, options.public_key.as_ref(), options.require_signature)
                .map_err(|e| PackError::verification(format!("{PROOF_RECORDS_FILE}: {e}")))?;
        report.proof_records = n;
        proof_signature_errors = errors;
    }

    if report.missing_files.is_empty()
        && report.hash_mismatches.is_empty()
        && report.undeclared_files.is_empty()
    {
        check_payload_contract(&mut archive, &manifest)
            .map_err(|e| PackError::verification(e.to_string()))?;
    }

    check_signatures(&manifest, options, &mut report);
    if options.require_signature && !proof_signature_errors.is_empty() {
        report.signature_status = SignatureStatus::Failed;
        report.signature_errors.extend(proof_signature_errors);
    }

    report.missing_files.sort();
    report.undeclared_files.sort();
    report.hash_mismatches.sort_by(|a, b| a.path.cmp(&b.path));
    report.signature_errors.sort();
    Ok(report)
}

/// Manifest signatures: none → `missing` (an error when required); signed
/// but no key → `skipped`; else each is verified and one valid signature
/// gives `verified`, none gives `failed` plus `signature verification
/// failed`.
fn check_signatures(manifest: &PackManifest, options: &VerifyOptions, report: &mut PackReport) {
    if manifest.signatures.is_empty() {
        report.signature_status = SignatureStatus::Missing;
        if options.require_signature {
            report
                .signature_errors
                .push("manifest has no signatures".into());
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
            // A signature that decodes but does not verify is "not ok"
            // without an error of its own.
            Err(VerifyFailure::BadSignature) => {}
            Err(e) => report.signature_errors.push(e.to_string()),
        }
    }
    report.signatures_valid = valid;
    if valid > 0 {
        report.signature_status = SignatureStatus::Verified;
    } else {
        report.signature_status = SignatureStatus::Failed;
        report
            .signature_errors
            .push("signature verification failed".into());
    }
}

/// The payload contract of the pack's type (`run`, `job`, `call`,
/// `authorization`); any other type fails verification as unsupported.
fn check_payload_contract<R: Read + Seek>(
    archive: &mut Archive<R>,
    manifest: &PackManifest,
) -> Result<(), ContractError> {
    match manifest.pack_type.as_str() {
        "run" => {
            if archive.entry(RUN_PAYLOAD_FILE).is_none() {
                return Err(ContractError::MissingEntry(RUN_PAYLOAD_FILE));
            }
            if archive.entry(SOURCE_RUNPACK_FILE).is_none() {
                return Err(ContractError::MissingEntry(SOURCE_RUNPACK_FILE));
            }
            let bytes = archive
                .read(RUN_PAYLOAD_FILE, MAX_PACK_ENTRY_BYTES)
                .map_err(|source| ContractError::Read {
                    entry: RUN_PAYLOAD_FILE.to_owned(),
                    source,
                })?;
            let payload =
                RunPayload::parse(&bytes).map_err(|e| ContractError::parse(RUN_PAYLOAD_FILE, e))?;
            payload.validate()?;
            if payload.run_id != manifest.source_ref.trim() {
                return Err(ContractError::Rule(
                    "run payload run_id does not match manifest source_ref",
                ));
            }
            Ok(())
        }
        "job" => {
            let mut read = |name: &str| -> Result<Option<Vec<u8>>, ContractError> {
                if archive.entry(name).is_none() {
                    return Ok(None);
                }
                archive
                    .read(name, MAX_PACK_ENTRY_BYTES)
                    .map(Some)
                    .map_err(|source| ContractError::Read {
                        entry: name.to_owned(),
                        source,
                    })
            };
            let payload = read(super::JOB_PAYLOAD_FILE)?;
            let state = read(super::JOB_STATE_FILE)?;
            let events = read(super::JOB_EVENTS_FILE)?;
            super::check_job_contract(
                &manifest.source_ref,
                payload.as_deref(),
                state.as_deref(),
                events.as_deref(),
            )
        }
        "call" => super::check_call_contract(&manifest.source_ref, &mut |name| {
            super::call::bounded_entry(archive, name)
        }),
        "authorization" => super::check_authorization_contract(&mut |name| {
            super::call::bounded_entry(archive, name)
        }),
        other => Err(ContractError::UnsupportedType(other.to_owned())),
    }
}

/// A zip with `manifest.json` and no `pack_manifest.json`: verified as a
/// runpack and reported as a `run` pack with `legacy_type: runpack`.
fn legacy_runpack(source: Source<'_>, options: &VerifyOptions) -> Result<PackReport, PackError> {
    super::legacy::verify_legacy_runpack(
        match source {
            Source::Path(p) => super::legacy::LegacySource::Path(p),
            Source::Bytes(b) => super::legacy::LegacySource::Bytes(b),
        },
        options,
    )
}
