//! `regress run`: load fixtures, run the graders, write the results.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::Path;

use gait_digest::GoTime;
use gait_pack::runpack::{
    DiffPrivacy, INTENT_SCHEMA_ID, MANIFEST_SCHEMA_ID, REFS_SCHEMA_ID, RESULT_SCHEMA_ID,
    RUN_SCHEMA_ID, Runpack, SCHEMA_VERSION, VerifyOptions, diff_runpack_contents,
    read_runpack_from, replay_pack, verify_runpack,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::RegressError;
use crate::fixture::{CONFIG_FILE, FIXTURE_FILE, FixtureMeta, read_config, read_fixture_meta};
use crate::init::MAX_SOURCE_BYTES;
use crate::io::{go_dir, go_join, read_bounded, to_go_indented_json, write_atomic};
use crate::junit::render_junit;

/// `regress_result.json` `schema_id`.
pub const RESULT_SCHEMA_ID_REGRESS: &str = "gait.regress.result";
/// Where results go by default.
pub const DEFAULT_OUTPUT: &str = "regress_result.json";
/// The `status` of a result or grader: `pass` or `fail` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every check held.
    Pass,
    /// At least one check failed (a regression: exit 5).
    Fail,
}

impl Status {
    /// `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The replay exit code when results are missing.
const REPLAY_MISSING_EXIT: i64 = 2;

/// How to run the fixtures.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunOptions {
    /// The regress config (`gait.yaml`).
    pub config_path: String,
    /// Where to write `regress_result.json`.
    pub output_path: String,
    /// Where to write JUnit XML, if anywhere.
    pub junit_path: Option<String>,
    /// The directory fixture paths are relative to (default: the config's
    /// directory).
    pub work_dir: Option<String>,
    /// The version recorded as `producer_version`.
    pub producer_version: String,
    /// Allow non-deterministic graders (there are none at present).
    pub allow_nondeterministic: bool,
    /// Run the context conformance grader for every fixture.
    pub context_conformance: bool,
    /// Accept runtime-only context drift.
    pub allow_context_runtime_drift: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            config_path: CONFIG_FILE.to_owned(),
            output_path: DEFAULT_OUTPUT.to_owned(),
            junit_path: None,
            work_dir: None,
            producer_version: gait_pack::runpack::DEFAULT_PRODUCER_VERSION.to_owned(),
            allow_nondeterministic: false,
            context_conformance: false,
            allow_context_runtime_drift: false,
        }
    }
}

/// `regress_result.json` (fields in the reference's order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RegressResult {
    /// `gait.regress.result`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// The first fixture's run `created_at` (UTC); `1980-01-01T00:00:00Z`
    /// when it cannot be read. Never the wall clock, so results are
    /// byte-stable.
    pub created_at: String,
    /// The producing Gait's version.
    pub producer_version: String,
    /// The fixture set.
    pub fixture_set: String,
    /// `pass` or `fail`.
    pub status: Status,
    /// One result per fixture and grader, sorted by name.
    pub graders: Vec<GraderResult>,
}

/// One grader's verdict on one fixture.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GraderResult {
    /// `<fixture>/<grader>`.
    pub name: String,
    /// `pass` or `fail`.
    pub status: Status,
    /// Sorted, deduplicated reason codes.
    pub reason_codes: Vec<String>,
    /// `none`, `runtime_only`, `semantic` or `missing` (context grader).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context_conformance: String,
    /// Grader details, plus `fixture` and `run_id`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Value>,
}

impl GraderResult {
    fn new(name: &str, status: Status, reasons: &[&str], details: BTreeMap<String, Value>) -> Self {
        Self {
            name: name.to_owned(),
            status,
            reason_codes: reasons.iter().map(|s| (*s).to_owned()).collect(),
            context_conformance: String::new(),
            details,
        }
    }

    fn fail(name: &str, reason: &str, details: BTreeMap<String, Value>) -> Self {
        Self::new(name, Status::Fail, &[reason], details)
    }

    fn with_context(mut self, c: &str) -> Self {
        self.context_conformance = c.to_owned();
        self
    }

    /// Whether the grader passed.
    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }
}

