//! Rule matching, single-intent evaluation, script aggregation and the
//! fail-closed checks.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

use gait_digest::GoTime;
use serde_json::{Map, Value};

use super::constraints::{self, Fired};
use super::decision::{
    Decision, FreezeWindowDecision, SandboxDecision, ScriptOutcome, StepVerdict, merge_sorted,
};
use super::{EvalOptions, most_restrictive};
use crate::intent::gostr::lower;
use crate::intent::{
    ArgProvenance, Context, Delegation, EndpointClass, Intent, Phase, SkillProvenance, Target,
};
use crate::policy::{Policy, RateLimit, RateLimitWindow, Rule, RuleMatch, Verdict};

/// What one (step) intent looks like to the rules.
pub(crate) struct View<'a> {
    pub(crate) tool_name: &'a str,
    pub(crate) args: &'a Map<String, Value>,
    pub(crate) targets: &'a [Target],
    pub(crate) provenance: &'a [ArgProvenance],
    pub(crate) context: &'a Context,
    pub(crate) auth_context: Option<Cow<'a, Map<String, Value>>>,
    pub(crate) skill: Option<&'a SkillProvenance>,
    pub(crate) delegation: Option<&'a Delegation>,
    target_binding: OnceCell<String>,
    cel: OnceCell<crate::cel::CelInput<'a>>,
    /// Errors of the CEL conditions that failed to evaluate.
    cel_errors: RefCell<Vec<crate::cel::EvalError>>,
}

impl<'a> View<'a> {
    fn new(
        tool_name: &'a str,
        args: &'a Map<String, Value>,
        targets: &'a [Target],
        provenance: &'a [ArgProvenance],
        intent: &'a Intent,
    ) -> Self {
        let context = intent.context();
        Self {
            tool_name,
            args,
            targets,
            provenance,
            context,
            auth_context: context.auth_context.as_ref().map(Cow::Borrowed),
            skill: intent.skill_provenance(),
            delegation: intent.delegation(),
            target_binding: OnceCell::new(),
            cel: OnceCell::new(),
            cel_errors: RefCell::new(Vec::new()),
        }
    }

    /// SHA-256 of the canonical JSON of the targets (credential target
    /// binding), computed on first use.
    pub(crate) fn target_binding_digest(&self) -> &str {
        self.target_binding.get_or_init(|| {
            let list: Vec<Value> = self
                .targets
                .iter()
                .map(crate::intent::projection::target)
                .collect();
            gait_digest::digest_json(&Value::Array(list)).to_hex()
        })
    }

    fn destructive(&self) -> bool {
        self.targets.iter().any(|t| t.destructive)
    }

    fn auth_string(&self, key: &str) -> String {
        self.auth_context
            .as_ref()
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(|s| lower(s.trim()))
            .unwrap_or_default()
    }
}

fn any_target<F: Fn(&Target) -> bool>(v: &View<'_>, f: F) -> bool {
    v.targets.iter().any(f)
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == value)
}

