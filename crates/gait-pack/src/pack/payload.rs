//! Pack payload documents (`run_payload.json`, `context_envelope.json`) and
//! their contract checks.

use gait_digest::{GoTime, null_as_default};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ContractError;
use super::manifest::{deterministic_time, is_sha256_hex};

/// `schema_id` of a run payload.
pub const RUN_PAYLOAD_SCHEMA_ID: &str = "gait.pack.run";
/// The run payload's file name.
pub const RUN_PAYLOAD_FILE: &str = "run_payload.json";
/// The embedded runpack's file name.
pub const SOURCE_RUNPACK_FILE: &str = "source/runpack.zip";
/// The context envelope's file name.
pub const CONTEXT_ENVELOPE_FILE: &str = "context_envelope.json";

/// `run_payload.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunPayload {
    /// `gait.pack.run`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    /// `1.0.0`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    /// The run's `created_at` in UTC (zero becomes 1980-01-01).
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    /// The run id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub run_id: String,
    /// `reference` or `raw`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub capture_mode: String,
    /// The source runpack's manifest digest.
    #[serde(default, deserialize_with = "null_as_default")]
    pub manifest_digest: String,
    /// Number of intents.
    #[serde(default, deserialize_with = "null_as_default")]
    pub intents_count: i64,
    /// Number of results.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results_count: i64,
    /// Number of reference receipts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub refs_count: i64,
    /// The refs' context set digest, if any.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub context_set_digest: String,
    /// Number of receipts (omitted when zero).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    pub context_ref_count: i64,
    /// `best_effort` or `required`, if set.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub context_evidence_mode: String,
    /// The receipts' common redaction mode, `mixed`, or omitted.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub context_privacy_mode: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl RunPayload {
    /// Decodes strictly (duplicates, unknown members and trailing values
    /// refused).
    pub fn parse(bytes: &[u8]) -> Result<Self, ContractError> {
        super::error::parse_strict(bytes)
    }

    /// The contract every run payload must meet.
    pub fn validate(&self) -> Result<(), ContractError> {
        let fail = |m: &'static str| Err(ContractError::Rule(m));
        if self.schema_id != RUN_PAYLOAD_SCHEMA_ID {
            return fail("run payload schema_id must be gait.pack.run");
        }
        if self.schema_version != "1.0.0" {
            return fail("run payload schema_version must be 1.0.0");
        }
        if self.created_at.is_zero() {
            return fail("run payload created_at is required");
        }
        if self.run_id.trim().is_empty() {
            return fail("run payload run_id is required");
        }
        if self.capture_mode != "reference" && self.capture_mode != "raw" {
            return fail("run payload capture_mode must be reference or raw");
        }
        if !is_sha256_hex(&self.manifest_digest) {
            return fail("run payload manifest_digest must be sha256 hex");
        }
        if self.intents_count < 0 || self.results_count < 0 || self.refs_count < 0 {
            return fail("run payload counts must be >= 0");
        }
        if !self.context_set_digest.trim().is_empty() && !is_sha256_hex(&self.context_set_digest) {
            return fail("run payload context_set_digest must be sha256 hex");
        }
        if self.context_ref_count < 0 {
            return fail("run payload context_ref_count must be >= 0");
        }
        let mode = self.context_evidence_mode.trim();
        if !mode.is_empty() && mode != "best_effort" && mode != "required" {
            return fail("run payload context_evidence_mode must be best_effort or required");
        }
        Ok(())
    }
}

/// The common redaction mode of receipts (blank counts as `unknown`),
/// `mixed` when they differ, empty when there are none.
pub fn context_privacy_mode<'a>(modes: impl IntoIterator<Item = &'a str>) -> String {
    let mut first: Option<&str> = None;
    for m in modes {
        let m = match m.trim() {
            "" => "unknown",
            t => t,
        };
        match first {
            None => first = Some(m),
            Some(f) if f != m => return "mixed".to_owned(),
            Some(_) => {}
        }
    }
    first.unwrap_or_default().to_owned()
}

/// A reference receipt as the context envelope needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContextReceipt {
    /// `ref_id`.
    pub ref_id: String,
    /// `source_type`.
    pub source_type: String,
    /// `source_locator`.
    pub source_locator: String,
    /// `query_digest`.
    pub query_digest: String,
    /// `content_digest`.
    pub content_digest: String,
    /// `retrieved_at`.
    pub retrieved_at: GoTime,
    /// `redaction_mode`.
    pub redaction_mode: String,
    /// `immutability`.
    pub immutability: String,
    /// `freshness_sla_seconds`.
    pub freshness_sla_seconds: i64,
    /// `sensitivity_label`.
    pub sensitivity_label: String,
    /// `retrieval_params` (an object, or `None`).
    pub retrieval_params: Option<serde_json::Map<String, Value>>,
}

