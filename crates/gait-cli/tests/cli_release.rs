//! `gait keys init --role` and `gait release sign|verify` run as real
//! processes in temporary directories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// A temp dir with release key `keys/rel_*`, trace key `keys/tr_*` and a
/// signed release in `dist/`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (prefix, role) in [("rel", "release"), ("tr", "trace")] {
        let out = gait(
            d,
            &[
                "keys",
                "init",
                "--out-dir",
                "keys",
                "--prefix",
                prefix,
                "--role",
                role,
            ],
        );
        assert_eq!(code(&out), 0, "{out:?}");
    }
    fs::create_dir(d.join("dist")).unwrap();
    fs::write(d.join("dist/gait"), b"\x7fELF not really").unwrap();
    fs::write(
        d.join("dist/gait.cdx.json"),
        b"{\"bomFormat\":\"CycloneDX\"}\n",
    )
    .unwrap();
    fs::write(d.join("Cargo.lock"), b"# lock\n").unwrap();
    let out = gait(
        d,
        &[
            "release",
            "sign",
            "dist",
            "--private-key",
            "keys/rel_private.key",
            "--source-commit",
            "0123456789abcdef0123456789abcdef01234567",
            "--cargo-lock",
            "Cargo.lock",
            "--toolchain",
            "rustc 1.95.0",
            "--build-command",
            "cargo build --release",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{out:?}");
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);
    dir
}

fn verify(d: &Path, public: &str) -> (i32, Value) {
    let out = gait(
        d,
        &[
            "release",
            "verify",
            "dist",
            "--public-key",
            public,
            "--json",
        ],
    );
    (code(&out), json(&out))
}

fn failing(v: &Value) -> Vec<String> {
    v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn keys_init_role_writes_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(
        dir.path(),
        &[
            "keys",
            "init",
            "--out-dir",
            "k",
            "--role",
            "release",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["role"], "release");
    let record: Value =
        serde_json::from_slice(&fs::read(dir.path().join("k/gait_private.key.role.json")).unwrap())
            .unwrap();
    assert_eq!(record["role"], "release");
    assert_eq!(record["key_id"], v["key_id"]);
    assert_eq!(record["schema_id"], "gait.key.role");
    // No role: no record, as before.
    let out = gait(dir.path(), &["keys", "init", "--out-dir", "k2"]);
    assert_eq!(code(&out), 0);
    assert!(!dir.path().join("k2/gait_private.key.role.json").exists());
    // Rotation records the role of the new key too.
    let out = gait(
        dir.path(),
        &[
            "keys",
            "rotate",
            "--out-dir",
            "k4",
            "--role",
            "release",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["role"], "release");
    assert!(
        dir.path()
            .join(v["role_record_path"].as_str().unwrap())
            .exists()
    );
    // Unknown role.
    let out = gait(
        dir.path(),
        &["keys", "rotate", "--out-dir", "k3", "--role", "root"],
    );
    assert_eq!(code(&out), 6);
    let out = gait(
        dir.path(),
        &["keys", "init", "--out-dir", "k3", "--role", "root"],
    );
    assert_eq!(code(&out), 6);
    assert!(!dir.path().join("k3/gait_private.key").exists());
}

#[test]
fn signed_release_verifies() {
    let dir = setup();
    let (rc, v) = verify(dir.path(), "keys/rel_public.key");
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    let text = gait(
        dir.path(),
        &[
            "release",
            "verify",
            "dist",
            "--public-key",
            "keys/rel_public.key",
        ],
    );
    assert_eq!(code(&text), 0);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("release verify ok"));
}

#[test]
fn flipped_byte_in_any_file_fails_naming_it() {
    let dir = setup();
    let d = dir.path();
    let mut names: Vec<String> = fs::read_dir(d.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6);
    for name in &names {
        let path = d.join("dist").join(name);
        let original = fs::read(&path).unwrap();
        let mut bytes = original.clone();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let (rc, v) = verify(d, "keys/rel_public.key");
        assert_eq!(rc, 2, "{name}: {v}");
        assert!(failing(&v).contains(name), "{name}: {v}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("release verification failed")
        );
        // The text report names the file too.
        let out = gait(
            d,
            &[
                "release",
                "verify",
                "dist",
                "--public-key",
                "keys/rel_public.key",
            ],
        );
        assert_eq!(code(&out), 2);
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("  {name}: ")));
        fs::write(&path, &original).unwrap();
    }
    assert_eq!(verify(d, "keys/rel_public.key").0, 0);
}

#[test]
fn added_file_fails_naming_it() {
    let dir = setup();
    fs::write(dir.path().join("dist/extra.sh"), b"#!/bin/sh\n").unwrap();
    let (rc, v) = verify(dir.path(), "keys/rel_public.key");
    assert_eq!(rc, 2);
    assert_eq!(failing(&v), ["extra.sh"]);
    assert_eq!(v["extra_files"][0], "extra.sh");
}

#[test]
fn signature_by_another_key_fails() {
    let dir = setup();
    let d = dir.path();
    // The trace key's public half is not the release key.
    let (rc, v) = verify(d, "keys/tr_public.key");
    assert_eq!(rc, 2);
    assert_eq!(failing(&v), ["SHA256SUMS.sig.json", "provenance.sig.json"]);
    // Re-signed with an unrecorded key (warning), verified with the release key.
    let out = gait(
        d,
        &["keys", "init", "--out-dir", "keys", "--prefix", "other"],
    );
    assert_eq!(code(&out), 0);
    let out = gait(
        d,
        &[
            "release",
            "sign",
            "dist",
            "--private-key",
            "keys/other_private.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: key"));
    assert_eq!(json(&out)["warnings"].as_array().unwrap().len(), 1);
    let (rc, v) = verify(d, "keys/rel_public.key");
    assert_eq!(rc, 2);
    assert_eq!(failing(&v), ["SHA256SUMS.sig.json", "provenance.sig.json"]);
}

#[test]
fn trace_role_key_is_refused_for_release_sign() {
    let dir = setup();
    let before = fs::read(dir.path().join("dist/SHA256SUMS")).unwrap();
    let out = gait(
        dir.path(),
        &[
            "release",
            "sign",
            "dist",
            "--private-key",
            "keys/tr_private.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    let v = json(&out);
    assert_eq!(v["error_code"], "invalid_input");
    assert!(v["error"].as_str().unwrap().contains("role trace"), "{v}");
    // Nothing was rewritten.
    assert_eq!(
        fs::read(dir.path().join("dist/SHA256SUMS")).unwrap(),
        before
    );
}

#[test]
fn bad_invocations_are_invalid_input() {
    let dir = setup();
    let d = dir.path();
    for args in [
        vec!["release", "sign", "dist", "--json"],
        vec![
            "release",
            "sign",
            "nope",
            "--private-key",
            "keys/rel_private.key",
            "--json",
        ],
        vec![
            "release",
            "sign",
            "dist",
            "--private-key",
            "keys/rel_private.key",
            "--source-commit",
            "main",
            "--json",
        ],
        vec!["release", "verify", "dist", "--json"],
        vec![
            "release",
            "verify",
            "nope",
            "--public-key",
            "keys/rel_public.key",
            "--json",
        ],
        vec![
            "release",
            "verify",
            "dist",
            "--public-key",
            "keys/missing.key",
            "--json",
        ],
    ] {
        let out = gait(d, &args);
        assert_eq!(code(&out), 6, "{args:?}: {out:?}");
        assert_eq!(json(&out)["ok"], false);
    }
}
