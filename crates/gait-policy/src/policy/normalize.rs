//! Validation, defaults and normalisation: raw fields to the policy model.
//!
//! The steps, their order and their defaults are the reference's (spec
//! §2.1–2.2), so that the normalised policy, and so its digest, is the same.
//! Error messages follow the reference's wording and add the field's path
//! and position.

use std::collections::HashSet;
use std::time::Duration;

use gait_digest::Sha256Digest;

use crate::cel::Condition;

use super::decode::{
    At, RawDataflow, RawEndpoint, RawFailClosed, RawFreezeWindow, RawMatch, RawMcpTrust, RawPolicy,
    RawRateLimit, RawRule, RawSandbox, RawScripts, Str, StrList, invalid,
};
use super::error::PolicyError;
use super::gocompat::{clean_path, is_env_assignment, parse_duration, trim_lower};
use super::model::{
    ConstraintAction, Dataflow, EndpointConstraint, FailClosed, FreezeWindow, FreezeWindowRange,
    McpTrust, RateLimit, RateLimitScope, RateLimitWindow, Rule, RuleMatch, Sandbox, ScriptPolicy,
    ToolAnnotations, Verdict,
};
use super::yaml::Pos;
use super::{POLICY_SCHEMA_ID, POLICY_SCHEMA_VERSION};

/// Values `fail_closed.required_fields` may name.
pub(crate) const REQUIRED_FIELDS: &[&str] = &[
    "arg_provenance",
    "context_evidence",
    "delegation",
    "endpoint_class",
    "targets",
];

/// Values `fail_closed.required_high_risk_fields` may name.
pub(crate) const REQUIRED_HIGH_RISK_FIELDS: &[&str] = &[
    "agent_action_bom_ref",
    "agent_id",
    "agent_identity",
    "approval_ref",
    "credential_access_type",
    "credential_issuer",
    "credential_ref",
    "credential_source",
    "credential_ttl_seconds",
    "environment",
    "repo",
    "run_id",
    "workflow_id",
    "wrkr_inventory_ref",
];

/// Known endpoint classes.
pub(crate) const ENDPOINT_CLASSES: &[&str] = &[
    "fs.delete",
    "fs.read",
    "fs.write",
    "net.dns",
    "net.http",
    "other",
    "proc.exec",
    "ui.click",
    "ui.navigate",
    "ui.type",
];

/// Known tool discovery methods.
pub(crate) const DISCOVERY_METHODS: &[&str] = &[
    "a2a",
    "dynamic_mcp",
    "manual",
    "mcp",
    "static_mcp",
    "unknown",
    "webmcp",
];

/// Known credential sources.
pub(crate) const CREDENTIAL_SOURCES: &[&str] = &[
    "aws_iam_user",
    "aws_sts",
    "azure_federated",
    "command",
    "env",
    "gcp_sts",
    "github_oidc",
    "github_pat",
    "kubernetes_service_account",
    "stub",
    "unknown",
    "vault_dynamic",
];

/// Known credential access types.
pub(crate) const CREDENTIAL_ACCESS_TYPES: &[&str] = &[
    "cloud_admin",
    "inherited",
    "jit",
    "standing",
    "static",
    "unknown",
];

/// Known sandbox network modes.
pub(crate) const SANDBOX_NETWORK_MODES: &[&str] = &["disabled", "egress_allowlist", "full"];
/// Known sandbox environment exposure modes.
pub(crate) const SANDBOX_ENV_EXPOSURE_MODES: &[&str] = &["allowlist", "full", "none"];
/// Known sandbox filesystem isolations.
pub(crate) const SANDBOX_FILESYSTEM_ISOLATIONS: &[&str] = &["container", "none", "workspace"];
/// Known sandbox user modes.
pub(crate) const SANDBOX_USER_MODES: &[&str] = &["default", "root", "unprivileged"];

/// The normalised policy parts, before the digest is taken.
pub(crate) struct Normalized {
    pub(crate) default_verdict: Verdict,
    pub(crate) scripts: ScriptPolicy,
    pub(crate) fail_closed: FailClosed,
    pub(crate) mcp_trust: Option<McpTrust>,
    pub(crate) rules: Vec<Rule>,
}

