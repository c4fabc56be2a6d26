//! The HTTP front end on loopback: statuses, limits, auth, faults, load,
//! shutdown, and traces that must exist before any decision is returned.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gait_policy::{Gate, Policy};
use gait_serve::http::{HttpConfig, VerdictStatus, serve};
use gait_serve::{DecisionService, ServiceConfig};
use gait_sign::{SigningKey, Trace, VerifyingKey};
use gait_trace::{SignatureStatus, verify_trace_bytes};
use serde_json::Value;

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    priority: 1\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: writes\n    priority: 2\n    effect: require_approval\n    match:\n      tool_names: [tool.write]\n";

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    public: VerifyingKey<Trace>,
    _dir: tempfile::TempDir,
    trace_dir: std::path::PathBuf,
}

impl Server {
    fn start(http: HttpConfig) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let trace_dir = dir.path().join("traces");
        let key = SigningKey::<Trace>::generate().unwrap();
        let public = key.verifying_key().clone();
        let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());
        let service =
            Arc::new(DecisionService::new(ServiceConfig::new(gate, key, &trace_dir)).unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (atx, arx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                atx.send(listener.local_addr().unwrap()).unwrap();
                serve(
                    listener,
                    service,
                    http,
                    async {
                        let _ = rx.await;
                    },
                    Duration::from_secs(2),
                )
                .await
                .unwrap();
            });
        });
        let addr = arx.recv_timeout(Duration::from_secs(10)).unwrap();
        Server {
            addr,
            stop: Some(tx),
            thread: Some(thread),
            public,
            _dir: dir,
            trace_dir,
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends raw bytes, reads one response: (status, body JSON or Null).
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    read_response(&mut BufReader::new(s))
}

