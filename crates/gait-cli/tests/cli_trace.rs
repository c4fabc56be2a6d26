//! `gait trace verify` on reference-produced traces, run as a real process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-sign/tests/data")
        .join(name)
        .display()
        .to_string()
}

fn gait(args: &[&str]) -> (i32, Value) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_str(text.trim()).unwrap(),
    )
}

#[test]
fn verified_trace() {
    let (code, v) = gait(&[
        "trace",
        "verify",
        &data("trace_4.json"),
        "--public-key",
        &data("trace_public.key"),
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["signature_status"], "verified");
    assert_eq!(v["verdict"], "block");
    assert_eq!(v["trace_id"], "4b8166843510df512caff0d6");
    assert_eq!(
        v["key_id"],
        "6aad9a06285a50ae11ff11d27b684957540ae4e54dafd7ca0ab6868141894f9d"
    );
}

#[test]
fn failures_exit_2() {
    let (code, v) = gait(&[
        "trace",
        "verify",
        "--path",
        &data("trace_2.json"),
        "--public-key",
        &data("other_public.key"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    assert_eq!(v["signature_status"], "failed");
    assert_eq!(v["error_code"], "verification_failed");
    let (code, v) = gait(&[
        "trace",
        "verify",
        &data("trace_verdict_flipped.json"),
        "--public-key",
        &data("trace_public.key"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["verdict"], "allow");
}

#[test]
fn bad_input_exits_6() {
    for args in [
        vec!["trace", "verify", "--json"],
        vec![
            "trace",
            "verify",
            "missing.json",
            "--public-key",
            "x",
            "--json",
        ],
    ] {
        let (code, v) = gait(&args);
        assert_eq!(code, 6, "{args:?}");
        assert_eq!(v["error_code"], "invalid_input");
    }
    let t = data("trace_1.json");
    let (code, v) = gait(&["trace", "verify", &t, "--json"]);
    assert_eq!(code, 6);
    assert_eq!(v["error"], "public key not configured");
}
