//! The decision service core, JSON lines, run sessions, trust overlay, and
//! one call giving the same verdict, reasons and intent digest at every
//! in-process boundary (library gate, guard, service, stdio).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::Cursor;
use std::sync::Arc;

use gait_policy::adapters::{Adapter, intent_from_payload};
use gait_policy::{Gate, Policy};
use gait_serve::{CallOptions, DecisionService, RunSession, ServiceConfig};
use gait_sign::{SigningKey, Trace};
use gait_trace::{Guard, MemorySink};
use serde_json::{Value, json};

const POLICY: &str = include_str!("data/typical_policy.yaml");
const INTENT: &str = include_str!("data/typical_intent.json");

fn service(dir: &std::path::Path, policy: &str) -> DecisionService {
    let gate = Gate::new(Policy::from_yaml_str(policy).unwrap());
    DecisionService::new(ServiceConfig::new(
        gate,
        SigningKey::<Trace>::generate().unwrap(),
        dir.join("traces"),
    ))
    .unwrap()
}

fn typical_call() -> Value {
    json!({"name": "tool.write", "args": {"path": "/tmp/out.txt", "content": "hello"},
           "targets": [{"kind": "path", "value": "/tmp/out.txt"}],
           "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
           "context": {"identity": "bench-user", "workspace": "/tmp/workspace", "risk_class": "high"}})
}

#[test]
fn same_call_same_answer_at_every_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), POLICY);
    let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());

    // Library: the gate on the adapter's intent, and on the plain intent.
    let intent = intent_from_payload(Adapter::Mcp, typical_call().to_string().as_bytes()).unwrap();
    let lib = gate.evaluate(&intent);
    let plain = gait_policy::Intent::from_json_str(INTENT).unwrap();
    assert_eq!(plain.intent_digest(), intent.intent_digest());

    // Guard.
    let sink = Arc::new(MemorySink::new());
    let guard = Guard::new(
        gate.clone(),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(sink.clone()),
    );
    assert_eq!(guard.guard(&intent, || 1), Ok(1));
    let guard_trace = sink.traces().pop().unwrap();

    // Service: call and intent request shapes.
    let a = svc
        .handle_request(json!({"call": typical_call()}).to_string().as_bytes())
        .unwrap();
    let b = svc
        .handle_request(format!(r#"{{"intent":{INTENT}}}"#).as_bytes())
        .unwrap();

    // JSON lines.
    let input = format!(
        "{}\n\n{}\n",
        json!({"call": typical_call()}),
        json!({"intent": serde_json::from_str::<Value>(INTENT).unwrap(), "id": 7})
    );
    let mut out = Vec::new();
    let n = gait_serve::stdio::serve_lines(&svc, Cursor::new(input), &mut out, 1 << 20).unwrap();
    assert_eq!(n, 2);
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[1]["id"], 7);

    let digest = intent.intent_digest().to_hex();
    let reasons = json!(lib.reason_codes());
    assert_eq!(lib.verdict().as_str(), "allow");
    assert_eq!(guard_trace.intent_digest, digest);
    assert_eq!(guard_trace.verdict, "allow");
    for out in [
        &a.output,
        &b.output,
        lines[0].as_object().unwrap(),
        lines[1].as_object().unwrap(),
    ] {
        assert_eq!(out["verdict"], "allow");
        assert_eq!(out["intent_digest"], digest.as_str());
        assert_eq!(out["reason_codes"], reasons);
        assert_eq!(out["trace_id"], guard_trace.trace_id.as_str());
    }
}

#[test]
fn stdio_answers_every_line_in_order_and_survives_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), POLICY);
    let big = format!("{{\"call\":{{\"name\":\"{}\"}}}}", "x".repeat(5000));
    let input = format!(
        "not json\n{big}\n{}\n   \n{{\"call\":{{\"name\":\"tool.read\"}}}}",
        json!({"call": typical_call()})
    );
    let mut out = Vec::new();
    let n = gait_serve::stdio::serve_lines(&svc, Cursor::new(input), &mut out, 1024).unwrap();
    assert_eq!(n, 4);
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["exit_code"], 6);
    assert_eq!(lines[1]["exit_code"], 6);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("max-request-bytes")
    );
    assert_eq!(lines[2]["verdict"], "allow");
    // A call without targets under fail_closed for high risk: blocked.
    assert_eq!(lines[3]["verdict"], "block");
    assert_eq!(lines[3]["exit_code"], 3);
}

#[test]
fn unwritable_trace_directory_is_an_error_never_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), "default_verdict: allow\n");
    std::fs::remove_dir_all(dir.path().join("traces")).unwrap();
    std::fs::write(dir.path().join("traces"), b"file").unwrap();
    let err = svc
        .handle_request(br#"{"call":{"name":"tool.read"}}"#)
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.http_status(), 500);
    let mut out = Vec::new();
    gait_serve::stdio::serve_lines(
        &svc,
        Cursor::new("{\"call\":{\"name\":\"tool.read\"}}\n"),
        &mut out,
        1 << 20,
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v.get("verdict").is_none());
}

