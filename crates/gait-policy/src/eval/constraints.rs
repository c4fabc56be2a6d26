//! Rule-level constraints: each may raise a matched rule's effect and add
//! reason codes and violations. Each is active only when the rule
//! configures it.

use gait_digest::GoTime;

use super::decision::{FreezeWindowDecision, SandboxDecision};
use super::pattern::{domain_pattern_matches, path_pattern_matches};
use super::single::View;
use crate::intent::gostr::lower;
use crate::intent::{CredentialAccessType, EndpointClass, TargetKind};
use crate::policy::{Dataflow, EndpointConstraint, Rule, Verdict};

/// A constraint that fired.
#[derive(Debug, Default)]
pub(crate) struct Fired {
    pub(crate) effect: Option<Verdict>,
    pub(crate) reasons: Vec<String>,
    pub(crate) violations: Vec<String>,
}

impl Fired {
    fn block(reasons: Vec<String>, violations: Vec<String>) -> Option<Fired> {
        if reasons.is_empty() {
            return None;
        }
        Some(Fired {
            effect: Some(Verdict::Block),
            reasons,
            violations,
        })
    }
}

fn push2(reasons: &mut Vec<String>, violations: &mut Vec<String>, reason: &str, violation: &str) {
    reasons.push(reason.to_owned());
    violations.push(violation.to_owned());
}

fn push(reasons: &mut Vec<String>, violations: &mut Vec<String>, code: &str) {
    push2(reasons, violations, code, code);
}

fn default_egress_kind(kind: TargetKind) -> bool {
    matches!(
        kind,
        TargetKind::Host
            | TargetKind::Url
            | TargetKind::Bucket
            | TargetKind::Queue
            | TargetKind::Topic
    )
}

/// Tainted provenance flowing to a destination. When it fires, the rule's
/// effect is **replaced** by the dataflow action.
pub(crate) fn dataflow(d: &Dataflow, v: &View<'_>) -> Option<Fired> {
    let tainted = v
        .provenance
        .iter()
        .any(|p| d.tainted_sources.iter().any(|s| s == p.source.as_str()));
    if !tainted || v.targets.is_empty() {
        return None;
    }
    let unconstrained = d.destination_kinds.is_empty()
        && d.destination_values.is_empty()
        && d.destination_operations.is_empty();
    let hit = if unconstrained {
        v.targets.iter().any(|t| default_egress_kind(t.kind))
    } else {
        v.targets.iter().any(|t| {
            (d.destination_kinds.is_empty()
                || d.destination_kinds.iter().any(|k| k == t.kind.as_str()))
                && (d.destination_values.is_empty() || d.destination_values.contains(&t.value))
                && (d.destination_operations.is_empty()
                    || d.destination_operations.contains(&t.operation))
        })
    };
    hit.then(|| Fired {
        effect: Some(d.action.verdict()),
        reasons: vec![d.reason_code.clone()],
        violations: vec![d.violation.clone()],
    })
}

/// Endpoint allow/deny lists for paths and domains, egress classes, and the
/// destructive action.
pub(crate) fn endpoint(e: &EndpointConstraint, v: &View<'_>) -> Option<Fired> {
    let mut reasons = Vec::new();
    let mut violations = Vec::new();
    for t in v.targets {
        if t.kind == TargetKind::Path {
            let path = t.value.trim();
            if !e.path_denylist.is_empty()
                && e.path_denylist
                    .iter()
                    .any(|p| path_pattern_matches(path, p))
            {
                push(&mut reasons, &mut violations, "endpoint_path_denied");
            }
            if !e.path_allowlist.is_empty()
                && !e
                    .path_allowlist
                    .iter()
                    .any(|p| path_pattern_matches(path, p))
            {
                push(
                    &mut reasons,
                    &mut violations,
                    "endpoint_path_not_allowlisted",
                );
            }
        }
        let domain = lower(t.endpoint_domain.trim());
        if !domain.is_empty() {
            if !e.domain_denylist.is_empty()
                && e.domain_denylist
                    .iter()
                    .any(|p| domain_pattern_matches(&domain, p))
            {
                push(&mut reasons, &mut violations, "endpoint_domain_denied");
            }
            if !e.domain_allowlist.is_empty()
                && !e
                    .domain_allowlist
                    .iter()
                    .any(|p| domain_pattern_matches(&domain, p))
            {
                push(
                    &mut reasons,
                    &mut violations,
                    "endpoint_domain_not_allowlisted",
                );
            }
        }
        if t.endpoint_class.is_network()
            && !e.egress_classes.is_empty()
            && !e
                .egress_classes
                .iter()
                .any(|c| c == t.endpoint_class.as_str())
        {
            push(
                &mut reasons,
                &mut violations,
                "endpoint_egress_class_not_allowed",
            );
        }
    }
    let mut effect = e.action.verdict();
    if let Some(destructive) = e.destructive_action {
        if v.targets.iter().any(|t| t.destructive) {
            effect = super::most_restrictive(effect, destructive.verdict());
            push2(
                &mut reasons,
                &mut violations,
                "endpoint_destructive_operation",
                "destructive_operation",
            );
        }
    }
    if reasons.is_empty() {
        return None;
    }
    reasons.push(e.reason_code.clone());
    violations.push(e.violation.clone());
    Some(Fired {
        effect: Some(effect),
        reasons,
        violations,
    })
}

