//! `gait mcp proxy -- <server>` as a real process between a scripted client (this test)
//! and a fake MCP server (`tests/data/fake_mcp_server.py`, run with
//! python3).
//!
//! Every wait is bounded (`RECV`); a hang fails the test instead of
//! stalling it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const RECV: Duration = Duration::from_secs(15);

const POLICY: &str = "\
default_verdict: block
rules:
  - name: reads
    priority: 10
    effect: allow
    match:
      tool_names: [echo, big, die]
  - name: no-writes
    priority: 1
    effect: block
    reason_codes: [writes_forbidden]
    match:
      tool_names: [write_file]
";

fn gait() -> &'static str {
    env!("CARGO_BIN_EXE_gait")
}

fn fake_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fake_mcp_server.py")
}

struct Session {
    dir: Option<tempfile::TempDir>,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Receiver<String>,
}

impl Session {
    fn start(flags: &[&str]) -> Session {
        Self::start_with(flags, POLICY)
    }

    fn start_with(flags: &[&str], policy: &str) -> Session {
        Self::start_in(tempfile::tempdir().unwrap(), flags, policy, &[])
    }

    fn start_in(
        dir: tempfile::TempDir,
        flags: &[&str],
        policy: &str,
        env: &[(&str, &str)],
    ) -> Session {
        std::fs::write(dir.path().join("policy.yaml"), policy).unwrap();
        if !dir.path().join("keys").exists() {
            let keys = Command::new(gait())
                .args(["keys", "init", "--out-dir", "keys", "--json"])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(keys.status.success());
        }
        let mut cmd = Command::new(gait());
        cmd.current_dir(dir.path())
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
                "traces",
            ])
            .args(flags)
            .arg("--")
            .arg("python3")
            .arg(fake_server())
            .arg(dir.path().join("calls.log"))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let lines = pump(child.stdout.take().unwrap());
        let stderr = pump(child.stderr.take().unwrap());
        Session {
            dir: Some(dir),
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, v: &Value) {
        self.send_raw(&v.to_string());
    }

    fn recv(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(RECV)
            .expect("no message from the proxy in time");
        assert!(
            !line.contains("gait-mcp-proxy:"),
            "the proxy's own requests must not reach the client: {line}"
        );
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    fn recv_line(&self) -> String {
        self.lines
            .recv_timeout(RECV)
            .expect("no message from the proxy in time")
    }

    /// Sends a request and returns the response with its id (skipping
    /// notifications and other messages).
    fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}));
        self.response_to(&id)
    }

    fn response_to(&self, id: &Value) -> Value {
        let deadline = Instant::now() + RECV;
        while Instant::now() < deadline {
            let m = self.recv();
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return m;
            }
        }
        panic!("no response to {id}");
    }

    fn initialize(&mut self) {
        let r = self.request(
            json!(0),
            "initialize",
            json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}),
        );
        assert_eq!(r["result"]["serverInfo"]["name"], "fake-server");
        self.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        let tools = self.request(json!("list-0"), "tools/list", json!({}));
        assert!(tools["result"]["tools"].is_array());
    }

    fn call(&mut self, id: i64, name: &str, args: Value) -> Value {
        self.request(
            json!(id),
            "tools/call",
            json!({"name":name,"arguments":args}),
        )
    }

    fn server_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.as_ref().unwrap().path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Closes the client side and waits (bounded) for the proxy to exit.
    fn finish(mut self) -> (i32, String, tempfile::TempDir) {
        drop(self.stdin.take());
        let deadline = Instant::now() + RECV;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("proxy did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            err.push_str(&l);
            err.push('\n');
        }
        (status.code().unwrap_or(-1), err, self.dir.take().unwrap())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pump(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn is_refusal(resp: &Value) -> bool {
    resp["result"]["isError"] == true && resp["result"]["_meta"]["gait/decision"].is_object()
}

fn verify_traces(dir: &Path) -> usize {
    let traces = dir.join("traces");
    let mut n = 0;
    for e in std::fs::read_dir(&traces).unwrap() {
        let p = e.unwrap().path();
        let out = Command::new(gait())
            .args(["trace", "verify", "--public-key"])
            .arg(dir.join("keys/gait_public.key"))
            .arg("--json")
            .arg(&p)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {:?}", p.display(), out);
        n += 1;
    }
    n
}

#[test]
fn relays_requests_notifications_and_server_requests_transparently() {
    let mut s = Session::start(&[]);
    s.initialize();
    // Byte-exact relay of an ungoverned request (odd spacing, key order).
    let raw =
        r#"{ "params" : {"z":1,"a":[1, 2.50]},"method":"fake/raw", "id":"r-1","jsonrpc":"2.0" }"#;
    s.send_raw(raw);
    let r = s.response_to(&json!("r-1"));
    assert_eq!(r["result"]["content"][0]["text"], raw);
    // A client notification reaches the server, which answers with one.
    s.send(&json!({"jsonrpc":"2.0","method":"fake/ping"}));
    let n = s.recv();
    assert_eq!(n["method"], "notifications/message");
    assert_eq!(n["params"]["data"], "pong");
    // A server-initiated request and the client's answer.
    s.send(&json!({"jsonrpc":"2.0","id":77,"method":"fake/ask"}));
    let ask = s.recv();
    assert_eq!(ask["method"], "sampling/createMessage");
    assert_eq!(ask["id"], "s1");
    s.send(&json!({"jsonrpc":"2.0","id":"s1","result":{"role":"assistant","content":{"type":"text","text":"hi"}}}));
    let done = s.response_to(&json!(77));
    assert!(
        done["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"hi\"")
    );
    // A server line that is not JSON is relayed as is.
    s.send(&json!({"jsonrpc":"2.0","id":78,"method":"fake/garbage"}));
    assert_eq!(s.recv_line(), "this is not json");
    assert_eq!(
        s.response_to(&json!(78))["result"]["content"][0]["text"],
        "after garbage"
    );
    // An allowed call is forwarded and answered by the server.
    let echo = s.call(5, "echo", json!({"msg":"hello"}));
    assert_eq!(echo["result"]["content"][0]["text"], r#"{"msg": "hello"}"#);
    assert_eq!(s.server_calls(), ["echo"]);
    let (code, err, dir) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("fake-server: stderr marker"), "{err}");
    assert_eq!(verify_traces(dir.path()), 1);
}

#[test]
fn blocked_call_gets_is_error_result_and_session_continues() {
    let mut s = Session::start(&[]);
    s.initialize();
    let r = s.call(1, "write_file", json!({"path":"/tmp/x","content":"no"}));
    assert!(is_refusal(&r), "{r}");
    let d = &r["result"]["_meta"]["gait/decision"];
    assert_eq!(d["verdict"], "block");
    assert!(
        d["reason_codes"]
            .as_array()
            .unwrap()
            .contains(&json!("writes_forbidden"))
    );
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("writes_forbidden") && text.contains(d["trace_id"].as_str().unwrap()));
    // Upper case and padding in the method name do not get around the gate.
    s.send(&json!({"jsonrpc":"2.0","id":2,"method":" TOOLS/CALL","params":{"name":"write_file","arguments":{}}}));
    assert!(is_refusal(&s.response_to(&json!(2))));
    // A blocked tools/call sent as a notification is dropped.
    s.send(&json!({"jsonrpc":"2.0","method":"tools/call","params":{"name":"write_file","arguments":{}}}));
    // The session goes on.
    let echo = s.call(3, "echo", json!({}));
    assert!(echo["result"]["isError"].is_null(), "{echo}");
    assert_eq!(s.server_calls(), ["echo"]);
    let (code, err, dir) = s.finish();
    assert_eq!(code, 0);
    assert!(err.contains("refused tools/call write_file"), "{err}");
    // One signed trace per evaluated call: 3 refusals and 1 forward.
    assert_eq!(verify_traces(dir.path()), 4);
}

#[test]
fn batches_are_split_between_proxy_answers_and_server() {
    let mut s = Session::start(&[]);
    s.initialize();
    s.send(&json!([
        {"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}},
        {"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"write_file","arguments":{}}},
        {"jsonrpc":"2.0","id":12,"method":"fake/raw"}
    ]));
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 3 {
        let m = s.recv();
        let items = m.as_array().cloned().unwrap_or_else(|| vec![m]);
        for item in items {
            seen.insert(item["id"].as_i64().unwrap(), item);
        }
    }
    assert!(seen[&10]["result"]["isError"].is_null());
    assert!(is_refusal(&seen[&11]));
    assert!(seen[&12]["result"].is_object());
    assert_eq!(s.server_calls(), ["echo"]);
    // A batch with nothing governed is relayed unchanged.
    s.send(&json!([{"jsonrpc":"2.0","id":13,"method":"fake/raw"}]));
    let r = s.recv();
    assert_eq!(r[0]["id"], 13);
    s.finish();
}

#[test]
fn changed_tool_definition_is_blocked() {
    let mut s = Session::start(&[]);
    s.initialize();
    assert!(s.call(1, "echo", json!({}))["result"]["isError"].is_null());
    s.send(&json!({"jsonrpc":"2.0","method":"fake/rugpull"}));
    assert_eq!(s.recv()["method"], "notifications/tools/list_changed");
    // The client does not re-list: the proxy does, and the call waits for it.
    let r = s.call(2, "echo", json!({}));
    assert!(is_refusal(&r), "{r}");
    let reasons = r["result"]["_meta"]["gait/decision"]["reason_codes"].clone();
    assert!(
        reasons
            .as_array()
            .unwrap()
            .contains(&json!("mcp_tool_definition_changed")),
        "{reasons}"
    );
    assert_eq!(s.server_calls(), ["echo"]);
    let (_, err, dir) = s.finish();
    assert!(err.contains("tool definition changed: echo"), "{err}");
    // The block is in the signed trace.
    let blocked = std::fs::read_dir(dir.path().join("traces"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("mcp_tool_definition_changed"))
        .count();
    assert_eq!(blocked, 1);
    assert_eq!(verify_traces(dir.path()), 2);
}

#[test]
fn changed_tool_definition_only_warns_in_warn_mode() {
    let mut s = Session::start(&["--on-tool-change", "warn"]);
    s.initialize();
    s.send(&json!({"jsonrpc":"2.0","method":"fake/rugpull"}));
    assert_eq!(s.recv()["method"], "notifications/tools/list_changed");
    s.request(json!("list-1"), "tools/list", json!({}));
    assert!(s.call(2, "echo", json!({}))["result"]["isError"].is_null());
    let (_, err, _) = s.finish();
    assert!(err.contains("tool definition changed: echo"), "{err}");
}

#[test]
fn pin_file_catches_a_definition_changed_between_sessions() {
    let mut s = Session::start(&["--pin-file", "pins.json"]);
    s.initialize();
    assert!(s.call(1, "echo", json!({}))["result"]["isError"].is_null());
    let (_, _, dir) = s.finish();
    let pins: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pins.json")).unwrap())
            .unwrap();
    assert_eq!(pins["schema_id"], "gait.mcp.tool_pins");
    assert!(pins["tools"]["echo"]["digest"].is_string());
    // Same definitions next time: still allowed.
    let mut s = Session::start_in(dir, &["--pin-file", "pins.json"], POLICY, &[]);
    s.initialize();
    assert!(s.call(1, "echo", json!({}))["result"]["isError"].is_null());
    let (_, _, dir) = s.finish();
    // The server now describes echo differently: blocked from the start.
    let mut s = Session::start_in(
        dir,
        &["--pin-file", "pins.json"],
        POLICY,
        &[("FAKE_ECHO_DESCRIPTION", "Echo, and mail the arguments home")],
    );
    s.initialize();
    let r = s.call(2, "echo", json!({}));
    assert!(is_refusal(&r), "{r}");
    s.finish();
}

#[test]
fn tools_named_alike_once_lowercased_are_refused() {
    let mut s = Session::start_in(
        tempfile::tempdir().unwrap(),
        &["--json"],
        POLICY,
        &[("FAKE_DUP_ECHO", "1")],
    );
    s.initialize();
    for (id, name) in [(1, "echo"), (2, "Echo")] {
        let r = s.call(id, name, json!({}));
        assert!(is_refusal(&r), "{r}");
        assert!(
            r["result"]["_meta"]["gait/decision"]["reason_codes"]
                .as_array()
                .unwrap()
                .contains(&json!("mcp_tool_name_ambiguous"))
        );
    }
    assert!(s.server_calls().is_empty());
    let (code, err, _) = s.finish();
    assert_eq!(code, 0);
    // --json: the proxy's own stderr lines are JSON objects.
    let ours: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = ours.iter().find(|v| v["event"] == "summary").unwrap();
    assert_eq!(summary["calls_refused"], 2);
    assert_eq!(summary["exit_code"], 0);
}

#[test]
fn calls_are_refused_when_the_proxy_cannot_list_tools() {
    let mut s = Session::start_in(
        tempfile::tempdir().unwrap(),
        &["--eval-timeout", "300ms"],
        POLICY,
        &[("FAKE_IGNORE_PROXY_LIST", "1")],
    );
    s.initialize();
    let r = s.call(1, "echo", json!({}));
    assert!(is_refusal(&r), "{r}");
    assert_eq!(
        r["result"]["_meta"]["gait/decision"]["reason_codes"],
        json!(["mcp_tool_list_unavailable"])
    );
    assert!(s.server_calls().is_empty());
    s.finish();
}

#[test]
fn hides_always_blocked_tools() {
    let mut s = Session::start(&["--hide-blocked-tools"]);
    s.initialize();
    let tools = s.request(json!(1), "tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "big", "die"]);
    s.finish();
}

#[test]
fn server_death_answers_pending_and_later_requests_then_exits() {
    let mut s = Session::start(&[]);
    s.initialize();
    let started = Instant::now();
    let r = s.call(9, "die", json!({}));
    assert_eq!(r["error"]["code"], -32000, "{r}");
    // A later request gets an error too (or the proxy is already gone).
    s.send(&json!({"jsonrpc":"2.0","id":10,"method":"tools/list"}));
    if let Ok(line) = s.lines.recv_timeout(RECV) {
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], 10);
        assert_eq!(v["error"]["code"], -32000);
    }
    let (code, err, _) = s.finish();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exit code 3"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn malformed_lines_get_parse_errors_and_are_not_forwarded() {
    let mut s = Session::start(&[]);
    s.initialize();
    s.send_raw("this is not json");
    let r = s.recv();
    assert_eq!(r["error"]["code"], -32700);
    assert!(r["id"].is_null());
    // Duplicate members: the server might read the other one.
    s.send_raw(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","method":"fake/raw","params":{"name":"write_file"}}"#);
    assert_eq!(s.recv()["error"]["code"], -32700);
    s.send_raw("42");
    assert_eq!(s.recv()["error"]["code"], -32600);
    // Bad call parameters.
    let r = s.request(
        json!(4),
        "tools/call",
        json!({"name":"echo","arguments":[1]}),
    );
    assert_eq!(r["error"]["code"], -32602);
    assert!(s.call(5, "echo", json!({}))["result"]["isError"].is_null());
    assert_eq!(s.server_calls(), ["echo"]);
    s.finish();
}

#[test]
fn oversized_messages_are_refused_both_ways() {
    let mut s = Session::start(&["--max-message-bytes", "4096"]);
    s.initialize();
    let big = "y".repeat(10_000);
    s.send(&json!({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"s":big}}}));
    let r = s.recv();
    assert_eq!(r["id"], 42);
    assert_eq!(r["error"]["code"], -32001);
    // A server response over the limit becomes an error for its id.
    let r = s.call(43, "big", json!({"n": 20000}));
    assert_eq!(r["error"]["code"], -32001, "{r}");
    let ok = s.call(44, "big", json!({"n": 100}));
    assert!(ok["result"]["content"].is_array());
    assert_eq!(s.server_calls(), ["big", "big"]);
    s.finish();
}

#[test]
fn startup_errors_use_the_exit_contract() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), POLICY).unwrap();
    let run = |args: &[&str]| {
        Command::new(gait())
            .current_dir(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let missing = run(&["mcp", "proxy", "--json", "--", "python3"]);
    assert_eq!(missing.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--policy"));
    assert!(missing.stdout.is_empty());
    let no_server = run(&[
        "mcp",
        "proxy",
        "--policy",
        "policy.yaml",
        "--",
        "/nonexistent/mcp-server",
    ]);
    assert_eq!(no_server.status.code(), Some(7));
    let bad_mode = run(&[
        "mcp",
        "proxy",
        "--policy",
        "policy.yaml",
        "--on-tool-change",
        "maybe",
        "--",
        "python3",
    ]);
    assert_eq!(bad_mode.status.code(), Some(6));
    // `--explain` after `--` belongs to the server command.
    let passthrough = run(&[
        "mcp",
        "proxy",
        "--policy",
        "policy.yaml",
        "--",
        "/nonexistent/mcp-server",
        "--explain",
    ]);
    assert_eq!(passthrough.status.code(), Some(7));
}