/// What [`context_envelope`] needs from the runpack's refs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContextRefs {
    /// refs `created_at`.
    pub created_at: GoTime,
    /// refs `producer_version`.
    pub producer_version: String,
    /// refs `run_id` (the context set id).
    pub run_id: String,
    /// refs `context_set_digest` (checked when set).
    pub context_set_digest: String,
    /// refs `context_evidence_mode`.
    pub context_evidence_mode: String,
    /// The receipts.
    pub receipts: Vec<ContextReceipt>,
}

fn is_lower_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn record_value(r: &ContextReceipt) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("ref_id".into(), r.ref_id.clone().into());
    m.insert("source_type".into(), r.source_type.clone().into());
    m.insert("source_locator".into(), r.source_locator.clone().into());
    m.insert("query_digest".into(), r.query_digest.clone().into());
    m.insert("content_digest".into(), r.content_digest.clone().into());
    m.insert("retrieved_at".into(), r.retrieved_at.format().into());
    m.insert("redaction_mode".into(), r.redaction_mode.clone().into());
    m.insert("immutability".into(), r.immutability.clone().into());
    if !r.sensitivity_label.is_empty() {
        m.insert(
            "sensitivity_label".into(),
            r.sensitivity_label.clone().into(),
        );
    }
    if r.freshness_sla_seconds != 0 {
        m.insert(
            "freshness_sla_seconds".into(),
            r.freshness_sla_seconds.into(),
        );
    }
    if let Some(p) = r.retrieval_params.as_ref().filter(|p| !p.is_empty()) {
        m.insert("retrieval_params".into(), Value::Object(p.clone()));
    }
    Value::Object(m)
}

