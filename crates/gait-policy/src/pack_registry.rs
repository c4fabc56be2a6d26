//! The policy-pack registry: signed `gait.registry.pack` 1.0.0 manifests,
//! installed into a local cache (`gait registry install|list|verify`).
//!
//! A manifest names a pack (`pack_name`, `pack_version`), its publisher
//! and its artifacts, and carries Ed25519 signatures over
//! SHA-256(JCS(normalized manifest without `signatures`)). Installing a
//! manifest checks, in order: the source (local file; remote sources need
//! https and an allowlisted host), the publisher allowlist, the pin, and
//! the signatures (always required, and so is the key). Only then is the
//! normalized manifest written to
//! `<cache>/<pack_name>/<pack_version>/<digest>/registry_pack.json` and the
//! pin to `<cache>/pins/<pack_name>.pin` (atomically, mode 0600).
//!
//! Stricter than the reference: pack names and versions must be a single
//! safe path component (the reference joins them into cache paths
//! unchecked), manifests are capped at [`MAX_MANIFEST_BYTES`] also when
//! read from a local file, and the cache walk is bounded. This build has no
//! HTTP client: a remote source that passes the https and host checks
//! fails to fetch ([`PackRegistryError::RemoteFetchUnavailable`]), after
//! which the pinned cached fallback applies as for any failed fetch.

use std::path::{Path, PathBuf};

use gait_digest::{GoTime, Sha256Digest, null_as_default};
use gait_sign::{SignatureEnvelope, Trace, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jsonfold::fold_member_names;

/// `schema_id` of registry manifests.
pub const PACK_SCHEMA_ID: &str = "gait.registry.pack";
/// `schema_id` of verification reports.
pub const REPORT_SCHEMA_ID: &str = "gait.registry.verification_report";
/// The largest manifest accepted (local file, cache entry or remote body).
pub const MAX_MANIFEST_BYTES: u64 = 5 << 20;
/// The largest pin file read.
const MAX_PIN_BYTES: u64 = 4096;
/// The most directory entries the cache walks look at.
const MAX_CACHE_ENTRIES: usize = 10_000;
/// The metadata file name inside a cache entry.
pub const METADATA_FILE: &str = "registry_pack.json";

/// One artifact of a pack (not fetched, not hash-checked: see the module
/// docs of the port's compatibility notes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(missing_docs, reason = "field names are the schema's")]
pub struct PackArtifact {
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sha256: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
}

/// A `gait.registry.pack` manifest (members in the schema's order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(missing_docs, reason = "field names are the schema's")]
pub struct PackManifest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pack_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pack_version: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub pack_type: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub publisher: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub source: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub risk_class: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub use_case: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub compatibility: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub provenance: Map<String, Value>,
    /// Never omitted: `null` when absent.
    #[serde(default)]
    pub artifacts: Option<Vec<PackArtifact>>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub signatures: Vec<SignatureEnvelope>,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackRegistryError {
    /// A remote source is plain http without `--allow-insecure-http`.
    #[error("remote source requires https")]
    InsecureRemote,
    /// A remote source without a host allowlist.
    #[error("remote source requires --allow-host")]
    NoAllowHost,
    /// The source URL has no host.
    #[error("remote source has no host: {0}")]
    NoHost(String),
    /// The source host is not allowlisted.
    #[error("source host {0} is not in allowlist")]
    HostNotAllowed(String),
    /// Remote fetching is not available in this build.
    #[error(
        "fetch {0}: remote registry fetch is not available in this build (use a local file source)"
    )]
    RemoteFetchUnavailable(String),
    /// The cached fallback was requested without a pin.
    #[error("cached fallback requires --pin sha256:<digest>")]
    FallbackNeedsPin,
    /// No cached manifest has the pinned digest.
    #[error("cached fallback: no cached manifest for digest {0}")]
    NoCachedManifest(String),
    /// A file could not be read.
    #[error("read {what} {}: {source}", path.display())]
    Read {
        /// What was read.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is larger than [`MAX_MANIFEST_BYTES`].
    #[error("{}: manifest larger than {max} bytes", path.display(), max = MAX_MANIFEST_BYTES)]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A manifest is not JSON of the manifest's shape.
    #[error("parse registry manifest: {0}")]
    Parse(String),
    /// A manifest's `schema_id` is not [`PACK_SCHEMA_ID`].
    #[error("unsupported schema_id {0:?}")]
    SchemaId(String),
    /// A manifest's `schema_version` is not `1.0.0`.
    #[error("unsupported schema_version {0:?}")]
    SchemaVersion(String),
    /// A required manifest field is blank.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A `skill` pack needs a publisher and a source.
    #[error("skill pack requires publisher and source")]
    SkillProvenance,
    /// `pack_name` or `pack_version` is not one safe path component.
    #[error("{field} {value:?} is not a safe path component")]
    UnsafeName {
        /// `pack_name` or `pack_version`.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// The manifest digest could not be computed.
    #[error("manifest digest: {0}")]
    Digest(#[source] gait_digest::Error),
    /// The publisher is not allowlisted.
    #[error("manifest publisher {0} is not in allowlist")]
    PublisherNotAllowed(String),
    /// The pin does not match the digest.
    #[error("pin digest mismatch")]
    PinMismatch,
    /// No signature verifies.
    #[error("no valid signature for manifest digest")]
    NoValidSignature,
    /// A cache file could not be written.
    #[error("write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl PackRegistryError {
    /// Whether this is a verification failure (a signature, pin or
    /// allowlist check), as opposed to unusable input.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Self::PublisherNotAllowed(_) | Self::PinMismatch | Self::NoValidSignature
        )
    }
}

