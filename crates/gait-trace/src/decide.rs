//! The one decision core: every boundary decides through [`Decider`].
//!
//! A boundary (the in-process [`crate::Guard`], `gait gate eval`, the
//! decision service behind `gait serve` and `gait mcp proxy|bridge|serve`,
//! the hooks, the MCP protocol proxy) maps its input to an [`Intent`] and a
//! [`DecisionRequest`], calls [`Decider::decide`], and maps the
//! [`Decided`] back to its own output. Nothing is decided anywhere else,
//! so a control added here reaches every boundary.
//!
//! One decision, in order:
//!
//! 1. the gate: policy evaluation, rate limits and destructive budgets
//!    (through a [`RateLimitStore`]), delegation and approval tokens,
//!    broker requirement, simulation ([`gait_policy::gate`]); a gate run
//!    that cannot complete is the fail-closed decision `block` with
//!    `gate_evaluation_error`;
//! 2. the overlays, each of which can only tighten the verdict: MCP server
//!    trust (when the policy sets `mcp_trust`), tool-definition pins (MCP
//!    protocol proxy), emergency stops of the job the call names (with a
//!    [`JobStore`]);
//! 3. the signed trace, built from the final decision and signed by the
//!    [`TraceSigner`];
//! 4. the trace recorded by the [`TraceSink`], durably, before the answer
//!    is returned. No trace, no answer: [`DecideError`].
//!
//! ```
//! use gait_policy::{Gate, Intent, Policy, Verdict};
//! use gait_sign::{SigningKey, Trace};
//! use gait_trace::{Boundary, DecisionRequest, Decider, MemorySink};
//! use std::sync::Arc;
//!
//! let gate = Gate::new(Policy::from_yaml_str(
//!     "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
//! )?);
//! let sink = Arc::new(MemorySink::new());
//! let decider = Decider::new(gate, sink.clone()).with_signer(Arc::new(SigningKey::<Trace>::generate()?));
//! let intent = Intent::from_json_str(
//!     r#"{"tool_name":"tool.read","args":{},"targets":[],
//!         "context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
//! )?;
//! let decided = decider.decide(&DecisionRequest::new(&intent, Boundary::Library))?;
//! assert_eq!(decided.verdict(), Verdict::Allow);
//! assert_eq!(sink.traces().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::Instant;

use gait_digest::GoTime;
use gait_policy::adapters::ServerInfo;
use gait_policy::broker::{BrokerOverrides, CredentialBroker};
use gait_policy::context_evidence::{ContextBindError, ContextEvidence};
use gait_policy::gate::{GateInputs, GateOutcome, RateLimitStore};
use gait_policy::killswitch::{
    KillSwitchCheck, KillSwitchError, KillSwitchJournalEntry, KillSwitchStore,
};
use gait_policy::mcp_trust::{TrustDecision, apply_trust, evaluate_server_trust};
use gait_policy::registry::ApprovedScriptEntry;
use gait_policy::token::{ApprovalToken, DelegationToken};
use gait_policy::wrkr::WrkrInventory;
use gait_policy::{Decision, Gate, Intent, Verdict};
use gait_sign::{Approval, Delegation, SigningKey, Trace, VerifyingKey};

use crate::build::{TraceOptions, build_trace};
use crate::emergency::{
    JobStatus, JobStore, REASON_EMERGENCY_STOP_PREEMPTED, REASON_EMERGENCY_STOP_STATE_UNAVAILABLE,
    VIOLATION_EMERGENCY_STOP_ACTIVE,
};
use crate::guard::TraceSink;
use crate::record::TraceRecord;
use crate::verify::TraceError;

