//! Deciding one `tools/call`: intent, gate, pin check, signed trace, and
//! the answer the client gets when the call is not forwarded.

use std::path::PathBuf;
use std::sync::Arc;

use gait_policy::adapters::ServerInfo;
use gait_policy::gate::FileRateLimitStore;
use gait_policy::token::{ApprovalToken, DelegationToken};
use gait_policy::{Gate, Verdict};
use gait_sign::{Approval, Delegation, SigningKey, Trace, VerifyingKey};
use gait_trace::{Boundary, Decider, DecisionRequest, ToolDefinitionCheck, TraceSink};
use serde_json::{Value, json};

use crate::Error;
use crate::mapping::{ServerIdentity, ToolInfo, intent_for_call};
use crate::pins::ToolPins;
use gait_policy::adapters::CallContext;

pub use gait_trace::{REASON_TOOL_CHANGED, REASON_TOOL_NAME_AMBIGUOUS};
/// Reason code: the server did not answer the proxy's own `tools/list`
/// in time, so the tool's current definition is unknown.
pub const REASON_TOOL_LIST_UNAVAILABLE: &str = "mcp_tool_list_unavailable";
/// Reason code: the gate could not evaluate the call.
pub const REASON_EVALUATION_ERROR: &str = gait_trace::REASON_GATE_EVALUATION_ERROR;
/// Reason code: the gate did not answer in time.
pub const REASON_EVALUATION_TIMEOUT: &str = "gate_evaluation_timeout";
/// Reason code: the signed trace could not be written, so the call does not
/// run.
pub const REASON_TRACE_WRITE_FAILED: &str = "trace_write_failed";

/// What to do with a call to a tool whose definition changed after it was
/// pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PinChangeMode {
    /// Block the call (reason `mcp_tool_definition_changed`). The default.
    #[default]
    Block,
    /// Report the change (on the log and in the intent's `auth_context`)
    /// and let the policy decide.
    Warn,
}

impl PinChangeMode {
    /// Parses `block` or `warn`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedPinChangeMode`] for anything else.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_lowercase().as_str() {
            "block" => Ok(Self::Block),
            "warn" => Ok(Self::Warn),
            other => Err(Error::UnsupportedPinChangeMode(other.to_owned())),
        }
    }
}

/// The decision on one `tools/call`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CallDecision {
    /// The tool name as evaluated (lowercased).
    pub tool_name: String,
    /// The final verdict.
    pub verdict: Verdict,
    /// Whether the call goes to the server (only on `allow`, with its trace
    /// written).
    pub forward: bool,
    /// Reason codes (sorted).
    pub reason_codes: Vec<String>,
    /// Violations (sorted).
    pub violations: Vec<String>,
    /// The matched rule, when one matched.
    pub matched_rule: String,
    /// The signed trace's id (empty when no trace was written).
    pub trace_id: String,
    /// The intent digest (empty when the gate did not run).
    pub intent_digest: String,
    /// The policy digest.
    pub policy_digest: String,
}

impl CallDecision {
    /// A refusal without a gate decision (timeouts and internal errors).
    pub fn refused(tool_name: &str, policy_digest: &str, reason: &str) -> Self {
        Self {
            tool_name: tool_name.trim().to_lowercase(),
            verdict: Verdict::Block,
            forward: false,
            reason_codes: vec![reason.to_owned()],
            violations: Vec::new(),
            matched_rule: String::new(),
            trace_id: String::new(),
            intent_digest: String::new(),
            policy_digest: policy_digest.to_owned(),
        }
    }

    /// The `CallToolResult` (`isError: true`) the client gets instead of the
    /// tool's result: a text the model can act on, and the decision under
    /// `_meta["gait/decision"]`.
    pub fn refusal_result(&self) -> Value {
        let what = match self.verdict {
            Verdict::Block => "blocked by policy",
            Verdict::RequireApproval => "requires approval",
            Verdict::DryRun => "evaluated as a dry run",
            Verdict::Allow => "not run",
        };
        let mut text = format!(
            "Gait: the call to tool '{}' was {what} and was not executed (verdict: {}",
            self.tool_name,
            self.verdict.as_str()
        );
        if !self.reason_codes.is_empty() {
            text.push_str(&format!("; reasons: {}", self.reason_codes.join(", ")));
        }
        if !self.trace_id.is_empty() {
            text.push_str(&format!("; trace: {}", self.trace_id));
        }
        text.push_str(").");
        json!({
            "content": [{"type": "text", "text": text}],
            "isError": true,
            "_meta": {"gait/decision": self.to_json()},
        })
    }

