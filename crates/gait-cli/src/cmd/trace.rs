//! `gait trace verify`, `gait trace verify-journal`

use gait_sign::Trace;
use gait_trace::{
    JournalError, JournalReport, MAX_TRACE_BYTES, SignatureStatus, verify_journal,
    verify_trace_bytes,
};
use serde_json::{Map, Value};

use crate::args::{TraceCommand, TraceVerifyArgs};
use crate::cmd::read_input;
use crate::exit::Exit;
use crate::key_args::VerifyKeyArgs;
use crate::output::{Out, stderr_line, stdout_line};

/// Runs a `trace` subcommand.
pub fn run(out: &Out, cmd: &TraceCommand) -> Exit {
    match cmd {
        TraceCommand::Verify(a) => match &a.journal {
            Some(dir) => journal(out, dir, &a.keys),
            None => verify(out, a),
        },
        TraceCommand::VerifyJournal(a) => journal(out, &a.dir, &a.keys),
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

fn journal(out: &Out, dir: &str, keys: &VerifyKeyArgs) -> Exit {
    let fail = |msg: String, exit: Exit| {
        if out.is_json() {
            out.json_error(&msg, exit)
        } else {
            stderr_line(&format!("trace journal verify error: {msg}"));
            exit
        }
    };
    let key = match keys.load::<Trace>() {
        Ok(k) => k,
        Err((m, e)) => return fail(m, e),
    };
    let report = match verify_journal(std::path::Path::new(dir), &key) {
        Ok(r) => r,
        Err(e) => {
            let exit = match &e {
                JournalError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound
                        || source.kind() == std::io::ErrorKind::Other =>
                {
                    Exit::InvalidInput
                }
                _ => Exit::Internal,
            };
            return fail(e.to_string(), exit);
        }
    };
    let exit = if report.is_ok() {
        Exit::Ok
    } else {
        Exit::VerifyFailed
    };
    if out.is_json() {
        return out.json(journal_json(dir, &report), exit);
    }
    if report.is_ok() {
        stdout_line(&format!(
            "trace journal verify ok: {dir} ({} records, {} segments, {} checkpoints, {} records under the last checkpoint)",
            report.records, report.segments, report.checkpoints, report.covered_records
        ));
    } else {
        stdout_line(&format!("trace journal verify failed: {dir}"));
        for p in &report.problems {
            let seq = p.seq.map(|s| format!(" (record {s})")).unwrap_or_default();
            stdout_line(&format!(
                "{}: {} at byte {}{seq}: {}",
                p.kind.as_str(),
                p.path.display(),
                p.offset,
                p.detail
            ));
        }
    }
    if let Some(t) = &report.torn_tail {
        stdout_line(&format!(
            "torn tail (never acknowledged; cut when the journal is next opened): {} at byte {}, {} bytes",
            t.path.display(),
            t.offset,
            t.discarded_bytes
        ));
    }
    exit
}

fn journal_json(dir: &str, report: &JournalReport) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(report.is_ok()));
    m.insert("path".into(), Value::String(dir.to_owned()));
    m.insert("records".into(), Value::from(report.records));
    m.insert("segments".into(), Value::from(report.segments));
    m.insert("checkpoints".into(), Value::from(report.checkpoints));
    m.insert(
        "covered_records".into(),
        Value::from(report.covered_records),
    );
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            let mut o = Map::new();
            o.insert("kind".into(), Value::String(p.kind.as_str().to_owned()));
            o.insert("path".into(), Value::String(p.path.display().to_string()));
            o.insert("offset".into(), Value::from(p.offset));
            if let Some(seq) = p.seq {
                o.insert("seq".into(), Value::from(seq));
            }
            o.insert("detail".into(), Value::String(p.detail.clone()));
            Value::Object(o)
        })
        .collect();
    if let Some(first) = report.problems.first() {
        m.insert(
            "first_bad_path".into(),
            Value::String(first.path.display().to_string()),
        );
        m.insert("first_bad_offset".into(), Value::from(first.offset));
    }
    m.insert("problems".into(), Value::Array(problems));
    if let Some(t) = &report.torn_tail {
        let mut o = Map::new();
        o.insert("path".into(), Value::String(t.path.display().to_string()));
        o.insert("offset".into(), Value::from(t.offset));
        o.insert("discarded_bytes".into(), Value::from(t.discarded_bytes));
        m.insert("torn_tail".into(), Value::Object(o));
    }
    m
}
