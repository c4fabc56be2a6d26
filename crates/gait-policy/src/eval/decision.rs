//! The outcome of an evaluation.

use gait_digest::{GoTime, Sha256Digest, is_go_empty};
use serde::Serialize;

use crate::policy::{RateLimit, Verdict};

/// A freeze-window decision (`freeze_window` in results and traces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FreezeWindowDecision {
    /// `inactive`, `active` or `invalid`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// The configured effect.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub effect: String,
    /// The configured IANA time zone.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timezone: String,
    /// When it was evaluated (UTC).
    pub evaluated_at: GoTime,
    /// The matching (or invalid) window.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub window_name: String,
    /// Start of the active window (UTC), zero otherwise.
    pub window_start: GoTime,
    /// End of the active window (UTC), zero otherwise.
    pub window_end: GoTime,
    /// Why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The reason code.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason_code: String,
}

/// A sandbox decision (`sandbox` in results and traces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SandboxDecision {
    /// `valid`, `missing`, `disallowed` or `invalid`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// The intent's network mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub network_mode: String,
    /// The intent's environment exposure mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub env_exposure_mode: String,
    /// The intent's timeout.
    #[serde(skip_serializing_if = "is_go_empty")]
    pub timeout_seconds: i64,
    /// The intent's file-system isolation.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filesystem_isolation: String,
    /// The intent's user mode.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_mode: String,
    /// The sandbox evidence reference.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub evidence_ref: String,
    /// The sandbox evidence digest.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub evidence_digest: String,
    /// The reasons it is not valid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
}

/// The verdict of one script step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StepVerdict {
    /// The step's index.
    pub index: usize,
    /// The step's tool.
    pub tool_name: String,
    /// The step's verdict.
    pub verdict: Verdict,
    /// The step's reason codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
    /// The step's violations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// The step's matched rules, comma-joined.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub matched_rule: String,
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a script intent adds to a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptOutcome {
    /// The number of steps.
    pub step_count: usize,
    /// The script hash.
    pub script_hash: String,
    /// `low`, `medium` or `high`.
    pub composite_risk_class: String,
    /// One verdict per step.
    pub step_verdicts: Vec<StepVerdict>,
}

/// The outcome of evaluating an intent against a policy.
///
/// A `Decision` is created only by evaluation; its fields are read through
/// accessors, so nothing outside this crate can turn a non-`allow` into an
/// `allow`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub(crate) verdict: Verdict,
    pub(crate) reason_codes: Vec<String>,
    pub(crate) violations: Vec<String>,
    pub(crate) matched_rule: String,
    pub(crate) min_approvals: u64,
    pub(crate) require_distinct_approvers: bool,
    pub(crate) require_broker_credential: bool,
    pub(crate) broker_reference: String,
    pub(crate) broker_scopes: Vec<String>,
    pub(crate) require_delegation: bool,
    pub(crate) required_delegation_scopes: Vec<String>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) destructive_budget: Option<RateLimit>,
    pub(crate) dataflow_triggered: bool,
    pub(crate) freeze_window: Option<FreezeWindowDecision>,
    pub(crate) sandbox: Option<SandboxDecision>,
    pub(crate) script: Option<ScriptOutcome>,
    pub(crate) created_at: GoTime,
    pub(crate) producer_version: String,
    pub(crate) intent_digest: Sha256Digest,
    pub(crate) args_digest: Sha256Digest,
    pub(crate) policy_digest: Sha256Digest,
    /// Blocked by the fail-closed field check, before any rule.
    pub(crate) fail_closed_blocked: bool,
}

impl Decision {
    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Whether the caller may execute the tool call: true only for `allow`.
    pub fn permits_execution(&self) -> bool {
        self.verdict == Verdict::Allow
    }

    /// Reason codes, sorted and unique.
    pub fn reason_codes(&self) -> &[String] {
        &self.reason_codes
    }

    /// Violations, sorted and unique.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The matched rules, sorted and comma-joined (empty when the default
    /// verdict applied).
    pub fn matched_rule(&self) -> &str {
        &self.matched_rule
    }

    /// Approvals required (0 unless the verdict is `require_approval`).
    pub fn min_approvals(&self) -> u64 {
        self.min_approvals
    }

    /// Whether approvals must come from distinct approvers.
    pub fn require_distinct_approvers(&self) -> bool {
        self.require_distinct_approvers
    }

    /// Whether a brokered credential is required.
    pub fn require_broker_credential(&self) -> bool {
        self.require_broker_credential
    }

    /// The broker reference(s), comma-joined.
    pub fn broker_reference(&self) -> &str {
        &self.broker_reference
    }