/// Context evidence: digest present, mode `required`, freshness.
pub(crate) fn context_evidence(rule: &Rule, v: &View<'_>) -> Option<Fired> {
    let mode_required = rule.required_context_evidence_mode.as_deref() == Some("required");
    if !(rule.require_context_evidence || mode_required || rule.max_context_age_seconds > 0) {
        return None;
    }
    let ctx = v.context;
    let mut reasons = Vec::new();
    let mut violations = Vec::new();
    if ctx.context_set_digest.is_none() {
        reasons.push("context_evidence_missing".to_owned());
        reasons.push("context_set_digest_missing".to_owned());
        violations.push("missing_context_evidence".to_owned());
    }
    if mode_required && ctx.context_evidence_mode.map(|m| m.as_str()) != Some("required") {
        push2(
            &mut reasons,
            &mut violations,
            "context_evidence_mode_mismatch",
            "context_evidence_mode_violation",
        );
    }
    if rule.max_context_age_seconds > 0 {
        let age = context_age_seconds(v);
        let too_old = match age {
            Some(a) => u64::try_from(a).map_or(true, |a| a > rule.max_context_age_seconds),
            None => true,
        };
        if too_old {
            push2(
                &mut reasons,
                &mut violations,
                "context_freshness_exceeded",
                "context_freshness_violation",
            );
        }
    }
    // Stricter than the reference: an envelope without records (its
    // digest is that of `[]`) is no evidence, so a rule requiring evidence
    // never passes on it. (Reported only when nothing else fired, so the
    // reference's codes are kept whenever it blocks too.)
    let no_records = ctx.context_refs.is_empty()
        && ctx
            .context_set_digest
            .is_some_and(|d| d.to_hex() == crate::context_evidence::EMPTY_RECORDS_DIGEST);
    if reasons.is_empty() && no_records && (rule.require_context_evidence || mode_required) {
        push2(
            &mut reasons,
            &mut violations,
            "context_evidence_missing",
            "missing_context_evidence",
        );
    }
    Fired::block(reasons, violations)
}

/// `auth_context.context_age_seconds` as a non-negative integer, as the
/// reference reads it (numbers truncate toward zero; numeric strings must
/// be integers).
fn context_age_seconds(v: &View<'_>) -> Option<i64> {
    let value = v
        .auth_context
        .as_ref()?
        .get(crate::intent::CONTEXT_AGE_SECONDS_KEY)?;
    match value {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                (i >= 0).then_some(i)
            } else if let Some(u) = n.as_u64() {
                i64::try_from(u).ok()
            } else {
                let f = n.as_f64()?;
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "truncation toward zero is the reference's rule"
                )]
                (0.0..9.2e18).contains(&f).then_some(f as i64)
            }
        }
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok().filter(|i| *i >= 0),
        _ => None,
    }
}

