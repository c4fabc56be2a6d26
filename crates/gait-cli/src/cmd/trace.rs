//! `gait trace verify`

use gait_sign::Trace;
use gait_trace::{MAX_TRACE_BYTES, SignatureStatus, verify_trace_bytes};
use serde_json::{Map, Value};

use crate::args::{TraceCommand, TraceVerifyArgs};
use crate::cmd::read_input;
use crate::exit::Exit;
use crate::output::{Out, stderr_line, stdout_line};

/// Runs a `trace` subcommand.
pub fn run(out: &Out, cmd: &TraceCommand) -> Exit {
    match cmd {
        TraceCommand::Verify(a) => verify(out, a),
    }
}

fn verify(out: &Out, a: &TraceVerifyArgs) -> Exit {
    let fail = |msg: String, exit: Exit| {
        if out.is_json() {
            out.json_error(&msg, exit)
        } else {
            stderr_line(&format!("trace verify error: {msg}"));
            exit
        }
    };
    let path = match (&a.path, &a.trace) {
        (Some(p), None) | (None, Some(p)) => p.clone(),
        _ => return fail("expected trace path".into(), Exit::InvalidInput),
    };
    let bytes = match read_input(&path, "trace record", MAX_TRACE_BYTES as u64) {
        Ok(b) => b,
        Err((m, e)) => return fail(m, e),
    };
    let key = match a.keys.load::<Trace>() {
        Ok(k) => k,
        Err((m, e)) => return fail(m, e),
    };
    let report = match verify_trace_bytes(&bytes, &key) {
        Ok(r) => r,
        Err(e) => return fail(e.to_string(), Exit::InvalidInput),
    };
    let verified = report.status == SignatureStatus::Verified;
    let exit = if verified {
        Exit::Ok
    } else {
        Exit::VerifyFailed
    };
    if out.is_json() {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(verified));
        m.insert("path".into(), Value::String(path.clone()));
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.to_owned()));
            }
        };
        put("trace_id", &report.trace_id);
        put("verdict", &report.verdict);
        put("signature_status", report.status.as_str());
        put("key_id", &report.key_id);
        put("error", report.error.as_deref().unwrap_or_default());
        return out.json(m, exit);
    }
    if verified {
        stdout_line(&format!("trace verify ok: {path}"));
    } else {
        stdout_line(&format!("trace verify failed: {path}"));
        stdout_line(&format!("signature status: {}", report.status.as_str()));
        if let Some(e) = report.error.as_deref().filter(|e| !e.is_empty()) {
            stderr_line(&format!("trace verify error: {e}"));
        }
    }
    exit
}
