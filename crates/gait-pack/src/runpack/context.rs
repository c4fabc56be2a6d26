//! Context evidence envelopes (`gait.context.envelope` 1.0.0), as
//! `gait run record --context-envelope` reads them.
//!
//! An envelope is at most [`MAX_CONTEXT_ENVELOPE_BYTES`] of strict JSON;
//! unknown members are rejected (member names match as Go folds them) and
//! `context_set_id` is required. Records are normalized, checked and
//! sorted by the same rules the run pack builder uses for its own
//! `context_envelope.json` ([`crate::pack::context_envelope`]), and a
//! declared `context_set_digest` must equal SHA-256 of the canonical
//! (RFC 8785) record list.

use std::io::Read;
use std::path::{Path, PathBuf};

use gait_digest::{GoTime, canonical};
use serde_json::Value;

use super::RunpackError;
use super::decode::{Keys, Obj};
use super::model::{RefReceipt, Refs};
use super::record::EvidenceMode;
use crate::pack::{ContextReceipt, ContextRefs, context_envelope, deterministic_time};

/// `schema_id` of a context envelope.
pub const CONTEXT_ENVELOPE_SCHEMA_ID: &str = "gait.context.envelope";
/// `schema_version` of a context envelope.
pub const CONTEXT_ENVELOPE_SCHEMA_VERSION: &str = "1.0.0";
/// The largest context envelope accepted (1 MiB).
pub const MAX_CONTEXT_ENVELOPE_BYTES: u64 = 1 << 20;

const ENVELOPE_FIELDS: [&str; 8] = [
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "context_set_id",
    "context_set_digest",
    "evidence_mode",
    "records",
];

const RECORD_FIELDS: [&str; 11] = [
    "ref_id",
    "source_type",
    "source_locator",
    "query_digest",
    "content_digest",
    "retrieved_at",
    "redaction_mode",
    "immutability",
    "sensitivity_label",
    "freshness_sla_seconds",
    "retrieval_params",
];

/// A parsed and normalized context envelope.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ContextEnvelope {
    /// `gait.context.envelope`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// UTC; `1980-01-01T00:00:00Z` when absent.
    pub created_at: GoTime,
    /// `0.0.0-dev` when absent.
    pub producer_version: String,
    /// The context set id (trimmed, never empty).
    pub context_set_id: String,
    /// SHA-256 (lowercase hex) of the canonical record list.
    pub context_set_digest: String,
    /// The envelope's own evidence mode (`best_effort` when absent).
    pub evidence_mode: EvidenceMode,
    /// The records as runpack receipts: trimmed, digests lowercased,
    /// immutability defaulted to `unknown`, times in UTC, sorted.
    pub records: Vec<RefReceipt>,
}

fn invalid(m: impl Into<String>) -> RunpackError {
    RunpackError::Invalid(m.into())
}

fn is_lower_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

struct RawEnvelope {
    schema_id: String,
    schema_version: String,
    created_at: GoTime,
    producer_version: String,
    context_set_id: String,
    context_set_digest: String,
    evidence_mode: String,
    records: Vec<RefReceipt>,
}

fn decode_envelope(o: Option<Obj<'_>>) -> Result<RawEnvelope, String> {
    let Some(o) = o else {
        return Ok(RawEnvelope {
            schema_id: String::new(),
            schema_version: String::new(),
            created_at: GoTime::ZERO,
            producer_version: String::new(),
            context_set_id: String::new(),
            context_set_digest: String::new(),
            evidence_mode: String::new(),
            records: Vec::new(),
        });
    };
    o.reject_unknown(&ENVELOPE_FIELDS)?;
    let records = o
        .list("records", |v| {
            match Obj::of(v, "envelope.records", o.keys())? {
                None => Ok(RefReceipt::default()),
                Some(r) => {
                    r.reject_unknown(&RECORD_FIELDS)?;
                    RefReceipt::decode(r)
                }
            }
        })?
        .unwrap_or_default();
    Ok(RawEnvelope {
        schema_id: o.string("schema_id")?,
        schema_version: o.string("schema_version")?,
        created_at: o.time("created_at")?,
        producer_version: o.string("producer_version")?,
        context_set_id: o.string("context_set_id")?,
        context_set_digest: o.string("context_set_digest")?,
        evidence_mode: o.string("evidence_mode")?,
        records,
    })
}