/// Agent identity requirements.
pub(crate) fn agent_identity(rule: &Rule, v: &View<'_>, now: &GoTime) -> Option<Fired> {
    let enabled = rule.require_declared_agent
        || !rule.allowed_agent_ids.is_empty()
        || !rule.denied_agent_ids.is_empty()
        || rule.required_agent_manifest_digest.is_some()
        || !rule.allowed_agent_manifest_publishers.is_empty()
        || !rule.allowed_agent_manifest_sources.is_empty()
        || !rule.required_agent_lifecycle_states.is_empty()
        || rule.require_agent_owner
        || rule.require_unexpired_agent;
    if !enabled {
        return None;
    }
    let ctx = v.context;
    let agent_id = ctx.agent_id.trim();
    let identity = ctx.agent_identity.as_ref();
    let mut reasons = Vec::new();
    let mut violations = Vec::new();
    if rule.require_declared_agent && (agent_id.is_empty() || identity.is_none()) {
        push2(
            &mut reasons,
            &mut violations,
            "agent_unknown",
            "agent_identity_missing",
        );
    }
    if !agent_id.is_empty() && rule.denied_agent_ids.iter().any(|d| d == agent_id) {
        push(&mut reasons, &mut violations, "agent_revoked");
    }
    if identity.is_some_and(|i| i.revoked) {
        push(&mut reasons, &mut violations, "agent_revoked");
    }
    if !rule.allowed_agent_ids.is_empty()
        && (agent_id.is_empty() || !rule.allowed_agent_ids.iter().any(|a| a == agent_id))
    {
        push2(
            &mut reasons,
            &mut violations,
            "agent_unknown",
            "agent_not_declared",
        );
    }
    if rule.require_agent_owner && identity.is_none_or(|i| i.owner.trim().is_empty()) {
        push(&mut reasons, &mut violations, "agent_owner_missing");
    }
    if !rule.required_agent_lifecycle_states.is_empty() {
        let ok = identity.is_some_and(|i| {
            !i.lifecycle_states.is_empty()
                && rule
                    .required_agent_lifecycle_states
                    .iter()
                    .all(|s| i.lifecycle_states.contains(s))
        });
        if !ok {
            push(
                &mut reasons,
                &mut violations,
                "agent_lifecycle_state_invalid",
            );
        }
    }
    if rule.require_unexpired_agent {
        let ok = identity
            .and_then(|i| i.expires_at)
            .is_some_and(|e| !e.is_zero() && e.is_after(now));
        if !ok {
            push(&mut reasons, &mut violations, "agent_expired");
        }
    }
    if let Some(required) = &rule.required_agent_manifest_digest {
        if identity.and_then(|i| i.manifest_digest.as_ref()) != Some(required) {
            push(&mut reasons, &mut violations, "agent_manifest_mismatch");
        }
    }
    if !rule.allowed_agent_manifest_publishers.is_empty() {
        let ok = identity.is_some_and(|i| {
            rule.allowed_agent_manifest_publishers
                .contains(&lower(i.publisher.trim()))
        });
        if !ok {
            push(&mut reasons, &mut violations, "agent_manifest_mismatch");
        }
    }
    if !rule.allowed_agent_manifest_sources.is_empty() {
        let ok = identity.is_some_and(|i| {
            rule.allowed_agent_manifest_sources
                .contains(&lower(i.source.trim()))
        });
        if !ok {
            push(&mut reasons, &mut violations, "agent_manifest_mismatch");
        }
    }
    Fired::block(reasons, violations)
}

fn standing_access_type(t: Option<CredentialAccessType>) -> bool {
    matches!(
        t,
        None | Some(
            CredentialAccessType::CloudAdmin
                | CredentialAccessType::Inherited
                | CredentialAccessType::Standing
                | CredentialAccessType::Static
                | CredentialAccessType::Unknown
        )
    )
}

