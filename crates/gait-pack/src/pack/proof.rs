//! `proof_records.jsonl`: one hash-chained proof record per pack entry.
//!
//! Record (canonical JSON, one per line, lines joined by `\n` without a
//! trailing newline):
//!
//! ```text
//! {record_id, record_version:"1.0", timestamp, source:"gait.pack",
//!  source_product:"gait", agent_id:"gait", record_type:"tool_invocation",
//!  event:{pack_type, source_ref, producer_version, entry_path, entry_type,
//!         entry_sha256, entry_size_bytes, entry_permissions},
//!  controls:{permissions_enforced:false},
//!  metadata:{artifact_kind:"gait.pack.entry"},
//!  integrity:{record_hash, previous_record_hash?, signing_key_id?, signature?}}
//! ```
//!
//! * `record_id` = `prf-<timestamp>-<first 8 hex of SHA-256(JCS({timestamp,
//!   source, source_product, agent_id, record_type, event}))>`;
//! * `record_hash` = `sha256:` + hex SHA-256 of the JCS of the record with
//!   `integrity` replaced by `{previous_record_hash}` (`""` for the first);
//! * a signature is `base64:` + Ed25519 over the ASCII text of
//!   `record_hash`.

use gait_digest::{GoTime, sha256};
use gait_sign::{SigningKey, Trace, VerifyingKey};
use serde_json::{Map, Value, json};

use super::manifest::{DETERMINISTIC_TIMESTAMP, entry_type};

/// The proof records' file name inside a pack.
pub const PROOF_RECORDS_FILE: &str = "proof_records.jsonl";

/// The longest proof record line accepted (10 MiB).
pub const MAX_PROOF_LINE_BYTES: usize = 10 << 20;

const TOP_LEVEL: [&str; 11] = [
    "record_id",
    "record_version",
    "timestamp",
    "source",
    "source_product",
    "agent_id",
    "record_type",
    "event",
    "controls",
    "metadata",
    "integrity",
];

const INTEGRITY: [&str; 4] = [
    "record_hash",
    "previous_record_hash",
    "signing_key_id",
    "signature",
];

/// One pack entry a proof record describes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProofEntry<'a> {
    pub path: &'a str,
    pub data: &'a [u8],
    pub mode: u32,
}

fn record_id(fields: &Map<String, Value>, timestamp: &str) -> String {
    let mut id_src = Map::new();
    for k in [
        "timestamp",
        "source",
        "source_product",
        "agent_id",
        "record_type",
        "event",
    ] {
        if let Some(v) = fields.get(k) {
            id_src.insert(k.into(), v.clone());
        }
    }
    let hex = gait_digest::digest_json(&Value::Object(id_src)).to_hex();
    format!("prf-{timestamp}-{}", hex.get(..8).unwrap_or_default())
}

/// `sha256:<hex>` of the record's hashed projection: every member except
/// `integrity`, plus `integrity:{previous_record_hash}`.
fn record_hash(fields: &Map<String, Value>, previous: &str) -> String {
    let mut m = fields.clone();
    m.remove("integrity");
    m.insert(
        "integrity".into(),
        json!({ "previous_record_hash": previous }),
    );
    format!(
        "sha256:{}",
        gait_digest::digest_json(&Value::Object(m)).to_hex()
    )
}