#[test]
fn dry_run_is_not_exit_zero_and_run_ids_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), "default_verdict: dry_run\n");
    let e = svc
        .handle_request(br#"{"call":{"name":"tool.read","context":{"run_id":"abc"}}}"#)
        .unwrap();
    assert_eq!(e.output["verdict"], "dry_run");
    assert_eq!(e.exit_code, 3);
    assert_eq!(e.output["run_id"], "run_abc");
    let e = svc
        .handle_request(br#"{"call":{"name":"tool.read"},"run_id":"r 1"}"#)
        .unwrap();
    assert_eq!(e.output["run_id"], "run_r_1");
    let e = svc
        .handle_request(br#"{"call":{"name":"tool.read"}}"#)
        .unwrap();
    assert!(e.output["run_id"].as_str().unwrap().starts_with("run_mcp_"));
}

#[test]
fn payload_context_envelope_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), "default_verdict: allow\n");
    let err = svc
        .handle_request(br#"{"call":{"name":"t","context":{"context_envelope_path":"/x"}}}"#)
        .unwrap_err();
    assert!(err.to_string().contains("context_envelope_path"));
}

#[test]
fn runpack_of_a_decision_and_of_a_guarded_session_verify() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), POLICY);
    let path = dir.path().join("rp.zip");
    let pack = dir.path().join("pack.zip");
    let mut opts = CallOptions::default();
    opts.runpack_out = Some(path.clone());
    opts.pack_out = Some(pack.clone());
    let e = svc.evaluate_call(&typical_call(), &opts).unwrap();
    assert_eq!(e.output["runpack_path"], path.to_string_lossy().as_ref());
    assert_eq!(e.output["pack_path"], pack.to_string_lossy().as_ref());
    assert!(!e.output["pack_id"].as_str().unwrap().is_empty());
    let pr =
        gait_pack::pack::verify_pack(&pack, &gait_pack::pack::VerifyOptions::default()).unwrap();
    assert!(pr.ok(false), "{pr:?}");
    assert_eq!(pr.pack_type, "run");
    let report = gait_pack::runpack::verify_runpack_file(
        &path,
        &gait_pack::runpack::VerifyOptions::default(),
    )
    .unwrap();
    assert!(report.is_ok(false));

    let session = Arc::new(RunSession::new("run_guarded", "0.0.0-dev"));
    let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());
    let key = SigningKey::<Trace>::generate().unwrap();
    let guard = Guard::unsigned(gate, Box::new(MemorySink::new())).with_recorder(session.clone());
    let intent = gait_policy::Intent::from_json_str(INTENT).unwrap();
    let _ = guard.guard(&intent, || ());
    let _ = guard.guard(
        &intent_from_payload(Adapter::Mcp, br#"{"name":"tool.delete"}"#).unwrap(),
        || (),
    );
    assert_eq!(session.len(), 2);
    let out = dir.path().join("session.zip");
    session.write(&out, &key).unwrap();
    let report = gait_pack::runpack::verify_runpack_file(
        &out,
        &gait_pack::runpack::VerifyOptions::default(),
    )
    .unwrap();
    assert!(report.is_ok(false));
}

