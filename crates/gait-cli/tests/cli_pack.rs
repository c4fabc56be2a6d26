//! `gait pack build|verify|inspect|diff` run as real processes on the
//! reference packs and runpacks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const UNSIGNED_ID: &str = "13b903f6b9cf086a7c3a0cdae65749f63e3600f9319eb16e756a90879b1161da";
const SIGNED_ID: &str = "d146ec76f1517c38aeec01643c5d3b5dd019a8b5e44754b19e8d1bc55631217a";

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

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

fn envelope(v: &Value, operation: &str, ok: bool) {
    assert_eq!(v["schema_id"], "gait.pack.output");
    assert_eq!(v["schema_version"], "1.0.0");
    assert_eq!(v["operation"], operation);
    assert_eq!(v["ok"], ok);
    assert_eq!(v["correlation_id"].as_str().unwrap().len(), 24);
}

#[test]
fn verify_reference_packs() {
    let dir = tempfile::tempdir().unwrap();
    let unsigned = pack_data("pack_run_demo_unsigned.zip");
    let signed = pack_data("pack_run_demo_signed.zip");
    let trace = key("trace_public.key");
    let other = key("other_public.key");

    let out = gait(dir.path(), &["pack", "verify", &unsigned, "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    envelope(&v, "verify", true);
    assert_eq!(v["pack_id"], UNSIGNED_ID);
    assert_eq!(v["pack_type"], "run");
    assert_eq!(v["source_ref"], "run_demo");
    assert_eq!(v["path"], unsigned.as_str());
    assert_eq!(v["verify"]["files_checked"], 4);
    assert_eq!(v["verify"]["proof_records_verified"], 3);
    assert_eq!(v["verify"]["signature_status"], "missing");
    assert!(v.get("error").is_none());

    for args in [
        vec![
            "pack",
            "verify",
            &signed,
            "--require-signature",
            "--public-key",
            &trace,
            "--json",
        ],
        vec![
            "pack",
            "verify",
            &signed,
            "--profile",
            "strict",
            "--public-key",
            &trace,
            "--json",
        ],
        vec![
            "pack",
            "verify",
            "--path",
            &signed,
            "--profile=strict",
            "-public-key",
            &trace,
            "-json",
        ],
    ] {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 0, "{args:?}");
        let v = json(&out);
        assert_eq!(v["pack_id"], SIGNED_ID);
        assert_eq!(v["verify"]["signature_status"], "verified");
        assert_eq!(v["verify"]["signatures_valid"], 1);
    }

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &signed,
            "--require-signature",
            "--public-key",
            &other,
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    envelope(&v, "verify", false);
    assert_eq!(v["verify"]["signature_status"], "failed");
    // A failed verdict carries no error and so no error envelope.
    assert!(v.get("error_code").is_none());

    // Strict without a key source: invalid input.
    let out = gait(
        dir.path(),
        &["pack", "verify", &unsigned, "--profile", "strict", "--json"],
    );
    assert_eq!(code(&out), 6);
    let v = json(&out);
    envelope(&v, "verify", false);
    assert_eq!(v["error_code"], "invalid_input");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("strict verify profile")
    );

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &unsigned,
            "--profile",
            "paranoid",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
}

