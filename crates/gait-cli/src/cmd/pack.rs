//! `gait pack build|verify|inspect|diff|export`: PackSpec v1 evidence packs.
//!
//! Every JSON output is the `gait.pack.output` envelope:
//! `{schema_id, schema_version, ok, operation, path?, pack_id?, pack_type?,
//! source_ref?, otel_path?, postgres_sql_path?, verify?|inspect?|diff?|export?,
//! warnings?, error?}`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gait_pack::pack::{
    BuildOptions, DEFAULT_POSTGRES_TABLE, PostgresSqlOptions, VerifyOptions,
    build_authorization_pack, build_call_pack, build_export_record, build_run_pack, diff_packs,
    inspect_pack, postgres_index_sql, verify_pack, write_otel_jsonl, write_output,
};
use gait_sign::{KeyMode, Trace};
use serde_json::{Map, Value};

use crate::args::VerifyKeyArgs;
use crate::cmd::{put_str, put_strs};
use crate::exit::{Exit, ExitClass as _};
use crate::key_args::{SigningKeyArgs, load_signing};
use crate::output::{Out, stderr_line, stdout_line};
use crate::values::PackKeyMode;

/// `schema_id` of every pack command output.
const OUTPUT_SCHEMA_ID: &str = "gait.pack.output";

/// `gait pack …`
#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Build a pack from a runpack (run), a job directory (job), a voice call record (call) or an authorization bundle (authorization).
    #[command(
        after_help = "Examples:\n  gait demo\n  gait pack build --type run --from run_demo --json\n  gait demo --durable && gait pack build --type job --from job_demo_durable --json\n  gait pack build --type call --from call_record.json --json\n  gait pack build --type authorization --from authorization_bundle.json --json"
    )]
    Build(PackBuildArgs),
    /// Verify a pack (or a legacy runpack): hashes, pack id, proof records, signatures.
    #[command(after_help = "Examples:\n  gait pack verify ./gait-out/pack_<id>.zip --json")]
    Verify(PackVerifyArgs),
    /// Show a pack's manifest, payload and lineage.
    #[command(after_help = "Examples:\n  gait pack inspect ./gait-out/pack_<id>.zip --json")]
    Inspect(PackInspectArgs),
    /// Compare two packs by declared file hashes and manifests.
    #[command(after_help = "Examples:\n  gait pack diff left_pack.zip right_pack.zip --json")]
    Diff(PackDiffArgs),
    /// Export a pack's verification and run metrics as OTEL JSONL or PostgreSQL SQL.
    #[command(
        after_help = "Examples:\n  gait pack export ./gait-out/pack_<id>.zip --otel-out events.jsonl --json"
    )]
    Export(PackExportArgs),
}

/// `gait pack build`
#[derive(Debug, Args)]
#[command(
    mut_arg("key_mode", |a| a.default_value("none").help("Signing key mode: none, dev (ephemeral key) or prod (explicit key)")),
    mut_arg("private_key", |a| a.help("Path to a base64 private signing key")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding a base64 private signing key")),
)]
pub struct PackBuildArgs {
    /// Pack type: run, job, call or authorization.
    #[arg(long = "type", default_value = "run", value_name = "TYPE")]
    pub pack_type: String,
    /// The source: a runpack path or a run id (run), a job id or directory (job), a call record (call), an authorization bundle (authorization).
    #[arg(long, value_name = "RUN_ID|PATH")]
    pub from: Option<String>,
    /// The source, when --from is not given.
    #[arg(value_name = "SOURCE")]
    pub source: Vec<String>,
    /// Output file (default pack_<pack_id>.zip next to the source).
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// Job runtime root: where a job id given to --from is looked up (job packs).
    #[arg(long, default_value = "./gait-out/jobs", value_name = "DIR")]
    pub job_root: String,
    /// The signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
}

