//! The one decision core: overlays only tighten, errors fail closed, and
//! nothing is answered without a recorded trace.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::Arc;

use gait_digest::GoTime;
use gait_policy::gate::RateLimitStore;
use gait_policy::policy::RateLimit;
use gait_policy::ratelimit::{RateLimitDecision, RateLimitError};
use gait_policy::{Gate, Intent, Policy, Verdict};
use gait_sign::{SigningKey, Trace};
use gait_trace::{
    Boundary, DecideError, Decider, DecisionRequest, FileJobStore, JobStore, MemorySink,
    SignatureStatus, ToolDefinitionCheck, TraceError, TraceRecord, TraceSink, verify_trace_bytes,
};
use proptest::prelude::*;

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: limited\n    effect: allow\n    match:\n      tool_names: [tool.limited]\n    rate_limit:\n      requests: 5\n";

fn call_with(tool: &str, extra_context: &str) -> Intent {
    Intent::from_json_str(&format!(
        r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"{extra_context}}}}}"#
    ))
    .unwrap()
}

fn call(tool: &str) -> Intent {
    call_with(tool, "")
}

fn decider(policy: &str) -> (Decider, Arc<MemorySink>, SigningKey<Trace>) {
    let key = SigningKey::<Trace>::from_seed(&[7; 32]);
    let signer = SigningKey::<Trace>::from_seed(&[7; 32]);
    let sink = Arc::new(MemorySink::new());
    let d = Decider::new(
        Gate::new(Policy::from_yaml_str(policy).unwrap()),
        sink.clone(),
    )
    .with_signer(Arc::new(signer));
    (d, sink, key)
}

fn verifies(trace: &TraceRecord, key: &SigningKey<Trace>) {
    let report = verify_trace_bytes(&trace.to_pretty_json(), key.verifying_key()).unwrap();
    assert_eq!(report.status, SignatureStatus::Verified);
}

fn stopped_job(root: &std::path::Path, id: &str) {
    std::fs::create_dir_all(root.join(id)).unwrap();
    std::fs::write(
        root.join(id).join("state.json"),
        format!(
            r#"{{"job_id":"{id}","status":"emergency_stopped","stop_reason":"emergency_stopped","revision":3}}"#
        ),
    )
    .unwrap();
}

#[test]
fn stopped_job_blocks_and_is_recorded_in_the_job_log() {
    let dir = tempfile::tempdir().unwrap();
    stopped_job(dir.path(), "job-1");
    let (d, sink, key) = decider(POLICY);
    let d = d.with_job_store(Some(
        Arc::new(FileJobStore::new(dir.path())) as Arc<dyn JobStore>
    ));
    let intent = call_with("tool.read", r#","job_id":"job-1""#);
    let out = d
        .decide(&DecisionRequest::new(&intent, Boundary::Library))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Block);
    assert!(
        out.decision()
            .reason_codes()
            .contains(&"emergency_stop_preempted".to_owned())
    );
    assert_eq!(out.decision().violations(), ["emergency_stop_active"]);
    assert_eq!(out.trace.verdict, "block");
    verifies(&out.trace, &key);
    assert_eq!(sink.traces().len(), 1);
    let events = std::fs::read_to_string(dir.path().join("job-1/events.jsonl")).unwrap();
    assert!(events.contains("\"dispatch_blocked\""), "{events}");
    assert!(events.contains("\"actor\":\"guard\""), "{events}");
}

#[test]
fn unreadable_job_state_blocks_and_a_call_without_job_is_not_looked_up() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _, _) = decider(POLICY);
    let d = d.with_job_store(Some(
        Arc::new(FileJobStore::new(dir.path())) as Arc<dyn JobStore>
    ));
    let missing = call_with("tool.read", r#","job_id":"job-404""#);
    let out = d
        .decide(&DecisionRequest::new(&missing, Boundary::GateEval))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Block);
    assert!(
        out.decision()
            .reason_codes()
            .contains(&"emergency_stop_state_unavailable".to_owned())
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.starts_with("job_status_unavailable="))
    );
    let plain = call("tool.read");
    let out = d
        .decide(&DecisionRequest::new(&plain, Boundary::GateEval))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Allow);
}

