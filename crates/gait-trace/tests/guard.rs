//! The in-process guard: execute only on allow, trace first, fail closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gait_policy::{Gate, Intent, Policy, Verdict};
use gait_sign::{SigningKey, Trace};
use gait_trace::{
    CallRecorder, DirectorySink, Guard, GuardMode, MemorySink, RecordedCall, SignatureStatus,
    TraceError, TraceRecord, TraceSink, verify_trace_bytes,
};

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: writes\n    effect: require_approval\n    match:\n      tool_names: [tool.write]\n";

fn gate() -> Gate {
    Gate::new(Policy::from_yaml_str(POLICY).unwrap())
}

fn call(tool: &str) -> Intent {
    Intent::from_json_str(&format!(
        r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"}}}}"#
    ))
    .unwrap()
}

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1000 {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future did not complete");
}

#[test]
fn runs_only_on_allow_and_refuses_with_reasons() {
    let key = SigningKey::<Trace>::generate().unwrap();
    let public = key.verifying_key().clone();
    let sink = Arc::new(MemorySink::new());
    let guard = Guard::new(gate(), key, Box::new(sink.clone()));
    assert_eq!(guard.guard(&call("tool.read"), || "ran"), Ok("ran"));
    let ran = AtomicUsize::new(0);
    let r = guard
        .guard(&call("tool.delete"), || ran.fetch_add(1, Ordering::SeqCst))
        .unwrap_err();
    assert_eq!(r.verdict, Some(Verdict::Block));
    assert_eq!(r.exit_code(), 3);
    assert!(!r.trace_id.is_empty());
    assert_eq!(
        r.intent_digest,
        call("tool.delete").intent_digest().to_hex()
    );
    assert!(
        r.model_message().starts_with("Tool call not executed"),
        "{}",
        r.message
    );
    let r = guard
        .guard(&call("tool.write"), || ran.fetch_add(1, Ordering::SeqCst))
        .unwrap_err();
    assert_eq!(r.verdict, Some(Verdict::RequireApproval));
    assert_eq!(r.exit_code(), 4);
    assert!(r.model_message().contains("approval"));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let traces = sink.traces();
    assert_eq!(traces.len(), 3);
    for t in traces {
        let report = verify_trace_bytes(&t.to_pretty_json(), &public).unwrap();
        assert_eq!(report.status, SignatureStatus::Verified);
    }
}

#[test]
fn trace_is_recorded_before_the_tool_runs() {
    let sink = Arc::new(MemorySink::new());
    let guard = Guard::new(
        gate(),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(sink.clone()),
    );
    let seen = guard
        .guard(&call("tool.read"), || sink.traces().len())
        .unwrap();
    assert_eq!(seen, 1);
}

struct FailingSink;
impl TraceSink for FailingSink {
    fn record(&self, _: &TraceRecord) -> Result<(), TraceError> {
        Err(TraceError::Write("disk full".into()))
    }
}

#[test]
fn unrecordable_trace_never_runs_the_tool() {
    for mode in [GuardMode::Enforce, GuardMode::Shadow] {
        let guard = Guard::new(
            gate(),
            SigningKey::<Trace>::generate().unwrap(),
            Box::new(FailingSink),
        )
        .with_mode(mode);
        let ran = AtomicUsize::new(0);
        let r = guard
            .guard(&call("tool.read"), || ran.fetch_add(1, Ordering::SeqCst))
            .unwrap_err();
        assert_eq!(r.verdict, None);
        assert_eq!(r.reason_codes, ["trace_write_failed"]);
        assert_eq!(r.exit_code(), 1);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert!(guard.call(&call("tool.read"), || ()).is_err());
    }
}

#[cfg(unix)]
#[test]
fn unwritable_trace_directory_refuses() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    if std::fs::write(ro.join("probe"), b"x").is_ok() {
        return; // running as root: permissions are not enforced
    }
    let guard = Guard::new(
        gate(),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(DirectorySink::new(&ro)),
    );
    let r = guard.guard(&call("tool.read"), || ()).unwrap_err();
    assert_eq!(r.reason_codes, ["trace_write_failed"]);
}