/// `gait pack verify`
#[derive(Debug, Args)]
pub struct PackVerifyArgs {
    /// The pack zip (or use --path).
    #[arg(value_name = "PACK")]
    pub pack: Vec<String>,
    /// The pack zip.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Verify profile: standard or strict (strict requires a signature and a key).
    #[arg(long, default_value = "standard", value_name = "PROFILE")]
    pub profile: String,
    /// Require a valid signature.
    #[arg(long)]
    pub require_signature: bool,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// `gait pack inspect`
#[derive(Debug, Args)]
pub struct PackInspectArgs {
    /// The pack zip (or use --path).
    #[arg(value_name = "PACK")]
    pub pack: Vec<String>,
    /// The pack zip.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
}

/// `gait pack diff`
#[derive(Debug, Args)]
pub struct PackDiffArgs {
    /// The left and right packs.
    #[arg(value_name = "LEFT RIGHT")]
    pub packs: Vec<String>,
    /// Also write the diff result (compact JSON) to this file.
    #[arg(long, value_name = "PATH")]
    pub output: Option<String>,
}

/// `gait pack export`
#[derive(Debug, Args)]
pub struct PackExportArgs {
    /// The pack zip (or use --path).
    #[arg(value_name = "PACK")]
    pub pack: Vec<String>,
    /// The pack zip.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Append OTEL-style JSONL (span, event, metrics) to this file.
    #[arg(long, value_name = "PATH")]
    pub otel_out: Option<String>,
    /// Write PostgreSQL upsert SQL for the pack index to this file.
    #[arg(long, value_name = "PATH")]
    pub postgres_sql_out: Option<String>,
    /// PostgreSQL table: <table> or <schema.table>.
    #[arg(long, default_value = DEFAULT_POSTGRES_TABLE, value_name = "TABLE")]
    pub postgres_table: String,
    /// Include CREATE TABLE and index DDL (default true; `=false` to omit).
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub postgres_include_ddl: bool,
}

/// Runs a `pack` subcommand.
pub fn run(out: &Out, cmd: &PackCommand) -> Exit {
    match cmd {
        PackCommand::Build(a) => build(out, a, None),
        PackCommand::Verify(a) => verify(out, a),
        PackCommand::Inspect(a) => inspect(out, a),
        PackCommand::Diff(a) => diff(out, a),
        PackCommand::Export(a) => export(out, a),
    }
}

/// The `gait.pack.output` envelope under construction.
struct Output {
    operation: &'static str,
    fields: Map<String, Value>,
}

impl Output {
    fn new(operation: &'static str) -> Self {
        Self {
            operation,
            fields: Map::new(),
        }
    }

    fn str(mut self, key: &str, value: &str) -> Self {
        put_str(&mut self.fields, key, value);
        self
    }

    fn value(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.into(), value);
        self
    }

    fn print(self, out: &Out, ok: bool, exit: Exit, text: &[String]) -> Exit {
        let json = out.is_json();
        if json {
            let mut m = self.fields;
            m.insert("schema_id".into(), OUTPUT_SCHEMA_ID.into());
            m.insert("schema_version".into(), "1.0.0".into());
            m.insert("ok".into(), Value::Bool(ok));
            m.insert("operation".into(), self.operation.into());
            return out.json(m, exit);
        }
        for line in text {
            stdout_line(line);
        }
        exit
    }

    /// `{ok:false, error}`; text mode prints `pack <op> error: <msg>` on
    /// standard error.
    fn fail(self, out: &Out, message: &str, exit: Exit) -> Exit {
        let json = out.is_json();
        if !json {
            stderr_line(&format!("pack {} error: {message}", self.operation));
            return exit;
        }
        self.str("error", message.trim())
            .print(out, false, exit, &[])
    }
}

/// The one path argument of verify/inspect: `--path` or a positional.
fn single_path(flag: Option<&String>, positional: &[String]) -> Option<String> {
    flag.filter(|p| !p.trim().is_empty())
        .or_else(|| positional.first())
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
}

/// `gait voice …`
#[derive(Debug, Subcommand)]
pub enum VoiceCommand {
    /// Call packs: `gait voice pack build|verify|inspect|diff`.
    #[command(
        subcommand,
        after_help = "Examples:\n  gait voice pack build --from call_record.json --out callpack.zip --json\n  gait voice pack verify callpack.zip --json"
    )]
    Pack(VoicePackCommand),
}

/// `gait voice pack …`: the `pack` commands for call packs.
#[derive(Debug, Subcommand)]
pub enum VoicePackCommand {
    /// Build a call pack from a call record (`pack build --type call`).
    #[command(
        after_help = "Examples:\n  gait voice pack build --from call_record.json --out callpack.zip --json"
    )]
    Build(PackBuildArgs),
    /// Verify a call pack (`pack verify`).
    #[command(after_help = "Examples:\n  gait voice pack verify callpack.zip --json")]
    Verify(PackVerifyArgs),
    /// Show a call pack's manifest and payload (`pack inspect`).
    #[command(after_help = "Examples:\n  gait voice pack inspect callpack.zip --json")]
    Inspect(PackInspectArgs),
    /// Compare two call packs (`pack diff`).
    #[command(after_help = "Examples:\n  gait voice pack diff old.zip new.zip --json")]
    Diff(PackDiffArgs),
}