pub(crate) const SIGNATURE_FIELDS: &[&str] = &["alg", "key_id", "sig", "signed_digest"];

const MANIFEST_FIELDS: &[&str] = &[
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "pack_name",
    "pack_version",
    "pack_type",
    "publisher",
    "source",
    "risk_class",
    "use_case",
    "compatibility",
    "provenance",
    "artifacts",
    "signatures",
];

/// Whether `s` is a single safe path component for a cache path.
fn safe_component(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && !s.contains(['/', '\\'])
        && !s.chars().any(char::is_control)
        && !s.starts_with('.')
}

impl PackManifest {
    /// Parses (leniently: unknown members ignored, names matched
    /// case-insensitively), checks and normalizes a manifest.
    ///
    /// # Errors
    ///
    /// [`PackRegistryError`] naming the problem.
    pub fn parse(bytes: &[u8]) -> Result<PackManifest, PackRegistryError> {
        let mut value = gait_digest::canonical::parse_strict(bytes)
            .map_err(|e| PackRegistryError::Parse(e.to_string()))?;
        let ambiguous =
            |f: String| PackRegistryError::Parse(format!("ambiguous member names for {f}"));
        fold_member_names(&mut value, MANIFEST_FIELDS).map_err(ambiguous)?;
        if let Value::Object(m) = &mut value {
            if let Some(Value::Array(items)) = m.get_mut("artifacts") {
                for i in items {
                    fold_member_names(i, &["path", "sha256", "media_type"]).map_err(ambiguous)?;
                }
            }
            if let Some(Value::Array(items)) = m.get_mut("signatures") {
                for i in items {
                    fold_member_names(i, SIGNATURE_FIELDS).map_err(ambiguous)?;
                }
            }
        }
        let manifest: PackManifest =
            serde_json::from_value(value).map_err(|e| PackRegistryError::Parse(e.to_string()))?;
        manifest.normalized()
    }

