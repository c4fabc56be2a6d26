//! Deciding one `tools/call`: intent, gate, pin check, signed trace, and
//! the answer the client gets when the call is not forwarded.

use std::path::PathBuf;

use gait_policy::{Gate, Verdict};
use gait_sign::{SigningKey, Trace};
use gait_trace::{TraceOptions, TraceRecord, TraceSink, build_trace, recompute_ids};
use serde_json::{Value, json};

use crate::Error;
use crate::mapping::{ServerIdentity, ToolInfo, intent_for_call};
use crate::pins::ToolPins;
use gait_policy::adapters::CallContext;

/// Reason code: the tool's definition differs from the one pinned when it
/// was first listed.
pub const REASON_TOOL_CHANGED: &str = "mcp_tool_definition_changed";
/// Reason code: several listed tools have this name once lowercased, so
/// the policy cannot tell which one is called.
pub const REASON_TOOL_NAME_AMBIGUOUS: &str = "mcp_tool_name_ambiguous";
/// Reason code: the server did not answer the proxy's own `tools/list`
/// in time, so the tool's current definition is unknown.
pub const REASON_TOOL_LIST_UNAVAILABLE: &str = "mcp_tool_list_unavailable";
/// Reason code: the gate could not evaluate the call.
pub const REASON_EVALUATION_ERROR: &str = "gate_evaluation_error";
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
    /// [`Error::Config`] for anything else.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_lowercase().as_str() {
            "block" => Ok(Self::Block),
            "warn" => Ok(Self::Warn),
            other => Err(Error::Config(format!(
                "unsupported tool-change mode {other:?} (expected block or warn)"
            ))),
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

/// The gate, the trace key and sink, and the settings of the proxy's
/// decisions.
pub struct Governor {
    gate: Gate,
    signer: SigningKey<Trace>,
    sink: Box<dyn TraceSink>,
    producer_version: String,
    rate_limit_state: Option<PathBuf>,
    pin_change: PinChangeMode,
    context: CallContext,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor")
            .field("gate", &self.gate)
            .field("pin_change", &self.pin_change)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Governor {
    /// A governor evaluating with `gate`, signing with `signer` and
    /// recording traces in `sink`. Calls under rate-limited rules are
    /// blocked until [`Governor::with_rate_limit_state`] names a state file.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the policy sets `mcp_trust`: the proxy does
    /// not evaluate trust snapshots, and ignoring one would weaken the
    /// gate.
    pub fn new(
        gate: Gate,
        signer: SigningKey<Trace>,
        sink: Box<dyn TraceSink>,
    ) -> Result<Self, Error> {
        if gate.policy().mcp_trust().is_some() {
            return Err(Error::Config(
                "the policy sets mcp_trust, which the MCP protocol proxy does not enforce; check server trust with `gait mcp verify` and remove mcp_trust from the proxy's policy".into(),
            ));
        }
        Ok(Self {
            gate,
            signer,
            sink,
            producer_version: "0.0.0-dev".into(),
            rate_limit_state: None,
            pin_change: PinChangeMode::Block,
            context: CallContext::default(),
        })
    }

    /// Records `version` as the producer of traces.
    #[must_use]
    pub fn with_producer_version(mut self, version: &str) -> Self {
        version.trim().clone_into(&mut self.producer_version);
        self
    }

    /// Counts rate limits and destructive budgets in this state file.
    #[must_use]
    pub fn with_rate_limit_state(mut self, path: impl Into<PathBuf>) -> Self {
        self.rate_limit_state = Some(path.into());
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
        &self.gate
    }

    /// The policy digest in hex.
    pub fn policy_digest(&self) -> String {
        self.gate.policy().digest().to_hex()
    }

    /// Decides a `tools/call` with these `params`, knowing the tools listed
    /// so far (`pins`): builds the intent, runs the gate, applies the pin
    /// checks (a changed definition, a name shared by several tools once
    /// lowercased), signs the trace and records it.
    /// The call may be forwarded only when the result says so; every
    /// failure after the intent is built is a refusal, never an error.
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
        let started = std::time::Instant::now();
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let tool = pins.get(name);
        let ambiguous = pins.is_ambiguous(name);
        let intent = intent_for_call(params, server, tool, &self.context)?;
        let policy_digest = self.policy_digest();
        let mut inputs = self.gate.inputs(&intent);
        inputs.rate_limit_state = self.rate_limit_state.as_deref();
        let changed = tool.is_some_and(ToolInfo::changed);
        let mut extra_reasons: Vec<String> = Vec::new();
        let mut overlay: Vec<&str> = Vec::new();
        if ambiguous {
            overlay.push(REASON_TOOL_NAME_AMBIGUOUS);
        }
        let (mut trace, decision) = match self.gate.run(&inputs) {
            Ok(outcome) => {
                let mut opts = TraceOptions::new(&self.producer_version, "");
                opts.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                let trace = build_trace(
                    &outcome.prepared_intent,
                    self.gate.policy(),
                    &outcome,
                    &opts,
                );
                (trace, Some(outcome.decision))
            }
            Err(_) => {
                extra_reasons.push(REASON_EVALUATION_ERROR.into());
                let mut trace = TraceRecord::new(
                    intent.tool_name(),
                    &intent.args_digest().to_hex(),
                    &intent.intent_digest().to_hex(),
                    &policy_digest,
                    Verdict::Block.as_str(),
                );
                trace.created_at = intent.created_at();
                trace.observed_at = gait_digest::GoTime::now_utc();
                trace.producer_version.clone_from(&self.producer_version);
                trace.violations = vec![REASON_EVALUATION_ERROR.into()];
                recompute_ids(&mut trace);
                (trace, None)
            }
        };
        let mut verdict = decision.as_ref().map_or(Verdict::Block, |d| d.verdict());
        if changed {
            if self.pin_change == PinChangeMode::Block {
                overlay.push(REASON_TOOL_CHANGED);
            } else {
                extra_reasons.push(REASON_TOOL_CHANGED.into());
            }
        }
        if !overlay.is_empty() {
            // Tighten to block, in the signed trace too.
            verdict = Verdict::Block;
            trace.verdict = Verdict::Block.as_str().to_owned();
            for reason in overlay {
                extra_reasons.push(reason.to_owned());
                trace.violations.push(reason.to_owned());
            }
            trace.violations.sort();
            trace.violations.dedup();
            recompute_ids(&mut trace);
        }
        let mut reason_codes: Vec<String> = decision
            .as_ref()
            .map(|d| d.reason_codes().to_vec())
            .unwrap_or_default();
        reason_codes.extend(extra_reasons);
        reason_codes.sort();
        reason_codes.dedup();
        let mut result = CallDecision {
            tool_name: intent.tool_name().to_owned(),
            verdict,
            forward: false,
            reason_codes,
            violations: trace.violations.clone(),
            matched_rule: decision
                .as_ref()
                .map(|d| d.matched_rule().to_owned())
                .unwrap_or_default(),
            trace_id: String::new(),
            intent_digest: trace.intent_digest.clone(),
            policy_digest,
        };
        let recorded = trace
            .sign(&self.signer)
            .and_then(|()| self.sink.record(&trace));
        if recorded.is_err() {
            // No evidence, no execution.
            result.verdict = Verdict::Block;
            result.reason_codes.push(REASON_TRACE_WRITE_FAILED.into());
            result.reason_codes.sort();
            return Ok(result);
        }
        result.trace_id = trace.trace_id;
        // INVARIANT: only `allow`, with its trace durably recorded, runs.
        result.forward = verdict == Verdict::Allow;
        Ok(result)
    }
}