/// Reason code: the intent's context claims contradict the envelope, under
/// `fail_closed` (the decision is `block`).
pub const REASON_FAIL_CLOSED_INTENT_INVALID: &str = "fail_closed_intent_invalid";
/// Violation of [`REASON_FAIL_CLOSED_INTENT_INVALID`].
pub const VIOLATION_INTENT_NOT_EVALUABLE: &str = "intent_not_evaluable";
/// Reason code: the gate run could not complete (the decision is `block`).
pub const REASON_GATE_EVALUATION_ERROR: &str = "gate_evaluation_error";
/// Reason code: the tool's definition differs from the one pinned when it
/// was first listed.
pub const REASON_TOOL_CHANGED: &str = "mcp_tool_definition_changed";
/// Reason code: several listed tools have this name once lowercased, so
/// the policy cannot tell which one is called.
pub const REASON_TOOL_NAME_AMBIGUOUS: &str = "mcp_tool_name_ambiguous";

/// Signs trace records (the trace key role).
pub trait TraceSigner: Send + Sync {
    /// Fills `trace.signature`.
    ///
    /// # Errors
    ///
    /// [`TraceError`] when the record cannot be signed.
    fn sign_trace(&self, trace: &mut TraceRecord) -> Result<(), TraceError>;
}

impl TraceSigner for SigningKey<Trace> {
    fn sign_trace(&self, trace: &mut TraceRecord) -> Result<(), TraceError> {
        trace.sign(self)
    }
}

impl<S: TraceSigner + ?Sized> TraceSigner for Arc<S> {
    fn sign_trace(&self, trace: &mut TraceRecord) -> Result<(), TraceError> {
        (**self).sign_trace(trace)
    }
}

/// Which boundary asks: recorded in job events of refused dispatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Boundary {
    /// The in-process guard of a Rust agent.
    Library,
    /// `gait gate eval`.
    GateEval,
    /// The decision service: `gait mcp proxy|bridge|serve`, `gait serve`.
    DecisionService,
    /// The MCP stdio protocol proxy.
    McpProtocolProxy,
    /// An agent hook (Claude Code, pre-tool).
    Hook,
}

impl Boundary {
    /// The actor recorded in a job's `dispatch_blocked` event.
    pub fn actor(self) -> &'static str {
        match self {
            Self::Library => "guard",
            Self::GateEval => "gate-eval",
            Self::DecisionService => "mcp-proxy",
            Self::McpProtocolProxy => "mcp-protocol-proxy",
            Self::Hook => "hook",
        }
    }

    /// The dispatch path recorded in a job's `dispatch_blocked` event.
    pub fn dispatch_path(self) -> &'static str {
        match self {
            Self::Library => "library.guard",
            Self::GateEval => "gate.eval",
            Self::DecisionService => "mcp.proxy",
            Self::McpProtocolProxy => "mcp.protocol_proxy",
            Self::Hook => "hook",
        }
    }
}

/// What the MCP protocol proxy knows of the called tool's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ToolDefinitionCheck {
    /// Several listed tools share the called name once lowercased.
    pub ambiguous: bool,
    /// The definition changed since it was pinned.
    pub changed: bool,
    /// Whether a changed definition blocks the call (else it is only
    /// reported among the reason codes).
    pub block_changed: bool,
}

impl ToolDefinitionCheck {
    /// A check with these findings.
    pub fn new(ambiguous: bool, changed: bool, block_changed: bool) -> Self {
        Self {
            ambiguous,
            changed,
            block_changed,
        }
    }
}

