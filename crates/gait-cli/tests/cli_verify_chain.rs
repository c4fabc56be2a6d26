//! `gait verify chain` and `gait verify session-chain`, run as a real
//! process in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use gait_digest::GoTime;
use gait_pack::runpack::{RunRecorder, SessionChain, demo_input};
use serde_json::Value;

fn sign_data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-sign/tests/data")
        .join(name)
        .display()
        .to_string()
}

fn pack_data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-pack/tests/data")
        .join(name)
        .display()
        .to_string()
}

fn gait(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn gait_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, text) = gait(dir, args);
    (code, serde_json::from_str(text.trim()).unwrap())
}

fn demo_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = gait(dir.path(), &["demo", "--json"]);
    assert_eq!(code, 0);
    dir
}

#[test]
fn chain_of_runpack_trace_and_pack() {
    let dir = demo_dir();
    let key = sign_data("trace_public.key");
    let trace = sign_data("trace_4.json");
    let pack = pack_data("pack_run_demo_signed.zip");
    let (code, v) = gait_json(
        dir.path(),
        &[
            "verify",
            "chain",
            "--run",
            "run_demo",
            "--trace",
            &trace,
            "--pack",
            &pack,
            "--public-key",
            &key,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["run"]["ok"], true);
    assert_eq!(v["run"]["run_id"], "run_demo");
    assert_eq!(v["trace"]["signature_status"], "verified");
    assert_eq!(v["trace"]["verdict"], "block");
    assert_eq!(v["pack"]["signature_status"], "verified");
    assert_eq!(v["pack"]["run_id"], "run_demo");

    // Text mode.
    let (code, text) = gait(dir.path(), &["verify", "chain", "--run", "run_demo"]);
    assert_eq!(code, 0);
    assert!(text.starts_with("verify chain: ok\nrunpack: "), "{text}");
}

#[test]
fn chain_fails_on_any_part() {
    let dir = demo_dir();
    let trace = sign_data("trace_4.json");
    // The wrong key: the trace and the signed pack fail.
    let (code, v) = gait_json(
        dir.path(),
        &[
            "verify",
            "chain",
            "--run",
            "run_demo",
            "--trace",
            &trace,
            "--pack",
            &pack_data("pack_run_demo_signed.zip"),
            "--public-key",
            &sign_data("other_public.key"),
            "--json",
        ],
    );
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["trace"]["ok"], false);
    assert_eq!(v["pack"]["ok"], false);

    // A tampered pack alone fails the chain.
    let (code, v) = gait_json(
        dir.path(),
        &[
            "verify",
            "chain",
            "--run",
            "run_demo",
            "--pack",
            &pack_data("tampered/pack_payload_modified.zip"),
            "--json",
        ],
    );
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["run"]["ok"], true);
    assert_eq!(v["pack"]["ok"], false);

    // Strict demands signatures: the demo runpack is unsigned.
    let (code, v) = gait_json(
        dir.path(),
        &[
            "verify",
            "chain",
            "--run",
            "run_demo",
            "--profile",
            "strict",
            "--public-key",
            &sign_data("trace_public.key"),
            "--json",
        ],
    );
    assert_eq!(code, 2, "{v}");
}

