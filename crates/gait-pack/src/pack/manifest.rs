//! `pack_manifest.json`: the model, its strict decoding, `pack_id` and the
//! signable projection.

use gait_digest::{GoTime, Sha256Digest, digest_json, null_as_default};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The manifest's file name inside a pack.
pub const MANIFEST_FILE: &str = "pack_manifest.json";
/// `schema_id` of a pack manifest.
pub const MANIFEST_SCHEMA_ID: &str = "gait.pack.manifest";
/// `schema_version` of a pack manifest.
pub const MANIFEST_SCHEMA_VERSION: &str = "1.0.0";
/// The pack types PackSpec v1 defines.
pub const PACK_TYPES: [&str; 4] = ["run", "job", "call", "authorization"];
/// The `created_at` every builder writes: 1980-01-01T00:00:00Z.
pub const DETERMINISTIC_TIMESTAMP: &str = "1980-01-01T00:00:00Z";

/// The fixed 1980-01-01 timestamp as a [`GoTime`].
pub fn deterministic_time() -> GoTime {
    // 1980-01-01T00:00:00Z in Unix seconds.
    GoTime::from_unix(315_532_800, 0)
}

/// One declared entry: `{path, sha256, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackEntry {
    /// The entry's name in the zip.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// Hex SHA-256 of the entry's bytes (any case on input).
    #[serde(default, deserialize_with = "null_as_default")]
    pub sha256: String,
    /// `json`, `jsonl`, `zip` or `blob`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub entry_type: String,
}

/// A manifest signature: `{alg, key_id, sig, signed_digest?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackSignature {
    /// `ed25519`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub alg: String,
    /// Hex SHA-256 of the signer's public key.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_id: String,
    /// Base64 of the Ed25519 signature.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sig: String,
    /// Hex SHA-256 of the canonical signable manifest.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub signed_digest: String,
}

impl PackSignature {
    /// The same signature as a [`gait_sign::SignatureEnvelope`].
    pub fn to_envelope(&self) -> gait_sign::SignatureEnvelope {
        let mut e = gait_sign::SignatureEnvelope::default();
        e.alg.clone_from(&self.alg);
        e.key_id.clone_from(&self.key_id);
        e.sig.clone_from(&self.sig);
        e.signed_digest.clone_from(&self.signed_digest);
        e
    }

    /// A pack signature from an envelope.
    pub fn from_envelope(e: &gait_sign::SignatureEnvelope) -> Self {
        Self {
            alg: e.alg.clone(),
            key_id: e.key_id.clone(),
            sig: e.sig.clone(),
            signed_digest: e.signed_digest.clone(),
        }
    }
}

/// `pack_manifest.json`. Serializing it gives the reference's projection
/// (field set and `omitempty` rules); canonicalize that for digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    /// `gait.pack.manifest`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    /// `1.0.0`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    /// Builders write 1980-01-01T00:00:00Z.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    /// The producing CLI's version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    /// SHA-256 of the canonical manifest with `pack_id` blank and no
    /// signatures.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pack_id: String,
    /// `run`, `job`, `call` or `authorization`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pack_type: String,
    /// The run id, job id, call id or trace id the pack was built from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source_ref: String,
    /// Every entry except the manifest, sorted by path.
    #[serde(default, deserialize_with = "null_as_default")]
    pub contents: Vec<PackEntry>,
    /// Signatures over [`PackManifest::signable`] (omitted when empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub signatures: Vec<PackSignature>,
}

/// Whether `value`, trimmed, is 64 hex digits (either case), as the
/// reference checks digests in manifests and payloads.
pub fn is_sha256_hex(value: &str) -> bool {
    let t = value.trim();
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The entry type builders declare for a path: `json`, `jsonl`, `zip`, else
/// `blob` (by lowercase suffix).
pub fn entry_type(path: &str) -> &'static str {
    let lower = path.trim().to_ascii_lowercase();
    if lower.ends_with(".json") {
        "json"
    } else if lower.ends_with(".jsonl") {
        "jsonl"
    } else if lower.ends_with(".zip") {
        "zip"
    } else {
        "blob"
    }
}

/// Why `pack_manifest.json` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

