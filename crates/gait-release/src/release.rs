//! Listing, signing and verifying a release directory.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use gait_digest::{Sha256Digest, Sha256Hasher};
use gait_sign::{Release, SignatureEnvelope, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, FileError};
use crate::provenance::{self, BuildInfo};
use crate::sums::{self, ChecksumEntry};

/// The checksum file.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The signature envelope over the checksum file.
pub const SUMS_SIG_FILE: &str = "SHA256SUMS.sig.json";
/// The provenance statement (canonical JSON).
pub const PROVENANCE_FILE: &str = "provenance.json";
/// The signature envelope over the provenance statement.
pub const PROVENANCE_SIG_FILE: &str = "provenance.sig.json";
/// The files `sign_release` writes; they are never listed in the checksum
/// file.
pub const GENERATED_FILES: [&str; 4] = [
    SUMS_FILE,
    SUMS_SIG_FILE,
    PROVENANCE_FILE,
    PROVENANCE_SIG_FILE,
];

/// Largest checksum file read.
const MAX_SUMS_BYTES: u64 = 1 << 20;
/// Largest signature envelope read.
const MAX_SIG_BYTES: u64 = 64 << 10;
/// Largest provenance statement read.
const MAX_PROVENANCE_BYTES: u64 = 4 << 20;
/// Mode of the files written into a release (they are public).
const PUBLIC_FILE_MODE: u32 = 0o644;

/// One directory entry: its name, if it is valid UTF-8, and whether it is a
/// regular file (symlinks are not followed).
struct DirEntry {
    name: String,
    regular: bool,
}

fn read_dir(dir: &Path) -> Result<Vec<DirEntry>, Error> {
    let read_err = |source| Error::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let meta = fs::symlink_metadata(dir).map_err(read_err)?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let regular = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        out.push(DirEntry { name, regular });
    }
    out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(out)
}

/// SHA-256 of a regular file, streamed; `None` if it cannot be opened.
fn hash_file(path: &Path) -> Result<Sha256Digest, FileError> {
    let meta = fs::symlink_metadata(path).map_err(FileError::Io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular);
    }
    let mut file = fs::File::open(path).map_err(FileError::Io)?;
    let mut hasher = Sha256Hasher::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf).map_err(FileError::Io)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hasher.finalize())
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let meta = fs::symlink_metadata(path).map_err(FileError::Io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular);
    }
    let file = gait_sign::open_regular_file(path).map_err(FileError::Io)?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(FileError::Io)?;
    if buf.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(buf)
}

/// The release files of `dir` with their digests, sorted by name: every
/// regular file except [`GENERATED_FILES`]. A subdirectory, symlink or
/// other special entry, or a name that cannot go on a checksum line, is
/// refused; so is a directory with no release file.
pub fn list_release_files(dir: &Path) -> Result<Vec<ChecksumEntry>, Error> {
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        if GENERATED_FILES.contains(&entry.name.as_str()) {
            continue;
        }
        let path = dir.join(&entry.name);
        if !entry.regular {
            return Err(Error::NotARegularFile { path });
        }
        if !sums::valid_file_name(&entry.name) {
            return Err(Error::UnlistableName { path });
        }
        let sha256 = hash_file(&path).map_err(|source| Error::Hash {
            path: path.clone(),
            source,
        })?;
        out.push(ChecksumEntry {
            name: entry.name,
            sha256,
        });
    }
    if out.is_empty() {
        return Err(Error::NoReleaseFile {
            path: dir.to_path_buf(),
        });
    }
    Ok(out)
}

/// What [`sign_release`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignedRelease {
    /// The release directory.
    pub dir: String,
    /// The signer's key id.
    pub key_id: String,
    /// The listed files: `(name, sha256 hex)`, sorted by name.
    pub files: Vec<(String, String)>,
    /// SHA-256 hex of the checksum file (the digest its signature signs).
    pub sums_sha256: String,
    /// SHA-256 hex of the provenance statement file.
    pub provenance_sha256: String,
}

fn write_public(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = dir.join(name);
    gait_sign::write_file_atomic(&path, bytes, PUBLIC_FILE_MODE, true).map_err(|source| {
        Error::Write {
            path: path.clone(),
            source,
        }
    })
}

