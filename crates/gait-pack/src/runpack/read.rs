//! The strict runpack reader (replay, diff, regress, pack build).

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::path::Path;

use gait_digest::canonical;
use serde_json::Value;

use super::decode::{Keys, Obj};
use super::model::{IntentRecord, Manifest, Refs, ResultRecord, Run};
use super::record::{EvidenceMode, normalize_refs};
use super::{
    MANIFEST_FILE, MAX_ENTRY_BYTES, MAX_JSONL_LINE_BYTES, REQUIRED_FILES, RunpackError,
    archive_error, open_archive, parse_manifest, reject_duplicates,
};

/// A runpack read and checked in full.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Runpack {
    /// `manifest.json`.
    pub manifest: Manifest,
    /// `run.json`.
    pub run: Run,
    /// `intents.jsonl`.
    pub intents: Vec<IntentRecord>,
    /// `results.jsonl`.
    pub results: Vec<ResultRecord>,
    /// `refs.json`, normalized.
    pub refs: Refs,
}

/// Reads the runpack at `path` strictly (see [`read_runpack_from`]).
pub fn read_runpack(path: &Path) -> Result<Runpack, RunpackError> {
    let file = gait_sign::open_regular_file(path)
        .map_err(|e| RunpackError::Invalid(format!("open zip: {}: {e}", path.display())))?;
    read_runpack_from(std::io::BufReader::new(file))
}

/// Reads a runpack strictly: duplicate names, a missing entry, an
/// undeclared entry, a missing declaration, a hash or manifest-digest
/// mismatch are errors, as are malformed records. Signatures are not
/// checked (use [`verify_runpack`](super::verify_runpack)).
pub fn read_runpack_from<R: Read + Seek>(reader: R) -> Result<Runpack, RunpackError> {
    let mut archive = open_archive(reader)?;
    reject_duplicates(&archive)?;
    let mut read = |name: &str| -> Result<Vec<u8>, RunpackError> {
        if archive.entry(name).is_none() {
            return Err(RunpackError::Invalid(format!("missing {name}")));
        }
        archive
            .read(name, MAX_ENTRY_BYTES)
            .map_err(|e| archive_error(&format!("read {name}"), e))
    };
    let manifest_bytes = read(MANIFEST_FILE)?;
    let run_bytes = read("run.json")?;
    let intents_bytes = read("intents.jsonl")?;
    let results_bytes = read("results.jsonl")?;
    let refs_bytes = read("refs.json")?;
    let (_, manifest) = parse_manifest(&manifest_bytes)?;

    let known = [
        ("run.json", &run_bytes),
        ("intents.jsonl", &intents_bytes),
        ("results.jsonl", &results_bytes),
        ("refs.json", &refs_bytes),
    ];
    let mut declared = BTreeSet::new();
    let mut missing = Vec::new();
    let mut mismatch = false;
    for file in manifest.files.as_deref().unwrap_or_default() {
        declared.insert(file.path.as_str());
        let actual = match known.iter().find(|(n, _)| *n == file.path) {
            Some((_, bytes)) => gait_digest::sha256(bytes).to_hex(),
            None => {
                if archive.entry(&file.path).is_none() {
                    missing.push(file.path.clone());
                    continue;
                }
                archive
                    .sha256(&file.path)
                    .map_err(|e| archive_error(&format!("hash {}", file.path), e))?
                    .0
                    .to_hex()
            }
        };
        if !actual.eq_ignore_ascii_case(&file.sha256) {
            mismatch = true;
        }
    }
    for required in REQUIRED_FILES {
        if !declared.contains(required) {
            missing.push(required.to_owned());
        }
    }
    if manifest.compute_digest() != manifest.manifest_digest {
        mismatch = true;
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(RunpackError::Verification(format!(
            "missing runpack files: {}",
            missing.join(", ")
        )));
    }
    if mismatch {
        return Err(RunpackError::Verification(
            "runpack hash mismatch".to_owned(),
        ));
    }
    let undeclared: Vec<&str> = archive
        .entries()
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| *n != MANIFEST_FILE && !declared.contains(n))
        .collect();
    if !undeclared.is_empty() {
        return Err(RunpackError::Verification(format!(
            "runpack has undeclared files: {}",
            undeclared.join(", ")
        )));
    }

    let run = decode_one(&run_bytes, "run", Run::decode)?;
    let intents = decode_jsonl(&intents_bytes, "intents", IntentRecord::decode)?;
    let results = decode_jsonl(&results_bytes, "results", ResultRecord::decode)?;
    let refs = decode_one(&refs_bytes, "refs", Refs::decode)?;
    let refs =
        normalize_refs(refs).map_err(|e| RunpackError::Invalid(format!("normalize refs: {e}")))?;
    if refs.context_evidence_mode == EvidenceMode::Required.as_str()
        && refs.context_set_digest.trim().is_empty()
    {
        return Err(RunpackError::Invalid(
            "context evidence mode required but context_set_digest is missing".to_owned(),
        ));
    }
    Ok(Runpack {
        manifest,
        run,
        intents,
        results,
        refs,
    })
}

fn decode_value<T: Default>(
    bytes: &[u8],
    what: &str,
    decode: impl Fn(Obj<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let value: Value = canonical::parse_strict(bytes).map_err(|e| e.to_string())?;
    match Obj::of(&value, what, Keys::Fold)? {
        Some(o) => decode(o),
        None => Ok(T::default()),
    }
}

fn decode_one<T: Default>(
    bytes: &[u8],
    what: &str,
    decode: impl Fn(Obj<'_>) -> Result<T, String>,
) -> Result<T, RunpackError> {
    decode_value(bytes, what, decode)
        .map_err(|e| RunpackError::Invalid(format!("parse {what}: {e}")))
}

/// JSON Lines as the reference scans them: lines split on `\n` (a trailing
/// `\r` dropped), blank lines skipped, at most 10 MiB per line.
fn decode_jsonl<T: Default>(
    bytes: &[u8],
    what: &str,
    decode: impl Fn(Obj<'_>) -> Result<T, String>,
) -> Result<Vec<T>, RunpackError> {
    let mut out = Vec::new();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.len() > MAX_JSONL_LINE_BYTES {
            return Err(RunpackError::Invalid(format!(
                "parse {what}: scan jsonl: token too long"
            )));
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let record = decode_value(line, what, &decode)
            .map_err(|e| RunpackError::Invalid(format!("parse {what}: line {}: {e}", n + 1)))?;
        out.push(record);
    }
    Ok(out)
}
