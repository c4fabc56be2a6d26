//! `gait verify`, `gait run record|inspect|replay|diff|receipt`, `gait
//! demo`: runpacks.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use gait_digest::clean_path;
use gait_pack::runpack::{
    self, DiffSummary, MAX_INPUT_BYTES, RecordInput, RecordSettings, ReplayPlan, ReplayRequest,
    RunRecorder, SignatureStatus, VerifyOptions, VerifyReport, ticket_footer,
};
use gait_sign::{KeyMode, Trace};
use serde_json::{Map, Value, json};

use crate::args::VerifyKeyArgs;
use crate::cmd::{parse_csv, put_int, put_str, put_strs, read_input};
use crate::exit::{Exit, ExitClass as _, Failure, failure};
use crate::key_args::{ModeDefault, SigningKeyArgs};
use crate::output::{Out, stderr_line, stdout_line};
use crate::values::VerifyProfile;

/// The demo's output directory.
const DEMO_OUT_DIR: &str = "gait-out";
/// How the demo suggests opting in to adoption metrics.
const DEMO_METRICS_OPT_IN: &str = "export GAIT_ADOPTION_LOG=./gait-out/adoption.jsonl";

/// `gait verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The run id (looked up in ./gait-out and ~/.gait/runpacks) or the runpack path.
    #[arg(value_name = "RUN_ID|PATH", num_args = 0..)]
    pub target: Vec<String>,
    /// Verify profile: standard, or strict (requires a verified signature and a key).
    #[arg(long, default_value = "standard", value_name = "PROFILE")]
    pub profile: String,
    /// Require a valid signature.
    #[arg(long)]
    pub require_signature: bool,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// `gait run …`
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Record a runpack from normalized run, intent, result and receipt records.
    #[command(
        after_help = "Examples:\n  gait run record --input run_record.json --out-dir gait-out --json"
    )]
    Record(RunRecordArgs),
    /// Show a runpack's intents and results as a timeline.
    #[command(after_help = "Examples:\n  gait run inspect --from run_demo --json")]
    Inspect(RunInspectArgs),
    /// Replay a runpack with recorded results and deterministic stubs.
    #[command(after_help = "Examples:\n  gait run replay run_demo --json")]
    Replay(RunReplayArgs),
    /// Compare two runpacks.
    #[command(
        after_help = "Examples:\n  gait run diff ./gait-out/runpack_a.zip ./gait-out/runpack_b.zip --privacy metadata --json"
    )]
    Diff(RunDiffArgs),
    /// Verify a runpack and print its ticket footer.
    #[command(after_help = "Examples:\n  gait run receipt --from run_demo")]
    Receipt(RunReceiptArgs),
    /// Reduce a failing runpack to its first failing intent (still failing, deterministic).
    #[command(
        after_help = "Examples:\n  gait run reduce --from run_demo --predicate non_ok_status --json\n  gait run reduce ./gait-out/runpack_run_x.zip --out reduced.zip --report-out reduced.report.json"
    )]
    Reduce(crate::cmd::reduce::RunReduceArgs),
    /// Session journals: start, append, status, checkpoint, compact.
    #[command(
        subcommand,
        after_help = "Examples:\n  gait run session start --journal sess/s1.journal.jsonl --session-id s1 --run-id run_s1 --json\n  gait run session checkpoint --journal sess/s1.journal.jsonl --out cps/cp1.zip --json"
    )]
    Session(crate::cmd::session::SessionCommand),
}

/// `gait run replay`
#[derive(Debug, Args)]
pub struct RunReplayArgs {
    /// The run id or runpack path.
    #[arg(value_name = "RUN_ID|PATH", num_args = 0..)]
    pub target: Vec<String>,
    /// Request real tool execution (needs every unsafe interlock).
    #[arg(long)]
    pub real_tools: bool,
    /// Acknowledge that real tools will run.
    #[arg(long)]
    pub unsafe_real_tools: bool,
    /// Comma-separated tools allowed to run for real (echo, tool.echo, file.write, fs.write, write_file).
    #[arg(long, value_name = "CSV")]
    pub allow_tools: Option<String>,
    /// Environment variable that must be set to 1 for real replay.
    #[arg(long, default_value = runpack::REAL_REPLAY_ENV, value_name = "VAR")]
    pub unsafe_real_tools_env: String,
}

/// `gait run diff`
#[derive(Debug, Args)]
pub struct RunDiffArgs {
    /// The left and right run ids or runpack paths.
    #[arg(value_name = "LEFT RIGHT", num_args = 0..)]
    pub targets: Vec<String>,
    /// Privacy mode: full, or metadata (no raw arguments or results; refs by count).
    #[arg(long, default_value = "full", value_name = "MODE")]
    pub privacy: String,
    /// Write the diff JSON to this file (mode 0600, atomically).
    #[arg(long, value_name = "PATH")]
    pub output: Option<String>,
}

/// `gait run receipt`
#[derive(Debug, Args)]
pub struct RunReceiptArgs {
    /// The run id or runpack path (or use --from).
    #[arg(value_name = "RUN_ID|PATH", num_args = 0..)]
    pub positional: Vec<String>,
    /// The run id or runpack path.
    #[arg(long, value_name = "RUN_ID|PATH")]
    pub from: Option<String>,
}

