//! `gait version` and `gait keys` run as real processes in temporary
//! directories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .env_remove("GAIT_TEST_KEY")
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

fn assert_envelope(v: &Value, error_code: &str) {
    assert_eq!(v["ok"], false);
    assert!(!v["error"].as_str().unwrap().is_empty());
    assert_eq!(v["error_code"], error_code);
    assert_eq!(v["error_category"], error_code);
    assert_eq!(v["retryable"], false);
    assert!(!v["hint"].as_str().unwrap().is_empty());
    assert_eq!(v["correlation_id"].as_str().unwrap().len(), 24);
}

#[test]
fn init_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &["keys", "init", "--out-dir", "k", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["prefix"], "gait");
    assert_eq!(v["private_key_path"], "k/gait_private.key");
    assert_eq!(v["public_key_path"], "k/gait_public.key");
    let key_id = v["key_id"].as_str().unwrap().to_owned();
    assert_eq!(key_id.len(), 64);

    // Keys are sorted in the output line.
    let raw = String::from_utf8(out.stdout).unwrap();
    let pos = |k: &str| raw.find(&format!("\"{k}\"")).unwrap();
    assert!(
        pos("correlation_id") < pos("key_id")
            && pos("key_id") < pos("ok")
            && pos("ok") < pos("prefix")
    );

    let out = gait(
        dir.path(),
        &[
            "keys",
            "verify",
            "--private-key",
            "k/gait_private.key",
            "--public-key",
            "k/gait_public.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["key_id"], key_id.as_str());
    assert_eq!(v["private_key_source"], "path:k/gait_private.key");
    assert_eq!(v["public_key_source"], "path:k/gait_public.key");

    let out = gait(
        dir.path(),
        &[
            "keys",
            "verify",
            "--private-key",
            "k/gait_private.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["public_key_source"], "derived");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in ["k/gait_private.key", "k/gait_public.key"] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        let mode = std::fs::metadata(dir.path().join("k"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o750);
    }
}

#[test]
fn mismatched_pair_exits_6_with_envelope() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&gait(
            dir.path(),
            &["keys", "init", "--out-dir", "a", "--json"]
        )),
        0
    );
    assert_eq!(
        code(&gait(
            dir.path(),
            &["keys", "init", "--out-dir", "b", "--json"]
        )),
        0
    );
    let out = gait(
        dir.path(),
        &[
            "keys",
            "verify",
            "--private-key",
            "a/gait_private.key",
            "--public-key",
            "b/gait_public.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    let v = json(&out);
    assert_envelope(&v, "invalid_input");
    assert_eq!(v["error"], "public key does not match private key");
    assert_eq!(v["hint"], "check command usage and input schema");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let first = json(&gait(
        dir.path(),
        &["keys", "init", "--out-dir", "k", "--json"],
    ));
    let before = std::fs::read(dir.path().join("k/gait_private.key")).unwrap();

    let out = gait(dir.path(), &["keys", "init", "--out-dir", "k", "--json"]);
    assert_eq!(code(&out), 6);
    let v = json(&out);
    assert_envelope(&v, "invalid_input");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("already exists (use --force)")
    );
    assert_eq!(
        std::fs::read(dir.path().join("k/gait_private.key")).unwrap(),
        before
    );

    let out = gait(
        dir.path(),
        &["keys", "init", "--out-dir", "k", "--force", "--json"],
    );
    assert_eq!(code(&out), 0);
    assert_ne!(json(&out)["key_id"], first["key_id"]);
    assert_ne!(
        std::fs::read(dir.path().join("k/gait_private.key")).unwrap(),
        before
    );
    // Only the two key files: no temporary leftovers.
    assert_eq!(std::fs::read_dir(dir.path().join("k")).unwrap().count(), 2);
}

#[test]
fn rotate_keeps_old_keys() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&gait(
            dir.path(),
            &["keys", "init", "--out-dir", "k", "--json"]
        )),
        0
    );
    let out = gait(dir.path(), &["keys", "rotate", "--out-dir", "k", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    let prefix = v["prefix"].as_str().unwrap();
    assert!(
        prefix.starts_with("gait_")
            && prefix.ends_with('Z')
            && prefix.len() == "gait_20260101T000000Z".len(),
        "{prefix}"
    );
    assert_eq!(std::fs::read_dir(dir.path().join("k")).unwrap().count(), 4);
}

#[test]
fn env_key_sources() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&gait(
            dir.path(),
            &["keys", "init", "--out-dir", "k", "--json"]
        )),
        0
    );
    let private = std::fs::read_to_string(dir.path().join("k/gait_private.key")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args([
            "keys",
            "verify",
            "--private-key-env",
            "GAIT_TEST_KEY",
            "--json",
        ])
        .current_dir(dir.path())
        .env("GAIT_TEST_KEY", private)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["private_key_source"], "env:GAIT_TEST_KEY");

    let out = gait(
        dir.path(),
        &[
            "keys",
            "verify",
            "--private-key-env",
            "GAIT_TEST_KEY",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    assert_eq!(
        json(&out)["error"],
        "private key env not set: GAIT_TEST_KEY"
    );

    let out = gait(
        dir.path(),
        &[
            "keys",
            "verify",
            "--private-key",
            "k/gait_private.key",
            "--private-key-env",
            "X",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    assert!(
        json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("set either path or env")
    );
}

#[test]
fn bad_input_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.key"), "not a key\n").unwrap();
    for args in [
        &["keys", "verify", "--json"][..],
        &["keys", "verify", "--private-key", "bad.key", "--json"],
        &["keys", "verify", "--private-key", "missing.key", "--json"],
        &["keys", "init", "--bogus", "--json"],
        &["keys", "init", "--prefix", "../escape", "--json"],
        &["keys", "init", "--out-dir", " ", "--json"],
        &["nonsense", "--json"],
    ] {
        let out = gait(dir.path(), args);
        assert_eq!(code(&out), 6, "{args:?}");
        assert_envelope(&json(&out), "invalid_input");
    }
    // Text mode: the error goes to stderr, stdout stays empty.
    let out = gait(dir.path(), &["keys", "verify", "--private-key", "bad.key"]);
    assert_eq!(code(&out), 6);
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keys verify error"));
    assert!(!dir.path().join("gait-out").exists());
}

#[test]
fn version_help_explain() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &["version", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let out = gait(dir.path(), &[]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("gait {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["--help"][..],
        &["keys", "init", "--help"],
        &["keys", "--explain"],
        &["keys", "init", "--out-dir", "x", "--explain"],
    ] {
        let out = gait(dir.path(), args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(!out.stdout.is_empty());
    }
    assert!(!dir.path().join("x").exists(), "--explain must not act");
}

#[test]
fn go_style_single_dash_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &["keys", "init", "-out-dir=k", "-json"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["private_key_path"], "k/gait_private.key");
}

#[test]
fn private_key_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &["keys", "init", "--out-dir", "k"]);
    assert_eq!(code(&out), 0);
    let private = std::fs::read_to_string(dir.path().join("k/gait_private.key")).unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(private.trim()));
    assert!(
        !all.contains(&private.trim()[..43]),
        "not even the seed half"
    );
}
