//! `build_run_pack`: a PackSpec v1 run pack from a runpack.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use gait_digest::sha256;
use gait_sign::{SigningKey, Trace};

use super::error::{PackError, from_archive};
use super::manifest::{
    MANIFEST_FILE, MANIFEST_SCHEMA_ID, MANIFEST_SCHEMA_VERSION, PackEntry, PackManifest,
    PackSignature, deterministic_time, entry_type,
};
use super::payload::{
    CONTEXT_ENVELOPE_FILE, ContextReceipt, ContextRefs, RUN_PAYLOAD_FILE, RUN_PAYLOAD_SCHEMA_ID,
    RunPayload, SOURCE_RUNPACK_FILE, context_envelope, context_privacy_mode,
};
use super::proof::{PROOF_RECORDS_FILE, ProofEntry, build_proof_records};
use super::verify::{MAX_PACK_ENTRY_BYTES, pack_limits};
use crate::archive::{Archive, NewEntry, write_deterministic_to_vec};
use crate::runpack::{Runpack, RunpackError};

/// The producer version written when none is given.
pub const DEFAULT_PRODUCER_VERSION: &str = "0.0.0-dev";

/// How to build a pack.
#[derive(Debug, Default)]
pub struct BuildOptions {
    /// Where to write the pack; default `pack_<pack_id>.zip` next to the
    /// source runpack.
    pub output_path: Option<PathBuf>,
    /// The producing CLI's version (blank: `0.0.0-dev`).
    pub producer_version: String,
    /// Signs the manifest and every proof record when set.
    pub signing_key: Option<SigningKey<Trace>>,
}

/// A pack built in memory.
#[derive(Debug, Clone)]
pub struct BuiltPack {
    /// Its manifest (with `pack_id` and any signature).
    pub manifest: PackManifest,
    /// The zip bytes.
    pub bytes: Vec<u8>,
}

/// A pack written to disk.
#[derive(Debug, Clone)]
pub struct BuildResult {
    /// Where it was written.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: PackManifest,
}

fn runpack_error(e: RunpackError) -> PackError {
    PackError::Runpack {
        context: "read runpack".to_owned(),
        source: e,
    }
}

/// Re-zips an archive deterministically: same names, data and permission
/// bits (a zero mode becomes 0644).
fn normalize_zip<R: Read + Seek>(mut archive: Archive<R>) -> Result<Vec<u8>, PackError> {
    let infos: Vec<(String, u32)> = archive
        .entries()
        .iter()
        .map(|e| (e.name.clone(), e.mode & 0o777))
        .collect();
    let mut entries = Vec::with_capacity(infos.len());
    for (name, mode) in infos {
        let data = archive
            .read(&name, MAX_PACK_ENTRY_BYTES)
            .map_err(|e| from_archive(format!("read zip entry {name}"), e))?;
        entries.push(NewEntry {
            name,
            data,
            mode: if mode == 0 { 0o644 } else { mode },
        });
    }
    write_deterministic_to_vec(entries)
        .map_err(|e| PackError::invalid(format!("normalize zip archive: {e}")))
}

fn run_payload(data: &Runpack) -> RunPayload {
    let created_at = if data.run.created_at.is_zero() {
        deterministic_time()
    } else {
        data.run.created_at.to_utc()
    };
    let receipts = data.refs.receipts.len() as i64;
    RunPayload {
        schema_id: RUN_PAYLOAD_SCHEMA_ID.into(),
        schema_version: "1.0.0".into(),
        created_at,
        run_id: data.run.run_id.clone(),
        capture_mode: data.manifest.capture_mode.clone(),
        manifest_digest: data.manifest.manifest_digest.clone(),
        intents_count: data.intents.len() as i64,
        results_count: data.results.len() as i64,
        refs_count: receipts,
        context_set_digest: data.refs.context_set_digest.clone(),
        context_ref_count: receipts,
        context_evidence_mode: data.refs.context_evidence_mode.clone(),
        context_privacy_mode: context_privacy_mode(
            data.refs.receipts.iter().map(|r| r.redaction_mode.as_str()),
        ),
    }
}