fn context_receipt(r: RefReceipt) -> ContextReceipt {
    ContextReceipt {
        ref_id: r.ref_id,
        source_type: r.source_type,
        source_locator: r.source_locator,
        query_digest: r.query_digest,
        content_digest: r.content_digest,
        retrieved_at: r.retrieved_at,
        redaction_mode: r.redaction_mode,
        immutability: r.immutability,
        freshness_sla_seconds: r.freshness_sla_seconds,
        sensitivity_label: r.sensitivity_label,
        retrieval_params: r.retrieval_params,
    }
}

/// Parses a context envelope: size limit, strict JSON, no unknown
/// members, supported schema, `context_set_id` required, records
/// normalized and sorted, and a declared `context_set_digest` equal to
/// the recomputed one (it is filled in when absent).
pub fn parse_context_envelope(bytes: &[u8]) -> Result<ContextEnvelope, RunpackError> {
    if bytes.len() as u64 > MAX_CONTEXT_ENVELOPE_BYTES {
        return Err(invalid(format!(
            "context envelope exceeds size limit ({MAX_CONTEXT_ENVELOPE_BYTES} bytes)"
        )));
    }
    let bad = |e: String| invalid(format!("parse context envelope: {e}"));
    let value = canonical::parse_strict(bytes).map_err(|e| bad(e.to_string()))?;
    let obj = Obj::of(&value, "envelope", Keys::Fold).map_err(bad)?;
    let raw = decode_envelope(obj).map_err(bad)?;

    let schema_id = if raw.schema_id.trim().is_empty() {
        CONTEXT_ENVELOPE_SCHEMA_ID.to_owned()
    } else {
        raw.schema_id
    };
    if schema_id != CONTEXT_ENVELOPE_SCHEMA_ID {
        return Err(invalid(format!(
            "unsupported context envelope schema_id: {schema_id}"
        )));
    }
    let schema_version = if raw.schema_version.trim().is_empty() {
        CONTEXT_ENVELOPE_SCHEMA_VERSION.to_owned()
    } else {
        raw.schema_version
    };
    if schema_version != CONTEXT_ENVELOPE_SCHEMA_VERSION {
        return Err(invalid(format!(
            "unsupported context envelope schema_version: {schema_version}"
        )));
    }
    let created_at = if raw.created_at.is_zero() {
        deterministic_time()
    } else {
        raw.created_at.to_utc()
    };
    let producer_version = if raw.producer_version.trim().is_empty() {
        super::DEFAULT_PRODUCER_VERSION.to_owned()
    } else {
        raw.producer_version
    };
    let context_set_id = raw.context_set_id.trim().to_owned();
    if context_set_id.is_empty() {
        return Err(invalid("context_set_id is required"));
    }
    let evidence_mode = EvidenceMode::parse(&raw.evidence_mode)?.unwrap_or_default();

    // The pack builder's envelope rules normalize, check and sort the
    // records and compute the digest; the declared digest is checked here
    // so that its messages and order match the reference's parser.
    let built = context_envelope(&ContextRefs {
        created_at,
        producer_version: producer_version.clone(),
        run_id: context_set_id.clone(),
        context_set_digest: String::new(),
        context_evidence_mode: evidence_mode.as_str().to_owned(),
        receipts: raw.records.into_iter().map(context_receipt).collect(),
    })
    .map_err(|e| invalid(e.to_string()))?;
    let (records, computed) = match built {
        None => (
            Vec::new(),
            gait_digest::digest_json(&Value::Array(Vec::new())).to_hex(),
        ),
        Some(env) => {
            let computed = env
                .get("context_set_digest")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let records = match env.get("records") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| match Obj::of(v, "envelope.records", Keys::Exact)? {
                        None => Ok(RefReceipt::default()),
                        Some(r) => RefReceipt::decode(r),
                    })
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(invalid)?,
                _ => Vec::new(),
            };
            (records, computed)
        }
    };
    let declared = raw.context_set_digest.trim().to_lowercase();
    let context_set_digest = if declared.is_empty() {
        computed
    } else if !is_lower_hex64(&declared) {
        return Err(invalid("context_set_digest must be sha256 hex"));
    } else if declared != computed {
        return Err(invalid("context_set_digest mismatch"));
    } else {
        declared
    };
    Ok(ContextEnvelope {
        schema_id,
        schema_version,
        created_at,
        producer_version,
        context_set_id,
        context_set_digest,
        evidence_mode,
        records,
    })
}

impl ContextEnvelope {
    /// Whether any record has `redaction_mode` `raw` (trimmed, any case).
    pub fn has_raw_records(&self) -> bool {
        has_raw(&self.records)
    }

