//! `gait run reduce` through the real binary, in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn gait_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn gait_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, out, err) = gait_in(dir, args);
    let v = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{args:?}: {e}: stdout {out:?} stderr {err:?}"));
    (code, v)
}

fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-pack/tests/data/reduce")
        .join(name)
}

/// A temporary directory with `gait-out/runpack_run_red.zip` recorded in
/// raw capture.
fn recorded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(vector("run_red.json"), dir.path().join("run_raw.json")).unwrap();
    let (code, v) = gait_json(
        dir.path(),
        &["run", "record", "--input", "run_raw.json", "--json"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["manifest_digest"],
        "078fd9bb3ec8eb18af1cbefa103339022219272c40a978f461658ef1dfcfd5ea"
    );
    dir
}

#[test]
fn reduce_writes_the_runpack_and_report_beside_the_input() {
    let dir = recorded();
    let d = dir.path();
    let (code, v) = gait_json(d, &["run", "reduce", "--from", "run_red", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["input"], "gait-out/runpack_run_red.zip");
    assert_eq!(
        v["output"],
        "gait-out/runpack_run_red_reduced_missing_result.zip"
    );
    assert_eq!(
        v["report_path"],
        "gait-out/runpack_run_red_reduced_missing_result.zip.reduce_report.json"
    );
    assert_eq!(v["reduced_run_id"], "run_red_reduced_missingresult");
    assert_eq!(v["report"]["selected_intent_id"], "i_b");
    assert_eq!(v["report"]["reduced_ref_count"], 1);
    let report = std::fs::read_to_string(
        d.join("gait-out/runpack_run_red_reduced_missing_result.zip.reduce_report.json"),
    )
    .unwrap();
    assert!(!report.ends_with('\n'));
    let parsed: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(parsed, v["report"]);
    let (code, v) = gait_json(
        d,
        &[
            "verify",
            "gait-out/runpack_run_red_reduced_missing_result.zip",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        v["manifest_digest"],
        "db3a592c073dc01e0e5767e49ba7bf6df05000271aad400281ed5222b2bbec9a"
    );
    // Positional input, explicit paths, case-insensitive predicate, text output.
    let (code, out, err) = gait_in(
        d,
        &[
            "run",
            "reduce",
            "gait-out/runpack_run_red.zip",
            "--predicate",
            "NON_OK_STATUS",
            "--out",
            "out/red.zip",
            "--report-out",
            "rep.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "run reduce ok: gait-out/runpack_run_red.zip -> out/red.zip\nreport: rep.json\n"
    );
    let (_, v) = gait_json(d, &["verify", "out/red.zip", "--json"]);
    assert_eq!(
        v["manifest_digest"],
        "ebb96f6e33fc566977125b2c88c4263486ec4d99de5fd05b035aee7dc5e9e59e"
    );
}

#[test]
fn reduce_refusals_exit_6_and_write_nothing() {
    let dir = recorded();
    let d = dir.path();
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "reduce", "--json"],
            "expected --from <run_id|path>",
        ),
        (
            &[
                "run",
                "reduce",
                "gait-out/runpack_run_red.zip",
                "extra",
                "--json",
            ],
            "expected --from <run_id|path>",
        ),
        (
            &[
                "run",
                "reduce",
                "--from",
                "run_red",
                "--predicate",
                "bogus",
                "--json",
            ],
            "unsupported predicate \"bogus\"",
        ),
        (
            &["run", "reduce", "--from", "nothere.zip", "--json"],
            "runpack not found: nothere.zip",
        ),
        (
            &["run", "reduce", "--from", "run_nothere", "--json"],
            "runpack not found for run_id: run_nothere",
        ),
        (
            &[
                "run",
                "reduce",
                "--from",
                "run_red",
                "--out",
                "../escape.zip",
                "--json",
            ],
            "relative output path must not traverse parent directories",
        ),
    ];
    for (args, error) in cases {
        let (code, v) = gait_json(d, args);
        assert_eq!(code, 6, "{args:?}: {v}");
        assert_eq!(v["error_code"], "invalid_input");
        assert!(v["error"].as_str().unwrap().starts_with(error), "{v}");
    }
    assert!(!d.join("../escape.zip").exists());
    // A missing report directory is refused before the runpack is written.
    let (code, v) = gait_json(
        d,
        &[
            "run",
            "reduce",
            "--from",
            "run_red",
            "--out",
            "kept.zip",
            "--report-out",
            "no/such/rep.json",
            "--json",
        ],
    );
    assert_eq!(code, 6, "{v}");
    assert!(!d.join("kept.zip").exists());
    // A reduced runpack no longer has a missing result.
    let (code, _) = gait_json(
        d,
        &[
            "run",
            "reduce",
            "--from",
            "run_red",
            "--predicate",
            "non_ok_status",
            "--out",
            "only.zip",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let (code, v) = gait_json(d, &["run", "reduce", "--from", "only.zip", "--json"]);
    assert_eq!(code, 6);
    assert_eq!(
        v["error"],
        json!("predicate missing_result not triggered by runpack")
    );
}