/// `gait run record`
#[derive(Debug, Args)]
#[command(
    mut_arg("key_mode", |a| a.help("Signing key mode: dev (ephemeral key) or prod (explicit key)")),
    mut_arg("private_key", |a| a.help("Private signing key file")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding the private signing key")),
)]
pub struct RunRecordArgs {
    /// The run record JSON input (or use --input).
    #[arg(value_name = "INPUT", num_args = 0..)]
    pub positional: Vec<String>,
    /// The run record JSON input.
    #[arg(long, value_name = "PATH")]
    pub input: Option<String>,
    /// Directory for the runpack.
    #[arg(long, default_value = "./gait-out", value_name = "DIR")]
    pub out_dir: String,
    /// Override the run id everywhere.
    #[arg(long, value_name = "RUN_ID")]
    pub run_id: Option<String>,
    /// Capture mode: reference (digests only, the default) or raw.
    #[arg(long, value_name = "MODE")]
    pub capture_mode: Option<String>,
    /// Context evidence mode: best_effort or required.
    #[arg(long, value_name = "MODE")]
    pub context_evidence_mode: Option<String>,
    /// Allow receipts with redaction_mode=raw (unsafe).
    #[arg(long)]
    pub unsafe_context_raw: bool,
    /// Context evidence envelope JSON whose records replace the receipts.
    #[arg(long, value_name = "PATH")]
    pub context_envelope: Option<String>,
    /// The signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
}

/// `gait run inspect`
#[derive(Debug, Args)]
pub struct RunInspectArgs {
    /// The run id or runpack path (or use --from).
    #[arg(value_name = "RUN_ID|PATH", num_args = 0..)]
    pub positional: Vec<String>,
    /// The run id or runpack path.
    #[arg(long, value_name = "RUN_ID|PATH")]
    pub from: Option<String>,
}

/// `gait demo`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gait demo\n  gait demo --durable --json\n  gait demo --policy --json"
)]
pub struct DemoArgs {
    /// Run the durable job demo: a job that stops for a decision, is
    /// approved and resumed, and ends in a verified job pack.
    #[arg(long)]
    pub durable: bool,
    /// Run the policy demo: write a policy and a high-risk delete intent
    /// into ./gait-out and show the gate blocking it.
    #[arg(long)]
    pub policy: bool,
}

fn error_out(out: &Out, label: &str, message: &str, exit: Exit) -> Exit {
    let json = out.is_json();
    if json {
        return out.json_error(message, exit);
    }
    stderr_line(&format!("{label} error: {message}"));
    exit
}

// ---- verify ------------------------------------------------------------------

/// The fixed sentence explaining a signature status.
fn signature_note(status: SignatureStatus, require_signature: bool) -> &'static str {
    match (status, require_signature) {
        (SignatureStatus::Missing, true) => {
            "signatures are required in this mode; provide signing keys and re-run verify"
        }
        (SignatureStatus::Missing, false) => {
            "unsigned local/dev artifacts are expected by default; use --require-signature for strict verification"
        }
        (SignatureStatus::Skipped, true) => {
            "signature checks were expected but skipped; provide a public key or private key source"
        }
        (SignatureStatus::Skipped, false) => {
            "signature checks were skipped because no verify key was provided"
        }
        (SignatureStatus::Verified, _) => "signatures verified",
        (SignatureStatus::Failed, _) => {
            "signature verification failed; inspect signature_errors and re-run with the correct key"
        }
    }
}

fn verify_next_commands(run_id: &str) -> Vec<String> {
    let id = run_id.trim();
    if id.is_empty() {
        return Vec::new();
    }
    vec![
        format!("gait regress bootstrap --from {id} --json --junit ./{DEMO_OUT_DIR}/junit.xml"),
        "gait demo --durable".to_owned(),
        "gait demo --policy".to_owned(),
    ]
}

/// A parsed `--profile` with `--require-signature` and the key sources:
/// what every runpack-verifying command needs.
pub(crate) struct VerifySetup {
    /// Whether a verified signature is required.
    pub require_signature: bool,
    /// The verify key, when a source was given.
    pub key: Option<gait_sign::VerifyingKey<Trace>>,
}

/// Parses the verify profile and loads the optional key (strict demands a
/// key source).
pub(crate) fn verify_setup(
    profile: &str,
    require_signature: bool,
    k: &VerifyKeyArgs,
) -> Result<VerifySetup, (String, Exit)> {
    let strict = profile
        .parse::<VerifyProfile>()
        .map_err(|e| (e, Exit::InvalidInput))?
        == VerifyProfile::Strict;
    let require_signature = require_signature || strict;
    let any_key = k.any_given();
    if strict && !any_key {
        return Err((
            "strict verify profile requires --public-key/--public-key-env or private key source"
                .to_owned(),
            Exit::InvalidInput,
        ));
    }
    let key = if any_key {
        Some(k.load::<Trace>()?)
    } else {
        None
    };
    Ok(VerifySetup {
        require_signature,
        key,
    })
}