fn envelope_bytes(env: &SignatureEnvelope) -> Vec<u8> {
    // The envelope is four strings: serializing it cannot fail.
    let mut bytes = serde_json::to_vec_pretty(env).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Signs the release in `dir`: writes [`SUMS_FILE`] (every release file and
/// its SHA-256), [`SUMS_SIG_FILE`] (an Ed25519 signature envelope whose
/// `signed_digest` is the SHA-256 of the checksum file's bytes),
/// [`PROVENANCE_FILE`] (the in-toto statement as canonical JSON, no
/// trailing newline) and [`PROVENANCE_SIG_FILE`] (the envelope whose
/// `signed_digest` is the SHA-256 of the statement file's bytes, which is
/// the statement's canonical digest). Earlier generated files are replaced;
/// each file is written atomically. The same directory, key and build
/// information always give the same bytes.
pub fn sign_release(
    dir: &Path,
    key: &SigningKey<Release>,
    build: &BuildInfo,
) -> Result<SignedRelease, Error> {
    build.validate()?;
    let entries = list_release_files(dir)?;
    let sums_text = sums::render(&entries);
    let sums_digest = gait_digest::sha256(sums_text.as_bytes());
    let statement = provenance::statement(&entries, build);
    let provenance_bytes = gait_digest::canonical::to_vec(&statement);
    let provenance_digest = gait_digest::sha256(&provenance_bytes);
    write_public(dir, SUMS_FILE, sums_text.as_bytes())?;
    write_public(
        dir,
        SUMS_SIG_FILE,
        &envelope_bytes(&key.sign_digest(&sums_digest)),
    )?;
    write_public(dir, PROVENANCE_FILE, &provenance_bytes)?;
    write_public(
        dir,
        PROVENANCE_SIG_FILE,
        &envelope_bytes(&key.sign_digest(&provenance_digest)),
    )?;
    Ok(SignedRelease {
        dir: dir.display().to_string(),
        key_id: key.key_id().to_hex(),
        files: entries
            .iter()
            .map(|e| (e.name.clone(), e.sha256.to_hex()))
            .collect(),
        sums_sha256: sums_digest.to_hex(),
        provenance_sha256: provenance_digest.to_hex(),
    })
}

/// The state of one listed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileStatus {
    /// Present with the listed digest.
    Ok,
    /// Present with another digest.
    Mismatch,
    /// Absent, unreadable, or not a regular file.
    Missing,
}

/// One listed file, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileCheck {
    /// The file name.
    pub name: String,
    /// The digest listed in the checksum file.
    pub expected_sha256: String,
    /// The digest of the file on disk, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_sha256: Option<String>,
    /// The outcome.
    pub status: FileStatus,
}

/// One reason a release does not verify, and the file it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Failure {
    /// The file (a name inside the release directory).
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// The result of [`verify_release`]. The release verifies when
/// [`failures`](Self::failures) is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Whether everything verified.
    pub ok: bool,
    /// The release directory.
    pub dir: String,
    /// The key id of the public key verified against.
    pub key_id: String,
    /// Whether the checksum file's signature verified with that key.
    pub checksums_signature_ok: bool,
    /// Whether the provenance statement's signature verified and its
    /// subjects equal the checksum file's entries.
    pub provenance_ok: bool,
    /// Every listed file, in checksum file order.
    pub files: Vec<FileCheck>,
    /// Entries of the directory that are not listed (and not generated).
    pub extra_files: Vec<String>,
    /// Everything that failed, each naming its file.
    pub failures: Vec<Failure>,
}

impl VerifyReport {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Checks a signature envelope file against the digest of the file it
/// signs; failures are attributed to the file that is wrong: the envelope
/// when it is malformed, by another key or not a valid signature, the
/// signed file when the envelope is authentic but signs other bytes.
fn check_signature(
    dir: &Path,
    sig_name: &str,
    signed_name: &str,
    actual: &Sha256Digest,
    key: &VerifyingKey<Release>,
    failures: &mut Vec<Failure>,
) -> bool {
    let fail = |failures: &mut Vec<Failure>, file: &str, reason: String| {
        failures.push(Failure {
            file: file.to_owned(),
            reason,
        });
        false
    };
    let bytes = match read_limited(&dir.join(sig_name), MAX_SIG_BYTES) {
        Ok(b) => b,
        Err(e) => return fail(failures, sig_name, format!("cannot read signature: {e}")),
    };
    let envelope: SignatureEnvelope = match serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| SignatureEnvelope::from_value(&v).map_err(|e| e.to_string()))
    {
        Ok(env) => env,
        Err(e) => {
            return fail(
                failures,
                sig_name,
                format!("malformed signature envelope: {e}"),
            );
        }
    };
    let expected_id = key.key_id().to_hex();
    if envelope.key_id != expected_id {
        return fail(
            failures,
            sig_name,
            format!(
                "signed by key {:?}, not by the given public key {expected_id}",
                envelope.key_id
            ),
        );
    }
    let claimed = match Sha256Digest::parse_hex(&envelope.signed_digest) {
        Ok(d) if d.to_hex() == envelope.signed_digest => d,
        _ => {
            return fail(
                failures,
                sig_name,
                "signed_digest is not 64 lowercase hex characters".to_owned(),
            );
        }
    };
    if let Err(e) = key.verify_digest(&claimed, &envelope) {
        return fail(
            failures,
            sig_name,
            format!("signature does not verify: {e}"),
        );
    }
    if claimed != *actual {
        return fail(
            failures,
            signed_name,
            format!(
                "SHA-256 {} is not the signed digest {} in {sig_name}",
                actual.to_hex(),
                claimed.to_hex()
            ),
        );
    }
    true
}

