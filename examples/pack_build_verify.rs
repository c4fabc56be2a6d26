//! Record a runpack, build a PackSpec run pack from it and verify the pack.
//!
//! Run with `cargo run -p gait-examples --example pack_build_verify`.

use std::io::Write as _;
use std::path::PathBuf;

use gait_pack::pack::{BuildOptions, VerifyOptions, build_run_pack, verify_pack};
use gait_pack::runpack::{RecordInput, RunRecorder};
use gait_sign::{SigningKey, Trace};

const INPUT: &str = r#"{
  "run": {"run_id": "run_pack_example", "created_at": "2026-02-14T00:00:00Z"},
  "intents": [{"intent_id": "intent_1", "tool_name": "tool.search", "args": {"query": "gait"}}],
  "results": [{"intent_id": "intent_1", "status": "ok", "result": {"hits": 3}}]
}"#;

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
    let dir = temp_dir("pack")?;
    let result = run(&dir);
    // Clean up whether or not the run succeeded.
    std::fs::remove_dir_all(&dir)?;
    result
}

fn run(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::<Trace>::generate()?;
    let input = RecordInput::from_json(INPUT.as_bytes())?;
    let runpack = RunRecorder::new(input).sign_with(&key).write_to_dir(dir)?;

    // The pack is signed with the same key; the builder takes ownership.
    let public_key = key.verifying_key().clone();
    let options = BuildOptions {
        output_path: Some(dir.join("pack_example.zip")),
        signing_key: Some(key),
        ..BuildOptions::default()
    };
    let built = build_run_pack(&runpack.path, &options)?;

    let verify = VerifyOptions {
        public_key: Some(public_key),
        require_signature: true,
    };
    let report = verify_pack(&built.path, &verify)?;
    let ok = report.ok(true);

    let mut out = std::io::stdout().lock();
    writeln!(out, "pack: {}", built.path.display())?;
    writeln!(out, "pack_id: {}", report.pack_id)?;
    writeln!(
        out,
        "pack_type: {} source_ref: {}",
        report.pack_type, report.source_ref
    )?;
    writeln!(
        out,
        "status: {} (signature {}, {} files, {} proof records)",
        if ok { "verified" } else { "failed" },
        report.signature_status,
        report.files_checked,
        report.proof_records
    )?;
    if !ok {
        return Err("pack failed verification".into());
    }
    Ok(())
}
