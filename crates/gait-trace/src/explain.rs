//! The `gait.gate.policy_explain` document of `gait gate eval --explain
//! --json`: why the final decision is what it is, and where its evidence
//! went.
//!
//! It describes the **final** decision (the one the exit code reports:
//! after rate limits, delegation, approvals, the broker requirement,
//! simulation and the overlays), which is stricter than the reference
//! (its document describes the policy evaluation before those steps).

use gait_digest::GoTime;
use gait_policy::{Policy, Verdict};
use serde_json::{Map, Value, json};

use crate::decide::Decided;

/// `schema_id` of the explain document.
pub const EXPLAIN_SCHEMA_ID: &str = "gait.gate.policy_explain";
/// `schema_version` of the explain document.
pub const EXPLAIN_SCHEMA_VERSION: &str = "1.0.0";

/// Where a decision's evidence was written (`proof_refs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProofRefs {
    /// The trace's path.
    pub trace_path: String,
    /// The approval audit record's path, when written.
    pub approval_audit_path: String,
    /// The delegation audit record's path, when written.
    pub delegation_audit_path: String,
    /// The credential evidence record's path, when written.
    pub credential_evidence_path: String,
}

fn missing_field(reason: &str) -> Option<&str> {
    if let Some(f) = reason.strip_prefix("fail_closed_missing_") {
        return Some(f);
    }
    Some(match reason {
        "credential_evidence_missing" => "credential_evidence",
        "sandbox_metadata_missing" => "sandbox",
        "sandbox_evidence_missing" => "sandbox_evidence",
        "kill_switch_state_unavailable" => "kill_switch_state",
        "broker_credential_missing" => "broker_credential",
        _ => return None,
    })
}

/// Builds the explain document of `decided` (whose trace was written as
/// `refs` say) under `policy`, produced by `producer_version`.
pub fn policy_explain(
    decided: &Decided,
    policy: &Policy,
    producer_version: &str,
    refs: &ProofRefs,
) -> Map<String, Value> {
    let d = decided.decision();
    let o = &decided.outcome;
    let intent = decided.intent();
    let ctx = intent.context();
    let mut m = Map::new();
    let s = |m: &mut Map<String, Value>, k: &str, v: &str| {
        if !v.is_empty() {
            m.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    };
    let list = |m: &mut Map<String, Value>, k: &str, v: &[String]| {
        if !v.is_empty() {
            m.insert(k.to_owned(), json!(v));
        }
    };
    m.insert("ok".into(), Value::Bool(true));
    s(&mut m, "schema_id", EXPLAIN_SCHEMA_ID);
    s(&mut m, "schema_version", EXPLAIN_SCHEMA_VERSION);
    let created = d.created_at();
    let created = if created.is_zero() {
        GoTime::from_unix(315_532_800, 0)
    } else {
        created
    };
    s(&mut m, "created_at", &created.format());
    s(&mut m, "producer_version", producer_version);
    s(&mut m, "verdict", d.verdict().as_str());
    s(&mut m, "matched_rule", d.matched_rule());
    let names: Vec<&str> = d
        .matched_rule()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let matched: Vec<Value> = policy
        .rules()
        .iter()
        .filter(|r| names.contains(&r.name.as_str()))
        .map(|r| json!({"name": r.name, "priority": r.priority, "effect": r.effect.as_str()}))
        .collect();
    if !matched.is_empty() {
        m.insert("matched_rules".into(), Value::Array(matched));
    }
    list(&mut m, "reason_codes", d.reason_codes());
    list(&mut m, "violations", d.violations());
    let mut missing: Vec<String> = d
        .reason_codes()
        .iter()
        .filter_map(|r| missing_field(r))
        .map(str::to_owned)
        .collect();
    missing.sort();
    missing.dedup();
    list(&mut m, "missing_fields", &missing);
    let fail_closed: Vec<String> = d
        .reason_codes()
        .iter()
        .filter(|r| r.starts_with("fail_closed_"))
        .cloned()
        .collect();
    list(&mut m, "fail_closed_reason_codes", &fail_closed);
    if d.verdict() == Verdict::RequireApproval {
        m.insert("approval_required".into(), Value::Bool(true));
    }
    if o.required_approvals > 0 {
        m.insert("required_approvals".into(), json!(o.required_approvals));
    }
    if o.valid_approvals > 0 {
        m.insert("valid_approvals".into(), json!(o.valid_approvals));
    }
    if d.require_broker_credential() {
        m.insert("require_broker_credential".into(), Value::Bool(true));
    }
    s(&mut m, "broker_reference", d.broker_reference());
    list(&mut m, "broker_scopes", d.broker_scopes());
    if d.require_delegation() {
        m.insert("require_delegation".into(), Value::Bool(true));
    }
    list(
        &mut m,
        "required_delegation_scopes",
        d.required_delegation_scopes(),
    );
    let source = ctx
        .credential_source
        .map(|x| x.as_str())
        .unwrap_or_default();
    let access = ctx
        .credential_access_type
        .map(|x| x.as_str())
        .unwrap_or_default();
    let present = !ctx.credential_ref.is_empty()
        || !source.is_empty()
        || !access.is_empty()
        || !ctx.credential_issuer.is_empty()
        || ctx.credential_ttl_seconds != 0;
    let mut posture = Map::new();
    posture.insert(
        "present".into(),
        Value::Bool(present && !ctx.credential_ref.is_empty()),
    );
    if present {
        s(&mut posture, "source", source);
        s(&mut posture, "access_type", access);
        s(&mut posture, "issuer", &ctx.credential_issuer);
        if ctx.credential_ttl_seconds != 0 {
            posture.insert("ttl_seconds".into(), json!(ctx.credential_ttl_seconds));
        }
        s(&mut posture, "credential_ref", &ctx.credential_ref);
    }
    m.insert("credential_posture".into(), Value::Object(posture));
    let has_digest = ctx.context_set_digest.is_some();
    let has_refs = !ctx.context_refs.is_empty();
    let required = ctx.context_evidence_mode.map(|x| x.as_str()) == Some("required");
    let status = if required {
        if has_digest && has_refs {
            "verified"
        } else {
            "missing"
        }
    } else if has_digest || has_refs {
        "present"
    } else {
        "not_required"
    };
    s(&mut m, "context_evidence_status", status);
    if let Some(f) = d.freeze_window() {
        m.insert("freeze_window".into(), json!(f));
    }
    if let Some(sb) = d.sandbox() {
        m.insert("sandbox".into(), json!(sb));
    }
    if let Some(ks) = &o.kill_switch {
        m.insert("kill_switch".into(), ks.to_json());
    }
    let mut proof = Map::new();
    s(&mut proof, "trace_id", &decided.trace.trace_id);
    s(&mut proof, "trace_path", &refs.trace_path);
    s(&mut proof, "approval_audit_path", &refs.approval_audit_path);
    s(
        &mut proof,
        "delegation_audit_path",
        &refs.delegation_audit_path,
    );
    s(
        &mut proof,
        "credential_evidence_path",
        &refs.credential_evidence_path,
    );
    m.insert("proof_refs".into(), Value::Object(proof));
    m
}