#[test]
fn shadow_mode_runs_everything_and_records_the_real_verdict() {
    let sink = Arc::new(MemorySink::new());
    let guard = Guard::new(
        gate(),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(sink.clone()),
    )
    .with_mode(GuardMode::Shadow);
    assert_eq!(guard.guard(&call("tool.delete"), || 7), Ok(7));
    assert_eq!(sink.traces()[0].verdict, "block");
}

#[test]
fn async_variant_awaits_only_on_allow() {
    let guard = Guard::unsigned(gate(), Box::new(MemorySink::new()));
    let ran = AtomicUsize::new(0);
    let ok = block_on(guard.guard_async(&call("tool.read"), || async {
        ran.fetch_add(1, Ordering::SeqCst);
        5
    }));
    assert_eq!(ok, Ok(5));
    let no = block_on(guard.guard_async(&call("tool.delete"), || async {
        ran.fetch_add(1, Ordering::SeqCst);
        6
    }));
    assert_eq!(no.unwrap_err().verdict, Some(Verdict::Block));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[derive(Default)]
struct Log(Mutex<Vec<(String, String, bool)>>);
impl CallRecorder for Log {
    fn record_call(&self, c: &RecordedCall<'_>) {
        self.0.lock().unwrap().push((
            c.intent.tool_name().to_owned(),
            c.decision.verdict().as_str().to_owned(),
            c.executed,
        ));
    }
}

#[test]
fn recorder_sees_every_call() {
    let log = Arc::new(Log::default());
    let guard = Guard::unsigned(gate(), Box::new(MemorySink::new())).with_recorder(log.clone());
    let _ = guard.guard(&call("tool.read"), || ());
    let _ = guard.guard(&call("tool.delete"), || ());
    let got = log.0.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            ("tool.read".into(), "allow".into(), true),
            ("tool.delete".into(), "block".into(), false)
        ]
    );
}

#[test]
fn rate_limits_need_state_and_count_with_it() {
    let policy = "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n    rate_limit:\n      requests: 2\n";
    let gate = Gate::new(Policy::from_yaml_str(policy).unwrap());
    let without = Guard::unsigned(gate.clone(), Box::new(MemorySink::new()));
    let r = without.guard(&call("tool.read"), || ()).unwrap_err();
    assert!(
        r.reason_codes
            .contains(&"rate_limit_state_unavailable".to_owned())
    );
    let dir = tempfile::tempdir().unwrap();
    let with = Guard::unsigned(gate, Box::new(MemorySink::new()))
        .with_rate_limit_state(dir.path().join("rl.json"));
    assert!(with.guard(&call("tool.read"), || ()).is_ok());
    assert!(with.guard(&call("tool.read"), || ()).is_ok());
    assert!(with.guard(&call("tool.read"), || ()).is_err());
}

#[test]
fn approval_tokens_turn_require_approval_into_allow() {
    use gait_policy::token::{ApprovalMint, mint_approval_token};
    use gait_sign::Approval;
    let approver = SigningKey::<Approval>::generate().unwrap();
    let guard = Guard::unsigned(gate(), Box::new(MemorySink::new()))
        .with_approval_key(approver.verifying_key().clone());
    let intent = call("tool.write");
    assert_eq!(
        guard.guard(&intent, || ()).unwrap_err().verdict,
        Some(Verdict::RequireApproval)
    );
    let decision = guard.gate().evaluate(&intent);
    let token = mint_approval_token(
        &ApprovalMint {
            producer_version: "0.0.0-dev".into(),
            approver_identity: "bob".into(),
            reason_code: "reviewed".into(),
            intent_digest: decision.intent_digest().to_hex(),
            policy_digest: decision.policy_digest().to_hex(),
            delegation_binding_digest: String::new(),
            scope: vec!["tool:tool.write".into()],
            max_targets: 0,
            max_ops: 0,
            ttl_nanos: 60_000_000_000,
            now: gait_digest::GoTime::now_utc(),
        },
        &approver,
    )
    .unwrap();
    assert_eq!(
        guard.guard_approved(&intent, std::slice::from_ref(&token), || 9),
        Ok(9)
    );
    // A token for another intent does not help.
    let other = call("tool.delete");
    assert!(guard.guard_approved(&other, &[token], || ()).is_err());
}
