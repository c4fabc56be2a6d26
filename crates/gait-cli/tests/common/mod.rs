//! Helpers shared by the CLI boundary tests: the binary, the fake MCP
//! server, output pumps and `gait serve` over HTTP on a loopback port.
//! Every wait is bounded.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: not every test file uses every helper; a failure should panic"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How long any single wait may take.
pub const RECV: Duration = Duration::from_secs(20);

pub fn gait_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gait")
}

pub fn fake_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fake_mcp_server.py")
}

/// Reads `r` to its end on a thread; the bytes arrive on the channel.
pub fn pump_all(mut r: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Reads `r` line by line on a thread.
pub fn pump_lines(r: impl Read + Send + 'static) -> Receiver<String> {
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

/// Starts `gait <args>` (a `serve --listen 127.0.0.1:0 …` command) in
/// `dir`, POSTs each body to `/v1/evaluate` on its own connection, then
/// stops the server with SIGTERM. Returns each response's status and body,
/// and the server's exit status.
pub fn serve_http(
    dir: &Path,
    args: &[String],
    bodies: &[String],
) -> (Vec<(u16, String)>, ExitStatus) {
    let mut child = Command::new(gait_bin())
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = pump_lines(child.stdout.take().unwrap());
    let first = lines.recv_timeout(RECV).unwrap_or_else(|_| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve did not report its address in time");
    });
    let addr = first
        .split("listening=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let mut out = Vec::new();
    for body in bodies {
        let (status, body) = post_evaluate(&addr, body);
        out.push((status, body));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..400 {
        if let Some(status) = child.try_wait().unwrap() {
            return (out, status);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("serve did not stop on SIGTERM");
}

/// POSTs `body` to `/v1/evaluate` at `addr` on its own connection; returns
/// the status and the trimmed response body.
#[allow(dead_code, reason = "not every test file uses every helper")]
pub fn post_evaluate(addr: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(RECV)).unwrap();
    s.set_write_timeout(Some(RECV)).unwrap();
    s.write_all(
        format!(
            "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_owned();
    (status, body)
}

/// Runs the binary in `dir` with `args` (HOME pointed at `dir`, so no
/// user configuration leaks in) and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(gait_bin())
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .unwrap()
}

/// The one line of JSON a `--json` command printed.
pub fn json_line(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

/// The exit code (a signal is a test failure).
pub fn exit_code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap()
}