/// One call to decide.
#[derive(Clone)]
#[non_exhaustive]
pub struct DecisionRequest<'a> {
    /// The normalized intent.
    pub intent: &'a Intent,
    /// Who asks.
    pub boundary: Boundary,
    /// Approval tokens presented with the call.
    pub approval_tokens: &'a [ApprovalToken],
    /// Delegation tokens presented with the call.
    pub delegation_tokens: &'a [DelegationToken],
    /// The MCP server the call goes to (for `mcp_trust`).
    pub server: Option<&'a ServerInfo>,
    /// Tool-definition pin findings.
    pub tool_definition: ToolDefinitionCheck,
    /// Evaluate as of this time (default: now).
    pub evaluation_time: Option<GoTime>,
    /// Report without enforcing (`--simulate`).
    pub simulate: bool,
    /// A Wrkr inventory and its path (default: the gate's).
    pub wrkr: Option<(Arc<WrkrInventory>, String)>,
    /// Verified approved-script registry entries.
    pub approved_scripts: &'a [ApprovedScriptEntry],
    /// The invocation's correlation id (traces).
    pub correlation_id: &'a str,
    /// An approval reference given by the caller (traces).
    pub approval_token_ref: &'a str,
    /// Where this call's trace goes (default: the decider's sink).
    pub sink: Option<&'a dyn TraceSink>,
    /// The risk class the caller declared, when it differs from the
    /// intent's (an MCP call without `risk_class` is evaluated as high
    /// risk, but does not make the kill-switch state required). `None`:
    /// the intent's `context.risk_class`.
    pub declared_risk_class: Option<&'a str>,
    /// A verified context envelope given at the boundary, bound to the
    /// intent before it is evaluated.
    pub context_evidence: Option<&'a ContextEvidence>,
}

impl std::fmt::Debug for DecisionRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionRequest")
            .field("tool_name", &self.intent.tool_name())
            .field("boundary", &self.boundary)
            .field("simulate", &self.simulate)
            .finish_non_exhaustive()
    }
}

impl<'a> DecisionRequest<'a> {
    /// A request for `intent` from `boundary`, with nothing else.
    pub fn new(intent: &'a Intent, boundary: Boundary) -> Self {
        Self {
            intent,
            boundary,
            approval_tokens: &[],
            delegation_tokens: &[],
            server: None,
            tool_definition: ToolDefinitionCheck::default(),
            evaluation_time: None,
            simulate: false,
            wrkr: None,
            approved_scripts: &[],
            correlation_id: "",
            approval_token_ref: "",
            sink: None,
            declared_risk_class: None,
            context_evidence: None,
        }
    }

    /// Presents approval tokens.
    #[must_use]
    pub fn with_approval_tokens(mut self, tokens: &'a [ApprovalToken]) -> Self {
        self.approval_tokens = tokens;
        self
    }

    /// Presents delegation tokens.
    #[must_use]
    pub fn with_delegation_tokens(mut self, tokens: &'a [DelegationToken]) -> Self {
        self.delegation_tokens = tokens;
        self
    }

    /// Names the MCP server the call goes to.
    #[must_use]
    pub fn with_server(mut self, server: Option<&'a ServerInfo>) -> Self {
        self.server = server;
        self
    }

    /// Sets the tool-definition findings.
    #[must_use]
    pub fn with_tool_definition(mut self, check: ToolDefinitionCheck) -> Self {
        self.tool_definition = check;
        self
    }

    /// Records the trace in `sink` instead of the decider's.
    #[must_use]
    pub fn with_sink(mut self, sink: &'a dyn TraceSink) -> Self {
        self.sink = Some(sink);
        self
    }
}

/// A decision whose signed trace is recorded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Decided {
    /// The gate outcome; `outcome.decision` is the final decision (overlays
    /// applied) and `outcome.prepared_intent` the evaluated intent.
    pub outcome: GateOutcome,
    /// The MCP server trust decision, when the policy sets `mcp_trust`.
    pub trust: Option<TrustDecision>,
    /// The recorded trace (signed unless the decider has no signer).
    pub trace: TraceRecord,
    /// Non-fatal notes (the gate's and the overlays').
    pub warnings: Vec<String>,
    /// Why the gate run failed, when it did (the decision is then the
    /// fail-closed `block` with `gate_evaluation_error`).
    pub evaluation_error: Option<String>,
}

impl Decided {
    /// The final decision.
    pub fn decision(&self) -> &Decision {
        &self.outcome.decision
    }

    /// The final verdict.
    pub fn verdict(&self) -> Verdict {
        self.outcome.decision.verdict()
    }

    /// Whether the call may run: only `allow`.
    pub fn permits_execution(&self) -> bool {
        self.outcome.decision.permits_execution()
    }