/// Credential provenance requirements.
pub(crate) fn credential(rule: &Rule, v: &View<'_>) -> Option<Fired> {
    let enabled = rule.block_standing_credentials
        || !rule.allowed_credential_sources.is_empty()
        || !rule.allowed_credential_issuers.is_empty()
        || !rule.allowed_credential_access_types.is_empty()
        || rule.max_credential_ttl_seconds > 0
        || rule.require_jit_credential;
    if !enabled {
        return None;
    }
    let ctx = v.context;
    let source = ctx.credential_source.map(|s| s.as_str());
    let access = ctx.credential_access_type;
    let issuer = ctx.credential_issuer.trim();
    let mut reasons = Vec::new();
    let mut violations = Vec::new();
    if ctx.credential_ref.trim().is_empty() {
        push(&mut reasons, &mut violations, "credential_evidence_missing");
    }
    if source.is_none() {
        push(&mut reasons, &mut violations, "credential_source_unknown");
    }
    if access.is_none() {
        push(
            &mut reasons,
            &mut violations,
            "credential_access_type_unknown",
        );
    }
    if rule.require_jit_credential {
        match access {
            None => push(&mut reasons, &mut violations, "credential_evidence_missing"),
            Some(CredentialAccessType::Jit) => {}
            Some(_) => push(&mut reasons, &mut violations, "credential_not_jit"),
        }
    }
    if rule.block_standing_credentials && standing_access_type(access) {
        push(
            &mut reasons,
            &mut violations,
            "standing_credential_disallowed",
        );
    }
    if !rule.allowed_credential_sources.is_empty()
        && !source.is_some_and(|s| rule.allowed_credential_sources.iter().any(|a| a == s))
    {
        push(
            &mut reasons,
            &mut violations,
            "credential_source_disallowed",
        );
    }
    if !rule.allowed_credential_issuers.is_empty()
        && (issuer.is_empty() || !rule.allowed_credential_issuers.iter().any(|a| a == issuer))
    {
        push(
            &mut reasons,
            &mut violations,
            "credential_issuer_disallowed",
        );
    }
    if !rule.allowed_credential_access_types.is_empty()
        && !access.is_some_and(|t| {
            rule.allowed_credential_access_types
                .iter()
                .any(|a| a == t.as_str())
        })
    {
        push(
            &mut reasons,
            &mut violations,
            "credential_access_type_disallowed",
        );
    }
    if rule.max_credential_ttl_seconds > 0 {
        let ttl = ctx.credential_ttl_seconds;
        if ttl <= 0 {
            push(&mut reasons, &mut violations, "credential_evidence_missing");
        } else if u64::try_from(ttl).map_or(true, |t| t > rule.max_credential_ttl_seconds) {
            push(&mut reasons, &mut violations, "credential_ttl_exceeded");
        }
    }
    let binding = ctx.credential_target_binding.trim();
    if !binding.is_empty() && binding != v.target_binding_digest() {
        push(
            &mut reasons,
            &mut violations,
            "credential_target_binding_mismatch",
        );
    }
    let run = ctx.run_id.trim();
    let run_binding = ctx.credential_run_binding.trim();
    if !run.is_empty() && !run_binding.is_empty() && run_binding != run {
        push(
            &mut reasons,
            &mut violations,
            "credential_run_binding_mismatch",
        );
    }
    let job = ctx.job_id.trim();
    let job_binding = ctx.credential_job_binding.trim();
    if !job.is_empty() && !job_binding.is_empty() && job_binding != job {
        push(
            &mut reasons,
            &mut violations,
            "credential_job_binding_mismatch",
        );
    }
    Fired::block(reasons, violations)
}

