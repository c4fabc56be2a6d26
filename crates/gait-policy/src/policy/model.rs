//! The normalised policy model: what a loaded policy means.
//!
//! Every list here is already normalised as the reference normalises it
//! before digesting (trimmed, usually lowercased, empty entries dropped,
//! de-duplicated, sorted by bytes), and every default is filled in. A
//! constraint block that the policy does not configure is `None`.
//!
//! The types are `#[non_exhaustive]`: they are built only by
//! [`Policy`](super::Policy) loading, and only read elsewhere.

use std::fmt;
use std::time::Duration;

use gait_digest::Sha256Digest;

use crate::cel::Condition;

/// A gate verdict: a rule's effect and the policy's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// `allow`: the call may proceed.
    Allow,
    /// `block`: the call must not proceed.
    Block,
    /// `dry_run`: evaluate and record, but do not execute.
    DryRun,
    /// `require_approval`: proceed only with a valid approval.
    RequireApproval,
}

impl Verdict {
    /// All verdicts, in declaration order.
    pub const ALL: [Verdict; 4] = [
        Verdict::Allow,
        Verdict::Block,
        Verdict::DryRun,
        Verdict::RequireApproval,
    ];

    /// The verdict's wire name (`allow`, `block`, `dry_run`,
    /// `require_approval`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Block => "block",
            Verdict::DryRun => "dry_run",
            Verdict::RequireApproval => "require_approval",
        }
    }

    /// The verdict with this exact wire name (already trimmed and
    /// lowercased), if any.
    pub fn from_name(name: &str) -> Option<Verdict> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a constraint does when it trips: `block` or `require_approval`.
///
/// Used by `mcp_trust.action`, `freeze_window.effect`, `dataflow.action`
/// and `endpoint.action` / `endpoint.destructive_action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstraintAction {
    /// `block`.
    Block,
    /// `require_approval`.
    RequireApproval,
}

impl ConstraintAction {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConstraintAction::Block => "block",
            ConstraintAction::RequireApproval => "require_approval",
        }
    }

    /// The action with this exact wire name, if any.
    pub fn from_name(name: &str) -> Option<ConstraintAction> {
        match name {
            "block" => Some(ConstraintAction::Block),
            "require_approval" => Some(ConstraintAction::RequireApproval),
            _ => None,
        }
    }

    /// The same action as a [`Verdict`].
    pub const fn verdict(self) -> Verdict {
        match self {
            ConstraintAction::Block => Verdict::Block,
            ConstraintAction::RequireApproval => Verdict::RequireApproval,
        }
    }
}

impl fmt::Display for ConstraintAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The window of a rate limit or destructive budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateLimitWindow {
    /// `minute` (the default).
    Minute,
    /// `hour`.
    Hour,
}

impl RateLimitWindow {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RateLimitWindow::Minute => "minute",
            RateLimitWindow::Hour => "hour",
        }
    }

    /// The window's length.
    pub const fn duration(self) -> Duration {
        match self {
            RateLimitWindow::Minute => Duration::from_secs(60),
            RateLimitWindow::Hour => Duration::from_secs(3600),
        }
    }
}

/// What a rate limit or destructive budget counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateLimitScope {
    /// `tool`: per tool name.
    Tool,
    /// `identity`: per caller identity.
    Identity,
    /// `tool_identity`: per (tool, identity) pair (the default).
    ToolIdentity,
}

impl RateLimitScope {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::Tool => "tool",
            RateLimitScope::Identity => "identity",
            RateLimitScope::ToolIdentity => "tool_identity",
        }
    }
}

/// `scripts`: limits on multi-step script intents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptPolicy {
    /// `max_steps`: most steps a script may have (0: no limit).
    pub max_steps: u64,
    /// `require_approval_above`: scripts with more steps need approval
    /// (0: never).
    pub require_approval_above: u64,
    /// `block_mixed_risk`: block scripts mixing risk classes.
    pub block_mixed_risk: bool,
}

/// `fail_closed`: when an intent lacks evidence, block instead of
/// evaluating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailClosed {
    /// `enabled`.
    pub enabled: bool,
    /// `risk_classes`, lowercased; `[critical, high]` when enabled and not
    /// given.
    pub risk_classes: Vec<String>,
    /// `required_fields`: intent fields that must be present (a subset of
    /// `targets arg_provenance endpoint_class delegation context_evidence`).
    pub required_fields: Vec<String>,
    /// `required_high_risk_fields`: context fields that high-risk intents
    /// must carry.
    pub required_high_risk_fields: Vec<String>,
}

