//! `gait run reduce` (library: `gait_pack::runpack::reduce_to_files`).

use std::path::Path;

use clap::Args;
use gait_pack::runpack::{self, ReducePredicate};
use serde_json::{Map, Value};

use crate::exit::{Exit, ExitClass as _};
use crate::output::{Out, stderr_line, stdout_line};

/// `gait run reduce`
#[derive(Debug, Args)]
pub struct RunReduceArgs {
    /// The run id or runpack path (or use --from).
    #[arg(value_name = "RUN_ID|PATH", num_args = 0..)]
    pub positional: Vec<String>,
    /// The run id or runpack path.
    #[arg(long, value_name = "RUN_ID|PATH")]
    pub from: Option<String>,
    /// What still fails: missing_result (an intent without a result, the default) or non_ok_status.
    #[arg(long, value_name = "PREDICATE")]
    pub predicate: Option<String>,
    /// The reduced runpack (default: runpack_<run_id>_reduced_<predicate>.zip beside the input).
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// The reduce report (default: <out>.reduce_report.json; its directory must exist).
    #[arg(long, value_name = "PATH")]
    pub report_out: Option<String>,
}

fn fail(out: &Out, msg: &str, exit: Exit) -> Exit {
    if out.is_json() {
        return out.json_error(msg, exit);
    }
    stderr_line(&format!("run reduce error: {msg}"));
    exit
}

/// Runs `gait run reduce`.
pub fn reduce(out: &Out, a: &RunReduceArgs) -> Exit {
    let from = a.from.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let input = match (from, a.positional.as_slice()) {
        (Some(f), []) => f.to_owned(),
        (None, [p]) if !p.trim().is_empty() => p.trim().to_owned(),
        _ => return fail(out, "expected --from <run_id|path>", Exit::InvalidInput),
    };
    let predicate_text = a.predicate.as_deref().unwrap_or_default();
    let predicate = match ReducePredicate::parse(predicate_text) {
        Ok(p) => p,
        Err(e) => return fail(out, &e.to_string(), e.exit()),
    };
    let path = match runpack::resolve_runpack_path(&input) {
        Ok(p) => p,
        Err(e) => return fail(out, &e.to_string(), e.exit()),
    };
    let done = match runpack::reduce_to_files(
        &path,
        predicate,
        predicate_text,
        blank_none(a.out.as_deref()),
        blank_none(a.report_out.as_deref()),
    ) {
        Ok(d) => d,
        Err(e) => return fail(out, &e.to_string(), e.exit()),
    };
    let report = &done.reduced.report;
    let input_text = path.display().to_string();
    let output_text = done.output.display().to_string();
    let report_text = done.report_path.display().to_string();
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        m.insert("input".into(), Value::String(input_text));
        m.insert("output".into(), Value::String(output_text));
        m.insert("report_path".into(), Value::String(report_text));
        m.insert("run_id".into(), Value::String(report.run_id.clone()));
        m.insert(
            "reduced_run_id".into(),
            Value::String(report.reduced_run_id.clone()),
        );
        m.insert("predicate".into(), Value::String(report.predicate.clone()));
        match serde_json::to_value(report) {
            Ok(v) => m.insert("report".into(), v),
            Err(e) => return fail(out, &format!("encode report: {e}"), Exit::Internal),
        };
        return out.json(m, Exit::Ok);
    }
    stdout_line(&format!("run reduce ok: {input_text} -> {output_text}"));
    stdout_line(&format!("report: {report_text}"));
    Exit::Ok
}

/// A path flag, blank meaning absent.
fn blank_none(s: Option<&str>) -> Option<&Path> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(Path::new)
}
