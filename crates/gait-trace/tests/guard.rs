//! The in-process guard: the tool runs only on allow, and only after its
//! signed trace is recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::cell::Cell;
use std::sync::Arc;

use gait_policy::{Gate, Intent, Policy, Verdict};
use gait_sign::{SigningKey, Trace};
use gait_trace::{
    Guard, MemorySink, SignatureStatus, TraceError, TraceRecord, TraceSink, verify_trace_bytes,
};

fn gate() -> Gate {
    Gate::new(
        Policy::from_yaml_str(
            "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
        )
        .unwrap(),
    )
}

fn intent(tool: &str) -> Intent {
    Intent::from_json_str(&format!(
        r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low","session_id":"s1"}}}}"#
    ))
    .unwrap()
}

#[test]
fn runs_only_on_allow_and_always_traces() {
    let signer = SigningKey::<Trace>::from_seed(&[2; 32]);
    let public = signer.verifying_key().clone();
    let sink = Arc::new(MemorySink::new());
    let guard = Guard::new(gate(), signer, Box::new(sink.clone()));
    let ran = Cell::new(0);
    let allowed = guard
        .call(&intent("tool.read"), || ran.set(ran.get() + 1))
        .unwrap();
    assert_eq!(allowed.decision.verdict(), Verdict::Allow);
    assert!(allowed.output.is_some());
    let blocked = guard
        .call(&intent("tool.write"), || ran.set(ran.get() + 1))
        .unwrap();
    assert_eq!(blocked.decision.verdict(), Verdict::Block);
    assert!(blocked.output.is_none());
    assert_eq!(ran.get(), 1);
    let traces = sink.traces();
    assert_eq!(traces.len(), 2);
    for t in &traces {
        let r = verify_trace_bytes(&t.to_pretty_json(), &public).unwrap();
        assert_eq!(r.status, SignatureStatus::Verified);
        assert_eq!(
            t.trace_id,
            gait_trace::trace_id(&t.policy_digest, &t.intent_digest, &t.verdict)
        );
    }
    assert_eq!(traces[1].verdict, "block");
    let rel = traces[0].relationship.as_ref().unwrap();
    assert_eq!(rel["parent_ref"]["id"], "s1");
}

struct FailingSink;

impl TraceSink for FailingSink {
    fn record(&self, _: &TraceRecord) -> Result<(), TraceError> {
        Err(TraceError::Write("disk full".into()))
    }
}

#[test]
fn a_trace_that_cannot_be_recorded_stops_the_call() {
    let guard = Guard::new(
        gate(),
        SigningKey::<Trace>::from_seed(&[3; 32]),
        Box::new(FailingSink),
    );
    let ran = Cell::new(false);
    assert!(guard.call(&intent("tool.read"), || ran.set(true)).is_err());
    assert!(!ran.get());
}

#[test]
fn directory_sink_writes_private_files() {
    let dir = tempfile::tempdir().unwrap();
    let guard = Guard::new(
        gate(),
        SigningKey::<Trace>::from_seed(&[4; 32]),
        Box::new(gait_trace::DirectorySink::new(dir.path().join("traces"))),
    );
    guard.call(&intent("tool.read"), || ()).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("traces"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
}