pub(crate) fn context_refs(refs: &crate::runpack::Refs) -> ContextRefs {
    ContextRefs {
        created_at: refs.created_at,
        producer_version: refs.producer_version.clone(),
        run_id: refs.run_id.clone(),
        context_set_digest: refs.context_set_digest.clone(),
        context_evidence_mode: refs.context_evidence_mode.clone(),
        receipts: refs
            .receipts
            .iter()
            .map(|r| ContextReceipt {
                ref_id: r.ref_id.clone(),
                source_type: r.source_type.clone(),
                source_locator: r.source_locator.clone(),
                query_digest: r.query_digest.clone(),
                content_digest: r.content_digest.clone(),
                retrieved_at: r.retrieved_at,
                redaction_mode: r.redaction_mode.clone(),
                immutability: r.immutability.clone(),
                freshness_sla_seconds: r.freshness_sla_seconds,
                sensitivity_label: r.sensitivity_label.clone(),
                retrieval_params: r.retrieval_params.clone(),
            })
            .collect(),
    }
}

/// Builds a run pack in memory from the bytes of a runpack. The runpack
/// is strict-read first (any problem is an error) and embedded re-zipped
/// as `source/runpack.zip`. The same input, version and key always give
/// the same bytes.
pub fn build_run_pack_bytes(
    runpack: &[u8],
    producer_version: &str,
    signing_key: Option<&SigningKey<Trace>>,
) -> Result<BuiltPack, PackError> {
    let data =
        crate::runpack::read_runpack_from(std::io::Cursor::new(runpack)).map_err(runpack_error)?;
    let archive = Archive::open_with(std::io::Cursor::new(runpack), pack_limits())
        .map_err(|e| from_archive("normalize runpack bytes", e))?;
    let source = normalize_zip(archive)?;
    build_from_parts(&data, source, producer_version, signing_key)
}

fn build_from_parts(
    data: &Runpack,
    source: Vec<u8>,
    producer_version: &str,
    signing_key: Option<&SigningKey<Trace>>,
) -> Result<BuiltPack, PackError> {
    let payload = run_payload(data);
    let payload_bytes = gait_digest::canonical::to_vec_from(&payload)
        .map_err(|e| PackError::invalid(format!("encode run payload: {e}")))?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (RUN_PAYLOAD_FILE.into(), payload_bytes),
        (SOURCE_RUNPACK_FILE.into(), source),
    ];
    if !data.refs.receipts.is_empty() {
        let envelope = context_envelope(&context_refs(&data.refs))
            .map_err(|e| PackError::invalid(format!("build context envelope: {e}")))?;
        if let Some(envelope) = envelope {
            files.push((
                CONTEXT_ENVELOPE_FILE.into(),
                gait_digest::canonical::to_vec(&envelope),
            ));
        }
    }
    assemble(
        "run",
        data.run.run_id.trim(),
        producer_version,
        files,
        signing_key,
    )
}