/// The outcome of [`run_regress`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunResult {
    /// What was written to the output file.
    pub result: RegressResult,
    /// The output file.
    pub output_path: String,
    /// The JUnit file, if written.
    pub junit_path: Option<String>,
    /// Failed graders.
    pub failed: usize,
}

impl RunResult {
    /// Whether every grader passed.
    pub fn passed(&self) -> bool {
        self.result.status == Status::Pass
    }

    /// The first reason code of the first failing grader (by name).
    pub fn top_failure_reason(&self) -> Option<String> {
        self.result.graders.iter().find(|g| !g.passed()).map(|g| {
            g.reason_codes
                .first()
                .cloned()
                .unwrap_or_else(|| "grader_failed".to_owned())
        })
    }
}

fn details(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn error_details(e: &str) -> BTreeMap<String, Value> {
    details(&[("error", json!(e))])
}

/// A runpack read from disk: the bytes and the strict read of them.
#[derive(Debug)]
struct Loaded {
    bytes: Vec<u8>,
    pack: Result<Runpack, String>,
}

impl Loaded {
    fn read(path: &str) -> Result<Self, RegressError> {
        let bytes = read_bounded(Path::new(path), "runpack", MAX_SOURCE_BYTES)?;
        let pack = read_runpack_from(Cursor::new(&bytes)).map_err(|e| e.to_string());
        Ok(Self { bytes, pack })
    }
}

/// One fixture as configured: metadata checked, files located. Its
/// runpacks are read only when it is graded, so memory stays bounded by
/// the largest fixture, not the sum of all.
#[derive(Debug)]
struct FixtureSpec {
    name: String,
    meta: FixtureMeta,
    runpack_path: String,
    /// The candidate runpack path (`None`: the fixture runpack itself);
    /// `Err` a candidate path that does not resolve.
    candidate_path: Result<Option<String>, String>,
}

/// One fixture, loaded.
#[derive(Debug)]
struct Fixture {
    name: String,
    run_id: String,
    meta: FixtureMeta,
    source: Loaded,
    /// The candidate path and its runpack; `None` inside means the fixture
    /// runpack itself; `Err` a candidate path that does not resolve.
    candidate: Result<(String, Option<Loaded>), String>,
}

impl Fixture {
    fn candidate(&self) -> Result<(&str, &Result<Runpack, String>), String> {
        match &self.candidate {
            Ok((path, Some(l))) => Ok((path, &l.pack)),
            Ok((path, None)) => Ok((path, &self.source.pack)),
            Err(e) => Err(e.clone()),
        }
    }
}

impl FixtureSpec {
    /// Reads the runpacks. A runpack that reads but names another run is
    /// a configuration error; one that does not read is graded.
    fn load(&self) -> Result<Fixture, RegressError> {
        let source = Loaded::read(&self.runpack_path)?;
        if let Ok(pack) = &source.pack {
            if pack.run.run_id != self.meta.run_id {
                return Err(RegressError::invalid(format!(
                    "runpack run_id mismatch for {}",
                    self.name
                )));
            }
        }
        let candidate = match &self.candidate_path {
            Ok(None) => Ok((self.runpack_path.clone(), None)),
            Ok(Some(p)) => Ok((p.clone(), Some(Loaded::read(p)?))),
            Err(e) => Err(e.clone()),
        };
        Ok(Fixture {
            name: self.name.clone(),
            run_id: self.meta.run_id.clone(),
            meta: self.meta.clone(),
            source,
            candidate,
        })
    }
}

fn load_fixtures(
    config_path: &str,
    work_dir: &str,
) -> Result<(String, Vec<FixtureSpec>), RegressError> {
    let cfg = read_config(Path::new(config_path))?;
    let mut out = Vec::with_capacity(cfg.fixtures.len());
    for f in &cfg.fixtures {
        let runpack_path = go_join(work_dir, &f.runpack);
        if !Path::new(&runpack_path).is_file() {
            return Err(RegressError::invalid(format!(
                "fixture runpack missing for {}: {runpack_path}",
                f.name
            )));
        }
        let fixture_dir = go_dir(&runpack_path);
        let meta_path = go_join(&fixture_dir, FIXTURE_FILE);
        let mut meta = read_fixture_meta(Path::new(&meta_path)).map_err(|e| {
            RegressError::invalid(format!("read fixture metadata for {}: {e}", f.name))
        })?;
        if meta.name != f.name {
            return Err(RegressError::invalid(format!(
                "fixture metadata name mismatch for {}",
                f.name
            )));
        }
        if !f.run_id.is_empty() && meta.run_id != f.run_id {
            return Err(RegressError::invalid(format!(
                "fixture run_id mismatch for {}",
                f.name
            )));
        }
        meta.diff_allow_changed_files = unique_sorted(&meta.diff_allow_changed_files);
        let candidate_path = match meta.candidate_runpack.trim() {
            "" => Ok(None),
            c => {
                let path = go_join(&fixture_dir, c);
                if Path::new(&path).is_file() {
                    Ok(Some(path))
                } else {
                    Err(format!("candidate runpack not found: {path}"))
                }
            }
        };
        out.push(FixtureSpec {
            name: f.name.clone(),
            meta,
            runpack_path,
            candidate_path,
        });
    }
    Ok((cfg.fixture_set, out))
}

/// Runs every configured fixture through the graders and writes
/// `regress_result.json` (and JUnit XML when asked). `progress` is called
/// with (fixtures done, fixtures total) after each fixture.
///
/// A regression is not an error: the result's status is `fail`. Errors
/// are for configs and fixtures that cannot be loaded, and for writes.
pub fn run_regress(
    opts: &RunOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RunResult, RegressError> {
    let work_dir = opts
        .work_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| go_dir(&opts.config_path));
    let (fixture_set, fixtures) = load_fixtures(&opts.config_path, &work_dir)?;
    if fixtures.is_empty() {
        return Err(RegressError::invalid(format!(
            "no fixtures configured in {}",
            opts.config_path
        )));
    }
    let graders = graders_for(opts, &fixtures);
    if !opts.allow_nondeterministic {
        if let Some(g) = graders.iter().find(|g| !g.deterministic()) {
            return Err(RegressError::invalid(format!(
                "non-deterministic grader blocked: {}",
                g.name()
            )));
        }
    }
    let total = fixtures.len();
    let mut results = Vec::with_capacity(total.saturating_mul(graders.len()));
    let mut created_at = None;
    for (done, spec) in fixtures.iter().enumerate() {
        let fixture = spec.load()?;
        if created_at.is_none() {
            created_at = Some(
                fixture
                    .source
                    .pack
                    .as_ref()
                    .map(|p| p.run.created_at.to_utc())
                    .ok()
                    .filter(|t| !t.is_zero())
                    .unwrap_or_else(|| GoTime::from_unix(315_532_800, 0)),
            );
        }
        for g in &graders {
            let mut r = g.grade(&fixture);
            if r.name.is_empty() {
                r.name = g.name().to_owned();
            }
            r.name = format!("{}/{}", fixture.name, r.name);
            r.reason_codes = unique_sorted(&r.reason_codes);
            r.details.insert("fixture".into(), json!(fixture.name));
            r.details.insert("run_id".into(), json!(fixture.run_id));
            results.push(r);
        }
        progress(done.saturating_add(1), total);
    }
    results.sort_by(|a, b| a.name.cmp(&b.name));
    let failed = results.iter().filter(|r| !r.passed()).count();
    let created_at = created_at.unwrap_or_else(|| GoTime::from_unix(315_532_800, 0));
    let result = RegressResult {
        schema_id: RESULT_SCHEMA_ID_REGRESS.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        created_at: created_at.format(),
        producer_version: if opts.producer_version.is_empty() {
            gait_pack::runpack::DEFAULT_PRODUCER_VERSION.to_owned()
        } else {
            opts.producer_version.clone()
        },
        fixture_set,
        status: if failed > 0 {
            Status::Fail
        } else {
            Status::Pass
        },
        graders: results,
    };
    write_atomic(
        Path::new(&opts.output_path),
        &to_go_indented_json(&result)?,
        "regress result",
    )?;
    let junit_path = opts
        .junit_path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    if let Some(j) = &junit_path {
        write_atomic(
            Path::new(j),
            render_junit(&result).as_bytes(),
            "junit report",
        )?;
    }
    Ok(RunResult {
        result,
        output_path: opts.output_path.clone(),
        junit_path,
        failed,
    })
}

fn graders_for(opts: &RunOptions, fixtures: &[FixtureSpec]) -> Vec<Box<dyn Grader>> {
    let mut graders: Vec<Box<dyn Grader>> = vec![
        Box::new(SchemaValidation),
        Box::new(ExpectedExitCode),
        Box::new(Trajectory),
        Box::new(Diff),
    ];
    let context = opts.context_conformance
        || fixtures.iter().any(|f| {
            !f.meta.context_conformance.is_empty()
                || !f.meta.expected_context_set_digest.is_empty()
                || f.meta.allow_context_runtime_drift
        });
    if context {
        graders.push(Box::new(ContextConformance {
            enforce: opts.context_conformance,
            allow_runtime_drift: opts.allow_context_runtime_drift,
        }));
    }
    graders
}

/// Items trimmed, empty ones dropped, sorted and deduplicated.
fn unique_sorted(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

trait Grader {
    fn name(&self) -> &'static str;
    fn deterministic(&self) -> bool {
        true
    }
    fn grade(&self, fixture: &Fixture) -> GraderResult;
}

/// Integrity (verify), strict read and schema ids of the fixture runpack.
struct SchemaValidation;

impl Grader for SchemaValidation {
    fn name(&self) -> &'static str {
        "schema_validation"
    }

    fn grade(&self, f: &Fixture) -> GraderResult {
        let name = self.name();
        let report = match verify_runpack(Cursor::new(&f.source.bytes), &VerifyOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                return GraderResult::fail(
                    name,
                    "schema_validation_error",
                    error_details(&e.to_string()),
                );
            }
        };
        let mut reasons = Vec::new();
        if !report.missing_files.is_empty() {
            reasons.push("missing_files");
        }
        if !report.hash_mismatches.is_empty() {
            reasons.push("hash_mismatch");
        }
        let pack = match &f.source.pack {
            Ok(p) => p,
            Err(e) => {
                reasons.push("runpack_parse_error");
                return GraderResult::new(name, Status::Fail, &reasons, error_details(e));
            }
        };
        let ids = |id: &str, v: &str, want: &str| id == want && v == SCHEMA_VERSION;
        if !ids(
            &pack.manifest.schema_id,
            &pack.manifest.schema_version,
            MANIFEST_SCHEMA_ID,
        ) {
            reasons.push("manifest_schema_invalid");
        }
        if !ids(&pack.run.schema_id, &pack.run.schema_version, RUN_SCHEMA_ID) {
            reasons.push("run_schema_invalid");
        }
        if !ids(
            &pack.refs.schema_id,
            &pack.refs.schema_version,
            REFS_SCHEMA_ID,
        ) {
            reasons.push("refs_schema_invalid");
        }
        if pack
            .intents
            .iter()
            .any(|i| !ids(&i.schema_id, &i.schema_version, INTENT_SCHEMA_ID))
        {
            reasons.push("intent_schema_invalid");
        }
        if pack
            .results
            .iter()
            .any(|r| !ids(&r.schema_id, &r.schema_version, RESULT_SCHEMA_ID))
        {
            reasons.push("result_schema_invalid");
        }
        let missing = if report.missing_files.is_empty() {
            Value::Null
        } else {
            json!(report.missing_files)
        };
        let d = details(&[
            ("missing_files", missing),
            ("hash_mismatches", json!(report.hash_mismatches.len())),
            ("intent_records", json!(pack.intents.len())),
            ("result_records", json!(pack.results.len())),
            ("reference_receipts", json!(pack.refs.receipts.len())),
        ]);
        let status = if reasons.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        };
        GraderResult::new(name, status, &reasons, d)
    }
}

