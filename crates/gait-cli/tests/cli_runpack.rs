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

// ---- run replay | diff | receipt ---------------------------------------------------

/// Runs gait in `dir` with `envs` set and the real-replay variable cleared
/// unless `envs` sets it.
fn json_env(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gait"));
    cmd.args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("GAIT_ALLOW_REAL_REPLAY")
        .env_remove("MY_REPLAY_OK");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_str(text.trim()).unwrap(),
    )
}

/// A run whose intents are answered by a result (echo), by a stub
/// (tool.fetch), or not at all (tool.search), plus a file write.
const REPLAY_INPUT: &str = r#"{
  "run": {"run_id": "run_replay", "created_at": "2026-02-14T00:00:00Z"},
  "intents": [
    {"intent_id": "intent_echo", "tool_name": "tool.echo", "args": {"message": "hello"}},
    {"intent_id": "intent_fetch", "tool_name": "tool.fetch", "args": {"url": "https://example.local"}},
    {"intent_id": "intent_write", "tool_name": "file.write", "args": {"path": "out/written.txt", "content": "data"}},
    {"intent_id": "intent_search", "tool_name": "tool.search", "args": {"q": "x"}}
  ],
  "results": [
    {"intent_id": "intent_echo", "status": "ok", "result": {"message": "hello"}},
    {"intent_id": "intent_search", "status": "ok", "result": {"hits": 1}}
  ]
}"#;

fn sha256_hex(bytes: &[u8]) -> String {
    gait_digest::sha256(bytes).to_hex()
}

#[test]
fn replay_reference_runpack_stub_mode() {
    let demo = pack_data("runpack_run_demo.zip");
    let (code, v) = json(&["run", "replay", &demo, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["run_id"], "run_demo");
    assert_eq!(v["mode"], "stub");
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1]["intent_id"], "intent_2");
    assert_eq!(steps[1]["tool_name"], "tool.fetch");
    assert_eq!(steps[1]["status"], "ok");
    assert_eq!(steps[1]["execution"], "recorded");
    assert_eq!(steps[1]["result_digest"].as_str().unwrap().len(), 64);
    assert!(v.get("missing_results").is_none());
    assert!(v.get("warnings").is_none());
    assert!(v.get("requested_unsafe").is_none());

    let (code, text, _) = gait_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", "replay", &demo],
    );
    assert_eq!(code, 0);
    assert_eq!(text, "replay ok: run_demo (stub)\n");
}

