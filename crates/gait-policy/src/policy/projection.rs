//! The policy digest's input: the normalised policy as a JSON object keyed
//! by the reference's Go field names (spec §2.3).
//!
//! Which keys appear follows the reference exactly: some are always
//! present (an empty list is `[]`), some only when non-empty, non-zero or
//! true, and whole constraint blocks only when configured. The two sandbox
//! path lists are `null` when empty. `Match.When` is our extension and is
//! present only when a rule has a `when` condition, so policies without one
//! digest exactly as in the reference.

use serde_json::{Map, Value, json};

use super::gocompat::format_duration;
use super::model::{
    Dataflow, EndpointConstraint, FailClosed, FreezeWindow, McpTrust, RateLimit, Rule, RuleMatch,
    Sandbox, ScriptPolicy, Verdict,
};

/// Builds the projection of a normalised policy.
pub(crate) fn policy(
    schema_id: &str,
    schema_version: &str,
    default_verdict: Verdict,
    scripts: &ScriptPolicy,
    fail_closed: &FailClosed,
    mcp_trust: Option<&McpTrust>,
    rules: &[Rule],
) -> Value {
    let mut out = Map::new();
    out.insert("SchemaID".into(), json!(schema_id));
    out.insert("SchemaVersion".into(), json!(schema_version));
    out.insert("DefaultVerdict".into(), json!(default_verdict.as_str()));
    out.insert("FailClosed".into(), fail_closed_value(fail_closed));
    out.insert(
        "Rules".into(),
        Value::Array(rules.iter().map(rule).collect()),
    );
    if scripts.max_steps > 0 || scripts.require_approval_above > 0 || scripts.block_mixed_risk {
        out.insert(
            "Scripts".into(),
            json!({
                "MaxSteps": scripts.max_steps,
                "RequireApprovalAbove": scripts.require_approval_above,
                "BlockMixedRisk": scripts.block_mixed_risk,
            }),
        );
    }
    if let Some(m) = mcp_trust {
        out.insert("MCPTrust".into(), mcp_trust_value(m));
    }
    Value::Object(out)
}

fn fail_closed_value(f: &FailClosed) -> Value {
    let mut out = Map::new();
    out.insert("Enabled".into(), json!(f.enabled));
    out.insert("RiskClasses".into(), json!(f.risk_classes));
    out.insert("RequiredFields".into(), json!(f.required_fields));
    if !f.required_high_risk_fields.is_empty() {
        out.insert(
            "RequiredHighRiskFields".into(),
            json!(f.required_high_risk_fields),
        );
    }
    Value::Object(out)
}

fn mcp_trust_value(m: &McpTrust) -> Value {
    let max_age = m.max_age.map_or_else(String::new, |d| {
        format_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    });
    json!({
        "Enabled": true,
        "SnapshotPath": m.snapshot_path,
        "Action": m.action.as_str(),
        "RequiredRiskClasses": m.required_risk_classes,
        "MinScore": m.min_score,
        "MaxAge": max_age,
        "PublisherAllowlist": m.publisher_allowlist,
        "RequireRegistry": m.require_registry,
    })
}

/// Inserts `key: value` when `value` is a non-empty list.
fn list_if_any(out: &mut Map<String, Value>, key: &str, value: &[String]) {
    if !value.is_empty() {
        out.insert(key.into(), json!(value));
    }
}

fn true_if(out: &mut Map<String, Value>, key: &str, value: bool) {
    if value {
        out.insert(key.into(), Value::Bool(true));
    }
}

