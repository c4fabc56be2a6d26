//! Legacy runpacks (`manifest.json`, no `pack_manifest.json`) seen through
//! the pack interface.

use std::path::Path;

use super::error::PackError;
use super::verify::{HashMismatch, PackReport, VerifyOptions};
use crate::runpack::{Runpack, RunpackError};

/// Where a legacy runpack is read from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LegacySource<'a> {
    Path(&'a Path),
    Bytes(&'a [u8]),
}

pub(crate) fn runpack_error(e: RunpackError) -> PackError {
    PackError::Runpack {
        context: String::new(),
        source: e,
    }
}

/// Verifies a legacy runpack with the runpack verifier and maps the result
/// to a pack report (`pack_id` = manifest digest, `pack_type` = `run`,
/// `source_ref` = run id, `legacy_type` = `runpack`). Undeclared entries,
/// which the runpack verifier fails, are carried over.
pub(crate) fn verify_legacy_runpack(
    source: LegacySource<'_>,
    options: &VerifyOptions,
) -> Result<PackReport, PackError> {
    let opts =
        crate::runpack::VerifyOptions::new(options.public_key.clone(), options.require_signature);
    let r = match source {
        LegacySource::Path(p) => crate::runpack::verify_runpack_file(p, &opts),
        LegacySource::Bytes(b) => crate::runpack::verify_runpack(std::io::Cursor::new(b), &opts),
    }
    .map_err(runpack_error)?;
    Ok(PackReport {
        pack_id: r.manifest_digest,
        pack_type: "run".into(),
        source_ref: r.run_id,
        files_checked: r.files_checked,
        proof_records: 0,
        missing_files: r.missing_files,
        hash_mismatches: r
            .hash_mismatches
            .into_iter()
            .map(|m| HashMismatch {
                path: m.path,
                expected: m.expected,
                actual: m.actual,
            })
            .collect(),
        undeclared_files: r.undeclared_files,
        signature_status: r.signature_status,
        signature_errors: r.signature_errors,
        signatures_total: r.signatures_total,
        signatures_valid: r.signatures_valid,
        legacy_type: "runpack".into(),
    })
}

/// Reads a legacy runpack strictly.
pub(crate) fn read_legacy(source: LegacySource<'_>) -> Result<Runpack, PackError> {
    match source {
        LegacySource::Path(p) => crate::runpack::read_runpack(p),
        LegacySource::Bytes(b) => crate::runpack::read_runpack_from(std::io::Cursor::new(b)),
    }
    .map_err(runpack_error)
}
