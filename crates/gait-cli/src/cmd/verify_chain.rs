//! `gait verify chain` and `gait verify session-chain`.

use std::path::Path;

use clap::Args;
use gait_pack::pack;
use gait_pack::runpack::{self, SessionChainReport};
use gait_trace::{MAX_TRACE_BYTES, SignatureStatus as TraceStatus, verify_trace_bytes};
use serde_json::{Map, Value};

use crate::args::VerifyKeyArgs;
use crate::cmd::runpack::{VerifySetup, verify_runpack_target, verify_setup};
use crate::cmd::{put_int, put_str, put_strs, read_input};
use crate::exit::{Exit, failure};
use crate::output::{Out, stdout_line};

/// `gait verify chain`
#[derive(Debug, Args)]
pub struct VerifyChainArgs {
    /// The run id or runpack path.
    #[arg(long, value_name = "RUN_ID|PATH")]
    pub run: Option<String>,
    /// A signed trace record to verify with the same key (a key source is
    /// then required).
    #[arg(long, value_name = "PATH")]
    pub trace: Option<String>,
    /// A pack to verify as well (PackSpec v1, legacy evidence pack or
    /// runpack).
    #[arg(long, value_name = "PATH")]
    pub pack: Option<String>,
    /// Verify profile: standard, or strict (requires verified signatures and a key).
    #[arg(long, default_value = "standard", value_name = "PROFILE")]
    pub profile: String,
    /// Require valid signatures on the runpack and the pack.
    #[arg(long)]
    pub require_signature: bool,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
    /// Not accepted; present so that a stray argument is reported clearly.
    #[arg(hide = true, num_args = 0..)]
    pub positional: Vec<String>,
}

/// `gait verify session-chain`
#[derive(Debug, Args)]
pub struct VerifySessionChainArgs {
    /// The session chain file.
    #[arg(long, value_name = "PATH")]
    pub chain: Option<String>,
    /// The session chain file (instead of --chain).
    #[arg(value_name = "CHAIN", num_args = 0..)]
    pub positional: Vec<String>,
    /// Verify profile: standard, or strict (requires verified signatures and a key).
    #[arg(long, default_value = "standard", value_name = "PROFILE")]
    pub profile: String,
    /// Require a verified signature on every checkpoint runpack.
    #[arg(long)]
    pub require_signature: bool,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// Runs `gait verify chain`.
pub fn chain(out: &Out, a: &VerifyChainArgs) -> Exit {
    let json = out.is_json();
    let mut partial = Map::new();
    let fail = |partial: &Map<String, Value>, msg: &str, exit: Exit| {
        if json {
            let mut m = partial.clone();
            m.insert("ok".into(), Value::Bool(false));
            m.entry("run")
                .or_insert_with(|| serde_json::json!({"ok": false}));
            m.insert("error".into(), Value::String(msg.to_owned()));
            return out.json(m, exit);
        }
        stdout_line(&format!("verify chain error: {msg}"));
        exit
    };
    if !a.positional.is_empty() {
        return fail(
            &partial,
            "unexpected positional arguments",
            Exit::InvalidInput,
        );
    }
    let Some(run) = a.run.as_deref().filter(|r| !r.trim().is_empty()) else {
        return fail(&partial, "--run is required", Exit::InvalidInput);
    };
    let setup = match verify_setup(&a.profile, a.require_signature, &a.keys) {
        Ok(s) => s,
        Err((m, e)) => return fail(&partial, &m, e),
    };
    let run_v = match verify_runpack_target(run.trim(), &setup, json) {
        Ok(v) => v,
        Err((m, e)) => return fail(&partial, &m, e),
    };
    let mut ok = run_v.ok;
    partial.insert("run".into(), Value::Object(run_v.to_json()));
    let mut lines = vec![format!("runpack: {}", run_v.path)];

    if let Some(trace) = a.trace.as_deref().filter(|t| !t.trim().is_empty()) {
        match verify_trace(trace.trim(), &setup) {
            Ok((trace_ok, m, line)) => {
                ok &= trace_ok;
                partial.insert("trace".into(), Value::Object(m));
                lines.push(line);
            }
            Err((m, e)) => return fail(&partial, &m, e),
        }
    }
    if let Some(pack_path) = a.pack.as_deref().filter(|p| !p.trim().is_empty()) {
        match verify_pack(pack_path.trim(), &setup) {
            Ok((pack_ok, m, line)) => {
                ok &= pack_ok;
                partial.insert("pack".into(), Value::Object(m));
                lines.push(line);
            }
            Err((m, e)) => return fail(&partial, &m, e),
        }
    }
    let exit = if ok { Exit::Ok } else { Exit::VerifyFailed };
    if json {
        partial.insert("ok".into(), Value::Bool(ok));
        return out.json(partial, exit);
    }
    stdout_line(if ok {
        "verify chain: ok"
    } else {
        "verify chain failed"
    });
    for line in lines {
        stdout_line(&line);
    }
    exit
}

type Part = (bool, Map<String, Value>, String);

fn verify_trace(path: &str, setup: &VerifySetup) -> Result<Part, (String, Exit)> {
    let Some(key) = setup.key.as_ref() else {
        return Err((
            "trace verification requires --public-key/--public-key-env or private key source"
                .into(),
            Exit::InvalidInput,
        ));
    };
    let bytes = read_input(path, "trace record", MAX_TRACE_BYTES as u64)?;
    let report =
        verify_trace_bytes(&bytes, key).map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    let ok = report.status == TraceStatus::Verified;
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(ok));
    put_str(&mut m, "path", path);
    put_str(&mut m, "trace_id", &report.trace_id);
    put_str(&mut m, "verdict", &report.verdict);
    put_str(&mut m, "signature_status", report.status.as_str());
    put_str(&mut m, "key_id", &report.key_id);
    put_str(&mut m, "error", report.error.as_deref().unwrap_or_default());
    let line = format!("trace: {path} ({})", report.status.as_str());
    Ok((ok, m, line))
}

