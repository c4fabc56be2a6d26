//! The CI templates under examples/ci: the shell script is run as is, and
//! the GitHub Actions workflow is parsed and its regress step executed
//! locally with the test binary standing in for the built `gait`.

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

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A directory with the demo fixture (`gait demo`, `gait regress init`).
fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(gait(dir.path(), &["demo"]).status.code(), Some(0));
    assert_eq!(
        gait(dir.path(), &["regress", "init", "--from", "run_demo"])
            .status
            .code(),
        Some(0)
    );
    dir
}

/// Breaks the fixture: its fixture.json expects another tool sequence.
fn force_drift(dir: &Path) {
    let p = dir.join("fixtures/run_demo/fixture.json");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("tool.fetch", "tool.delete");
    std::fs::write(p, text).unwrap();
}

fn script(dir: &Path, gait_bin: &str) -> Output {
    Command::new("bash")
        .arg(repo_root().join("examples/ci/gait-regress.sh"))
        .env("GAIT", gait_bin)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn shell_script_passes_fails_and_reports_paths() {
    let dir = fixture_dir();
    let d = dir.path();
    let out = script(d, env!("CARGO_BIN_EXE_gait"));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let result: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(result["status"], "pass");
    assert_eq!(lines.next(), Some("junit: ./gait-out/junit.xml"));
    assert_eq!(lines.next(), Some("regress_result: ./regress_result.json"));
    assert!(d.join("gait-out/junit.xml").is_file());
    assert!(d.join("regress_result.json").is_file());

    force_drift(d);
    let out = script(d, env!("CARGO_BIN_EXE_gait"));
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("regression detected"));

    // No config: gait's invalid-input exit passes through.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        script(empty.path(), env!("CARGO_BIN_EXE_gait"))
            .status
            .code(),
        Some(6)
    );
    // No binary.
    assert_eq!(script(d, "/nonexistent/gait").status.code(), Some(127));
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(repo_root().join("examples/ci/github-actions.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn workflow_builds_runs_uploads_and_fails_on_5() {
    let wf = workflow();
    let steps = wf["jobs"]["regress"]["steps"].as_array().unwrap();
    let run_of = |s: &Value| s["run"].as_str().unwrap_or_default().to_owned();
    // Builds gait and exports its path.
    let build = steps
        .iter()
        .find(|s| run_of(s).contains("cargo build"))
        .unwrap();
    assert!(run_of(build).contains("-p gait-cli"));
    assert!(run_of(build).contains("GAIT="));
    // Uploads both reports even when the regress step failed.
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .unwrap();
    assert_eq!(upload["if"], "always()");
    let paths = upload["with"]["path"].as_str().unwrap();
    assert!(paths.contains("gait-out/junit.xml") && paths.contains("regress_result.json"));
    let regress = steps
        .iter()
        .find(|s| run_of(s).contains("gait-regress.sh"))
        .unwrap();
    assert_eq!(regress["working-directory"], "${{ env.GAIT_REGRESS_DIR }}");
    assert_eq!(wf["env"]["GAIT_REGRESS_DIR"], ".");

    // Execute the regress step as the runner would (bash -e), with the test
    // binary as the built gait and the fixture directory as the working
    // directory.
    let run_step = |dir: &Path| {
        Command::new("bash")
            .arg("-e")
            .arg("-c")
            .arg(run_of(regress))
            .env("GAIT", env!("CARGO_BIN_EXE_gait"))
            .env("GITHUB_WORKSPACE", repo_root())
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let dir = fixture_dir();
    let out = run_step(dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    force_drift(dir.path());
    let out = run_step(dir.path());
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stdout).contains("::error title=gait regress::"));
}
