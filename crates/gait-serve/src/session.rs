//! Run sessions: guarded calls and service decisions collected into a
//! runpack.

use std::path::Path;
use std::sync::{Arc, Mutex};

use gait_digest::GoTime;
use gait_pack::runpack::{RecordInput, RunRecorder};
use gait_policy::{Decision, Intent};
use gait_sign::{SigningKey, Trace};
use gait_trace::{CallRecorder, RecordedCall, TraceRecord};
use serde_json::{Value, json};

use crate::error::ServeError;

#[derive(Debug, Default)]
struct Entries {
    intents: Vec<Value>,
    results: Vec<Value>,
    first: Option<GoTime>,
}

/// Collects calls (their intents, decisions and whether they ran) and
/// writes them as one runpack (reference capture: digests only).
///
/// It implements [`CallRecorder`], so a [`gait_trace::Guard`] can feed it:
///
/// ```
/// use std::sync::Arc;
/// use gait_policy::{Gate, Intent, Policy};
/// use gait_serve::RunSession;
/// use gait_trace::{Guard, MemorySink};
///
/// let session = Arc::new(RunSession::new("run_demo", "0.0.0-dev"));
/// let gate = Gate::new(Policy::from_yaml_str("default_verdict: allow\n")?);
/// let guard = Guard::unsigned(gate, Box::new(MemorySink::new())).with_recorder(session.clone());
/// let intent = Intent::from_json_str(r#"{"tool_name":"tool.read","args":{},"targets":[],
///     "context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#)?;
/// guard.guard(&intent, || ())?;
/// assert_eq!(session.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RunSession {
    run_id: String,
    producer_version: String,
    entries: Arc<Mutex<Entries>>,
}

impl RunSession {
    /// An empty session for `run_id`.
    pub fn new(run_id: &str, producer_version: &str) -> Self {
        Self {
            run_id: run_id.to_owned(),
            producer_version: producer_version.to_owned(),
            entries: Arc::new(Mutex::new(Entries::default())),
        }
    }

    /// The number of calls recorded.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.intents.len()).unwrap_or(0)
    }

    /// Whether no call was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records one decided call.
    pub fn add_decision(
        &self,
        intent: &Intent,
        decision: &Decision,
        trace: &TraceRecord,
        executed: bool,
    ) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        let n = e.intents.len() + 1;
        let intent_id = format!("intent_{n}");
        let now = trace.observed_at.to_utc();
        e.first.get_or_insert(now);
        e.intents.push(json!({
            "intent_id": intent_id,
            "tool_name": intent.tool_name(),
            "args_digest": intent.args_digest().to_hex(),
            "created_at": now.format(),
        }));
        let result = json!({
            "verdict": decision.verdict().as_str(),
            "reason_codes": decision.reason_codes(),
            "trace_id": trace.trace_id,
            "executed": executed,
        });
        e.results.push(json!({
            "intent_id": intent_id,
            "status": if executed { "ok" } else { "error" },
            "result_digest": gait_digest::digest_json(&result).to_hex(),
            "created_at": now.format(),
        }));
    }

    /// The session as `gait run record` input.
    ///
    /// # Errors
    ///
    /// [`ServeError::Internal`] when the record input is rejected.
    pub fn record_input(&self) -> Result<RecordInput, ServeError> {
        let e = self
            .entries
            .lock()
            .map_err(|_| ServeError::Internal("run session lock poisoned".into()))?;
        let created = e.first.unwrap_or_else(GoTime::now_utc);
        let input = json!({
            "run": {
                "run_id": self.run_id,
                "created_at": created.format(),
                "producer_version": self.producer_version,
                "env": {"os": std::env::consts::OS, "arch": std::env::consts::ARCH, "runtime": "rust"},
            },
            "intents": e.intents,
            "results": e.results,
            "capture_mode": "reference",
        });
        let bytes = serde_json::to_vec(&input)
            .map_err(|err| ServeError::Internal(format!("encode run session: {err}")))?;
        RecordInput::from_json(&bytes).map_err(|err| ServeError::Internal(err.to_string()))
    }

    /// The session as signed runpack zip bytes.
    ///
    /// # Errors
    ///
    /// [`ServeError::Internal`] when recording fails.
    pub fn runpack_bytes(&self, key: &SigningKey<Trace>) -> Result<Vec<u8>, ServeError> {
        Ok(RunRecorder::new(self.record_input()?)
            .sign_with(key)
            .record()
            .map_err(|e| ServeError::Internal(e.to_string()))?
            .zip)
    }

    /// Writes the session as a signed PackSpec run pack at `path`
    /// (atomically); returns the pack id.
    ///
    /// # Errors
    ///
    /// [`ServeError::Internal`] when recording, building or writing fails.
    pub fn write_pack(&self, path: &Path, key: &SigningKey<Trace>) -> Result<String, ServeError> {
        let runpack = self.runpack_bytes(key)?;
        let built =
            gait_pack::pack::build_run_pack_bytes(&runpack, &self.producer_version, Some(key))
                .map_err(|e| ServeError::Internal(format!("build pack: {e}")))?;
        write_private(path, &built.bytes)?;
        Ok(built.manifest.pack_id)
    }

    /// Writes the session as a signed runpack at `path` (atomically).
    ///
    /// # Errors
    ///
    /// [`ServeError::Internal`] when recording or writing fails.
    pub fn write(&self, path: &Path, key: &SigningKey<Trace>) -> Result<(), ServeError> {
        let zip = self.runpack_bytes(key)?;
        write_private(path, &zip)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServeError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        gait_sign::create_private_dir(parent).map_err(|e| ServeError::Internal(e.to_string()))?;
    }
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| ServeError::Internal(e.to_string()))
}

impl CallRecorder for RunSession {
    fn record_call(&self, call: &RecordedCall<'_>) {
        self.add_decision(call.intent, call.decision, call.trace, call.executed);
    }
}