/// Whether a rule's selectors all match (AND; an empty selector matches).
fn rule_matches(m: &RuleMatch, v: &View<'_>) -> bool {
    let ctx = v.context;
    if !m.tool_names.is_empty() && !has(&m.tool_names, v.tool_name) {
        return false;
    }
    if !m.risk_classes.is_empty() && !has(&m.risk_classes, &ctx.risk_class) {
        return false;
    }
    if !m.identities.is_empty() && !has(&m.identities, &ctx.identity) {
        return false;
    }
    if !m.workspace_prefixes.is_empty()
        && !m
            .workspace_prefixes
            .iter()
            .any(|p| ctx.workspace.starts_with(p.as_str()))
    {
        return false;
    }
    for (list, key) in [
        (&m.context_tool_names, "wrkr.tool_name"),
        (&m.context_data_classes, "wrkr.data_class"),
        (&m.context_endpoint_classes, "wrkr.endpoint_class"),
        (&m.context_autonomy_levels, "wrkr.autonomy_level"),
    ] {
        if !list.is_empty() {
            let value = v.auth_string(key);
            if value.is_empty() || !has(list, &value) {
                return false;
            }
        }
    }
    if !m.target_kinds.is_empty() && !any_target(v, |t| has(&m.target_kinds, t.kind.as_str())) {
        return false;
    }
    if !m.target_values.is_empty() && !any_target(v, |t| has(&m.target_values, &t.value)) {
        return false;
    }
    if !m.endpoint_classes.is_empty()
        && !any_target(v, |t| has(&m.endpoint_classes, t.endpoint_class.as_str()))
    {
        return false;
    }
    if !m.discovery_methods.is_empty()
        && !any_target(v, |t| {
            has(&m.discovery_methods, t.discovery_method.as_str())
        })
    {
        return false;
    }
    let a = &m.tool_annotations;
    for (want, get) in [
        (
            a.read_only_hint,
            (|t: &Target| t.read_only_hint) as fn(&Target) -> bool,
        ),
        (a.destructive_hint, |t: &Target| t.destructive_hint),
        (a.idempotent_hint, |t: &Target| t.idempotent_hint),
        (a.open_world_hint, |t: &Target| t.open_world_hint),
    ] {
        if let Some(want) = want {
            if !any_target(v, |t| get(t) == want) {
                return false;
            }
        }
    }
    if !m.skill_publishers.is_empty()
        && !v
            .skill
            .is_some_and(|s| has(&m.skill_publishers, &lower(s.publisher.trim())))
    {
        return false;
    }
    if !m.skill_sources.is_empty()
        && !v
            .skill
            .is_some_and(|s| has(&m.skill_sources, &lower(s.source.trim())))
    {
        return false;
    }
    if !m.data_classes.is_empty() && !any_target(v, |t| has(&m.data_classes, &t.sensitivity)) {
        return false;
    }
    if !m.destination_kinds.is_empty()
        && !any_target(v, |t| has(&m.destination_kinds, t.kind.as_str()))
    {
        return false;
    }
    if !m.destination_values.is_empty() && !any_target(v, |t| has(&m.destination_values, &t.value))
    {
        return false;
    }
    if !m.destination_operations.is_empty()
        && !any_target(v, |t| has(&m.destination_operations, &t.operation))
    {
        return false;
    }
    if !m.provenance_sources.is_empty()
        && !v
            .provenance
            .iter()
            .any(|p| has(&m.provenance_sources, p.source.as_str()))
    {
        return false;
    }
    if !delegation_matches(m, v.delegation) {
        return false;
    }
    match m.condition() {
        None => true,
        Some(cond) => {
            let input = v.cel.get_or_init(|| {
                crate::cel::CelInput::new(v.tool_name, v.args, v.targets, v.provenance, v.context)
            });
            match cond.evaluate(input) {
                Ok(b) => b,
                Err(e) => {
                    // An error is a non-match; the caller records it.
                    v.cel_errors.borrow_mut().push(e);
                    false
                }
            }
        }
    }
}

fn delegation_matches(m: &RuleMatch, delegation: Option<&Delegation>) -> bool {
    if !m.has_delegation_constraints() {
        return true;
    }
    let Some(d) = delegation else {
        return false;
    };
    if let Some(max) = m.max_delegation_depth {
        if u64::try_from(d.chain.len()).map_or(true, |n| n > max) {
            return false;
        }
    }
    if !m.allowed_delegator_identities.is_empty()
        && !d
            .chain
            .iter()
            .any(|l| has(&m.allowed_delegator_identities, l.delegator_identity.trim()))
    {
        return false;
    }
    if !m.allowed_delegate_identities.is_empty()
        && !has(&m.allowed_delegate_identities, d.requester_identity.trim())
        && !d
            .chain
            .iter()
            .any(|l| has(&m.allowed_delegate_identities, l.delegate_identity.trim()))
    {
        return false;
    }
    if !m.delegation_scopes.is_empty()
        && !has(&m.delegation_scopes, &lower(d.scope_class.trim()))
        && !d
            .chain
            .iter()
            .any(|l| has(&m.delegation_scopes, &lower(l.scope_class.trim())))
    {
        return false;
    }
    true
}