    /// The decision as a JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "tool_name": self.tool_name,
            "verdict": self.verdict.as_str(),
            "executed": false,
            "reason_codes": self.reason_codes,
            "violations": self.violations,
            "matched_rule": self.matched_rule,
            "trace_id": self.trace_id,
            "intent_digest": self.intent_digest,
            "policy_digest": self.policy_digest,
        })
    }
}

/// The decision core and the settings of the proxy's decisions.
pub struct Governor {
    decider: Decider,
    pin_change: PinChangeMode,
    context: CallContext,
    approval_tokens: Vec<ApprovalToken>,
    delegation_tokens: Vec<DelegationToken>,
    context_evidence: Option<gait_policy::context_evidence::ContextEvidence>,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor")
            .field("decider", &self.decider)
            .field("pin_change", &self.pin_change)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Governor {
    /// A governor evaluating with `gate`, signing with `signer` and
    /// recording traces in `sink`. Calls under rate-limited rules are
    /// blocked until [`Governor::with_rate_limit_state`] names a state file.
    /// A policy's `mcp_trust` is enforced against the server identity the
    /// proxy learned in `initialize` (or was given).
    ///
    /// # Errors
    ///
    /// None today; kept fallible for configuration checks.
    pub fn new(
        gate: Gate,
        signer: SigningKey<Trace>,
        sink: Box<dyn TraceSink>,
    ) -> Result<Self, Error> {
        Ok(Self::from_decider(
            Decider::new(gate, Arc::from(sink)).with_signer(Arc::new(signer)),
        ))
    }

    /// A governor deciding through `decider` (with every overlay it is
    /// configured with).
    pub fn from_decider(decider: Decider) -> Self {
        Self {
            decider,
            pin_change: PinChangeMode::Block,
            context: CallContext::default(),
            approval_tokens: Vec::new(),
            delegation_tokens: Vec::new(),
            context_evidence: None,
        }
    }

    /// Records `version` as the producer of traces.
    #[must_use]
    pub fn with_producer_version(mut self, version: &str) -> Self {
        self.decider = self.decider.with_producer_version(version);
        self
    }

    /// Counts rate limits and destructive budgets in this state file.
    #[must_use]
    pub fn with_rate_limit_state(mut self, path: impl Into<PathBuf>) -> Self {
        self.decider = self
            .decider
            .with_rate_limits(Some(Arc::new(FileRateLimitStore::new(path))));
        self
    }

    /// Blocks calls whose intent names an emergency-stopped job (or a job
    /// whose state cannot be read) under the job runtime root `root`.
    #[must_use]
    pub fn with_job_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.decider = self
            .decider
            .with_job_store(Some(Arc::new(gait_trace::FileJobStore::new(root))));
        self
    }

    /// Refuses calls that an active kill-switch entry in `store` matches,
    /// as [`Decider::with_kill_switch`] says (an unreadable state refuses
    /// every call the decider cannot decide without it).
    #[must_use]
    pub fn with_kill_switch(
        self,
        store: Arc<dyn gait_policy::killswitch::KillSwitchStore>,
        always_required: bool,
    ) -> Self {
        let decider = self.decider.with_kill_switch(Some(store), always_required);
        Self { decider, ..self }
    }

    /// Asks `broker` for a short-lived credential when an allowing rule
    /// requires one, as [`Decider::with_broker`] says (without a broker,
    /// such rules block with `broker_credential_missing`).
    #[must_use]
    pub fn with_broker(
        self,
        broker: Arc<dyn gait_policy::broker::CredentialBroker>,
        overrides: gait_policy::broker::BrokerOverrides,
    ) -> Self {
        let decider = self.decider.with_broker(Some(broker), overrides);
        Self { decider, ..self }
    }

