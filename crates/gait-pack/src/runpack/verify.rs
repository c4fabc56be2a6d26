//! Runpack verification (`gait verify`).

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::path::Path;

use gait_digest::Sha256Digest;
use gait_sign::{Trace, VerifyingKey};
use serde::Serialize;
use serde_json::Value;

use crate::archive::{Archive, ArchiveError, SharedFile};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureStatus {
    /// The manifest carries no signature.
    #[default]
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

impl std::fmt::Display for SignatureStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    let file = SharedFile::open(path)
        .map_err(|e| RunpackError::Invalid(format!("open zip: {}: {e}", path.display())))?;
    let archive = open_archive(file)?;
    if SharedFile::concurrent() {
        verify_archive(archive, options, hash_parallel)
    } else {
        verify_archive(archive, options, hash_sequential)
    }
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
    verify_archive(open_archive(reader)?, options, hash_sequential)
}

/// The digest of each named entry, in order.
type Digests = Vec<Result<Sha256Digest, ArchiveError>>;

/// Hashes the entries one after the other.
fn hash_sequential<R: Read + Seek>(archive: &mut Archive<R>, names: &[&str]) -> Digests {
    names
        .iter()
        .map(|n| archive.sha256(n).map(|(d, _)| d))
        .collect()
}

/// Below this many declared bytes in all, threads cost more than they
/// save.
const PARALLEL_MIN_BYTES: u64 = 4 << 20;

/// Hashes the entries on up to `available_parallelism` threads, each with
/// its own clone of the archive (its own position in the one open file):
/// the entries are dealt out largest first to the least loaded thread.
/// Memory stays bounded: each thread streams one entry at a time through
/// a 64 KiB buffer. The results are those [`hash_sequential`] gives.
fn hash_parallel<R: Read + Seek + Clone + Send>(
    archive: &mut Archive<R>,
    names: &[&str],
) -> Digests {
    let size = |n: &str| archive.entry(n).map_or(0, |e| e.size);
    let total: u64 = names.iter().map(|n| size(n)).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(names.len());
    if threads < 2 || total < PARALLEL_MIN_BYTES {
        return hash_sequential(archive, names);
    }
    // Deal the entries (largest first) to the least loaded worker.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(names.get(i).map_or(0, |n| size(n))));
    let mut work: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for i in order {
        if let Some(w) = work.iter_mut().min_by_key(|w| w.0) {
            w.0 += names.get(i).map_or(0, |n| size(n));
            w.1.push(i);
        }
    }
    let hash_some = |mut a: Archive<R>, indices: Vec<usize>| -> Vec<(usize, _)> {
        indices
            .into_iter()
            .filter_map(|i| Some((i, a.sha256(names.get(i)?).map(|(d, _)| d))))
            .collect()
    };
    let mut results: Vec<Option<Result<Sha256Digest, ArchiveError>>> = vec![None; names.len()];
    std::thread::scope(|scope| {
        let mut work = work.into_iter().map(|(_, w)| w);
        let mine = work.next().unwrap_or_default();
        let handles: Vec<_> = work
            .map(|w| {
                let a = archive.clone();
                scope.spawn(move || hash_some(a, w))
            })
            .collect();
        let mut done = hash_some(archive.clone(), mine);
        for h in handles {
            // A worker that panicked leaves its slots empty: those entries
            // are hashed again below, on this thread.
            if let Ok(r) = h.join() {
                done.extend(r);
            }
        }
        for (i, r) in done {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
    });
    results
        .into_iter()
        .zip(names)
        .map(|(r, n)| r.unwrap_or_else(|| archive.sha256(n).map(|(d, _)| d)))
        .collect()
}

/// Verifies an opened archive; `hash` digests the declared entries present.
fn verify_archive<R: Read + Seek>(
    mut archive: Archive<R>,
    options: &VerifyOptions,
    hash: impl FnOnce(&mut Archive<R>, &[&str]) -> Digests,
) -> Result<VerifyReport, RunpackError> {
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
    // Every declared entry present is hashed (possibly in parallel); the
    // results are then taken in manifest order, so the first error, the
    // mismatches and the missing files are those of a sequential pass.
    let present: Vec<&str> = files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| archive.entry(p).is_some())
        .collect();
    let mut digests = hash(&mut archive, &present).into_iter();
    for file in &files {
        declared.insert(file.path.as_str());
        if archive.entry(&file.path).is_none() {
            report.missing_files.push(file.path.clone());
            continue;
        }
        let digest = digests
            .next()
            .unwrap_or_else(|| archive.sha256(&file.path).map(|(d, _)| d))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{NewEntry, write_deterministic_to_vec};
    use crate::runpack::{RunRecorder, demo_input};

    /// A runpack big enough for [`hash_parallel`] to use threads.
    fn big_runpack() -> Vec<u8> {
        let mut input = demo_input("0.0.0-test");
        let mut seed = 1u64;
        let mut text = String::new();
        while text.len() < 3 << 19 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            text.push(char::from(b'a' + (seed >> 59) as u8));
        }
        for (i, intent) in input.intents.iter_mut().enumerate() {
            let mut args = serde_json::Map::new();
            args.insert("blob".into(), format!("{i}{text}").into());
            intent.args = Some(args);
        }
        RunRecorder::new(input)
            .capture_mode(crate::runpack::CaptureMode::Raw)
            .record()
            .unwrap()
            .zip
    }

    fn both(
        zip: &[u8],
    ) -> (
        Result<VerifyReport, RunpackError>,
        Result<VerifyReport, RunpackError>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.zip");
        std::fs::write(&path, zip).unwrap();
        let opts = VerifyOptions::default();
        (
            verify_runpack(std::io::Cursor::new(zip), &opts),
            verify_runpack_file(&path, &opts),
        )
    }

    #[test]
    fn parallel_hashing_matches_sequential() {
        let zip = big_runpack();
        let a = Archive::open(std::io::Cursor::new(&zip)).unwrap();
        assert!(a.entries().iter().map(|e| e.size).sum::<u64>() > PARALLEL_MIN_BYTES);
        let (seq, par) = both(&zip);
        assert!(seq.as_ref().unwrap().is_ok(false));
        assert_eq!(seq, par);

        // Entries changed behind the manifest's back: the same mismatches.
        let mut a = a;
        let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
        let entries = names
            .iter()
            .map(|n| {
                let mut d = a.read(n, u64::MAX).unwrap();
                if n == "intents.jsonl" || n == "refs.json" {
                    d.push(b'\n');
                }
                NewEntry::file(n, d)
            })
            .collect();
        let tampered = write_deterministic_to_vec(entries).unwrap();
        let (seq, par) = both(&tampered);
        let report = seq.as_ref().unwrap();
        assert_eq!(report.hash_mismatches.len(), 2);
        assert_eq!(seq, par);

        // A corrupt entry: the same error.
        let mut corrupt = zip.clone();
        let mid = corrupt.len() / 3;
        corrupt[mid] ^= 0x55;
        let (seq, par) = both(&corrupt);
        assert!(seq.is_err());
        assert_eq!(seq, par);
    }
}
