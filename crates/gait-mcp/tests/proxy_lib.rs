//! The proxy library with `cat` as the "server": whatever the proxy
//! forwards comes straight back, so the client side sees exactly which
//! bytes were forwarded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gait_mcp::{Governor, ProxyConfig, REASON_EVALUATION_TIMEOUT, REASON_TRACE_WRITE_FAILED};
use gait_policy::{Gate, Policy};
use gait_sign::{SigningKey, Trace};
use gait_trace::{MemorySink, TraceError, TraceRecord, TraceSink};
use proptest::prelude::*;
use serde_json::{Value, json};

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [echo]\n";

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<u8>>>);

impl Write for Collect {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct FailingSink;
impl TraceSink for FailingSink {
    fn record(&self, _: &TraceRecord) -> Result<(), TraceError> {
        Err(TraceError::Write("disk full".into()))
    }
}

struct SlowSink;
impl TraceSink for SlowSink {
    fn record(&self, _: &TraceRecord) -> Result<(), TraceError> {
        std::thread::sleep(Duration::from_secs(2));
        Ok(())
    }
}

fn governor(sink: Box<dyn TraceSink>) -> Governor {
    Governor::new(
        Gate::new(Policy::from_yaml_str(POLICY).unwrap()),
        SigningKey::<Trace>::generate().unwrap(),
        sink,
    )
    .unwrap()
}

/// Runs a session with `cat` as the server and returns every line the
/// client received.
fn session(gov: Governor, input: &str, timeout: Duration) -> Vec<String> {
    let out = Collect::default();
    let mut cfg = ProxyConfig::new(vec!["cat".into()]);
    cfg.eval_timeout = timeout;
    cfg.shutdown_grace = Duration::from_secs(2);
    let report = gait_mcp::run(
        cfg,
        gov,
        std::io::Cursor::new(input.as_bytes().to_vec()),
        out.clone(),
        Arc::new(|_: &str| {}),
    )
    .unwrap();
    assert!(!report.server_died);
    let bytes = out.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

const ECHO: &str = r#"{"jsonrpc":"2.0", "id":1, "method":"tools/call","params":{"name":"echo","arguments":{"b":2,"a":1}}}"#;

#[test]
fn allowed_call_is_forwarded_byte_for_byte() {
    let lines = session(
        governor(Box::new(MemorySink::new())),
        &format!("{ECHO}\n"),
        Duration::from_secs(5),
    );
    assert_eq!(lines[0], ECHO);
    // `cat` never answers: at shutdown the pending request gets an error.
    let last: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(last["id"], 1);
    assert_eq!(last["error"]["code"], gait_mcp::SERVER_EXITED);
    assert_eq!(lines.len(), 2);
}

#[test]
fn unwritable_trace_refuses_the_call() {
    let lines = session(
        governor(Box::new(FailingSink)),
        &format!("{ECHO}\n"),
        Duration::from_secs(5),
    );
    assert_eq!(lines.len(), 1);
    let r: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(r["result"]["isError"], true);
    let d = &r["result"]["_meta"]["gait/decision"];
    assert!(
        d["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&json!(REASON_TRACE_WRITE_FAILED))
    );
    assert_eq!(d["trace_id"], "");
}

#[test]
fn evaluation_timeout_refuses_the_call() {
    let lines = session(
        governor(Box::new(SlowSink)),
        &format!("{ECHO}\n"),
        Duration::from_millis(100),
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    let r: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(r["id"], 1);
    assert_eq!(r["result"]["isError"], true);
    assert_eq!(
        r["result"]["_meta"]["gait/decision"]["reason_codes"],
        json!([REASON_EVALUATION_TIMEOUT])
    );
}

#[test]
fn mcp_trust_is_enforced_against_the_server_identity() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("trust.json");
    std::fs::write(
        &snap,
        json!({"schema_id": "gait.mcp.trust_snapshot", "schema_version": "1.0.0",
               "entries": [{"server_id": "good", "publisher": "acme", "status": "trusted",
                            "updated_at": "2026-01-01T00:00:00Z", "score": 0.9}]})
        .to_string(),
    )
    .unwrap();
    let p = Policy::from_yaml_str(&format!(
        "default_verdict: allow\nmcp_trust:\n  snapshot: {}\nrules: []\n",
        snap.display()
    ))
    .unwrap();
    let g = Governor::new(
        Gate::new(p),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(MemorySink::new()),
    )
    .unwrap();
    let pins = gait_mcp::ToolPins::default();
    let call = json!({"name": "echo", "arguments": {}});
    let good = g
        .decide(&call, &gait_mcp::ServerIdentity::with_id("good"), &pins)
        .unwrap();
    assert!(good.forward, "{good:?}");
    assert!(good.reason_codes.contains(&"mcp_trust_verified".to_owned()));
    let unknown = g
        .decide(&call, &gait_mcp::ServerIdentity::with_id("who"), &pins)
        .unwrap();
    assert!(!unknown.forward);
    assert_eq!(unknown.verdict, gait_policy::Verdict::Block);
    assert!(unknown.violations.contains(&"mcp_trust_policy".to_owned()));
}

#[test]
fn empty_command_is_a_config_error() {
    let r = gait_mcp::run(
        ProxyConfig::new(Vec::new()),
        governor(Box::new(MemorySink::new())),
        std::io::empty(),
        std::io::sink(),
        Arc::new(|_: &str| {}),
    );
    assert!(matches!(r, Err(gait_mcp::Error::NoServerCommand)));
}

proptest! {
    #[test]
    fn sniff_id_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = gait_mcp::frame::sniff_id(&bytes);
    }

    #[test]
    fn sniff_id_finds_the_id_of_any_prefix_of_a_request(id in 0i64..1_000_000, pad in 0usize..50) {
        let msg = format!(r#"{{"jsonrpc":"2.0","params":{{"id":"inner","x":"{}"}},"id":{id},"method":"m"}}"#, "z".repeat(pad));
        let cut = msg.find(",\"method\"").unwrap();
        prop_assert_eq!(gait_mcp::frame::sniff_id(&msg.as_bytes()[..=cut]), Some(json!(id)));
    }

    #[test]
    fn lines_never_exceed_the_limit(
        data in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..400),
        limit in 1usize..64,
    ) {
        let mut r = gait_mcp::frame::LineReader::new(std::io::BufReader::with_capacity(7, &data[..]), limit);
        let mut total = 0u64;
        loop {
            match r.next_frame().unwrap() {
                gait_mcp::frame::Frame::Eof => break,
                gait_mcp::frame::Frame::Line(l) => { prop_assert!(l.len() <= limit); total += l.len() as u64; }
                gait_mcp::frame::Frame::TooLong { prefix, len } => {
                    prop_assert_eq!(prefix.len(), limit);
                    prop_assert!(len > limit as u64);
                    total += len;
                }
            }
        }
        prop_assert!(total <= data.len() as u64);
    }

    #[test]
    fn same_call_same_intent_digest(name in "[a-z_]{1,12}", path in "/[a-z]{1,12}") {
        let server = gait_mcp::ServerIdentity::with_id("s");
        let ctx = gait_mcp::CallContext::default();
        let p = json!({"name": name, "arguments": {"path": path}});
        let a = gait_mcp::intent_for_call(&p, &server, None, &ctx).unwrap();
        let b = gait_mcp::intent_for_call(&p.clone(), &server, None, &ctx).unwrap();
        prop_assert_eq!(a.intent_digest(), b.intent_digest());
    }
}

#[test]
fn stuck_evaluations_are_bounded_and_every_call_is_answered() {
    let input: String = (1..=24)
        .map(|i| {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\"}}}}\n"
            )
        })
        .collect();
    let lines = session(
        governor(Box::new(SlowSink)),
        &input,
        Duration::from_millis(20),
    );
    assert_eq!(lines.len(), 24);
    for l in &lines {
        let r: Value = serde_json::from_str(l).unwrap();
        assert_eq!(r["result"]["isError"], true);
        assert_eq!(
            r["result"]["_meta"]["gait/decision"]["reason_codes"],
            json!([REASON_EVALUATION_TIMEOUT])
        );
    }
}

#[test]
fn ambiguous_tools_calls_are_refused_not_forwarded() {
    // Each would be forwarded (the policy allows `echo`) if the proxy
    // decided on one reading while the server read another.
    let calls = [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"path":"/tmp/a","PATH":"/etc/shadow"}}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"to_account":12345678901234567}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","NAME":"delete_everything"}}"#,
        // Beyond u64: parsed as a double, recognized from the text.
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"n":123456789012345678901234}}}"#,
    ];
    let input: String = calls.iter().map(|c| format!("{c}\n")).collect();
    let lines = session(
        governor(Box::new(MemorySink::new())),
        &input,
        Duration::from_secs(5),
    );
    assert_eq!(lines.len(), calls.len(), "{lines:?}");
    for line in &lines {
        assert!(!calls.contains(&line.as_str()), "forwarded: {line}");
        let r: Value = serde_json::from_str(line).unwrap();
        // Invalid input, never a decision: a JSON-RPC error.
        assert_eq!(r["error"]["code"], gait_mcp::INVALID_PARAMS, "{line}");
    }
    let text = lines.join("\n");
    for needle in ["PATH", "arguments.to_account", "NAME", "params.arguments.n"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn pin_file_and_config_errors_are_variants_with_the_same_texts() {
    use std::error::Error as _;
    let e = gait_mcp::ToolPins::from_json_slice(
        br#"{"schema_id":"gait.mcp.tool_pins","schema_version":"1.0.0","tools":[]}"#,
        "p.json",
    )
    .unwrap_err();
    assert!(e.is_config());
    assert!(matches!(
        &e,
        gait_mcp::Error::PinFile {
            problem: gait_mcp::PinFileError::ToolsNotObject,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "invalid proxy configuration: pin file p.json: tools must be an object"
    );
    assert!(e.source().is_some());
    let e = gait_mcp::PinChangeMode::parse("maybe").unwrap_err();
    assert!(e.is_config());
    assert_eq!(
        e.to_string(),
        "invalid proxy configuration: unsupported tool-change mode \"maybe\" (expected block or warn)"
    );
}