    /// The evaluated intent.
    pub fn intent(&self) -> &Intent {
        &self.outcome.prepared_intent
    }
}

/// Why no decision could be returned: its evidence could not be made. The
/// call must not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecideError {
    /// The trace could not be signed.
    #[error("sign trace: {source}")]
    Sign {
        /// The intent digest (hex).
        intent_digest: String,
        /// Why.
        #[source]
        source: TraceError,
    },
    /// The trace could not be recorded.
    #[error("record trace: {source}")]
    Record {
        /// The intent digest (hex).
        intent_digest: String,
        /// Why.
        #[source]
        source: TraceError,
    },
    /// A kill-switch state is configured but cannot be used, and this
    /// call does not require it (low risk, standard profile): the command
    /// fails rather than ignore the state. When the call requires it, the
    /// decision is a `block` instead.
    #[error("kill switch state: {source}")]
    KillSwitchState {
        /// The intent digest (hex).
        intent_digest: String,
        /// Why.
        #[source]
        source: KillSwitchError,
    },
    /// The intent's own context claims contradict the envelope given at
    /// the boundary, and the policy's `fail_closed` does not cover its
    /// risk class (when it does, the decision is a `block` instead).
    #[error("{source}")]
    ContextEvidence {
        /// The intent digest (hex).
        intent_digest: String,
        /// Why.
        #[source]
        source: ContextBindError,
    },
    /// The kill-switch journal line of an active switch could not be
    /// written (the trace is already recorded).
    #[error("kill switch journal: {source}")]
    KillSwitchJournal {
        /// The intent digest (hex).
        intent_digest: String,
        /// Why.
        #[source]
        source: KillSwitchError,
    },
}

impl DecideError {
    /// The intent digest (hex) of the call.
    pub fn intent_digest(&self) -> &str {
        match self {
            Self::Sign { intent_digest, .. }
            | Self::Record { intent_digest, .. }
            | Self::KillSwitchState { intent_digest, .. }
            | Self::ContextEvidence { intent_digest, .. }
            | Self::KillSwitchJournal { intent_digest, .. } => intent_digest,
        }
    }

    /// The reason code boundaries report: `trace_sign_failed`,
    /// `trace_write_failed`, `kill_switch_state_unavailable` or
    /// `kill_switch_journal_failed`.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::Sign { .. } => "trace_sign_failed",
            Self::Record { .. } => "trace_write_failed",
            Self::KillSwitchState { .. } => "kill_switch_state_unavailable",
            Self::ContextEvidence { .. } => "context_evidence_invalid",
            Self::KillSwitchJournal { .. } => "kill_switch_journal_failed",
        }
    }

    /// Whether the cause is the caller's input (a configured kill-switch
    /// state that cannot be used, a journal that cannot be written where
    /// the state says): exit 6 at the CLI, not an internal error.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::Record { .. }
                | Self::KillSwitchState { .. }
                | Self::KillSwitchJournal { .. }
                | Self::ContextEvidence { .. }
        )
    }
}

/// The decision core: a gate, its overlays, a trace signer and a sink.
/// `Send + Sync`; one instance serves every call of a boundary.
pub struct Decider {
    gate: Gate,
    signer: Option<Arc<dyn TraceSigner>>,
    sink: Arc<dyn TraceSink>,
    producer_version: String,
    rate_limits: Option<Arc<dyn RateLimitStore>>,
    approval_key: Option<VerifyingKey<Approval>>,
    delegation_key: Option<VerifyingKey<Delegation>>,
    jobs: Option<Arc<dyn JobStore>>,
    kill_switch: Option<Arc<dyn KillSwitchStore>>,
    kill_switch_always_required: bool,
    broker: Option<Arc<dyn CredentialBroker>>,
    broker_overrides: BrokerOverrides,
}

impl std::fmt::Debug for Decider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decider")
            .field("gate", &self.gate)
            .field("signed", &self.signer.is_some())
            .field("rate_limits", &self.rate_limits)
            .field("jobs", &self.jobs)
            .field("kill_switch", &self.kill_switch)
            .field("broker", &self.broker)
            .finish_non_exhaustive()
    }
}