/// Stub replay exits as the fixture expects (2 when results are missing).
struct ExpectedExitCode;

impl Grader for ExpectedExitCode {
    fn name(&self) -> &'static str {
        "expected_exit_code"
    }

    fn grade(&self, f: &Fixture) -> GraderResult {
        let name = self.name();
        let replay = match &f.source.pack {
            Ok(p) => replay_pack(p, None).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        let replay = match replay {
            Ok(r) => r,
            Err(e) => return GraderResult::fail(name, "replay_error", error_details(&e)),
        };
        let expected = f.meta.expected_replay_exit_code;
        let actual = if replay.missing_results.is_empty() {
            0
        } else {
            REPLAY_MISSING_EXIT
        };
        let d = details(&[
            ("expected_exit_code", json!(expected)),
            ("actual_exit_code", json!(actual)),
            ("missing_results", json!(replay.missing_results)),
        ]);
        if actual == expected {
            GraderResult::new(name, Status::Pass, &[], d)
        } else {
            GraderResult::new(name, Status::Fail, &["unexpected_exit_code"], d)
        }
    }
}

/// Tool and verdict sequences of the candidate match the fixture's.
struct Trajectory;

fn first_mismatch(expected: &[String], actual: &[String]) -> (i64, String, String) {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if e != a {
            return (i64::try_from(i).unwrap_or(i64::MAX), e.clone(), a.clone());
        }
    }
    let idx = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match (expected.get(actual.len()), actual.get(expected.len())) {
        (Some(e), _) => (idx(actual.len()), e.clone(), "<missing>".to_owned()),
        (_, Some(a)) => (idx(expected.len()), "<missing>".to_owned(), a.clone()),
        _ => (-1, "<none>".to_owned(), "<none>".to_owned()),
    }
}

