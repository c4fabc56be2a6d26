//! `gait verify`, `gait run record|inspect` and `gait demo`, run as a real
//! process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn pack_data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-pack/tests/data")
        .join(name)
        .display()
        .to_string()
}

fn key(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-sign/tests/data")
        .join(name)
        .display()
        .to_string()
}

fn gait_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json_in(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, out, _) = gait_in(dir, args);
    (code, serde_json::from_str(out.trim()).unwrap())
}

fn json(args: &[&str]) -> (i32, Value) {
    json_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

const DEMO_DIGEST: &str = "436474ad70446539c909ae85bcc156d30197ba68efb8debdaed4f5d2eef2922e";
const TCK_DIGEST: &str = "145318df409e6cd34adc043ee5949a26d299007ce7e633d35a7db25cac092af7";

#[test]
fn verify_reference_runpacks() {
    let (code, v) = json(&["verify", &pack_data("runpack_run_demo.zip"), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["run_id"], "run_demo");
    assert_eq!(v["files_checked"], 4);
    assert_eq!(v["manifest_digest"], DEMO_DIGEST);
    assert_eq!(v["signature_status"], "missing");
    assert_eq!(
        v["signature_note"],
        "unsigned local/dev artifacts are expected by default; use --require-signature for strict verification"
    );
    assert_eq!(
        v["next_commands"][0],
        "gait regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml"
    );
    assert!(v.get("signatures_total").is_none());
    assert!(v.get("missing_files").is_none());

    let signed = pack_data("runpack_run_tck_signed.zip");
    let (code, v) = json(&[
        "verify",
        "--profile",
        "strict",
        &signed,
        "--public-key",
        &key("trace_public.key"),
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["signature_status"], "verified");
    assert_eq!(v["signatures_total"], 1);
    assert_eq!(v["signatures_valid"], 1);
    assert_eq!(v["signature_note"], "signatures verified");
    assert_eq!(v["manifest_digest"], TCK_DIGEST);

    let (code, v) = json(&[
        "verify",
        &signed,
        "--require-signature",
        "--public-key",
        &key("other_public.key"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    assert_eq!(v["signature_status"], "failed");
    assert_eq!(v["signature_errors"][0], "key id mismatch");
    assert!(v.get("signatures_valid").is_none());

    let (code, v) = json(&["verify", &signed, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["signature_status"], "skipped");
    assert_eq!(
        v["signature_note"],
        "signature checks were skipped because no verify key was provided"
    );

    let (code, v) = json(&[
        "verify",
        &pack_data("runpack_run_tck_unsigned.zip"),
        "--require-signature",
        "--public-key",
        &key("trace_public.key"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["signature_errors"][0], "manifest has no signatures");
}

#[test]
fn verify_tampered_runpacks() {
    let (code, v) = json(&[
        "verify",
        &pack_data("tampered/runpack_duplicate_entry.zip"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_code"], "verification_failed");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("zip contains duplicate entries")
    );

    let (code, v) = json(&[
        "verify",
        &pack_data("tampered/runpack_file_dropped_from_manifest.zip"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["files_checked"], 3);
    assert_eq!(v["missing_files"], serde_json::json!(["results.jsonl"]));
    assert_eq!(v["hash_mismatches"][0]["path"], "manifest.json");

    let (code, v) = json(&[
        "verify",
        &pack_data("tampered/runpack_undeclared_extra.zip"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    assert!(
        v["undeclared_files"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );

    let (code, v) = json(&[
        "verify",
        &pack_data("tampered/runpack_signed_content_modified.zip"),
        "--public-key",
        &key("trace_public.key"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["signature_status"], "verified");
    assert_eq!(v["hash_mismatches"][0]["path"], "refs.json");
}

#[test]
fn verify_usage_errors() {
    let demo = pack_data("runpack_run_demo.zip");
    for args in [
        vec!["verify", "--json"],
        vec!["verify", "--profile", "paranoid", demo.as_str(), "--json"],
        vec!["verify", "--profile", "strict", demo.as_str(), "--json"],
        vec!["verify", "missing/runpack.zip", "--json"],
        vec!["verify", "run_nowhere", "--json"],
        vec!["verify", demo.as_str(), "--no-such-flag", "--json"],
    ] {
        let (code, v) = json(&args);
        assert_eq!(code, 6, "{args:?}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error_code"], "invalid_input");
    }
    let (_, v) = json(&["verify", "missing/runpack.zip", "--json"]);
    assert_eq!(v["error"], "runpack not found: missing/runpack.zip");
}

#[test]
fn demo_then_verify_by_run_id() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = json_in(dir.path(), &["demo", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["mode"], "standard");
    assert_eq!(v["run_id"], "run_demo");
    assert_eq!(v["bundle"], "./gait-out/runpack_run_demo.zip");
    assert_eq!(v["verify"], "ok");
    assert_eq!(v["next_commands"][0], "gait verify run_demo --json");
    assert_eq!(
        v["metrics_opt_in"],
        "export GAIT_ADOPTION_LOG=./gait-out/adoption.jsonl"
    );
    let footer = v["ticket_footer"].as_str().unwrap();
    assert!(
        gait_pack::runpack::ticket_footer_matches(footer),
        "{footer}"
    );
    let zip = dir.path().join("gait-out/runpack_run_demo.zip");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&zip).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The demo records this build's version; the rest is the reference's run.
    let pack = gait_pack::runpack::read_runpack(&zip).unwrap();
    assert_eq!(pack.run.producer_version, env!("CARGO_PKG_VERSION"));
    let (code, v) = json_in(dir.path(), &["verify", "run_demo", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["path"], "gait-out/runpack_run_demo.zip");
    assert!(footer.contains(v["manifest_digest"].as_str().unwrap()));

    // Running it again replaces the runpack.
    let (code, text, _) = gait_in(dir.path(), &["demo"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with("mode=standard\nrun_id=run_demo\n"),
        "{text}"
    );
    assert!(text.contains("\nverify=ok\n"));
}

const INPUT: &str = r#"{
  "Run": {"run_id": "run_cli", "created_at": "2026-02-14T00:00:00Z"},
  "intents": [{"intent_id": "intent_1", "tool_name": "echo", "args": {"message": "hi"}}],
  "results": [{"intent_id": "intent_1", "status": "ok", "result": {"verdict": "allow", "reason_codes": ["b", "a", "a"]}}],
  "refs": {"receipts": [{"ref_id": "trace_intent_1", "source_type": "gait.trace", "source_locator": "trace.json", "redaction_mode": "reference"}]}
}"#;

#[test]
fn record_inspect_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), INPUT).unwrap();
    let (code, v) = json_in(dir.path(), &["run", "record", "input.json", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["run_id"], "run_cli");
    assert_eq!(v["bundle"], "./gait-out/runpack_run_cli.zip");
    assert_eq!(v["signature_status"], "missing");
    assert_eq!(
        v["warnings"],
        serde_json::json!([gait_pack::runpack::REFERENCE_STRIP_WARNING])
    );
    assert!(gait_pack::runpack::ticket_footer_matches(
        v["ticket_footer"].as_str().unwrap()
    ));

    // Raw capture keeps the payloads; inspect shows the result's verdict.
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "record",
            "--input",
            "input.json",
            "--capture-mode",
            "raw",
            "--run-id",
            "run_raw",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["warnings"],
        serde_json::json!([gait_pack::runpack::RAW_CAPTURE_WARNING])
    );
    let (code, v) = json_in(dir.path(), &["run", "inspect", "run_raw", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["artifact_type"], "runpack");
    assert_eq!(v["capture_mode"], "raw");
    assert_eq!(v["intents_total"], 1);
    assert_eq!(v["entries"][0]["verdict"], "allow");
    assert_eq!(
        v["entries"][0]["reason_codes"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(v["entries"][0]["created_at"], "2026-02-14T00:00:00Z");
    let (code, text, _) = gait_in(dir.path(), &["run", "inspect", "--from", "run_raw"]);
    assert_eq!(code, 0);
    assert!(text.contains("1. intent=intent_1 tool=echo status=ok verdict=allow\n"));

    // Signed with a dev key: verifies, the key id is reported.
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "record",
            "input.json",
            "--key-mode",
            "dev",
            "--run-id",
            "run_signed",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["signature_status"], "signed");
    assert_eq!(v["signature_key_id"].as_str().unwrap().len(), 64);
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("dev mode"))
    );
    let (code, v) = json_in(dir.path(), &["verify", "run_signed", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["signature_status"], "skipped");
}

#[test]
fn record_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), INPUT).unwrap();
    std::fs::write(dir.path().join("bad.json"), "{nope").unwrap();
    std::fs::write(dir.path().join("noid.json"), r#"{"run":{}}"#).unwrap();
    for (args, want) in [
        (vec!["run", "record", "--json"], "missing required --input"),
        (
            vec!["run", "record", "nothere.json", "--json"],
            "read input",
        ),
        (
            vec!["run", "record", "bad.json", "--json"],
            "parse input json",
        ),
        (
            vec!["run", "record", "noid.json", "--json"],
            "run.run_id is required",
        ),
        (
            vec![
                "run",
                "record",
                "input.json",
                "--capture-mode",
                "full",
                "--json",
            ],
            "capture mode must be one of",
        ),
        (
            vec![
                "run",
                "record",
                "input.json",
                "--context-evidence-mode",
                "x",
                "--json",
            ],
            "context evidence mode must be",
        ),
        (
            vec![
                "run",
                "record",
                "input.json",
                "--context-evidence-mode",
                "required",
                "--json",
            ],
            "context_set_digest is missing",
        ),
        (
            vec![
                "run",
                "record",
                "input.json",
                "--key-mode",
                "prod",
                "--json",
            ],
            "prod mode requires a private key source",
        ),
        (
            vec!["run", "record", "input.json", "--run-id", "../x", "--json"],
            "run_id cannot be used in a file name",
        ),
    ] {
        let (code, v) = json_in(dir.path(), &args);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert!(v["error"].as_str().unwrap().contains(want), "{args:?}: {v}");
    }
    assert!(!dir.path().join("x.zip").exists());
}

#[test]
fn inspect_errors() {
    let (code, v) = json(&["run", "inspect", "--json"]);
    assert_eq!(code, 6);
    assert_eq!(v["error"], "missing required --from <run_id|path>");
    let (code, v) = json(&[
        "run",
        "inspect",
        &pack_data("tampered/runpack_result_modified.zip"),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["error"], "runpack hash mismatch");
}