    /// The broker scopes.
    pub fn broker_scopes(&self) -> &[String] {
        &self.broker_scopes
    }

    /// Whether a delegation chain must be proven with tokens.
    pub fn require_delegation(&self) -> bool {
        self.require_delegation
    }

    /// The delegation scopes a token must cover.
    pub fn required_delegation_scopes(&self) -> &[String] {
        &self.required_delegation_scopes
    }

    /// The most restrictive rate limit of the contributing rules.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }

    /// The most restrictive destructive budget of the contributing rules.
    pub fn destructive_budget(&self) -> Option<&RateLimit> {
        self.destructive_budget.as_ref()
    }

    /// Whether a dataflow constraint fired.
    pub fn dataflow_triggered(&self) -> bool {
        self.dataflow_triggered
    }

    /// The freeze-window decision, when a rule has a freeze window.
    pub fn freeze_window(&self) -> Option<&FreezeWindowDecision> {
        self.freeze_window.as_ref()
    }

    /// The sandbox decision, when a rule has a sandbox constraint.
    pub fn sandbox(&self) -> Option<&SandboxDecision> {
        self.sandbox.as_ref()
    }

    /// Script details, for script intents.
    pub fn script(&self) -> Option<&ScriptOutcome> {
        self.script.as_ref()
    }

    /// The result's `created_at`: the intent's time in UTC, or
    /// 1980-01-01T00:00:00Z when it has none.
    pub fn created_at(&self) -> GoTime {
        self.created_at
    }

    /// The producer version.
    pub fn producer_version(&self) -> &str {
        &self.producer_version
    }

    /// The digest of the prepared intent that was evaluated.
    pub fn intent_digest(&self) -> &Sha256Digest {
        &self.intent_digest
    }

    /// The args digest of the evaluated intent.
    pub fn args_digest(&self) -> &Sha256Digest {
        &self.args_digest
    }

    /// The policy digest.
    pub fn policy_digest(&self) -> &Sha256Digest {
        &self.policy_digest
    }

    /// The `gait.gate.result` 1.0.0 document of this decision.
    pub fn gate_result(&self) -> serde_json::Value {
        serde_json::json!({
            "schema_id": "gait.gate.result",
            "schema_version": "1.0.0",
            "created_at": self.created_at.format(),
            "producer_version": self.producer_version,
            "verdict": self.verdict.as_str(),
            "reason_codes": self.reason_codes,
            "violations": self.violations,
        })
    }

    /// One line describing the decision, at most `limit` characters:
    /// `policy test verdict=<v> reasons=<a,b> violations=<x>`.
    pub fn summary(&self, limit: usize) -> String {
        let text = format!(
            "policy test verdict={} reasons={} violations={}",
            self.verdict.as_str(),
            self.reason_codes.join(","),
            self.violations.join(",")
        );
        if text.chars().count() <= limit {
            return text;
        }
        let keep = limit.saturating_sub(3);
        let mut cut: String = text.chars().take(keep).collect();
        cut.push_str("...");
        cut
    }

    /// Tightens the decision to `block`, adding `reasons` and
    /// `violations`: the overlays of the decision core (tool-definition
    /// pins, emergency stops, kill switches) use it. There is no way to
    /// loosen a decision.
    pub fn tighten_to_block<R, V>(&mut self, reasons: R, violations: V)
    where
        R: IntoIterator<Item = String>,
        V: IntoIterator<Item = String>,
    {
        self.verdict = Verdict::Block;
        self.add_reasons(reasons);
        self.add_violations(violations);
    }

    /// Adds reason codes without changing the verdict (a note such as a
    /// changed tool definition reported in warn mode).
    pub fn note_reasons<R: IntoIterator<Item = String>>(&mut self, reasons: R) {
        self.add_reasons(reasons);
    }

    /// Adds reason codes (kept sorted and unique).
    pub(crate) fn add_reasons<I: IntoIterator<Item = String>>(&mut self, reasons: I) {
        merge_sorted(&mut self.reason_codes, reasons);
    }

    /// Adds violations (kept sorted and unique).
    pub(crate) fn add_violations<I: IntoIterator<Item = String>>(&mut self, violations: I) {
        merge_sorted(&mut self.violations, violations);
    }
}

/// Appends, trims, drops empties, de-duplicates and sorts (byte order).
pub(crate) fn merge_sorted<I: IntoIterator<Item = String>>(into: &mut Vec<String>, extra: I) {
    for e in extra {
        let t = e.trim();
        if !t.is_empty() {
            if t.len() == e.len() {
                into.push(e);
            } else {
                into.push(t.to_owned());
            }
        }
    }
    into.sort_unstable();
    into.dedup();
}
