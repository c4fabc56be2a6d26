//! The full gate: evaluation, then the post-evaluation steps that turn a
//! policy decision into the final verdict of `gait gate eval`.
//!
//! After [`crate::eval::evaluate`], in order:
//!
//! 1. **Rate limit and destructive budget** (whenever configured, whatever
//!    the verdict): over the limit → `block`.
//! 2. **Delegation** (when a contributing rule requires it): the intent's
//!    delegation chain must be proven link by link with delegation tokens;
//!    otherwise `block`.
//! 3. **Approvals** (when the verdict is `require_approval`): enough valid
//!    approval tokens (from distinct approvers when required) turn it into
//!    `allow`; otherwise it stays `require_approval`.
//! 4. **Broker credential** (when a contributing rule requires it and the
//!    verdict is `allow`): without a [`GateInputs::broker`] the call is
//!    blocked (`broker_credential_required`); otherwise the broker is asked
//!    for a credential ([`crate::broker`]): an error blocks
//!    (`broker_credential_missing`), a receipt that fails a check of a
//!    matched rule blocks with that check's code, and an accepted one adds
//!    `broker_credential_present`. A block, dry run or pending approval
//!    never reaches the broker.
//! 5. **Simulate** (`--simulate`): record what would have happened, then
//!    report `allow` without enforcing.
//!
//! Tokens are validated against the wall clock, as in the reference; the
//! evaluation time only drives policy evaluation.

use std::path::Path;

use gait_digest::GoTime;
use gait_sign::{Approval, Delegation, VerifyingKey};

use crate::eval::{Decision, EvalOptions, evaluate};
use crate::intent::{Intent, Phase};
use crate::killswitch::{
    KillSwitchCheck, KillSwitchDecision, REASON_KILL_SWITCH_ACTIVE,
    REASON_KILL_SWITCH_STATE_UNAVAILABLE,
};
use crate::policy::{Policy, Verdict};
use crate::ratelimit::{self, RateLimitDecision, RateLimitError};
use crate::token::{
    ApprovalAuditEntry, ApprovalCheck, ApprovalToken, DelegationAuditEntry, DelegationCheck,
    DelegationToken, RequiredLink, evaluate_approvals, evaluate_delegation_chain,
    required_approval_scope,
};

/// Inputs of one gate run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GateInputs<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The normalized intent.
    pub intent: &'a Intent,
    /// Evaluation options (evaluation time, producer version).
    pub eval: EvalOptions,
    /// Wall-clock time for token expiry and rate-limit buckets.
    pub wall_clock: GoTime,
    /// Presented approval tokens.
    pub approval_tokens: &'a [ApprovalToken],
    /// The key approval tokens must be signed with.
    pub approval_key: Option<&'a VerifyingKey<Approval>>,
    /// Presented delegation tokens.
    pub delegation_tokens: &'a [DelegationToken],
    /// The key delegation tokens must be signed with.
    pub delegation_key: Option<&'a VerifyingKey<Delegation>>,
    /// Where rate-limit counters live. `None` blocks every call that a
    /// rate limit or destructive budget applies to
    /// (`rate_limit_state_unavailable`).
    pub rate_limits: Option<&'a dyn RateLimitStore>,
    /// Report without enforcing.
    pub simulate: bool,
    /// A Wrkr inventory and where it came from (its path).
    pub wrkr: Option<(std::sync::Arc<crate::wrkr::WrkrInventory>, String)>,
    /// Verified approved-script registry entries.
    pub approved_scripts: &'a [crate::registry::ApprovedScriptEntry],
    /// The kill switch, when one is configured.
    pub kill_switch: Option<crate::killswitch::KillSwitchCheck>,
    /// The intent is bound to a verified context envelope
    /// ([`crate::context_evidence::ContextEvidence::bind`]): its context
    /// claims are the envelope's and are kept, not stripped.
    pub context_bound: bool,
    /// The credential broker, when one is configured (`None`: a rule that
    /// requires a broker credential blocks its `allow`).
    pub broker: Option<&'a dyn crate::broker::CredentialBroker>,
    /// The caller's overrides of the rules' broker reference and scopes.
    pub broker_overrides: crate::broker::BrokerOverrides,
}

