//! Guarding tool calls in-process: decide, record the signed trace, and
//! only then run the tool — and only on `allow`.
//!
//! ```
//! use gait_policy::{Gate, Intent, Policy, Verdict};
//! use gait_sign::{SigningKey, Trace};
//! use gait_trace::{Guard, MemorySink};
//!
//! let gate = Gate::new(Policy::from_yaml_str(
//!     "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
//! )?);
//! let guard = Guard::new(gate, SigningKey::<Trace>::generate()?, Box::new(MemorySink::new()));
//! let call = |tool: &str| Intent::from_json_str(&format!(
//!     r#"{{"tool_name":"{tool}","args":{{}},"targets":[],
//!         "context":{{"identity":"a","workspace":"/w","risk_class":"low"}}}}"#));
//! assert_eq!(guard.guard(&call("tool.read")?, || 42), Ok(42));
//! let refusal = guard.guard(&call("tool.delete")?, || 0).unwrap_err();
//! assert_eq!(refusal.verdict, Some(Verdict::Block));
//! assert!(refusal.model_message().contains("not executed"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gait_policy::gate::FileRateLimitStore;
use gait_policy::token::ApprovalToken;
use gait_policy::{Decision, Gate, Intent, Verdict};
use gait_sign::{Approval, SigningKey, Trace, VerifyingKey};

use crate::decide::{Boundary, Decider, DecisionRequest};
use crate::emergency::FileJobStore;
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

/// Writes a trace to one file: a fixed path, or
/// `trace_<trace_id>.json` in the working directory (`gait gate eval`'s
/// `--trace-out` rule); remembers where it wrote.
#[derive(Debug, Default)]
pub struct FileSink {
    path: Option<PathBuf>,
    written: Mutex<Option<PathBuf>>,
}

impl FileSink {
    /// A sink writing to `path`, or to `trace_<trace_id>.json` when `None`.
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            written: Mutex::new(None),
        }
    }

    /// Where the last trace was written.
    pub fn written(&self) -> Option<PathBuf> {
        self.written.lock().ok().and_then(|w| w.clone())
    }
}

impl TraceSink for FileSink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("trace_{}.json", trace.trace_id)));
        write_trace(&path, trace)?;
        *self
            .written
            .lock()
            .map_err(|_| TraceError::Write("trace sink lock poisoned".into()))? = Some(path);
        Ok(())
    }
}

/// What happened to a guarded call.
#[derive(Debug)]
#[non_exhaustive]
pub struct Guarded<T> {
    /// The decision.
    pub decision: Decision,
    /// The trace that was recorded (signed unless the guard is
    /// [unsigned](Guard::unsigned)).
    pub trace: TraceRecord,
    /// The tool's result, when the decision allowed running it.
    pub output: Option<T>,
}

/// Whether a guard enforces its decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GuardMode {
    /// Run the tool only on `allow` (the default).
    #[default]
    Enforce,
    /// Decide, sign and record every call, and run the tool whatever the
    /// verdict (rollout). Evidence failures still stop the call.
    Shadow,
}

/// Why a guarded tool did not run: a typed refusal to return to the
/// agent (and, through [`Refusal::model_message`], to the model).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Refusal {
    /// `block`, `require_approval` or `dry_run`; `None` (reported as
    /// `error`) when no decision could be made or its trace could not be
    /// recorded.
    pub verdict: Option<Verdict>,
    /// The decision's reason codes (`gate_evaluation_error` for a gate run
    /// that failed; `trace_sign_failed` or `trace_write_failed` when the
    /// trace could not be made).
    pub reason_codes: Vec<String>,
    /// The decision's violations.
    pub violations: Vec<String>,
    /// The recorded trace's id (empty when none was recorded).
    pub trace_id: String,
    /// The evaluated intent's digest (hex).
    pub intent_digest: String,
    /// A short sentence for the model.
    pub message: String,
}

impl Refusal {
    fn from_decision(decision: &Decision, trace_id: &str) -> Self {
        let verdict = decision.verdict();
        let reason_codes = decision.reason_codes().to_vec();
        let message = refusal_message(verdict, &reason_codes, trace_id);
        Self {
            verdict: Some(verdict),
            reason_codes,
            violations: decision.violations().to_vec(),
            trace_id: trace_id.to_owned(),
            intent_digest: decision.intent_digest().to_hex(),
            message,
        }
    }

    /// A refusal for a call that could not be decided or recorded.
    pub fn error(reason_code: &str, intent_digest: &str, detail: &str) -> Self {
        let reason_codes = vec![reason_code.to_owned()];
        Self {
            verdict: None,
            message: format!(
                "Tool call not executed: the policy gate failed ({reason_code}: {detail})."
            ),
            reason_codes,
            violations: Vec::new(),
            trace_id: String::new(),
            intent_digest: intent_digest.to_owned(),
        }
    }