fn rule(r: &Rule) -> Value {
    let mut out = Map::new();
    out.insert("Name".into(), json!(r.name));
    out.insert("Priority".into(), json!(r.priority));
    out.insert("Effect".into(), json!(r.effect.as_str()));
    out.insert("Match".into(), selector(&r.selector));
    out.insert("ReasonCodes".into(), json!(r.reason_codes));
    out.insert("Violations".into(), json!(r.violations));
    if r.min_approvals > 0 {
        out.insert("MinApprovals".into(), json!(r.min_approvals));
    }
    true_if(&mut out, "RequireDeclaredAgent", r.require_declared_agent);
    list_if_any(&mut out, "AllowedAgentIDs", &r.allowed_agent_ids);
    list_if_any(&mut out, "DeniedAgentIDs", &r.denied_agent_ids);
    if let Some(d) = &r.required_agent_manifest_digest {
        out.insert("RequiredAgentManifestDigest".into(), json!(d.to_hex()));
    }
    list_if_any(
        &mut out,
        "AllowedAgentManifestPublishers",
        &r.allowed_agent_manifest_publishers,
    );
    list_if_any(
        &mut out,
        "AllowedAgentManifestSources",
        &r.allowed_agent_manifest_sources,
    );
    list_if_any(
        &mut out,
        "RequiredAgentLifecycleStates",
        &r.required_agent_lifecycle_states,
    );
    true_if(&mut out, "RequireAgentOwner", r.require_agent_owner);
    true_if(&mut out, "RequireUnexpiredAgent", r.require_unexpired_agent);
    true_if(
        &mut out,
        "BlockStandingCredentials",
        r.block_standing_credentials,
    );
    list_if_any(
        &mut out,
        "AllowedCredentialSources",
        &r.allowed_credential_sources,
    );
    list_if_any(
        &mut out,
        "AllowedCredentialIssuers",
        &r.allowed_credential_issuers,
    );
    list_if_any(
        &mut out,
        "AllowedCredentialAccessTypes",
        &r.allowed_credential_access_types,
    );
    if r.max_credential_ttl_seconds > 0 {
        out.insert(
            "MaxCredentialTTLSeconds".into(),
            json!(r.max_credential_ttl_seconds),
        );
    }
    true_if(&mut out, "RequireJITCredential", r.require_jit_credential);
    true_if(
        &mut out,
        "RequireDistinctApprovers",
        r.require_distinct_approvers,
    );
    true_if(
        &mut out,
        "RequireContextEvidence",
        r.require_context_evidence,
    );
    if let Some(mode) = &r.required_context_evidence_mode {
        out.insert("RequiredContextEvidenceMode".into(), json!(mode));
    }
    if r.max_context_age_seconds > 0 {
        out.insert(
            "MaxContextAgeSeconds".into(),
            json!(r.max_context_age_seconds),
        );
    }
    true_if(
        &mut out,
        "RequireBrokerCredential",
        r.require_broker_credential,
    );
    if !r.broker_reference.is_empty() {
        out.insert("BrokerReference".into(), json!(r.broker_reference));
    }
    list_if_any(&mut out, "BrokerScopes", &r.broker_scopes);
    if let Some(f) = &r.freeze_window {
        out.insert("FreezeWindow".into(), freeze_window(f));
    }
    if let Some(s) = &r.sandbox {
        out.insert("Sandbox".into(), sandbox(s));
    }
    if let Some(l) = &r.rate_limit {
        out.insert("RateLimit".into(), rate_limit(l));
    }
    if let Some(l) = &r.destructive_budget {
        out.insert("DestructiveBudget".into(), rate_limit(l));
    }
    if let Some(d) = &r.dataflow {
        out.insert("Dataflow".into(), dataflow(d));
    }
    if let Some(e) = &r.endpoint {
        out.insert("Endpoint".into(), endpoint(e));
    }
    Value::Object(out)
}