/// Adds proof records, manifest, pack id and signature to payload files
/// and zips them (every entry 0644).
pub(crate) fn assemble(
    pack_type: &str,
    source_ref: &str,
    producer_version: &str,
    mut files: Vec<(String, Vec<u8>)>,
    signing_key: Option<&SigningKey<Trace>>,
) -> Result<BuiltPack, PackError> {
    let producer_version = match producer_version.trim() {
        "" => DEFAULT_PRODUCER_VERSION,
        v => v,
    };
    let proof = {
        let entries: Vec<ProofEntry<'_>> = files
            .iter()
            .map(|(path, data)| ProofEntry {
                path,
                data,
                mode: 0o644,
            })
            .collect();
        build_proof_records(
            pack_type,
            source_ref,
            producer_version,
            &entries,
            signing_key,
        )
    };
    files.push((PROOF_RECORDS_FILE.into(), proof));
    let mut contents: Vec<PackEntry> = files
        .iter()
        .map(|(path, data)| PackEntry {
            path: path.clone(),
            sha256: sha256(data).to_hex(),
            entry_type: entry_type(path).into(),
        })
        .collect();
    contents.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut manifest = PackManifest {
        schema_id: MANIFEST_SCHEMA_ID.into(),
        schema_version: MANIFEST_SCHEMA_VERSION.into(),
        created_at: deterministic_time(),
        producer_version: producer_version.into(),
        pack_id: String::new(),
        pack_type: pack_type.into(),
        source_ref: source_ref.into(),
        contents,
        signatures: Vec::new(),
    };
    manifest.pack_id = manifest.compute_pack_id().to_hex();
    if let Some(key) = signing_key {
        let envelope = key.sign_value(&manifest.signable());
        manifest.signatures = vec![PackSignature::from_envelope(&envelope)];
    }
    files.push((MANIFEST_FILE.into(), manifest.to_canonical()));
    let entries = files
        .into_iter()
        .map(|(name, data)| NewEntry::file(&name, data))
        .collect();
    let bytes = write_deterministic_to_vec(entries)
        .map_err(|e| PackError::invalid(format!("write pack zip: {e}")))?;
    Ok(BuiltPack { manifest, bytes })
}

/// Cleans a path argument and refuses relative paths that climb out of the
/// working directory (`..`), as the reference does.
pub(crate) fn local_or_absolute(path: &Path) -> Result<PathBuf, &'static str> {
    let text = path.to_string_lossy();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("path is required");
    }
    let cleaned = gait_digest::clean_path(trimmed);
    if cleaned == "." || cleaned == "/" {
        return Err("path is required");
    }
    if !cleaned.starts_with('/') && cleaned.split('/').any(|s| s == "..") {
        return Err("relative paths must not traverse parent directories");
    }
    Ok(PathBuf::from(cleaned))
}

/// Builds a run pack from the runpack at `runpack` and writes it
/// atomically (mode 0600, parent directories created 0750) to
/// `options.output_path` or `pack_<pack_id>.zip` next to the runpack.
pub fn build_run_pack(runpack: &Path, options: &BuildOptions) -> Result<BuildResult, PackError> {
    let runpack =
        local_or_absolute(runpack).map_err(|e| PackError::invalid(format!("runpack path: {e}")))?;
    let mut bytes = Vec::new();
    gait_sign::open_regular_file(&runpack)
        .and_then(|f| f.take(MAX_PACK_ENTRY_BYTES * 4 + 1).read_to_end(&mut bytes))
        .map_err(|e| {
            PackError::invalid(format!("read runpack: open {}: {e}", runpack.display()))
        })?;
    if bytes.len() as u64 > MAX_PACK_ENTRY_BYTES * 4 {
        return Err(PackError::invalid("read runpack: runpack too large"));
    }
    let built = build_run_pack_bytes(
        &bytes,
        &options.producer_version,
        options.signing_key.as_ref(),
    )?;
    let out = match &options.output_path {
        Some(p) => p.clone(),
        None => runpack
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("pack_{}.zip", built.manifest.pack_id)),
    };
    write_built(&out, built)
}

/// Writes a built pack atomically (mode 0600, parent directories created
/// 0750) to `out`, which must not climb out of the working directory.
pub(crate) fn write_built(out: &Path, built: BuiltPack) -> Result<BuildResult, PackError> {
    let out =
        local_or_absolute(out).map_err(|e| PackError::invalid(format!("pack output path: {e}")))?;
    if let Some(dir) = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && *d != Path::new("."))
    {
        gait_sign::create_private_dir(dir)
            .map_err(|e| PackError::Io(format!("create pack output directory: {e}")))?;
    }
    gait_sign::write_file_atomic(&out, &built.bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| PackError::Io(format!("write pack: {e}")))?;
    Ok(BuildResult {
        path: out,
        manifest: built.manifest,
    })
}