/// A verified runpack as `gait verify` reports it.
pub(crate) struct RunpackVerified {
    pub ok: bool,
    pub path: String,
    pub report: VerifyReport,
    pub note: &'static str,
    pub next: Vec<String>,
}

impl RunpackVerified {
    /// The JSON object of `gait verify`.
    pub fn to_json(&self) -> Map<String, Value> {
        verify_json(self.ok, &self.path, &self.report, self.note, &self.next)
    }
}

/// Resolves `target` and verifies the runpack.
/// A spinner shows on a terminal for large files unless `quiet`.
pub(crate) fn verify_runpack_target(
    target: &str,
    setup: &VerifySetup,
    quiet: bool,
) -> Result<RunpackVerified, (String, Exit)> {
    let path = runpack::resolve_runpack_path(target).map_err(failure)?;
    let options = VerifyOptions::new(setup.key.clone(), setup.require_signature);
    let spinner = crate::cmd::progress::spinner_for_file(&path, quiet, "verifying");
    let verified = runpack::verify_runpack_file(&path, &options);
    crate::cmd::progress::finish(spinner);
    let report = verified.map_err(failure)?;
    let ok = report.is_ok(setup.require_signature);
    let note = signature_note(report.signature_status, setup.require_signature);
    let next = verify_next_commands(&report.run_id);
    Ok(RunpackVerified {
        ok,
        path: path.display().to_string(),
        report,
        note,
        next,
    })
}

/// Runs `gait verify`.
pub fn verify(out: &Out, a: &VerifyArgs) -> Exit {
    let fail = |msg: &str, exit: Exit| error_out(out, "verify", msg, exit);
    let [target] = a.target.as_slice() else {
        return fail("expected run_id or path", Exit::InvalidInput);
    };
    let setup = match verify_setup(&a.profile, a.require_signature, &a.keys) {
        Ok(s) => s,
        Err((m, e)) => return fail(&m, e),
    };
    let v = match verify_runpack_target(target, &setup, out.is_json()) {
        Ok(v) => v,
        Err((m, e)) => return fail(&m, e),
    };
    let exit = if v.ok { Exit::Ok } else { Exit::VerifyFailed };
    if out.is_json() {
        return out.json(v.to_json(), exit);
    }
    print_verify_text(v.ok, &v.path, &v.report, v.note, &v.next);
    exit
}

fn verify_json(
    ok: bool,
    path: &str,
    report: &VerifyReport,
    note: &str,
    next: &[String],
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(ok));
    put_str(&mut m, "path", path);
    put_str(&mut m, "run_id", &report.run_id);
    put_str(&mut m, "manifest_digest", &report.manifest_digest);
    put_int(&mut m, "files_checked", report.files_checked as i64);
    put_strs(&mut m, "missing_files", &report.missing_files);
    if !report.hash_mismatches.is_empty() {
        m.insert(
            "hash_mismatches".into(),
            serde_json::to_value(&report.hash_mismatches).unwrap_or(Value::Null),
        );
    }
    put_strs(&mut m, "undeclared_files", &report.undeclared_files);
    put_str(&mut m, "signature_status", report.signature_status.as_str());
    put_strs(&mut m, "signature_errors", &report.signature_errors);
    put_int(&mut m, "signatures_total", report.signatures_total as i64);
    put_int(&mut m, "signatures_valid", report.signatures_valid as i64);
    put_str(&mut m, "signature_note", note);
    put_strs(&mut m, "next_commands", next);
    m
}

fn print_verify_text(ok: bool, path: &str, report: &VerifyReport, note: &str, next: &[String]) {
    if ok {
        stdout_line(&format!("verify ok: {path}"));
    } else {
        stdout_line(&format!("verify failed: {path}"));
        if !report.missing_files.is_empty() {
            stdout_line(&format!(
                "missing files: {}",
                report.missing_files.join(", ")
            ));
        }
        if !report.hash_mismatches.is_empty() {
            stdout_line(&format!(
                "hash mismatches: {}",
                report.hash_mismatches.len()
            ));
        }
        if !report.undeclared_files.is_empty() {
            stdout_line(&format!(
                "undeclared files: {}",
                report.undeclared_files.join(", ")
            ));
        }
    }
    stdout_line(&format!(
        "signature status: {}",
        report.signature_status.as_str()
    ));
    stdout_line(&format!("signature note: {note}"));
    if !ok && !report.signature_errors.is_empty() {
        stdout_line(&format!(
            "signature errors: {}",
            report.signature_errors.join("; ")
        ));
    }
    if !next.is_empty() {
        stdout_line(&format!("next: {}", next.join(" | ")));
    }
}

// ---- run ------------------------------------------------------------------------

/// Runs a `run` subcommand.
pub fn run(out: &Out, cmd: &RunCommand) -> Exit {
    match cmd {
        RunCommand::Record(a) => record(out, a),
        RunCommand::Inspect(a) => inspect(out, a),
        RunCommand::Replay(a) => replay(out, a),
        RunCommand::Diff(a) => diff(out, a),
        RunCommand::Receipt(a) => receipt(out, a),
        RunCommand::Reduce(a) => crate::cmd::reduce::reduce(out, a),
        RunCommand::Session(s) => crate::cmd::session::run(out, s),
    }
}