impl FailClosed {
    /// Whether fail-closed handling applies to an intent of `risk_class`
    /// (compared trimmed and lowercased).
    pub fn covers(&self, risk_class: &str) -> bool {
        let risk = crate::intent::gostr::lower(risk_class.trim());
        self.enabled && self.risk_classes.contains(&risk)
    }
}

/// `mcp_trust`: trust requirements on MCP servers (used by the MCP proxy,
/// not by `gate eval`). Present only when any of its fields is set.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct McpTrust {
    /// `snapshot`: path of the local trust snapshot (required), trimmed.
    pub snapshot_path: String,
    /// `action` (default `block`).
    pub action: ConstraintAction,
    /// `required_risk_classes` (default `[critical, high]`).
    pub required_risk_classes: Vec<String>,
    /// `min_score`, in `[0, 1]`.
    pub min_score: f64,
    /// `max_age`, a Go duration (`24h`, `90m`), strictly positive.
    pub max_age: Option<Duration>,
    /// `publisher_allowlist`, lowercased.
    pub publisher_allowlist: Vec<String>,
    /// `require_registry`.
    pub require_registry: bool,
}

/// One policy rule, normalised.
///
/// Fields are grouped as in the specification: the selector, the outcome,
/// then optional constraints that can raise the effect. A constraint list
/// that is empty imposes nothing.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Rule {
    /// `name`, trimmed (required).
    pub name: String,
    /// `priority`: lower numbers are evaluated first (default 0).
    pub priority: i64,
    /// `effect` (or its alias `action`).
    pub effect: Verdict,
    /// `match`: when the rule applies.
    pub selector: RuleMatch,
    /// `reason_codes`, trimmed, de-duplicated, sorted (case kept).
    pub reason_codes: Vec<String>,
    /// `violations`, trimmed, de-duplicated, sorted (case kept).
    pub violations: Vec<String>,
    /// `min_approvals` (0: none required beyond the verdict's own).
    pub min_approvals: u64,
    /// `require_distinct_approvers`; forced on when `min_approvals > 1`.
    pub require_distinct_approvers: bool,

    /// `require_declared_agent`.
    pub require_declared_agent: bool,
    /// `allowed_agent_ids` (case kept).
    pub allowed_agent_ids: Vec<String>,
    /// `denied_agent_ids` (case kept).
    pub denied_agent_ids: Vec<String>,
    /// `required_agent_manifest_digest`, a SHA-256 in hex.
    pub required_agent_manifest_digest: Option<Sha256Digest>,
    /// `allowed_agent_manifest_publishers`, lowercased.
    pub allowed_agent_manifest_publishers: Vec<String>,
    /// `allowed_agent_manifest_sources`, lowercased.
    pub allowed_agent_manifest_sources: Vec<String>,
    /// `required_agent_lifecycle_states`, lowercased.
    pub required_agent_lifecycle_states: Vec<String>,
    /// `require_agent_owner`.
    pub require_agent_owner: bool,
    /// `require_unexpired_agent`.
    pub require_unexpired_agent: bool,

    /// `block_standing_credentials`.
    pub block_standing_credentials: bool,
    /// `allowed_credential_sources`, lowercased, each a known source.
    pub allowed_credential_sources: Vec<String>,
    /// `allowed_credential_issuers` (case kept).
    pub allowed_credential_issuers: Vec<String>,
    /// `allowed_credential_access_types`, lowercased, each a known type.
    pub allowed_credential_access_types: Vec<String>,
    /// `max_credential_ttl_seconds` (0: no limit).
    pub max_credential_ttl_seconds: u64,
    /// `require_jit_credential`.
    pub require_jit_credential: bool,

    /// `require_context_evidence`.
    pub require_context_evidence: bool,
    /// `required_context_evidence_mode`: `Some("required")` when set or
    /// implied by `require_context_evidence`, else `None`.
    pub required_context_evidence_mode: Option<String>,
    /// `max_context_age_seconds` (0: no limit).
    pub max_context_age_seconds: u64,

    /// `require_broker_credential` (enforced by the CLI after evaluation).
    pub require_broker_credential: bool,
    /// `broker_reference`, trimmed.
    pub broker_reference: String,
    /// `broker_scopes`, lowercased.
    pub broker_scopes: Vec<String>,

    /// `freeze_window`, when configured.
    pub freeze_window: Option<FreezeWindow>,
    /// `sandbox`, when configured.
    pub sandbox: Option<Sandbox>,
    /// `rate_limit`, when `requests > 0`.
    pub rate_limit: Option<RateLimit>,
    /// `destructive_budget`, when configured.
    pub destructive_budget: Option<RateLimit>,
    /// `dataflow`, when configured.
    pub dataflow: Option<Dataflow>,
    /// `endpoint`, when configured.
    pub endpoint: Option<EndpointConstraint>,
}

