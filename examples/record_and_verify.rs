//! Record a run into a signed runpack and verify it offline.
//!
//! Run with `cargo run -p gait-examples --example record_and_verify`.

use std::io::Write as _;
use std::path::PathBuf;

use gait_pack::runpack::{RecordInput, RunRecorder, VerifyOptions, verify_runpack_file};
use gait_sign::{SigningKey, Trace};

/// One intent answered by one result, with a reference receipt.
const INPUT: &str = r#"{
  "run": {"run_id": "run_example", "created_at": "2026-02-14T00:00:00Z"},
  "intents": [{"intent_id": "intent_1", "tool_name": "tool.echo", "args": {"message": "hi"}}],
  "results": [{"intent_id": "intent_1", "status": "ok", "result": {"message": "hi"}}],
  "refs": {"receipts": [{"ref_id": "ref_1", "source_type": "example", "source_locator": "tool.echo", "query_digest": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "content_digest": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "redaction_mode": "reference"}]}
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
    let dir = temp_dir("record")?;
    let result = run(&dir);
    // Clean up whether or not the run succeeded.
    std::fs::remove_dir_all(&dir)?;
    result
}

fn run(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::<Trace>::generate()?;
    let input = RecordInput::from_json(INPUT.as_bytes())?;
    let written = RunRecorder::new(input).sign_with(&key).write_to_dir(dir)?;

    let options = VerifyOptions::new(Some(key.verifying_key().clone()), true);
    let report = verify_runpack_file(&written.path, &options)?;
    let ok = report.is_ok(true);

    let mut out = std::io::stdout().lock();
    writeln!(out, "runpack: {}", written.path.display())?;
    writeln!(out, "run_id: {}", report.run_id)?;
    writeln!(out, "manifest_digest: {}", report.manifest_digest)?;
    writeln!(
        out,
        "status: {} (signature {}, {} files checked)",
        if ok { "verified" } else { "failed" },
        report.signature_status.as_str(),
        report.files_checked
    )?;
    if !ok {
        return Err("runpack failed verification".into());
    }
    Ok(())
}
