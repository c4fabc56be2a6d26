//! Issue #6's acceptance: every boundary returns the same verdict, reason
//! codes and intent digest for the same call.
//!
//! One MCP `tools/call` (an allowed read and a blocked write) is mapped
//! once with the library (the `mcp_protocol` adapter through
//! `gait_mcp::intent_for_call`, knowing what the fake server said in
//! `initialize` and `tools/list`) and decided by the library gate; then
//! the same call goes through `gait gate eval` (the intent file),
//! `gait mcp proxy --call` (one shot), `gait serve --stdio`, `gait serve`
//! over HTTP on an ephemeral loopback port, and the MCP protocol proxy
//! `gait mcp proxy … -- <fake server>` (read from the refusal's
//! `_meta["gait/decision"]` and from the signed traces it writes). All
//! signing uses prod keys from `gait keys init`, and every trace verifies.
//!
//! Every wait is bounded; a hang fails the test instead of stalling it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use gait_mcp::{CallContext, ServerIdentity, ToolPins};
use gait_policy::adapters::ServerInfo;
use gait_policy::adapters::mcp_protocol::{self, ListedTool};
use gait_policy::{Gate, Policy};
use serde_json::{Value, json};

mod common;
use common::{fake_server, gait_bin, pump_all, pump_lines};

const RECV: Duration = Duration::from_secs(15);

const POLICY: &str = "\
default_verdict: block
rules:
  - name: reads
    priority: 10
    effect: allow
    match:
      tool_names: [echo]
  - name: no-writes
    priority: 1
    effect: block
    reason_codes: [writes_forbidden]
    match:
      tool_names: [write_file]
";

fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(gait_bin())
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut i = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            i.write_all(s.as_bytes()).unwrap();
        }
    }
    wait_output(child)
}

/// Waits (bounded) for a child and collects its output.
fn wait_output(mut child: Child) -> Output {
    let out = pump_all(child.stdout.take().unwrap());
    let err = pump_all(child.stderr.take().unwrap());
    let deadline = Instant::now() + RECV;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gait did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.recv_timeout(RECV).unwrap(),
        stderr: err.recv_timeout(RECV).unwrap(),
    }
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// What a boundary answered: verdict, sorted reason codes, intent digest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    verdict: String,
    reason_codes: Vec<String>,
    intent_digest: String,
}