    /// The checked, normalized manifest: exact schema, non-blank name and
    /// version (each one safe path component), `pack_type`, `publisher`
    /// and `source` trimmed and lowercased, and a `skill` pack's publisher
    /// and source present.
    ///
    /// # Errors
    ///
    /// [`PackRegistryError`] naming the problem.
    pub fn normalized(&self) -> Result<PackManifest, PackRegistryError> {
        let mut m = self.clone();
        if m.schema_id != PACK_SCHEMA_ID {
            return Err(PackRegistryError::SchemaId(m.schema_id));
        }
        if m.schema_version != "1.0.0" {
            return Err(PackRegistryError::SchemaVersion(m.schema_version));
        }
        if m.pack_name.trim().is_empty() {
            return Err(PackRegistryError::Missing("pack_name"));
        }
        if m.pack_version.trim().is_empty() {
            return Err(PackRegistryError::Missing("pack_version"));
        }
        for (field, value) in [
            ("pack_name", &m.pack_name),
            ("pack_version", &m.pack_version),
        ] {
            if !safe_component(value) || (field == "pack_name" && value == "pins") {
                return Err(PackRegistryError::UnsafeName {
                    field,
                    value: value.clone(),
                });
            }
        }
        m.pack_type = m.pack_type.trim().to_lowercase();
        m.publisher = m.publisher.trim().to_lowercase();
        m.source = m.source.trim().to_lowercase();
        if m.pack_type == "skill" && (m.publisher.is_empty() || m.source.is_empty()) {
            return Err(PackRegistryError::SkillProvenance);
        }
        Ok(m)
    }

    /// SHA-256 of the canonical manifest without `signatures`.
    ///
    /// # Errors
    ///
    /// [`PackRegistryError::Digest`] when the manifest cannot be
    /// canonicalized (a non-finite number).
    pub fn digest(&self) -> Result<Sha256Digest, PackRegistryError> {
        let mut signable = self.clone();
        signable.signatures = Vec::new();
        gait_digest::digest_serialize(&signable).map_err(PackRegistryError::Digest)
    }

    /// Checks the signature rule: at least one signature whose
    /// `signed_digest` equals `digest` (any case) verifies with `key`.
    ///
    /// # Errors
    ///
    /// [`PackRegistryError::NoValidSignature`] otherwise.
    pub fn verify_signatures(
        &self,
        digest: &Sha256Digest,
        key: &VerifyingKey<Trace>,
    ) -> Result<(), PackRegistryError> {
        let ok = self.signatures.iter().any(|s| {
            let mut s = s.clone();
            s.signed_digest = s.signed_digest.trim().to_lowercase();
            key.verify_digest(digest, &s).is_ok()
        });
        if ok {
            Ok(())
        } else {
            Err(PackRegistryError::NoValidSignature)
        }
    }

    /// The canonical bytes written into the cache (signatures included).
    ///
    /// # Errors
    ///
    /// [`PackRegistryError::Digest`] when the manifest cannot be
    /// canonicalized.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, PackRegistryError> {
        gait_digest::canonical::to_vec_from(self).map_err(PackRegistryError::Digest)
    }
}

/// Lowercased trimmed CSV items (publisher allowlists, host lists).
pub fn parse_allowlist(csv: &str) -> Vec<String> {
    csv.split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `publisher` passes `allowlist` (an empty list allows anyone).
fn publisher_allowed(publisher: &str, allowlist: &[String]) -> bool {
    allowlist.is_empty() || (!publisher.is_empty() && allowlist.iter().any(|a| a == publisher))
}

/// A pin text without its `sha256:` prefix, trimmed and lowercased.
fn pin_hex(pin: &str) -> String {
    let p = pin.trim().to_lowercase();
    p.strip_prefix("sha256:").unwrap_or(&p).to_owned()
}

/// `~/.gait/registry` (or `.gait/registry` without `HOME`).
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(
            || PathBuf::from(".gait"),
            |h| PathBuf::from(h).join(".gait"),
        )
        .join("registry")
}