impl PackManifest {
    /// Decodes and checks a manifest strictly: duplicate members, unknown
    /// members (at any level) and trailing values are refused; schema id and
    /// version must match exactly; `pack_type` must be known; `source_ref`
    /// and `producer_version` non-blank; `created_at` non-zero; `contents`
    /// present; `pack_id`, entry hashes and `signed_digest` 64 hex digits;
    /// entries need a path and a type; signatures need `alg`, `key_id`,
    /// `sig`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let err = |m: String| ManifestError(format!("parse pack manifest: {m}"));
        let value = gait_digest::canonical::parse_strict(bytes).map_err(|e| err(e.to_string()))?;
        let contents_present = value
            .as_object()
            .and_then(|m| m.get("contents"))
            .is_some_and(|c| !c.is_null());
        let manifest: PackManifest =
            serde_json::from_value(value).map_err(|e| err(e.to_string()))?;
        let fail = |m: &str| Err(ManifestError(m.to_owned()));
        if manifest.schema_id != MANIFEST_SCHEMA_ID {
            return fail(&format!(
                "unsupported manifest schema_id: {}",
                manifest.schema_id
            ));
        }
        if manifest.schema_version != MANIFEST_SCHEMA_VERSION {
            return fail(&format!(
                "unsupported manifest schema_version: {}",
                manifest.schema_version
            ));
        }
        if !PACK_TYPES.contains(&manifest.pack_type.as_str()) {
            return fail(&format!("invalid pack_type: {}", manifest.pack_type));
        }
        if manifest.source_ref.trim().is_empty() {
            return fail("manifest missing source_ref");
        }
        if manifest.created_at.is_zero() {
            return fail("manifest missing created_at");
        }
        if manifest.producer_version.trim().is_empty() {
            return fail("manifest missing producer_version");
        }
        if !is_sha256_hex(&manifest.pack_id) {
            return fail("manifest pack_id must be sha256 hex");
        }
        if !contents_present {
            return fail("manifest missing contents");
        }
        for entry in &manifest.contents {
            if entry.path.trim().is_empty() {
                return fail("manifest entry path is required");
            }
            if !is_sha256_hex(&entry.sha256) {
                return fail("manifest entry sha256 must be sha256 hex");
            }
            if entry.entry_type.trim().is_empty() {
                return fail("manifest entry type is required");
            }
        }
        for sig in &manifest.signatures {
            if sig.alg.trim().is_empty()
                || sig.key_id.trim().is_empty()
                || sig.sig.trim().is_empty()
            {
                return fail("manifest signature fields are required");
            }
            if !sig.signed_digest.trim().is_empty() && !is_sha256_hex(&sig.signed_digest) {
                return fail("manifest signature signed_digest must be sha256 hex");
            }
        }
        Ok(manifest)
    }

    /// The manifest as JSON (the reference's projection).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The canonical (RFC 8785) manifest bytes, as written into packs.
    pub fn to_canonical(&self) -> Vec<u8> {
        gait_digest::canonical::to_vec(&self.to_value())
    }

    /// The pack id this manifest should carry: SHA-256 of the canonical
    /// projection with `pack_id` blank and no signatures.
    pub fn compute_pack_id(&self) -> Sha256Digest {
        let mut m = self.clone();
        m.pack_id.clear();
        m.signatures.clear();
        digest_json(&m.to_value())
    }

    /// The signed document: the projection with `pack_id` as is and no
    /// signatures.
    pub fn signable(&self) -> Value {
        let mut m = self.clone();
        m.signatures.clear();
        m.to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PackManifest {
        PackManifest {
            schema_id: MANIFEST_SCHEMA_ID.into(),
            schema_version: MANIFEST_SCHEMA_VERSION.into(),
            created_at: deterministic_time(),
            producer_version: "0.0.0-dev".into(),
            pack_id: String::new(),
            pack_type: "run".into(),
            source_ref: "run_x".into(),
            contents: vec![PackEntry {
                path: "run_payload.json".into(),
                sha256: "a".repeat(64),
                entry_type: "json".into(),
            }],
            signatures: vec![],
        }
    }

    #[test]
    fn deterministic_time_formats() {
        assert_eq!(deterministic_time().format(), DETERMINISTIC_TIMESTAMP);
    }

    #[test]
    fn round_trip_and_pack_id() {
        let mut m = sample();
        m.pack_id = m.compute_pack_id().to_hex();
        let bytes = m.to_canonical();
        let back = PackManifest::parse(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.compute_pack_id().to_hex(), m.pack_id);
        // pack_id and signatures do not feed the pack id.
        let mut other = m.clone();
        other.pack_id = "f".repeat(64);
        other.signatures.push(PackSignature {
            alg: "ed25519".into(),
            key_id: "k".into(),
            sig: "s".into(),
            signed_digest: String::new(),
        });
        assert_eq!(other.compute_pack_id(), m.compute_pack_id());
        assert!(!String::from_utf8(bytes).unwrap().contains("signatures"));
    }

    #[test]
    fn strict_decoding() {
        let mut m = sample();
        m.pack_id = m.compute_pack_id().to_hex();
        let good = m.to_value();
        let variant = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
            let mut v = good.clone();
            f(v.as_object_mut().unwrap());
            serde_json::to_vec(&v).unwrap()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                variant(&|o| {
                    o.insert("extra".into(), Value::Bool(true));
                }),
                "unknown field",
            ),
            (
                variant(&|o| {
                    o.insert("schema_id".into(), "gait.pack.invalid".into());
                }),
                "schema_id",
            ),
            (
                variant(&|o| {
                    o.insert("schema_version".into(), "2.0.0".into());
                }),
                "schema_version",
            ),
            (
                variant(&|o| {
                    o.insert("pack_type".into(), "guard".into());
                }),
                "pack_type",
            ),
            (
                variant(&|o| {
                    o.insert("source_ref".into(), " ".into());
                }),
                "source_ref",
            ),
            (
                variant(&|o| {
                    o.insert("producer_version".into(), "".into());
                }),
                "producer_version",
            ),
            (
                variant(&|o| {
                    o.remove("created_at");
                }),
                "created_at",
            ),
            (
                variant(&|o| {
                    o.insert("pack_id".into(), "xyz".into());
                }),
                "pack_id",
            ),
            (
                variant(&|o| {
                    o.remove("contents");
                }),
                "contents",
            ),
            (
                variant(&|o| {
                    o.insert("contents".into(), Value::Null);
                }),
                "contents",
            ),
            (
                variant(&|o| {
                    o.insert(
                        "contents".into(),
                        serde_json::json!([{"path":"a","sha256":"00","type":"json"}]),
                    );
                }),
                "sha256",
            ),
            (
                variant(&|o| {
                    o.insert(
                        "contents".into(),
                        serde_json::json!([{"path":"a","sha256":"0".repeat(64),"type":""}]),
                    );
                }),
                "type",
            ),
            (
                variant(&|o| {
                    o.insert("contents".into(), serde_json::json!([{"path":"a","sha256":"0".repeat(64),"type":"json","x":1}]));
                }),
                "unknown field",
            ),
            (
                variant(&|o| {
                    o.insert(
                        "signatures".into(),
                        serde_json::json!([{"alg":"ed25519","key_id":"","sig":"x"}]),
                    );
                }),
                "signature fields",
            ),
        ];
        for (bytes, want) in cases {
            let e = PackManifest::parse(&bytes).unwrap_err();
            assert!(e.0.contains(want), "{want}: {e}");
        }
        let mut trailing = serde_json::to_vec(&good).unwrap();
        trailing.extend_from_slice(b" {}");
        assert!(PackManifest::parse(&trailing).is_err());
        let dup = br#"{"schema_id":"gait.pack.manifest","schema_id":"gait.pack.manifest"}"#;
        assert!(
            PackManifest::parse(dup)
                .unwrap_err()
                .0
                .contains("duplicate")
        );
        // Null signatures are as absent; upper-case hex is accepted.
        let ok = variant(&|o| {
            o.insert("signatures".into(), Value::Null);
            let id = o["pack_id"].as_str().unwrap().to_ascii_uppercase();
            o.insert("pack_id".into(), id.into());
        });
        assert!(PackManifest::parse(&ok).is_ok());
    }

    #[test]
    fn entry_types() {
        assert_eq!(entry_type("a.JSON"), "json");
        assert_eq!(entry_type("a.jsonl"), "jsonl");
        assert_eq!(entry_type("source/runpack.zip"), "zip");
        assert_eq!(entry_type("extra.txt"), "blob");
    }
}