fn answer(v: &Value) -> Answer {
    let mut reason_codes: Vec<String> = v["reason_codes"]
        .as_array()
        .unwrap_or_else(|| panic!("no reason_codes in {v}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    reason_codes.sort();
    Answer {
        verdict: v["verdict"].as_str().unwrap().to_owned(),
        reason_codes,
        intent_digest: v["intent_digest"].as_str().unwrap().to_owned(),
    }
}

/// A JSON-RPC session with a child speaking newline-delimited JSON.
struct Rpc {
    child: Child,
    lines: Receiver<String>,
}

impl Rpc {
    fn send(&mut self, v: &Value) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(v.to_string().as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}));
        let deadline = Instant::now() + RECV;
        while Instant::now() < deadline {
            let Ok(line) = self.lines.recv_timeout(RECV) else {
                break;
            };
            let Ok(m) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if m.get("id") == Some(&id) && m.get("method").is_none() {
                return m;
            }
        }
        panic!("no response to {id}");
    }

    /// Closes stdin and waits (bounded) for the child to exit.
    fn finish(mut self) -> i32 {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + RECV;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("child did not exit in time");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_rpc(cmd: &mut Command) -> Rpc {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = pump_lines(child.stdout.take().unwrap());
    Rpc { child, lines }
}

const INIT: &str =
    r#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}"#;

/// What the fake server says about itself and its tools, asked directly.
fn server_listing(dir: &Path) -> (Value, Vec<Value>) {
    let mut s = spawn_rpc(
        Command::new("python3")
            .arg(fake_server())
            .arg(dir.join("listing-calls.log")),
    );
    let init = s.request(json!(1), "initialize", serde_json::from_str(INIT).unwrap());
    s.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let list = s.request(json!(2), "tools/list", json!({}));
    assert_eq!(s.finish(), 0);
    (
        init["result"].clone(),
        list["result"]["tools"].as_array().unwrap().clone(),
    )
}

/// The HTTP boundary: `gait serve` on an ephemeral loopback port, one
/// POST per body, then SIGTERM and a bounded wait.
fn serve_http(dir: &Path, bodies: &[String]) -> Vec<Value> {
    let args: Vec<String> = [
        "serve",
        "--policy",
        "policy.yaml",
        "--listen",
        "127.0.0.1:0",
        "--key-mode",
        "prod",
        "--private-key",
        "keys/gait_private.key",
        "--trace-dir",
        "serve-http-traces",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let (answers, status) = common::serve_http(dir, &args, bodies);
    assert_eq!(status.code(), Some(0));
    answers
        .into_iter()
        .map(|(_, body)| serde_json::from_str(&body).unwrap())
        .collect()
}

fn verify_all(dir: &Path, traces: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join(traces))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        let o = run(
            dir,
            &[
                "trace",
                "verify",
                "--public-key",
                "keys/gait_public.key",
                "--json",
                p.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}: {o:?}", p.display());
        out.push(serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap());
    }
    out
}

#[test]
fn one_call_same_answer_at_every_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("policy.yaml"), POLICY).unwrap();
    let keys = run(d, &["keys", "init", "--out-dir", "keys", "--json"], None);
    assert!(keys.status.success(), "{keys:?}");

    // What the MCP protocol proxy will learn from the server.
    let (init, tools) = server_listing(d);
    let mut server = ServerIdentity::default();
    server.learn(&init);
    assert_eq!(server.server_id, "fake-server");
    let mut pins = ToolPins::new();
    pins.observe(&tools);

    let calls = [
        (
            "echo",
            json!({"msg": "hello", "path": "/w/notes.txt"}),
            "allow",
            0,
        ),
        (
            "write_file",
            json!({"path": "/tmp/x", "content": "no"}),
            "block",
            3,
        ),
    ];
    let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());
    let mut expected = Vec::new();
    let mut payloads = Vec::new();
    for (tool, args, verdict, _) in &calls {
        let params = json!({"name": tool, "arguments": args});
        // The library: the adapter, then the gate.
        let intent =
            gait_mcp::intent_for_call(&params, &server, pins.get(tool), &CallContext::default())
                .unwrap();
        let outcome = gate.run(&gate.inputs(&intent)).unwrap();
        let dec = &outcome.decision;
        let mut reason_codes = dec.reason_codes().to_vec();
        reason_codes.sort();
        let lib = Answer {
            verdict: dec.verdict().as_str().to_owned(),
            reason_codes,
            intent_digest: dec.intent_digest().to_hex(),
        };
        assert_eq!(lib.verdict, *verdict);
        assert_eq!(lib.intent_digest, intent.intent_digest().to_hex());
        // The same mapping through the policy crate's own entry point.
        let t = pins.get(tool).unwrap();
        let mut info = ServerInfo::new("fake-server");
        info.server_name = "fake-server".into();
        info.server_version = "1.0.0".into();
        let listed = ListedTool::new(t.hints).with_pin(&t.pinned.to_hex(), false);
        let call = mcp_protocol::tool_call_listed(
            tool,
            args.as_object().unwrap(),
            &info,
            Some(&listed),
            &gait_policy::adapters::CallContext::default(),
        )
        .unwrap();
        assert_eq!(
            mcp_protocol::intent_of(&call).unwrap().intent_digest(),
            intent.intent_digest()
        );
        // The same call in Gait's own tool-call shape, for the decision
        // service's boundaries.
        let req = call.to_intent_request().unwrap();
        payloads.push(json!({
            "name": req["tool_name"], "args": req["args"],
            "targets": req["targets"], "context": req["context"],
        }));
        std::fs::write(
            d.join(format!("{tool}.intent.json")),
            intent.to_json().to_string(),
        )
        .unwrap();
        expected.push(lib);
    }
    assert_ne!(expected[0].intent_digest, expected[1].intent_digest);
    assert!(
        expected[1]
            .reason_codes
            .contains(&"writes_forbidden".to_owned())
    );

    let prod = [
        "--key-mode",
        "prod",
        "--private-key",
        "keys/gait_private.key",
    ];
    for (i, (tool, _, _, code)) in calls.iter().enumerate() {
        // gait gate eval, with the intent file.
        let intent_file = format!("{tool}.intent.json");
        let trace_out = format!("gate-{tool}.trace.json");
        let mut args = vec![
            "gate",
            "eval",
            "--policy",
            "policy.yaml",
            "--intent",
            &intent_file,
            "--trace-out",
            &trace_out,
            "--json",
        ];
        args.extend(prod);
        let o = run(d, &args, None);
        assert_eq!(o.status.code(), Some(*code), "gate eval {tool}: {o:?}");
        assert_eq!(answer(&json_of(&o)), expected[i], "gate eval {tool}");

        // gait mcp proxy --call (one shot).
        let call_file = format!("{tool}.call.json");
        std::fs::write(d.join(&call_file), payloads[i].to_string()).unwrap();
        let trace_out = format!("proxy-{tool}.trace.json");
        let mut args = vec![
            "mcp",
            "proxy",
            "--policy",
            "policy.yaml",
            "--call",
            &call_file,
            "--trace-out",
            &trace_out,
            "--json",
        ];
        args.extend(prod);
        let o = run(d, &args, None);
        assert_eq!(
            o.status.code(),
            Some(*code),
            "mcp proxy --call {tool}: {o:?}"
        );
        assert_eq!(answer(&json_of(&o)), expected[i], "mcp proxy --call {tool}");
    }

    // gait serve --stdio: both calls, one line each.
    let lines: String = payloads
        .iter()
        .map(|p| format!("{}\n", json!({"call": p})))
        .collect();
    let mut args = vec![
        "serve",
        "--policy",
        "policy.yaml",
        "--stdio",
        "--trace-dir",
        "serve-stdio-traces",
    ];
    args.extend(prod);
    let o = run(d, &args, Some(&lines));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let stdio: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stdio.len(), 2);

    // gait serve over HTTP.
    let bodies: Vec<String> = payloads
        .iter()
        .map(|p| json!({"call": p}).to_string())
        .collect();
    let http = serve_http(d, &bodies);
    for i in 0..2 {
        assert_eq!(answer(&stdio[i]), expected[i], "serve --stdio");
        assert_eq!(answer(&http[i]), expected[i], "serve http");
    }

    // The MCP protocol proxy in front of the fake server.
    let mut proxy = spawn_rpc(
        Command::new(gait_bin())
            .current_dir(d)
            .args([
                "mcp",
                "proxy",
                "--policy",
                "policy.yaml",
                "--key-mode",
                "prod",
                "--private-key",
                "keys/gait_private.key",
                "--trace-out",
                "mcp-traces",
                "--",
                "python3",
            ])
            .arg(fake_server())
            .arg(d.join("calls.log")),
    );
    let r = proxy.request(json!(0), "initialize", serde_json::from_str(INIT).unwrap());
    assert_eq!(r["result"]["serverInfo"]["name"], "fake-server");
    proxy.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    let listed = proxy.request(json!("list"), "tools/list", json!({}));
    assert!(listed["result"]["tools"].is_array());
    let allowed = proxy.request(
        json!(1),
        "tools/call",
        json!({"name": calls[0].0, "arguments": calls[0].1}),
    );
    assert!(allowed["result"]["isError"].is_null(), "{allowed}");
    let blocked = proxy.request(
        json!(2),
        "tools/call",
        json!({"name": calls[1].0, "arguments": calls[1].1}),
    );
    assert_eq!(blocked["result"]["isError"], true, "{blocked}");
    assert_eq!(proxy.finish(), 0);
    // Only the allowed call reached the server.
    assert_eq!(
        std::fs::read_to_string(d.join("calls.log")).unwrap().trim(),
        "echo"
    );
    // The refusal carries the decision.
    let meta = &blocked["result"]["_meta"]["gait/decision"];
    assert_eq!(answer(meta), expected[1], "mcp protocol proxy (_meta)");
    // The signed traces: one per call, both verify, same verdicts and
    // intent digests (a trace records no reason codes; the refusal's
    // `_meta` above does).
    let traces = verify_all(d, "mcp-traces");
    assert_eq!(traces.len(), 2);
    for exp in &expected {
        let t = traces
            .iter()
            .find(|t| t["intent_digest"] == exp.intent_digest.as_str())
            .unwrap_or_else(|| panic!("no MCP proxy trace for {}", exp.intent_digest));
        assert_eq!(t["verdict"], exp.verdict.as_str());
    }
    assert_eq!(
        meta["trace_id"],
        traces.iter().find(|t| t["verdict"] == "block").unwrap()["trace_id"]
    );

    // Every other boundary's traces verify with the same key.
    assert_eq!(verify_all(d, "serve-stdio-traces").len(), 2);
    assert_eq!(verify_all(d, "serve-http-traces").len(), 2);
}