/// How the reference prints an output path: as is when absolute or
/// starting with `.`, else with `./` in front.
fn display_output_path(path: &str) -> String {
    if Path::new(path).is_absolute() || path.starts_with('.') {
        path.to_owned()
    } else {
        format!("./{path}")
    }
}

fn record(out: &Out, a: &RunRecordArgs) -> Exit {
    let fail = |msg: &str, exit: Exit| error_out(out, "record", msg, exit);
    let mut positional = a.positional.clone();
    let mut input_path = a.input.clone().unwrap_or_default();
    if input_path.trim().is_empty() && positional.len() == 1 {
        input_path = positional.remove(0);
    }
    if !positional.is_empty() {
        return fail("unexpected positional arguments", Exit::InvalidInput);
    }
    if input_path.trim().is_empty() {
        return fail(
            "missing required --input <run_record.json>",
            Exit::InvalidInput,
        );
    }
    let bytes = match read_input(&input_path, "input", MAX_INPUT_BYTES) {
        Ok(b) => b,
        Err((m, e)) => return fail(&m, e),
    };
    let mut input = match RecordInput::from_json(&bytes) {
        Ok(i) => i,
        Err(e) => return fail(&e.to_string(), e.exit()),
    };
    let settings = RecordSettings::new(
        a.run_id.clone(),
        a.capture_mode.clone(),
        a.context_evidence_mode.clone(),
        a.unsafe_context_raw,
    )
    .with_context_envelope(a.context_envelope.clone());
    let (capture, context_warnings) = match input.apply_settings_with_warnings(&settings) {
        Ok(applied) => (applied.capture_mode, applied.warnings),
        Err(e) => return fail(&e.to_string(), e.exit()),
    };
    let signing_requested = a.keys.any_given();
    let mut signing_warnings = Vec::new();
    let loaded = if signing_requested {
        // Any signing flag without --key-mode means prod.
        let loaded = a
            .keys
            .mode(ModeDefault::BlankIs(KeyMode::Prod))
            .and_then(|mode| a.keys.load::<Trace>(mode));
        match loaded {
            Ok(l) => {
                if let Some(w) = l.warning {
                    signing_warnings.push(w.to_owned());
                }
                Some(l.key)
            }
            Err((m, e)) => return fail(&m, e),
        }
    } else {
        None
    };
    let mut recorder = RunRecorder::new(input).capture_mode(capture);
    if let Some(key) = &loaded {
        recorder = recorder.sign_with(key);
    }
    let out_dir = PathBuf::from(a.out_dir.trim());
    let written = match recorder.write_to_dir(&out_dir) {
        Ok(w) => w,
        Err(e) => return fail(&e.to_string(), e.exit()),
    };
    let manifest = &written.recorded.manifest;
    let run_id = written.recorded.run_id.clone();
    let bundle = display_output_path(&clean_path(&written.path.to_string_lossy()));
    let (status, key_id) = match manifest.signatures.first() {
        Some(s) => ("signed", s.key_id.trim().to_owned()),
        None => ("missing", String::new()),
    };
    let mut warnings = written.recorded.warnings.clone();
    warnings.extend(context_warnings);
    warnings.extend(signing_warnings);
    let footer = ticket_footer(&run_id, &manifest.manifest_digest);
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        put_str(&mut m, "run_id", &run_id);
        put_str(&mut m, "bundle", &bundle);
        put_str(&mut m, "manifest_digest", &manifest.manifest_digest);
        put_str(&mut m, "signature_status", status);
        put_str(&mut m, "signature_key_id", &key_id);
        put_strs(&mut m, "warnings", &warnings);
        put_str(&mut m, "ticket_footer", &footer);
        return out.json(m, Exit::Ok);
    }
    stdout_line(&format!("run_id={run_id}"));
    stdout_line(&format!("bundle={bundle}"));
    stdout_line(&format!("signature_status={status}"));
    if !key_id.is_empty() {
        stdout_line(&format!("signature_key_id={key_id}"));
    }
    if !warnings.is_empty() {
        stdout_line(&format!("warnings={}", warnings.join(";")));
    }
    stdout_line(&format!("ticket_footer={footer}"));
    Exit::Ok
}

/// The runpack named by `--from` or the one positional argument (`run
/// inspect`, `run receipt`).
fn runpack_from(from: Option<&str>, positional: &[String]) -> Result<PathBuf, Failure> {
    let mut positional = positional.to_vec();
    let mut from = from.unwrap_or_default().to_owned();
    if from.trim().is_empty() && positional.len() == 1 {
        from = positional.remove(0);
    }
    if from.trim().is_empty() {
        return Err((
            "missing required --from <run_id|path>".into(),
            Exit::InvalidInput,
        ));
    }
    if !positional.is_empty() {
        return Err(("unexpected positional arguments".into(), Exit::InvalidInput));
    }
    runpack::resolve_runpack_path(&from).map_err(failure)
}