/// `matched_rule_<name>` with the name JSON-escaped (Go's HTML escaping),
/// every leading and trailing `"` trimmed (Go `strings.Trim`, so a name
/// ending in `"` also loses the quote of its `\"` escape), spaces and `-`
/// turned into `_`, lowercased.
fn sanitize_name(name: &str) -> String {
    if name.is_empty() {
        return "rule".into();
    }
    let mut out = Vec::with_capacity(name.len() + 2);
    gait_digest::go_json::write_go_string(&mut out, name);
    let quoted = String::from_utf8(out).unwrap_or_default();
    let inner = quoted.trim_matches('"');
    lower(&inner.replace([' ', '-'], "_"))
}

/// One matched rule after its constraints.
struct RuleEval<'r> {
    rule: &'r Rule,
    effect: Verdict,
    reasons: Vec<String>,
    violations: Vec<String>,
    min_approvals: u64,
    dataflow_triggered: bool,
    freeze_window: Option<FreezeWindowDecision>,
    sandbox: Option<SandboxDecision>,
}

fn apply(
    effect: &mut Verdict,
    reasons: &mut Vec<String>,
    violations: &mut Vec<String>,
    fired: Fired,
) {
    if let Some(e) = fired.effect {
        *effect = most_restrictive(*effect, e);
    }
    reasons.extend(fired.reasons);
    violations.extend(fired.violations);
}

fn evaluate_rule<'r>(rule: &'r Rule, v: &View<'_>, now: &GoTime) -> RuleEval<'r> {
    let mut effect = rule.effect;
    let mut reasons: Vec<String> = rule.reason_codes.clone();
    let mut violations: Vec<String> = rule.violations.clone();
    if reasons.is_empty() {
        reasons.push(format!("matched_rule_{}", sanitize_name(&rule.name)));
    }
    let mut dataflow_triggered = false;
    if let Some(d) = &rule.dataflow {
        if let Some(f) = constraints::dataflow(d, v) {
            dataflow_triggered = true;
            // The dataflow action replaces the rule's effect.
            if let Some(e) = f.effect {
                effect = e;
            }
            reasons.extend(f.reasons);
            violations.extend(f.violations);
        }
    }
    if let Some(e) = &rule.endpoint {
        if let Some(f) = constraints::endpoint(e, v) {
            apply(&mut effect, &mut reasons, &mut violations, f);
        }
    }
    for f in [
        constraints::context_evidence(rule, v),
        constraints::agent_identity(rule, v, now),
        constraints::credential(rule, v),
    ]
    .into_iter()
    .flatten()
    {
        apply(&mut effect, &mut reasons, &mut violations, f);
    }
    let (fired, freeze_window) = constraints::freeze_window(rule, v, now);
    if let Some(f) = fired {
        apply(&mut effect, &mut reasons, &mut violations, f);
    }
    let (fired, sandbox) = constraints::sandbox(rule, v);
    if let Some(f) = fired {
        apply(&mut effect, &mut reasons, &mut violations, f);
    }
    let mut destructive = v.destructive();
    if sandbox.as_ref().is_some_and(|s| s.status == "valid") && constraints::only_proc_exec(v) {
        destructive = false;
    }
    if destructive {
        match v.context.phase {
            Phase::Plan => {
                effect = most_restrictive(effect, Verdict::DryRun);
                reasons.push("plan_phase_non_destructive".into());
            }
            Phase::Apply => {
                effect = most_restrictive(effect, Verdict::RequireApproval);
                reasons.push("destructive_apply_requires_approval".into());
            }
        }
    }
    let mut min_approvals = rule.min_approvals;
    if effect == Verdict::RequireApproval && min_approvals == 0 {
        min_approvals = 1;
    }
    RuleEval {
        rule,
        effect,
        reasons,
        violations,
        min_approvals,
        dataflow_triggered,
        freeze_window,
        sandbox,
    }
}