/// A rule's `match` selector. All set selectors must hold (AND); an empty
/// selector matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleMatch {
    /// `tool_names` plus the `tool_name` alias, lowercased.
    pub tool_names: Vec<String>,
    /// `risk_classes`, lowercased.
    pub risk_classes: Vec<String>,
    /// `target_kinds`, lowercased.
    pub target_kinds: Vec<String>,
    /// `target_values` (case kept).
    pub target_values: Vec<String>,
    /// `endpoint_classes` plus the `endpoint_class` alias, lowercased,
    /// each a known endpoint class.
    pub endpoint_classes: Vec<String>,
    /// `discovery_method`, lowercased, each a known method.
    pub discovery_methods: Vec<String>,
    /// `tool_annotations` hints.
    pub tool_annotations: ToolAnnotations,
    /// `skill_publishers`, lowercased.
    pub skill_publishers: Vec<String>,
    /// `skill_sources`, lowercased.
    pub skill_sources: Vec<String>,
    /// `data_classes`, lowercased.
    pub data_classes: Vec<String>,
    /// `destination_kinds`, lowercased.
    pub destination_kinds: Vec<String>,
    /// `destination_values` (case kept).
    pub destination_values: Vec<String>,
    /// `destination_operations`, lowercased.
    pub destination_operations: Vec<String>,
    /// `provenance_sources`, lowercased.
    pub provenance_sources: Vec<String>,
    /// `identities` (case kept).
    pub identities: Vec<String>,
    /// `workspace_prefixes` (case kept).
    pub workspace_prefixes: Vec<String>,
    /// `context_tool_names`, lowercased.
    pub context_tool_names: Vec<String>,
    /// `context_data_classes`, lowercased.
    pub context_data_classes: Vec<String>,
    /// `context_endpoint_classes`, lowercased.
    pub context_endpoint_classes: Vec<String>,
    /// `context_autonomy_levels`, lowercased.
    pub context_autonomy_levels: Vec<String>,
    /// `require_delegation`.
    pub require_delegation: bool,
    /// `allowed_delegator_identities` (case kept).
    pub allowed_delegator_identities: Vec<String>,
    /// `allowed_delegate_identities` (case kept).
    pub allowed_delegate_identities: Vec<String>,
    /// `delegation_scopes`, lowercased.
    pub delegation_scopes: Vec<String>,
    /// `max_delegation_depth`, when set (0 is a real limit).
    pub max_delegation_depth: Option<u64>,
    /// `when`: a CEL condition's source, trimmed. **Beyond the reference**:
    /// digested as `Match.When` only when present, and compiled at load
    /// into [`RuleMatch::condition`].
    pub when: Option<String>,
    /// `when`, compiled at load; `Some` exactly when `when` is.
    pub(crate) condition: Option<Condition>,
}

impl RuleMatch {
    /// The compiled `when` condition, if the rule has one. The evaluator
    /// calls [`Condition::evaluate`] on it once the other selectors hold
    /// (see [`crate::cel`] for what `Ok(false)` and `Err` mean there).
    pub fn condition(&self) -> Option<&Condition> {
        self.condition.as_ref()
    }

    /// Whether any delegation selector is set (then an intent must carry a
    /// delegation for the rule to match).
    pub fn has_delegation_constraints(&self) -> bool {
        self.require_delegation
            || !self.allowed_delegator_identities.is_empty()
            || !self.allowed_delegate_identities.is_empty()
            || !self.delegation_scopes.is_empty()
            || self.max_delegation_depth.is_some()
    }
}

/// `match.tool_annotations`: tri-state MCP tool hints. A set hint must equal
/// the corresponding hint of some target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolAnnotations {
    /// `readOnlyHint`.
    pub read_only_hint: Option<bool>,
    /// `destructiveHint`.
    pub destructive_hint: Option<bool>,
    /// `idempotentHint`.
    pub idempotent_hint: Option<bool>,
    /// `openWorldHint`.
    pub open_world_hint: Option<bool>,
}