/// A freeze window: the decision (always, when configured) and, when it
/// fires, its effect.
pub(crate) fn freeze_window(
    rule: &Rule,
    v: &View<'_>,
    now: &GoTime,
) -> (Option<Fired>, Option<FreezeWindowDecision>) {
    let Some(fw) = &rule.freeze_window else {
        return (None, None);
    };
    let mut decision = FreezeWindowDecision {
        status: "inactive".into(),
        effect: fw.effect.as_str().to_owned(),
        timezone: fw.timezone.clone(),
        evaluated_at: now.to_utc(),
        window_name: String::new(),
        window_start: GoTime::ZERO,
        window_end: GoTime::ZERO,
        reason: String::new(),
        reason_code: String::new(),
    };
    let env = lower(v.context.environment.trim());
    if !fw.environments.is_empty() && !fw.environments.contains(&env) {
        return (None, Some(decision));
    }
    let risk = lower(v.context.risk_class.trim());
    if !fw.risk_classes.is_empty() && !fw.risk_classes.contains(&risk) {
        return (None, Some(decision));
    }
    let invalid = |mut d: FreezeWindowDecision, code: &str, reason: &str, window: &str| {
        d.status = "invalid".into();
        window.clone_into(&mut d.window_name);
        d.reason_code = code.to_owned();
        d.reason = reason.to_owned();
        let fired = Fired {
            effect: Some(Verdict::Block),
            reasons: vec![code.to_owned()],
            violations: vec![code.to_owned()],
        };
        (Some(fired), Some(d))
    };
    let Ok(tz) = jiff::tz::TimeZone::get(fw.timezone.trim()) else {
        return invalid(
            decision,
            "freeze_window_invalid_timezone",
            "freeze window timezone could not be loaded",
            "",
        );
    };
    let now_nanos = now.unix_nanos();
    for w in &fw.windows {
        let (Some(start), Some(end)) = (
            local_to_instant(&w.start, &tz),
            local_to_instant(&w.end, &tz),
        ) else {
            return invalid(
                decision,
                "freeze_window_invalid_window",
                "freeze window has an invalid range",
                &w.name,
            );
        };
        if end.unix_nanos() <= start.unix_nanos() {
            return invalid(
                decision,
                "freeze_window_invalid_window",
                "freeze window has an invalid range",
                &w.name,
            );
        }
        if start.unix_nanos() <= now_nanos && now_nanos < end.unix_nanos() {
            decision.status = "active".into();
            decision.window_name.clone_from(&w.name);
            decision.window_start = start;
            decision.window_end = end;
            decision.reason = if fw.reason.is_empty() {
                w.name.clone()
            } else {
                fw.reason.clone()
            };
            let (code, effect) = match fw.effect.verdict() {
                Verdict::RequireApproval => (
                    "freeze_window_active_require_approval",
                    Verdict::RequireApproval,
                ),
                _ => ("freeze_window_active_block", Verdict::Block),
            };
            decision.reason_code = code.to_owned();
            let fired = Fired {
                effect: Some(effect),
                reasons: vec![code.to_owned()],
                violations: vec![code.to_owned()],
            };
            return (Some(fired), Some(decision));
        }
    }
    (None, Some(decision))
}

/// Parses a window bound as Go's
/// `time.ParseInLocation("2006-01-02T15:04:05", text, tz)` does: a 4-digit
/// year, 2-digit month, day, minute and second, a 1- or 2-digit hour, and
/// an optional fractional second (`.` or `,` then digits, truncated to
/// nanoseconds) that Go accepts even though the layout has none. Nothing
/// may follow.
///
/// The wall time becomes an instant by Go's `time.Date` rule: take the
/// zone's offset at the wall time read as UTC, and if the instant that
/// gives lies under another offset, use that one. Inside a DST gap or fold
/// this differs from jiff's "compatible" disambiguation (for example Go
/// reads the nonexistent `02:30` of America/Toronto's spring-forward day
/// as `01:30` EST, and the repeated `02:30` of Europe/Berlin's fall-back
/// day as the second, CET one).
fn local_to_instant(text: &str, tz: &jiff::tz::TimeZone) -> Option<GoTime> {
    let mut rest = text.trim().as_bytes();
    let year = go_atoi(take(&mut rest, 4)?)?;
    literal(&mut rest, b'-')?;
    let month = two_digits(&mut rest)?;
    literal(&mut rest, b'-')?;
    let day = two_digits(&mut rest)?;
    literal(&mut rest, b'T')?;
    // Go's `15` accepts one or two digits.
    let hour = match rest {
        [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => two_digits(&mut rest)?,
        [a, ..] if a.is_ascii_digit() => {
            take(&mut rest, 1)?;
            i64::from(a - b'0')
        }
        _ => return None,
    };
    literal(&mut rest, b':')?;
    let minute = two_digits(&mut rest)?;
    literal(&mut rest, b':')?;
    let second = two_digits(&mut rest)?;
    let mut nanos: i64 = 0;
    if let [sep, d, ..] = rest {
        if (*sep == b'.' || *sep == b',') && d.is_ascii_digit() {
            let digits = rest
                .iter()
                .skip(1)
                .take_while(|c| c.is_ascii_digit())
                .count();
            let frac = take(&mut rest, digits + 1)?;
            for i in 0..9 {
                let digit = frac.get(i + 1).map_or(0, |c| i64::from(c - b'0'));
                nanos = nanos * 10 + digit;
            }
        }
    }
    if !rest.is_empty() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let dt = jiff::civil::DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        i32::try_from(nanos).ok()?,
    )
    .ok()?;
    let wall = jiff::tz::Offset::UTC.to_timestamp(dt).ok()?;
    let first = tz.to_offset(wall).seconds();
    let guess = jiff::Timestamp::from_second(wall.as_second() - i64::from(first)).ok()?;
    let offset = tz.to_offset(guess).seconds();
    Some(GoTime::from_unix(
        wall.as_second() - i64::from(offset),
        u32::try_from(nanos).ok()?,
    ))
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(head)
}