fn read_limited(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>, PackRegistryError> {
    gait_sign::read_regular_file_limited(path, limit).map_err(|source| {
        if source.kind() == std::io::ErrorKind::FileTooLarge {
            PackRegistryError::TooLarge {
                path: path.to_path_buf(),
            }
        } else {
            PackRegistryError::Read {
                what,
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `gait registry install` settings.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InstallOptions {
    /// A local path, or an `http(s)://` URL.
    pub source: String,
    /// Allowed hosts of remote sources (lowercased).
    pub allow_hosts: Vec<String>,
    /// Allowed publishers (lowercased; empty allows anyone).
    pub publisher_allowlist: Vec<String>,
    /// The expected digest (`sha256:<hex>`), if any.
    pub pin: Option<String>,
    /// The cache directory.
    pub cache_dir: PathBuf,
    /// Allow plain `http://` remote sources.
    pub allow_insecure_http: bool,
    /// Install the pinned cached manifest when a remote fetch fails.
    pub allow_cached_fallback: bool,
}

impl InstallOptions {
    /// Options to install `source` into `cache_dir`.
    pub fn new(source: &str, cache_dir: PathBuf) -> Self {
        Self {
            source: source.to_owned(),
            cache_dir,
            ..Self::default()
        }
    }
}

/// What `gait registry install` installed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Installed {
    /// The source as given.
    pub source: String,
    /// The pack name.
    pub pack_name: String,
    /// The pack version.
    pub pack_version: String,
    /// The manifest digest (hex).
    pub digest: String,
    /// The normalized publisher.
    pub publisher: String,
    /// The normalized manifest `source`.
    pub pack_source: String,
    /// The cached manifest.
    pub metadata_path: String,
    /// The pin file.
    pub pin_path: String,
    /// The cached manifest used instead of a failed remote fetch.
    pub fallback_path: Option<String>,
}

fn is_remote(source: &str) -> bool {
    let l = source.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// The host of an `http(s)://` URL, lowercased, without port or userinfo.
fn url_host(source: &str) -> Option<String> {
    let rest = source.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    (!host.is_empty()).then(|| host.to_lowercase())
}

/// Checks a remote source's scheme and host.
fn check_remote(opts: &InstallOptions) -> Result<(), PackRegistryError> {
    let lower = opts.source.to_ascii_lowercase();
    if lower.starts_with("http://") && !opts.allow_insecure_http {
        return Err(PackRegistryError::InsecureRemote);
    }
    if opts.allow_hosts.is_empty() {
        return Err(PackRegistryError::NoAllowHost);
    }
    let host =
        url_host(&opts.source).ok_or_else(|| PackRegistryError::NoHost(opts.source.clone()))?;
    if !opts.allow_hosts.contains(&host) {
        return Err(PackRegistryError::HostNotAllowed(host));
    }
    Ok(())
}

/// Sorted directory entries (at most [`MAX_CACHE_ENTRIES`]), or an error.
fn sorted_dir(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)?.take(MAX_CACHE_ENTRIES) {
        let e = e?;
        out.push((e.file_name().to_string_lossy().into_owned(), e.path()));
    }
    out.sort();
    Ok(out)
}

fn is_real_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// The first readable `<cache>/*/*/<digest>/registry_pack.json`, in
/// sorted order.
fn cached_manifest(cache: &Path, digest: &str) -> Option<(PathBuf, Vec<u8>)> {
    for (name, name_dir) in sorted_dir(cache).ok()? {
        if name == "pins" || !is_real_dir(&name_dir) {
            continue;
        }
        for (_, version_dir) in sorted_dir(&name_dir).unwrap_or_default() {
            let file = version_dir.join(digest).join(METADATA_FILE);
            if let Ok(bytes) = read_limited(&file, "cached manifest", MAX_MANIFEST_BYTES) {
                return Some((file, bytes));
            }
        }
    }
    None
}

/// Installs a signed manifest into the cache (see the module docs for the
/// order of checks). `key` verifies the signatures.
///
/// # Errors
///
/// [`PackRegistryError`] for every refusal; nothing is written unless every
/// check passed.
pub fn install_pack(
    opts: &InstallOptions,
    key: &VerifyingKey<Trace>,
) -> Result<Installed, PackRegistryError> {
    let remote = is_remote(&opts.source);
    if remote {
        check_remote(opts)?;
    }
    let cache = PathBuf::from(gait_digest::clean_path(&display(&opts.cache_dir)));
    let mut fallback_path = None;
    let bytes = if remote {
        let fetch_error = PackRegistryError::RemoteFetchUnavailable(opts.source.clone());
        if !opts.allow_cached_fallback {
            return Err(fetch_error);
        }
        let pin = opts
            .pin
            .as_deref()
            .map(pin_hex)
            .filter(|p| !p.is_empty())
            .ok_or(PackRegistryError::FallbackNeedsPin)?;
        if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PackRegistryError::PinMismatch);
        }
        let (path, bytes) =
            cached_manifest(&cache, &pin).ok_or(PackRegistryError::NoCachedManifest(pin))?;
        fallback_path = Some(display(&path));
        bytes
    } else {
        read_limited(Path::new(&opts.source), "source file", MAX_MANIFEST_BYTES)?
    };
    let manifest = PackManifest::parse(&bytes)?;
    if !publisher_allowed(&manifest.publisher, &opts.publisher_allowlist) {
        return Err(PackRegistryError::PublisherNotAllowed(
            manifest.publisher.clone(),
        ));
    }
    let digest = manifest.digest()?;
    let hex = digest.to_hex();
    if let Some(pin) = opts.pin.as_deref() {
        if pin_hex(pin) != hex {
            return Err(PackRegistryError::PinMismatch);
        }
    }
    manifest.verify_signatures(&digest, key)?;

    let dir = cache
        .join(&manifest.pack_name)
        .join(&manifest.pack_version)
        .join(&hex);
    let metadata_path = dir.join(METADATA_FILE);
    let pins = cache.join("pins");
    let pin_path = pins.join(format!("{}.pin", manifest.pack_name));
    let werr = |path: &Path, e: gait_sign::Error| PackRegistryError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    gait_sign::create_private_dir(&dir).map_err(|e| werr(&dir, e))?;
    gait_sign::write_file_atomic(
        &metadata_path,
        &manifest.canonical_bytes()?,
        gait_sign::PRIVATE_FILE_MODE,
        true,
    )
    .map_err(|e| werr(&metadata_path, e))?;
    gait_sign::create_private_dir(&pins).map_err(|e| werr(&pins, e))?;
    gait_sign::write_file_atomic(
        &pin_path,
        format!("sha256:{hex}\n").as_bytes(),
        gait_sign::PRIVATE_FILE_MODE,
        true,
    )
    .map_err(|e| werr(&pin_path, e))?;
    Ok(Installed {
        source: opts.source.clone(),
        pack_name: manifest.pack_name,
        pack_version: manifest.pack_version,
        digest: hex,
        publisher: manifest.publisher,
        pack_source: manifest.source,
        metadata_path: display(&metadata_path),
        pin_path: display(&pin_path),
        fallback_path,
    })
}

/// One cached pack (`gait registry list`). Signatures are not checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CachedPack {
    /// The pack name.
    pub pack_name: String,
    /// The pack version.
    pub pack_version: String,
    /// The digest recomputed from the cached manifest.
    pub digest: String,
    /// The cached manifest.
    pub metadata_path: String,
    /// The pin file, when there is one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pin_path: String,
    /// The pin's text, when there is one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pin_digest: String,
    /// The pin is present and equals the digest.
    pub pin_verified: bool,
}

/// Reads `<cache>/pins/<name>.pin`: `Ok(None)` when absent.
fn read_pin(cache: &Path, name: &str) -> Result<Option<(PathBuf, String)>, PackRegistryError> {
    let path = cache.join("pins").join(format!("{name}.pin"));
    match gait_sign::read_regular_file_limited(&path, MAX_PIN_BYTES) {
        Ok(b) => Ok(Some((path, String::from_utf8_lossy(&b).trim().to_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PackRegistryError::Read {
            what: "pin",
            path,
            source,
        }),
    }
}

/// Lists the packs cached under `cache` (a missing cache has none):
/// unreadable or invalid entries are skipped, digests are recomputed from
/// the files, entries are sorted by (name, version, digest).
///
/// # Errors
///
/// [`PackRegistryError::Read`] when the cache directory exists but cannot
/// be read.
pub fn list_cache(cache: &Path) -> Result<Vec<CachedPack>, PackRegistryError> {
    let cache = PathBuf::from(gait_digest::clean_path(&display(cache)));
    let top = match sorted_dir(&cache) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PackRegistryError::Read {
                what: "registry cache",
                path: cache,
                source,
            });
        }
    };
    let mut packs = Vec::new();
    for (name, name_dir) in top {
        if name == "pins" || !is_real_dir(&name_dir) {
            continue;
        }
        for (_, version_dir) in sorted_dir(&name_dir).unwrap_or_default() {
            if !is_real_dir(&version_dir) {
                continue;
            }
            for (_, digest_dir) in sorted_dir(&version_dir).unwrap_or_default() {
                if !is_real_dir(&digest_dir) || packs.len() >= MAX_CACHE_ENTRIES {
                    continue;
                }
                let file = digest_dir.join(METADATA_FILE);
                let Ok(bytes) = read_limited(&file, "cached manifest", MAX_MANIFEST_BYTES) else {
                    continue;
                };
                let Ok(m) = PackManifest::parse(&bytes) else {
                    continue;
                };
                let Ok(digest) = m.digest() else { continue };
                let digest = digest.to_hex();
                let pin = read_pin(&cache, &m.pack_name).ok().flatten();
                let (pin_path, pin_digest) = pin.map(|(p, d)| (display(&p), d)).unwrap_or_default();
                packs.push(CachedPack {
                    pin_verified: !pin_path.is_empty() && pin_hex(&pin_digest) == digest,
                    pack_name: m.pack_name,
                    pack_version: m.pack_version,
                    digest,
                    metadata_path: display(&file),
                    pin_path,
                    pin_digest,
                });
            }
        }
    }
    packs.sort_by(|a, b| {
        (&a.pack_name, &a.pack_version, &a.digest).cmp(&(&b.pack_name, &b.pack_version, &b.digest))
    });
    Ok(packs)
}

/// The result of `gait registry verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackVerification {
    /// The pack name.
    pub pack_name: String,
    /// The pack version.
    pub pack_version: String,
    /// The manifest digest (hex).
    pub digest: String,
    /// The manifest verified.
    pub metadata_path: String,
    /// The pin file looked at (empty without a cache dir).
    pub pin_path: String,
    /// The pin's text.
    pub pin_digest: String,
    /// A pin file exists.
    pub pin_present: bool,
    /// The pin equals the digest.
    pub pin_verified: bool,
    /// A signature verified.
    pub signature_verified: bool,
    /// Why no signature verified, or (as the reference reports it) why the
    /// publisher is not allowed.
    pub signature_error: String,
    /// The normalized publisher.
    pub publisher: String,
    /// The normalized manifest `source`.
    pub pack_source: String,
    /// The publisher passes the allowlist (true without one).
    pub publisher_allowed: bool,
    /// An allowlist was given.
    pub allowlist_given: bool,
}