fn window_rank(w: RateLimitWindow) -> u8 {
    match w {
        RateLimitWindow::Minute => 0,
        RateLimitWindow::Hour => 1,
    }
}

/// The more restrictive of two rate limits: fewer requests, then the
/// shorter window, then the smaller scope name.
fn pick_rate_limit(current: Option<RateLimit>, candidate: Option<RateLimit>) -> Option<RateLimit> {
    match (current, candidate) {
        (c, None) => c,
        (None, c) => c,
        (Some(cur), Some(cand)) => {
            let key = |r: &RateLimit| (r.requests, window_rank(r.window), r.scope.as_str());
            if key(&cand) < key(&cur) {
                Some(cand)
            } else {
                Some(cur)
            }
        }
    }
}

fn active_limit(r: Option<&RateLimit>) -> Option<RateLimit> {
    r.filter(|r| r.requests > 0).copied()
}

/// The evaluation of one single (or step) intent, before it becomes a
/// [`Decision`].
pub(crate) struct Partial {
    pub(crate) verdict: Verdict,
    pub(crate) reasons: Vec<String>,
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
}

impl Partial {
    fn verdict_only(verdict: Verdict, reasons: Vec<String>, violations: Vec<String>) -> Self {
        Partial {
            verdict,
            reasons,
            violations,
            matched_rule: String::new(),
            min_approvals: 0,
            require_distinct_approvers: false,
            require_broker_credential: false,
            broker_reference: String::new(),
            broker_scopes: Vec::new(),
            require_delegation: false,
            required_delegation_scopes: Vec::new(),
            rate_limit: None,
            destructive_budget: None,
            dataflow_triggered: false,
            freeze_window: None,
            sandbox: None,
        }
    }
}

fn evaluate_single(policy: &Policy, v: &View<'_>, now: &GoTime) -> Partial {
    let mut p = evaluate_tier(policy, v, now);
    let errors = v.cel_errors.borrow();
    if !errors.is_empty() {
        // A condition that cannot be evaluated never matches; it is
        // reported, and for high and critical risk it fails closed. A
        // condition that exceeded its evaluation limits fails closed at
        // every risk class: its outcome is unknown, and a policy must not
        // be made to skip a rule by a costly input.
        merge_sorted(&mut p.reasons, ["cel_condition_error".to_owned()]);
        let limit = errors.iter().any(crate::cel::EvalError::is_limit_exceeded);
        if limit {
            merge_sorted(&mut p.reasons, ["cel_limit_exceeded".to_owned()]);
            merge_sorted(&mut p.violations, ["cel_limit_exceeded".to_owned()]);
        }
        let risk = lower(v.context.risk_class.trim());
        if limit || risk == "high" || risk == "critical" {
            p.verdict = Verdict::Block;
            merge_sorted(&mut p.violations, ["cel_condition_error".to_owned()]);
            p.min_approvals = 0;
            p.require_distinct_approvers = false;
        }
    }
    p
}