impl ToolAnnotations {
    /// Whether no hint is set.
    pub fn is_empty(&self) -> bool {
        self.read_only_hint.is_none()
            && self.destructive_hint.is_none()
            && self.idempotent_hint.is_none()
            && self.open_world_hint.is_none()
    }
}

/// `freeze_window`: change-freeze periods. The time zone and window times
/// are checked at evaluation, not at load (an invalid one makes the rule
/// block with `freeze_window_invalid_*`, as in the reference).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FreezeWindow {
    /// `timezone`: an IANA zone name, trimmed (required).
    pub timezone: String,
    /// `effect` (default `block`).
    pub effect: ConstraintAction,
    /// `reason`, trimmed.
    pub reason: String,
    /// `environments`, lowercased.
    pub environments: Vec<String>,
    /// `risk_classes`, lowercased.
    pub risk_classes: Vec<String>,
    /// `windows`, in file order (at least one).
    pub windows: Vec<FreezeWindowRange>,
}

/// One freeze window.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FreezeWindowRange {
    /// `name`, trimmed; `window-<n>` (1-based) when not given.
    pub name: String,
    /// `start`: local time `YYYY-MM-DDTHH:MM:SS`, trimmed.
    pub start: String,
    /// `end`: local time `YYYY-MM-DDTHH:MM:SS`, trimmed.
    pub end: String,
}

/// `sandbox`: what execution sandbox an intent must declare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sandbox {
    /// `allowed_network_modes` (`disabled`, `egress_allowlist`, `full`).
    pub allowed_network_modes: Vec<String>,
    /// `allowed_writable_path_prefixes`, cleaned paths.
    pub allowed_writable_path_prefixes: Vec<String>,
    /// `required_read_only_roots`, cleaned paths.
    pub required_read_only_roots: Vec<String>,
    /// `allowed_env_exposure_modes` (`allowlist`, `full`, `none`).
    pub allowed_env_exposure_modes: Vec<String>,
    /// `max_timeout_seconds` (0: no limit).
    pub max_timeout_seconds: u64,
    /// `allowed_filesystem_isolations` (`container`, `none`, `workspace`).
    pub allowed_filesystem_isolations: Vec<String>,
    /// `allowed_user_modes` (`default`, `root`, `unprivileged`).
    pub allowed_user_modes: Vec<String>,
}

/// `rate_limit` or `destructive_budget`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// `requests` per window (at least 1).
    pub requests: u64,
    /// `window` (default `minute`).
    pub window: RateLimitWindow,
    /// `scope` (default `tool_identity`).
    pub scope: RateLimitScope,
}

/// `dataflow`: tainted data reaching a destination.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dataflow {
    /// `tainted_sources` (default `[external, tool_output]`).
    pub tainted_sources: Vec<String>,
    /// `destination_kinds`, lowercased.
    pub destination_kinds: Vec<String>,
    /// `destination_values` (case kept).
    pub destination_values: Vec<String>,
    /// `destination_operations`, lowercased.
    pub destination_operations: Vec<String>,
    /// `action` (default `require_approval`).
    pub action: ConstraintAction,
    /// `reason_code` (default `dataflow_tainted_destination`).
    pub reason_code: String,
    /// `violation` (default `tainted_dataflow`).
    pub violation: String,
}

/// `endpoint`: path and domain allow/deny lists.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConstraint {
    /// `path_allowlist`: glob patterns, trimmed, sorted (case kept).
    pub path_allowlist: Vec<String>,
    /// `path_denylist`: glob patterns, trimmed, sorted (case kept).
    pub path_denylist: Vec<String>,
    /// `domain_allowlist`, lowercased.
    pub domain_allowlist: Vec<String>,
    /// `domain_denylist`, lowercased.
    pub domain_denylist: Vec<String>,
    /// `egress_classes`: `net.*` endpoint classes.
    pub egress_classes: Vec<String>,
    /// `action` (default `block`).
    pub action: ConstraintAction,
    /// `destructive_action`, for destructive targets.
    pub destructive_action: Option<ConstraintAction>,
    /// `reason_code` (default `endpoint_constraint_violation`).
    pub reason_code: String,
    /// `violation` (default `endpoint_constraint_violation`).
    pub violation: String,
}

#[cfg(test)]
impl RateLimit {
    /// A rate limit for unit tests elsewhere in the crate.
    pub(crate) fn new_for_tests(
        requests: u64,
        window: RateLimitWindow,
        scope: RateLimitScope,
    ) -> Self {
        Self {
            requests,
            window,
            scope,
        }
    }
}