fn literal(rest: &mut &[u8], want: u8) -> Option<()> {
    (take(rest, 1)? == [want]).then_some(())
}

fn two_digits(rest: &mut &[u8]) -> Option<i64> {
    match take(rest, 2)? {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
        }
        _ => None,
    }
}

/// Go's `time` package `atoi`: an optional sign, then only digits.
fn go_atoi(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', tail @ ..] => (true, tail),
        [b'+', tail @ ..] => (false, tail),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'));
    Some(if negative { -value } else { value })
}

/// Sandbox metadata requirements: the decision (always, when configured)
/// and, when something is missing or disallowed, a block.
pub(crate) fn sandbox(rule: &Rule, v: &View<'_>) -> (Option<Fired>, Option<SandboxDecision>) {
    let Some(policy) = &rule.sandbox else {
        return (None, None);
    };
    let Some(sb) = &v.context.sandbox else {
        let code = "sandbox_metadata_missing".to_owned();
        let decision = SandboxDecision {
            status: "missing".into(),
            network_mode: String::new(),
            env_exposure_mode: String::new(),
            timeout_seconds: 0,
            filesystem_isolation: String::new(),
            user_mode: String::new(),
            evidence_ref: String::new(),
            evidence_digest: String::new(),
            reason_codes: vec![code.clone()],
        };
        let fired = Fired {
            effect: Some(Verdict::Block),
            reasons: vec![code.clone()],
            violations: vec![code],
        };
        return (Some(fired), Some(decision));
    };
    let s = |o: Option<&'static str>| o.unwrap_or_default().to_owned();
    let mut decision = SandboxDecision {
        status: "valid".into(),
        network_mode: s(sb.network_mode.map(|m| m.as_str())),
        env_exposure_mode: s(sb.env_exposure_mode.map(|m| m.as_str())),
        timeout_seconds: sb.timeout_seconds,
        filesystem_isolation: s(sb.filesystem_isolation.map(|m| m.as_str())),
        user_mode: s(sb.user_mode.map(|m| m.as_str())),
        evidence_ref: sb.evidence_ref.clone(),
        evidence_digest: sb.evidence_digest.map(|d| d.to_hex()).unwrap_or_default(),
        reason_codes: Vec::new(),
    };
    let mut reasons = Vec::new();
    let mut violations = Vec::new();
    if decision.evidence_ref.is_empty() || decision.evidence_digest.is_empty() {
        push(&mut reasons, &mut violations, "sandbox_evidence_missing");
    }
    let mut check = |value: &str, allowed: &[String], field: &str| {
        check_mode(&mut reasons, &mut violations, value, allowed, field);
    };
    check(
        &decision.network_mode,
        &policy.allowed_network_modes,
        "network_mode",
    );
    check(
        &decision.env_exposure_mode,
        &policy.allowed_env_exposure_modes,
        "env_exposure_mode",
    );
    if sb.timeout_seconds <= 0 {
        push(&mut reasons, &mut violations, "sandbox_timeout_missing");
    } else if policy.max_timeout_seconds > 0
        && u64::try_from(sb.timeout_seconds).map_or(true, |t| t > policy.max_timeout_seconds)
    {
        push(&mut reasons, &mut violations, "sandbox_timeout_exceeded");
    }
    let mut check = |value: &str, allowed: &[String], field: &str| {
        check_mode(&mut reasons, &mut violations, value, allowed, field);
    };
    check(
        &decision.filesystem_isolation,
        &policy.allowed_filesystem_isolations,
        "filesystem_isolation",
    );
    check(&decision.user_mode, &policy.allowed_user_modes, "user_mode");
    if !policy.allowed_writable_path_prefixes.is_empty()
        && sb.writable_paths.iter().any(|p| {
            !policy
                .allowed_writable_path_prefixes
                .iter()
                .any(|prefix| sandbox_path_has_prefix(p, prefix))
        })
    {
        push(
            &mut reasons,
            &mut violations,
            "sandbox_writable_path_disallowed",
        );
    }
    // As in the reference: every read-only root the intent declares must be
    // one of the required roots; an intent that declares none passes.
    if !policy.required_read_only_roots.is_empty()
        && !sb.read_only_roots.is_empty()
        && !sb
            .read_only_roots
            .iter()
            .all(|r| policy.required_read_only_roots.contains(r))
    {
        push(
            &mut reasons,
            &mut violations,
            "sandbox_read_only_root_missing",
        );
    }
    if reasons.is_empty() {
        return (None, Some(decision));
    }
    let mut sorted = reasons.clone();
    super::decision::merge_sorted(&mut sorted, std::iter::empty());
    decision.status = if sorted.iter().any(|r| r.ends_with("_missing")) {
        "missing"
    } else if sorted
        .iter()
        .any(|r| r.ends_with("_disallowed") || r.ends_with("_exceeded"))
    {
        "disallowed"
    } else {
        "invalid"
    }
    .into();
    decision.reason_codes = sorted;
    (Fired::block(reasons, violations), Some(decision))
}

