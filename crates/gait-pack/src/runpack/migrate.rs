//! `gait migrate`: re-records a `gait.runpack.manifest` 1.0.0 runpack in
//! the current encoding (JCS entries, the deterministic zip, digests
//! filled in), unsigned.
//!
//! Only runpack zips that pass the strict read migrate; the output may not
//! be the input, is written atomically (mode 0600) and is verified again
//! before success is reported. Migrating a migrated runpack changes
//! nothing (`no_change`).

use std::path::{Path, PathBuf};

use gait_digest::GoTime;

use super::record::{CaptureMode, RecordInput, RunRecorder};
use super::{RunpackError, VerifyOptions, read_runpack, verify_runpack_file};

/// The only migration target: the current v1 encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MigrateTarget {
    /// `v1`.
    #[default]
    V1,
}

impl MigrateTarget {
    /// Parses `--target` (trimmed, any case; blank is `v1`).
    ///
    /// # Errors
    ///
    /// [`RunpackError::Invalid`] for any other target.
    pub fn parse(text: &str) -> Result<Self, RunpackError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "v1" => Ok(Self::V1),
            _ => Err(RunpackError::Invalid(
                "unsupported --target (only v1 is currently available)".to_owned(),
            )),
        }
    }
}

/// Whether migrating changed the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrateStatus {
    /// The output differs from the input.
    Migrated,
    /// The output is byte-identical to the input.
    NoChange,
}

impl MigrateStatus {
    /// `migrated` or `no_change`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Migrated => "migrated",
            Self::NoChange => "no_change",
        }
    }
}

/// A migrated runpack.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migrated {
    /// The output file.
    pub output: PathBuf,
    /// The run id.
    pub run_id: String,
    /// Whether the bytes changed.
    pub status: MigrateStatus,
    /// What the migration dropped (signatures; raw payloads stripped
    /// because the manifest had no capture mode).
    pub warnings: Vec<String>,
}

/// Warning: the input's signatures are not carried over.
pub const SIGNATURES_DROPPED_WARNING: &str =
    "migrate dropped the runpack's signatures; re-sign the migrated runpack if needed";
/// Warning: raw payloads stripped because the manifest has no capture mode.
pub const RAW_STRIPPED_WARNING: &str =
    "manifest has no capture_mode: migrated in reference mode, raw args and results were stripped";

/// `<input dir>/runpack_<run_id>_migrated.zip`.
pub fn default_migrate_output(input: &Path, run_id: &str) -> PathBuf {
    input
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(format!("runpack_{run_id}_migrated.zip"))
}

/// Migrates the runpack at `input` to `out` (default
/// [`default_migrate_output`]).
///
/// # Errors
///
/// [`RunpackError`]: the input is not a `.zip`, fails the strict read
/// (duplicates and hash mismatches are verification failures), is not
/// schema 1.0.0, `out` is the input, the write fails, or the written
/// runpack does not verify (`migrated runpack failed verification`).
pub fn migrate_runpack(input: &Path, out: Option<&Path>) -> Result<Migrated, RunpackError> {
    let is_zip = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if !is_zip {
        return Err(RunpackError::Invalid(
            "unsupported artifact type (only runpack zip is currently migratable)".to_owned(),
        ));
    }
    let pack = read_runpack(input)?;
    let run_id = pack.manifest.run_id.clone();
    let out = out.map_or_else(|| default_migrate_output(input, &run_id), Path::to_path_buf);
    let clean = |p: &Path| gait_digest::clean_path(&p.to_string_lossy());
    let same_file = match (std::fs::canonicalize(input), std::fs::canonicalize(&out)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_file || clean(input) == clean(&out) {
        return Err(RunpackError::Invalid(
            "--out must differ from input path".to_owned(),
        ));
    }
    let mut warnings = Vec::new();
    if !pack.manifest.signatures.is_empty() {
        warnings.push(SIGNATURES_DROPPED_WARNING.to_owned());
    }
    let capture_text = pack.manifest.capture_mode.trim().to_owned();
    let capture = if capture_text.is_empty() {
        CaptureMode::Reference
    } else {
        CaptureMode::parse(&capture_text)?
    };
    let mut record_input = RecordInput {
        run: pack.run,
        intents: pack.intents,
        results: pack.results,
        refs: pack.refs,
        capture_mode: capture_text.clone(),
        ..RecordInput::default()
    };
    if capture_text.is_empty() && record_input.has_raw_payloads() {
        warnings.push(RAW_STRIPPED_WARNING.to_owned());
    }
    if record_input.refs.context_ref_count == 0 && !record_input.refs.receipts.is_empty() {
        record_input.refs.context_ref_count =
            i64::try_from(record_input.refs.receipts.len()).unwrap_or(i64::MAX);
    }
    let recorded = RunRecorder::new(record_input)
        .capture_mode(capture)
        .now(GoTime::from_unix(315_532_800, 0))
        .record()?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        gait_sign::create_private_dir(parent)
            .map_err(|e| RunpackError::Io(format!("create output directory: {e}")))?;
    }
    gait_sign::write_file_atomic(&out, &recorded.zip, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| RunpackError::Io(format!("write migrated runpack: {e}")))?;
    let verified = verify_runpack_file(&out, &VerifyOptions::default())
        .map(|r| r.is_ok(false))
        .unwrap_or(false);
    if !verified {
        return Err(RunpackError::Verification(
            "migrated runpack failed verification".to_owned(),
        ));
    }
    let original = gait_sign::read_regular_file_limited(input, recorded.zip.len() as u64 + 1).ok();
    let status = if original.as_deref() == Some(recorded.zip.as_slice()) {
        MigrateStatus::NoChange
    } else {
        MigrateStatus::Migrated
    };
    Ok(Migrated {
        output: out,
        run_id,
        status,
        warnings,
    })
}