    /// Replaces the refs' receipts with the records (sorted by `ref_id`)
    /// and sets `context_set_digest`, `context_evidence_mode` (`mode`, the
    /// run's resolved mode, not the envelope's) and `context_ref_count`.
    pub fn apply_to_refs(&self, refs: &mut Refs, mode: EvidenceMode) {
        refs.context_set_digest.clone_from(&self.context_set_digest);
        refs.context_evidence_mode = mode.as_str().to_owned();
        refs.context_ref_count = self.records.len() as i64;
        let mut receipts = self.records.clone();
        receipts.sort_by(|a, b| a.ref_id.as_bytes().cmp(b.ref_id.as_bytes()));
        refs.receipts = receipts;
    }
}

pub(crate) fn has_raw(receipts: &[RefReceipt]) -> bool {
    receipts
        .iter()
        .any(|r| r.redaction_mode.trim().eq_ignore_ascii_case("raw"))
}

/// Cleans `path` lexically (as Go's `filepath.Clean`); a relative path
/// that climbs above its start is refused ([`gait_digest::local_path`]).
pub(crate) fn local_path(path: &str) -> Result<PathBuf, RunpackError> {
    gait_digest::local_path(path)
        .map(PathBuf::from)
        .ok_or_else(|| invalid("context envelope path must be a local filesystem path"))
}

