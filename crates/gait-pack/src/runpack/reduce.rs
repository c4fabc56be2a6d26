//! `gait run reduce`: the smallest runpack that still fails.
//!
//! The intent ids of a runpack are walked in sorted order and the first
//! one the predicate holds for is kept alone: its intent, its first
//! failing result (for [`ReducePredicate::NonOkStatus`]), the receipts
//! its arguments and result refer to, and the timeline events without a
//! reference or referring to it. The reduced runpack is recorded by the
//! normal writer ([`RunRecorder`]), so it is byte-deterministic, then read
//! back and checked to still fail.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{IntentRecord, Refs, ResultRecord, Run};
use super::read::{Runpack, read_runpack};
use super::record::{CaptureMode, RecordInput, Recorded, RunRecorder};
use super::{RunpackError, SCHEMA_VERSION};

/// `schema_id` of the reduce report.
pub const REDUCE_REPORT_SCHEMA_ID: &str = "gait.runpack.reduce_report";

/// What makes a run "still failing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReducePredicate {
    /// An intent without any result (the default).
    #[default]
    MissingResult,
    /// An intent with a result whose status is not `ok`/`success`.
    NonOkStatus,
}

impl ReducePredicate {
    /// `missing_result` or `non_ok_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReducePredicate::MissingResult => "missing_result",
            ReducePredicate::NonOkStatus => "non_ok_status",
        }
    }

    /// Parses a predicate name (trimmed, any letter case); blank is the
    /// default.
    pub fn parse(text: &str) -> Result<Self, RunpackError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Self::default());
        }
        [ReducePredicate::MissingResult, ReducePredicate::NonOkStatus]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| RunpackError::Invalid(format!("unsupported predicate {t:?}")))
    }

    /// Whether the predicate holds for intent `id`.
    fn holds(self, id: &str, results: &[ResultRecord]) -> bool {
        let mut of_intent = results.iter().filter(|r| r.intent_id == id);
        match self {
            ReducePredicate::MissingResult => of_intent.next().is_none(),
            ReducePredicate::NonOkStatus => of_intent.any(is_not_ok),
        }
    }
}

fn is_not_ok(r: &ResultRecord) -> bool {
    let s = r.status.trim();
    !(s.eq_ignore_ascii_case("ok") || s.eq_ignore_ascii_case("success"))
}

/// `gait.runpack.reduce_report` 1.0.0 (fields in the report's order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReduceReport {
    /// [`REDUCE_REPORT_SCHEMA_ID`].
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// The input run's `created_at`, in UTC.
    pub created_at: gait_digest::GoTime,
    /// The input run's producer version.
    pub producer_version: String,
    /// The input run id.
    pub run_id: String,
    /// The reduced run id.
    pub reduced_run_id: String,
    /// The predicate's name.
    pub predicate: String,
    /// The intent kept.
    pub selected_intent_id: String,
    /// Intents in the input.
    pub original_intent_count: usize,
    /// Intents kept (1).
    pub reduced_intent_count: usize,
    /// Results in the input.
    pub original_result_count: usize,
    /// Results kept.
    pub reduced_result_count: usize,
    /// Receipts in the input.
    pub original_ref_count: usize,
    /// Receipts kept.
    pub reduced_ref_count: usize,
    /// The reduced runpack still fails (always true in a report).
    pub still_failing: bool,
}

impl ReduceReport {
    /// The report file's bytes: compact JSON in field order, no newline.
    pub fn to_json(&self) -> Result<Vec<u8>, RunpackError> {
        serde_json::to_vec(self)
            .map_err(|e| RunpackError::Internal(format!("encode reduce report: {e}")))
    }
}

/// A reduced runpack, in memory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reduced {
    /// The recorded runpack.
    pub recorded: Recorded,
    /// The report.
    pub report: ReduceReport,
}

/// `<id>_reduced_<predicate without underscores>`, with `run_` prefixed
/// to an id that lacks it.
pub fn reduced_run_id(run_id: &str, predicate: ReducePredicate) -> String {
    let base = if run_id.starts_with("run_") {
        run_id.to_owned()
    } else {
        format!("run_{run_id}")
    };
    format!("{base}_reduced_{}", predicate.as_str().replace('_', ""))
}

