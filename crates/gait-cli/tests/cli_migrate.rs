//! `gait migrate` as a real process: legacy runpacks migrate and verify,
//! a migrated runpack does not change again, and every refusal of spec §8
//! has its exit code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

mod common;
use common::{exit_code as code, json_line as json, run_in as gait};

use std::path::Path;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gait-pack/tests/data/migrate");
    std::fs::create_dir_all(dir.path().join("migrate")).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join("migrate").join(p.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn migrate_verify_and_migrate_again() {
    let ws = workspace();
    let dir = ws.path();
    let out = gait(
        dir,
        &[
            "migrate",
            "--input",
            "migrate/legacy_pretty.zip",
            "--out",
            "out/m.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["status"], "migrated");
    assert_eq!(v["artifact"], "runpack");
    assert_eq!(v["input"], "migrate/legacy_pretty.zip");
    assert_eq!(v["output"], "out/m.zip");
    let verify = json(&gait(dir, &["verify", "out/m.zip", "--json"]));
    assert_eq!(verify["ok"], true);
    assert_eq!(
        verify["manifest_digest"],
        "f39d408d42316d4f9223c003d07d4d02c8ec9a08cb6e9959e308baaeac9ddacc"
    );
    // Positional input, flags after it.
    let again = gait(
        dir,
        &["migrate", "out/m.zip", "--out", "out/m2.zip", "--json"],
    );
    assert_eq!(json(&again)["status"], "no_change");
    // Text output, default output path.
    let text = gait(dir, &["migrate", "migrate/legacy_raw.zip"]);
    assert_eq!(code(&text), 0);
    let line = String::from_utf8_lossy(&text.stdout);
    assert!(
        line.starts_with("migrate ok: migrate/legacy_raw.zip -> migrate/runpack_"),
        "{line}"
    );
    assert!(
        line.trim_end().ends_with("_migrated.zip (migrated)"),
        "{line}"
    );
}

#[test]
fn dropped_signatures_are_warned_on_stderr() {
    let ws = workspace();
    let dir = ws.path();
    let out = gait(
        dir,
        &[
            "migrate",
            "--input",
            "migrate/signed_current.zip",
            "--out",
            "out/s.zip",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("signatures"));
    let out = gait(
        dir,
        &[
            "migrate",
            "--input",
            "migrate/legacy_no_capture_mode.zip",
            "--out",
            "out/n.zip",
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("stripped"));
}

#[test]
fn refusals_and_their_exit_codes() {
    let ws = workspace();
    let dir = ws.path();
    let cases: &[(&[&str], i32)] = &[
        (
            &[
                "migrate",
                "--input",
                "migrate/legacy_v0_9.zip",
                "--out",
                "out/m.zip",
                "--json",
            ],
            6,
        ),
        (
            &[
                "migrate",
                "--input",
                "migrate/migrate_duplicate_entry.zip",
                "--out",
                "out/m.zip",
                "--json",
            ],
            2,
        ),
        (
            &[
                "migrate",
                "--input",
                "migrate/legacy_pretty.zip",
                "--out",
                "migrate/legacy_pretty.zip",
                "--json",
            ],
            6,
        ),
        (
            &[
                "migrate",
                "--input",
                "migrate/legacy_pretty.zip",
                "--out",
                "./migrate/../migrate/legacy_pretty.zip",
                "--json",
            ],
            6,
        ),
        (
            &[
                "migrate",
                "--input",
                "migrate/legacy_pretty.zip",
                "--target",
                "v2",
                "--json",
            ],
            6,
        ),
        (
            &["migrate", "--input", "migrate/not_a_runpack.json", "--json"],
            6,
        ),
        (&["migrate", "run_nowhere", "--json"], 6),
        (&["migrate", "--json"], 6),
    ];
    let before = std::fs::read(dir.join("migrate/legacy_pretty.zip")).unwrap();
    for (args, want) in cases {
        let out = gait(dir, args);
        assert_eq!(
            code(&out),
            *want,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["ok"], false, "{args:?}");
        assert!(!dir.join("out/m.zip").exists(), "{args:?} wrote output");
    }
    assert_eq!(
        std::fs::read(dir.join("migrate/legacy_pretty.zip")).unwrap(),
        before
    );
    // A hash mismatch fails (the class is not pinned by the spec).
    let out = gait(
        dir,
        &[
            "migrate",
            "--input",
            "migrate/migrate_legacy_hash_mismatch.zip",
            "--out",
            "out/m.zip",
            "--json",
        ],
    );
    assert_ne!(code(&out), 0);
    assert!(!dir.join("out/m.zip").exists());
}

#[test]
fn help_and_explain() {
    let ws = workspace();
    let dir = ws.path();
    let explain = gait(dir, &["migrate", "--explain"]);
    assert_eq!(code(&explain), 0);
    assert!(String::from_utf8_lossy(&explain.stdout).contains("runpack"));
    assert_eq!(code(&gait(dir, &["migrate", "--help"])), 0);
    // A missing subcommand of `registry` prints usage and exits 6.
    assert_eq!(code(&gait(dir, &["registry"])), 6);
    assert_eq!(code(&gait(dir, &["registry", "--help"])), 0);
}