/// A typed output record as JSON (these records cannot fail to serialize).
fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn inspect(out: &Out, a: &RunInspectArgs) -> Exit {
    let fail = |msg: &str, exit: Exit| error_out(out, "inspect", msg, exit);
    let path = match runpack_from(a.from.as_deref(), &a.positional) {
        Ok(p) => p,
        Err((msg, exit)) => return fail(&msg, exit),
    };
    let pack = match runpack::read_runpack(&path) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), e.exit()),
    };
    let timeline = runpack::timeline(&pack);
    let warnings = timeline.warnings();
    let mut lines = Vec::new();
    for e in &timeline.entries {
        let (status, verdict) = e
            .result
            .as_ref()
            .map(|r| (r.status.as_str(), r.verdict.as_str()))
            .unwrap_or_default();
        let mut line = format!(
            "{}. intent={} tool={} status={}",
            e.index,
            e.intent_id,
            e.tool_name,
            if status.trim().is_empty() {
                "missing_result"
            } else {
                status
            }
        );
        if !verdict.is_empty() {
            line.push_str(&format!(" verdict={verdict}"));
        }
        lines.push(line);
        if let Some(r) = &e.result {
            if !r.reason_codes.is_empty() {
                lines.push(format!("   reason_codes={}", r.reason_codes.join(",")));
            }
            if !r.violations.is_empty() {
                lines.push(format!("   violations={}", r.violations.join(",")));
            }
        }
    }
    let entries: Vec<Value> = timeline.entries.iter().map(to_value).collect();
    let unmatched = &timeline.unmatched;
    let path_text = path.display().to_string();
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        put_str(&mut m, "artifact_type", "runpack");
        put_str(&mut m, "run_id", &pack.run.run_id);
        put_str(&mut m, "path", &path_text);
        put_str(&mut m, "capture_mode", &pack.manifest.capture_mode);
        put_int(&mut m, "intents_total", pack.intents.len() as i64);
        put_int(&mut m, "results_total", pack.results.len() as i64);
        if !entries.is_empty() {
            m.insert("entries".into(), Value::Array(entries));
        }
        if !unmatched.is_empty() {
            m.insert(
                "unmatched_results".into(),
                Value::Array(unmatched.iter().map(to_value).collect()),
            );
        }
        put_strs(&mut m, "warnings", &warnings);
        return out.json(m, Exit::Ok);
    }
    stdout_line(&format!(
        "run inspect: run_id={} intents={} results={} capture_mode={}",
        pack.run.run_id,
        pack.intents.len(),
        pack.results.len(),
        pack.manifest.capture_mode
    ));
    stdout_line(&format!("path: {path_text}"));
    for line in lines {
        stdout_line(&line);
    }
    if !unmatched.is_empty() {
        stdout_line(&format!("unmatched_results={}", unmatched.len()));
        for r in unmatched {
            let status = if r.status.trim().is_empty() {
                "unknown"
            } else {
                r.status.as_str()
            };
            stdout_line(&format!(
                "   intent={} status={status}",
                r.intent_id.as_deref().unwrap_or_default()
            ));
        }
    }
    if !warnings.is_empty() {
        stdout_line(&format!("warnings: {}", warnings.join("; ")));
    }
    Exit::Ok
}

// ---- replay ----------------------------------------------------------------------

fn replay(out: &Out, a: &RunReplayArgs) -> Exit {
    let fail = |msg: &str, requested_unsafe: bool, exit: Exit| {
        if out.is_json() {
            let mut m = Map::new();
            m.insert("ok".into(), Value::Bool(false));
            put_str(&mut m, "error", msg.trim());
            if requested_unsafe {
                m.insert("requested_unsafe".into(), Value::Bool(true));
            }
            return out.json(m, exit);
        }
        stderr_line(&format!("replay error: {msg}"));
        exit
    };
    let [target] = a.target.as_slice() else {
        return fail("expected run_id or path", false, Exit::InvalidInput);
    };
    let env_name = a.unsafe_real_tools_env.trim();
    let request = ReplayRequest {
        real_tools: a.real_tools,
        unsafe_real_tools: a.unsafe_real_tools,
        allow_tools: parse_csv(a.allow_tools.as_deref()),
        env_name: env_name.to_owned(),
        env_value: std::env::var_os(env_name)
            .filter(|_| !env_name.is_empty())
            .map(|v| v.to_string_lossy().into_owned()),
    };
    let plan = match runpack::plan_replay(&request) {
        Ok(p) => p,
        Err(refused) => {
            return fail(
                &refused.message,
                refused.requested_unsafe,
                Exit::UnsafeOperation,
            );
        }
    };
    let path = match runpack::resolve_runpack_path(target) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), false, e.exit()),
    };
    let mut warnings = Vec::new();
    let result = match &plan {
        ReplayPlan::Stub => runpack::replay_stub(&path),
        ReplayPlan::Real { allow, warning } => {
            warnings.push(warning.clone());
            runpack::replay_real(&path, allow)
        }
    };
    let result = match result {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), false, e.exit()),
    };
    let ok = result.is_ok();
    let exit = if ok { Exit::Ok } else { Exit::VerifyFailed };
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(ok));
        put_str(&mut m, "run_id", &result.run_id);
        put_str(&mut m, "mode", result.mode.as_str());
        if !result.steps.is_empty() {
            m.insert(
                "steps".into(),
                serde_json::to_value(&result.steps).unwrap_or(Value::Null),
            );
        }
        put_strs(&mut m, "missing_results", &result.missing_results);
        put_strs(&mut m, "warnings", &warnings);
        if a.unsafe_real_tools {
            m.insert("requested_unsafe".into(), Value::Bool(true));
        }
        return out.json(m, exit);
    }
    if ok {
        stdout_line(&format!(
            "replay ok: {} ({})",
            result.run_id,
            result.mode.as_str()
        ));
    } else {
        stdout_line(&format!("replay failed: {}", result.run_id));
        stdout_line(&format!(
            "missing results: {}",
            result.missing_results.join(", ")
        ));
    }
    if !warnings.is_empty() {
        stdout_line(&format!("warnings: {}", warnings.join("; ")));
    }
    exit
}