/// Runs a `voice` subcommand.
pub fn run_voice(out: &Out, cmd: &VoiceCommand) -> Exit {
    let VoiceCommand::Pack(cmd) = cmd;
    match cmd {
        VoicePackCommand::Build(a) => build(out, a, Some("call")),
        VoicePackCommand::Verify(a) => verify(out, a),
        VoicePackCommand::Inspect(a) => inspect(out, a),
        VoicePackCommand::Diff(a) => diff(out, a),
    }
}

fn build(out: &Out, a: &PackBuildArgs, forced_type: Option<&str>) -> Exit {
    let o = Output::new("build");
    let from = a
        .from
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| a.source.first().map(String::as_str))
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if from.is_empty() {
        return o.fail(out, "--from is required", Exit::InvalidInput);
    }
    let (key, warnings) = match load_build_key(a) {
        Ok(k) => k,
        Err((m, e)) => return o.fail(out, &m, e),
    };
    let output_path = a
        .out
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let options = |output_path| BuildOptions {
        output_path,
        producer_version: crate::cmd::version::VERSION.to_owned(),
        signing_key: None,
    };
    let pack_type =
        forced_type.map_or_else(|| a.pack_type.trim().to_ascii_lowercase(), str::to_owned);
    match pack_type.as_str() {
        "run" => {}
        "job" => {
            let (root, job_id) = match gait_pack::pack::resolve_job_source(&from, &a.job_root) {
                Ok(s) => s,
                Err(e) => return o.fail(out, &e.to_string(), e.exit()),
            };
            let options = BuildOptions {
                output_path,
                producer_version: crate::cmd::version::VERSION.to_owned(),
                signing_key: key,
            };
            return match gait_pack::pack::build_job_pack(&root, &job_id, &options) {
                Ok(built) => build_ok(out, o, &built, &warnings),
                Err(e) => o.fail(out, &e.to_string(), e.exit()),
            };
        }
        t @ ("call" | "authorization") => {
            let options = BuildOptions {
                signing_key: key,
                ..options(output_path)
            };
            let built = if t == "call" {
                build_call_pack(Path::new(&from), &options)
            } else {
                build_authorization_pack(Path::new(&from), &options)
            };
            return match built {
                Ok(built) => build_ok(out, o, &built, &warnings),
                Err(e) => o.fail(out, &e.to_string(), e.exit()),
            };
        }
        _ => {
            return o.fail(
                out,
                "--type must be run, job, call, or authorization",
                Exit::InvalidInput,
            );
        }
    }
    let runpack = match resolve_runpack(&from) {
        Ok(p) => p,
        Err(m) => return o.fail(out, &m, Exit::InvalidInput),
    };
    let options = BuildOptions {
        output_path,
        producer_version: crate::cmd::version::VERSION.to_owned(),
        signing_key: key,
    };
    let built = match build_run_pack(&runpack, &options) {
        Ok(b) => b,
        Err(e) => return o.fail(out, &e.to_string(), e.exit()),
    };
    build_ok(out, o, &built, &warnings)
}

fn build_ok(
    out: &Out,
    o: Output,
    built: &gait_pack::pack::BuildResult,
    warnings: &[String],
) -> Exit {
    let path = built.path.display().to_string();
    let mut text = vec![format!(
        "pack build ok: {path} ({})",
        built.manifest.pack_type
    )];
    if !warnings.is_empty() {
        text.push(format!("warnings: {}", warnings.join("; ")));
    }
    let mut o = o
        .str("path", &path)
        .str("pack_id", &built.manifest.pack_id)
        .str("pack_type", &built.manifest.pack_type)
        .str("source_ref", &built.manifest.source_ref);
    put_strs(&mut o.fields, "warnings", warnings);
    o.print(out, true, Exit::Ok, &text)
}

/// The signing key of a build (if any) and its warnings.
type BuildKey = (Option<gait_sign::SigningKey<Trace>>, Vec<String>);