/// Reduces a runpack read with [`read_runpack`], in memory.
pub fn reduce_runpack(pack: &Runpack, predicate: ReducePredicate) -> Result<Reduced, RunpackError> {
    let ids: BTreeSet<&str> = pack
        .intents
        .iter()
        .map(|i| i.intent_id.as_str())
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(RunpackError::Invalid(
            "runpack has no intent IDs".to_owned(),
        ));
    }
    let Some(selected) = ids
        .into_iter()
        .find(|id| predicate.holds(id, &pack.results))
    else {
        return Err(not_triggered(predicate));
    };
    let new_id = reduced_run_id(&pack.run.run_id, predicate);

    let mut run: Run = pack.run.clone();
    run.run_id.clone_from(&new_id);
    if let Some(timeline) = run.timeline.as_mut() {
        timeline.retain(|e| e.reference.is_empty() || e.reference == selected);
    }
    let mut intents: Vec<IntentRecord> = pack
        .intents
        .iter()
        .find(|i| i.intent_id == selected)
        .cloned()
        .into_iter()
        .collect();
    for i in &mut intents {
        i.run_id.clone_from(&new_id);
    }
    let mut results: Vec<ResultRecord> = match predicate {
        ReducePredicate::MissingResult => Vec::new(),
        ReducePredicate::NonOkStatus => pack
            .results
            .iter()
            .find(|r| r.intent_id == selected && is_not_ok(r))
            .cloned()
            .into_iter()
            .collect(),
    };
    for r in &mut results {
        r.run_id.clone_from(&new_id);
    }
    let mut wanted = BTreeSet::new();
    for i in &intents {
        if let Some(args) = &i.args {
            collect_refs(args, &mut wanted);
        }
    }
    for r in &results {
        if let Some(payload) = &r.result {
            collect_refs(payload, &mut wanted);
        }
    }
    let mut refs: Refs = pack.refs.clone();
    refs.run_id.clone_from(&new_id);
    refs.receipts.retain(|r| wanted.contains(r.ref_id.as_str()));
    refs.receipts.sort_by(|a, b| a.ref_id.cmp(&b.ref_id));
    // The context fields (set digest, mode, `context_ref_count`) are the
    // input's, as the reference writes them: the count keeps describing
    // the original context set, and the manifest digest depends on it.

    let capture = if pack.manifest.capture_mode.trim().is_empty() {
        CaptureMode::Reference
    } else {
        CaptureMode::parse(&pack.manifest.capture_mode)?
    };
    let report = ReduceReport {
        schema_id: REDUCE_REPORT_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        created_at: pack.run.created_at.to_utc(),
        producer_version: pack.run.producer_version.clone(),
        run_id: pack.run.run_id.clone(),
        reduced_run_id: new_id,
        predicate: predicate.as_str().to_owned(),
        selected_intent_id: selected.to_owned(),
        original_intent_count: pack.intents.len(),
        reduced_intent_count: intents.len(),
        original_result_count: pack.results.len(),
        reduced_result_count: results.len(),
        original_ref_count: pack.refs.receipts.len(),
        reduced_ref_count: refs.receipts.len(),
        still_failing: true,
    };
    let input = RecordInput {
        run,
        intents,
        results,
        refs,
        capture_mode: capture.as_str().to_owned(),
        ..RecordInput::default()
    };
    let recorded = RunRecorder::new(input).capture_mode(capture).record()?;
    Ok(Reduced { recorded, report })
}

fn not_triggered(predicate: ReducePredicate) -> RunpackError {
    RunpackError::Invalid(format!(
        "predicate {} not triggered by runpack",
        predicate.as_str()
    ))
}

/// Receipt ids a payload refers to: string values under a member whose
/// lower-case name contains `ref` (directly, or as items of an array
/// there), and any string starting with `ref_`, at any depth. The walk
/// is iterative.
fn collect_refs(payload: &Map<String, Value>, out: &mut BTreeSet<String>) {
    let mut stack: Vec<(&Value, bool)> = payload
        .iter()
        .map(|(k, v)| (v, k.to_lowercase().contains("ref")))
        .collect();
    while let Some((v, under_ref_key)) = stack.pop() {
        match v {
            Value::String(s) => {
                if under_ref_key || s.starts_with("ref_") {
                    out.insert(s.clone());
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, under_ref_key))),
            Value::Object(m) => {
                stack.extend(m.iter().map(|(k, v)| (v, k.to_lowercase().contains("ref"))))
            }
            _ => {}
        }
    }
}