impl Grader for Trajectory {
    fn name(&self) -> &'static str {
        "trajectory"
    }

    fn grade(&self, f: &Fixture) -> GraderResult {
        let name = self.name();
        let (path, pack) = match f.candidate() {
            Ok(c) => c,
            Err(e) => return GraderResult::fail(name, "candidate_path_invalid", error_details(&e)),
        };
        let pack = match pack {
            Ok(p) => p,
            Err(e) => {
                return GraderResult::fail(name, "candidate_runpack_invalid", error_details(e));
            }
        };
        let expected_tools = crate::fixture::normalize_sequence(&f.meta.expected_tool_sequence);
        let expected_verdicts = &f.meta.expected_verdict_sequence;
        let actual_tools = crate::fixture::tool_sequence(pack);
        let actual_verdicts = crate::fixture::verdict_sequence(pack);
        let mut d = details(&[
            ("candidate_runpack", json!(path)),
            ("expected_tool_sequence", json!(expected_tools)),
            ("actual_tool_sequence", json!(actual_tools)),
            ("expected_verdict_sequence", json!(expected_verdicts)),
            ("actual_verdict_sequence", json!(actual_verdicts)),
        ]);
        let mut reasons = Vec::new();
        if !expected_tools.is_empty() && expected_tools != actual_tools {
            reasons.push("unexpected_tool_sequence");
            let (i, e, a) = first_mismatch(&expected_tools, &actual_tools);
            d.insert("tool_sequence_mismatch_index".into(), json!(i));
            d.insert("tool_sequence_expected_at_mismatch".into(), json!(e));
            d.insert("tool_sequence_actual_at_mismatch".into(), json!(a));
        }
        if !expected_verdicts.is_empty() && *expected_verdicts != actual_verdicts {
            reasons.push("unexpected_verdict_sequence");
            let (i, e, a) = first_mismatch(expected_verdicts, &actual_verdicts);
            d.insert("verdict_sequence_mismatch_index".into(), json!(i));
            d.insert("verdict_sequence_expected_at_mismatch".into(), json!(e));
            d.insert("verdict_sequence_actual_at_mismatch".into(), json!(a));
        }
        if !reasons.is_empty() {
            return GraderResult::new(name, Status::Fail, &reasons, d);
        }
        let pass = if expected_tools.is_empty() && expected_verdicts.is_empty() {
            "trajectory_not_required"
        } else {
            "trajectory_match"
        };
        GraderResult::new(name, Status::Pass, &[pass], d)
    }
}