impl PackVerification {
    /// Signature verified, the pin (if any) matches, and the publisher is
    /// allowed.
    pub fn ok(&self) -> bool {
        self.signature_verified
            && (!self.pin_present || self.pin_verified)
            && (!self.allowlist_given || self.publisher_allowed)
    }

    /// The sorted failure reasons.
    pub fn failure_reasons(&self) -> Vec<&'static str> {
        let mut r = Vec::new();
        if self.pin_present && !self.pin_verified {
            r.push("pin_mismatch");
        }
        if self.allowlist_given && !self.publisher_allowed {
            r.push("publisher_not_allowed");
        }
        if !self.signature_verified {
            r.push("signature_not_verified");
        }
        r
    }

    /// The verification report file (`gait.registry.verification_report`
    /// 1.0.0): indented JSON in member order and a newline.
    pub fn report_bytes(&self, producer_version: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct Report<'a> {
            schema_id: &'a str,
            schema_version: &'a str,
            created_at: &'a str,
            producer_version: &'a str,
            pack_name: &'a str,
            pack_version: &'a str,
            digest: &'a str,
            metadata_path: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            pin_path: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            pin_digest: &'a str,
            pin_present: bool,
            pin_verified: bool,
            signature_verified: bool,
            #[serde(skip_serializing_if = "str::is_empty")]
            signature_error: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            publisher: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            source: &'a str,
            publisher_allowed: bool,
            status: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            failure_reasons: Vec<&'static str>,
        }
        let report = Report {
            schema_id: REPORT_SCHEMA_ID,
            schema_version: "1.0.0",
            created_at: "1980-01-01T00:00:00Z",
            producer_version,
            pack_name: &self.pack_name,
            pack_version: &self.pack_version,
            digest: &self.digest,
            metadata_path: &self.metadata_path,
            pin_path: &self.pin_path,
            pin_digest: &self.pin_digest,
            pin_present: self.pin_present,
            pin_verified: self.pin_verified,
            signature_verified: self.signature_verified,
            signature_error: &self.signature_error,
            publisher: &self.publisher,
            source: &self.pack_source,
            publisher_allowed: self.publisher_allowed,
            status: if self.ok() { "pass" } else { "fail" },
            failure_reasons: self.failure_reasons(),
        };
        let mut out = serde_json::to_vec_pretty(&report).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// The cache directory a manifest path implies: `<cache>` when `path` is