#[test]
fn verify_tampered_and_non_packs() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &pack_data("tampered/pack_duplicate_entry.zip"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    assert_eq!(v["error_code"], "verification_failed");
    assert!(v["error"].as_str().unwrap().contains("duplicate"));

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &pack_data("tampered/pack_payload_modified.zip"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    assert_eq!(
        v["verify"]["hash_mismatches"][0]["path"],
        "run_payload.json"
    );

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &pack_data("tampered/pack_undeclared_extra.zip"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        !json(&out)["verify"]["undeclared_files"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &pack_data("tampered/pack_signed_manifest_type_changed.zip"),
            "--public-key",
            &key("trace_public.key"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);

    // Missing file, not a zip, missing argument: invalid input.
    let out = gait(dir.path(), &["pack", "verify", "nope.zip", "--json"]);
    assert_eq!(code(&out), 6);
    std::fs::write(dir.path().join("junk.zip"), b"junk").unwrap();
    assert_eq!(
        code(&gait(dir.path(), &["pack", "verify", "junk.zip", "--json"])),
        6
    );
    let out = gait(dir.path(), &["pack", "verify", "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["error"], "expected <pack.zip>");

    // Legacy runpack.
    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &pack_data("runpack_run_tck_unsigned.zip"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["verify"]["legacy_type"], "runpack");
    assert_eq!(
        v["pack_id"],
        "145318df409e6cd34adc043ee5949a26d299007ce7e633d35a7db25cac092af7"
    );

    // Text mode.
    let out = gait(
        dir.path(),
        &["pack", "verify", &pack_data("pack_run_demo_unsigned.zip")],
    );
    assert_eq!(code(&out), 0);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("pack verify ok: ")
    );
    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &pack_data("tampered/pack_payload_modified.zip"),
        ],
    );
    assert_eq!(code(&out), 2);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("pack verify failed: "), "{text}");
    assert!(text.contains("hash mismatch: run_payload.json"), "{text}");
}

#[test]
fn build_verify_inspect_diff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("gait-out")).unwrap();
    std::fs::copy(
        pack_data("runpack_run_tck_unsigned.zip"),
        d.join("gait-out/runpack_run_tck.zip"),
    )
    .unwrap();

    // By run id: ./gait-out/runpack_<id>.zip, output next to it.
    let out = gait(
        d,
        &[
            "pack", "build", "--type", "run", "--from", "run_tck", "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    envelope(&v, "build", true);
    let id = v["pack_id"].as_str().unwrap().to_owned();
    assert_eq!(v["path"], format!("gait-out/pack_{id}.zip"));
    assert_eq!(v["source_ref"], "run_tck");
    let built = format!("gait-out/pack_{id}.zip");

    // Deterministic: the same bytes again, by path, with --out.
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "gait-out/runpack_run_tck.zip",
            "--out",
            "again.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["pack_id"], id.as_str());
    assert_eq!(
        std::fs::read(d.join(&built)).unwrap(),
        std::fs::read(d.join("again.zip")).unwrap()
    );

    let out = gait(d, &["pack", "verify", &built, "--json"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["verify"]["proof_records_verified"], 3);

    // Signed with a key pair from `keys init`; verified with it and not
    // with another.
    for prefix in ["a", "b"] {
        let out = gait(
            d,
            &[
                "keys",
                "init",
                "--out-dir",
                "keys",
                "--prefix",
                prefix,
                "--json",
            ],
        );
        assert_eq!(code(&out), 0);
    }
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--from",
            "gait-out/runpack_run_tck.zip",
            "--out",
            "signed.zip",
            "--key-mode",
            "prod",
            "--private-key",
            "keys/a_private.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let out = gait(
        d,
        &[
            "pack",
            "verify",
            "signed.zip",
            "--profile",
            "strict",
            "--public-key",
            "keys/a_public.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let out = gait(
        d,
        &[
            "pack",
            "verify",
            "signed.zip",
            "--public-key",
            "keys/b_public.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["verify"]["signature_status"], "failed");

    // Dev mode warns; dev with a key source and unknown modes are refused.
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--from",
            "run_tck",
            "--out",
            "dev.zip",
            "--key-mode",
            "dev",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(
        json(&out)["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("dev mode")
    );
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--from",
            "run_tck",
            "--key-mode",
            "dev",
            "--private-key",
            "keys/a_private.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--from",
            "run_tck",
            "--key-mode",
            "hsm",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);

    // Missing sources (call and authorization: a missing record or
    // bundle is named).
    for t in ["call", "authorization"] {
        let out = gait(d, &["pack", "build", "--type", t, "--from", "x", "--json"]);
        assert_eq!(code(&out), 6);
        let e = json(&out)["error"].as_str().unwrap().to_owned();
        assert!(e.contains(" x: "), "{e}");
    }
    let out = gait(d, &["pack", "build", "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["error"], "--from is required");
    let out = gait(d, &["pack", "build", "--from", "run_missing", "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["error"], "runpack not found: run_missing");

    // Inspect.
    let out = gait(d, &["pack", "inspect", &built, "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    envelope(&v, "inspect", true);
    assert_eq!(v["inspect"]["pack_id"], id.as_str());
    assert_eq!(v["inspect"]["run_payload"]["run_id"], "run_tck");
    assert_eq!(v["inspect"]["run_lineage"]["receipt_count"], 1);
    assert_eq!(v["inspect"]["manifest"]["pack_type"], "run");
    let out = gait(
        d,
        &["pack", "inspect", "gait-out/runpack_run_tck.zip", "--json"],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["inspect"]["legacy_type"], "runpack");
    let out = gait(d, &["pack", "inspect", &built]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("pack inspect ok: {id} (run)")
    );

    // Diff: unchanged → 0, changed → 2, --output holds the bare result.
    let out = gait(d, &["pack", "diff", &built, "again.zip", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    envelope(&v, "diff", true);
    assert_eq!(v["diff"]["Result"]["summary"]["changed"], false);
    let args = [
        "pack",
        "diff",
        &built,
        "signed.zip",
        "--output",
        "diff.json",
        "--json",
    ];
    let first = gait(d, &args);
    let second = gait(d, &args);
    assert_eq!(code(&first), 2);
    assert_eq!(first.stdout, second.stdout);
    let v = json(&first);
    assert_eq!(v["path"], "diff.json");
    let file = std::fs::read_to_string(d.join("diff.json")).unwrap();
    assert!(!file.ends_with('\n'));
    let bare: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(bare, v["diff"]["Result"]);
    assert!(file.starts_with(r#"{"schema_id":"gait.pack.diff","#));
    let out = gait(d, &["pack", "diff", &built, "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["error"], "expected <left> <right>");
}

#[test]
fn explain_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &["pack", "--explain"]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8(out.stdout).unwrap().contains("PackSpec"));
    assert_eq!(code(&gait(dir.path(), &["pack"])), 6);
    assert_eq!(
        code(&gait(dir.path(), &["pack", "frobnicate", "--json"])),
        6
    );
}

#[test]
fn export_otel_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let signed = pack_data("pack_run_demo_signed.zip");
    let out = gait(
        d,
        &[
            "pack",
            "export",
            &signed,
            "--otel-out",
            "otel.jsonl",
            "--postgres-sql-out",
            "index.sql",
            "--postgres-table",
            "audit.pack_index",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    envelope(&v, "export", true);
    assert_eq!(v["pack_id"], SIGNED_ID);
    assert_eq!(v["pack_type"], "run");
    assert_eq!(v["source_ref"], "run_demo");
    assert_eq!(v["otel_path"], "otel.jsonl");
    assert_eq!(v["postgres_sql_path"], "index.sql");
    let e = &v["export"];
    assert_eq!(e["pack_id"], SIGNED_ID);
    assert_eq!(e["files_checked"], 4);
    assert_eq!(e["hash_mismatches"], 0);
    assert_eq!(e["signature_status"], "skipped");
    assert_eq!(e["signatures_total"], 1);
    assert_eq!(e["created_at"], "1980-01-01T00:00:00Z");
    assert_eq!(e["metrics"]["tool_calls_total"], 3);
    assert_eq!(e["metrics"]["tool_calls_success_rate"], 1);

    let otel = std::fs::read_to_string(d.join("otel.jsonl")).unwrap();
    let lines: Vec<Value> = otel
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0]["record_type"], "span");
    assert_eq!(lines[0]["name"], "gait.pack.verify");
    assert_eq!(lines[0]["trace_id"], &SIGNED_ID[..32]);
    assert_eq!(lines[1]["record_type"], "event");
    let names: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "gait.pack.tool_calls_total",
            "gait.pack.tool_calls_success_total",
            "gait.pack.tool_calls_success_rate",
            "gait.pack.policy_blocked_total",
            "gait.pack.approval_required_total",
            "gait.pack.regress_failures_total",
        ]
    );
    let sql = std::fs::read_to_string(d.join("index.sql")).unwrap();
    assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS \"audit\".\"pack_index\" (\n"));
    assert!(sql.contains(&format!("  '{SIGNED_ID}',\n")));
    assert!(sql.ends_with("  created_at = EXCLUDED.created_at;\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in ["otel.jsonl", "index.sql"] {
            let mode = std::fs::metadata(d.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }

    // The OTEL file is appended to; DDL can be left out.
    let out = gait(
        d,
        &[
            "pack",
            "export",
            &signed,
            "--otel-out",
            "otel.jsonl",
            "--postgres-sql-out",
            "index.sql",
            "--postgres-include-ddl=false",
        ],
    );
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("pack export ok: "));
    assert!(text.contains("otel: otel.jsonl\n"));
    let otel = std::fs::read_to_string(d.join("otel.jsonl")).unwrap();
    assert_eq!(otel.lines().count(), 16);
    let sql = std::fs::read_to_string(d.join("index.sql")).unwrap();
    assert!(sql.starts_with("INSERT INTO \"gait_pack_index\" (\n"));

    // Hostile table names are refused before anything is written.
    let out = gait(
        d,
        &[
            "pack",
            "export",
            &signed,
            "--postgres-sql-out",
            "bad.sql",
            "--postgres-table",
            "x; DROP TABLE y; --",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    envelope(&json(&out), "export", false);
    assert!(!d.join("bad.sql").exists());

    let out = gait(d, &["pack", "export", &signed, "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(
        json(&out)["error"],
        "at least one export output is required (--otel-out or --postgres-sql-out)"
    );
    let out = gait(d, &["pack", "export", "--otel-out", "o.jsonl", "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["error"], "expected <pack.zip>");
}

/// A legacy guard pack generated here (deterministic zip, Trace-role
/// signature over the guard manifest projection): verified with its key,
/// then with a tampered entry and with the wrong key.
#[test]
fn verify_generated_guard_pack() {
    use gait_digest::{GoTime, sha256};
    use gait_pack::archive::{NewEntry, write_deterministic_to_vec};
    use gait_pack::pack::{GUARD_MANIFEST_SCHEMA_ID, GuardManifest, PackEntry, PackSignature};
    use gait_sign::{SigningKey, Trace};

    let dir = tempfile::tempdir().unwrap();
    let signer = SigningKey::<Trace>::from_seed(&[7; 32]);
    let good_key = dir.path().join("guard_public.key");
    std::fs::write(&good_key, signer.verifying_key().to_public_text()).unwrap();
    let good_key = good_key.display().to_string();
    let other = key("other_public.key");

    let summary: &[u8] = b"{\"run_id\":\"run_guard\"}\n";
    let at = GoTime::parse("2026-02-03T04:05:06Z").unwrap();
    let mut manifest = GuardManifest {
        schema_id: GUARD_MANIFEST_SCHEMA_ID.into(),
        schema_version: "1.0.0".into(),
        created_at: at,
        producer_version: "0.0.0-dev".into(),
        pack_id: "pack_0123456789abcdef".into(),
        run_id: "run_guard".into(),
        case_id: String::new(),
        template_id: String::new(),
        generated_at: at,
        control_index: Vec::new(),
        evidence_pointers: Vec::new(),
        incident_window: None,
        rendered: Vec::new(),
        contents: Some(vec![PackEntry {
            path: "runpack_summary.json".into(),
            sha256: sha256(summary).to_hex(),
            entry_type: "json".into(),
        }]),
        signatures: Vec::new(),
    };
    let env = signer.sign_value(&manifest.signable());
    manifest.signatures.push(PackSignature::from_envelope(&env));
    let write = |name: &str, entry: &[u8]| {
        let bytes = write_deterministic_to_vec(vec![
            NewEntry::file(
                "pack_manifest.json",
                serde_json::to_vec_pretty(&manifest).unwrap(),
            ),
            NewEntry::file("runpack_summary.json", entry.to_vec()),
        ])
        .unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let good = write("guard.zip", summary);
    let tampered = write("guard_tampered.zip", b"{\"run_id\":\"forged\"}\n");

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &good,
            "--require-signature",
            "--public-key",
            &good_key,
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    envelope(&v, "verify", true);
    assert_eq!(v["pack_id"], "pack_0123456789abcdef");
    assert_eq!(v["pack_type"], "guard");
    assert_eq!(v["source_ref"], "run_guard");
    assert_eq!(v["verify"]["legacy_type"], "guard");
    assert_eq!(v["verify"]["files_checked"], 1);
    assert_eq!(v["verify"]["signature_status"], "verified");
    assert_eq!(v["verify"]["signatures_valid"], 1);

    let out = gait(
        dir.path(),
        &[
            "pack",
            "verify",
            &tampered,
            "--public-key",
            &good_key,
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    envelope(&v, "verify", false);
    assert_eq!(
        v["verify"]["hash_mismatches"][0]["path"],
        "runpack_summary.json"
    );

    let out = gait(
        dir.path(),
        &["pack", "verify", &good, "--public-key", &other, "--json"],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    envelope(&v, "verify", false);
    assert_eq!(v["verify"]["signature_status"], "failed");
    assert_eq!(v["verify"]["legacy_type"], "guard");
}