#[test]
fn replay_stubs_and_missing_results() {
    let dir = tempfile::tempdir().unwrap();
    let input = REPLAY_INPUT.replace(
        r#"{"intent_id": "intent_search", "status": "ok", "result": {"hits": 1}}"#,
        r#"{"intent_id": "intent_other", "status": "ok", "result": {"hits": 1}}"#,
    );
    std::fs::write(dir.path().join("input.json"), input).unwrap();
    let (code, v) = json_in(dir.path(), &["run", "record", "input.json", "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = json_in(dir.path(), &["run", "replay", "run_replay", "--json"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["missing_results"], serde_json::json!(["intent_search"]));
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[0]["execution"], "recorded");
    // Stubbed: the stub digest binds run, intent, tool, args digest, type.
    let pack =
        gait_pack::runpack::read_runpack(&dir.path().join("gait-out/runpack_run_replay.zip"))
            .unwrap();
    let fetch_args = &pack.intents[1].args_digest;
    assert_eq!(steps[1]["status"], "stubbed");
    assert_eq!(steps[1]["execution"], "stubbed");
    assert_eq!(steps[1]["stub_type"], "http");
    assert_eq!(
        steps[1]["result_digest"],
        sha256_hex(format!("run_replay:intent_fetch:tool.fetch:{fetch_args}:http").as_bytes())
    );
    assert_eq!(steps[2]["stub_type"], "file");
    assert_eq!(steps[3]["status"], "missing_result");
    assert_eq!(steps[3]["execution"], "missing");
    assert!(steps[3].get("result_digest").is_none());
    assert_eq!(v["error_code"], Value::Null, "no error envelope: {v}");

    let (code, text, _) = gait_in(dir.path(), &["run", "replay", "run_replay"]);
    assert_eq!(code, 2);
    assert_eq!(
        text,
        "replay failed: run_replay\nmissing results: intent_search\n"
    );
}

#[test]
fn replay_real_interlocks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), REPLAY_INPUT).unwrap();
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "record",
            "input.json",
            "--capture-mode",
            "raw",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let pack = "gait-out/runpack_run_replay.zip";
    let unsafe_exit = |args: &[&str], envs: &[(&str, &str)], want: &str, requested: bool| {
        let (code, v) = json_env(dir.path(), args, envs);
        assert_eq!(code, 8, "{args:?}: {v}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error_code"], "unsafe_operation");
        assert_eq!(v["error_category"], "internal_failure");
        assert!(v["error"].as_str().unwrap().contains(want), "{args:?}: {v}");
        assert_eq!(v.get("requested_unsafe").is_some(), requested, "{v}");
        assert!(v.get("steps").is_none());
    };
    let on = [("GAIT_ALLOW_REAL_REPLAY", "1")];
    // 1. --real-tools without --unsafe-real-tools (even with everything else).
    unsafe_exit(
        &[
            "run",
            "replay",
            pack,
            "--real-tools",
            "--allow-tools",
            "echo",
            "--json",
        ],
        &on,
        "real tool execution requires --unsafe-real-tools",
        false,
    );
    // 2. No allowlist, an empty one, or only commas.
    for allow in [None, Some(""), Some(" , ,")] {
        let mut args = vec!["run", "replay", pack, "--real-tools", "--unsafe-real-tools"];
        if let Some(a) = allow {
            args.extend(["--allow-tools", a]);
        }
        args.push("--json");
        unsafe_exit(&args, &on, "requires --allow-tools", true);
    }
    // 3. The environment variable unset, or not `1`.
    let real = [
        "run",
        "replay",
        pack,
        "--real-tools",
        "--unsafe-real-tools",
        "--allow-tools",
        "tool.echo,file.write",
        "--json",
    ];
    unsafe_exit(&real, &[], "requires GAIT_ALLOW_REAL_REPLAY=1", true);
    for bad in ["0", "true", "yes", "11"] {
        unsafe_exit(
            &real,
            &[("GAIT_ALLOW_REAL_REPLAY", bad)],
            "requires GAIT_ALLOW_REAL_REPLAY=1",
            true,
        );
    }
    // A custom variable replaces the default one.
    let mut custom = real.to_vec();
    custom.extend(["--unsafe-real-tools-env", "MY_REPLAY_OK"]);
    unsafe_exit(&custom, &on, "requires MY_REPLAY_OK=1", true);
    // 4. Shell tools are never executed by this build, whatever else is set.
    for shell in ["shell.exec", "exec", "Command.Run"] {
        let allow = format!("tool.echo,{shell}");
        unsafe_exit(
            &[
                "run",
                "replay",
                pack,
                "--real-tools",
                "--unsafe-real-tools",
                "--allow-tools",
                &allow,
                "--json",
            ],
            &on,
            "shell tools",
            true,
        );
    }
    // No interlock step touched the file system.
    assert!(!dir.path().join("out/written.txt").exists());

    // 5. A reference-capture runpack cannot be replayed for real (exit 6).
    let (code, v) = json_env(
        dir.path(),
        &[
            "run",
            "replay",
            &pack_data("runpack_run_demo.zip"),
            "--real-tools",
            "--unsafe-real-tools",
            "--allow-tools",
            "tool.search",
            "--json",
        ],
        &on,
    );
    assert_eq!(code, 6, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("real replay requires capture_mode=raw")
    );

    // All interlocks satisfied: echo and file.write run, the rest replays.
    let (code, v) = json_env(dir.path(), &real, &on);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["mode"], "real");
    assert_eq!(v["requested_unsafe"], true);
    assert_eq!(
        v["warnings"],
        serde_json::json!(["allow_tools=tool.echo,file.write"])
    );
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[0]["execution"], "executed");
    assert_eq!(steps[0]["result_digest"], sha256_hex(b"hello"));
    assert_eq!(steps[1]["execution"], "stubbed");
    assert_eq!(steps[2]["execution"], "executed");
    assert_eq!(steps[2]["status"], "ok");
    assert_eq!(steps[2]["result_digest"], sha256_hex(b"data"));
    assert_eq!(steps[3]["execution"], "recorded");
    let written = dir.path().join("out/written.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "data");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&written).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // --unsafe-real-tools without --real-tools stays in stub mode.
    let (code, v) = json_env(
        dir.path(),
        &["run", "replay", pack, "--unsafe-real-tools", "--json"],
        &on,
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["mode"], "stub");
    assert_eq!(v["requested_unsafe"], true);
}

