//! Turn a recorded run into a regression fixture and grade it, as
//! `gait regress bootstrap` does: the first run passes, and a fixture
//! whose expected tool sequence no longer matches fails (CI exit 5).
//!
//! Run with `cargo run -p gait-examples --example regress_from_runpack`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gait_pack::runpack::{RunRecorder, demo_input};
use gait_regress::{InitOptions, RunOptions, init_fixture, render_junit, run_regress};

/// A fresh directory under the system temp dir.
fn temp_dir(tag: &str) -> std::io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("gait-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = temp_dir("regress")?;
    let result = run(&dir);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn run(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    // The incident: a recorded run (here the offline demo run).
    let written = RunRecorder::new(demo_input("0.0.0-dev")).write_to_dir(&dir.join("gait-out"))?;
    // The fixture: fixtures/run_demo/{runpack.zip,fixture.json} and gait.yaml.
    let fixture = init_fixture(&InitOptions::new(&written.path, dir))?;
    writeln!(
        out,
        "fixture: {} ({})",
        fixture.fixture_name, fixture.runpack_path
    )?;

    let mut options = RunOptions::default();
    options.config_path = dir.join("gait.yaml").to_string_lossy().into_owned();
    options.output_path = dir
        .join("regress_result.json")
        .to_string_lossy()
        .into_owned();
    let mut progress = |done: usize, total: usize| {
        let _ = writeln!(std::io::stderr(), "graded {done}/{total}");
    };
    let pass = run_regress(&options, &mut progress)?;
    writeln!(
        out,
        "first run: {} ({} graders)",
        pass.result.status,
        pass.result.graders.len()
    )?;

    // The behaviour changes: the fixture now expects another tool first.
    let meta = dir.join("fixtures/run_demo/fixture.json");
    let text = std::fs::read_to_string(&meta)?.replace("tool.search", "tool.delete");
    std::fs::write(&meta, text)?;
    let fail = run_regress(&options, &mut progress)?;
    writeln!(
        out,
        "second run: {} (top reason: {})",
        fail.result.status,
        fail.top_failure_reason().unwrap_or_default()
    )?;
    write!(out, "{}", render_junit(&fail.result))?;
    if pass.passed() && !fail.passed() {
        Ok(())
    } else {
        Err("unexpected regress outcome".into())
    }
}