/// Reads and parses the envelope at `path` (read at most one byte past
/// the size limit). Read failures are `read context envelope: ...`.
pub fn read_context_envelope(path: &Path) -> Result<ContextEnvelope, RunpackError> {
    let read_err =
        |e: std::io::Error| invalid(format!("read context envelope: {}: {e}", path.display()));
    let file = gait_sign::open_regular_file(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONTEXT_ENVELOPE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    parse_context_envelope(&bytes)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "test code: a failure should panic"
    )]

    use super::*;
    use serde_json::json;

    fn record(id: &str) -> Value {
        json!({
            "ref_id": id,
            "source_type": "doc",
            "source_locator": format!("file://{id}"),
            "query_digest": "1".repeat(64),
            "content_digest": "A".repeat(64),
            "redaction_mode": "reference",
        })
    }

    fn envelope() -> Value {
        json!({
            "schema_id": "gait.context.envelope",
            "schema_version": "1.0.0",
            "context_set_id": "ctx_1",
            "records": [record("b"), record("a")],
        })
    }

    fn parse(v: &Value) -> Result<ContextEnvelope, RunpackError> {
        parse_context_envelope(v.to_string().as_bytes())
    }

    fn err(v: &Value) -> String {
        parse(v).unwrap_err().to_string()
    }

    #[test]
    fn parses_and_normalizes() {
        let e = parse(&envelope()).unwrap();
        assert_eq!(e.context_set_id, "ctx_1");
        assert_eq!(e.evidence_mode, EvidenceMode::BestEffort);
        assert_eq!(e.producer_version, "0.0.0-dev");
        assert_eq!(e.created_at, deterministic_time());
        let ids: Vec<&str> = e.records.iter().map(|r| r.ref_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(e.records[0].content_digest, "a".repeat(64));
        assert_eq!(e.records[0].immutability, "unknown");
        assert_eq!(e.records[0].retrieved_at, deterministic_time());
        // The digest is SHA-256 of the canonical, sorted record list.
        let records = json!([
            {"ref_id": "a", "source_type": "doc", "source_locator": "file://a",
             "query_digest": "1".repeat(64), "content_digest": "a".repeat(64),
             "retrieved_at": "1980-01-01T00:00:00Z", "redaction_mode": "reference",
             "immutability": "unknown"},
            {"ref_id": "b", "source_type": "doc", "source_locator": "file://b",
             "query_digest": "1".repeat(64), "content_digest": "a".repeat(64),
             "retrieved_at": "1980-01-01T00:00:00Z", "redaction_mode": "reference",
             "immutability": "unknown"},
        ]);
        let want = gait_digest::digest_json(&records).to_hex();
        assert_eq!(e.context_set_digest, want);
        // The declared digest, in any case, is accepted when it matches.
        let mut v = envelope();
        v["context_set_digest"] = json!(want.to_uppercase());
        assert_eq!(parse(&v).unwrap().context_set_digest, want);
        // Member names fold as Go's.
        let mut v = envelope();
        let id = v.as_object_mut().unwrap().remove("context_set_id").unwrap();
        v["Context_Set_ID"] = id;
        assert_eq!(parse(&v).unwrap().context_set_id, "ctx_1");
    }

    #[test]
    fn digest_mismatch() {
        let mut v = envelope();
        v["context_set_digest"] = json!("f".repeat(64));
        assert_eq!(err(&v), "context_set_digest mismatch");
        v["context_set_digest"] = json!("abc");
        assert_eq!(err(&v), "context_set_digest must be sha256 hex");
    }

    #[test]
    fn unknown_fields_rejected() {
        let mut v = envelope();
        v["extra"] = json!(1);
        assert_eq!(
            err(&v),
            "parse context envelope: json: unknown field \"extra\""
        );
        let mut v = envelope();
        v["records"][0]["note"] = json!("x");
        assert!(err(&v).contains("unknown field \"note\""));
        // retrieval_params is free-form.
        let mut v = envelope();
        v["records"][0]["retrieval_params"] = json!({"anything": [1]});
        parse(&v).unwrap();
    }

    #[test]
    fn missing_context_set_id() {
        let mut v = envelope();
        v.as_object_mut().unwrap().remove("context_set_id");
        assert_eq!(err(&v), "context_set_id is required");
        v["context_set_id"] = json!("  ");
        assert_eq!(err(&v), "context_set_id is required");
        assert_eq!(
            parse_context_envelope(b"null").unwrap_err().to_string(),
            "context_set_id is required"
        );
    }

    #[test]
    fn oversize_rejected() {
        let mut v = envelope();
        v["producer_version"] = json!("x".repeat(1 << 20));
        assert_eq!(
            err(&v),
            "context envelope exceeds size limit (1048576 bytes)"
        );
    }

    #[test]
    fn strict_json_and_contract() {
        assert!(
            parse_context_envelope(br#"{"context_set_id":"a","context_set_id":"b"}"#)
                .unwrap_err()
                .to_string()
                .starts_with("parse context envelope: ")
        );
        assert!(parse_context_envelope(b"[1]").is_err());
        assert!(parse_context_envelope(b"{").is_err());
        type Case = (fn(&mut Value), &'static str);
        let cases: [Case; 6] = [
            (
                |v| v["schema_id"] = json!("other"),
                "unsupported context envelope schema_id: other",
            ),
            (
                |v| v["schema_version"] = json!("2.0.0"),
                "unsupported context envelope schema_version: 2.0.0",
            ),
            (
                |v| v["evidence_mode"] = json!("sometimes"),
                "context evidence mode must be best_effort or required",
            ),
            (
                |v| v["records"][0]["query_digest"] = json!("zz"),
                "context record digests must be sha256 hex",
            ),
            (
                |v| v["records"][0]["source_locator"] = json!(" "),
                "context record fields ref_id/source_type/source_locator/redaction_mode are required",
            ),
            (
                |v| v["records"][0]["immutability"] = json!("frozen"),
                "context record immutability must be unknown|mutable|immutable",
            ),
        ];
        for (f, want) in cases {
            let mut v = envelope();
            f(&mut v);
            assert_eq!(err(&v), want);
        }
        // An envelope without records has the digest of `[]`.
        let e = parse(&json!({"context_set_id": "c", "evidence_mode": "REQUIRED"})).unwrap();
        assert_eq!(e.evidence_mode, EvidenceMode::Required);
        assert!(e.records.is_empty());
        assert_eq!(
            e.context_set_digest,
            gait_digest::digest_json(&json!([])).to_hex()
        );
    }

    #[test]
    fn apply_and_raw() {
        let mut v = envelope();
        v["records"][1]["redaction_mode"] = json!(" RAW ");
        let e = parse(&v).unwrap();
        assert!(e.has_raw_records());
        let mut refs = Refs {
            context_ref_count: 9,
            receipts: vec![RefReceipt::default()],
            ..Refs::default()
        };
        e.apply_to_refs(&mut refs, EvidenceMode::Required);
        assert_eq!(refs.context_set_digest, e.context_set_digest);
        assert_eq!(refs.context_evidence_mode, "required");
        assert_eq!(refs.context_ref_count, 2);
        assert_eq!(refs.receipts, e.records);
    }

    #[test]
    fn local_paths() {
        assert_eq!(local_path("a/./b/../c").unwrap(), PathBuf::from("a/c"));
        assert_eq!(local_path("/x/../../y").unwrap(), PathBuf::from("/y"));
        assert_eq!(local_path("a/..").unwrap(), PathBuf::from("."));
        assert!(local_path("../x").is_err());
        assert!(local_path("a/../../x").is_err());
    }
}