/// `<cache>/<pack_name>/<pack_version>/<digest>/registry_pack.json` and
/// the directory digest equals `digest` (any case).
fn inferred_cache(path: &Path, m: &PackManifest, digest: &str) -> Option<PathBuf> {
    if path.file_name()? != METADATA_FILE {
        return None;
    }
    let digest_dir = path.parent()?;
    let version_dir = digest_dir.parent()?;
    let name_dir = version_dir.parent()?;
    let ok = digest_dir
        .file_name()?
        .to_str()?
        .eq_ignore_ascii_case(digest)
        && version_dir.file_name()?.to_str()? == m.pack_version
        && name_dir.file_name()?.to_str()? == m.pack_name;
    ok.then(|| name_dir.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// Verifies a manifest file: signatures with `key`, the publisher
/// allowlist, and the pin of `cache_dir` (or of the cache the path lies
/// in, see the module docs).
///
/// # Errors
///
/// [`PackRegistryError`] when the manifest cannot be read or parsed, or a
/// pin file exists but cannot be read. Failed checks are not errors: see
/// [`PackVerification::ok`].
pub fn verify_pack(
    path: &Path,
    cache_dir: Option<&Path>,
    publisher_allowlist: &[String],
    key: &VerifyingKey<Trace>,
) -> Result<PackVerification, PackRegistryError> {
    let bytes = read_limited(path, "registry manifest", MAX_MANIFEST_BYTES)?;
    let m = PackManifest::parse(&bytes)?;
    let digest = m.digest()?;
    let hex = digest.to_hex();
    let (signature_verified, mut signature_error) = match m.verify_signatures(&digest, key) {
        Ok(()) => (true, String::new()),
        Err(e) => (false, e.to_string()),
    };
    let allowed = publisher_allowed(&m.publisher, publisher_allowlist);
    if !allowed && signature_error.is_empty() {
        signature_error = PackRegistryError::PublisherNotAllowed(m.publisher.clone()).to_string();
    }
    let cache = match cache_dir {
        Some(c) => Some(PathBuf::from(gait_digest::clean_path(&display(c)))),
        None => inferred_cache(path, &m, &hex),
    };
    let mut v = PackVerification {
        pack_name: m.pack_name.clone(),
        pack_version: m.pack_version.clone(),
        digest: hex.clone(),
        metadata_path: display(path),
        pin_path: String::new(),
        pin_digest: String::new(),
        pin_present: false,
        pin_verified: false,
        signature_verified,
        signature_error,
        publisher: m.publisher.clone(),
        pack_source: m.source.clone(),
        publisher_allowed: allowed,
        allowlist_given: !publisher_allowlist.is_empty(),
    };
    if let Some(cache) = cache {
        v.pin_path = display(&cache.join("pins").join(format!("{}.pin", m.pack_name)));
        if let Some((_, text)) = read_pin(&cache, &m.pack_name)? {
            v.pin_present = true;
            v.pin_verified = pin_hex(&text) == hex;
            v.pin_digest = text;
        }
    }
    Ok(v)
}

/// Writes a verification report atomically (mode 0600).
///
/// # Errors
///
/// [`PackRegistryError::Write`] when it cannot be written.
pub fn write_report(path: &Path, bytes: &[u8]) -> Result<(), PackRegistryError> {
    let werr = |e: gait_sign::Error| PackRegistryError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        gait_sign::create_private_dir(dir).map_err(werr)?;
    }
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, true).map_err(werr)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn safe_components() {
        for ok in ["baseline-policy", "1.2.0", "a_b", "v1"] {
            assert!(safe_component(ok), "{ok}");
        }
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a\nb", "a\0b",
        ] {
            assert!(!safe_component(bad), "{bad:?}");
        }
        assert!(!safe_component(&"x".repeat(129)));
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://Reg.Example.com:8443/p").as_deref(),
            Some("reg.example.com")
        );
        assert_eq!(
            url_host("https://u:p@h.example/p?q").as_deref(),
            Some("h.example")
        );
        assert_eq!(url_host("https://[::1]:9/p").as_deref(), Some("::1"));
        assert_eq!(url_host("https:///p"), None);
        assert!(is_remote("HTTPS://x"));
        assert!(!is_remote("file://x"));
    }

    #[test]
    fn pins_and_allowlists() {
        assert_eq!(pin_hex(" SHA256:ABCD\n"), "abcd");
        assert_eq!(pin_hex("abcd"), "abcd");
        assert_eq!(parse_allowlist(" Other ,ACME,,"), ["other", "acme"]);
        assert!(publisher_allowed("", &[]));
        assert!(!publisher_allowed("", &["acme".into()]));
        assert!(publisher_allowed("acme", &["acme".into()]));
    }

    #[test]
    fn case_variant_duplicates_are_refused() {
        let bytes = br#"{"schema_id":"gait.registry.pack","schema_version":"1.0.0","pack_name":"a","PACK_NAME":"b","pack_version":"1"}"#;
        assert!(
            matches!(PackManifest::parse(bytes), Err(PackRegistryError::Parse(m)) if m.contains("pack_name"))
        );
    }

    #[test]
    fn pins_is_not_a_pack_name() {
        let m = PackManifest {
            schema_id: PACK_SCHEMA_ID.into(),
            schema_version: "1.0.0".into(),
            created_at: GoTime::default(),
            producer_version: String::new(),
            pack_name: "pins".into(),
            pack_version: "1".into(),
            pack_type: String::new(),
            publisher: String::new(),
            source: String::new(),
            risk_class: String::new(),
            use_case: String::new(),
            compatibility: Vec::new(),
            provenance: Map::new(),
            artifacts: None,
            signatures: Vec::new(),
        };
        assert!(matches!(
            m.normalized(),
            Err(PackRegistryError::UnsafeName { .. })
        ));
        let bytes = m.canonical_bytes().unwrap();
        // `artifacts` is never omitted; a zero time prints Go's zero.
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"artifacts\":null"), "{text}");
        assert!(text.contains("0001-01-01T00:00:00Z"), "{text}");
    }
}