    /// Binds this verified context envelope to every call's intent.
    #[must_use]
    pub fn with_context_evidence(
        mut self,
        evidence: gait_policy::context_evidence::ContextEvidence,
    ) -> Self {
        self.context_evidence = Some(evidence);
        self
    }

    /// Presents these tokens with every call (each only counts for the
    /// call whose intent and policy digests it is bound to), verified with
    /// these keys (without a key no token is valid).
    #[must_use]
    pub fn with_tokens(
        mut self,
        approvals: (Vec<ApprovalToken>, Option<VerifyingKey<Approval>>),
        delegations: (Vec<DelegationToken>, Option<VerifyingKey<Delegation>>),
    ) -> Self {
        self.approval_tokens = approvals.0;
        self.delegation_tokens = delegations.0;
        self.decider = self
            .decider
            .with_approval_key(approvals.1)
            .with_delegation_key(delegations.1);
        self
    }

    /// Sets what a changed tool definition does.
    #[must_use]
    pub fn with_pin_change(mut self, mode: PinChangeMode) -> Self {
        self.pin_change = mode;
        self
    }

    /// Sets the context of the intents.
    #[must_use]
    pub fn with_context(mut self, context: CallContext) -> Self {
        self.context = context;
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

    /// The policy digest in hex.
    pub fn policy_digest(&self) -> String {
        self.gate().policy().digest().to_hex()
    }

    /// Decides a `tools/call` with these `params`, knowing the tools listed
    /// so far (`pins`): builds the intent and decides it through the
    /// decision core, with the pin findings (a changed definition, a name
    /// shared by several tools once lowercased) and the server identity as
    /// overlays. The call may be forwarded only when the result says so;
    /// every failure after the intent is built is a refusal, never an
    /// error.
    ///
    /// # Errors
    ///
    /// [`Error::Call`] when the params do not describe a call (no name,
    /// arguments not an object).
    pub fn decide(
        &self,
        params: &Value,
        server: &ServerIdentity,
        pins: &ToolPins,
    ) -> Result<CallDecision, Error> {
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let tool = pins.get(name);
        let check = ToolDefinitionCheck::new(
            pins.is_ambiguous(name),
            tool.is_some_and(ToolInfo::changed),
            self.pin_change == PinChangeMode::Block,
        );
        let intent = intent_for_call(params, server, tool, &self.context)?;
        let info = server_info(server);
        let mut request = DecisionRequest::new(&intent, Boundary::McpProtocolProxy)
            .with_server(info.as_ref())
            .with_tool_definition(check)
            .with_approval_tokens(&self.approval_tokens)
            .with_delegation_tokens(&self.delegation_tokens);
        request.context_evidence = self.context_evidence.as_ref();
        let policy_digest = self.policy_digest();
        let decided = match self.decider.decide(&request) {
            Ok(d) => d,
            Err(e) => {
                // No evidence, no execution.
                let mut refused =
                    CallDecision::refused(intent.tool_name(), &policy_digest, e.reason_code());
                refused.intent_digest = e.intent_digest().to_owned();
                return Ok(refused);
            }
        };
        let decision = decided.decision();
        let verdict = decision.verdict();
        Ok(CallDecision {
            tool_name: decided.trace.tool_name.clone(),
            verdict,
            // INVARIANT: only `allow`, with its trace durably recorded, runs.
            forward: verdict == Verdict::Allow,
            reason_codes: decision.reason_codes().to_vec(),
            violations: decision.violations().to_vec(),
            matched_rule: decision.matched_rule().to_owned(),
            trace_id: decided.trace.trace_id.clone(),
            intent_digest: decided.trace.intent_digest.clone(),
            policy_digest,
        })
    }
}

/// The server as `mcp_trust` sees it: the id the proxy names it by and its
/// `serverInfo`.
fn server_info(server: &ServerIdentity) -> Option<ServerInfo> {
    if server.server_id.is_empty() && server.name.is_empty() {
        return None;
    }
    let mut info = ServerInfo::default();
    server.server_id.clone_into(&mut info.server_id);
    server.name.clone_into(&mut info.server_name);
    server.version.clone_into(&mut info.server_version);
    Some(info)
}