fn selector(m: &RuleMatch) -> Value {
    let mut out = Map::new();
    out.insert("ToolNames".into(), json!(m.tool_names));
    out.insert("RiskClasses".into(), json!(m.risk_classes));
    out.insert("TargetKinds".into(), json!(m.target_kinds));
    out.insert("TargetValues".into(), json!(m.target_values));
    out.insert("ProvenanceSources".into(), json!(m.provenance_sources));
    out.insert("Identities".into(), json!(m.identities));
    out.insert("WorkspacePrefixes".into(), json!(m.workspace_prefixes));
    list_if_any(&mut out, "EndpointClasses", &m.endpoint_classes);
    list_if_any(&mut out, "DiscoveryMethods", &m.discovery_methods);
    let hints = &m.tool_annotations;
    if !hints.is_empty() {
        let mut h = Map::new();
        for (key, value) in [
            ("ReadOnlyHint", hints.read_only_hint),
            ("DestructiveHint", hints.destructive_hint),
            ("IdempotentHint", hints.idempotent_hint),
            ("OpenWorldHint", hints.open_world_hint),
        ] {
            if let Some(v) = value {
                h.insert(key.into(), Value::Bool(v));
            }
        }
        out.insert("ToolAnnotations".into(), Value::Object(h));
    }
    list_if_any(&mut out, "SkillPublishers", &m.skill_publishers);
    list_if_any(&mut out, "SkillSources", &m.skill_sources);
    list_if_any(&mut out, "DataClasses", &m.data_classes);
    list_if_any(&mut out, "DestinationKinds", &m.destination_kinds);
    list_if_any(&mut out, "DestinationValues", &m.destination_values);
    list_if_any(&mut out, "DestinationOps", &m.destination_operations);
    list_if_any(&mut out, "ContextToolNames", &m.context_tool_names);
    list_if_any(&mut out, "ContextDataClasses", &m.context_data_classes);
    list_if_any(
        &mut out,
        "ContextEndpointClasses",
        &m.context_endpoint_classes,
    );
    list_if_any(
        &mut out,
        "ContextAutonomyLevels",
        &m.context_autonomy_levels,
    );
    true_if(&mut out, "RequireDelegation", m.require_delegation);
    list_if_any(
        &mut out,
        "AllowedDelegatorIdentities",
        &m.allowed_delegator_identities,
    );
    list_if_any(
        &mut out,
        "AllowedDelegateIdentities",
        &m.allowed_delegate_identities,
    );
    list_if_any(&mut out, "DelegationScopes", &m.delegation_scopes);
    if let Some(depth) = m.max_delegation_depth {
        out.insert("MaxDelegationDepth".into(), json!(depth));
    }
    if let Some(when) = &m.when {
        out.insert("When".into(), json!(when));
    }
    Value::Object(out)
}

fn freeze_window(f: &FreezeWindow) -> Value {
    let windows: Vec<Value> = f
        .windows
        .iter()
        .map(|w| json!({"Name": w.name, "Start": w.start, "End": w.end}))
        .collect();
    json!({
        "Enabled": true,
        "Timezone": f.timezone,
        "Effect": f.effect.as_str(),
        "Reason": f.reason,
        "Environments": f.environments,
        "RiskClasses": f.risk_classes,
        "Windows": windows,
    })
}

/// A list that the reference leaves `null` when empty.
fn null_if_empty(v: &[String]) -> Value {
    if v.is_empty() { Value::Null } else { json!(v) }
}

fn sandbox(s: &Sandbox) -> Value {
    json!({
        "Enabled": true,
        "AllowedNetworkModes": s.allowed_network_modes,
        "AllowedWritablePathPrefixes": null_if_empty(&s.allowed_writable_path_prefixes),
        "RequiredReadOnlyRoots": null_if_empty(&s.required_read_only_roots),
        "AllowedEnvExposureModes": s.allowed_env_exposure_modes,
        "MaxTimeoutSeconds": s.max_timeout_seconds,
        "AllowedFilesystemIsolations": s.allowed_filesystem_isolations,
        "AllowedUserModes": s.allowed_user_modes,
    })
}

fn rate_limit(l: &RateLimit) -> Value {
    json!({
        "Requests": l.requests,
        "Window": l.window.as_str(),
        "Scope": l.scope.as_str(),
    })
}

fn dataflow(d: &Dataflow) -> Value {
    let mut out = Map::new();
    out.insert("Enabled".into(), Value::Bool(true));
    out.insert("TaintedSources".into(), json!(d.tainted_sources));
    out.insert("Action".into(), json!(d.action.as_str()));
    out.insert("ReasonCode".into(), json!(d.reason_code));
    out.insert("Violation".into(), json!(d.violation));
    list_if_any(&mut out, "DestinationKinds", &d.destination_kinds);
    list_if_any(&mut out, "DestinationValues", &d.destination_values);
    list_if_any(&mut out, "DestinationOperations", &d.destination_operations);
    Value::Object(out)
}

fn endpoint(e: &EndpointConstraint) -> Value {
    json!({
        "Enabled": true,
        "PathAllowlist": e.path_allowlist,
        "PathDenylist": e.path_denylist,
        "DomainAllowlist": e.domain_allowlist,
        "DomainDenylist": e.domain_denylist,
        "EgressClasses": e.egress_classes,
        "Action": e.action.as_str(),
        "DestructiveAction": e.destructive_action.map_or("", |a| a.as_str()),
        "ReasonCode": e.reason_code,
        "Violation": e.violation,
    })
}