#[test]
fn replay_errors() {
    let (code, v) = json(&["run", "replay", "--json"]);
    assert_eq!(code, 6);
    assert_eq!(v["error"], "expected run_id or path");
    let (code, v) = json(&["run", "replay", "a.zip", "b.zip", "--json"]);
    assert_eq!(code, 6, "{v}");
    let (code, v) = json(&["run", "replay", "missing/runpack.zip", "--json"]);
    assert_eq!(code, 6);
    assert_eq!(v["error"], "runpack not found: missing/runpack.zip");
    let (code, v) = json(&[
        "run",
        "replay",
        &pack_data("tampered/runpack_result_modified.zip"),
        "--json",
    ]);
    assert_eq!(code, 2, "{v}");
    // The usage check comes before the interlocks.
    let (code, _) = json(&["run", "replay", "--real-tools", "--json"]);
    assert_eq!(code, 6);
}

#[test]
fn diff_reference_runpacks() {
    let unsigned = pack_data("runpack_run_tck_unsigned.zip");
    let signed = pack_data("runpack_run_tck_signed.zip");
    let demo = pack_data("runpack_run_demo.zip");
    let (code, v) = json(&["run", "diff", &unsigned, &signed, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["privacy"], "full");
    assert_eq!(
        v["summary"],
        serde_json::json!({
            "run_id_left": "run_tck", "run_id_right": "run_tck",
            "manifest_changed": false, "intents_changed": false,
            "results_changed": false, "refs_changed": false,
            "context_drift_classification": "none"
        })
    );

    let (code, v) = json(&["run", "diff", &demo, &unsigned, "--json"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["ok"], false);
    assert!(v.get("error").is_none());
    let s = &v["summary"];
    assert_eq!(s["run_id_left"], "run_demo");
    assert_eq!(s["run_id_right"], "run_tck");
    assert_eq!(s["intents_changed"], true);
    assert_eq!(s["results_changed"], true);
    assert_eq!(s["refs_changed"], true);
    assert_eq!(s["context_drift_classification"], "semantic");
    assert_eq!(
        s["left_only_intents"],
        serde_json::json!(["intent_2", "intent_3"])
    );
    assert!(s.get("files_changed").is_none());

    // Metadata privacy: refs by receipt count only (3 vs 1).
    let (code, v) = json(&[
        "run",
        "diff",
        &demo,
        &unsigned,
        "--privacy",
        "metadata",
        "--json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["privacy"], "metadata");
    assert_eq!(v["summary"]["refs_changed"], true);
    assert_eq!(v["summary"]["context_drift_classification"], "none");

    let (code, text, _) = gait_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", "diff", &unsigned, &signed],
    );
    assert_eq!(code, 0);
    assert_eq!(text, "diff ok: run_tck vs run_tck\n");
    let (code, text, _) = gait_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", "diff", &demo, &signed],
    );
    assert_eq!(code, 2);
    assert_eq!(text, "diff changed: run_demo vs run_tck\n");
}

#[test]
fn diff_blanks_run_metadata_and_writes_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), REPLAY_INPUT).unwrap();
    for run_id in ["run_a", "run_b"] {
        let (code, v) = json_in(
            dir.path(),
            &["run", "record", "input.json", "--run-id", run_id, "--json"],
        );
        assert_eq!(code, 0, "{v}");
    }
    // Same run under two run ids: nothing changed.
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "diff",
            "run_a",
            "run_b",
            "--output",
            "diff.json",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["output"], "diff.json");
    assert_eq!(v["summary"]["run_id_right"], "run_b");
    let written = std::fs::read_to_string(dir.path().join("diff.json")).unwrap();
    assert_eq!(
        written,
        r#"{"privacy":"full","summary":{"run_id_left":"run_a","run_id_right":"run_b","manifest_changed":false,"intents_changed":false,"results_changed":false,"refs_changed":false,"context_drift_classification":"none"}}"#
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("diff.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Raw capture changes the records (args kept) and the manifest
    // (capture_mode); metadata privacy ignores the raw payloads.
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "record",
            "input.json",
            "--run-id",
            "run_raw",
            "--capture-mode",
            "raw",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let (code, v) = json_in(dir.path(), &["run", "diff", "run_a", "run_raw", "--json"]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["summary"]["manifest_changed"], true);
    assert_eq!(v["summary"]["intents_changed"], true);
    assert_eq!(v["summary"]["results_changed"], true);
    assert_eq!(v["summary"]["refs_changed"], false);
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "diff",
            "run_a",
            "run_raw",
            "--privacy",
            "metadata",
            "--json",
        ],
    );
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["summary"]["manifest_changed"], true);
    assert_eq!(v["summary"]["intents_changed"], false);
    assert_eq!(v["summary"]["results_changed"], false);
}