impl Decider {
    /// A decider recording traces in `sink`, **unsigned** until
    /// [`Decider::with_signer`]; no rate-limit store (calls under a rate
    /// limit are blocked), no token keys (no token is valid), no job store.
    pub fn new(gate: Gate, sink: Arc<dyn TraceSink>) -> Self {
        Self {
            gate,
            signer: None,
            sink,
            producer_version: "0.0.0-dev".into(),
            rate_limits: None,
            approval_key: None,
            delegation_key: None,
            jobs: None,
            kill_switch: None,
            kill_switch_always_required: false,
            broker: None,
            broker_overrides: BrokerOverrides::default(),
        }
    }

    /// Asks `broker` for a short-lived credential whenever a rule requires
    /// one and the call is otherwise allowed (`None`: such calls are
    /// blocked with `broker_credential_required`). `overrides` replace the
    /// rules' reference and add scopes. The issued credential (references
    /// only) is in [`Decided::outcome`] and the trace; writing its
    /// evidence record (`gait.gate.broker_credential_record`, see
    /// [`gait_policy::broker::IssuedCredential::evidence_record`]) is the
    /// boundary's job, once the trace id is known.
    #[must_use]
    pub fn with_broker(
        mut self,
        broker: Option<Arc<dyn CredentialBroker>>,
        overrides: BrokerOverrides,
    ) -> Self {
        self.broker = broker;
        self.broker_overrides = overrides;
        self
    }