impl<'a> GateInputs<'a> {
    /// Inputs with no tokens, no simulation, the default rate-limit state,
    /// evaluating at `now`.
    pub fn new(policy: &'a Policy, intent: &'a Intent, now: GoTime) -> Self {
        Self {
            policy,
            intent,
            eval: EvalOptions::at(now),
            wall_clock: GoTime::now_utc(),
            approval_tokens: &[],
            approval_key: None,
            delegation_tokens: &[],
            delegation_key: None,
            rate_limits: Some(&DEFAULT_RATE_LIMITS),
            simulate: false,
            wrkr: None,
            approved_scripts: &[],
            kill_switch: None,
            context_bound: false,
            broker: None,
            broker_overrides: crate::broker::BrokerOverrides::default(),
        }
    }
}

/// Where rate-limit and destructive-budget counters are kept.
///
/// [`FileRateLimitStore`] keeps them in the reference's state file (one
/// process at a time, under an exclusive lock); a shared store (a
/// database, a service) can implement this trait instead.
pub trait RateLimitStore: Send + Sync + std::fmt::Debug {
    /// Counts one call of `tool_name` by `identity` at `now` against
    /// `limit`, and says whether it is within the limit.
    ///
    /// # Errors
    ///
    /// [`RateLimitError`] when the counters cannot be read or written; the
    /// gate then fails closed.
    fn enforce(
        &self,
        limit: &crate::policy::RateLimit,
        tool_name: &str,
        identity: &str,
        now: &GoTime,
    ) -> Result<RateLimitDecision, RateLimitError>;
}

/// Rate-limit counters in a state file (`gait.gate.rate_limit_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRateLimitStore {
    path: std::path::PathBuf,
}

impl FileRateLimitStore {
    /// Counters kept in the file at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RateLimitStore for FileRateLimitStore {
    fn enforce(
        &self,
        limit: &crate::policy::RateLimit,
        tool_name: &str,
        identity: &str,
        now: &GoTime,
    ) -> Result<RateLimitDecision, RateLimitError> {
        ratelimit::enforce(&self.path, limit, tool_name, identity, now)
    }
}

/// The store of [`GateInputs::new`]: `gait gate eval`'s default state file.
#[derive(Debug)]
struct DefaultRateLimits;

static DEFAULT_RATE_LIMITS: DefaultRateLimits = DefaultRateLimits;

impl RateLimitStore for DefaultRateLimits {
    fn enforce(
        &self,
        limit: &crate::policy::RateLimit,
        tool_name: &str,
        identity: &str,
        now: &GoTime,
    ) -> Result<RateLimitDecision, RateLimitError> {
        ratelimit::enforce(
            Path::new(ratelimit::DEFAULT_STATE_PATH),
            limit,
            tool_name,
            identity,
            now,
        )
    }
}

/// What `--simulate` recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Simulation {
    /// The verdict that would have been enforced.
    pub verdict: Verdict,
    /// Its reason codes.
    pub reason_codes: Vec<String>,
    /// Whether the call would have been stopped.
    pub would_have_blocked: bool,
}

/// The outcome of a gate run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GateOutcome {
    /// The final decision (its verdict is the enforced one).
    pub decision: Decision,
    /// Approvals required (0 when no approval was needed).
    pub required_approvals: u64,
    /// Valid approvals presented.
    pub valid_approvals: usize,
    /// The valid approval token ids, comma-joined, when approval was granted.
    pub approval_ref: String,
    /// One audit entry per presented approval token.
    pub approval_entries: Vec<ApprovalAuditEntry>,
    /// Whether delegation had to be proven.
    pub delegation_required: bool,
    /// Valid delegation links.
    pub valid_delegations: usize,
    /// The valid delegation token ids, comma-joined, when the chain is complete.
    pub delegation_ref: String,
    /// Delegation audit entries.
    pub delegation_entries: Vec<DelegationAuditEntry>,
    /// The rate-limit decision, when a limit applied.
    pub rate_limit: Option<RateLimitDecision>,
    /// The destructive-budget decision, when a budget applied.
    pub destructive_budget: Option<RateLimitDecision>,
    /// What simulation recorded.
    pub simulation: Option<Simulation>,
    /// The intent that was evaluated (prepared, and enriched with Wrkr
    /// metadata when an inventory applied). Traces are built from it.
    pub prepared_intent: Intent,
    /// Where context came from (the Wrkr inventory path), comma-joined.
    pub context_source: String,
    /// Whether the approved-script registry pre-approved the call.
    pub pre_approved: bool,
    /// The matching registry entry's pattern id.
    pub pattern_id: String,
    /// Why the registry did not match (`approved_script_not_found`,
    /// `not_script`), or `approved_script_match`.
    pub registry_reason: String,
    /// Non-fatal notes for the operator.
    pub warnings: Vec<String>,
    /// The kill switch's part, when one is configured and was consulted.
    pub kill_switch: Option<KillSwitchDecision>,
    /// The credential the broker issued, when it was asked and answered
    /// (even if a receipt check then blocked the call). It holds
    /// references only, never the credential itself.
    pub credential: Option<crate::broker::IssuedCredential>,
}

