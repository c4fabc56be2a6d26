//! `gait pack build --type call|authorization`, `gait voice pack …` and
//! `pack verify|inspect|diff|export` of call and authorization packs, run
//! as real processes in a temporary copy of the interop vectors
//! (`crates/gait-pack/tests/data/interop2`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

mod common;
use common::{exit_code as code, json_line as json, run_in as gait};

use std::path::{Path, PathBuf};

/// The reference's pack id for `authz/authorization_bundle.json` (the
/// bundle names its producer version, so every implementation agrees).
const AUTHZ_ID: &str = "01749bb08b15a82df6b1bed910005dcc2965415db5d5c8e9a0d43ee9d9b74009";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A temporary working directory holding `calls/`, `authz/`, `packs/`,
/// `tampered/` and `keys/` (the private key 0600).
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../gait-pack/tests/data/interop2");
    copy_dir(&data, dir.path());
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        dir.path().join("keys/sign_private.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    dir
}

fn zip_entry(path: &Path, name: &str) -> Vec<u8> {
    let mut a =
        gait_pack::archive::Archive::open(std::io::Cursor::new(std::fs::read(path).unwrap()))
            .unwrap();
    a.read(name, 1 << 26).unwrap()
}

#[test]
fn call_pack_build_verify_inspect_diff_export() {
    let dir = workdir();
    let d = dir.path();
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--type",
            "call",
            "--from",
            "calls/call_record.json",
            "--out",
            "out/call.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["pack_type"], "call");
    assert_eq!(v["source_ref"], "call_interop_1");
    assert_eq!(v["path"], "out/call.zip");
    // The deterministic entries are the reference's bytes.
    for name in [
        "call_payload.json",
        "call_events.jsonl",
        "reference_digests.json",
    ] {
        assert_eq!(
            zip_entry(&d.join("out/call.zip"), name),
            zip_entry(&d.join("packs/call_unsigned.zip"), name),
            "{name}"
        );
    }

    let out = gait(d, &["pack", "verify", "out/call.zip", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["verify"]["files_checked"], 9);
    assert_eq!(v["verify"]["proof_records_verified"], 8);
    assert_eq!(v["verify"]["signature_status"], "missing");

    let out = gait(d, &["voice", "pack", "inspect", "out/call.zip", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["inspect"]["call_payload"]["event_count"], 7);
    assert_eq!(v["inspect"]["call_payload"]["run_id"], "run_evidence");

    let out = gait(
        d,
        &[
            "voice",
            "pack",
            "diff",
            "out/call.zip",
            "out/call.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let out = gait(
        d,
        &[
            "pack",
            "diff",
            "out/call.zip",
            "packs/call_signed.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["diff"]["Result"]["summary"]["changed"], true);

    let out = gait(
        d,
        &[
            "pack",
            "export",
            "out/call.zip",
            "--otel-out",
            "out/otel.jsonl",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["export"]["pack_type"], "call");
    assert!(d.join("out/otel.jsonl").is_file());
}

#[test]
fn voice_alias_and_signed_call_packs() {
    let dir = workdir();
    let d = dir.path();
    let out = gait(
        d,
        &[
            "voice",
            "pack",
            "build",
            "--from",
            "calls/call_record.json",
            "--out",
            "out/s.zip",
            "--key-mode",
            "prod",
            "--private-key",
            "keys/sign_private.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["pack_type"], "call");
    let strict = [
        "pack",
        "verify",
        "out/s.zip",
        "--profile",
        "strict",
        "--public-key",
        "keys/sign_public.key",
        "--json",
    ];
    let out = gait(d, &strict);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["verify"]["signature_status"], "verified");
    let out = gait(
        d,
        &[
            "pack",
            "verify",
            "out/s.zip",
            "--public-key",
            "keys/other_public.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["verify"]["signature_status"], "failed");
    let out = gait(
        d,
        &[
            "pack",
            "verify",
            "out/s.zip",
            "--profile",
            "strict",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
}

#[test]
fn authorization_pack_matches_the_reference_pack_id() {
    let dir = workdir();
    let d = dir.path();
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--type",
            "Authorization",
            "--from",
            "authz/authorization_bundle.json",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["pack_id"], AUTHZ_ID);
    assert_eq!(v["source_ref"], "51b9a46d197ffb3a32ff19eb");
    // Default output: next to the bundle.
    let path = format!("authz/pack_{AUTHZ_ID}.zip");
    assert_eq!(v["path"], path.as_str());
    // Entry by entry the reference's pack (the zip container's deflate
    // bytes may differ).
    for name in [
        "pack_manifest.json",
        "proof_records.jsonl",
        "authorization_bundle.json",
        "evidence/ev/trace.json",
    ] {
        assert_eq!(
            zip_entry(&d.join(&path), name),
            zip_entry(&d.join("packs/authz_unsigned.zip"), name),
            "{name}"
        );
    }
    let out = gait(d, &["pack", "verify", &path, "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["verify"]["files_checked"], 8);
    assert_eq!(v["verify"]["proof_records_verified"], 7);
    let out = gait(d, &["pack", "inspect", &path, "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(
        v["inspect"]["authorization_payload"]["schema_id"],
        "gait.pack.authorization"
    );
    assert_eq!(
        v["inspect"]["authorization_payload"]["linked_evidence_count"],
        6
    );
    assert_eq!(
        v["inspect"]["authorization_bundle"]["kill_switch"]["evaluated_at"],
        "0001-01-01T00:00:00Z"
    );
}

#[test]
fn bad_inputs_exit_6_and_write_nothing() {
    let dir = workdir();
    let d = dir.path();
    for (kind, file, text) in [
        ("call", "calls/bad_unknown_field.json", "unknown field"),
        ("call", "calls/bad_privacy_mode.json", "privacy_mode"),
        ("call", "calls/bad_token_mismatch.json", "say_token_id"),
        // The reference exits 1 here (its message contains "block").
        (
            "call",
            "calls/bad_receipt_without_allow.json",
            "verdict is block",
        ),
        ("call", "calls/bad_tampered_runpack.json", "integrity"),
        (
            "authorization",
            "authz/bad_traversal.json",
            "local relative",
        ),
        (
            "authorization",
            "authz/bad_digest_mismatch.json",
            "digest mismatch",
        ),
        // The reference exits 1 here (its message contains "block").
        (
            "authorization",
            "authz/bad_outcome_status.json",
            "outcome_status",
        ),
        // The reference builds these; its verifier then rejects them.
        ("authorization", "authz/bundle_no_trace.json", "trace_path"),
        (
            "authorization",
            "authz/bundle_status_no_outcome.json",
            "outcome_path",
        ),
    ] {
        let out = gait(
            d,
            &[
                "pack",
                "build",
                "--type",
                kind,
                "--from",
                file,
                "--out",
                "out/bad.zip",
                "--json",
            ],
        );
        assert_eq!(code(&out), 6, "{file}");
        let v = json(&out);
        assert_eq!(v["ok"], false);
        assert_eq!(v["error_category"], "invalid_input", "{file}");
        assert!(v["error"].as_str().unwrap().contains(text), "{file}: {v}");
        assert!(!d.join("out/bad.zip").exists(), "{file}");
    }
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--type",
            "voice",
            "--from",
            "calls/call_record.json",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    assert_eq!(
        json(&out)["error"],
        "--type must be run, job, call, or authorization"
    );
    // Relative output paths may not climb out.
    let out = gait(
        d,
        &[
            "pack",
            "build",
            "--type",
            "call",
            "--from",
            "calls/call_record.json",
            "--out",
            "../escape.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
}

#[test]
fn tampered_reference_packs_exit_2() {
    let dir = workdir();
    let d = dir.path();
    for name in [
        "call_rehashed_count_mismatch",
        "call_rehashed_event_dropped",
        "call_pack_id_altered",
        "call_duplicate_entry",
        "call_payload_flipped",
        "call_raw_flip",
        "authz_rehashed_evidence_changed",
        "authz_rehashed_no_trace",
        "authz_extra_entry",
        "authz_resigned_other_key",
    ] {
        let path = format!("tampered/{name}.zip");
        let out = gait(
            d,
            &[
                "pack",
                "verify",
                &path,
                "--public-key",
                "keys/sign_public.key",
                "--json",
            ],
        );
        assert_eq!(
            code(&out),
            2,
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["ok"], false, "{name}");
    }
    // A truncated zip is not a readable archive (exit 6, as the
    // reference's unclassified read error).
    for name in ["call_truncated", "authz_truncated"] {
        let path = format!("tampered/{name}.zip");
        let out = gait(d, &["pack", "verify", &path, "--json"]);
        assert_eq!(code(&out), 6, "{name}");
        assert_eq!(json(&out)["ok"], false, "{name}");
    }
    // A contract failure is an error envelope without a verify object.
    let out = gait(
        d,
        &[
            "pack",
            "verify",
            "tampered/call_rehashed_call_id_mismatch.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    assert_eq!(v["error_category"], "verification_failed");
    assert!(v.get("verify").is_none());
}
