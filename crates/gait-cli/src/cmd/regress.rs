//! `gait regress init|add|run|bootstrap` and `gait capture`.

use std::path::Path;

use clap::{Args, Subcommand};
use gait_regress::{CaptureReceipt, InitOptions, InitResult, RunOptions, RunResult};
use serde_json::{Map, Value, json};

use crate::cmd::{fail, put_int, put_str, put_strs};
use crate::exit::{Exit, Failure, failure};
use crate::output::{Out, stdout_line};

/// `gait regress …`
#[derive(Debug, Subcommand)]
pub enum RegressCommand {
    /// Turn a runpack into a regression fixture (fixtures/<name>/, gait.yaml).
    #[command(
        after_help = "Examples:\n  gait demo\n  gait regress init --from run_demo --json\n  gait regress init --from ./incident/runpack_run_42.zip --name incident-42"
    )]
    Init(RegressInitArgs),
    /// Add a fixture from a capture receipt, run id or runpack.
    #[command(
        after_help = "Examples:\n  gait capture --from run_demo\n  gait regress add --from ./gait-out/capture.json --json"
    )]
    Add(RegressInitArgs),
    /// Run every fixture through the graders; exit 5 on a regression.
    #[command(
        after_help = "Examples:\n  gait regress run --json\n  gait regress run --json --junit ./gait-out/junit.xml\n  gait regress run --config gait.yaml --output regress_result.json"
    )]
    Run(RegressRunArgs),
    /// Init a fixture and run the graders in one step.
    #[command(
        after_help = "Examples:\n  gait demo\n  gait regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml"
    )]
    Bootstrap(RegressBootstrapArgs),
}