fn evaluate_tier(policy: &Policy, v: &View<'_>, now: &GoTime) -> Partial {
    // Tier selection: the first matching rule fixes the priority; collect
    // the matching rules of that priority and stop at the first matching
    // rule of another priority.
    let mut tier: Vec<&Rule> = Vec::new();
    for rule in policy.rules() {
        if !rule_matches(&rule.selector, v) {
            continue;
        }
        if let Some(first) = tier.first() {
            if first.priority != rule.priority {
                break;
            }
        }
        tier.push(rule);
    }
    if tier.is_empty() {
        let dv = policy.default_verdict();
        let mut p = Partial::verdict_only(dv, vec![format!("default_{}", dv.as_str())], Vec::new());
        if dv == Verdict::RequireApproval {
            p.min_approvals = 1;
        }
        return p;
    }
    let evals: Vec<RuleEval<'_>> = tier.iter().map(|r| evaluate_rule(r, v, now)).collect();
    let verdict = evals
        .iter()
        .fold(Verdict::Allow, |acc, e| most_restrictive(acc, e.effect));
    let mut names: Vec<String> = evals.iter().map(|e| e.rule.name.clone()).collect();
    merge_sorted(&mut names, std::iter::empty());
    let mut p = Partial::verdict_only(verdict, Vec::new(), Vec::new());
    p.matched_rule = names.join(",");
    let mut broker_refs = Vec::new();
    for e in evals.into_iter().filter(|e| e.effect == verdict) {
        merge_sorted(&mut p.reasons, e.reasons);
        merge_sorted(&mut p.violations, e.violations);
        p.min_approvals = p.min_approvals.max(e.min_approvals);
        p.require_distinct_approvers |= e.rule.require_distinct_approvers;
        p.require_broker_credential |= e.rule.require_broker_credential;
        p.require_delegation |= e.rule.selector.require_delegation;
        merge_sorted(
            &mut p.required_delegation_scopes,
            e.rule.selector.delegation_scopes.iter().cloned(),
        );
        broker_refs.push(e.rule.broker_reference.clone());
        merge_sorted(&mut p.broker_scopes, e.rule.broker_scopes.iter().cloned());
        p.rate_limit = pick_rate_limit(p.rate_limit, active_limit(e.rule.rate_limit.as_ref()));
        p.destructive_budget = pick_rate_limit(
            p.destructive_budget,
            active_limit(e.rule.destructive_budget.as_ref()),
        );
        p.dataflow_triggered |= e.dataflow_triggered;
        p.freeze_window = constraints::pick_freeze_window(p.freeze_window, e.freeze_window);
        p.sandbox = constraints::pick_sandbox(p.sandbox, e.sandbox);
    }
    merge_sorted(&mut broker_refs, std::iter::empty());
    p.broker_reference = broker_refs.join(",");
    if verdict != Verdict::RequireApproval {
        p.min_approvals = 0;
        p.require_distinct_approvers = false;
    }
    p
}

/// Step risk: high for deletes, process execution or destructive targets;
/// medium for writes and network access; else low.
fn step_risk(targets: &[Target]) -> &'static str {
    let mut risk = "low";
    for t in targets {
        match t.endpoint_class {
            EndpointClass::FsDelete | EndpointClass::ProcExec => return "high",
            EndpointClass::FsWrite | EndpointClass::NetHttp | EndpointClass::NetDns => {
                risk = "medium"
            }
            _ => {}
        }
        if t.destructive {
            return "high";
        }
    }
    risk
}