fn verify_pack(path: &str, setup: &VerifySetup) -> Result<Part, (String, Exit)> {
    let options = pack::VerifyOptions {
        public_key: setup.key.clone(),
        require_signature: setup.require_signature,
    };
    let report = pack::verify_pack(Path::new(path), &options).map_err(failure)?;
    let ok = report.ok(setup.require_signature);
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(ok));
    put_str(&mut m, "path", path);
    put_str(&mut m, "pack_id", &report.pack_id);
    put_str(&mut m, "run_id", &report.source_ref);
    put_str(&mut m, "pack_type", &report.pack_type);
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
    put_str(&mut m, "legacy_type", &report.legacy_type);
    let line = format!("pack: {path} ({})", report.signature_status);
    Ok((ok, m, line))
}

/// Runs `gait verify session-chain`.
pub fn session_chain(out: &Out, a: &VerifySessionChainArgs) -> Exit {
    let fail = |msg: &str, exit: Exit| {
        if out.is_json() {
            return out.json_error(msg, exit);
        }
        stdout_line(&format!("verify session-chain error: {msg}"));
        exit
    };
    let chain_path = match (a.chain.as_deref().map(str::trim), a.positional.as_slice()) {
        (Some(c), []) if !c.is_empty() => c.to_owned(),
        (None | Some(""), [p]) if !p.trim().is_empty() => p.trim().to_owned(),
        _ => return fail("expected --chain <session_chain.json>", Exit::InvalidInput),
    };
    let setup = match verify_setup(&a.profile, a.require_signature, &a.keys) {
        Ok(s) => s,
        Err((m, e)) => return fail(&m, e),
    };
    let options = runpack::VerifyOptions::new(setup.key.clone(), setup.require_signature);
    let report = match runpack::verify_session_chain(Path::new(&chain_path), None, &options) {
        Ok(r) => r,
        Err(e) => {
            let exit = if e.is_io() {
                Exit::Internal
            } else {
                Exit::InvalidInput
            };
            return fail(&e.to_string(), exit);
        }
    };
    let ok = report.is_ok();
    let exit = if ok { Exit::Ok } else { Exit::VerifyFailed };
    if out.is_json() {
        return out.json(session_json(ok, &chain_path, &report), exit);
    }
    if ok {
        stdout_line(&format!("verify session-chain: ok ({chain_path})"));
        stdout_line(&format!(
            "session={} run={} checkpoints={}",
            report.session_id, report.run_id, report.checkpoints_checked
        ));
    } else {
        stdout_line(&format!("verify session-chain failed: {chain_path}"));
        if !report.linkage_errors.is_empty() {
            stdout_line(&format!(
                "linkage errors: {}",
                report.linkage_errors.join("; ")
            ));
        }
        if !report.checkpoint_errors.is_empty() {
            stdout_line(&format!(
                "checkpoint errors: {}",
                report.checkpoint_errors.join("; ")
            ));
        }
    }
    exit
}

fn session_json(ok: bool, chain_path: &str, r: &SessionChainReport) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(ok));
    put_str(&mut m, "chain_path", chain_path);
    put_str(&mut m, "session_id", &r.session_id);
    put_str(&mut m, "run_id", &r.run_id);
    put_int(&mut m, "checkpoints_checked", r.checkpoints_checked as i64);
    put_strs(&mut m, "linkage_errors", &r.linkage_errors);
    put_strs(&mut m, "checkpoint_errors", &r.checkpoint_errors);
    m
}