/// Builds `proof_records.jsonl` for `entries` (sorted by path here; the
/// records file itself is skipped).
pub(crate) fn build_proof_records(
    pack_type: &str,
    source_ref: &str,
    producer_version: &str,
    entries: &[ProofEntry<'_>],
    key: Option<&SigningKey<Trace>>,
) -> Vec<u8> {
    let mut sorted: Vec<&ProofEntry<'_>> = entries
        .iter()
        .filter(|e| !e.path.trim().is_empty() && e.path != PROOF_RECORDS_FILE)
        .collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(sorted.len());
    let mut previous = String::new();
    for e in sorted {
        let event = json!({
            "pack_type": pack_type,
            "source_ref": source_ref,
            "producer_version": producer_version,
            "entry_path": e.path,
            "entry_type": entry_type(e.path),
            "entry_sha256": sha256(e.data).to_hex(),
            "entry_size_bytes": e.data.len(),
            "entry_permissions": e.mode,
        });
        let mut fields = Map::new();
        fields.insert("record_version".into(), "1.0".into());
        fields.insert("timestamp".into(), DETERMINISTIC_TIMESTAMP.into());
        fields.insert("source".into(), "gait.pack".into());
        fields.insert("source_product".into(), "gait".into());
        fields.insert("agent_id".into(), "gait".into());
        fields.insert("record_type".into(), "tool_invocation".into());
        fields.insert("event".into(), event);
        fields.insert("controls".into(), json!({ "permissions_enforced": false }));
        fields.insert(
            "metadata".into(),
            json!({ "artifact_kind": "gait.pack.entry" }),
        );
        let id = record_id(&fields, DETERMINISTIC_TIMESTAMP);
        fields.insert("record_id".into(), id.into());
        let hash = record_hash(&fields, &previous);
        let mut integrity = Map::new();
        integrity.insert("record_hash".into(), hash.clone().into());
        if !previous.is_empty() {
            integrity.insert("previous_record_hash".into(), previous.clone().into());
        }
        if let Some(key) = key {
            integrity.insert("signing_key_id".into(), key.key_id().to_hex().into());
            let sig = key.sign_message_base64(hash.as_bytes());
            integrity.insert("signature".into(), format!("base64:{sig}").into());
        }
        fields.insert("integrity".into(), Value::Object(integrity));
        lines.push(gait_digest::canonical::to_vec(&Value::Object(fields)));
        previous = hash;
    }
    lines.join(&b'\n')
}

fn str_field<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// Checks one record's shape and returns its (hashed) member map with the
/// timestamp normalized, plus the integrity strings.
fn check_record(line: &[u8]) -> Result<(Map<String, Value>, [String; 4]), String> {
    let value =
        gait_digest::canonical::parse_strict(line).map_err(|e| format!("parse record: {e}"))?;
    let Value::Object(mut fields) = value else {
        return Err("parse record: not a JSON object".into());
    };
    if let Some(k) = fields.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(format!("validate record: unknown field {k:?}"));
    }
    for k in [
        "record_id",
        "record_version",
        "timestamp",
        "source",
        "source_product",
        "agent_id",
        "record_type",
    ] {
        str_field(&fields, k).map_err(|e| format!("validate record: {e}"))?;
    }
    for k in [
        "record_id",
        "record_version",
        "timestamp",
        "source",
        "record_type",
    ] {
        if str_field(&fields, k).unwrap_or_default().trim().is_empty() {
            return Err(format!("validate record: {k} is required"));
        }
    }
    let ts_text = str_field(&fields, "timestamp")
        .unwrap_or_default()
        .to_owned();
    let ts = GoTime::parse(&ts_text).map_err(|e| format!("validate record: timestamp: {e}"))?;
    fields.insert("timestamp".into(), ts.format().into());
    if !fields.get("event").is_some_and(Value::is_object) {
        return Err("validate record: event must be an object".into());
    }
    for k in ["controls", "metadata"] {
        if fields.get(k).is_some_and(|v| !v.is_object()) {
            return Err(format!("validate record: {k} must be an object"));
        }
    }
    let Some(Value::Object(integrity)) = fields.get("integrity") else {
        return Err("validate record: integrity is required".into());
    };
    if let Some(k) = integrity.keys().find(|k| !INTEGRITY.contains(&k.as_str())) {
        return Err(format!("validate record: unknown integrity field {k:?}"));
    }
    let mut strs: [String; 4] = Default::default();
    for (slot, k) in strs.iter_mut().zip(INTEGRITY) {
        *slot = str_field(integrity, k)
            .map_err(|e| format!("validate record: integrity.{e}"))?
            .to_owned();
    }
    let [hash, previous, _, _] = &strs;
    let well_formed = |h: &str| {
        h.strip_prefix("sha256:")
            .is_some_and(|x| x.len() == 64 && x.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if !well_formed(hash) {
        return Err("validate record: integrity.record_hash must be sha256:<hex>".into());
    }
    if !previous.is_empty() && !well_formed(previous) {
        return Err("validate record: integrity.previous_record_hash must be sha256:<hex>".into());
    }
    Ok((fields, strs))
}

/// Verifies `proof_records.jsonl`: every non-blank line parses, has the
/// required members, recomputes its `record_hash` and links to the previous
/// record. Any of that failing is an error (a verification failure).
///
/// Per-line signatures are checked only when `require_signature` is set and
/// a key is given; their problems are returned as signature errors.
/// Returns the number of records checked and those signature errors.
pub(crate) fn verify_proof_records(
    raw: &[u8],
    key: Option<&VerifyingKey<Trace>>,
    require_signature: bool,
) -> Result<(usize, Vec<String>), String> {
    let mut verified = 0usize;
    let mut signature_errors = Vec::new();
    let mut previous = String::new();
    for (i, line) in raw.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        if line.len() > MAX_PROOF_LINE_BYTES {
            return Err("read proof records: token too long".into());
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let (fields, [hash, declared_prev, key_id, signature]) =
            check_record(line).map_err(|e| format!("line {line_no} {e}"))?;
        let expected = record_hash(&fields, &declared_prev);
        if expected != hash {
            return Err(format!(
                "line {line_no} record hash mismatch: expected {expected} got {hash}"
            ));
        }
        if previous.is_empty() {
            if !declared_prev.is_empty() {
                return Err(format!(
                    "line {line_no} expected empty previous_record_hash"
                ));
            }
        } else if declared_prev != previous {
            return Err(format!(
                "line {line_no} previous_record_hash mismatch: expected {previous} got {declared_prev}"
            ));
        }
        previous = hash.clone();
        verified += 1;
        let Some(key) = key.filter(|_| require_signature) else {
            continue;
        };
        let signature = signature.trim();
        let problem = if signature.is_empty() {
            Some(format!("proof_records line {line_no} missing signature"))
        } else if key_id.trim().is_empty() {
            Some(format!(
                "proof_records line {line_no} missing signing_key_id"
            ))
        } else if let Some(sig) = signature.strip_prefix("base64:") {
            match key.verify_message_base64(hash.as_bytes(), sig, &key_id) {
                Ok(()) => None,
                Err(gait_sign::VerifyFailure::BadSignature) => Some(format!(
                    "proof_records line {line_no} signature verification failed"
                )),
                Err(e) => Some(format!(
                    "proof_records line {line_no} signature verification: {e}"
                )),
            }
        } else {
            Some(format!(
                "proof_records line {line_no} unsupported signature prefix"
            ))
        };
        signature_errors.extend(problem);
    }
    Ok((verified, signature_errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<(String, Vec<u8>)> {
        vec![
            ("run_payload.json".into(), b"{}".to_vec()),
            ("source/runpack.zip".into(), b"zip".to_vec()),
        ]
    }

    fn build(key: Option<&SigningKey<Trace>>) -> Vec<u8> {
        let e = entries();
        let pe: Vec<ProofEntry<'_>> = e
            .iter()
            .map(|(p, d)| ProofEntry {
                path: p,
                data: d,
                mode: 0o644,
            })
            .collect();
        build_proof_records("run", "run_x", "0.0.0-dev", &pe, key)
    }

    #[test]
    fn chain_round_trip() {
        let raw = build(None);
        assert!(!raw.ends_with(b"\n"));
        assert_eq!(raw.split(|b| *b == b'\n').count(), 2);
        assert_eq!(
            verify_proof_records(&raw, None, false).unwrap(),
            (2, vec![])
        );
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.contains("\"entry_permissions\":420"));
        // Swapping lines breaks the chain.
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.swap(0, 1);
        assert!(verify_proof_records(lines.join("\n").as_bytes(), None, false).is_err());
        // Any edit breaks the hash.
        let edited = text.replacen("run_x", "run_y", 1);
        let err = verify_proof_records(edited.as_bytes(), None, false).unwrap_err();
        assert!(err.contains("line 1 record hash mismatch"), "{err}");
        // Blank lines and a trailing newline are fine.
        let spaced = format!("\n{}\n\n", text.replace('\n', "\n\n"));
        assert_eq!(
            verify_proof_records(spaced.as_bytes(), None, false)
                .unwrap()
                .0,
            2
        );
        // Unknown members are refused.
        let extra = text.replacen("{\"agent_id\"", "{\"zzz\":1,\"agent_id\"", 1);
        assert!(verify_proof_records(extra.as_bytes(), None, false).is_err());
    }

    #[test]
    fn signatures() {
        let key = SigningKey::<Trace>::from_seed(&[7; 32]);
        let other = SigningKey::<Trace>::from_seed(&[8; 32]);
        let signed = build(Some(&key));
        let vk = key.verifying_key();
        assert_eq!(
            verify_proof_records(&signed, Some(vk), true).unwrap(),
            (2, vec![])
        );
        let (_, errs) = verify_proof_records(&signed, Some(other.verifying_key()), true).unwrap();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].contains("key id mismatch"), "{errs:?}");
        // Not checked unless required.
        assert!(
            verify_proof_records(&signed, Some(other.verifying_key()), false)
                .unwrap()
                .1
                .is_empty()
        );
        let unsigned = build(None);
        let (_, errs) = verify_proof_records(&unsigned, Some(vk), true).unwrap();
        assert_eq!(
            errs,
            vec![
                "proof_records line 1 missing signature",
                "proof_records line 2 missing signature"
            ]
        );
    }
}