// ---- diff ------------------------------------------------------------------------

fn diff(out: &Out, a: &RunDiffArgs) -> Exit {
    let fail = |msg: &str, exit: Exit| {
        if out.is_json() {
            // The reference always writes `summary` (a struct is never
            // omitted), zero-valued on errors.
            let mut m = Map::new();
            m.insert("ok".into(), Value::Bool(false));
            put_str(&mut m, "error", msg.trim());
            m.insert(
                "summary".into(),
                serde_json::to_value(DiffSummary::default()).unwrap_or(Value::Null),
            );
            return out.json(m, exit);
        }
        stderr_line(&format!("diff error: {msg}"));
        exit
    };
    let [left, right] = a.targets.as_slice() else {
        return fail("expected left and right run_id|path", Exit::InvalidInput);
    };
    // Two session chains (`.json` files that read as chains) are compared
    // by checkpoint digests; anything else is a pair of runpacks.
    let chain = |target: &str| {
        let p = Path::new(target.trim());
        let is_json = target.trim().to_ascii_lowercase().ends_with(".json");
        (is_json && p.is_file())
            .then(|| runpack::SessionChain::read(p).ok())
            .flatten()
    };
    let result = if let (Some(l), Some(r)) = (chain(left), chain(right)) {
        match runpack::DiffPrivacy::parse(&a.privacy) {
            Ok(privacy) => runpack::diff_session_chains(&l, &r, privacy),
            Err(e) => return fail(&e.to_string(), e.exit()),
        }
    } else {
        let resolve = |target: &str| {
            runpack::resolve_runpack_path(target).map_err(|e| fail(&e.to_string(), e.exit()))
        };
        let left = match resolve(left) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
        let right = match resolve(right) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
        match runpack::diff_runpacks(&left, &right, &a.privacy) {
            Ok(r) => r,
            Err(e) => return fail(&e.to_string(), e.exit()),
        }
    };
    let output_path = a.output.as_deref().unwrap_or_default();
    if !output_path.is_empty() {
        if let Err(e) = gait_sign::write_file_atomic(
            Path::new(output_path),
            &result.to_go_json(),
            gait_sign::PRIVATE_FILE_MODE,
            true,
        ) {
            return fail(&e.to_string(), e.exit());
        }
    }
    let summary = &result.summary;
    let ok = summary.is_unchanged();
    let exit = if ok { Exit::Ok } else { Exit::VerifyFailed };
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(ok));
        put_str(&mut m, "privacy", result.privacy.as_str());
        m.insert(
            "summary".into(),
            serde_json::to_value(summary).unwrap_or(Value::Null),
        );
        put_str(&mut m, "output", output_path);
        return out.json(m, exit);
    }
    if ok {
        stdout_line(&format!(
            "diff ok: {} vs {}",
            summary.run_id_left, summary.run_id_right
        ));
    } else {
        stdout_line(&format!(
            "diff changed: {} vs {}",
            summary.run_id_left, summary.run_id_right
        ));
        if !summary.files_changed.is_empty() {
            stdout_line(&format!(
                "files changed: {}",
                summary.files_changed.join(", ")
            ));
        }
    }
    exit
}

// ---- receipt -----------------------------------------------------------------------

fn receipt(out: &Out, a: &RunReceiptArgs) -> Exit {
    let fail = |msg: &str, exit: Exit| error_out(out, "receipt", msg, exit);
    let path = match runpack_from(a.from.as_deref(), &a.positional) {
        Ok(p) => p,
        Err((msg, exit)) => return fail(&msg, exit),
    };
    let receipt = match runpack::runpack_receipt(&path) {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), e.exit()),
    };
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        put_str(&mut m, "run_id", &receipt.run_id);
        put_str(&mut m, "path", &path.display().to_string());
        put_str(&mut m, "manifest_digest", &receipt.manifest_digest);
        put_str(&mut m, "ticket_footer", &receipt.ticket_footer);
        return out.json(m, Exit::Ok);
    }
    stdout_line(&receipt.ticket_footer);
    Exit::Ok
}

// ---- demo ------------------------------------------------------------------------

