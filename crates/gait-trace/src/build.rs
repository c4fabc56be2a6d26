//! Building trace and audit records from a gate run.

use std::collections::BTreeSet;

use gait_digest::GoTime;
use gait_policy::gate::GateOutcome;
use gait_policy::intent::Intent;
use gait_policy::policy::Policy;
use gait_policy::token::{ApprovalAuditEntry, DelegationAuditEntry};
use serde_json::{Map, Value, json};

use crate::record::{DelegationRef, StepVerdict, TraceRecord, event_id, trace_id};

/// Collects the parts of a relationship envelope, then emits it with the
/// reference's normalization: de-duplicated and sorted refs, chain and
/// edges, `related_entity_ids` from the entity refs, and no members for
/// empty parts. It borrows its parts: only the emitted JSON allocates.
#[derive(Default)]
struct Relationship<'a> {
    parent: Option<(&'static str, &'a str)>,
    parent_record_id: &'a str,
    entities: BTreeSet<(&'static str, &'a str)>,
    policy_ref: Option<Value>,
    chain: BTreeSet<(&'static str, &'a str)>,
    edges: BTreeSet<(&'static str, &'static str, &'a str, &'static str, &'a str)>,
}

impl<'a> Relationship<'a> {
    fn entity(&mut self, kind: &'static str, id: &'a str) {
        let id = id.trim();
        if !id.is_empty() {
            self.entities.insert((kind, id));
        }
    }

    fn agent(&mut self, role: &'static str, identity: &'a str) {
        let identity = identity.trim();
        if !identity.is_empty() {
            self.chain.insert((role, identity));
        }
    }

    fn edge(
        &mut self,
        kind: &'static str,
        from: (&'static str, &'a str),
        to: (&'static str, &'a str),
    ) {
        let (fid, tid) = (from.1.trim(), to.1.trim());
        if !fid.is_empty() && !tid.is_empty() {
            self.edges.insert((kind, from.0, fid, to.0, tid));
        }
    }

    fn finish(self) -> Option<Value> {
        let mut m = Map::new();
        if let Some((kind, id)) = self.parent {
            m.insert("parent_ref".into(), json!({"kind": kind, "id": id}));
        }
        if !self.entities.is_empty() {
            let refs: Vec<Value> = self
                .entities
                .iter()
                .map(|(k, i)| json!({"kind": k, "id": i}))
                .collect();
            m.insert("entity_refs".into(), Value::Array(refs));
        }
        if let Some(p) = self.policy_ref {
            m.insert("policy_ref".into(), p);
        }
        if !self.chain.is_empty() {
            let chain: Vec<Value> = self
                .chain
                .iter()
                .map(|(r, i)| json!({"identity": i, "role": r}))
                .collect();
            m.insert("agent_chain".into(), Value::Array(chain));
        }
        if !self.edges.is_empty() {
            let edges: Vec<Value> = self
                .edges
                .iter()
                .map(|(k, fk, fi, tk, ti)| json!({"kind": k, "from": {"kind": fk, "id": fi}, "to": {"kind": tk, "id": ti}}))
                .collect();
            m.insert("edges".into(), Value::Array(edges));
        }
        if !self.parent_record_id.is_empty() {
            m.insert(
                "parent_record_id".into(),
                Value::String(self.parent_record_id.to_owned()),
            );
        }
        let ids: BTreeSet<&str> = self.entities.iter().map(|(_, i)| *i).collect();
        if !ids.is_empty() {
            m.insert("related_entity_ids".into(), json!(ids));
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

fn policy_ref(
    policy_id: &str,
    policy_version: &str,
    policy_digest: &str,
    matched: &[String],
) -> Option<Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("policy_id", policy_id),
        ("policy_version", policy_version),
        ("policy_digest", policy_digest),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), Value::String(v.to_owned()));
        }
    }
    if !matched.is_empty() {
        m.insert("matched_rule_ids".into(), json!(matched));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// Options of a trace record that come from the invocation, not the
/// decision.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TraceOptions {
    /// The version of this binary.
    pub producer_version: String,
    /// The invocation's correlation id.
    pub correlation_id: String,
    /// When the decision was observed (wall clock).
    pub observed_at: GoTime,
    /// Evaluation latency in milliseconds.
    pub latency_ms: f64,
    /// An approval reference given by the caller (replaced by the valid
    /// approval token ids when approval was granted).
    pub approval_token_ref: String,
}