fn fail_closed_reasons(policy: &Policy, intent: &Intent) -> Option<(Vec<String>, Vec<String>)> {
    let fc = policy.fail_closed();
    let ctx = intent.context();
    if !fc.enabled
        || fc.risk_classes.is_empty()
        || !has(&fc.risk_classes, &lower(ctx.risk_class.trim()))
    {
        return None;
    }
    let mut reasons = Vec::new();
    let mut violations = Vec::new();
    let unknown_class = intent
        .targets()
        .iter()
        .any(|t| t.endpoint_class == EndpointClass::Other);
    for field in &fc.required_fields {
        let missing = match field.as_str() {
            "targets" => intent.targets().is_empty(),
            "arg_provenance" => intent.arg_provenance().is_empty(),
            "endpoint_class" => unknown_class,
            "delegation" => intent.delegation().is_none(),
            "context_evidence" => {
                if ctx.context_set_digest.is_none() {
                    reasons.push("context_evidence_missing".to_owned());
                    violations.push("missing_context_evidence".to_owned());
                }
                false
            }
            _ => false,
        };
        if missing {
            reasons.push(format!("fail_closed_missing_{field}"));
            violations.push(format!("missing_{field}"));
        }
    }
    for field in &fc.required_high_risk_fields {
        let missing = match field.as_str() {
            "agent_id" => ctx.agent_id.trim().is_empty(),
            "agent_identity" => ctx.agent_identity.is_none(),
            "run_id" => ctx.run_id.trim().is_empty(),
            "workflow_id" => ctx.workflow_id.trim().is_empty(),
            "repo" => ctx.repo.trim().is_empty(),
            "environment" => ctx.environment.trim().is_empty(),
            "credential_ref" => ctx.credential_ref.trim().is_empty(),
            "credential_source" => ctx.credential_source.is_none(),
            "credential_access_type" => ctx.credential_access_type.is_none(),
            "credential_issuer" => ctx.credential_issuer.trim().is_empty(),
            "credential_ttl_seconds" => ctx.credential_ttl_seconds <= 0,
            "approval_ref" => ctx.approval_ref.trim().is_empty(),
            "wrkr_inventory_ref" => ctx.wrkr_inventory_ref.trim().is_empty(),
            "agent_action_bom_ref" => ctx.agent_action_bom_ref.trim().is_empty(),
            _ => false,
        };
        if missing {
            reasons.push(format!("fail_closed_missing_{field}"));
            violations.push(format!("missing_{field}"));
        }
    }
    if unknown_class {
        reasons.push("fail_closed_endpoint_class_unknown".to_owned());
        violations.push("endpoint_class_unknown".to_owned());
    }
    if reasons.is_empty() {
        return None;
    }
    let (mut r, mut v) = (Vec::new(), Vec::new());
    merge_sorted(&mut r, reasons);
    merge_sorted(&mut v, violations);
    Some((r, v))
}

fn result_created_at(intent: &Intent) -> GoTime {
    let t = intent.created_at();
    if t.is_zero() {
        GoTime::from_unix(315_532_800, 0)
    } else {
        t.to_utc()
    }
}

fn finish(
    policy: &Policy,
    intent: &Intent,
    opts: &EvalOptions,
    p: Partial,
    script: Option<ScriptOutcome>,
) -> Decision {
    let mut reason_codes = Vec::new();
    merge_sorted(&mut reason_codes, p.reasons);
    let mut violations = Vec::new();
    merge_sorted(&mut violations, p.violations);
    let producer = if opts.producer_version.is_empty() {
        "0.0.0-dev".to_owned()
    } else {
        opts.producer_version.clone()
    };
    Decision {
        verdict: p.verdict,
        reason_codes,
        violations,
        matched_rule: p.matched_rule,
        min_approvals: p.min_approvals,
        require_distinct_approvers: p.require_distinct_approvers,
        require_broker_credential: p.require_broker_credential,
        broker_reference: p.broker_reference,
        broker_scopes: p.broker_scopes,
        require_delegation: p.require_delegation,
        required_delegation_scopes: p.required_delegation_scopes,
        rate_limit: p.rate_limit,
        destructive_budget: p.destructive_budget,
        dataflow_triggered: p.dataflow_triggered,
        freeze_window: p.freeze_window,
        sandbox: p.sandbox,
        script,
        created_at: result_created_at(intent),
        producer_version: producer,
        intent_digest: intent.intent_digest(),
        args_digest: intent.args_digest(),
        policy_digest: policy.digest(),
        fail_closed_blocked: false,
    }
}