/// Builds the canonical `context_envelope.json` from refs, or `None` when
/// there is neither a context set digest nor a receipt. Records are
/// trimmed and lowercased, must carry 64-hex digests and a known
/// immutability, and are sorted; a declared context set digest must equal
/// the recomputed one.
pub fn context_envelope(refs: &ContextRefs) -> Result<Option<Value>, ContractError> {
    let mode = refs.context_evidence_mode.trim().to_ascii_lowercase();
    if !mode.is_empty() && mode != "best_effort" && mode != "required" {
        return Err(ContractError::Rule(
            "context evidence mode must be best_effort or required",
        ));
    }
    let declared = refs.context_set_digest.trim().to_ascii_lowercase();
    if !declared.is_empty() && !is_lower_hex64(&declared) {
        return Err(ContractError::Rule(
            "refs context_set_digest must be sha256 hex",
        ));
    }
    if declared.is_empty() && refs.receipts.is_empty() {
        return Ok(None);
    }
    let mut records = Vec::with_capacity(refs.receipts.len());
    for r in &refs.receipts {
        let mut n = r.clone();
        n.ref_id = n.ref_id.trim().to_owned();
        n.source_type = n.source_type.trim().to_owned();
        n.source_locator = n.source_locator.trim().to_owned();
        n.query_digest = n.query_digest.trim().to_ascii_lowercase();
        n.content_digest = n.content_digest.trim().to_ascii_lowercase();
        n.redaction_mode = n.redaction_mode.trim().to_owned();
        n.immutability = n.immutability.trim().to_ascii_lowercase();
        if n.ref_id.is_empty()
            || n.source_type.is_empty()
            || n.source_locator.is_empty()
            || n.redaction_mode.is_empty()
        {
            return Err(ContractError::Rule(
                "context record fields ref_id/source_type/source_locator/redaction_mode are required",
            ));
        }
        if !is_lower_hex64(&n.query_digest) || !is_lower_hex64(&n.content_digest) {
            return Err(ContractError::Rule(
                "context record digests must be sha256 hex",
            ));
        }
        match n.immutability.as_str() {
            "" | "unknown" => n.immutability = "unknown".into(),
            "mutable" | "immutable" => {}
            _ => {
                return Err(ContractError::Rule(
                    "context record immutability must be unknown|mutable|immutable",
                ));
            }
        }
        n.retrieved_at = if n.retrieved_at.is_zero() {
            deterministic_time()
        } else {
            n.retrieved_at.to_utc()
        };
        if n.freshness_sla_seconds < 0 {
            return Err(ContractError::Rule(
                "context record freshness_sla_seconds must be >= 0",
            ));
        }
        records.push(n);
    }
    records.sort_by(|a, b| {
        (
            a.ref_id.as_bytes(),
            a.source_type.as_bytes(),
            a.source_locator.as_bytes(),
            a.content_digest.as_bytes(),
        )
            .cmp(&(
                b.ref_id.as_bytes(),
                b.source_type.as_bytes(),
                b.source_locator.as_bytes(),
                b.content_digest.as_bytes(),
            ))
    });
    let records: Vec<Value> = records.iter().map(record_value).collect();
    let computed = gait_digest::digest_json(&Value::Array(records.clone())).to_hex();
    if !declared.is_empty() && declared != computed {
        return Err(ContractError::Rule("context_set_digest mismatch"));
    }
    let set_id = refs.run_id.trim();
    if set_id.is_empty() {
        return Err(ContractError::Rule("context_set_id is required"));
    }
    let created_at = if refs.created_at.is_zero() {
        deterministic_time()
    } else {
        refs.created_at.to_utc()
    };
    let producer = match refs.producer_version.trim() {
        "" => "0.0.0-dev",
        p => p,
    };
    Ok(Some(serde_json::json!({
        "schema_id": "gait.context.envelope",
        "schema_version": "1.0.0",
        "created_at": created_at.format(),
        "producer_version": producer,
        "context_set_id": set_id,
        "context_set_digest": computed,
        "evidence_mode": if mode.is_empty() { "best_effort" } else { mode.as_str() },
        "records": records,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> RunPayload {
        RunPayload {
            schema_id: RUN_PAYLOAD_SCHEMA_ID.into(),
            schema_version: "1.0.0".into(),
            created_at: deterministic_time(),
            run_id: "run_x".into(),
            capture_mode: "reference".into(),
            manifest_digest: "a".repeat(64),
            intents_count: 1,
            results_count: 1,
            refs_count: 0,
            context_set_digest: String::new(),
            context_ref_count: 0,
            context_evidence_mode: String::new(),
            context_privacy_mode: String::new(),
        }
    }

    #[test]
    fn payload_contract() {
        let p = payload();
        p.validate().unwrap();
        let bytes = serde_json::to_vec(&p).unwrap();
        assert_eq!(RunPayload::parse(&bytes).unwrap(), p);
        assert!(!String::from_utf8(bytes).unwrap().contains("context"));
        let bad: [fn(&mut RunPayload); 10] = [
            |p| p.schema_id = "x".into(),
            |p| p.schema_version = "2".into(),
            |p| p.created_at = GoTime::ZERO,
            |p| p.run_id = " ".into(),
            |p| p.capture_mode = "full".into(),
            |p| p.manifest_digest = "ab".into(),
            |p| p.refs_count = -1,
            |p| p.context_set_digest = "zz".into(),
            |p| p.context_ref_count = -1,
            |p| p.context_evidence_mode = "sometimes".into(),
        ];
        for f in bad {
            let mut q = p.clone();
            f(&mut q);
            assert!(q.validate().is_err(), "{q:?}");
        }
        assert!(RunPayload::parse(br#"{"schema_id":"gait.pack.run","x":1}"#).is_err());
        assert!(RunPayload::parse(br#"{"intents_count":1.5}"#).is_err());
    }

    #[test]
    fn privacy_mode() {
        assert_eq!(context_privacy_mode([]), "");
        assert_eq!(
            context_privacy_mode(["reference", "reference"]),
            "reference"
        );
        assert_eq!(context_privacy_mode(["", " "]), "unknown");
        assert_eq!(context_privacy_mode(["reference", "raw"]), "mixed");
    }

    #[test]
    fn envelope_rules() {
        let mut refs = ContextRefs {
            run_id: "run_x".into(),
            ..ContextRefs::default()
        };
        assert_eq!(context_envelope(&refs).unwrap(), None);
        refs.receipts.push(ContextReceipt {
            ref_id: "b".into(),
            source_type: "http".into(),
            source_locator: "x".into(),
            query_digest: "3".repeat(64),
            content_digest: "4".repeat(64).to_ascii_uppercase(),
            redaction_mode: "metadata".into(),
            ..ContextReceipt::default()
        });
        let env = context_envelope(&refs).unwrap().unwrap();
        assert_eq!(env["evidence_mode"], "best_effort");
        assert_eq!(env["records"][0]["immutability"], "unknown");
        assert_eq!(env["records"][0]["retrieved_at"], "1980-01-01T00:00:00Z");
        let digest = env["context_set_digest"].as_str().unwrap().to_owned();
        refs.context_set_digest = digest.to_ascii_uppercase();
        assert!(context_envelope(&refs).is_ok());
        refs.context_set_digest = "0".repeat(64);
        assert_eq!(
            context_envelope(&refs).unwrap_err().to_string(),
            "context_set_digest mismatch"
        );
        refs.context_set_digest.clear();
        refs.receipts[0].immutability = "forever".into();
        assert!(context_envelope(&refs).is_err());
    }
}