/// Validates and normalises a decoded policy.
pub(crate) fn normalize(raw: RawPolicy) -> Result<Normalized, PolicyError> {
    check_schema(&raw.schema_id, POLICY_SCHEMA_ID, "schema_id", raw.pos)?;
    check_schema(
        &raw.schema_version,
        POLICY_SCHEMA_VERSION,
        "schema_version",
        raw.pos,
    )?;
    let default_verdict = default_verdict(&raw)?;
    let fail_closed = fail_closed(&raw.fail_closed)?;
    let mcp_trust = mcp_trust(&raw.mcp_trust)?;
    let scripts = scripts(&raw.scripts)?;
    let mut rules = Vec::with_capacity(raw.rules.len());
    for r in &raw.rules {
        rules.push(rule(r)?);
    }
    // Evaluation order: priority ascending, then name by bytes. The sort is
    // stable, so rules equal in both keep their file order.
    rules.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()))
    });
    Ok(Normalized {
        default_verdict,
        scripts,
        fail_closed,
        mcp_trust,
        rules,
    })
}

// ---- helpers ------------------------------------------------------------

/// `pos` if known, else `fallback`.
fn or(pos: Pos, fallback: Pos) -> Pos {
    if pos.line == 0 { fallback } else { pos }
}

/// Trims (and optionally lowercases) each entry, drops empty ones, removes
/// duplicates and sorts by bytes.
fn norm_list(list: &StrList, lowercase: bool) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out: Vec<String> = Vec::with_capacity(list.v.len());
    for item in &list.v {
        let v = if lowercase {
            trim_lower(&item.v)
        } else {
            item.v.trim().to_owned()
        };
        if !v.is_empty() && seen.insert(v.clone()) {
            out.push(v);
        }
    }
    out.sort_unstable();
    out
}

fn lower_list(list: &StrList) -> Vec<String> {
    norm_list(list, true)
}

fn case_list(list: &StrList) -> Vec<String> {
    norm_list(list, false)
}