/// Where `reduce` writes, and what it wrote.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReduceOutput {
    /// The reduced runpack's path.
    pub output: PathBuf,
    /// The report's path.
    pub report_path: PathBuf,
    /// The reduction.
    pub reduced: Reduced,
}

/// `<dir of input>/runpack_<run id>_reduced_<predicate>.zip`, with the
/// predicate as the user wrote it (`predicate_text`, trimmed) when given.
pub fn default_reduced_path(input: &Path, run_id: &str, predicate_text: &str) -> PathBuf {
    let name = format!("runpack_{run_id}_reduced_{}.zip", predicate_text.trim());
    match input.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

fn refuse_parent_traversal(path: &Path) -> Result<(), RunpackError> {
    if path.is_relative() && path.components().any(|c| c == Component::ParentDir) {
        return Err(RunpackError::Invalid(format!(
            "relative output path must not traverse parent directories: {}",
            path.display()
        )));
    }
    Ok(())
}

/// `gait run reduce`: reads `input` strictly, reduces it, then writes the
/// runpack to `out` (default [`default_reduced_path`]; its directories are
/// created) and the report to `report_out` (default
/// `<out>.reduce_report.json`; its directory must exist), both atomically
/// with mode 0600, and reads the runpack back to check that it still
/// fails. Every path check happens before anything is written, so a bad
/// report path leaves no runpack behind.
pub fn reduce_to_files(
    input: &Path,
    predicate: ReducePredicate,
    predicate_text: &str,
    out: Option<&Path>,
    report_out: Option<&Path>,
) -> Result<ReduceOutput, RunpackError> {
    let pack = read_runpack(input)?;
    let reduced = reduce_runpack(&pack, predicate)?;
    let name_text = if predicate_text.trim().is_empty() {
        predicate.as_str()
    } else {
        predicate_text
    };
    let output = match out {
        Some(p) => p.to_path_buf(),
        None => default_reduced_path(input, &pack.run.run_id, name_text),
    };
    refuse_parent_traversal(&output)?;
    let report_path = match report_out {
        Some(p) => p.to_path_buf(),
        None => {
            let mut s = output.clone().into_os_string();
            s.push(".reduce_report.json");
            PathBuf::from(s)
        }
    };
    refuse_parent_traversal(&report_path)?;
    let out_dir = output.parent().filter(|d| !d.as_os_str().is_empty());
    // The report's directory must exist, unless it is created for the
    // runpack (the runpack's directory or one of its parents).
    if let Some(dir) = report_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let created = out_dir.is_some_and(|o| o.starts_with(dir));
        if !created && !dir.is_dir() {
            return Err(RunpackError::Invalid(format!(
                "open {}: no such file or directory",
                report_path.display()
            )));
        }
    }
    if let Some(dir) = out_dir {
        gait_sign::create_private_dir(dir)
            .map_err(|e| RunpackError::Io(format!("create output directory: {e}")))?;
    }
    gait_sign::write_file_atomic(
        &output,
        &reduced.recorded.zip,
        gait_sign::PRIVATE_FILE_MODE,
        true,
    )
    .map_err(|e| RunpackError::Io(format!("write reduced runpack: {e}")))?;
    let again = read_runpack(&output)?;
    let still = again
        .intents
        .iter()
        .any(|i| i.intent_id == reduced.report.selected_intent_id)
        && predicate.holds(&reduced.report.selected_intent_id, &again.results);
    if !still {
        return Err(RunpackError::Internal(format!(
            "reduced runpack no longer satisfies predicate {}",
            predicate.as_str()
        )));
    }
    gait_sign::write_file_atomic(
        &report_path,
        &reduced.report.to_json()?,
        gait_sign::PRIVATE_FILE_MODE,
        true,
    )
    .map_err(|e| RunpackError::Io(format!("write reduce report: {e}")))?;
    Ok(ReduceOutput {
        output,
        report_path,
        reduced,
    })
}