/// The decision of a script pre-approved by the approved-script registry:
/// `allow` with the registry's reason for the script and each step, no
/// policy evaluation. Its `created_at` is `now`, as in the reference.
pub(crate) fn pre_approved(
    policy: &Policy,
    intent: &Intent,
    opts: &EvalOptions,
    reason: &str,
    now: GoTime,
) -> Decision {
    let mut p = Partial::verdict_only(Verdict::Allow, vec![reason.to_owned()], Vec::new());
    p.matched_rule = String::new();
    let script = intent.script().map(|s| {
        let risks: Vec<&str> = s.steps.iter().map(|st| step_risk(&st.targets)).collect();
        let composite = if risks.contains(&"high") {
            "high"
        } else if risks.contains(&"medium") {
            "medium"
        } else {
            "low"
        };
        ScriptOutcome {
            step_count: s.steps.len(),
            script_hash: intent.script_hash().map(|h| h.to_hex()).unwrap_or_default(),
            composite_risk_class: composite.to_owned(),
            step_verdicts: s
                .steps
                .iter()
                .enumerate()
                .map(|(index, st)| StepVerdict {
                    index,
                    tool_name: st.tool_name.clone(),
                    verdict: Verdict::Allow,
                    reason_codes: vec![reason.to_owned()],
                    violations: Vec::new(),
                    matched_rule: String::new(),
                })
                .collect(),
        }
    });
    let mut d = finish(policy, intent, opts, p, script);
    d.created_at = now.to_utc();
    d
}

/// The fail-closed decision for a call whose gate run could not complete:
/// `block` with `reason` as both reason code and violation.
pub(crate) fn failed(
    policy: &Policy,
    intent: &Intent,
    opts: &EvalOptions,
    reason: &str,
) -> Decision {
    failed_with(policy, intent, opts, &[reason], &[reason])
}

/// Like [`failed`], with these reason codes and violations.
pub(crate) fn failed_with(
    policy: &Policy,
    intent: &Intent,
    opts: &EvalOptions,
    reasons: &[&str],
    violations: &[&str],
) -> Decision {
    let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let p = Partial::verdict_only(Verdict::Block, own(reasons), own(violations));
    finish(policy, intent, opts, p, None)
}