/// `gait regress init|add`
#[derive(Debug, Args)]
pub struct RegressInitArgs {
    /// A run id (looked up in ./gait-out), a runpack or run pack path (add: also a capture receipt).
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    /// Fixture name (default: derived from the run id).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Session-chain checkpoint (latest or an index); session chains are not supported yet.
    #[arg(long, value_name = "latest|N")]
    pub checkpoint: Option<String>,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

/// Flags shared by `regress run` and `regress bootstrap`.
#[derive(Debug, Args)]
pub struct RunFlags {
    /// The regress config.
    #[arg(long, default_value = "gait.yaml", value_name = "PATH")]
    pub config: String,
    /// Where to write regress_result.json.
    #[arg(long, default_value = "regress_result.json", value_name = "PATH")]
    pub output: String,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<String>,
    /// Allow non-deterministic graders (there are none at present).
    #[arg(long)]
    pub allow_nondeterministic: bool,
    /// Run the context conformance grader for every fixture.
    #[arg(long)]
    pub context_conformance: bool,
    /// Accept runtime-only context drift when context conformance is enforced.
    #[arg(long)]
    pub allow_context_runtime_drift: bool,
}

/// `gait regress run`
#[derive(Debug, Args)]
pub struct RegressRunArgs {
    /// Run flags.
    #[command(flatten)]
    pub run: RunFlags,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

/// `gait regress bootstrap`
#[derive(Debug, Args)]
pub struct RegressBootstrapArgs {
    /// A run id or runpack path.
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    /// Fixture name (default: derived from the run id).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Session-chain checkpoint; session chains are not supported yet.
    #[arg(long, value_name = "latest|N")]
    pub checkpoint: Option<String>,
    /// Run flags.
    #[command(flatten)]
    pub run: RunFlags,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

/// `gait capture`
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// A run id, runpack path or gate trace record (.json).
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    /// Where to write the capture receipt.
    #[arg(long, default_value = gait_regress::DEFAULT_CAPTURE_PATH, value_name = "PATH")]
    pub out: String,
    /// Session-chain checkpoint; session chains are not supported yet.
    #[arg(long, value_name = "latest|N")]
    pub checkpoint: Option<String>,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

fn no_positionals(extra: &[String]) -> Result<(), Failure> {
    if extra.is_empty() {
        Ok(())
    } else {
        Err(("unexpected positional arguments".into(), Exit::InvalidInput))
    }
}

fn required_from(from: Option<&str>, what: &str) -> Result<String, Failure> {
    from.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            (
                format!("missing required --from <{what}>"),
                Exit::InvalidInput,
            )
        })
}

/// Runs a `regress` subcommand.
pub fn run(out: &Out, cmd: &RegressCommand) -> Exit {
    match cmd {
        RegressCommand::Init(a) => init(out, a, false),
        RegressCommand::Add(a) => init(out, a, true),
        RegressCommand::Run(a) => run_cmd(out, a),
        RegressCommand::Bootstrap(a) => bootstrap(out, a),
    }
}

fn init_fields(m: &mut Map<String, Value>, r: &InitResult) {
    put_str(m, "run_id", &r.run_id);
    put_str(m, "fixture_name", &r.fixture_name);
    put_str(m, "fixture_dir", &r.fixture_dir);
    put_str(m, "runpack_path", &r.runpack_path);
    put_str(m, "config_path", &r.config_path);
}

fn init(out: &Out, a: &RegressInitArgs, add: bool) -> Exit {
    let label = if add { "regress add" } else { "regress init" };
    let source_label = a
        .from
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let result = (|| -> Result<InitResult, Failure> {
        no_positionals(&a.unexpected)?;
        let what = if add {
            "capture.json|run_id|path"
        } else {
            "run_id|path"
        };
        let from = required_from(a.from.as_deref(), what)?;
        let cp = a.checkpoint.as_deref();
        let source = if add {
            gait_regress::resolve_add_source(&from, cp)
        } else {
            gait_regress::resolve_source(&from, cp)
        }
        .map_err(failure)?;
        let opts = InitOptions::from_source(source, ".").with_name(a.name.clone());
        gait_regress::init_fixture(&opts).map_err(failure)
    })();
    let mut m = Map::new();
    if add {
        put_str(&mut m, "source", &source_label);
    }
    match result {
        Ok(r) => {
            if out.is_json() {
                m.insert("ok".into(), Value::Bool(true));
                init_fields(&mut m, &r);
                put_strs(&mut m, "next_commands", &r.next_commands);
                return out.json(m, Exit::Ok);
            }
            stdout_line(&format!(
                "{label} ok: fixture={} run_id={}",
                r.fixture_name, r.run_id
            ));
            stdout_line(&format!("config: {}", r.config_path));
            stdout_line(&format!("runpack: {}", r.runpack_path));
            stdout_line(&format!("next: {}", r.next_commands.join(" | ")));
            Exit::Ok
        }
        Err((msg, exit)) => fail(out, label, m, &msg, exit),
    }
}

/// Runs the graders with a progress bar on an interactive terminal (never
/// with `--json`, never when standard error is not a TTY).
fn run_graders(out: &Out, f: &RunFlags) -> Result<RunResult, Failure> {
    let opts = {
        let mut o = RunOptions::default();
        o.config_path = f.config.trim().to_owned();
        o.output_path = f.output.trim().to_owned();
        o.junit_path = f.junit.clone();
        o.work_dir = Some(".".to_owned());
        o.producer_version = crate::cmd::version::VERSION.to_owned();
        o.allow_nondeterministic = f.allow_nondeterministic;
        o.context_conformance = f.context_conformance;
        o.allow_context_runtime_drift = f.allow_context_runtime_drift;
        o
    };
    let show = crate::cmd::progress::allowed(out.is_json());
    let bar = show.then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "regress {bar:30} {pos}/{len} fixtures {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let r = gait_regress::run_regress(&opts, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    r.map_err(failure)
}

fn next_command(config: &str) -> String {
    let c = config.trim();
    if c.is_empty() || c == "gait.yaml" {
        "gait regress run --json".to_owned()
    } else {
        format!("gait regress run --config {c} --json")
    }
}

/// The run part of the output; returns the exit status.
fn run_fields(m: &mut Map<String, Value>, r: &RunResult, config: &str) -> Exit {
    let ok = r.passed();
    m.insert("ok".into(), Value::Bool(ok));
    put_str(m, "status", r.result.status.as_str());
    put_int(m, "failed", i64::try_from(r.failed).unwrap_or(i64::MAX));
    if let Some(top) = r.top_failure_reason() {
        put_str(m, "top_failure_reason", &top);
    }
    if !ok {
        put_str(m, "next_command", &next_command(config));
    }
    let mut paths = vec![r.output_path.clone()];
    paths.extend(r.junit_path.clone());
    put_strs(m, "artifact_paths", &paths);
    put_str(m, "output", &r.output_path);
    put_str(m, "junit", r.junit_path.as_deref().unwrap_or_default());
    if ok { Exit::Ok } else { Exit::RegressFailed }
}

fn print_failure_text(r: &RunResult, config: &str) {
    if let Some(top) = r.top_failure_reason() {
        stdout_line(&format!("top_failure_reason: {top}"));
    }
    stdout_line(&format!("next: {}", next_command(config)));
    let mut paths = vec![r.output_path.clone()];
    paths.extend(r.junit_path.clone());
    stdout_line(&format!("artifacts: {}", paths.join(", ")));
}

fn run_cmd(out: &Out, a: &RegressRunArgs) -> Exit {
    let f = &a.run;
    let result = no_positionals(&a.unexpected).and_then(|()| run_graders(out, f));
    let r = match result {
        Ok(r) => r,
        Err((msg, exit)) => return fail(out, "regress run", Map::new(), &msg, exit),
    };
    if out.is_json() {
        let mut m = Map::new();
        put_str(&mut m, "fixture_set", &r.result.fixture_set);
        put_int(
            &mut m,
            "graders",
            i64::try_from(r.result.graders.len()).unwrap_or(i64::MAX),
        );
        let exit = run_fields(&mut m, &r, &f.config);
        return out.json(m, exit);
    }
    if r.passed() {
        stdout_line(&format!(
            "regress run ok: fixture_set={} graders={}",
            r.result.fixture_set,
            r.result.graders.len()
        ));
    } else {
        stdout_line(&format!(
            "regress run failed: fixture_set={} failed={}",
            r.result.fixture_set, r.failed
        ));
        print_failure_text(&r, &f.config);
    }
    stdout_line(&format!("output: {}", r.output_path));
    if let Some(j) = &r.junit_path {
        stdout_line(&format!("junit: {j}"));
    }
    if r.passed() {
        Exit::Ok
    } else {
        Exit::RegressFailed
    }
}

fn bootstrap(out: &Out, a: &RegressBootstrapArgs) -> Exit {
    let f = &a.run;
    let result = (|| -> Result<(InitResult, RunResult), Failure> {
        no_positionals(&a.unexpected)?;
        let from = required_from(a.from.as_deref(), "run_id|path")?;
        let source =
            gait_regress::resolve_source(&from, a.checkpoint.as_deref()).map_err(failure)?;
        let opts = InitOptions::from_source(source, ".").with_name(a.name.clone());
        let init = gait_regress::init_fixture(&opts).map_err(failure)?;
        Ok((init, run_graders(out, f)?))
    })();
    let (init, r) = match result {
        Ok(v) => v,
        Err((msg, exit)) => return fail(out, "regress bootstrap", Map::new(), &msg, exit),
    };
    if out.is_json() {
        let mut m = Map::new();
        init_fields(&mut m, &init);
        let exit = run_fields(&mut m, &r, &f.config);
        return out.json(m, exit);
    }
    if r.passed() {
        stdout_line(&format!(
            "regress bootstrap ok: run_id={} fixture={}",
            init.run_id, init.fixture_name
        ));
        stdout_line(&format!("output: {}", r.output_path));
        if let Some(j) = &r.junit_path {
            stdout_line(&format!("junit: {j}"));
        }
        return Exit::Ok;
    }
    stdout_line(&format!(
        "regress bootstrap failed: run_id={} fixture={} failed={}",
        init.run_id, init.fixture_name, r.failed
    ));
    print_failure_text(&r, &f.config);
    Exit::RegressFailed
}

/// `gait capture`: writes a capture receipt for `regress add`.
pub fn capture(out: &Out, a: &CaptureArgs) -> Exit {
    let result = (|| -> Result<CaptureReceipt, Failure> {
        no_positionals(&a.unexpected)?;
        let from = required_from(a.from.as_deref(), "run_id|path")?;
        let mut receipt = gait_regress::capture(&from, a.checkpoint.as_deref()).map_err(failure)?;
        let path = a.out.trim();
        if path.is_empty() {
            return Err((
                "capture output path must not be empty".into(),
                Exit::InvalidInput,
            ));
        }
        gait_regress::write_capture_receipt(Path::new(path), &mut receipt).map_err(failure)?;
        Ok(receipt)
    })();
    match result {
        Ok(r) => {
            if out.is_json() {
                let Value::Object(m) = json!(r) else {
                    return out.json_error("encode capture receipt", Exit::Internal);
                };
                return out.json(m, Exit::Ok);
            }
            stdout_line(&format!(
                "capture ok: type={} path={}",
                r.artifact_type, r.artifact_path
            ));
            stdout_line(&format!("receipt: {}", r.output_path));
            Exit::Ok
        }
        Err((msg, exit)) => {
            let mut m = Map::new();
            m.insert("schema_id".into(), json!(gait_regress::CAPTURE_SCHEMA_ID));
            m.insert(
                "schema_version".into(),
                json!(gait_regress::CAPTURE_SCHEMA_VERSION),
            );
            put_str(
                &mut m,
                "from",
                a.from.as_deref().map(str::trim).unwrap_or_default(),
            );
            fail(out, "capture", m, &msg, exit)
        }
    }
}