/// Verifies the release in `dir` against `key`: the checksum file parses
/// and its signature is by `key`; every listed file is present with its
/// listed digest; no other file is present; the provenance statement is
/// canonical JSON signed by `key` whose subjects are exactly the listed
/// files. Every failure is collected in the report, naming its file.
///
/// Errors only when `dir` is not a readable directory.
pub fn verify_release(dir: &Path, key: &VerifyingKey<Release>) -> Result<VerifyReport, Error> {
    let listing = read_dir(dir)?;
    let mut failures = Vec::new();
    let fail = |failures: &mut Vec<Failure>, file: &str, reason: String| {
        failures.push(Failure {
            file: file.to_owned(),
            reason,
        });
    };

    // The checksum file and its signature.
    let mut entries = Vec::new();
    let mut checksums_signature_ok = false;
    match read_limited(&dir.join(SUMS_FILE), MAX_SUMS_BYTES) {
        Err(e) => fail(&mut failures, SUMS_FILE, format!("cannot read: {e}")),
        Ok(bytes) => {
            match sums::parse(&bytes) {
                Ok(parsed) => entries = parsed,
                Err(e) => fail(&mut failures, SUMS_FILE, e.to_string()),
            }
            checksums_signature_ok = check_signature(
                dir,
                SUMS_SIG_FILE,
                SUMS_FILE,
                &gait_digest::sha256(&bytes),
                key,
                &mut failures,
            );
        }
    }

    // Every listed file.
    let mut files = Vec::with_capacity(entries.len());
    for e in &entries {
        let expected = e.sha256.to_hex();
        let (actual, status) = if GENERATED_FILES.contains(&e.name.as_str()) {
            fail(
                &mut failures,
                &e.name,
                format!("{SUMS_FILE} must not list the generated file {}", e.name),
            );
            (None, FileStatus::Missing)
        } else {
            match hash_file(&dir.join(&e.name)) {
                Ok(d) if d == e.sha256 => (Some(d.to_hex()), FileStatus::Ok),
                Ok(d) => {
                    fail(
                        &mut failures,
                        &e.name,
                        format!(
                            "SHA-256 {} does not match the listed {expected}",
                            d.to_hex()
                        ),
                    );
                    (Some(d.to_hex()), FileStatus::Mismatch)
                }
                Err(reason) => {
                    fail(
                        &mut failures,
                        &e.name,
                        format!("listed file missing: {reason}"),
                    );
                    (None, FileStatus::Missing)
                }
            }
        };
        files.push(FileCheck {
            name: e.name.clone(),
            expected_sha256: expected,
            actual_sha256: actual,
            status,
        });
    }

    // Anything else in the directory.
    let mut extra_files = Vec::new();
    for d in &listing {
        if GENERATED_FILES.contains(&d.name.as_str()) || entries.iter().any(|e| e.name == d.name) {
            continue;
        }
        fail(
            &mut failures,
            &d.name,
            format!("unlisted file: not in {SUMS_FILE}"),
        );
        extra_files.push(d.name.clone());
    }

    // The provenance statement.
    let mut provenance_ok = false;
    match read_limited(&dir.join(PROVENANCE_FILE), MAX_PROVENANCE_BYTES) {
        Err(e) => fail(&mut failures, PROVENANCE_FILE, format!("cannot read: {e}")),
        Ok(bytes) => {
            let signed = check_signature(
                dir,
                PROVENANCE_SIG_FILE,
                PROVENANCE_FILE,
                &gait_digest::sha256(&bytes),
                key,
                &mut failures,
            );
            let content = gait_digest::canonical::from_slice(&bytes)
                .map_err(|e| format!("not valid JSON: {e}"))
                .and_then(|canon| {
                    if canon == bytes {
                        serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string())
                    } else {
                        Err("not in canonical (RFC 8785) form".to_owned())
                    }
                })
                .and_then(|v| provenance::subjects(&v).map_err(|e| e.to_string()));
            match content {
                Err(e) => fail(&mut failures, PROVENANCE_FILE, e),
                Ok(subjects) => {
                    let listed: Vec<(String, String)> = entries
                        .iter()
                        .map(|e| (e.name.clone(), e.sha256.to_hex()))
                        .collect();
                    let mut listed_sorted = listed.clone();
                    listed_sorted.sort();
                    if subjects == listed_sorted {
                        provenance_ok = signed;
                    } else {
                        fail(
                            &mut failures,
                            PROVENANCE_FILE,
                            format!("subjects differ from the files listed in {SUMS_FILE}"),
                        );
                    }
                }
            }
        }
    }

    Ok(VerifyReport {
        ok: failures.is_empty(),
        dir: dir.display().to_string(),
        key_id: key.key_id().to_hex(),
        checksums_signature_ok,
        provenance_ok,
        files,
        extra_files,
        failures,
    })
}

/// SHA-256 hex of a file (for the `Cargo.lock` digest of the provenance
/// predicate).
pub fn file_sha256(path: &Path) -> Result<String, Error> {
    hash_file(path)
        .map(|d| d.to_hex())
        .map_err(|source| Error::Hash {
            path: path.to_path_buf(),
            source,
        })
}