/// Checks each (trimmed, lowercased, non-empty) entry of `list` against
/// `allowed`.
fn check_members(
    list: &StrList,
    field: &str,
    allowed: &[&str],
    describe: impl Fn(&str) -> String,
) -> Result<(), PolicyError> {
    for (i, item) in list.v.iter().enumerate() {
        let v = trim_lower(&item.v);
        if !v.is_empty() && !allowed.contains(&v.as_str()) {
            return Err(invalid(
                or(item.pos, list.pos),
                &format!("{field}[{i}]"),
                format!("{} (allowed: {})", describe(&v), allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

/// A non-negative integer field.
fn non_negative(
    value: &At<i64>,
    fallback: Pos,
    field: &str,
    message: &str,
) -> Result<u64, PolicyError> {
    u64::try_from(value.v).map_err(|_| invalid(or(value.pos, fallback), field, message))
}

fn check_schema(value: &Str, expected: &str, field: &str, root: Pos) -> Result<(), PolicyError> {
    // Compared exactly, without trimming, as the reference does.
    if value.v.is_empty() || value.v == expected {
        return Ok(());
    }
    Err(invalid(
        or(value.pos, root),
        field,
        format!(
            "unsupported policy {field}: {} (expected {expected})",
            value.v
        ),
    ))
}

fn default_verdict(raw: &RawPolicy) -> Result<Verdict, PolicyError> {
    let mut verdict = trim_lower(&raw.default_verdict.v);
    let alias = trim_lower(&raw.default_action.v);
    if verdict.is_empty() {
        verdict.clone_from(&alias);
    }
    if !alias.is_empty() && verdict != alias {
        return Err(invalid(
            or(raw.default_action.pos, raw.pos),
            "default_action",
            "default_action must match default_verdict when both are set",
        ));
    }
    if verdict.is_empty() {
        return Ok(Verdict::RequireApproval);
    }
    Verdict::from_name(&verdict).ok_or_else(|| {
        let (pos, field) = if raw.default_verdict.v.trim().is_empty() {
            (raw.default_action.pos, "default_action")
        } else {
            (raw.default_verdict.pos, "default_verdict")
        };
        invalid(
            or(pos, raw.pos),
            field,
            format!("invalid default_verdict: {verdict} (allowed: allow, block, dry_run, require_approval)"),
        )
    })
}

fn fail_closed(raw: &RawFailClosed) -> Result<FailClosed, PolicyError> {
    let mut risk_classes = lower_list(&raw.risk_classes);
    if raw.enabled && risk_classes.is_empty() {
        risk_classes = vec!["critical".to_owned(), "high".to_owned()];
    }
    check_members(
        &raw.required_fields,
        "fail_closed.required_fields",
        REQUIRED_FIELDS,
        |v| format!("unsupported fail_closed required_field: {v}"),
    )?;
    check_members(
        &raw.required_high_risk_fields,
        "fail_closed.required_high_risk_fields",
        REQUIRED_HIGH_RISK_FIELDS,
        |v| format!("unsupported fail_closed required_high_risk_field: {v}"),
    )?;
    Ok(FailClosed {
        enabled: raw.enabled,
        risk_classes,
        required_fields: lower_list(&raw.required_fields),
        required_high_risk_fields: lower_list(&raw.required_high_risk_fields),
    })
}

fn mcp_trust(raw: &RawMcpTrust) -> Result<Option<McpTrust>, PolicyError> {
    let snapshot = raw.snapshot.v.trim().to_owned();
    let action = trim_lower(&raw.action.v);
    let risk = lower_list(&raw.required_risk_classes);
    let publishers = lower_list(&raw.publisher_allowlist);
    let max_age = raw.max_age.v.trim();
    // A negative min_score alone does not configure the block (as in the
    // reference); once configured, the range check rejects it.
    let configured = raw.enabled
        || !snapshot.is_empty()
        || !action.is_empty()
        || !risk.is_empty()
        || raw.min_score.v > 0.0
        || !max_age.is_empty()
        || !publishers.is_empty()
        || raw.require_registry;
    if !configured {
        return Ok(None);
    }
    if snapshot.is_empty() {
        return Err(invalid(
            or(raw.snapshot.pos, raw.pos),
            "mcp_trust.snapshot",
            "mcp_trust.snapshot is required when mcp_trust is configured",
        ));
    }
    let action = if action.is_empty() {
        ConstraintAction::Block
    } else {
        ConstraintAction::from_name(&action).ok_or_else(|| {
            invalid(
                or(raw.action.pos, raw.pos),
                "mcp_trust.action",
                format!(
                    "unsupported mcp_trust.action {action:?} (allowed: block, require_approval)"
                ),
            )
        })?
    };
    let min_score = raw.min_score.v;
    if !(0.0..=1.0).contains(&min_score) {
        return Err(invalid(
            or(raw.min_score.pos, raw.pos),
            "mcp_trust.min_score",
            "mcp_trust.min_score must be between 0 and 1",
        ));
    }
    let max_age = if max_age.is_empty() {
        None
    } else {
        let pos = or(raw.max_age.pos, raw.pos);
        let nanos = parse_duration(max_age).map_err(|e| {
            invalid(
                pos,
                "mcp_trust.max_age",
                format!("parse mcp_trust.max_age: {e}"),
            )
        })?;
        let nanos = u64::try_from(nanos)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid(pos, "mcp_trust.max_age", "mcp_trust.max_age must be > 0"))?;
        Some(Duration::from_nanos(nanos))
    };
    Ok(Some(McpTrust {
        snapshot_path: snapshot,
        action,
        required_risk_classes: if risk.is_empty() {
            vec!["critical".to_owned(), "high".to_owned()]
        } else {
            risk
        },
        min_score,
        max_age,
        publisher_allowlist: publishers,
        require_registry: raw.require_registry,
    }))
}

fn scripts(raw: &RawScripts) -> Result<ScriptPolicy, PolicyError> {
    Ok(ScriptPolicy {
        max_steps: non_negative(
            &raw.max_steps,
            raw.pos,
            "scripts.max_steps",
            "scripts.max_steps must be >= 0",
        )?,
        require_approval_above: non_negative(
            &raw.require_approval_above,
            raw.pos,
            "scripts.require_approval_above",
            "scripts.require_approval_above must be >= 0",
        )?,
        block_mixed_risk: raw.block_mixed_risk,
    })
}

fn rule(r: &RawRule) -> Result<Rule, PolicyError> {
    let base = format!("rules[{}]", r.index);
    let field = |name: &str| format!("{base}.{name}");
    let name = r.name.v.trim().to_owned();
    if name.is_empty() {
        return Err(invalid(
            or(r.name.pos, r.pos),
            &field("name"),
            "rule name is required",
        ));
    }
    let mut effect = trim_lower(&r.effect.v);
    let action = trim_lower(&r.action.v);
    if effect.is_empty() {
        effect.clone_from(&action);
    }
    if !action.is_empty() && effect != action {
        return Err(invalid(
            or(r.action.pos, r.pos),
            &field("action"),
            format!("rule action must match effect for {name}"),
        ));
    }
    if effect.is_empty() {
        return Err(invalid(
            or(r.effect.pos, r.pos),
            &field("effect"),
            format!("rule effect is required for {name}"),
        ));
    }
    let effect = Verdict::from_name(&effect).ok_or_else(|| {
        let (pos, f) = if r.effect.v.trim().is_empty() {
            (r.action.pos, "action")
        } else {
            (r.effect.pos, "effect")
        };
        invalid(
            or(pos, r.pos),
            &field(f),
            format!(
                "invalid rule effect {effect:?} for {name} (allowed: allow, block, dry_run, require_approval)"
            ),
        )
    })?;

    let selector = selector(&r.selector, &field("match"), &name, r.pos)?;

    let allowed_agent_ids = case_list(&r.allowed_agent_ids);
    let denied_agent_ids = case_list(&r.denied_agent_ids);
    let digest_text = trim_lower(&r.required_agent_manifest_digest.v);
    let required_agent_manifest_digest = if digest_text.is_empty() {
        None
    } else {
        let well_formed = digest_text.len() == 64
            && digest_text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let parsed = well_formed
            .then(|| Sha256Digest::parse_hex(&digest_text).ok())
            .flatten();
        Some(parsed.ok_or_else(|| {
            invalid(
                or(r.required_agent_manifest_digest.pos, r.pos),
                &field("required_agent_manifest_digest"),
                format!("required_agent_manifest_digest must be sha256 hex for {name}"),
            )
        })?)
    };
    let allowed_agent_manifest_publishers = lower_list(&r.allowed_agent_manifest_publishers);
    let allowed_agent_manifest_sources = lower_list(&r.allowed_agent_manifest_sources);
    let required_agent_lifecycle_states = lower_list(&r.required_agent_lifecycle_states);
    check_members(
        &r.allowed_credential_sources,
        &field("allowed_credential_sources"),
        CREDENTIAL_SOURCES,
        |v| format!("unsupported allowed_credential_source {v:?} for {name}"),
    )?;
    let allowed_credential_sources = lower_list(&r.allowed_credential_sources);
    let allowed_credential_issuers = case_list(&r.allowed_credential_issuers);
    check_members(
        &r.allowed_credential_access_types,
        &field("allowed_credential_access_types"),
        CREDENTIAL_ACCESS_TYPES,
        |v| format!("unsupported allowed_credential_access_type {v:?} for {name}"),
    )?;
    let allowed_credential_access_types = lower_list(&r.allowed_credential_access_types);
    let max_credential_ttl_seconds = non_negative(
        &r.max_credential_ttl_seconds,
        r.pos,
        &field("max_credential_ttl_seconds"),
        &format!("max_credential_ttl_seconds must be >= 0 for {name}"),
    )?;
    let reason_codes = case_list(&r.reason_codes);
    let violations = case_list(&r.violations);
    let min_approvals = non_negative(
        &r.min_approvals,
        r.pos,
        &field("min_approvals"),
        &format!("min_approvals must be >= 0 for {name}"),
    )?;
    let mode = trim_lower(&r.required_context_evidence_mode.v);
    if !mode.is_empty() && mode != "required" {
        return Err(invalid(
            or(r.required_context_evidence_mode.pos, r.pos),
            &field("required_context_evidence_mode"),
            format!("required_context_evidence_mode must be required for {name}"),
        ));
    }
    let required_context_evidence_mode =
        (!mode.is_empty() || r.require_context_evidence).then(|| "required".to_owned());
    let max_context_age_seconds = non_negative(
        &r.max_context_age_seconds,
        r.pos,
        &field("max_context_age_seconds"),
        &format!("max_context_age_seconds must be >= 0 for {name}"),
    )?;
    let require_distinct_approvers = r.require_distinct_approvers || min_approvals > 1;
    let broker_reference = r.broker_reference.v.trim().to_owned();
    let broker_scopes = lower_list(&r.broker_scopes);
    let freeze_window = freeze_window(&r.freeze_window, &field("freeze_window"), &name, r.pos)?;
    let sandbox = sandbox(&r.sandbox, &field("sandbox"), &name, r.pos)?;
    let rate_limit = rate_limit(&r.rate_limit, &field("rate_limit"), &name, r.pos)?;
    let destructive_budget = destructive_budget(
        &r.destructive_budget,
        &field("destructive_budget"),
        &name,
        r.pos,
    )?;
    let dataflow = dataflow(&r.dataflow, &field("dataflow"), &name, r.pos)?;
    let endpoint = endpoint(&r.endpoint, &field("endpoint"), &name, r.pos)?;

    Ok(Rule {
        name,
        priority: r.priority.v,
        effect,
        selector,
        reason_codes,
        violations,
        min_approvals,
        require_distinct_approvers,
        require_declared_agent: r.require_declared_agent,
        allowed_agent_ids,
        denied_agent_ids,
        required_agent_manifest_digest,
        allowed_agent_manifest_publishers,
        allowed_agent_manifest_sources,
        required_agent_lifecycle_states,
        require_agent_owner: r.require_agent_owner,
        require_unexpired_agent: r.require_unexpired_agent,
        block_standing_credentials: r.block_standing_credentials,
        allowed_credential_sources,
        allowed_credential_issuers,
        allowed_credential_access_types,
        max_credential_ttl_seconds,
        require_jit_credential: r.require_jit_credential,
        require_context_evidence: r.require_context_evidence,
        required_context_evidence_mode,
        max_context_age_seconds,
        require_broker_credential: r.require_broker_credential,
        broker_reference,
        broker_scopes,
        freeze_window,
        sandbox,
        rate_limit,
        destructive_budget,
        dataflow,
        endpoint,
    })
}

fn selector(m: &RawMatch, base: &str, rule: &str, rule_pos: Pos) -> Result<RuleMatch, PolicyError> {
    let field = |name: &str| format!("{base}.{name}");
    let mut tool_names = m.tool_names.clone();
    let alias = m.tool_name.v.trim();
    if !alias.is_empty() {
        tool_names.v.push(At {
            v: alias.to_owned(),
            pos: m.tool_name.pos,
        });
    }
    check_members(
        &m.endpoint_classes,
        &field("endpoint_classes"),
        ENDPOINT_CLASSES,
        |v| format!("unsupported match endpoint_class {v:?} for {rule}"),
    )?;
    check_members(
        &m.endpoint_class,
        &field("endpoint_class"),
        ENDPOINT_CLASSES,
        |v| format!("unsupported match endpoint_class {v:?} for {rule}"),
    )?;
    let mut endpoint_classes = m.endpoint_classes.clone();
    endpoint_classes
        .v
        .extend(m.endpoint_class.v.iter().cloned());
    check_members(
        &m.discovery_methods,
        &field("discovery_method"),
        DISCOVERY_METHODS,
        |v| format!("unsupported match discovery_method {v:?} for {rule}"),
    )?;
    let max_delegation_depth = match m.max_delegation_depth.v {
        None => None,
        Some(depth) => Some(u64::try_from(depth).map_err(|_| {
            invalid(
                or(m.max_delegation_depth.pos, or(m.pos, rule_pos)),
                &field("max_delegation_depth"),
                format!("max_delegation_depth must be >= 0 for {rule}"),
            )
        })?),
    };
    let (when, condition) = match &m.when.v {
        None => (None, None),
        Some(text) => {
            let text = text.trim();
            let when_error = |message: String| {
                invalid(or(m.when.pos, or(m.pos, rule_pos)), &field("when"), message)
            };
            if text.is_empty() {
                return Err(when_error(format!(
                    "match.when must be a non-empty CEL expression for {rule}"
                )));
            }
            let condition = Condition::compile(text).map_err(|message| {
                when_error(format!("invalid CEL condition for {rule}: {message}"))
            })?;
            (Some(text.to_owned()), Some(condition))
        }
    };
    Ok(RuleMatch {
        tool_names: lower_list(&tool_names),
        risk_classes: lower_list(&m.risk_classes),
        target_kinds: lower_list(&m.target_kinds),
        target_values: case_list(&m.target_values),
        endpoint_classes: lower_list(&endpoint_classes),
        discovery_methods: lower_list(&m.discovery_methods),
        tool_annotations: ToolAnnotations {
            read_only_hint: m.tool_annotations.read_only_hint,
            destructive_hint: m.tool_annotations.destructive_hint,
            idempotent_hint: m.tool_annotations.idempotent_hint,
            open_world_hint: m.tool_annotations.open_world_hint,
        },
        skill_publishers: lower_list(&m.skill_publishers),
        skill_sources: lower_list(&m.skill_sources),
        data_classes: lower_list(&m.data_classes),
        destination_kinds: lower_list(&m.destination_kinds),
        destination_values: case_list(&m.destination_values),
        destination_operations: lower_list(&m.destination_operations),
        provenance_sources: lower_list(&m.provenance_sources),
        identities: case_list(&m.identities),
        workspace_prefixes: case_list(&m.workspace_prefixes),
        context_tool_names: lower_list(&m.context_tool_names),
        context_data_classes: lower_list(&m.context_data_classes),
        context_endpoint_classes: lower_list(&m.context_endpoint_classes),
        context_autonomy_levels: lower_list(&m.context_autonomy_levels),
        require_delegation: m.require_delegation,
        allowed_delegator_identities: case_list(&m.allowed_delegator_identities),
        allowed_delegate_identities: case_list(&m.allowed_delegate_identities),
        delegation_scopes: lower_list(&m.delegation_scopes),
        max_delegation_depth,
        when,
        condition,
    })
}

fn constraint_action(
    value: &Str,
    fallback: Pos,
    field: &str,
    what: &str,
    rule: &str,
) -> Result<Option<ConstraintAction>, PolicyError> {
    let name = trim_lower(&value.v);
    if name.is_empty() {
        return Ok(None);
    }
    ConstraintAction::from_name(&name).map(Some).ok_or_else(|| {
        invalid(
            or(value.pos, fallback),
            field,
            format!("unsupported {what} {name:?} for {rule} (allowed: block, require_approval)"),
        )
    })
}

fn freeze_window(
    f: &RawFreezeWindow,
    base: &str,
    rule: &str,
    rule_pos: Pos,
) -> Result<Option<FreezeWindow>, PolicyError> {
    let pos = or(f.pos, rule_pos);
    let timezone = f.timezone.v.trim().to_owned();
    let effect_text = trim_lower(&f.effect.v);
    let reason = f.reason.v.trim().to_owned();
    let environments = lower_list(&f.environments);
    let risk_classes = lower_list(&f.risk_classes);
    let configured = f.enabled
        || !timezone.is_empty()
        || !effect_text.is_empty()
        || !reason.is_empty()
        || !environments.is_empty()
        || !risk_classes.is_empty()
        || !f.windows.is_empty();
    if !configured {
        return Ok(None);
    }
    if timezone.is_empty() {
        return Err(invalid(
            or(f.timezone.pos, pos),
            &format!("{base}.timezone"),
            format!("freeze_window.timezone is required for {rule}"),
        ));
    }
    let effect = constraint_action(
        &f.effect,
        pos,
        &format!("{base}.effect"),
        "freeze_window.effect",
        rule,
    )?
    .unwrap_or(ConstraintAction::Block);
    if f.windows.is_empty() {
        return Err(invalid(
            pos,
            &format!("{base}.windows"),
            format!("freeze_window.windows is required for {rule}"),
        ));
    }
    let mut windows = Vec::with_capacity(f.windows.len());
    for (i, w) in f.windows.iter().enumerate() {
        let name = match w.name.v.trim() {
            "" => format!("window-{}", i + 1),
            n => n.to_owned(),
        };
        let start = w.start.v.trim().to_owned();
        let end = w.end.v.trim().to_owned();
        if start.is_empty() || end.is_empty() {
            return Err(invalid(
                or(w.pos, pos),
                &format!("{base}.windows[{i}]"),
                format!("freeze_window window start and end are required for {rule}"),
            ));
        }
        windows.push(FreezeWindowRange { name, start, end });
    }
    Ok(Some(FreezeWindow {
        timezone,
        effect,
        reason,
        environments,
        risk_classes,
        windows,
    }))
}

/// A sandbox path list: each entry trimmed and cleaned, `.` dropped,
/// `NAME=` entries rejected, de-duplicated, sorted.
fn sandbox_paths(
    list: &StrList,
    field: &str,
    rule: &str,
    fallback: Pos,
) -> Result<Vec<String>, PolicyError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, item) in list.v.iter().enumerate() {
        let v = clean_path(item.v.trim());
        if v == "." {
            continue;
        }
        if is_env_assignment(&v) {
            return Err(invalid(
                or(item.pos, fallback),
                &format!("{field}[{i}]"),
                format!(
                    "sandbox.{}[{i}] must not contain raw environment variable assignments for {rule}",
                    field.rsplit_once('.').map_or(field, |(_, last)| last)
                ),
            ));
        }
        if seen.insert(v.clone()) {
            out.push(v);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sandbox(
    s: &RawSandbox,
    base: &str,
    rule: &str,
    rule_pos: Pos,
) -> Result<Option<Sandbox>, PolicyError> {
    let pos = or(s.pos, rule_pos);
    let field = |name: &str| format!("{base}.{name}");
    check_members(
        &s.allowed_network_modes,
        &field("allowed_network_modes"),
        SANDBOX_NETWORK_MODES,
        |v| format!("unsupported sandbox.allowed_network_mode {v:?} for {rule}"),
    )?;
    let writable = sandbox_paths(
        &s.allowed_writable_path_prefixes,
        &field("allowed_writable_path_prefixes"),
        rule,
        pos,
    )?;
    let read_only = sandbox_paths(
        &s.required_read_only_roots,
        &field("required_read_only_roots"),
        rule,
        pos,
    )?;
    check_members(
        &s.allowed_env_exposure_modes,
        &field("allowed_env_exposure_modes"),
        SANDBOX_ENV_EXPOSURE_MODES,
        |v| format!("unsupported sandbox.allowed_env_exposure_mode {v:?} for {rule}"),
    )?;
    check_members(
        &s.allowed_filesystem_isolations,
        &field("allowed_filesystem_isolations"),
        SANDBOX_FILESYSTEM_ISOLATIONS,
        |v| format!("unsupported sandbox.allowed_filesystem_isolation {v:?} for {rule}"),
    )?;
    check_members(
        &s.allowed_user_modes,
        &field("allowed_user_modes"),
        SANDBOX_USER_MODES,
        |v| format!("unsupported sandbox.allowed_user_mode {v:?} for {rule}"),
    )?;
    let max_timeout_seconds = non_negative(
        &s.max_timeout_seconds,
        pos,
        &field("max_timeout_seconds"),
        &format!("sandbox.max_timeout_seconds must be >= 0 for {rule}"),
    )?;
    let sandbox = Sandbox {
        allowed_network_modes: lower_list(&s.allowed_network_modes),
        allowed_writable_path_prefixes: writable,
        required_read_only_roots: read_only,
        allowed_env_exposure_modes: lower_list(&s.allowed_env_exposure_modes),
        max_timeout_seconds,
        allowed_filesystem_isolations: lower_list(&s.allowed_filesystem_isolations),
        allowed_user_modes: lower_list(&s.allowed_user_modes),
    };
    let configured = s.enabled
        || !sandbox.allowed_network_modes.is_empty()
        || !sandbox.allowed_writable_path_prefixes.is_empty()
        || !sandbox.required_read_only_roots.is_empty()
        || !sandbox.allowed_env_exposure_modes.is_empty()
        || sandbox.max_timeout_seconds > 0
        || !sandbox.allowed_filesystem_isolations.is_empty()
        || !sandbox.allowed_user_modes.is_empty();
    Ok(configured.then_some(sandbox))
}

fn window_and_scope(
    r: &RawRateLimit,
    base: &str,
    what: &str,
    rule: &str,
    pos: Pos,
) -> Result<(RateLimitWindow, RateLimitScope), PolicyError> {
    let window = match trim_lower(&r.window.v).as_str() {
        "" | "minute" => RateLimitWindow::Minute,
        "hour" => RateLimitWindow::Hour,
        other => {
            return Err(invalid(
                or(r.window.pos, pos),
                &format!("{base}.window"),
                format!("unsupported {what}.window {other:?} for {rule} (allowed: minute, hour)"),
            ));
        }
    };
    let scope = match trim_lower(&r.scope.v).as_str() {
        "" | "tool_identity" => RateLimitScope::ToolIdentity,
        "tool" => RateLimitScope::Tool,
        "identity" => RateLimitScope::Identity,
        other => {
            return Err(invalid(
                or(r.scope.pos, pos),
                &format!("{base}.scope"),
                format!(
                    "unsupported {what}.scope {other:?} for {rule} (allowed: tool, identity, tool_identity)"
                ),
            ));
        }
    };
    Ok((window, scope))
}

fn rate_limit(
    r: &RawRateLimit,
    base: &str,
    rule: &str,
    rule_pos: Pos,
) -> Result<Option<RateLimit>, PolicyError> {
    let pos = or(r.pos, rule_pos);
    let requests = non_negative(
        &r.requests,
        pos,
        &format!("{base}.requests"),
        &format!("rate_limit.requests must be >= 0 for {rule}"),
    )?;
    if requests == 0 {
        // Inactive: window and scope are not checked, as in the reference.
        return Ok(None);
    }
    let (window, scope) = window_and_scope(r, base, "rate_limit", rule, pos)?;
    Ok(Some(RateLimit {
        requests,
        window,
        scope,
    }))
}

fn destructive_budget(
    r: &RawRateLimit,
    base: &str,
    rule: &str,
    rule_pos: Pos,
) -> Result<Option<RateLimit>, PolicyError> {
    let pos = or(r.pos, rule_pos);
    let requests = non_negative(
        &r.requests,
        pos,
        &format!("{base}.requests"),
        &format!("destructive_budget.requests must be >= 0 for {rule}"),
    )?;
    let configured = requests > 0 || !r.window.v.trim().is_empty() || !r.scope.v.trim().is_empty();
    if !configured {
        return Ok(None);
    }
    if requests == 0 {
        return Err(invalid(
            or(r.requests.pos, pos),
            &format!("{base}.requests"),
            format!("destructive_budget.requests must be >= 1 for {rule}"),
        ));
    }
    let (window, scope) = window_and_scope(r, base, "destructive_budget", rule, pos)?;
    Ok(Some(RateLimit {
        requests,
        window,
        scope,
    }))
}

fn dataflow(
    d: &RawDataflow,
    base: &str,
    rule: &str,
    rule_pos: Pos,
) -> Result<Option<Dataflow>, PolicyError> {
    let pos = or(d.pos, rule_pos);
    let tainted_sources = lower_list(&d.tainted_sources);
    let destination_kinds = lower_list(&d.destination_kinds);
    let destination_values = case_list(&d.destination_values);
    let destination_operations = lower_list(&d.destination_operations);
    let enabled = d.enabled
        || !tainted_sources.is_empty()
        || !destination_kinds.is_empty()
        || !destination_values.is_empty()
        || !destination_operations.is_empty();
    if !enabled {
        // `action` and `reason_code` alone do not enable it, and are then
        // not checked, as in the reference.
        return Ok(None);
    }
    let action = constraint_action(
        &d.action,
        pos,
        &format!("{base}.action"),
        "dataflow.action",
        rule,
    )?
    .unwrap_or(ConstraintAction::RequireApproval);
    Ok(Some(Dataflow {
        tainted_sources: if tainted_sources.is_empty() {
            vec!["external".to_owned(), "tool_output".to_owned()]
        } else {
            tainted_sources
        },
        destination_kinds,
        destination_values,
        destination_operations,
        action,
        reason_code: non_empty_or(d.reason_code.v.trim(), "dataflow_tainted_destination"),
        violation: non_empty_or(d.violation.v.trim(), "tainted_dataflow"),
    }))
}

fn non_empty_or(value: &str, default: &str) -> String {
    if value.is_empty() { default } else { value }.to_owned()
}

fn endpoint(
    e: &RawEndpoint,
    base: &str,
    rule: &str,
    rule_pos: Pos,
) -> Result<Option<EndpointConstraint>, PolicyError> {
    let pos = or(e.pos, rule_pos);
    // Path patterns keep their case; on the reference's Unix builds the
    // separator conversion it applies is the identity.
    let path_allowlist = case_list(&e.path_allowlist);
    let path_denylist = case_list(&e.path_denylist);
    let domain_allowlist = lower_list(&e.domain_allowlist);
    let domain_denylist = lower_list(&e.domain_denylist);
    check_members(
        &e.egress_classes,
        &format!("{base}.egress_classes"),
        ENDPOINT_CLASSES,
        |v| format!("unsupported endpoint.egress_class {v:?} for {rule}"),
    )?;
    for (i, item) in e.egress_classes.v.iter().enumerate() {
        let v = trim_lower(&item.v);
        if !v.is_empty() && !v.starts_with("net.") {
            return Err(invalid(
                or(item.pos, pos),
                &format!("{base}.egress_classes[{i}]"),
                format!("endpoint.egress_class must be network class for {rule} (got {v:?})"),
            ));
        }
    }
    let egress_classes = lower_list(&e.egress_classes);
    let destructive_text = trim_lower(&e.destructive_action.v);
    let enabled = e.enabled
        || !path_allowlist.is_empty()
        || !path_denylist.is_empty()
        || !domain_allowlist.is_empty()
        || !domain_denylist.is_empty()
        || !egress_classes.is_empty()
        || !destructive_text.is_empty();
    if !enabled {
        return Ok(None);
    }
    let action = constraint_action(
        &e.action,
        pos,
        &format!("{base}.action"),
        "endpoint.action",
        rule,
    )?
    .unwrap_or(ConstraintAction::Block);
    let destructive_action = constraint_action(
        &e.destructive_action,
        pos,
        &format!("{base}.destructive_action"),
        "endpoint.destructive_action",
        rule,
    )?;
    Ok(Some(EndpointConstraint {
        path_allowlist,
        path_denylist,
        domain_allowlist,
        domain_denylist,
        egress_classes,
        action,
        destructive_action,
        reason_code: non_empty_or(e.reason_code.v.trim(), "endpoint_constraint_violation"),
        violation: non_empty_or(e.violation.v.trim(), "endpoint_constraint_violation"),
    }))
}
