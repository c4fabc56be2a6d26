//! Arbitrary bytes and arbitrary JSON into the request path of `gait
//! serve` (the JSON value cap, `DecisionService::handle_request`, the
//! HTTP front end): no panic, bounded time, and only the two outcomes a
//! caller may see, a decision with its written trace or an error. The
//! cargo-fuzz target `fuzz/fuzz_targets/serve_request.rs` runs the same
//! check unbounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use gait_policy::{Gate, Policy};
use gait_serve::http::{HttpConfig, serve};
use gait_serve::{DecisionService, ServiceConfig, check_json_values};
use gait_sign::{SigningKey, Trace};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    priority: 1\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: writes\n    priority: 2\n    effect: require_approval\n    match:\n      tool_names: [tool.write]\n  - name: cel\n    priority: 3\n    effect: block\n    match:\n      when: \"size(intent.targets) > 2\"\n";

struct Fixture {
    service: Arc<DecisionService>,
    _dir: tempfile::TempDir,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());
    let key = SigningKey::<Trace>::generate().unwrap();
    let service = Arc::new(
        DecisionService::new(ServiceConfig::new(gate, key, dir.path().join("traces"))).unwrap(),
    );
    Fixture { service, _dir: dir }
});

/// One HTTP server for the whole file, with short timeouts so that an
/// incomplete request costs little.
static SERVER: LazyLock<SocketAddr> = LazyLock::new(|| {
    let service = Arc::clone(&FIXTURE.service);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let mut h = HttpConfig::default();
            h.header_timeout = Duration::from_millis(500);
            h.body_timeout = Duration::from_millis(500);
            h.max_request_bytes = 64 << 10;
            serve(
                listener,
                service,
                h,
                std::future::pending::<()>(),
                Duration::ZERO,
            )
            .await
            .unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
});

/// The number of values (and member names) of a JSON document.
fn values(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(values).sum(),
        Value::Object(m) => m.values().map(|x| 1 + values(x)).sum(),
        _ => 0,
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z.\\\\\"\\[\\]{},: ]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "tool.read",
            "tool.write",
            "tool.delete",
            "mcp",
            "openai",
            "low",
            "high",
            "/tmp/a"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop::sample::select(vec![
            "name",
            "args",
            "targets",
            "context",
            "identity",
            "workspace",
            "risk_class",
            "tool_name",
            "kind",
            "value",
            "path",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

/// A request of the serve shape around arbitrary JSON.
fn arb_request() -> impl Strategy<Value = Value> {
    let top = prop::sample::select(vec![
        "call",
        "intent",
        "adapter",
        "run_id",
        "session_id",
        "approval_tokens",
        "emit_runpack",
        "id",
        "unknown",
    ]);
    (
        arb_json(),
        prop::collection::vec((top, arb_json()), 0..3),
        prop::sample::select(vec!["tool.read", "tool.write", "tool.x"]),
    )
        .prop_map(|(args, extra, tool)| {
            let mut m = Map::new();
            m.insert(
                "call".into(),
                json!({"name": tool, "args": {"x": args},
                       "context": {"identity": "a", "workspace": "/w", "risk_class": "low"}}),
            );
            for (k, v) in extra {
                m.insert(k.to_owned(), v);
            }
            Value::Object(m)
        })
}

fn check_outcome(body: &[u8]) {
    match FIXTURE.service.handle_request(body) {
        Ok(eval) => {
            assert!(eval.trace_path.exists());
            assert_eq!(
                eval.output.get("verdict").and_then(Value::as_str),
                Some(eval.verdict.as_str())
            );
            assert_eq!(eval.exit_code == 0, eval.verdict.as_str() == "allow");
        }
        Err(e) => assert!(matches!(e.exit_code(), 1 | 6), "{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_request_handler(
        bytes in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        let _ = check_json_values(&bytes, 64);
        check_outcome(&bytes);
    }

    #[test]
    fn arbitrary_requests_decide_or_fail_cleanly(request in arb_request()) {
        let text = serde_json::to_vec(&request).unwrap();
        // The value cap counts exactly the values and member names.
        let n = values(&request);
        prop_assert!(check_json_values(&text, n).is_ok());
        prop_assert!(check_json_values(&text, n - 1).is_err());
        check_outcome(&text);
    }
}

/// Sends `request`, then (with `half_close`) ends the write side so that
/// an incomplete request costs no timeout, and reads until the server
/// closes.
fn exchange(addr: SocketAddr, request: &[u8], half_close: bool) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    if half_close {
        let _ = s.shutdown(Shutdown::Write);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn arb_http() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "", "POST POST"]);
    let path = prop::sample::select(vec![
        "/v1/evaluate",
        "/v1/evaluate/sse",
        "/v1/evaluate/stream",
        "/healthz",
        "/x",
        "*",
    ]);
    let header = prop::sample::select(vec![
        "Content-Type: application/json",
        "Content-Type: text/plain",
        "Transfer-Encoding: chunked",
        "Content-Length: 5",
        "Content-Length: -1",
        "Content-Length: 99999999999999999999",
        "Authorization: Bearer x",
        "Connection: close",
        "Expect: 100-continue",
        "X: \u{1}",
    ]);
    (
        method,
        path,
        prop::collection::vec(header, 0..4),
        prop::collection::vec(any::<u8>(), 0..256),
        arb_request(),
        any::<bool>(),
    )
        .prop_map(|(m, p, hs, noise, req, json_body)| {
            let body = if json_body {
                serde_json::to_vec(&req).unwrap()
            } else {
                noise
            };
            let mut out = format!("{m} {p} HTTP/1.1\r\nHost: x\r\n").into_bytes();
            for h in hs {
                out.extend_from_slice(h.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            out.extend_from_slice(&body);
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_http_requests_never_take_the_server_down(
        request in prop_oneof![arb_http(), prop::collection::vec(any::<u8>(), 0..512)]
    ) {
        let addr = *SERVER;
        let answer = exchange(addr, &request, true);
        // Whatever came back is HTTP or nothing.
        prop_assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 "));
        // And the server still decides.
        let ok = exchange(
            addr,
            b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 26\r\n\r\n{\"call\":{\"name\":\"tool.x\"}}",
            false,
        );
        prop_assert!(ok.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&ok));
    }
}

#[test]
fn stdio_refuses_lines_with_too_many_json_values() {
    let dense = format!(
        r#"{{"call":{{"name":"tool.read","args":{{"x":[{}0]}}}}}}"#,
        "0,".repeat(100)
    );
    let input = format!("{dense}\n{}\n", r#"{"call":{"name":"tool.read"}}"#);
    let mut out = Vec::new();
    let n = gait_serve::stdio::serve_lines_limited(
        &FIXTURE.service,
        input.as_bytes(),
        &mut out,
        1 << 20,
        64,
    )
    .unwrap();
    assert_eq!(n, 2);
    let lines: Vec<Value> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["exit_code"], 6);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("more than 64 JSON values"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["verdict"], "allow");
}