    /// The text to hand back to the model in place of the tool's result.
    pub fn model_message(&self) -> &str {
        &self.message
    }

    /// The `gait` exit code of the refusal: 3 block (and dry_run), 4
    /// approval required, 1 error.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Some(Verdict::RequireApproval) => 4,
            Some(Verdict::Block | Verdict::DryRun) => 3,
            Some(Verdict::Allow) | None => 1,
        }
    }
}

/// The model-facing sentence of a refusal.
pub fn refusal_message(verdict: Verdict, reason_codes: &[String], trace_id: &str) -> String {
    let why = if reason_codes.is_empty() {
        String::new()
    } else {
        format!(" ({})", reason_codes.join(", "))
    };
    let what = match verdict {
        Verdict::RequireApproval => "requires human approval",
        Verdict::DryRun => "is dry-run only",
        Verdict::Allow | Verdict::Block => "was blocked by policy",
    };
    let trace = if trace_id.is_empty() {
        String::new()
    } else {
        format!(" Trace {trace_id}.")
    };
    format!("Tool call not executed: it {what}{why}.{trace}")
}

/// One guarded call, as a [`CallRecorder`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RecordedCall<'a> {
    /// The evaluated (prepared) intent.
    pub intent: &'a Intent,
    /// The decision.
    pub decision: &'a Decision,
    /// The recorded trace.
    pub trace: &'a TraceRecord,
    /// Whether the tool ran.
    pub executed: bool,
}

/// A hook called once per guarded call, after the tool ran or was
/// refused: for example a run session that turns the calls into a
/// runpack. (A trait here keeps `gait-trace` independent of
/// `gait-pack`.)
pub trait CallRecorder: Send + Sync {
    /// Records one call.
    fn record_call(&self, call: &RecordedCall<'_>);
}

/// A gate, a trace signing key and a sink: the in-process boundary for an
/// agent's tool dispatcher. It decides through the one decision core
/// ([`Decider`]) and only runs the tool on `allow`.
pub struct Guard {
    decider: Decider,
    mode: GuardMode,
    recorder: Option<Arc<dyn CallRecorder>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("decider", &self.decider)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// A decided call whose trace is recorded; the tool has not run.
struct Decided {
    intent: Intent,
    decision: Decision,
    trace: TraceRecord,
}

#[allow(
    clippy::result_large_err,
    reason = "a refusal is returned to the agent by value, as the typed outcome it is"
)]
impl Guard {
    /// A guard signing every trace with `signer`.
    pub fn new(gate: Gate, signer: SigningKey<Trace>, sink: Box<dyn TraceSink>) -> Self {
        Self::from_decider(Decider::new(gate, Arc::from(sink)).with_signer(Arc::new(signer)))
    }

    /// A guard recording **unsigned** traces (signing off: tests, or a
    /// sink that signs or ships the records itself). `gait trace verify`
    /// rejects unsigned traces.
    pub fn unsigned(gate: Gate, sink: Box<dyn TraceSink>) -> Self {
        Self::from_decider(Decider::new(gate, Arc::from(sink)))
    }

    /// A guard deciding through `decider` (with every overlay it is
    /// configured with).
    pub fn from_decider(decider: Decider) -> Self {
        Self {
            decider,
            mode: GuardMode::Enforce,
            recorder: None,
        }
    }

    /// Sets the mode.
    #[must_use]
    pub fn with_mode(mut self, mode: GuardMode) -> Self {
        self.mode = mode;
        self
    }

    /// Calls `recorder` once per guarded call.
    #[must_use]
    pub fn with_recorder(mut self, recorder: Arc<dyn CallRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Counts rate limits and destructive budgets in this state file
    /// (without one, calls under such a rule are blocked with
    /// `rate_limit_state_unavailable`).
    #[must_use]
    pub fn with_rate_limit_state(mut self, path: impl Into<PathBuf>) -> Self {
        self.decider = self
            .decider
            .with_rate_limits(Some(Arc::new(FileRateLimitStore::new(path))));
        self
    }

    /// Verifies presented approval tokens ([`Guard::guard_approved`])
    /// with `key`.
    #[must_use]
    pub fn with_approval_key(mut self, key: VerifyingKey<Approval>) -> Self {
        self.decider = self.decider.with_approval_key(Some(key));
        self
    }

    /// Blocks calls whose intent names an emergency-stopped job (or a job
    /// whose state cannot be read) under the job runtime root `root`.
    #[must_use]
    pub fn with_job_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.decider = self
            .decider
            .with_job_store(Some(Arc::new(FileJobStore::new(root))));
        self
    }