/// `--key-mode none|dev|prod`: none signs only when a private source is
/// given (as prod); dev generates an ephemeral key; prod requires a source.
fn load_build_key(a: &PackBuildArgs) -> Result<BuildKey, (String, Exit)> {
    let private = a.keys.private.source()?;
    let mode = match a
        .keys
        .key_mode
        .as_deref()
        .unwrap_or_default()
        .parse::<PackKeyMode>()
        .map_err(|e| (e, Exit::InvalidInput))?
    {
        PackKeyMode::None if private.is_none() => return Ok((None, Vec::new())),
        PackKeyMode::None | PackKeyMode::Prod => KeyMode::Prod,
        PackKeyMode::Dev => KeyMode::Dev,
    };
    let loaded = load_signing::<Trace>(mode, private)?;
    let warnings = loaded.warning.map(str::to_owned).into_iter().collect();
    Ok((Some(loaded.key), warnings))
}

/// A runpack argument: a path (anything with a separator or ending in
/// `.zip`) must exist; a run id is looked up as
/// `./gait-out/runpack_<id>.zip`, then `~/.gait/runpacks/runpack_<id>.zip`.
fn resolve_runpack(from: &str) -> Result<PathBuf, String> {
    let lower = from.to_ascii_lowercase();
    if lower.ends_with(".json") && !Path::new(from).is_dir() {
        // A session chain: its latest checkpoint's runpack.
        return gait_pack::runpack::resolve_checkpoint_runpack(Path::new(from), "latest")
            .map(|(cp, _)| PathBuf::from(cp.runpack_path))
            .map_err(|e| e.to_string());
    }
    if from.contains('/') || from.contains('\\') || lower.ends_with(".zip") {
        let p = PathBuf::from(from);
        if p.is_file() {
            return Ok(p);
        }
        return Err(format!("runpack not found: {from}"));
    }
    let name = format!("runpack_{from}.zip");
    let local = Path::new(".").join("gait-out").join(&name);
    if local.is_file() {
        return Ok(local);
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let p = PathBuf::from(home)
            .join(".gait")
            .join("runpacks")
            .join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!("runpack not found: {from}"))
}

fn verify(out: &Out, a: &PackVerifyArgs) -> Exit {
    let o = Output::new("verify");
    let Some(path) = single_path(a.path.as_ref(), &a.pack) else {
        return o.fail(out, "expected <pack.zip>", Exit::InvalidInput);
    };
    // The same profile, signature and key rules as `gait verify`.
    let setup = match crate::cmd::runpack::verify_setup(&a.profile, a.require_signature, &a.keys) {
        Ok(s) => s,
        Err((m, e)) => return o.fail(out, &m, e),
    };
    let require_signature = setup.require_signature;
    let public_key = setup.key;
    let options = VerifyOptions {
        public_key,
        require_signature,
    };
    let spinner =
        crate::cmd::progress::spinner_for_file(Path::new(&path), out.is_json(), "verifying");
    let verified = verify_pack(Path::new(&path), &options);
    crate::cmd::progress::finish(spinner);
    let report = match verified {
        Ok(r) => r,
        Err(e) => {
            return o.str("path", &path).fail(out, &e.to_string(), e.exit());
        }
    };
    let ok = report.ok(require_signature);
    let exit = if ok { Exit::Ok } else { Exit::VerifyFailed };
    let mut text = Vec::new();
    if ok {
        text.push(format!("pack verify ok: {path}"));
    } else {
        text.push(format!("pack verify failed: {path}"));
        if !report.missing_files.is_empty() {
            text.push(format!(
                "missing files: {}",
                report.missing_files.join(", ")
            ));
        }
        for m in &report.hash_mismatches {
            text.push(format!(
                "hash mismatch: {} expected={} actual={}",
                m.path, m.expected, m.actual
            ));
        }
        if !report.undeclared_files.is_empty() {
            text.push(format!(
                "undeclared files: {}",
                report.undeclared_files.join(", ")
            ));
        }
        text.push(format!("signature status: {}", report.signature_status));
        for e in &report.signature_errors {
            text.push(format!("signature error: {e}"));
        }
    }
    o.str("path", &path)
        .str("pack_id", &report.pack_id)
        .str("pack_type", &report.pack_type)
        .str("source_ref", &report.source_ref)
        .value("verify", report.to_value())
        .print(out, ok, exit, &text)
}