/// Runs `gait demo`: records the offline demo run to
/// `./gait-out/runpack_run_demo.zip` and verifies it.
pub fn demo(out: &Out, a: &DemoArgs) -> Exit {
    let started = Instant::now();
    let fail = |msg: &str, exit: Exit| demo_error(out, "standard", msg, exit);
    if a.durable && a.policy {
        return fail(
            "choose only one mode: --durable or --policy",
            Exit::InvalidInput,
        );
    }
    if a.durable {
        return demo_durable(out, started);
    }
    if a.policy {
        return demo_policy(out, started);
    }
    let input = runpack::demo_input(crate::cmd::version::VERSION);
    let written = match RunRecorder::new(input).write_to_dir(Path::new(DEMO_OUT_DIR)) {
        Ok(w) => w,
        Err(e) if e.is_verification_failure() => {
            return fail("verification failed", Exit::VerifyFailed);
        }
        Err(e) => return fail(&e.to_string(), e.exit()),
    };
    let run_id = runpack::DEMO_RUN_ID;
    let bundle = format!("./{DEMO_OUT_DIR}/runpack_{run_id}.zip");
    let footer = ticket_footer(run_id, &written.recorded.manifest.manifest_digest);
    let next = vec![
        format!("gait verify {run_id} --json"),
        format!("gait regress bootstrap --from {run_id} --json --junit ./{DEMO_OUT_DIR}/junit.xml"),
        "gait demo --durable".to_owned(),
        "gait demo --policy".to_owned(),
    ];
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        m.insert("mode".into(), json!("standard"));
        m.insert("run_id".into(), json!(run_id));
        m.insert("bundle".into(), json!(bundle));
        m.insert("ticket_footer".into(), json!(footer));
        m.insert("verify".into(), json!("ok"));
        put_strs(&mut m, "next_commands", &next);
        m.insert("metrics_opt_in".into(), json!(DEMO_METRICS_OPT_IN));
        put_int(
            &mut m,
            "duration_ms",
            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        );
        return out.json(m, Exit::Ok);
    }
    stdout_line("mode=standard");
    stdout_line(&format!("run_id={run_id}"));
    stdout_line(&format!("bundle={bundle}"));
    stdout_line(&format!("ticket_footer={footer}"));
    stdout_line("verify=ok");
    stdout_line(&format!("next={}", next.join(",")));
    stdout_line(&format!("metrics_opt_in={DEMO_METRICS_OPT_IN}"));
    Exit::Ok
}

/// A failed demo: the JSON envelope with the demo's `mode`, or a
/// `demo error:` line.
fn demo_error(out: &Out, mode: &str, msg: &str, exit: Exit) -> Exit {
    let json = out.is_json();
    if json {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(false));
        m.insert("mode".into(), json!(mode));
        m.insert("error".into(), json!(msg));
        return out.json(m, exit);
    }
    stderr_line(&format!("demo error: {msg}"));
    exit
}

/// `gait demo --durable`: writes the demo job (submitted, stopped for a
/// decision, approved, resumed, completed) under ./gait-out/jobs, builds
/// and verifies its job pack.
fn demo_durable(out: &Out, started: Instant) -> Exit {
    use gait_pack::pack::{self as pk, DEMO_JOB_ID};
    let json = out.is_json();
    let fail = |msg: &str, exit: Exit| demo_error(out, "durable", msg, exit);
    let (state, events) = pk::demo_durable_job(crate::cmd::version::VERSION);
    let root = Path::new(DEMO_OUT_DIR).join("jobs");
    if let Err(e) = pk::write_job_dir(&root, &state, &events) {
        return fail(&e.to_string(), Exit::Internal);
    }
    let pack_path = Path::new(DEMO_OUT_DIR).join(format!("pack_{DEMO_JOB_ID}.zip"));
    let options = pk::BuildOptions {
        output_path: Some(pack_path.clone()),
        producer_version: crate::cmd::version::VERSION.to_owned(),
        signing_key: None,
    };
    if let Err(e) = pk::build_job_pack(&root, DEMO_JOB_ID, &options) {
        return fail(&e.to_string(), Exit::Internal);
    }
    match pk::verify_pack(&pack_path, &pk::VerifyOptions::default()) {
        Ok(r) if r.ok(false) => {}
        Ok(_) => return fail("durable pack verification failed", Exit::VerifyFailed),
        Err(e) => return fail(&e.to_string(), Exit::VerifyFailed),
    }
    let bundle = format!("./{DEMO_OUT_DIR}/jobs/{DEMO_JOB_ID}/state.json");
    let pack = format!("./{DEMO_OUT_DIR}/pack_{DEMO_JOB_ID}.zip");
    let next = vec![
        format!("gait pack inspect {pack} --json"),
        format!("gait pack verify {pack} --json"),
        "gait demo --policy".to_owned(),
    ];
    let failure = "resume blocked until approval";
    if json {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        m.insert("mode".into(), json!("durable"));
        m.insert("job_id".into(), json!(DEMO_JOB_ID));
        m.insert("job_status".into(), json!(state.status));
        m.insert("bundle".into(), json!(bundle));
        m.insert("pack_path".into(), json!(pack));
        m.insert("verify".into(), json!("ok"));
        m.insert("simulated_failure".into(), json!(failure));
        put_strs(&mut m, "next_commands", &next);
        m.insert("metrics_opt_in".into(), json!(DEMO_METRICS_OPT_IN));
        put_int(
            &mut m,
            "duration_ms",
            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        );
        return out.json(m, Exit::Ok);
    }
    stdout_line("mode=durable");
    stdout_line(&format!("job_id={DEMO_JOB_ID}"));
    stdout_line(&format!("job_status={}", state.status));
    stdout_line(&format!("bundle={bundle}"));
    stdout_line(&format!("pack_path={pack}"));
    stdout_line("verify=ok");
    stdout_line(&format!("simulated_failure={failure}"));
    stdout_line(&format!("next={}", next.join(",")));
    stdout_line(&format!("metrics_opt_in={DEMO_METRICS_OPT_IN}"));
    Exit::Ok
}