impl TraceOptions {
    /// Options observed now.
    pub fn new(producer_version: &str, correlation_id: &str) -> Self {
        Self {
            producer_version: producer_version.to_owned(),
            correlation_id: correlation_id.to_owned(),
            observed_at: GoTime::now_utc(),
            latency_ms: 0.0,
            approval_token_ref: String::new(),
        }
    }
}

/// Builds the (unsigned) trace record of a gate run. `intent` must be the
/// intent the gate evaluated (prepared: without context-evidence claims).
pub fn build_trace(
    intent: &Intent,
    policy: &Policy,
    outcome: &GateOutcome,
    opts: &TraceOptions,
) -> TraceRecord {
    let d = &outcome.decision;
    let verdict = d.verdict();
    let policy_digest = d.policy_digest().to_hex();
    let intent_digest = d.intent_digest().to_hex();
    let ctx = intent.context();
    // The full JSON form is only needed for two optional members; most
    // intents have neither, so skip the serialization (a few µs).
    let full = (ctx.agent_identity.is_some() || intent.skill_provenance().is_some())
        .then(|| intent.to_json());
    let ctx_json = full.as_ref().and_then(|f| f.get("context"));
    let mut r = TraceRecord::new(
        intent.tool_name(),
        &d.args_digest().to_hex(),
        &intent_digest,
        &policy_digest,
        verdict,
    );
    r.created_at = d.created_at();
    r.observed_at = opts.observed_at.to_utc();
    r.producer_version = if opts.producer_version.trim().is_empty() {
        "0.0.0-dev".to_owned()
    } else {
        opts.producer_version.trim().to_owned()
    };
    r.correlation_id = opts.correlation_id.trim().to_owned();
    r.event_id = event_id(&r.trace_id, &r.observed_at);
    r.agent_id.clone_from(&ctx.agent_id);
    r.agent_identity = ctx_json.and_then(|c| c.get("agent_identity")).cloned();
    r.run_id.clone_from(&ctx.run_id);
    r.workflow_id.clone_from(&ctx.workflow_id);
    r.repo.clone_from(&ctx.repo);
    r.environment.clone_from(&ctx.environment);
    r.credential_ref.clone_from(&ctx.credential_ref);
    r.credential_source = ctx
        .credential_source
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    r.credential_access_type = ctx
        .credential_access_type
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    r.credential_issuer.clone_from(&ctx.credential_issuer);
    r.credential_subject.clone_from(&ctx.credential_subject);
    r.credential_owner.clone_from(&ctx.credential_owner);
    r.credential_target_binding
        .clone_from(&ctx.credential_target_binding);
    r.credential_run_binding
        .clone_from(&ctx.credential_run_binding);
    r.credential_job_binding
        .clone_from(&ctx.credential_job_binding);
    r.credential_ttl_seconds = ctx.credential_ttl_seconds;
    r.approval_ref.clone_from(&ctx.approval_ref);
    if let Some(c) = &outcome.credential {
        let b = &c.response;
        r.broker_credential_ref.clone_from(&b.credential_ref);
        r.broker_credential_source.clone_from(&b.source);
        r.broker_credential_access_type.clone_from(&b.access_type);
        b.display_issuer()
            .clone_into(&mut r.broker_credential_issuer);
        r.broker_request_digest.clone_from(&b.request_digest);
        r.broker_target_binding.clone_from(&b.target_binding);
        r.broker_run_binding.clone_from(&b.run_binding);
        r.broker_job_binding.clone_from(&b.job_binding);
    }
    r.wrkr_inventory_ref.clone_from(&ctx.wrkr_inventory_ref);
    r.agent_action_bom_ref.clone_from(&ctx.agent_action_bom_ref);
    policy.schema_id().clone_into(&mut r.policy_id);
    policy.schema_version().clone_into(&mut r.policy_version);
    r.context_set_digest = ctx
        .context_set_digest
        .map(|d| d.to_hex())
        .unwrap_or_default();
    r.context_evidence_mode = ctx
        .context_evidence_mode
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    r.context_ref_count = i64::try_from(ctx.context_refs.len()).unwrap_or(i64::MAX);
    if let Some(script) = d.script() {
        r.script = true;
        r.step_count = i64::try_from(script.step_count).unwrap_or(i64::MAX);
        r.script_hash.clone_from(&script.script_hash);
        r.composite_risk_class
            .clone_from(&script.composite_risk_class);
        r.step_verdicts = script
            .step_verdicts
            .iter()
            .map(|s| {
                StepVerdict::new(
                    i64::try_from(s.index).unwrap_or(i64::MAX),
                    &s.tool_name,
                    s.verdict,
                    s.reason_codes.clone(),
                    s.violations.clone(),
                    &s.matched_rule,
                )
            })
            .collect();
        let ids: BTreeSet<String> = script
            .step_verdicts
            .iter()
            .flat_map(|s| s.matched_rule.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        r.matched_rule_ids = ids.into_iter().collect();
    }
    r.context_source.clone_from(&outcome.context_source);
    r.pre_approved = outcome.pre_approved;
    r.pattern_id.clone_from(&outcome.pattern_id);
    r.registry_reason.clone_from(&outcome.registry_reason);
    r.violations = d.violations().to_vec();
    r.latency_ms = opts.latency_ms.max(0.0);
    r.approval_token_ref = if outcome.approval_ref.is_empty() {
        opts.approval_token_ref.trim().to_owned()
    } else {
        outcome.approval_ref.clone()
    };
    if let Some(delegation) = intent.delegation() {
        let token_ref = if outcome.delegation_ref.is_empty() {
            delegation
                .token_refs
                .first()
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        } else {
            outcome.delegation_ref.clone()
        };
        r.delegation_ref = Some(DelegationRef {
            delegation_token_ref: token_ref,
            requester_identity: delegation.requester_identity.trim().to_owned(),
            delegation_depth: i64::try_from(delegation.chain.len()).unwrap_or(i64::MAX),
            scope_class: delegation.scope_class.trim().to_owned(),
            chain_digest: intent
                .delegation_digest()
                .map(|d| d.to_hex())
                .unwrap_or_default(),
            reason_codes: d
                .reason_codes()
                .iter()
                .filter(|c| c.starts_with("delegation_"))
                .cloned()
                .collect(),
        });
    }
    r.freeze_window = d.freeze_window().and_then(|f| serde_json::to_value(f).ok());
    r.sandbox = d.sandbox().and_then(|s| serde_json::to_value(s).ok());
    r.skill_provenance = full
        .as_ref()
        .and_then(|f| f.get("skill_provenance"))
        .cloned();

    let mut rel = Relationship::default();
    if !ctx.session_id.trim().is_empty() {
        rel.parent = Some(("session", ctx.session_id.trim()));
    }
    let tool = intent.tool_name();
    rel.entity("trace", &r.trace_id);
    rel.entity("tool", tool);
    rel.entity("agent", &ctx.identity);
    rel.entity("policy", &policy_digest);
    rel.policy_ref = policy_ref(
        &r.policy_id,
        &r.policy_version,
        &policy_digest,
        &r.matched_rule_ids,
    );
    if let Some(delegation) = intent.delegation() {
        rel.agent("requester", &delegation.requester_identity);
        for link in &delegation.chain {
            rel.agent("delegator", &link.delegator_identity);
            rel.agent("delegate", &link.delegate_identity);
            rel.edge(
                "delegates_to",
                ("agent", &link.delegator_identity),
                ("agent", &link.delegate_identity),
            );
        }
    } else {
        rel.agent("requester", &ctx.identity);
    }
    if !tool.trim().is_empty() {
        rel.edge("calls", ("agent", &ctx.identity), ("tool", tool));
        rel.edge("governed_by", ("tool", tool), ("policy", &policy_digest));
    }
    r.relationship = rel.finish();
    r
}

/// Re-derives the trace id after the final verdict is known (it is part of
/// the id).
pub fn recompute_ids(r: &mut TraceRecord) {
    r.trace_id = trace_id(&r.policy_digest, &r.intent_digest, &r.verdict);
    r.event_id = event_id(&r.trace_id, &r.observed_at);
}

fn audit_relationship<'a>(
    trace: &'a TraceRecord,
    agents: impl Fn(&mut Relationship<'a>),
) -> Option<Value> {
    let mut rel = Relationship::default();
    if !trace.trace_id.is_empty() {
        rel.parent = Some(("trace", &trace.trace_id));
        rel.parent_record_id = &trace.trace_id;
    }
    rel.entity("trace", &trace.trace_id);
    rel.entity("tool", &trace.tool_name);
    rel.entity("policy", &trace.policy_digest);
    if !trace.policy_digest.is_empty() {
        rel.policy_ref = Some(json!({"policy_digest": trace.policy_digest}));
    }
    agents(&mut rel);
    rel.edge(
        "governed_by",
        ("tool", &trace.tool_name),
        ("policy", &trace.policy_digest),
    );
    rel.finish()
}

/// The `gait.gate.approval_audit_record` of a gate run.
pub fn approval_audit_record(
    trace: &TraceRecord,
    outcome: &GateOutcome,
    entries: &[ApprovalAuditEntry],
) -> Value {
    let approvers: BTreeSet<String> = entries
        .iter()
        .filter(|e| e.valid && !e.approver_identity.is_empty())
        .map(|e| e.approver_identity.clone())
        .collect();
    let valid = entries.iter().filter(|e| e.valid).count();
    let required = outcome.required_approvals;
    let mut record = json!({
        "schema_id": "gait.gate.approval_audit_record",
        "schema_version": "1.0.0",
        "created_at": trace.created_at.format(),
        "producer_version": trace.producer_version,
        "trace_id": trace.trace_id,
        "tool_name": trace.tool_name,
        "intent_digest": trace.intent_digest,
        "policy_digest": trace.policy_digest,
        "required_approvals": required,
        "valid_approvals": valid,
        "approved": valid as u64 >= required,
        "entries": entries,
    });
    if let Some(obj) = record.as_object_mut() {
        if !approvers.is_empty() {
            obj.insert("approvers".into(), json!(approvers));
        }
        if let Some(rel) = audit_relationship(trace, |rel| {
            for a in &approvers {
                rel.entity("agent", a);
            }
        }) {
            obj.insert("relationship".into(), rel);
        }
    }
    record
}

/// The `gait.gate.delegation_audit_record` of a gate run.
pub fn delegation_audit_record(
    trace: &TraceRecord,
    outcome: &GateOutcome,
    entries: &[DelegationAuditEntry],
) -> Value {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| {
        (&a.delegator_identity, &a.delegate_identity, &a.token_id).cmp(&(
            &b.delegator_identity,
            &b.delegate_identity,
            &b.token_id,
        ))
    });
    let valid = sorted.iter().filter(|e| e.valid).count();
    let mut record = json!({
        "schema_id": "gait.gate.delegation_audit_record",
        "schema_version": "1.0.0",
        "created_at": trace.created_at.format(),
        "producer_version": trace.producer_version,
        "trace_id": trace.trace_id,
        "tool_name": trace.tool_name,
        "intent_digest": trace.intent_digest,
        "policy_digest": trace.policy_digest,
        "delegation_required": outcome.delegation_required,
        "valid_delegations": valid,
        "delegated": valid > 0,
        "entries": sorted,
    });
    if let Some(obj) = record.as_object_mut() {
        if !outcome.delegation_ref.is_empty() {
            obj.insert(
                "delegation_ref".into(),
                Value::String(outcome.delegation_ref.clone()),
            );
        }
        if let Some(rel) = audit_relationship(trace, |rel| {
            for e in entries {
                rel.entity("agent", &e.delegator_identity);
                rel.entity("agent", &e.delegate_identity);
                rel.agent("delegator", &e.delegator_identity);
                rel.agent("delegate", &e.delegate_identity);
                rel.edge(
                    "delegates_to",
                    ("agent", &e.delegator_identity),
                    ("agent", &e.delegate_identity),
                );
            }
        }) {
            obj.insert("relationship".into(), rel);
        }
    }
    record
}