fn read_response(r: &mut impl BufRead) -> (u16, Value) {
    let mut status_line = String::new();
    r.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn post(addr: SocketAddr, path: &str, body: &str, extra: &str) -> (u16, Value) {
    raw(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

fn call(tool: &str) -> String {
    format!(
        r#"{{"call":{{"name":"{tool}","args":{{"path":"/tmp/a"}},"context":{{"identity":"alice","workspace":"/w","risk_class":"low"}}}}}}"#
    )
}

fn strict() -> HttpConfig {
    let mut h = HttpConfig::default();
    h.verdict_status = VerdictStatus::Strict;
    h
}

fn verify_file(path: &Path, key: &VerifyingKey<Trace>) {
    let bytes = std::fs::read(path).unwrap();
    let report = verify_trace_bytes(&bytes, key).unwrap();
    assert_eq!(report.status, SignatureStatus::Verified);
}

#[test]
fn health_routes_and_methods() {
    let s = Server::start(HttpConfig::default());
    let (st, body) = raw(
        s.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(post(s.addr, "/healthz", "{}", "").0, 405);
    assert_eq!(
        raw(
            s.addr,
            b"GET /v1/evaluate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .0,
        405
    );
    assert_eq!(post(s.addr, "/nope", "{}", "").0, 404);
}

#[test]
fn strict_and_compat_statuses_with_verified_traces() {
    let s = Server::start(strict());
    let (st, body) = post(s.addr, "/v1/evaluate", &call("tool.read"), "");
    assert_eq!(st, 200);
    assert_eq!(body["verdict"], "allow");
    assert_eq!(body["exit_code"], 0);
    verify_file(Path::new(body["trace_path"].as_str().unwrap()), &s.public);
    let (st, body) = post(s.addr, "/v1/evaluate", &call("tool.delete"), "");
    assert_eq!(
        (st, body["verdict"].as_str(), body["exit_code"].as_u64()),
        (403, Some("block"), Some(3))
    );
    let (st, body) = post(s.addr, "/v1/evaluate", &call("tool.write"), "");
    assert_eq!((st, body["exit_code"].as_u64()), (409, Some(4)));
    // Other framings.
    let (st, _) = post(s.addr, "/v1/evaluate/stream", &call("tool.read"), "");
    assert_eq!(st, 200);

    let c = Server::start(HttpConfig::default());
    let (st, body) = post(c.addr, "/v1/evaluate", &call("tool.delete"), "");
    assert_eq!((st, body["verdict"].as_str()), (200, Some("block")));
}

#[test]
fn malformed_oversized_and_unsupported_requests() {
    let mut h = strict();
    h.max_request_bytes = 2048;
    let s = Server::start(h);
    for bad in [
        "{",
        "[]",
        r#"{"call":{"name":"tool.read"},"surprise":1}"#,
        r#"{"call":{}}"#,
        r#"{"call":{"name":"tool.read"},"intent":{}}"#,
        r#"{"call":{"name":"tool.read"},"trace_path":"/tmp/x.json"}"#,
        r#"{"call":{"name":"tool.read"},"adapter":"gemini"}"#,
        r#"{"intent":{"tool_name":""}}"#,
    ] {
        let (st, body) = post(s.addr, "/v1/evaluate", bad, "");
        assert_eq!(st, 400, "{bad}: {body}");
        assert_eq!(body["ok"], false);
        assert!(body.get("verdict").is_none());
    }
    let big = format!(
        r#"{{"call":{{"name":"tool.read","args":{{"x":"{}"}}}}}}"#,
        "a".repeat(4096)
    );
    assert_eq!(post(s.addr, "/v1/evaluate", &big, "").0, 413);
    // Chunked, no declared length: the cap still applies.
    let chunk = "a".repeat(3000);
    let req = format!(
        "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    assert_eq!(raw(s.addr, req.as_bytes()).0, 413);
    let (st, _) = raw(
        s.addr,
        b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(st, 415);
    // Garbage instead of HTTP: the connection ends, the server lives.
    let mut g = connect(s.addr);
    g.write_all(b"\x00\x01\x02 not http\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    let _ = g.read_to_end(&mut sink);
    assert_eq!(post(s.addr, "/v1/evaluate", &call("tool.read"), "").0, 200);
}

#[test]
fn token_auth() {
    let mut h = strict();
    h.auth_token = Some("s3cret-token".into());
    let s = Server::start(h);
    assert_eq!(post(s.addr, "/v1/evaluate", &call("tool.read"), "").0, 401);
    assert_eq!(
        post(
            s.addr,
            "/v1/evaluate",
            &call("tool.read"),
            "Authorization: Bearer nope\r\n"
        )
        .0,
        401
    );
    assert_eq!(
        post(
            s.addr,
            "/v1/evaluate",
            &call("tool.read"),
            "Authorization: Bearer s3cret-token\r\n"
        )
        .0,
        200
    );
}

#[test]
fn client_disconnecting_mid_request_does_not_hurt_the_server() {
    let s = Server::start(strict());
    for _ in 0..20 {
        let mut c = connect(s.addr);
        c.write_all(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"call\":")
            .unwrap();
        drop(c);
        let mut c = connect(s.addr);
        c.write_all(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        drop(c);
    }
    // A complete request whose client leaves before the answer: it may be
    // dropped before evaluation starts (nothing decided) or decided in
    // full; either way every trace on disk is complete and verifies.
    let before = std::fs::read_dir(&s.trace_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    let body = call("tool.read");
    let mut c = connect(s.addr);
    c.write_all(
        format!(
            "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    drop(c);
    let (st, _) = post(s.addr, "/v1/evaluate", &call("tool.read"), "");
    assert_eq!(st, 200);
    std::thread::sleep(Duration::from_millis(200));
    let files: Vec<_> = std::fs::read_dir(&s.trace_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        (before + 1..=before + 2).contains(&files.len()),
        "{}",
        files.len()
    );
    for f in files {
        verify_file(&f, &s.public);
    }
}

#[test]
fn concurrent_keep_alive_load() {
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 150;
    let s = Server::start(strict());
    let addr = s.addr;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let stream = connect(addr);
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                let mut verdicts = Vec::new();
                for n in 0..PER_CLIENT {
                    let tool = if (i + n) % 3 == 0 { "tool.delete" } else { "tool.read" };
                    let body = call(tool);
                    w.write_all(
                        format!(
                            "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .unwrap();
                    let (st, v) = read_response(&mut r);
                    verdicts.push((tool, st, v["verdict"].as_str().unwrap_or("").to_owned()));
                }
                verdicts
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        for (tool, st, verdict) in h.join().unwrap() {
            total += 1;
            match tool {
                "tool.read" => assert_eq!((st, verdict.as_str()), (200, "allow")),
                _ => assert_eq!((st, verdict.as_str()), (403, "block")),
            }
        }
    }
    assert_eq!(total, CLIENTS * PER_CLIENT);
    // One trace per decision, each a distinct file.
    assert_eq!(std::fs::read_dir(&s.trace_dir).unwrap().count(), total);
}

#[test]
fn no_decision_without_a_written_trace() {
    let mut s = Server::start(strict());
    // Make the trace directory unusable (even for root): replace it with
    // a regular file.
    std::fs::remove_dir_all(&s.trace_dir).unwrap();
    std::fs::write(&s.trace_dir, b"not a directory").unwrap();
    for tool in ["tool.read", "tool.delete", "tool.write"] {
        for _ in 0..10 {
            let (st, body) = post(s.addr, "/v1/evaluate", &call(tool), "");
            assert_eq!(st, 500, "{body}");
            assert_eq!(body["ok"], false);
            // As the reference: the status carries the class, the body
            // has no verdict and no exit code.
            assert!(body.get("exit_code").is_none(), "{body}");
            assert!(body.get("verdict").is_none(), "{body}");
            assert!(body["error"].as_str().unwrap().contains("write trace"));
        }
    }
    s.stop();
}

#[test]
fn graceful_shutdown_finishes_and_stops_accepting() {
    let mut s = Server::start(strict());
    assert_eq!(post(s.addr, "/v1/evaluate", &call("tool.read"), "").0, 200);
    let addr = s.addr;
    s.stop();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn slow_bodies_time_out_and_connections_are_bounded() {
    let mut h = strict();
    h.body_timeout = Duration::from_millis(300);
    h.max_connections = 2;
    let s = Server::start(h);
    // A body that never arrives: 408 after the timeout.
    let mut c = connect(s.addr);
    c.write_all(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    let (st, _) = read_response(&mut BufReader::new(c));
    assert_eq!(st, 408);
    // Two idle connections hold both slots; a third client waits until
    // one of them goes away, then is served.
    let a = connect(s.addr);
    let b = connect(s.addr);
    std::thread::sleep(Duration::from_millis(100));
    let addr = s.addr;
    let waiter = std::thread::spawn(move || post(addr, "/v1/evaluate", &call("tool.read"), "").0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished());
    drop(a);
    drop(b);
    assert_eq!(waiter.join().unwrap(), 200);
}

#[test]
fn ambiguous_requests_are_refused_with_400() {
    let s = Server::start(strict());
    let ctx = r#""context":{"identity":"alice","workspace":"/w","risk_class":"low"}"#;
    for (bad, needles) in [
        // The adapter reads `name`, Go-style decoding `NAME`.
        (
            format!(r#"{{"call":{{"name":"tool.write","NAME":"tool.read",{ctx}}}}}"#),
            &["\"name\"", "\"NAME\""][..],
        ),
        (
            format!(
                r#"{{"call":{{"name":"tool.read","args":{{"path":"/tmp/a","Path":"/etc/shadow"}},{ctx}}}}}"#
            ),
            &["args:", "\"Path\""][..],
        ),
        (
            format!(
                r#"{{"call":{{"name":"tool.read","args":{{"to_account":12345678901234567}},{ctx}}}}}"#
            ),
            &["args.to_account", "12345678901234567"][..],
        ),
        (
            format!(r#"{{"intent":{{"tool_name":"tool.write","TOOL_NAME":"tool.read",{ctx}}}}}"#),
            &["\"TOOL_NAME\""][..],
        ),
        (
            format!(
                r#"{{"intent":{{"tool_name":"tool.read","args":{{"to_account":12345678901234568}},{ctx}}}}}"#
            ),
            &["args.to_account"][..],
        ),
        // Beyond u64 the parsed value holds a double: found in the text.
        (
            format!(
                r#"{{"call":{{"name":"tool.read","args":{{"n":-123456789012345678901234}},{ctx}}}}}"#
            ),
            &["call.args.n", "-123456789012345678901234"][..],
        ),
    ] {
        let (st, body) = post(s.addr, "/v1/evaluate", &bad, "");
        assert_eq!(st, 400, "{bad}: {body}");
        assert_eq!(body["ok"], false);
        assert!(body.get("verdict").is_none(), "{body}");
        let error = body["error"].as_str().unwrap();
        for needle in needles {
            assert!(error.contains(needle), "{needle} not in {error}");
        }
    }
    // No decision, so no trace.
    assert!(
        std::fs::read_dir(&s.trace_dir)
            .map(|d| d.count() == 0)
            .unwrap_or(true)
    );
}

/// Sends `request` and reads until the server closes: (status line and
/// headers lowercased, body text).
fn raw_close(addr: SocketAddr, request: &[u8]) -> (String, String) {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_ascii_lowercase(), body.to_owned())
}

/// A client that sends its headers and the first byte of a body that
/// never comes.
fn stalled_body(addr: SocketAddr) -> Option<TcpStream> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.write_all(
        b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .ok()?;
    Some(s)
}

#[test]
fn slow_clients_cannot_hold_every_slot() {
    // 300 clients stall in their bodies; every one of the 32 slots is
    // taken. On a server where a stalled body keeps its slot until the
    // body timeout (30 s), the normal client below waits that long.
    let mut h = strict();
    h.max_connections = 32;
    let s = Server::start(h);
    let slow: Vec<TcpStream> = (0..300).filter_map(|_| stalled_body(s.addr)).collect();
    assert!(slow.len() > 32, "{}", slow.len());
    // Let the clients that found no slot give up (2 s), and every slot
    // holder become "long waiting" (1 s).
    std::thread::sleep(Duration::from_millis(2500));
    let started = std::time::Instant::now();
    let (st, body) = post(s.addr, "/v1/evaluate", &call("tool.read"), "");
    let took = started.elapsed();
    assert_eq!(
        (st, body["verdict"].as_str()),
        (200, Some("allow")),
        "{body}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(slow);
}

#[test]
fn body_slower_than_the_minimum_rate_is_cut_off() {
    let mut h = strict();
    h.body_grace = Duration::from_millis(500);
    h.min_body_rate = 1024;
    let s = Server::start(h);
    let mut c = connect(s.addr);
    c.write_all(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let mut w = c.try_clone().unwrap();
    // 10 bytes every 200 ms (50 B/s), for at most 10 s.
    let dripper = std::thread::spawn(move || {
        for _ in 0..50 {
            if w.write_all(b"          ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let (st, _) = read_response(&mut BufReader::new(c));
    assert_eq!(st, 408);
    assert!(started.elapsed() < Duration::from_secs(5));
    dripper.join().unwrap();
}

#[test]
fn clients_that_find_every_slot_busy_get_503_with_retry_after() {
    let mut h = strict();
    h.max_connections = 2;
    h.evict_after = Duration::from_secs(60);
    h.queue_timeout = Duration::from_millis(300);
    let s = Server::start(h);
    let a = connect(s.addr);
    let b = connect(s.addr);
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let (head, body) = raw_close(
        s.addr,
        format!(
            "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            call("tool.read").len(),
            call("tool.read")
        )
        .as_bytes(),
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(head.contains("\r\nretry-after: 1"), "{head}");
    assert!(body.contains("server busy"), "{body}");
    // Once a slot frees, clients are served again.
    drop(a);
    drop(b);
    assert_eq!(
        until(
            || post(s.addr, "/v1/evaluate", &call("tool.read"), "").0,
            200
        ),
        200
    );
}

/// Calls `f` until it returns `want` (at most 5 s, every 100 ms); returns
/// the last result.
fn until<T: PartialEq>(mut f: impl FnMut() -> T, want: T) -> T {
    let started = std::time::Instant::now();
    loop {
        let got = f();
        if got == want || started.elapsed() > Duration::from_secs(5) {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn request_bodies_in_flight_share_one_budget() {
    let mut h = strict();
    h.max_request_bytes = 128 << 10;
    h.max_inflight_body_bytes = 128 << 10;
    let s = Server::start(h);
    // A client that has sent 100 KB of a 120 KB body and stalls: its
    // buffer holds most of the budget.
    let stalled = || {
        let mut a = connect(s.addr);
        a.write_all(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 120000\r\n\r\n")
            .unwrap();
        a.write_all(&vec![b' '; 100_000]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        a
    };
    let big = format!(
        r#"{{"call":{{"name":"tool.read","args":{{"x":"{}"}}}}}}"#,
        "a".repeat(20_000)
    );
    let big_request = format!(
        "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    );
    // On a loaded machine the server may not have read the stalled
    // client's bytes yet (then the 20 KB request is served, and the
    // stalled one may be the one refused): start over, for at most 10 s.
    let started = std::time::Instant::now();
    let (a, head, body) = loop {
        let a = stalled();
        let (head, body) = raw_close(s.addr, big_request.as_bytes());
        if head.starts_with("http/1.1 503") || started.elapsed() > Duration::from_secs(10) {
            break (a, head, body);
        }
    };
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(head.contains("\r\nretry-after: 1"), "{head}");
    assert!(body.contains("request bodies in flight"), "{body}");
    // Small requests still fit beside it; and once it leaves, the big one.
    assert_eq!(post(s.addr, "/v1/evaluate", &call("tool.read"), "").0, 200);
    drop(a);
    assert_eq!(until(|| post(s.addr, "/v1/evaluate", &big, "").0, 200), 200);
}

#[test]
fn requests_with_too_many_json_values_are_refused_before_evaluation() {
    let mut h = strict();
    h.max_request_values = 1000;
    let s = Server::start(h);
    let dense = format!(
        r#"{{"call":{{"name":"tool.read","args":{{"x":[{}0]}}}}}}"#,
        "0,".repeat(1000)
    );
    let (st, body) = post(s.addr, "/v1/evaluate", &dense, "");
    assert_eq!(st, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("more than 1000 JSON values"),
        "{body}"
    );
    assert!(body.get("verdict").is_none());
    assert_eq!(
        std::fs::read_dir(&s.trace_dir)
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    let fits = format!(
        r#"{{"call":{{"name":"tool.read","args":{{"x":[{}0]}}}}}}"#,
        "0,".repeat(900)
    );
    assert_eq!(post(s.addr, "/v1/evaluate", &fits, "").0, 200);
}