/// Why a gate run could not complete. No verdict is produced; callers must
/// treat the call as not allowed (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// The rate limiter failed.
    #[error(transparent)]
    RateLimit(#[from] RateLimitError),
    /// Enriching the intent with Wrkr metadata produced an invalid intent.
    #[error("apply wrkr context: {0}")]
    Enrich(#[source] crate::intent::IntentError),
}

fn script_aware_destructive(intent: &Intent) -> bool {
    if let Some(script) = intent.script() {
        let mut saw = false;
        for step in &script.steps {
            if step.targets.is_empty() {
                continue;
            }
            saw = true;
            if step.targets.iter().any(|t| t.destructive) {
                return true;
            }
        }
        if saw {
            return false;
        }
    }
    intent.targets().iter().any(|t| t.destructive)
}

fn target_count(intent: &Intent) -> i64 {
    let n = intent
        .script()
        .map(|s| s.steps.iter().map(|st| st.targets.len()).sum::<usize>())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| intent.targets().len());
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn operation_count(intent: &Intent) -> i64 {
    let n = match intent.script() {
        Some(s) if !s.steps.is_empty() => s.steps.len(),
        _ => intent.targets().len().max(1),
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn set_block(d: &mut Decision, reasons: &[&str], violations: &[&str]) {
    d.verdict = Verdict::Block;
    d.add_reasons(reasons.iter().map(|s| (*s).to_owned()));
    d.add_violations(violations.iter().map(|s| (*s).to_owned()));
}

/// Runs the gate: evaluation and every post-evaluation step.
pub fn run(inputs: &GateInputs<'_>) -> Result<GateOutcome, GateError> {
    let intent = inputs.intent;
    let mut warnings = Vec::new();
    let mut prepared = if !inputs.context_bound && intent.has_context_evidence_claims() {
        intent.prepared()
    } else {
        intent.clone()
    };
    let mut context_source = String::new();
    let mut eval_opts = inputs.eval.clone();

    // The approved-script fast path (on the intent as given).
    let mut pre_approved = false;
    let mut pattern_id = String::new();
    let mut registry_reason = String::new();
    let mut decision = None;
    if !inputs.approved_scripts.is_empty() {
        if requires_context_evidence(inputs.policy) {
            warnings.push("approved script fast-path disabled because policy requires authenticated context evidence".to_owned());
        } else {
            let m = crate::registry::match_script(
                intent,
                &inputs.policy.digest().to_hex(),
                inputs.approved_scripts,
                &inputs.wall_clock,
            );
            if m.matched {
                decision = Some(crate::eval::single::pre_approved(
                    inputs.policy,
                    &prepared,
                    &eval_opts,
                    &m.reason,
                    inputs.wall_clock,
                ));
                pre_approved = true;
                pattern_id = m.pattern_id;
            }
            registry_reason = m.reason;
        }
    }
    let mut decision = match decision {
        Some(d) => d,
        None => {
            if let Some((inventory, source)) = &inputs.wrkr {
                if prepared.is_script() {
                    eval_opts.wrkr = Some(inventory.clone());
                    let applies = prepared.script().is_some_and(|s| {
                        s.steps
                            .iter()
                            .any(|st| inventory.tool(&st.tool_name).is_some())
                    });
                    if applies {
                        context_source = wrkr_source(source);
                    }
                } else if let Some(entries) = inventory.auth_entries(prepared.tool_name()) {
                    prepared = prepared
                        .with_auth_context_entries(entries)
                        .map_err(GateError::Enrich)?;
                    context_source = wrkr_source(source);
                }
            }
            crate::eval::single::evaluate_prepared(inputs.policy, &prepared, &eval_opts)
        }
    };
    if inputs.context_bound {
        context_source = if context_source.is_empty() {
            "context_envelope".to_owned()
        } else {
            let mut sources = ["context_envelope".to_owned(), context_source];
            sources.sort();
            sources.join(",")
        };
    }
    let prepared = &prepared;
    let ctx = prepared.context();

    // 0. The kill switch. Not consulted when the fail-closed field check
    // has already blocked; consulted on the approved-script fast path too
    // (stricter than the reference, which skips it there).
    let kill_switch = match &inputs.kill_switch {
        Some(check) if pre_approved || !decision.fail_closed_blocked => {
            let now = inputs.eval.now;
            match check {
                KillSwitchCheck::Unavailable => {
                    // Before any rule: exactly this code, no matched rule.
                    decision = crate::eval::single::failed(
                        inputs.policy,
                        prepared,
                        &eval_opts,
                        REASON_KILL_SWITCH_STATE_UNAVAILABLE,
                    );
                    Some(KillSwitchDecision::unavailable(now))
                }
                KillSwitchCheck::State(state) => {
                    let ks = state.evaluate(prepared, now);
                    if ks.is_active() {
                        decision.verdict = Verdict::Block;
                        decision.add_reasons(ks.reason_codes.iter().cloned());
                        decision.add_violations([REASON_KILL_SWITCH_ACTIVE.to_owned()]);
                    }
                    Some(ks)
                }
            }
        }
        _ => None,
    };

    // 1. Rate limit and destructive budget.
    let mut rate_limit = None;
    let mut destructive_budget = None;
    // A limit that cannot be counted is not a limit: without state the
    // call is blocked (fail closed) rather than let through uncounted.
    let needs_budget =
        decision.destructive_budget().is_some() && script_aware_destructive(prepared);
    if inputs.rate_limits.is_none() && (decision.rate_limit().is_some() || needs_budget) {
        set_block(
            &mut decision,
            &["rate_limit_state_unavailable"],
            &["rate_limit_state_unavailable"],
        );
    }
    if let (Some(limit), Some(store)) = (decision.rate_limit().copied(), inputs.rate_limits) {
        let r = store.enforce(
            &limit,
            prepared.tool_name(),
            &ctx.identity,
            &inputs.wall_clock,
        )?;
        if !r.allowed {
            set_block(
                &mut decision,
                &["rate_limit_exceeded"],
                &["rate_limit_exceeded"],
            );
        }
        rate_limit = Some(r);
    }
    if let (Some(budget), Some(store)) =
        (decision.destructive_budget().copied(), inputs.rate_limits)
    {
        if script_aware_destructive(prepared) {
            let tool = format!("destructive_budget|{}", prepared.tool_name().trim());
            let r = store.enforce(&budget, &tool, &ctx.identity, &inputs.wall_clock)?;
            if !r.allowed {
                set_block(
                    &mut decision,
                    &["destructive_budget_exceeded"],
                    &["destructive_budget_exceeded"],
                );
            }
            destructive_budget = Some(r);
        }
    }

    let intent_digest = decision.intent_digest().to_hex();
    let policy_digest = decision.policy_digest().to_hex();

    // 2. Delegation.
    let delegation_required = decision.require_delegation();
    let mut delegation_entries = Vec::new();
    let mut valid_delegations = 0;
    let mut delegation_ref = String::new();
    if delegation_required {
        if inputs.delegation_tokens.is_empty() {
            set_block(
                &mut decision,
                &["delegation_token_missing"],
                &["delegation_not_granted"],
            );
        } else if let Some(d) = prepared.delegation() {
            let links: Vec<RequiredLink> = if d.chain.is_empty() {
                vec![RequiredLink {
                    delegator: String::new(),
                    delegate: d.requester_identity.clone(),
                }]
            } else {
                d.chain
                    .iter()
                    .map(|l| RequiredLink {
                        delegator: l.delegator_identity.clone(),
                        delegate: l.delegate_identity.clone(),
                    })
                    .collect()
            };
            let check = DelegationCheck {
                now: inputs.wall_clock,
                required_scope: decision.required_delegation_scopes().to_vec(),
                expected_intent_digest: intent_digest.clone(),
                expected_policy_digest: policy_digest.clone(),
                ..DelegationCheck::default()
            };
            let out = evaluate_delegation_chain(
                &links,
                inputs.delegation_tokens,
                inputs.delegation_key,
                &check,
            );
            valid_delegations = out.valid;
            if out.complete {
                decision.add_reasons(["delegation_granted".to_owned()]);
                delegation_ref = out.valid_token_ids.join(",");
            } else {
                let codes: Vec<String> = out
                    .entries
                    .iter()
                    .filter(|e| !e.valid && !e.error_code.is_empty())
                    .map(|e| e.error_code.clone())
                    .collect();
                decision.add_reasons(codes);
                set_block(
                    &mut decision,
                    &["delegation_chain_insufficient"],
                    &["delegation_not_granted"],
                );
            }
            delegation_entries = out.entries;
        } else {
            // A rule requiring delegation only matches intents that carry
            // one; without it the chain cannot be proven.
            set_block(
                &mut decision,
                &["delegation_chain_insufficient"],
                &["delegation_not_granted"],
            );
        }
    }

    // 3. Approvals.
    let mut required_approvals = decision.min_approvals();
    let mut valid_approvals = 0;
    let mut approval_ref = String::new();
    let mut approval_entries = Vec::new();
    if decision.verdict() == Verdict::RequireApproval {
        required_approvals = required_approvals.max(1);
        let destructive = prepared.targets().iter().any(|t| t.destructive);
        let check = ApprovalCheck {
            now: inputs.wall_clock,
            expected_intent_digest: intent_digest.clone(),
            expected_policy_digest: policy_digest.clone(),
            expected_delegation_binding_digest: prepared
                .delegation_digest()
                .map(|d| d.to_hex())
                .unwrap_or_default(),
            required_scope: required_approval_scope(
                prepared.tool_name(),
                ctx.phase == Phase::Apply,
                destructive,
            ),
            target_count: target_count(prepared),
            operation_count: operation_count(prepared),
        };
        let out = evaluate_approvals(
            inputs.approval_tokens,
            inputs.approval_key,
            &check,
            usize::try_from(required_approvals).unwrap_or(usize::MAX),
            decision.require_distinct_approvers(),
        );
        valid_approvals = out.valid;
        decision.add_reasons(out.reason_codes.iter().cloned());
        if out.approved {
            decision.verdict = Verdict::Allow;
            approval_ref = out.valid_token_ids.join(",");
        } else {
            decision.add_violations(["approval_not_granted".to_owned()]);
        }
        approval_entries = out.entries;
    }

    // 4. Broker credential: only for a final `allow`.
    let mut credential = None;
    if decision.require_broker_credential() && decision.verdict() == Verdict::Allow {
        use crate::broker::{
            BrokerRequest, REASON_BROKER_CREDENTIAL_MISSING, REASON_BROKER_CREDENTIAL_PRESENT,
            REASON_BROKER_CREDENTIAL_REQUIRED,
        };
        match inputs.broker {
            None => set_block(
                &mut decision,
                &[REASON_BROKER_CREDENTIAL_REQUIRED],
                &[REASON_BROKER_CREDENTIAL_MISSING],
            ),
            Some(broker) => {
                let request = BrokerRequest::build(
                    prepared,
                    decision.broker_reference(),
                    decision.broker_scopes(),
                    &inputs.broker_overrides,
                );
                match crate::broker::issue(broker, &request, inputs.wall_clock) {
                    Err(e) => {
                        warnings.push(format!("{REASON_BROKER_CREDENTIAL_MISSING}: {e}"));
                        set_block(
                            &mut decision,
                            &[REASON_BROKER_CREDENTIAL_MISSING],
                            &[REASON_BROKER_CREDENTIAL_MISSING],
                        );
                    }
                    Ok(issued) => {
                        let findings = crate::broker::check_receipt(
                            inputs.policy,
                            decision.matched_rule(),
                            &issued,
                            prepared,
                        );
                        if findings.is_empty() {
                            decision.add_reasons([REASON_BROKER_CREDENTIAL_PRESENT.to_owned()]);
                        } else {
                            decision.verdict = Verdict::Block;
                            decision.add_reasons(findings.iter().cloned());
                            decision.add_violations(findings);
                        }
                        credential = Some(issued);
                    }
                }
            }
        }
    }

    // 5. Simulation.
    let mut simulation = None;
    if inputs.simulate {
        let verdict = decision.verdict();
        let reason_codes = decision.reason_codes().to_vec();
        let would_have_blocked = matches!(verdict, Verdict::Block | Verdict::RequireApproval);
        decision.add_reasons(["simulate_mode_non_enforcing".to_owned()]);
        if would_have_blocked {
            decision.verdict = Verdict::Allow;
            decision.violations.clear();
            decision.add_reasons([format!("simulated_{}", verdict.as_str())]);
        }
        simulation = Some(Simulation {
            verdict,
            reason_codes,
            would_have_blocked,
        });
    }

    Ok(GateOutcome {
        decision,
        required_approvals,
        valid_approvals,
        approval_ref,
        approval_entries,
        delegation_required,
        valid_delegations,
        delegation_ref,
        delegation_entries,
        rate_limit,
        destructive_budget,
        simulation,
        prepared_intent: prepared.clone(),
        context_source,
        pre_approved,
        pattern_id,
        registry_reason,
        warnings,
        kill_switch,
        credential,
    })
}

impl GateOutcome {
    /// The fail-closed outcome of a gate run that could not complete:
    /// `block`, with `reason` as reason code and violation, on the intent
    /// as given. Every boundary records it like any other decision, so an
    /// error never becomes an `allow` and still leaves a signed trace.
    pub fn failed(inputs: &GateInputs<'_>, reason: &str) -> GateOutcome {
        Self::failed_with(inputs, &[reason], &[reason])
    }

    /// Like [`GateOutcome::failed`], with these reason codes and
    /// violations.
    pub fn failed_with(
        inputs: &GateInputs<'_>,
        reasons: &[&str],
        violations: &[&str],
    ) -> GateOutcome {
        let prepared = if !inputs.context_bound && inputs.intent.has_context_evidence_claims() {
            inputs.intent.prepared()
        } else {
            inputs.intent.clone()
        };
        let decision = crate::eval::single::failed_with(
            inputs.policy,
            &prepared,
            &inputs.eval,
            reasons,
            violations,
        );
        GateOutcome {
            decision,
            required_approvals: 0,
            valid_approvals: 0,
            approval_ref: String::new(),
            approval_entries: Vec::new(),
            delegation_required: false,
            valid_delegations: 0,
            delegation_ref: String::new(),
            delegation_entries: Vec::new(),
            rate_limit: None,
            destructive_budget: None,
            simulation: None,
            prepared_intent: prepared,
            context_source: String::new(),
            pre_approved: false,
            pattern_id: String::new(),
            registry_reason: String::new(),
            warnings: Vec::new(),
            kill_switch: None,
            credential: None,
        }
    }
}

/// Whether an unusable optional input (a Wrkr inventory, an approved-script
/// registry or its verify key) must stop the call instead of being skipped
/// with a warning: under the `oss-prod` profile, or when the intent's risk
/// class is `high` or `critical`.
pub fn optional_inputs_fail_closed(oss_prod: bool, intent: &Intent) -> bool {
    let risk = crate::intent::gostr::lower(intent.context().risk_class.trim());
    oss_prod || risk == "high" || risk == "critical"
}

fn wrkr_source(path: &str) -> String {
    let p = path.trim();
    if p.is_empty() {
        "wrkr_inventory".to_owned()
    } else {
        p.to_owned()
    }
}

/// Whether any rule needs authenticated context evidence (which disables
/// the approved-script fast path).
fn requires_context_evidence(policy: &Policy) -> bool {
    policy.rules().iter().any(|r| {
        r.require_context_evidence
            || r.required_context_evidence_mode.as_deref() == Some("required")
            || r.max_context_age_seconds > 0
    })
}

/// The in-process gate: a loaded policy, ready to evaluate intents.
///
/// `Gate` is `Send + Sync` and cheap to share (`Arc` inside); evaluation
/// re-parses and re-compiles nothing. Only [`Decision::permits_execution`]
/// lets a call run.
///
/// ```
/// use gait_policy::{Gate, Intent, Policy};
///
/// let policy = Policy::from_yaml_str(r#"
/// default_verdict: block
/// rules:
///   - name: reads
///     effect: allow
///     match:
///       tool_names: [tool.read]
/// "#)?;
/// let gate = Gate::new(policy);
/// let intent = Intent::from_json_str(r#"{"tool_name":"tool.read","args":{},"targets":[],
///   "context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#)?;
/// let decision = gate.evaluate(&intent);
/// assert!(decision.permits_execution());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gate {
    policy: std::sync::Arc<Policy>,
    producer_version: String,
    wrkr: Option<std::sync::Arc<crate::wrkr::WrkrInventory>>,
}

impl Gate {
    /// A gate enforcing `policy`.
    pub fn new(policy: Policy) -> Gate {
        Gate {
            policy: std::sync::Arc::new(policy),
            producer_version: String::new(),
            wrkr: None,
        }
    }

    /// Records `version` as the producer of decisions.
    #[must_use]
    pub fn with_producer_version(mut self, version: &str) -> Gate {
        version.trim().clone_into(&mut self.producer_version);
        self
    }

    /// Enriches intents with a Wrkr inventory.
    #[must_use]
    pub fn with_wrkr_inventory(mut self, inventory: crate::wrkr::WrkrInventory) -> Gate {
        self.wrkr = Some(std::sync::Arc::new(inventory));
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Evaluates `intent` now.
    pub fn evaluate(&self, intent: &Intent) -> Decision {
        self.evaluate_at(intent, GoTime::now_utc())
    }

    /// Evaluates `intent` as of `now` (policy evaluation only: no tokens,
    /// rate limits or simulation; see [`Gate::run`] for those).
    pub fn evaluate_at(&self, intent: &Intent, now: GoTime) -> Decision {
        let mut opts = EvalOptions::at(now).with_producer_version(&self.producer_version);
        opts.wrkr.clone_from(&self.wrkr);
        evaluate(&self.policy, intent, &opts)
    }

    /// Parses, normalizes and evaluates intent JSON. A malformed intent is
    /// an error, never a decision.
    pub fn evaluate_json(
        &self,
        intent_json: &[u8],
    ) -> Result<Decision, crate::intent::IntentError> {
        Ok(self.evaluate(&Intent::from_json_slice(intent_json)?))
    }

    /// The full gate run (approvals, delegation, rate limits, simulation)
    /// for `inputs` built from this gate's policy with
    /// [`Gate::inputs`].
    pub fn run(&self, inputs: &GateInputs<'_>) -> Result<GateOutcome, GateError> {
        run(inputs)
    }

    /// Inputs for [`Gate::run`] evaluating `intent` now, with no tokens and
    /// no rate-limit store (so calls under a rate-limited rule are blocked
    /// with `rate_limit_state_unavailable`; set
    /// [`GateInputs::rate_limits`] to count them).
    pub fn inputs<'a>(&'a self, intent: &'a Intent) -> GateInputs<'a> {
        let mut inputs = GateInputs::new(&self.policy, intent, GoTime::now_utc());
        inputs.eval = inputs.eval.with_producer_version(&self.producer_version);
        inputs.rate_limits = None;
        inputs.wrkr = self.wrkr.clone().map(|w| (w, String::new()));
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Gate>();
        assert_send_sync::<Decision>();
    }

    #[test]
    fn rate_limit_without_state_fails_closed() {
        let policy = Policy::from_yaml_str(
            "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n    rate_limit:\n      requests: 5\n",
        )
        .unwrap();
        let gate = Gate::new(policy);
        let intent = Intent::from_json_str(
            r#"{"tool_name":"tool.read","args":{},"targets":[],"context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
        )
        .unwrap();
        let out = gate.run(&gate.inputs(&intent)).unwrap();
        assert_eq!(out.decision.verdict(), Verdict::Block);
        assert!(
            out.decision
                .reason_codes()
                .contains(&"rate_limit_state_unavailable".to_owned())
        );
        let dir = tempfile::tempdir().unwrap();
        let state = FileRateLimitStore::new(dir.path().join("state.json"));
        let mut inputs = gate.inputs(&intent);
        inputs.rate_limits = Some(&state);
        assert_eq!(
            gate.run(&inputs).unwrap().decision.verdict(),
            Verdict::Allow
        );
    }
}