    /// Consults the kill switch in `store` on every call: a call matching
    /// an active entry is blocked. A state that cannot be read blocks the
    /// call when `always_required` (the `oss-prod` profile) or the call's
    /// risk class is `high` or `critical`, and refuses it otherwise.
    #[must_use]
    pub fn with_kill_switch(
        mut self,
        store: Arc<dyn gait_policy::killswitch::KillSwitchStore>,
        always_required: bool,
    ) -> Self {
        self.decider = self.decider.with_kill_switch(Some(store), always_required);
        self
    }

    /// Records `version` as the producer of traces.
    #[must_use]
    pub fn with_producer_version(mut self, version: &str) -> Self {
        self.decider = self.decider.with_producer_version(version);
        self
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        self.decider.gate()
    }

    /// The decision core.
    pub fn decider(&self) -> &Decider {
        &self.decider
    }

    /// The mode.
    pub fn mode(&self) -> GuardMode {
        self.mode
    }

    /// Decides through the core, which signs and records the trace.
    fn decide(&self, intent: &Intent, approvals: &[ApprovalToken]) -> Result<Decided, Refusal> {
        let request =
            DecisionRequest::new(intent, Boundary::Library).with_approval_tokens(approvals);
        let d = self
            .decider
            .decide(&request)
            .map_err(|e| Refusal::error(e.reason_code(), e.intent_digest(), &e.to_string()))?;
        Ok(Decided {
            intent: d.outcome.prepared_intent,
            decision: d.outcome.decision,
            trace: d.trace,
        })
    }

    fn runs(&self, decision: &Decision) -> bool {
        decision.permits_execution() || self.mode == GuardMode::Shadow
    }

    fn notify(&self, d: &Decided, executed: bool) {
        if let Some(r) = &self.recorder {
            r.record_call(&RecordedCall {
                intent: &d.intent,
                decision: &d.decision,
                trace: &d.trace,
                executed,
            });
        }
    }

    /// Evaluates `intent`, records its trace, and runs `tool` only on
    /// `allow` (any verdict in [shadow](GuardMode::Shadow) mode). The
    /// trace is recorded **before** the tool runs; when evaluation,
    /// signing or recording fails the tool does not run and the refusal's
    /// verdict is `error`.
    ///
    /// # Errors
    ///
    /// [`Refusal`] whenever the tool did not run.
    pub fn guard<T>(&self, intent: &Intent, tool: impl FnOnce() -> T) -> Result<T, Refusal> {
        self.guard_approved(intent, &[], tool)
    }

    /// [`Guard::guard`] with approval tokens presented for this call: a
    /// `require_approval` verdict becomes `allow` when enough valid tokens
    /// (signed with the [approval key](Guard::with_approval_key), bound to
    /// this intent and policy) are given.
    ///
    /// # Errors
    ///
    /// [`Refusal`] whenever the tool did not run.
    pub fn guard_approved<T>(
        &self,
        intent: &Intent,
        approvals: &[ApprovalToken],
        tool: impl FnOnce() -> T,
    ) -> Result<T, Refusal> {
        let d = self.decide(intent, approvals)?;
        if !self.runs(&d.decision) {
            self.notify(&d, false);
            return Err(Refusal::from_decision(&d.decision, &d.trace.trace_id));
        }
        // INVARIANT: the trace is recorded before the tool runs.
        let out = tool();
        self.notify(&d, true);
        Ok(out)
    }

    /// [`Guard::guard`] for an async tool: `tool` is called (and its
    /// future awaited) only on `allow`. Evaluation and trace recording
    /// happen synchronously before; no runtime is required.
    ///
    /// # Errors
    ///
    /// [`Refusal`] whenever the tool did not run.
    pub async fn guard_async<T, F, Fut>(&self, intent: &Intent, tool: F) -> Result<T, Refusal>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let d = self.decide(intent, &[])?;
        if !self.runs(&d.decision) {
            self.notify(&d, false);
            return Err(Refusal::from_decision(&d.decision, &d.trace.trace_id));
        }
        let out = tool().await;
        self.notify(&d, true);
        Ok(out)
    }

    /// Evaluates `intent`, records the trace, and runs `tool` only if the
    /// decision is `allow` (any verdict in shadow mode), returning the
    /// decision and trace too.
    ///
    /// # Errors
    ///
    /// [`TraceError`] when evaluation, signing or recording failed (the
    /// tool did not run).
    pub fn call<T>(
        &self,
        intent: &Intent,
        tool: impl FnOnce() -> T,
    ) -> Result<Guarded<T>, TraceError> {
        let d = self
            .decide(intent, &[])
            .map_err(|r| TraceError::Write(Box::new(r)))?;
        let executed = self.runs(&d.decision);
        // INVARIANT: the trace is durably recorded before the tool runs.
        let output = executed.then(tool);
        self.notify(&d, executed);
        Ok(Guarded {
            decision: d.decision,
            trace: d.trace,
            output,
        })
    }
}