#[test]
fn diff_errors() {
    let demo = pack_data("runpack_run_demo.zip");
    let zero = serde_json::json!({
        "run_id_left": "", "run_id_right": "", "manifest_changed": false,
        "intents_changed": false, "results_changed": false, "refs_changed": false
    });
    for (args, code_want, msg) in [
        (
            vec!["run", "diff", demo.as_str(), "--json"],
            6,
            "expected left and right run_id|path",
        ),
        (
            vec![
                "run",
                "diff",
                demo.as_str(),
                demo.as_str(),
                "--privacy",
                "FULL",
                "--json",
            ],
            6,
            "unsupported privacy mode: FULL",
        ),
        (
            vec!["run", "diff", demo.as_str(), "nothere.zip", "--json"],
            6,
            "runpack not found: nothere.zip",
        ),
    ] {
        let (code, v) = json(&args);
        assert_eq!(code, code_want, "{args:?}: {v}");
        assert_eq!(v["error"], msg);
        assert_eq!(v["summary"], zero, "{v}");
        assert!(v.get("privacy").is_none());
    }
    let (code, v) = json(&[
        "run",
        "diff",
        &demo,
        &pack_data("tampered/runpack_undeclared_extra.zip"),
        "--json",
    ]);
    assert_eq!(code, 2, "{v}");
    assert!(v["error"].as_str().unwrap().contains("undeclared"));
}

#[test]
fn receipt_prints_ticket_footer() {
    let demo = pack_data("runpack_run_demo.zip");
    let (code, v) = json(&["run", "receipt", "--from", &demo, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["run_id"], "run_demo");
    assert_eq!(v["path"], demo);
    assert_eq!(v["manifest_digest"], DEMO_DIGEST);
    let footer = format!(
        "GAIT run_id=run_demo manifest=sha256:{DEMO_DIGEST} verify=\"gait verify run_demo\""
    );
    assert_eq!(v["ticket_footer"], footer);

    // Signed runpacks need no key (the signature is skipped, not failed).
    let (code, text, _) = gait_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["run", "receipt", &pack_data("runpack_run_tck_signed.zip")],
    );
    assert_eq!(code, 0);
    assert_eq!(
        text,
        format!(
            "GAIT run_id=run_tck manifest=sha256:{TCK_DIGEST} verify=\"gait verify run_tck\"\n"
        )
    );

    // By run id, from ./gait-out.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = gait_in(dir.path(), &["demo"]);
    assert_eq!(code, 0);
    let (code, v) = json_in(dir.path(), &["run", "receipt", "run_demo", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["path"], "gait-out/runpack_run_demo.zip");
}

#[test]
fn receipt_errors() {
    for (args, code_want, msg) in [
        (
            vec!["run", "receipt", "--json"],
            6,
            "missing required --from <run_id|path>",
        ),
        (
            vec!["run", "receipt", "--from", "a.zip", "b.zip", "--json"],
            6,
            "unexpected positional arguments",
        ),
        (
            vec!["run", "receipt", "nothere.zip", "--json"],
            6,
            "runpack not found: nothere.zip",
        ),
    ] {
        let (code, v) = json(&args);
        assert_eq!(code, code_want, "{args:?}: {v}");
        assert_eq!(v["error"], msg);
    }
    for tampered in [
        "runpack_result_modified.zip",
        "runpack_run_json_missing.zip",
        "runpack_manifest_digest_altered.zip",
        "runpack_undeclared_extra.zip",
    ] {
        let (code, v) = json(&[
            "run",
            "receipt",
            &pack_data(&format!("tampered/{tampered}")),
            "--json",
        ]);
        assert_eq!(code, 2, "{tampered}: {v}");
        assert_eq!(v["error"], "runpack verification failed", "{tampered}");
        assert_eq!(v["error_code"], "verification_failed");
    }
}

#[test]
fn explain_run_subcommands() {
    for (sub, want) in [
        ("replay", "Replays a runpack"),
        ("diff", "Compares two runpacks"),
        (
            "receipt",
            "Verifies a runpack and prints its one-line ticket footer",
        ),
    ] {
        let (code, text, _) = gait_in(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["run", sub, "--explain"],
        );
        assert_eq!(code, 0);
        assert!(text.starts_with(want), "{sub}: {text}");
    }
}

const CONTEXT_ENVELOPE: &str = r#"{
  "schema_id": "gait.context.envelope",
  "schema_version": "1.0.0",
  "context_set_id": "ctx_cli",
  "records": [
    {"ref_id": "ctx_1", "source_type": "doc", "source_locator": "file://doc",
     "query_digest": "1111111111111111111111111111111111111111111111111111111111111111",
     "content_digest": "2222222222222222222222222222222222222222222222222222222222222222",
     "redaction_mode": "REDACTION"}
  ]
}"#;

