//! `gait test | enforce | trace [flags] -- <child…>`: the wrappers
//! (library: `gait-wrap`).

use clap::Args;
use gait_sign::Trace;
use gait_wrap::{BOUNDARY_CONTRACT, Mode, Outcome, WrapOptions, WrapReport};
use serde_json::{Map, Value, json};

use crate::cmd::{put_str, put_strs};
use crate::exit::{Exit, Status};
use crate::key_args::VerifyKeyArgs;
use crate::output::{Out, stderr_line, stdout_line};

/// `gait test`, `gait enforce`, `gait trace -- …`
#[derive(Debug, Args)]
#[command(
    mut_arg("public_key", |a| a.help("Verify every trace's signature with this public key file (an unverified trace is invalid)")),
    mut_arg("public_key_env", |a| a.help("Environment variable holding the public key to verify traces with")),
    mut_arg("private_key", |a| a.help("Private key file whose public half verifies the traces")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding a private key whose public half verifies the traces")),
)]
pub struct WrapArgs {
    /// Working directory of the child (relative trace paths are read from there too).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub cwd: String,
    /// Deadline for the child, as a Go duration (30s, 1500ms, 2m); must be > 0.
    #[arg(
        long,
        default_value = "30s",
        allow_hyphen_values = true,
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// Trace signature keys (optional).
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
    /// The child command, after `--` (run directly, no shell).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The exit status of an outcome, for the JSON error envelope.
fn envelope_exit(outcome: Outcome) -> Exit {
    Exit::from_code(outcome.code())
}

/// A refusal before anything ran (exit 6): `{ok:false, mode, error}` plus
/// the contract fields under `--json`, `<mode> error: <msg>` otherwise.
pub fn usage_error(out: &Out, mode: Mode, message: &str) -> Status {
    if out.is_json() {
        let mut m = contract(mode);
        m.insert("ok".into(), Value::Bool(false));
        m.insert("error".into(), Value::String(message.trim().to_owned()));
        return out.json(m, Exit::InvalidInput).into();
    }
    stderr_line(&format!("{} error: {message}", mode.as_str()));
    Exit::InvalidInput.into()
}

fn contract(mode: Mode) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("mode".into(), Value::String(mode.as_str().to_owned()));
    m.insert(
        "boundary_contract".into(),
        Value::String(BOUNDARY_CONTRACT.to_owned()),
    );
    m.insert("trace_reference_required".into(), Value::Bool(true));
    m
}

/// Runs a wrapper.
pub fn run(out: &Out, mode: Mode, a: &WrapArgs) -> Status {
    if a.command.is_empty() {
        return usage_error(out, mode, &gait_wrap::WrapError::NoChildCommand.to_string());
    }
    let timeout = match gait_wrap::parse_timeout(&a.timeout) {
        Ok(t) => t,
        Err(e) => return usage_error(out, mode, &e.to_string()),
    };
    let key = if a.keys.any_given() {
        match a.keys.load::<Trace>() {
            Ok(k) => Some(k),
            Err((m, _)) => return usage_error(out, mode, &m),
        }
    } else {
        None
    };
    let options = WrapOptions::new(mode, a.command.clone())
        .cwd(a.cwd.trim())
        .timeout(timeout)
        .trace_key(key);
    let report = gait_wrap::run(&options);
    print(out, &report)
}

fn print(out: &Out, r: &WrapReport) -> Status {
    let status = Status::Passthrough(r.outcome.code());
    let traces = r.trace_paths.len();
    let child_exit = r.child_exit_code.unwrap_or(0);
    if !out.is_json() {
        let mode = r.mode.as_str();
        if r.ok {
            stdout_line(&format!(
                "{mode} ok: child_exit={child_exit} traces={traces}"
            ));
        } else if let Some(e) = &r.error {
            stderr_line(&format!("{mode} error: {e}"));
        } else {
            stdout_line(&format!(
                "{mode} finished: child_exit={child_exit} traces={traces}"
            ));
        }
        return status;
    }
    let mut m = contract(r.mode);
    m.insert("ok".into(), Value::Bool(r.ok));
    m.insert("command".into(), json!(r.command));
    m.insert("cwd".into(), Value::String(r.cwd.clone()));
    if let Some(f) = r.failure_reason {
        put_str(&mut m, "failure_reason", f.as_str());
    }
    if let Some(code) = r.child_exit_code {
        m.insert("child_exit_code".into(), Value::from(code));
    }
    if let Some(signal) = r.child_signal {
        m.insert("child_signal".into(), Value::from(signal));
    }
    if r.timed_out {
        m.insert("timed_out".into(), Value::Bool(true));
    }
    let ms = u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX);
    m.insert("duration_ms".into(), Value::from(ms));
    if !r.verdict_counts.is_empty() {
        let counts: Vec<Value> = r
            .verdict_counts
            .iter()
            .map(|c| json!({"verdict": c.verdict.as_str(), "count": c.count}))
            .collect();
        m.insert("verdict_counts".into(), Value::Array(counts));
    }
    put_strs(&mut m, "trace_paths", &r.trace_paths);
    put_strs(&mut m, "runpack_paths", &r.runpack_paths);
    put_str(&mut m, "stdout", &r.stdout);
    put_str(&mut m, "stderr", &r.stderr);
    put_strs(&mut m, "warnings", &r.warnings);
    if r.signatures_checked {
        put_str(&mut m, "trace_signatures", "required");
    }
    if let Some(e) = &r.error {
        put_str(&mut m, "error", e);
    }
    out.json(m, envelope_exit(r.outcome));
    status
}