/// Evaluates an already prepared intent.
pub(crate) fn evaluate_prepared(policy: &Policy, intent: &Intent, opts: &EvalOptions) -> Decision {
    if let Some((reasons, violations)) = fail_closed_reasons(policy, intent) {
        let mut d = finish(
            policy,
            intent,
            opts,
            Partial::verdict_only(Verdict::Block, reasons, violations),
            None,
        );
        d.fail_closed_blocked = true;
        return d;
    }
    let now = opts.now;
    let Some(script) = intent.script() else {
        let view = View::new(
            intent.tool_name(),
            intent.args(),
            intent.targets(),
            intent.arg_provenance(),
            intent,
        );
        let p = evaluate_single(policy, &view, &now);
        return finish(policy, intent, opts, p, None);
    };
    let mut agg = Partial::verdict_only(Verdict::Allow, Vec::new(), Vec::new());
    let mut matched = Vec::new();
    let mut steps = Vec::with_capacity(script.steps.len());
    let mut risks: Vec<String> = Vec::new();
    let mut broker_reference = String::new();
    for (index, step) in script.steps.iter().enumerate() {
        let mut view = View::new(
            &step.tool_name,
            &step.args,
            &step.targets,
            &step.arg_provenance,
            intent,
        );
        if let Some(extra) = opts
            .wrkr
            .as_ref()
            .and_then(|w| w.auth_entries(&step.tool_name))
        {
            let mut merged = view
                .auth_context
                .take()
                .map(Cow::into_owned)
                .unwrap_or_default();
            merged.extend(extra);
            view.auth_context = Some(Cow::Owned(merged));
        }
        let p = evaluate_single(policy, &view, &now);
        let mut reasons = Vec::new();
        merge_sorted(&mut reasons, p.reasons.iter().cloned());
        let mut violations = Vec::new();
        merge_sorted(&mut violations, p.violations.iter().cloned());
        steps.push(StepVerdict {
            index,
            tool_name: step.tool_name.clone(),
            verdict: p.verdict,
            reason_codes: reasons,
            violations,
            matched_rule: p.matched_rule.clone(),
        });
        agg.verdict = most_restrictive(agg.verdict, p.verdict);
        merge_sorted(&mut agg.reasons, p.reasons);
        merge_sorted(&mut agg.violations, p.violations);
        if !p.matched_rule.is_empty() {
            matched.push(p.matched_rule);
        }
        agg.min_approvals = agg.min_approvals.max(p.min_approvals);
        agg.require_distinct_approvers |= p.require_distinct_approvers;
        agg.require_broker_credential |= p.require_broker_credential;
        agg.require_delegation |= p.require_delegation;
        merge_sorted(
            &mut agg.required_delegation_scopes,
            p.required_delegation_scopes,
        );
        if broker_reference.is_empty() {
            broker_reference = p.broker_reference;
        }
        merge_sorted(&mut agg.broker_scopes, p.broker_scopes);
        agg.rate_limit = pick_rate_limit(agg.rate_limit, p.rate_limit);
        agg.destructive_budget = pick_rate_limit(agg.destructive_budget, p.destructive_budget);
        agg.dataflow_triggered |= p.dataflow_triggered;
        agg.freeze_window = constraints::pick_freeze_window(agg.freeze_window, p.freeze_window);
        agg.sandbox = constraints::pick_sandbox(agg.sandbox, p.sandbox);
        merge_sorted(
            &mut risks,
            std::iter::once(step_risk(&step.targets).to_owned()),
        );
    }
    agg.broker_reference = broker_reference;
    merge_sorted(&mut matched, std::iter::empty());
    agg.matched_rule = matched.join(",");
    let sp = policy.scripts();
    let max_steps = if sp.max_steps == 0 {
        crate::intent::MAX_SCRIPT_STEPS as u64
    } else {
        sp.max_steps
    };
    let count = script.steps.len() as u64;
    if count > max_steps {
        agg.verdict = Verdict::Block;
        merge_sorted(&mut agg.reasons, ["script_max_steps_exceeded".to_owned()]);
        merge_sorted(
            &mut agg.violations,
            ["script_max_steps_exceeded".to_owned()],
        );
    }
    if sp.require_approval_above > 0 && count > sp.require_approval_above {
        agg.verdict = most_restrictive(agg.verdict, Verdict::RequireApproval);
        merge_sorted(
            &mut agg.reasons,
            ["script_step_threshold_approval".to_owned()],
        );
        if agg.min_approvals == 0 {
            agg.min_approvals = 1;
        }
    }
    if sp.block_mixed_risk && risks.len() > 1 {
        agg.verdict = Verdict::Block;
        merge_sorted(&mut agg.reasons, ["script_mixed_risk_blocked".to_owned()]);
        merge_sorted(&mut agg.violations, ["script_mixed_risk".to_owned()]);
    }
    let composite = if has(&risks, "high") {
        "high"
    } else if has(&risks, "medium") {
        "medium"
    } else {
        "low"
    };
    let outcome = ScriptOutcome {
        step_count: script.steps.len(),
        script_hash: intent.script_hash().map(|h| h.to_hex()).unwrap_or_default(),
        composite_risk_class: composite.to_owned(),
        step_verdicts: steps,
    };
    finish(policy, intent, opts, agg, Some(outcome))
}

#[cfg(test)]
mod tests {
    use super::sanitize_name;

    #[test]
    fn sanitized_rule_names() {
        assert_eq!(sanitize_name("Allow Read-Only"), "allow_read_only");
        assert_eq!(sanitize_name("a<b"), "a\\u003cb");
        assert_eq!(sanitize_name(""), "rule");
        assert_eq!(sanitize_name("say \"hi\""), "say_\\\"hi\\");
    }
}