#[test]
fn tool_definition_findings_block_or_note() {
    let (d, _, key) = decider(POLICY);
    let intent = call("tool.read");
    let req = |check| {
        DecisionRequest::new(&intent, Boundary::McpProtocolProxy).with_tool_definition(check)
    };
    let changed = d
        .decide(&req(ToolDefinitionCheck::new(false, true, true)))
        .unwrap();
    assert_eq!(changed.verdict(), Verdict::Block);
    assert!(
        changed
            .trace
            .violations
            .contains(&"mcp_tool_definition_changed".to_owned())
    );
    verifies(&changed.trace, &key);
    let warned = d
        .decide(&req(ToolDefinitionCheck::new(false, true, false)))
        .unwrap();
    assert_eq!(warned.verdict(), Verdict::Allow);
    assert!(
        warned
            .decision()
            .reason_codes()
            .contains(&"mcp_tool_definition_changed".to_owned())
    );
    let ambiguous = d
        .decide(&req(ToolDefinitionCheck::new(true, false, false)))
        .unwrap();
    assert_eq!(ambiguous.verdict(), Verdict::Block);
}

#[test]
fn mcp_trust_without_a_server_is_enforced_for_required_risk_classes() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("trust.json");
    std::fs::write(
        &snap,
        r#"{"schema_id":"gait.mcp.trust_snapshot","schema_version":"1.0.0","entries":[]}"#,
    )
    .unwrap();
    let policy = format!(
        "default_verdict: allow\nmcp_trust:\n  snapshot: {}\n",
        snap.display()
    );
    let (d, _, _) = decider(&policy);
    let high = Intent::from_json_str(
        r#"{"tool_name":"tool.x","args":{},"targets":[],"context":{"identity":"a","workspace":"/w","risk_class":"high"}}"#,
    )
    .unwrap();
    let out = d
        .decide(&DecisionRequest::new(&high, Boundary::GateEval))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Block);
    assert!(
        out.decision()
            .reason_codes()
            .contains(&"mcp_trust_identifier_missing".to_owned())
    );
    assert!(out.trace.mcp_trust.is_some());
    let low = call("tool.x");
    let out = d
        .decide(&DecisionRequest::new(&low, Boundary::GateEval))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Allow, "not a required risk class");
}

#[derive(Debug)]
struct BrokenStore;

impl RateLimitStore for BrokenStore {
    fn enforce(
        &self,
        _: &RateLimit,
        _: &str,
        _: &str,
        _: &GoTime,
    ) -> Result<RateLimitDecision, RateLimitError> {
        Err(RateLimitError::State("store offline".into()))
    }
}

#[test]
fn a_failing_gate_run_is_a_recorded_block() {
    let (d, sink, key) = decider(POLICY);
    let d = d.with_rate_limits(Some(Arc::new(BrokenStore)));
    let intent = call("tool.limited");
    let out = d
        .decide(&DecisionRequest::new(&intent, Boundary::DecisionService))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Block);
    assert_eq!(out.decision().reason_codes(), ["gate_evaluation_error"]);
    assert!(
        out.evaluation_error
            .as_deref()
            .unwrap()
            .contains("store offline")
    );
    verifies(&out.trace, &key);
    assert_eq!(sink.traces().len(), 1);
}

struct FailingSink;

impl TraceSink for FailingSink {
    fn record(&self, _: &TraceRecord) -> Result<(), TraceError> {
        Err(TraceError::Write("disk full".into()))
    }
}

#[test]
fn no_recorded_trace_no_answer() {
    let (d, _, _) = decider(POLICY);
    let intent = call("tool.read");
    let sink = FailingSink;
    let err = d
        .decide(&DecisionRequest::new(&intent, Boundary::Hook).with_sink(&sink))
        .unwrap_err();
    assert!(matches!(err, DecideError::Record { .. }));
    assert_eq!(err.reason_code(), "trace_write_failed");
    assert_eq!(err.intent_digest(), intent.intent_digest().to_hex());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the gate decides, an overlay finding never yields `allow`.
    #[test]
    fn overlays_never_loosen(tool in "tool\\.(read|write|limited|[a-z]{1,8})", ambiguous: bool, changed: bool) {
        let (d, _, _) = decider(POLICY);
        let intent = call(&tool);
        let out = d.decide(
            &DecisionRequest::new(&intent, Boundary::McpProtocolProxy)
                .with_tool_definition(ToolDefinitionCheck::new(ambiguous, changed, true)),
        ).unwrap();
        if ambiguous || changed {
            prop_assert_eq!(out.verdict(), Verdict::Block);
        }
        let plain = d.decide(&DecisionRequest::new(&intent, Boundary::Library)).unwrap();
        if plain.verdict() != Verdict::Allow {
            prop_assert_ne!(out.verdict(), Verdict::Allow);
        }
    }
}