#[test]
fn chain_bad_input_exits_6() {
    let dir = demo_dir();
    let trace = sign_data("trace_4.json");
    for args in [
        vec!["verify", "chain", "--json"],
        vec!["verify", "chain", "--run", "run_demo", "extra", "--json"],
        // A trace needs a key.
        vec![
            "verify", "chain", "--run", "run_demo", "--trace", &trace, "--json",
        ],
        vec![
            "verify",
            "chain",
            "--run",
            "run_demo",
            "--profile",
            "strict",
            "--json",
        ],
        vec![
            "verify",
            "chain",
            "--run",
            "run_demo",
            "--profile",
            "odd",
            "--json",
        ],
        vec!["verify", "chain", "--run", "./nope/runpack_x.zip", "--json"],
    ] {
        let (code, v) = gait_json(dir.path(), &args);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert_eq!(v["ok"], false);
        assert!(v["run"].is_object(), "{args:?}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

/// Writes a two-checkpoint chain (and its runpacks) into `dir`.
fn write_chain(dir: &Path) -> SessionChain {
    let mut chain = SessionChain::new(
        "sess_cli",
        "run_cli",
        "0.0.0-dev",
        GoTime::from_unix(1_770_249_600, 0),
    );
    for n in 1..=2_i64 {
        let mut input = demo_input("0.0.0-dev");
        let id = format!("run_cli_cp_{n:04}");
        input.run.run_id.clone_from(&id);
        for i in &mut input.intents {
            i.run_id.clone_from(&id);
        }
        for r in &mut input.results {
            r.run_id.clone_from(&id);
        }
        input.refs.run_id.clone_from(&id);
        let rec = RunRecorder::new(input).record().unwrap();
        let name = format!("gait-out/runpack_{id}.zip");
        std::fs::create_dir_all(dir.join("gait-out")).unwrap();
        std::fs::write(dir.join(&name), &rec.zip).unwrap();
        chain.push_checkpoint(
            &name,
            &rec.manifest.manifest_digest,
            (n - 1) * 2 + 1,
            n * 2,
            GoTime::from_unix(1_770_249_600 + n, 0),
        );
    }
    std::fs::write(dir.join("sess_chain.json"), chain.to_json_bytes().unwrap()).unwrap();
    chain
}

#[test]
fn session_chain_verifies_and_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let chain = write_chain(dir.path());
    let (code, v) = gait_json(
        dir.path(),
        &[
            "verify",
            "session-chain",
            "--chain",
            "sess_chain.json",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["session_id"], "sess_cli");
    assert_eq!(v["run_id"], "run_cli");
    assert_eq!(v["checkpoints_checked"], 2);
    assert!(v.get("linkage_errors").is_none());

    // Positional form and text output.
    let (code, text) = gait(dir.path(), &["verify", "session-chain", "sess_chain.json"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("verify session-chain: ok (sess_chain.json)"),
        "{text}"
    );
    assert!(text.contains("session=sess_cli run=run_cli checkpoints=2"));

    // A relinked chain: checkpoint 2's runpack swapped for checkpoint 1's.
    let mut bad = chain.clone();
    bad.checkpoints[1]
        .runpack_path
        .clone_from(&chain.checkpoints[0].runpack_path);
    std::fs::write(dir.path().join("bad.json"), bad.to_json_bytes().unwrap()).unwrap();
    let (code, v) = gait_json(
        dir.path(),
        &["verify", "session-chain", "--chain", "bad.json", "--json"],
    );
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false);
    assert!(
        v["checkpoint_errors"][0]
            .as_str()
            .unwrap()
            .contains("manifest digest mismatch")
    );

    // A digest edited by hand.
    let text = String::from_utf8(chain.to_json_bytes().unwrap()).unwrap();
    let edited = text.replace("\"sequence_end\": 4", "\"sequence_end\": 5");
    assert_ne!(edited, text);
    std::fs::write(dir.path().join("edited.json"), edited).unwrap();
    let (code, v) = gait_json(
        dir.path(),
        &["verify", "session-chain", "edited.json", "--json"],
    );
    assert_eq!(code, 2, "{v}");
    assert!(
        v["linkage_errors"][0]
            .as_str()
            .unwrap()
            .contains("checkpoint_digest mismatch")
    );
}

#[test]
fn session_chain_bad_input_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    write_chain(dir.path());
    std::fs::write(dir.path().join("junk.json"), "{\"checkpoints\":").unwrap();
    for args in [
        vec!["verify", "session-chain", "--json"],
        vec!["verify", "session-chain", "a.json", "b.json", "--json"],
        vec![
            "verify",
            "session-chain",
            "--chain",
            "absent.json",
            "--json",
        ],
        vec!["verify", "session-chain", "--chain", "junk.json", "--json"],
        vec![
            "verify",
            "session-chain",
            "--chain",
            "sess_chain.json",
            "--profile",
            "strict",
            "--json",
        ],
    ] {
        let (code, v) = gait_json(dir.path(), &args);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert_eq!(v["ok"], false);
    }
}

#[test]
fn run_diff_of_two_session_chains() {
    let dir = tempfile::tempdir().unwrap();
    let chain = write_chain(dir.path());
    std::fs::write(dir.path().join("same.json"), chain.to_json_bytes().unwrap()).unwrap();
    let (code, v) = gait_json(
        dir.path(),
        &["run", "diff", "sess_chain.json", "same.json", "--json"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["summary"]["run_id_left"], "run_cli");

    // One checkpoint changed, one only on the left.
    let mut other = chain.clone();
    other.checkpoints.truncate(1);
    other.checkpoints[0].checkpoint_digest = "0".repeat(64);
    std::fs::write(
        dir.path().join("other.json"),
        other.to_json_bytes().unwrap(),
    )
    .unwrap();
    let (code, v) = gait_json(
        dir.path(),
        &["run", "diff", "sess_chain.json", "other.json", "--json"],
    );
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(
        v["summary"]["files_changed"],
        serde_json::json!(["checkpoint_1", "left_only_checkpoint_2"])
    );
    assert_eq!(v["summary"]["manifest_changed"], true);
}