/// The candidate differs from the fixture only in allowed files.
struct Diff;

impl Grader for Diff {
    fn name(&self) -> &'static str {
        "diff"
    }

    fn grade(&self, f: &Fixture) -> GraderResult {
        let name = self.name();
        let (path, candidate) = match f.candidate() {
            Ok(c) => c,
            Err(e) => return GraderResult::fail(name, "candidate_path_invalid", error_details(&e)),
        };
        let (source, candidate) = match (&f.source.pack, candidate) {
            (Ok(s), Ok(c)) => (s, c),
            (Err(e), _) | (_, Err(e)) => {
                return GraderResult::fail(name, "diff_error", error_details(e));
            }
        };
        let s = diff_runpack_contents(source, candidate, DiffPrivacy::Full).summary;
        let mut changed: Vec<String> = s.files_changed.clone();
        for (flag, file) in [
            (s.manifest_changed, "manifest.json"),
            (s.intents_changed, "intents.jsonl"),
            (s.results_changed, "results.jsonl"),
            (s.refs_changed, "refs.json"),
        ] {
            if flag {
                changed.push(file.to_owned());
            }
        }
        let changed = unique_sorted(&changed);
        let allowed = &f.meta.diff_allow_changed_files;
        let unexpected: Vec<&String> = changed.iter().filter(|c| !allowed.contains(c)).collect();
        let mut d = details(&[
            ("candidate_runpack", json!(path)),
            ("changed_files", json!(changed)),
            ("allowed_files", json!(allowed)),
        ]);
        if unexpected.is_empty() {
            GraderResult::new(name, Status::Pass, &[], d)
        } else {
            d.insert("unexpected_files".into(), json!(unexpected));
            GraderResult::new(name, Status::Fail, &["unexpected_diff"], d)
        }
    }
}