    /// Signs every trace with `signer`.
    #[must_use]
    pub fn with_signer(mut self, signer: Arc<dyn TraceSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Records `version` as the producer of traces.
    #[must_use]
    pub fn with_producer_version(mut self, version: &str) -> Self {
        version.trim().clone_into(&mut self.producer_version);
        self
    }

    /// Counts rate limits and destructive budgets in `store`.
    #[must_use]
    pub fn with_rate_limits(mut self, store: Option<Arc<dyn RateLimitStore>>) -> Self {
        self.rate_limits = store;
        self
    }

    /// Verifies approval tokens with `key`.
    #[must_use]
    pub fn with_approval_key(mut self, key: Option<VerifyingKey<Approval>>) -> Self {
        self.approval_key = key;
        self
    }

    /// Verifies delegation tokens with `key`.
    #[must_use]
    pub fn with_delegation_key(mut self, key: Option<VerifyingKey<Delegation>>) -> Self {
        self.delegation_key = key;
        self
    }

    /// Checks the job named by `context.job_id` in `store` (emergency
    /// stops).
    #[must_use]
    pub fn with_job_store(mut self, store: Option<Arc<dyn JobStore>>) -> Self {
        self.jobs = store;
        self
    }

    /// Consults the kill switch in `store` on every decision.
    ///
    /// A state that cannot be read blocks the call
    /// (`kill_switch_state_unavailable`) when `always_required` (the
    /// `oss-prod` profile) or the call's risk class is `high` or
    /// `critical`; otherwise the decision fails with
    /// [`DecideError::KillSwitchState`]. It is never ignored.
    #[must_use]
    pub fn with_kill_switch(
        mut self,
        store: Option<Arc<dyn KillSwitchStore>>,
        always_required: bool,
    ) -> Self {
        self.kill_switch = store;
        self.kill_switch_always_required = always_required;
        self
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The producer version.
    pub fn producer_version(&self) -> &str {
        &self.producer_version
    }

    /// Decides `request`, signs its trace and records it.
    ///
    /// # Errors
    ///
    /// [`DecideError`] when the trace could not be signed or recorded; the
    /// call must not run then.
    pub fn decide(&self, request: &DecisionRequest<'_>) -> Result<Decided, DecideError> {
        let started = Instant::now();
        let given = request.intent;
        // A context envelope given at the boundary is bound first; an
        // intent whose claims contradict it is not evaluable.
        let bound;
        let mut bind_failed = false;
        let intent = match request.context_evidence {
            None => given,
            Some(evidence) => {
                let now = request.evaluation_time.unwrap_or_else(GoTime::now_utc);
                match evidence.bind(given, now) {
                    Ok(b) => {
                        bound = b;
                        &bound
                    }
                    Err(_)
                        if self
                            .gate
                            .policy()
                            .fail_closed()
                            .covers(&given.context().risk_class) =>
                    {
                        bind_failed = true;
                        given
                    }
                    Err(source) => {
                        return Err(DecideError::ContextEvidence {
                            intent_digest: given.intent_digest().to_hex(),
                            source,
                        });
                    }
                }
            }
        };
        // The gate's inputs carry its producer version and Wrkr inventory;
        // only the evaluation time may change.
        let mut inputs = self.gate.inputs(intent);
        // Bound, or not evaluable against the envelope: the intent's
        // claims are kept as they are either way (never stripped).
        inputs.context_bound = request.context_evidence.is_some();
        if let Some(t) = request.evaluation_time {
            inputs.eval.now = t.to_utc();
        }
        inputs.approval_tokens = request.approval_tokens;
        inputs.approval_key = self.approval_key.as_ref();
        inputs.delegation_tokens = request.delegation_tokens;
        inputs.delegation_key = self.delegation_key.as_ref();
        inputs.rate_limits = self.rate_limits.as_deref();
        inputs.simulate = request.simulate;
        if request.wrkr.is_some() {
            inputs.wrkr.clone_from(&request.wrkr);
        }
        inputs.approved_scripts = request.approved_scripts;
        inputs.broker = self.broker.as_deref();
        inputs.broker_overrides.clone_from(&self.broker_overrides);
        let mut kill_switch_warning = None;
        if let Some(store) = &self.kill_switch {
            inputs.kill_switch = Some(match store.load() {
                Ok(state) => KillSwitchCheck::State(state),
                Err(source) if self.kill_switch_required(request) => {
                    kill_switch_warning = Some(format!("kill_switch_state_unavailable={source}"));
                    KillSwitchCheck::Unavailable
                }
                Err(source) => {
                    return Err(DecideError::KillSwitchState {
                        intent_digest: intent.intent_digest().to_hex(),
                        source,
                    });
                }
            });
        }

        let run = if bind_failed {
            Ok(GateOutcome::failed_with(
                &inputs,
                &[REASON_FAIL_CLOSED_INTENT_INVALID],
                &[VIOLATION_INTENT_NOT_EVALUABLE],
            ))
        } else {
            self.gate.run(&inputs)
        };
        let (mut outcome, evaluation_error) = match run {
            Ok(o) => (o, None),
            Err(e) => (
                GateOutcome::failed(&inputs, REASON_GATE_EVALUATION_ERROR),
                Some(e.to_string()),
            ),
        };
        let mut warnings = std::mem::take(&mut outcome.warnings);
        warnings.extend(kill_switch_warning);
        let trust = self.overlay_trust(&mut outcome, request, &inputs);
        overlay_tool_definition(&mut outcome.decision, request.tool_definition);
        self.overlay_emergency_stop(&mut outcome, request.boundary, &mut warnings);

        let mut opts = TraceOptions::new(&self.producer_version, request.correlation_id);
        opts.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        request
            .approval_token_ref
            .clone_into(&mut opts.approval_token_ref);
        let mut trace = build_trace(
            &outcome.prepared_intent,
            self.gate.policy(),
            &outcome,
            &opts,
        );
        trace.mcp_trust = trust.as_ref().map(TrustDecision::to_json);
        trace.kill_switch = outcome.kill_switch.as_ref().map(|k| k.to_json());
        let intent_digest = || outcome.decision.intent_digest().to_hex();
        if let Some(signer) = &self.signer {
            signer
                .sign_trace(&mut trace)
                .map_err(|source| DecideError::Sign {
                    intent_digest: intent_digest(),
                    source,
                })?;
        }
        // INVARIANT: nothing is returned (least of all an `allow`) unless
        // the trace is durably recorded.
        let sink: &dyn TraceSink = match request.sink {
            Some(s) => s,
            None => self.sink.as_ref(),
        };
        sink.record(&trace).map_err(|source| DecideError::Record {
            intent_digest: intent_digest(),
            source,
        })?;
        // An active switch leaves its journal line after the trace; a line
        // that cannot be written fails the call (the trace stays).
        if let (Some(store), Some(ks)) = (&self.kill_switch, &outcome.kill_switch) {
            if ks.is_active() {
                let source = match request.boundary {
                    Boundary::GateEval => "gate_eval",
                    _ => "mcp_proxy",
                };
                let line = KillSwitchJournalEntry::new(
                    ks,
                    &outcome.prepared_intent,
                    outcome.decision.created_at(),
                    &self.producer_version,
                    source,
                    &trace.trace_id,
                );
                store
                    .journal(&line)
                    .map_err(|source| DecideError::KillSwitchJournal {
                        intent_digest: intent_digest(),
                        source,
                    })?;
            }
        }
        outcome.warnings.clone_from(&warnings);
        Ok(Decided {
            outcome,
            trust,
            trace,
            warnings,
            evaluation_error,
        })
    }

    fn kill_switch_required(&self, request: &DecisionRequest<'_>) -> bool {
        if self.kill_switch_always_required {
            return true;
        }
        let risk = request
            .declared_risk_class
            .unwrap_or(&request.intent.context().risk_class)
            .trim()
            .to_ascii_lowercase();
        risk == "high" || risk == "critical"
    }

    fn overlay_trust(
        &self,
        outcome: &mut GateOutcome,
        request: &DecisionRequest<'_>,
        inputs: &GateInputs<'_>,
    ) -> Option<TrustDecision> {
        let policy = self.gate.policy().mcp_trust()?;
        let trust = evaluate_server_trust(
            policy,
            request.server,
            &outcome.prepared_intent.context().risk_class,
            inputs.wall_clock,
        );
        apply_trust(&mut outcome.decision, policy, &trust);
        Some(trust)
    }

    fn overlay_emergency_stop(
        &self,
        outcome: &mut GateOutcome,
        boundary: Boundary,
        warnings: &mut Vec<String>,
    ) {
        let Some(jobs) = &self.jobs else { return };
        let job_id = outcome.prepared_intent.context().job_id.trim().to_owned();
        if job_id.is_empty() {
            return;
        }
        let violation = || [VIOLATION_EMERGENCY_STOP_ACTIVE.to_owned()];
        match jobs.status(&job_id) {
            JobStatus::Running => {}
            JobStatus::Stopped(_) => {
                outcome
                    .decision
                    .tighten_to_block([REASON_EMERGENCY_STOP_PREEMPTED.to_owned()], violation());
                if let Err(e) = jobs.record_blocked_dispatch(
                    &job_id,
                    boundary.actor(),
                    boundary.dispatch_path(),
                ) {
                    warnings.push(format!("blocked_dispatch_record_failed={e}"));
                }
            }
            JobStatus::Unavailable(e) => {
                outcome.decision.tighten_to_block(
                    [REASON_EMERGENCY_STOP_STATE_UNAVAILABLE.to_owned()],
                    violation(),
                );
                warnings.push(format!("job_status_unavailable={e}"));
            }
        }
    }
}

fn overlay_tool_definition(decision: &mut Decision, check: ToolDefinitionCheck) {
    let mut block = Vec::new();
    if check.ambiguous {
        block.push(REASON_TOOL_NAME_AMBIGUOUS.to_owned());
    }
    if check.changed {
        if check.block_changed {
            block.push(REASON_TOOL_CHANGED.to_owned());
        } else {
            decision.note_reasons([REASON_TOOL_CHANGED.to_owned()]);
        }
    }
    if !block.is_empty() {
        decision.tighten_to_block(block.clone(), block);
    }
}