#[test]
fn record_context_envelope() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), INPUT).unwrap();
    std::fs::write(
        dir.path().join("ctx.json"),
        CONTEXT_ENVELOPE.replace("REDACTION", "reference"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("raw.json"),
        CONTEXT_ENVELOPE.replace("REDACTION", "raw"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("unknown.json"),
        CONTEXT_ENVELOPE.replace("\"records\"", "\"extra\": 1, \"records\""),
    )
    .unwrap();

    // The envelope's records replace the receipts.
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "record",
            "input.json",
            "--context-envelope",
            "ctx.json",
            "--context-evidence-mode",
            "required",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["warnings"],
        serde_json::json!([gait_pack::runpack::REFERENCE_STRIP_WARNING]),
        "{v}"
    );
    let (code, inspect) = json_in(
        dir.path(),
        &["run", "inspect", "--from", "run_cli", "--json"],
    );
    assert_eq!(code, 0, "{inspect}");
    let zip = std::fs::read(dir.path().join("gait-out/runpack_run_cli.zip")).unwrap();
    let pack = gait_pack::runpack::read_runpack_from(std::io::Cursor::new(zip)).unwrap();
    let envelope = gait_pack::runpack::read_context_envelope(&dir.path().join("ctx.json")).unwrap();
    assert_eq!(pack.refs.context_set_digest, envelope.context_set_digest);
    assert_eq!(pack.refs.context_evidence_mode, "required");
    assert_eq!(pack.refs.context_ref_count, 1);
    assert_eq!(pack.refs.receipts, envelope.records);

    // best_effort: an unreadable or invalid envelope is a warning.
    for (file, want) in [
        (
            "missing.json",
            "context envelope ignored: read context envelope: ",
        ),
        (
            "unknown.json",
            "context envelope ignored: parse context envelope: json: unknown field \"extra\"",
        ),
    ] {
        let (code, v) = json_in(
            dir.path(),
            &[
                "run",
                "record",
                "input.json",
                "--context-envelope",
                file,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{v}");
        // Capture warnings come first, then the envelope's.
        let warnings = v["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 2, "{v}");
        assert_eq!(warnings[0], gait_pack::runpack::REFERENCE_STRIP_WARNING);
        assert!(warnings[1].as_str().unwrap().starts_with(want), "{v}");
    }
    // Text mode prints the warning too.
    let (code, out, _) = gait_in(
        dir.path(),
        &[
            "run",
            "record",
            "input.json",
            "--context-envelope",
            "missing.json",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("context envelope ignored: read context envelope: "),
        "{out}"
    );

    // Errors: exit 6.
    for (args, want) in [
        (
            vec![
                "--context-envelope",
                "missing.json",
                "--context-evidence-mode",
                "required",
            ],
            "read context envelope: ",
        ),
        (
            vec![
                "--context-envelope",
                "unknown.json",
                "--context-evidence-mode",
                "required",
            ],
            "parse context envelope: json: unknown field",
        ),
        (
            vec!["--context-envelope", "raw.json"],
            "context envelope includes redaction_mode=raw",
        ),
        (
            vec!["--context-evidence-mode", "required"],
            "context evidence mode required but context_set_digest is missing",
        ),
        (
            vec!["--context-envelope", "../ctx.json"],
            "context envelope path must be a local filesystem path",
        ),
    ] {
        let mut all = vec!["run", "record", "input.json", "--json"];
        all.extend(args.iter().copied());
        let (code, v) = json_in(dir.path(), &all);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert_eq!(v["ok"], false);
        assert!(
            v["error"].as_str().unwrap().starts_with(want),
            "{args:?}: {v}"
        );
    }
    // --unsafe-context-raw allows raw records.
    let (code, v) = json_in(
        dir.path(),
        &[
            "run",
            "record",
            "input.json",
            "--context-envelope",
            "raw.json",
            "--unsafe-context-raw",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
}
