//! The trace record model.

use std::path::Path;

use gait_digest::{GoTime, is_go_empty, sha256};
use gait_policy::Verdict;
use gait_sign::{SignatureEnvelope, SigningKey, Trace};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::verify::TraceError;

/// `schema_id` of trace records.
pub const TRACE_SCHEMA_ID: &str = "gait.gate.trace";
/// `schema_version` of trace records.
pub const TRACE_SCHEMA_VERSION: &str = "1.0.0";

/// `trace_id`: the first 12 bytes (24 hex) of
/// SHA-256(`policy_digest:intent_digest:verdict`).
///
/// It depends only on the decision, so the same call under the same policy
/// with the same outcome always has the same trace id.
pub fn trace_id(policy_digest: &str, intent_digest: &str, verdict: &str) -> String {
    sha256(format!("{policy_digest}:{intent_digest}:{verdict}").as_bytes()).short_id()
}

/// `event_id`: the first 12 bytes of SHA-256(`trace_id:observed_at`), with
/// `observed_at` in UTC RFC 3339 with nanoseconds.
pub fn event_id(trace_id: &str, observed_at: &GoTime) -> String {
    sha256(format!("{trace_id}:{}", observed_at.to_utc().format()).as_bytes()).short_id()
}

/// The verdict of one step of a script intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct StepVerdict {
    /// The step's index.
    #[serde(default)]
    pub index: i64,
    /// The step's tool.
    #[serde(default)]
    pub tool_name: String,
    /// The step's verdict.
    #[serde(default)]
    pub verdict: String,
    /// The step's reason codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
    /// The step's violations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// The step's matched rules.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub matched_rule: String,
}

impl StepVerdict {
    /// A step verdict.
    pub fn new(
        index: i64,
        tool_name: &str,
        verdict: Verdict,
        reason_codes: Vec<String>,
        violations: Vec<String>,
        matched_rule: &str,
    ) -> Self {
        Self {
            index,
            tool_name: tool_name.to_owned(),
            verdict: verdict.as_str().to_owned(),
            reason_codes,
            violations,
            matched_rule: matched_rule.to_owned(),
        }
    }
}

/// The delegation context of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct DelegationRef {
    /// Valid delegation token ids, comma-joined (or the intent's first token ref).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub delegation_token_ref: String,
    /// The requester.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub requester_identity: String,
    /// The number of chain links.
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub delegation_depth: i64,
    /// The scope class.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope_class: String,
    /// SHA-256 of the canonical normalized delegation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chain_digest: String,
    /// The decision's reason codes that start with `delegation_`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
}

/// A signed gate trace record (`gait.gate.trace` 1.0.0).
///
/// Field names, presence rules and time formats are the reference's. Nested
/// objects produced by other parts of the gate (agent identity, decisions,
/// relationship envelope, skill provenance) are carried as JSON values,
/// already in their canonical projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
#[allow(
    missing_docs,
    reason = "field names are the schema's; see the schema documentation"
)]
pub struct TraceRecord {
    #[serde(default)]
    pub schema_id: String,
    #[serde(default)]
    pub schema_version: String,
    #[serde(default)]
    pub created_at: GoTime,
    /// Wall-clock time of the decision; always written.
    #[serde(default)]
    pub observed_at: GoTime,
    #[serde(default)]
    pub producer_version: String,
    #[serde(default)]
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub correlation_id: String,
    #[serde(default)]
    pub tool_name: String,
    #[serde(default)]
    pub args_digest: String,
    #[serde(default)]
    pub intent_digest: String,
    #[serde(default)]
    pub policy_digest: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_identity: Option<Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workflow_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub environment: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_access_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_issuer: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_subject: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_owner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_target_binding: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_run_binding: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_job_binding: String,
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub credential_ttl_seconds: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_credential_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_credential_source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_credential_access_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_credential_issuer: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_request_digest: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_target_binding: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_run_binding: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broker_job_binding: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub approval_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wrkr_inventory_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent_action_bom_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_rule_ids: Vec<String>,
    #[serde(default)]
    pub verdict: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context_set_digest: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context_evidence_mode: String,
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub context_ref_count: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context_source: String,
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub script: bool,
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub step_count: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub script_hash: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub composite_risk_class: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_verdicts: Vec<StepVerdict>,
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub pre_approved: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pattern_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registry_reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// Evaluation latency in milliseconds (never negative).
    #[serde(default, skip_serializing_if = "is_go_empty")]
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub approval_token_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation_ref: Option<DelegationRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_window: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_switch: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_trust: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_provenance: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureEnvelope>,
}

impl TraceRecord {
    /// A record with the required fields; `trace_id` is derived, times are
    /// zero (the caller sets `created_at` and `observed_at`).
    pub fn new(
        tool_name: &str,
        args_digest: &str,
        intent_digest: &str,
        policy_digest: &str,
        verdict: Verdict,
    ) -> Self {
        let verdict = verdict.as_str();
        Self {
            schema_id: TRACE_SCHEMA_ID.to_owned(),
            schema_version: TRACE_SCHEMA_VERSION.to_owned(),
            producer_version: "0.0.0-dev".to_owned(),
            trace_id: trace_id(policy_digest, intent_digest, verdict),
            tool_name: tool_name.to_owned(),
            args_digest: args_digest.to_owned(),
            intent_digest: intent_digest.to_owned(),
            policy_digest: policy_digest.to_owned(),
            verdict: verdict.to_owned(),
            ..Self::default()
        }
    }

    /// The record as a JSON value without its signature: the signed
    /// document.
    pub fn signable(&self) -> Result<Value, TraceError> {
        let mut copy = self.clone();
        copy.signature = None;
        serde_json::to_value(&copy).map_err(TraceError::Encode)
    }

    /// Signs the record with the trace key (replacing any signature).
    pub fn sign(&mut self, key: &SigningKey<Trace>) -> Result<(), TraceError> {
        let signable = self.signable()?;
        self.signature = Some(key.sign_value(&signable));
        Ok(())
    }

    /// The record as the reference writes it: indented JSON and a newline.
    pub fn to_pretty_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Writes a trace record atomically (mode 0600). Relative paths that climb
/// out of the working directory (`..`) are refused; missing parent
/// directories are created with mode 0750.
pub fn write_trace(path: &Path, record: &TraceRecord) -> Result<(), TraceError> {
    let text = path.to_string_lossy();
    if path.is_relative() && text.split(['/', '\\']).any(|seg| seg == "..") {
        return Err(TraceError::PathEscapes(path.to_path_buf()));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        gait_sign::create_private_dir(parent).map_err(|e| TraceError::Write(Box::new(e)))?;
    }
    gait_sign::write_file_atomic(
        path,
        &record.to_pretty_json(),
        gait_sign::PRIVATE_FILE_MODE,
        true,
    )
    .map_err(|e| TraceError::Write(Box::new(e)))
}