/// A sandbox mode: missing when empty, disallowed when outside a non-empty
/// allow list.
fn check_mode(
    reasons: &mut Vec<String>,
    violations: &mut Vec<String>,
    value: &str,
    allowed: &[String],
    field: &str,
) {
    if value.is_empty() {
        push(reasons, violations, &format!("sandbox_{field}_missing"));
    } else if !allowed.is_empty() && !allowed.iter().any(|a| a == value) {
        push(reasons, violations, &format!("sandbox_{field}_disallowed"));
    }
}

fn sandbox_path_has_prefix(path: &str, prefix: &str) -> bool {
    let (path, prefix) = (path.trim(), prefix.trim());
    path == prefix
        || prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Rank of a freeze-window decision (invalid > active > inactive).
pub(crate) fn pick_freeze_window(
    current: Option<FreezeWindowDecision>,
    candidate: Option<FreezeWindowDecision>,
) -> Option<FreezeWindowDecision> {
    let rank = |d: &FreezeWindowDecision| match d.status.as_str() {
        "invalid" => 3,
        "active" => 2,
        "inactive" => 1,
        _ => 0,
    };
    let effect_rank = |d: &FreezeWindowDecision| match d.effect.as_str() {
        "block" => 2,
        "require_approval" => 1,
        _ => 0,
    };
    match (current, candidate) {
        (c, None) => c,
        (None, c) => c,
        (Some(cur), Some(cand)) => {
            let key = |d: &FreezeWindowDecision| (rank(d), effect_rank(d));
            if key(&cand) > key(&cur)
                || (key(&cand) == key(&cur) && cand.window_name.trim() < cur.window_name.trim())
            {
                Some(cand)
            } else {
                Some(cur)
            }
        }
    }
}

/// Rank of a sandbox decision (missing > disallowed > invalid > valid).
pub(crate) fn pick_sandbox(
    current: Option<SandboxDecision>,
    candidate: Option<SandboxDecision>,
) -> Option<SandboxDecision> {
    let rank = |d: &SandboxDecision| match d.status.as_str() {
        "missing" => 4,
        "disallowed" => 3,
        "invalid" => 2,
        "valid" => 1,
        _ => 0,
    };
    match (current, candidate) {
        (c, None) => c,
        (None, c) => c,
        (Some(cur), Some(cand)) => {
            if rank(&cand) > rank(&cur)
                || (rank(&cand) == rank(&cur)
                    && cand.evidence_digest.trim() < cur.evidence_digest.trim())
            {
                Some(cand)
            } else {
                Some(cur)
            }
        }
    }
}

/// Whether every target is a process execution (and there is at least one).
pub(crate) fn only_proc_exec(v: &View<'_>) -> bool {
    !v.targets.is_empty()
        && v.targets
            .iter()
            .all(|t| t.endpoint_class == EndpointClass::ProcExec)
}