/// Where `gait demo --policy` writes its policy and intent.
const DEMO_POLICY_PATH: &str = "./gait-out/policy_demo_high_risk.yaml";
const DEMO_INTENT_PATH: &str = "./gait-out/intent_demo_delete.json";

/// `gait demo --policy`: writes the demo policy and intent, evaluates them
/// and reports the block.
fn demo_policy(out: &Out, started: Instant) -> Exit {
    use gait_policy::templates::{DEMO_POLICY_YAML, demo_intent_json};
    let json = out.is_json();
    let fail = |msg: &str, exit: Exit| demo_error(out, "policy", msg, exit);
    let version = crate::cmd::version::VERSION;
    let intent_bytes = demo_intent_json(version);
    for (path, bytes) in [
        (DEMO_POLICY_PATH, DEMO_POLICY_YAML.as_bytes()),
        (DEMO_INTENT_PATH, intent_bytes.as_slice()),
    ] {
        let p = Path::new(path);
        if let Some(dir) = p.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                return fail(&format!("create {}: {e}", dir.display()), Exit::Internal);
            }
        }
        if let Err(e) = gait_sign::write_file_atomic(p, bytes, 0o600, true) {
            return fail(&format!("write {path}: {e}"), Exit::Internal);
        }
    }
    let policy = match gait_policy::Policy::from_yaml_str(DEMO_POLICY_YAML) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), Exit::Internal),
    };
    let intent = match gait_policy::Intent::from_json_slice(&intent_bytes) {
        Ok(i) => i,
        Err(e) => return fail(&e.to_string(), Exit::Internal),
    };
    let opts = gait_policy::EvalOptions::default().with_producer_version(version);
    let d = gait_policy::eval::evaluate(&policy, &intent, &opts);
    if d.verdict() != gait_policy::Verdict::Block {
        return fail(
            &format!("expected block verdict, got {}", d.verdict().as_str()),
            Exit::VerifyFailed,
        );
    }
    let next = vec![
        format!(
            "gait gate eval --policy {DEMO_POLICY_PATH} --intent {DEMO_INTENT_PATH} --simulate --json"
        ),
        format!("gait gate eval --policy {DEMO_POLICY_PATH} --intent {DEMO_INTENT_PATH} --json"),
        format!("gait policy test {DEMO_POLICY_PATH} {DEMO_INTENT_PATH} --json"),
    ];
    if json {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        m.insert("mode".into(), json!("policy"));
        m.insert("bundle".into(), json!(DEMO_INTENT_PATH));
        m.insert("pack_path".into(), json!(DEMO_POLICY_PATH));
        m.insert("verify".into(), json!("ok"));
        m.insert("policy_verdict".into(), json!(d.verdict().as_str()));
        put_str(&mut m, "matched_rule", d.matched_rule());
        put_strs(&mut m, "reason_codes", d.reason_codes());
        put_strs(&mut m, "next_commands", &next);
        m.insert("metrics_opt_in".into(), json!(DEMO_METRICS_OPT_IN));
        put_int(
            &mut m,
            "duration_ms",
            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        );
        return out.json(m, Exit::Ok);
    }
    stdout_line("mode=policy");
    stdout_line(&format!("bundle={DEMO_INTENT_PATH}"));
    stdout_line(&format!("pack_path={DEMO_POLICY_PATH}"));
    stdout_line("verify=ok");
    stdout_line(&format!("policy_verdict={}", d.verdict().as_str()));
    if !d.matched_rule().is_empty() {
        stdout_line(&format!("matched_rule={}", d.matched_rule()));
    }
    if !d.reason_codes().is_empty() {
        stdout_line(&format!("reason_codes={}", d.reason_codes().join(",")));
    }
    stdout_line(&format!("next={}", next.join(",")));
    stdout_line(&format!("metrics_opt_in={DEMO_METRICS_OPT_IN}"));
    Exit::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_paths() {
        assert_eq!(display_output_path("gait-out/x.zip"), "./gait-out/x.zip");
        assert_eq!(display_output_path("./x.zip"), "./x.zip");
        assert_eq!(display_output_path("/tmp/x.zip"), "/tmp/x.zip");
        assert_eq!(display_output_path("../x.zip"), "../x.zip");
    }

    #[test]
    fn notes() {
        assert_eq!(
            signature_note(SignatureStatus::Verified, true),
            "signatures verified"
        );
        assert!(signature_note(SignatureStatus::Missing, false).starts_with("unsigned"));
        assert!(verify_next_commands(" ").is_empty());
        assert_eq!(verify_next_commands("run_x").len(), 3);
    }
}