/// The candidate's context evidence matches the fixture's.
struct ContextConformance {
    enforce: bool,
    allow_runtime_drift: bool,
}

impl Grader for ContextConformance {
    fn name(&self) -> &'static str {
        "context_conformance"
    }

    fn grade(&self, f: &Fixture) -> GraderResult {
        let name = self.name();
        let missing = |reason: &str, e: &str| {
            GraderResult::fail(name, reason, error_details(e)).with_context("missing")
        };
        let (path, candidate) = match f.candidate() {
            Ok(c) => c,
            Err(e) => return missing("candidate_path_invalid", &e),
        };
        let source = match &f.source.pack {
            Ok(s) => s,
            Err(e) => return missing("source_runpack_invalid", e),
        };
        let candidate = match candidate {
            Ok(c) => c,
            Err(e) => return missing("candidate_runpack_invalid", e),
        };
        let s = diff_runpack_contents(source, candidate, DiffPrivacy::Full).summary;
        let classification = s.context_drift_classification.as_str();
        let d = details(&[
            ("candidate_runpack", json!(path)),
            (
                "context_set_digest_fixture",
                json!(source.refs.context_set_digest),
            ),
            (
                "context_set_digest_candidate",
                json!(candidate.refs.context_set_digest),
            ),
            ("context_changed", json!(s.refs_changed)),
            (
                "context_runtime_only",
                json!(s.context_runtime_only_changes),
            ),
        ]);
        let meta = &f.meta;
        let enforce = self.enforce
            || meta.context_conformance == "required"
            || !meta.expected_context_set_digest.is_empty();
        let allow_runtime = self.allow_runtime_drift || meta.allow_context_runtime_drift;
        let expected = &meta.expected_context_set_digest;
        if !expected.is_empty()
            && !candidate
                .refs
                .context_set_digest
                .eq_ignore_ascii_case(expected)
            && classification != "runtime_only"
        {
            return GraderResult::fail(name, "context_set_digest_mismatch", d)
                .with_context("semantic");
        }
        if !enforce {
            return GraderResult::new(name, Status::Pass, &["context_conformance_not_required"], d)
                .with_context(classification);
        }
        if candidate.refs.context_set_digest.trim().is_empty() {
            return GraderResult::fail(name, "context_evidence_missing", d).with_context("missing");
        }
        if classification == "semantic" {
            return GraderResult::fail(name, "context_semantic_drift", d).with_context("semantic");
        }
        if classification == "runtime_only" && !allow_runtime {
            return GraderResult::fail(name, "context_runtime_drift_blocked", d)
                .with_context("runtime_only");
        }
        GraderResult::new(name, Status::Pass, &["context_conformance_pass"], d)
            .with_context(classification)
    }
}