fn inspect(out: &Out, a: &PackInspectArgs) -> Exit {
    let o = Output::new("inspect");
    let Some(path) = single_path(a.path.as_ref(), &a.pack) else {
        return o.fail(out, "expected <pack.zip>", Exit::InvalidInput);
    };
    let report = match inspect_pack(Path::new(&path)) {
        Ok(r) => r,
        Err(e) => {
            return o.str("path", &path).fail(out, &e.to_string(), e.exit());
        }
    };
    let text = [format!(
        "pack inspect ok: {} ({})",
        report.pack_id, report.pack_type
    )];
    o.str("path", &path)
        .str("pack_id", &report.pack_id)
        .str("pack_type", &report.pack_type)
        .str("source_ref", &report.source_ref)
        .value("inspect", report.to_value())
        .print(out, true, Exit::Ok, &text)
}

fn diff(out: &Out, a: &PackDiffArgs) -> Exit {
    let o = Output::new("diff");
    let [left, right] = a.packs.as_slice() else {
        return o.fail(out, "expected <left> <right>", Exit::InvalidInput);
    };
    let result = match diff_packs(Path::new(left.trim()), Path::new(right.trim())) {
        Ok(r) => r,
        Err(e) => return o.fail(out, &e.to_string(), e.exit()),
    };
    let output_path = a.output.as_deref().map(str::trim).unwrap_or_default();
    if !output_path.is_empty() {
        if let Err(e) = gait_sign::write_file_atomic(
            Path::new(output_path),
            &result.to_go_json(),
            gait_sign::PRIVATE_FILE_MODE,
            true,
        ) {
            return o.fail(out, &e.to_string(), e.exit());
        }
    }
    let ok = !result.summary.changed;
    let exit = if ok { Exit::Ok } else { Exit::VerifyFailed };
    let text = if ok {
        vec!["pack diff ok".to_owned()]
    } else {
        let mut t = vec!["pack diff changed".to_owned()];
        for (label, list) in [
            ("added", &result.summary.added_files),
            ("removed", &result.summary.removed_files),
            ("changed", &result.summary.changed_files),
        ] {
            if !list.is_empty() {
                t.push(format!("{label}: {}", list.join(", ")));
            }
        }
        if result.summary.manifest_delta {
            t.push("manifest changed".to_owned());
        }
        t
    };
    // The reference nests the result under an untagged `Result` member.
    let mut nested = Map::new();
    nested.insert("Result".into(), result.to_value());
    o.str("path", output_path)
        .value("diff", Value::Object(nested))
        .print(out, ok, exit, &text)
}

fn export(out: &Out, a: &PackExportArgs) -> Exit {
    let o = Output::new("export");
    let Some(path) = single_path(a.path.as_ref(), &a.pack) else {
        return o.fail(out, "expected <pack.zip>", Exit::InvalidInput);
    };
    let trimmed = |s: &Option<String>| s.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let otel_out = trimmed(&a.otel_out);
    let sql_out = trimmed(&a.postgres_sql_out);
    if otel_out.is_empty() && sql_out.is_empty() {
        return o.fail(
            out,
            "at least one export output is required (--otel-out or --postgres-sql-out)",
            Exit::InvalidInput,
        );
    }
    let record = match build_export_record(Path::new(&path)) {
        Ok(r) => r,
        Err(e) => return o.fail(out, &e.to_string(), e.exit()),
    };
    // Validate the table before writing anything.
    let sql = if sql_out.is_empty() {
        None
    } else {
        let options = PostgresSqlOptions {
            table: a.postgres_table.trim().to_owned(),
            include_ddl: a.postgres_include_ddl,
        };
        match postgres_index_sql(&record, &options) {
            Ok(s) => Some(s),
            Err(e) => return o.fail(out, &e.to_string(), e.exit()),
        }
    };
    if !otel_out.is_empty() {
        if let Err(e) = write_otel_jsonl(Path::new(&otel_out), &record) {
            return o.fail(out, &e.to_string(), e.exit());
        }
    }
    if let Some(sql) = sql {
        if let Err(e) = write_output(Path::new(&sql_out), sql.as_bytes(), "write postgres sql") {
            return o.fail(out, &e.to_string(), e.exit());
        }
    }
    let mut text = vec![format!("pack export ok: {path}")];
    if !otel_out.is_empty() {
        text.push(format!("otel: {otel_out}"));
    }
    if !sql_out.is_empty() {
        text.push(format!("postgres_sql: {sql_out}"));
    }
    o.str("path", &path)
        .str("pack_id", &record.pack_id)
        .str("pack_type", &record.pack_type)
        .str("source_ref", &record.source_ref)
        .str("otel_path", &otel_out)
        .str("postgres_sql_path", &sql_out)
        .value("export", record.to_value())
        .print(out, true, Exit::Ok, &text)
}