#[test]
fn mcp_trust_snapshot_enforced_on_the_normalized_risk_class() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("trust.json");
    std::fs::write(
        &snap,
        json!({"schema_id": "gait.mcp.trust_snapshot", "schema_version": "1.0.0",
               "entries": [{"server_id": "good", "publisher": "acme", "status": "trusted",
                            "updated_at": "2026-01-01T00:00:00Z", "score": 0.9},
                           {"server_id": "bad", "status": "revoked"}]})
        .to_string(),
    )
    .unwrap();
    let policy = format!(
        "default_verdict: allow\nmcp_trust:\n  snapshot: {}\n  min_score: 0.5\n",
        snap.display()
    );
    let svc = service(dir.path(), &policy);
    // No risk class given: defaulted to high, so trust is enforced.
    let ok = svc
        .handle_request(br#"{"call":{"name":"t","server":{"server_id":"good"}}}"#)
        .unwrap();
    assert_eq!(ok.output["verdict"], "allow");
    assert_eq!(ok.output["mcp_trust"]["status"], "trusted");
    let bad = svc
        .handle_request(br#"{"call":{"name":"t","server":{"server_id":"BAD"}}}"#)
        .unwrap();
    assert_eq!(bad.output["verdict"], "block");
    assert_eq!(bad.output["violations"], json!(["mcp_trust_policy"]));
    assert!(bad.trace.mcp_trust.is_some());
    let unknown = svc
        .handle_request(br#"{"call":{"name":"t","server":{"server_id":"who"}}}"#)
        .unwrap();
    assert_eq!(unknown.output["verdict"], "block");
    assert!(
        unknown.output["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&json!("mcp_trust_server_unknown"))
    );
    // Low risk: reasons only, no verdict change.
    let low = svc
        .handle_request(
            br#"{"call":{"name":"t","server":{"server_id":"who"},"context":{"risk_class":"low"}}}"#,
        )
        .unwrap();
    assert_eq!(low.output["verdict"], "allow");
}

#[test]
fn approval_tokens_in_requests() {
    use gait_policy::token::{ApprovalMint, mint_approval_token};
    use gait_sign::Approval;
    let dir = tempfile::tempdir().unwrap();
    let policy = "default_verdict: require_approval\n";
    let approver = SigningKey::<Approval>::generate().unwrap();
    let gate = Gate::new(Policy::from_yaml_str(policy).unwrap());
    let mut cfg = ServiceConfig::new(
        gate.clone(),
        SigningKey::<Trace>::generate().unwrap(),
        dir.path().join("traces"),
    );
    cfg.approval_key = Some(approver.verifying_key().clone());
    let svc = DecisionService::new(cfg).unwrap();
    let call = json!({"name": "tool.write", "args": {"path": "/tmp/x"}});
    let first = svc
        .handle_request(json!({"call": call}).to_string().as_bytes())
        .unwrap();
    assert_eq!(first.output["verdict"], "require_approval");
    let token = mint_approval_token(
        &ApprovalMint {
            producer_version: "0.0.0-dev".into(),
            approver_identity: "bob".into(),
            reason_code: "ok".into(),
            intent_digest: first.output["intent_digest"].as_str().unwrap().into(),
            policy_digest: first.output["policy_digest"].as_str().unwrap().into(),
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
    let token_json: Value = serde_json::from_slice(&token.to_pretty_json()).unwrap();
    let second = svc
        .handle_request(
            json!({"call": call, "approval_tokens": [token_json]})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(second.output["verdict"], "allow");
    let bad = svc.handle_request(
        json!({"call": call, "approval_tokens": {}})
            .to_string()
            .as_bytes(),
    );
    assert!(bad.is_err());
}

#[test]
fn mcp_protocol_calls_through_the_service() {
    use gait_policy::adapters::mcp_protocol;
    use gait_policy::adapters::{CallContext, ServerInfo};
    let dir = tempfile::tempdir().unwrap();
    let svc = service(
        dir.path(),
        "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [read_file]\n",
    );
    let args = json!({"path": "/w/a.txt"});
    let call = mcp_protocol::tool_call(
        "read_file",
        args.as_object().unwrap(),
        &ServerInfo::new("filesystem"),
        json!({"readOnlyHint": true}).as_object(),
        &CallContext::default(),
    )
    .unwrap();
    let e = svc
        .evaluate_tool_call(&call, "mcp_protocol", &CallOptions::default())
        .unwrap();
    assert_eq!(e.output["verdict"], "allow");
    let write = mcp_protocol::tool_call(
        "write_file",
        args.as_object().unwrap(),
        &ServerInfo::new("filesystem"),
        None,
        &CallContext::default(),
    )
    .unwrap();
    let e = svc
        .evaluate_tool_call(&write, "mcp_protocol", &CallOptions::default())
        .unwrap();
    assert_eq!(e.output["verdict"], "block");
    assert!(e.trace_path.exists());
}

#[test]
fn stdio_refuses_ambiguous_requests() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), POLICY);
    let mut call = typical_call();
    call["NAME"] = json!("tool.read");
    let mut big = typical_call();
    big["args"]["to_account"] = json!(12_345_678_901_234_567_u64);
    let input = format!(
        "{}\n{}\n{}\n",
        json!({"call": typical_call()}),
        json!({"call": call}),
        json!({"call": big}),
    );
    let mut out = Vec::new();
    let n = gait_serve::stdio::serve_lines(&svc, Cursor::new(input), &mut out, 1 << 20).unwrap();
    assert_eq!(n, 3);
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0].get("verdict").is_some(), "{}", lines[0]);
    for (line, needle) in lines[1..].iter().zip(["\"NAME\"", "args.to_account"]) {
        assert_eq!(line["exit_code"], 6, "{line}");
        assert!(line.get("verdict").is_none(), "{line}");
        assert!(line["error"].as_str().unwrap().contains(needle), "{line}");
    }
    // The library entry point refuses the same payloads.
    for payload in [&call, &big] {
        assert!(intent_from_payload(Adapter::Mcp, payload.to_string().as_bytes()).is_err());
    }
}

#[test]
fn session_ids_with_control_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), "default_verdict: allow\n");
    let err = svc
        .handle_request(br#"{"call":{"name":"t"},"session_id":"s1\nforged: line"}"#)
        .unwrap_err();
    assert!(err.to_string().contains("request.session_id"), "{err}");
    assert!(
        svc.handle_request(br#"{"call":{"name":"t"},"session_id":"s1"}"#)
            .is_ok()
    );
}
