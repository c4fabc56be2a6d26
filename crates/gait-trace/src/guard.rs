//! Guarding tool calls in-process: decide, record the signed trace, and
//! only then run the tool — and only on `allow`.

use std::path::PathBuf;
use std::sync::Mutex;

use gait_policy::{Decision, Gate, Intent};
use gait_sign::{SigningKey, Trace};

use crate::build::{TraceOptions, build_trace};
use crate::record::{TraceRecord, write_trace};
use crate::verify::TraceError;

/// Where signed traces go.
pub trait TraceSink: Send + Sync {
    /// Records a signed trace durably. An error stops the guarded call.
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError>;
}

impl<S: TraceSink + ?Sized> TraceSink for std::sync::Arc<S> {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        (**self).record(trace)
    }
}

/// Keeps traces in memory (tests, or an agent that ships them itself).
#[derive(Debug, Default)]
pub struct MemorySink {
    traces: Mutex<Vec<TraceRecord>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The traces recorded so far.
    pub fn traces(&self) -> Vec<TraceRecord> {
        self.traces.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl TraceSink for MemorySink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        self.traces
            .lock()
            .map_err(|_| TraceError::Write("trace sink lock poisoned".into()))?
            .push(trace.clone());
        Ok(())
    }
}

/// Writes each trace as `<dir>/trace_<trace_id>_<event_id>.json`
/// (atomically, mode 0600).
#[derive(Debug, Clone)]
pub struct DirectorySink {
    dir: PathBuf,
}

impl DirectorySink {
    /// A sink writing into `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl TraceSink for DirectorySink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        let path = self
            .dir
            .join(format!("trace_{}_{}.json", trace.trace_id, trace.event_id));
        write_trace(&path, trace)
    }
}

/// What happened to a guarded call.
#[derive(Debug)]
#[non_exhaustive]
pub struct Guarded<T> {
    /// The decision.
    pub decision: Decision,
    /// The signed trace that was recorded.
    pub trace: TraceRecord,
    /// The tool's result, when the decision allowed running it.
    pub output: Option<T>,
}

/// A gate, a trace signing key and a sink: the in-process boundary for an
/// agent's tool dispatcher.
pub struct Guard {
    gate: Gate,
    signer: SigningKey<Trace>,
    sink: Box<dyn TraceSink>,
    producer_version: String,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("gate", &self.gate)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard.
    pub fn new(gate: Gate, signer: SigningKey<Trace>, sink: Box<dyn TraceSink>) -> Self {
        Self {
            gate,
            signer,
            sink,
            producer_version: "0.0.0-dev".into(),
        }
    }

    /// Evaluates `intent`, records the signed trace, and runs `tool` only
    /// if the decision is `allow`. The trace is recorded **before** the
    /// tool runs; if recording fails, the tool does not run.
    pub fn call<T>(
        &self,
        intent: &Intent,
        tool: impl FnOnce() -> T,
    ) -> Result<Guarded<T>, TraceError> {
        let started = std::time::Instant::now();
        let inputs = self.gate.inputs(intent);
        let outcome = self
            .gate
            .run(&inputs)
            .map_err(|e| TraceError::Write(format!("gate: {e}")))?;
        let mut opts = TraceOptions::new(&self.producer_version, "");
        opts.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut trace = build_trace(
            &outcome.prepared_intent,
            self.gate.policy(),
            &outcome,
            &opts,
        );
        trace.sign(&self.signer)?;
        self.sink.record(&trace)?;
        let decision = outcome.decision;
        // INVARIANT: the trace is durably recorded before the tool runs.
        let output = decision.permits_execution().then(tool);
        Ok(Guarded {
            decision,
            trace,
            output,
        })
    }
}
