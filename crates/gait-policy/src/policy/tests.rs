//! Unit tests of loading, validation, normalisation and the digest.

use serde_json::json;

use super::*;

fn load(yaml: &str) -> Policy {
    match Policy::from_yaml_str(yaml) {
        Ok(p) => p,
        Err(e) => panic!("policy should load: {e}\n{yaml}"),
    }
}

fn fail(yaml: &str) -> PolicyError {
    match Policy::from_yaml_str(yaml) {
        Ok(p) => panic!(
            "policy should be rejected:\n{yaml}\nprojection: {}",
            p.projection()
        ),
        Err(e) => e,
    }
}

/// Asserts an `Invalid` error on `field` whose message contains `needle`.
fn invalid_at(yaml: &str, field: &str, needle: &str) -> PolicyError {
    let err = fail(yaml);
    match &err {
        PolicyError::Invalid {
            field: f, message, ..
        } => {
            assert_eq!(f, field, "{err}");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected Invalid on {field}, got {other:?}"),
    }
    err
}

fn rule_yaml(body: &str) -> String {
    let mut out = String::from("rules:\n  - name: r1\n    effect: allow\n");
    for line in body.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

const DEFAULT_POLICY_DIGEST: &str =
    "07a528a879e4f0e0cd5a0e2ca801924746b47dac624862207ef21d4ec266f8f9";

// ---- reference vectors ----------------------------------------------------

#[test]
fn default_policy_digest_matches_reference() {
    for yaml in [
        "",
        "# empty\n",
        "~\n",
        "default_verdict: require_approval\n",
    ] {
        assert_eq!(
            load(yaml).digest().to_hex(),
            DEFAULT_POLICY_DIGEST,
            "{yaml:?}"
        );
    }
    let p = load("");
    assert_eq!(p.default_verdict(), Verdict::RequireApproval);
    assert!(p.rules().is_empty());
    assert_eq!(p.schema_id(), "gait.gate.policy");
    assert_eq!(p.schema_version(), "1.0.0");
}

#[test]
fn integration_golden_digest_matches_reference() {
    // The policy of the reference's gate-eval/trace-verify integration
    // golden, whose recorded digest is below.
    let p = load(
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\nrules:\n  \
         - name: block-external-host\n    priority: 10\n    effect: block\n    match:\n      \
         tool_names: [tool.write]\n      target_kinds: [host]\n      target_values: [api.external.com]\n    \
         reason_codes: [blocked_external]\n    violations: [external_target]\n",
    );
    assert_eq!(
        p.digest().to_hex(),
        "f4581f55c41a3ee69b316c95f66fbfc293ae7f06e6458491e3ca232dfb26608c"
    );
}

#[test]
fn minimal_projection_has_the_reference_shape() {
    let p = load("rules:\n  - name: r\n    effect: allow\n");
    assert_eq!(
        p.projection(),
        json!({
            "SchemaID": "gait.gate.policy",
            "SchemaVersion": "1.0.0",
            "DefaultVerdict": "require_approval",
            "FailClosed": {"Enabled": false, "RiskClasses": [], "RequiredFields": []},
            "Rules": [{
                "Name": "r", "Priority": 0, "Effect": "allow",
                "Match": {
                    "ToolNames": [], "RiskClasses": [], "TargetKinds": [], "TargetValues": [],
                    "ProvenanceSources": [], "Identities": [], "WorkspacePrefixes": []
                },
                "ReasonCodes": [], "Violations": []
            }]
        })
    );
    assert_eq!(p.digest(), gait_digest::digest_json(&p.projection()));
}

// ---- normalisation ----------------------------------------------------------

#[test]
fn lists_are_trimmed_lowercased_deduplicated_and_sorted() {
    let p = load(
        "rules:\n  - name: ' r '\n    effect: ' Allow '\n    match:\n      \
         tool_names: [' Tool.Write', tool.write, '', TOOL.READ]\n      \
         target_values: [B, ' A ', B]\n      identities: [Bob, alice]\n    \
         reason_codes: [' Z', a, Z, '']\n",
    );
    let r = &p.rules()[0];
    assert_eq!(r.name, "r");
    assert_eq!(r.effect, Verdict::Allow);
    assert_eq!(r.selector.tool_names, ["tool.read", "tool.write"]);
    assert_eq!(r.selector.target_values, ["A", "B"]);
    assert_eq!(r.selector.identities, ["Bob", "alice"]);
    assert_eq!(r.reason_codes, ["Z", "a"]);
}

#[test]
fn rules_sort_by_priority_then_name_bytes() {
    let p = load(
        "rules:\n  - {name: b, priority: 5, effect: allow}\n  - {name: a, priority: 5, effect: block}\n  \
         - {name: Z, priority: 5, effect: block}\n  - {name: z, priority: -1, effect: block}\n  \
         - {name: c, effect: block}\n",
    );
    let names: Vec<&str> = p.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["z", "c", "Z", "a", "b"]);
    assert_eq!(p.rule("a").map(|r| r.effect), Some(Verdict::Block));
    assert!(p.rule("missing").is_none());
}

#[test]
fn aliases_fold_into_the_canonical_fields() {
    let aliased = load(
        "default_action: BLOCK\nrules:\n  - name: r\n    action: block\n    match:\n      \
         tool_name: ' Postgres_Query '\n      tool_names: [x]\n      endpoint_class: [proc.exec]\n      \
         endpoint_classes: [FS.Delete]\n",
    );
    let canonical = load(
        "default_verdict: block\nrules:\n  - name: r\n    effect: block\n    match:\n      \
         tool_names: [postgres_query, x]\n      endpoint_classes: [fs.delete, proc.exec]\n",
    );
    assert_eq!(aliased.digest(), canonical.digest());
    assert_eq!(aliased.default_verdict(), Verdict::Block);
    assert_eq!(
        aliased.rules()[0].selector.tool_names,
        ["postgres_query", "x"]
    );
    // Both spellings set and equal is fine.
    load("default_verdict: allow\ndefault_action: ' ALLOW '\n");
    load("rules:\n  - {name: r, effect: dry_run, action: DRY_RUN}\n");
}

#[test]
fn fail_closed_defaults_and_projection() {
    let p = load("fail_closed:\n  enabled: true\n  required_fields: [Targets, targets]\n");
    assert_eq!(p.fail_closed().risk_classes, ["critical", "high"]);
    assert_eq!(p.fail_closed().required_fields, ["targets"]);
    assert_eq!(
        p.projection()["FailClosed"],
        json!({"Enabled": true, "RiskClasses": ["critical", "high"], "RequiredFields": ["targets"]})
    );
    // Disabled keeps its lists (digested) but gets no default classes.
    let p = load("fail_closed:\n  risk_classes: [High]\n  required_high_risk_fields: [agent_id]\n");
    assert_eq!(
        p.projection()["FailClosed"],
        json!({"Enabled": false, "RiskClasses": ["high"], "RequiredFields": [],
               "RequiredHighRiskFields": ["agent_id"]})
    );
}

#[test]
fn scripts_appear_only_when_set() {
    assert!(load("scripts: {}\n").projection().get("Scripts").is_none());
    let p = load("scripts:\n  block_mixed_risk: true\n");
    assert_eq!(
        p.projection()["Scripts"],
        json!({"MaxSteps": 0, "RequireApprovalAbove": 0, "BlockMixedRisk": true})
    );
    let p = load("scripts:\n  max_steps: 8\n  require_approval_above: 3\n");
    assert_eq!(p.scripts().max_steps, 8);
    assert_eq!(p.scripts().require_approval_above, 3);
}

#[test]
fn mcp_trust_defaults_and_projection() {
    let p = load(
        "mcp_trust:\n  snapshot: ' ./trust.json '\n  min_score: 0.8\n  max_age: 24h\n  \
         publisher_allowlist: [Acme]\n  require_registry: true\n",
    );
    let m = p.mcp_trust().unwrap();
    assert_eq!(m.action, ConstraintAction::Block);
    assert_eq!(m.max_age, Some(std::time::Duration::from_secs(86_400)));
    assert_eq!(
        p.projection()["MCPTrust"],
        json!({
            "Enabled": true, "SnapshotPath": "./trust.json", "Action": "block",
            "RequiredRiskClasses": ["critical", "high"], "MinScore": 0.8, "MaxAge": "24h0m0s",
            "PublisherAllowlist": ["acme"], "RequireRegistry": true
        })
    );
    // Not configured: absent. A negative score alone does not configure it.
    assert!(load("mcp_trust: {}\n").mcp_trust().is_none());
    assert!(load("mcp_trust: {min_score: -1}\n").mcp_trust().is_none());
    let p = load("mcp_trust: {snapshot: s, max_age: 90m, action: Require_Approval}\n");
    assert_eq!(p.projection()["MCPTrust"]["MaxAge"], json!("1h30m0s"));
    assert_eq!(p.projection()["MCPTrust"]["MinScore"], json!(0.0));
    assert_eq!(
        p.mcp_trust().unwrap().action,
        ConstraintAction::RequireApproval
    );
}

#[test]
fn match_projection_adds_optional_selectors_only_when_set() {
    let p = load(&rule_yaml(
        "match:\n  discovery_method: [WebMCP]\n  tool_annotations:\n    destructiveHint: false\n    \
         openWorldHint: ~\n  skill_publishers: [Acme]\n  data_classes: [PII]\n  destination_operations: [Write]\n  \
         context_tool_names: [T]\n  require_delegation: false\n  max_delegation_depth: 0\n  \
         delegation_scopes: [Write]\n",
    ));
    let m = &p.projection()["Rules"][0]["Match"];
    assert_eq!(m["DiscoveryMethods"], json!(["webmcp"]));
    assert_eq!(m["ToolAnnotations"], json!({"DestructiveHint": false}));
    assert_eq!(m["SkillPublishers"], json!(["acme"]));
    assert_eq!(m["DataClasses"], json!(["pii"]));
    assert_eq!(m["DestinationOps"], json!(["write"]));
    assert_eq!(m["ContextToolNames"], json!(["t"]));
    assert_eq!(m["MaxDelegationDepth"], json!(0));
    assert_eq!(m["DelegationScopes"], json!(["write"]));
    assert!(m.get("RequireDelegation").is_none());
    assert!(m.get("EndpointClasses").is_none());
    assert!(m.get("When").is_none());
    assert!(p.rules()[0].selector.has_delegation_constraints());
}

#[test]
fn rule_level_fields_appear_only_when_set() {
    let digest = "AB".repeat(32);
    let p = load(&rule_yaml(&format!(
        "min_approvals: 2\nrequire_declared_agent: true\nallowed_agent_ids: [Agent.A]\n\
         required_agent_manifest_digest: ' {digest} '\nallowed_agent_manifest_publishers: [Acme]\n\
         require_unexpired_agent: true\nallowed_credential_sources: [AWS_STS]\n\
         allowed_credential_access_types: [jit]\nmax_credential_ttl_seconds: 900\n\
         require_context_evidence: true\nmax_context_age_seconds: 60\n\
         broker_reference: ' egress '\nbroker_scopes: [Write]\n"
    )));
    let r = &p.projection()["Rules"][0];
    assert_eq!(r["MinApprovals"], json!(2));
    assert_eq!(
        r["RequireDistinctApprovers"],
        json!(true),
        "forced by min_approvals > 1"
    );
    assert_eq!(r["RequireDeclaredAgent"], json!(true));
    assert_eq!(r["AllowedAgentIDs"], json!(["Agent.A"]));
    assert_eq!(r["RequiredAgentManifestDigest"], json!("ab".repeat(32)));
    assert_eq!(r["AllowedAgentManifestPublishers"], json!(["acme"]));
    assert_eq!(r["RequireUnexpiredAgent"], json!(true));
    assert_eq!(r["AllowedCredentialSources"], json!(["aws_sts"]));
    assert_eq!(r["MaxCredentialTTLSeconds"], json!(900));
    assert_eq!(r["RequireContextEvidence"], json!(true));
    assert_eq!(r["RequiredContextEvidenceMode"], json!("required"));
    assert_eq!(r["MaxContextAgeSeconds"], json!(60));
    assert_eq!(r["BrokerReference"], json!("egress"));
    assert_eq!(r["BrokerScopes"], json!(["write"]));
    for absent in [
        "DeniedAgentIDs",
        "RequireAgentOwner",
        "BlockStandingCredentials",
        "AllowedCredentialIssuers",
        "RequireJITCredential",
        "RequireBrokerCredential",
        "FreezeWindow",
        "Sandbox",
        "RateLimit",
        "DestructiveBudget",
        "Dataflow",
        "Endpoint",
    ] {
        assert!(r.get(absent).is_none(), "{absent} should be omitted");
    }
    let min = load(&rule_yaml("min_approvals: 1\n"));
    assert!(!min.rules()[0].require_distinct_approvers);
    // The explicit mode alone is digested too.
    let mode = load(&rule_yaml("required_context_evidence_mode: REQUIRED\n"));
    assert_eq!(
        mode.projection()["Rules"][0]["RequiredContextEvidenceMode"],
        json!("required")
    );
}

#[test]
fn freeze_window_defaults_and_projection() {
    let p = load(&rule_yaml(
        "freeze_window:\n  timezone: ' America/Toronto '\n  environments: [Prod]\n  windows:\n    \
         - {start: '2026-03-10T09:00:00', end: ' 2026-03-10T12:00:00 '}\n    \
         - {name: ' q ', start: a, end: b}\n",
    ));
    assert_eq!(
        p.projection()["Rules"][0]["FreezeWindow"],
        json!({
            "Enabled": true, "Timezone": "America/Toronto", "Effect": "block", "Reason": "",
            "Environments": ["prod"], "RiskClasses": [],
            "Windows": [
                {"Name": "window-1", "Start": "2026-03-10T09:00:00", "End": "2026-03-10T12:00:00"},
                {"Name": "q", "Start": "a", "End": "b"}
            ]
        })
    );
    // Time zone and times are checked at evaluation, not at load.
    load(&rule_yaml(
        "freeze_window:\n  timezone: Not/AZone\n  windows: [{start: x, end: y}]\n",
    ));
    assert!(
        load(&rule_yaml("freeze_window: {environments: ['']}\n")).rules()[0]
            .freeze_window
            .is_none()
    );
}

#[test]
fn sandbox_projection_cleans_paths_and_uses_null_for_empty_path_lists() {
    let p = load(&rule_yaml(
        "sandbox:\n  allowed_network_modes: [Disabled]\n  required_read_only_roots: ['/repo/', '/repo/./x/..', ' . ']\n",
    ));
    assert_eq!(
        p.projection()["Rules"][0]["Sandbox"],
        json!({
            "Enabled": true, "AllowedNetworkModes": ["disabled"],
            "AllowedWritablePathPrefixes": null, "RequiredReadOnlyRoots": ["/repo"],
            "AllowedEnvExposureModes": [], "MaxTimeoutSeconds": 0,
            "AllowedFilesystemIsolations": [], "AllowedUserModes": []
        })
    );
    let p = load(&rule_yaml("sandbox: {enabled: true}\n"));
    assert!(p.rules()[0].sandbox.is_some());
    let p = load(&rule_yaml(
        "sandbox: {allowed_writable_path_prefixes: ['.', '']}\n",
    ));
    assert!(p.rules()[0].sandbox.is_none());
}

#[test]
fn rate_limit_and_destructive_budget_defaults() {
    let p = load(&rule_yaml(
        "rate_limit: {requests: 5}\ndestructive_budget: {requests: 2, window: HOUR, scope: Identity}\n",
    ));
    let r = &p.projection()["Rules"][0];
    assert_eq!(
        r["RateLimit"],
        json!({"Requests": 5, "Window": "minute", "Scope": "tool_identity"})
    );
    assert_eq!(
        r["DestructiveBudget"],
        json!({"Requests": 2, "Window": "hour", "Scope": "identity"})
    );
    // Zero requests: inactive, and window/scope are not checked.
    let p = load(&rule_yaml("rate_limit: {requests: 0, window: fortnight}\n"));
    assert!(p.rules()[0].rate_limit.is_none());
}

#[test]
fn dataflow_defaults_and_enablement() {
    let p = load(&rule_yaml("dataflow:\n  destination_kinds: [Host]\n"));
    assert_eq!(
        p.projection()["Rules"][0]["Dataflow"],
        json!({
            "Enabled": true, "TaintedSources": ["external", "tool_output"],
            "Action": "require_approval", "ReasonCode": "dataflow_tainted_destination",
            "Violation": "tainted_dataflow", "DestinationKinds": ["host"]
        })
    );
    // Action or reason code alone do not enable it (and are not checked).
    let p = load(&rule_yaml("dataflow: {action: nonsense, reason_code: x}\n"));
    assert!(p.rules()[0].dataflow.is_none());
}

#[test]
fn endpoint_defaults_and_enablement() {
    let p = load(&rule_yaml(
        "endpoint:\n  destructive_action: Require_Approval\n  path_allowlist: [' /tmp/**', /Tmp/x]\n  \
         domain_denylist: [Evil.COM]\n  egress_classes: [NET.HTTP]\n",
    ));
    assert_eq!(
        p.projection()["Rules"][0]["Endpoint"],
        json!({
            "Enabled": true, "PathAllowlist": ["/Tmp/x", "/tmp/**"], "PathDenylist": [],
            "DomainAllowlist": [], "DomainDenylist": ["evil.com"], "EgressClasses": ["net.http"],
            "Action": "block", "DestructiveAction": "require_approval",
            "ReasonCode": "endpoint_constraint_violation", "Violation": "endpoint_constraint_violation"
        })
    );
    let p = load(&rule_yaml("endpoint: {action: block}\n"));
    assert!(p.rules()[0].endpoint.is_none());
}

#[test]
fn unquoted_scalars_in_string_fields_read_as_the_reference_reads_them() {
    let p = load(
        "rules:\n  - name: 123\n    effect: allow\n    match:\n      \
         target_values: [0x1F, 017, 1.50, True, 1e3, ~, 8080]\n",
    );
    let r = &p.rules()[0];
    assert_eq!(r.name, "123");
    assert_eq!(
        r.selector.target_values,
        ["1.5", "15", "1e3", "31", "8080", "true"]
    );
}

// ---- match.when (extension) --------------------------------------------------

#[test]
fn when_is_parsed_and_digested_only_when_present() {
    let base = "rules:\n  - name: r\n    effect: allow\n    match:\n      tool_names: [t]\n";
    let without = load(base);
    let null_when = load(&format!("{base}      when: ~\n"));
    assert_eq!(without.digest(), null_when.digest());
    assert!(without.rules()[0].selector.when.is_none());

    let with = load(&format!(
        "{base}      when: \"  intent.args.size() > 2 \"\n"
    ));
    assert_eq!(
        with.rules()[0].selector.when.as_deref(),
        Some("intent.args.size() > 2")
    );
    assert_eq!(
        with.rules()[0].selector.condition().map(|c| c.source()),
        Some("intent.args.size() > 2")
    );
    assert!(without.rules()[0].selector.condition().is_none());
    assert_eq!(
        with.projection()["Rules"][0]["Match"]["When"],
        json!("intent.args.size() > 2")
    );
    assert_ne!(with.digest(), without.digest());
    let other = load(&format!("{base}      when: intent.args.size() > 3\n"));
    assert_ne!(with.digest(), other.digest());

    invalid_at(
        &format!("{base}      when: '  '\n"),
        "rules[0].match.when",
        "non-empty",
    );
    assert!(matches!(
        fail(&format!("{base}      when: [a]\n")),
        PolicyError::WrongType { .. }
    ));
    // Compiled at load: syntax errors and unknown variables fail it.
    let err = invalid_at(
        &format!("{base}      when: \"intent.args.size() >\"\n"),
        "rules[0].match.when",
        "invalid CEL condition for r: syntax error",
    );
    assert_eq!(err.position(), Some((6, 13)));
    invalid_at(
        &format!("{base}      when: args.size() > 2\n"),
        "rules[0].match.when",
        "undeclared variable \"args\"",
    );
}

// ---- strict YAML ---------------------------------------------------------------

#[test]
fn unknown_fields_are_rejected_with_path_and_position() {
    let err = fail("default_verdit: allow\n");
    assert_eq!(err.field(), Some("default_verdit"));
    assert_eq!(err.position(), Some((1, 1)));
    assert!(err.to_string().contains("unknown field"), "{err}");

    let err = fail("rules:\n  - name: r\n    effect: allow\n    match:\n      tool_nam: [x]\n");
    assert!(matches!(err, PolicyError::UnknownField { .. }));
    assert_eq!(err.field(), Some("rules[0].match.tool_nam"));
    assert_eq!(err.position(), Some((5, 7)));

    for yaml in [
        "fail_closed: {enable: true}\n",
        "scripts: {max: 1}\n",
        "mcp_trust: {snapshots: x}\n",
        &rule_yaml("freeze_window: {windows: [{nam: x}]}\n"),
        &rule_yaml("sandbox: {network: x}\n"),
        &rule_yaml("rate_limit: {per: x}\n"),
        &rule_yaml("destructive_budget: {per: x}\n"),
        &rule_yaml("dataflow: {sources: x}\n"),
        &rule_yaml("endpoint: {paths: x}\n"),
        &rule_yaml("match: {tool_annotations: {readonlyhint: true}}\n"),
        &rule_yaml("priorty: 1\n"),
        "1: x\n",
        "true: x\n",
    ] {
        assert!(
            matches!(fail(yaml), PolicyError::UnknownField { .. }),
            "{yaml}"
        );
    }
}

#[test]
fn duplicate_keys_are_rejected() {
    let err = fail("default_verdict: allow\ndefault_verdict: block\n");
    assert!(matches!(err, PolicyError::DuplicateKey { .. }), "{err:?}");
    assert_eq!(err.position(), Some((2, 1)));
    let err = fail(&rule_yaml("priority: 1\npriority: 2\n"));
    assert!(matches!(err, PolicyError::DuplicateKey { .. }), "{err:?}");
}

#[test]
fn wrong_types_are_rejected_with_field_and_position() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "fail_closed: {enabled: yes}\n",
            "fail_closed.enabled",
            "a boolean (true or false)",
        ),
        (
            "fail_closed: {enabled: 'true'}\n",
            "fail_closed.enabled",
            "a boolean (true or false)",
        ),
        (
            "scripts: {max_steps: '5'}\n",
            "scripts.max_steps",
            "an integer",
        ),
        (
            "scripts: {max_steps: 1.5}\n",
            "scripts.max_steps",
            "an integer",
        ),
        (
            "mcp_trust: {min_score: '0.5'}\n",
            "mcp_trust.min_score",
            "a number",
        ),
        ("rules: {name: r}\n", "rules", "a list of rules"),
        ("rules: [x]\n", "rules[0]", "a mapping"),
        ("fail_closed: [true]\n", "fail_closed", "a mapping"),
        ("default_verdict: [allow]\n", "default_verdict", "a string"),
        (
            "fail_closed: {risk_classes: high}\n",
            "fail_closed.risk_classes",
            "a list of strings",
        ),
        (
            "fail_closed: {risk_classes: [[high]]}\n",
            "fail_closed.risk_classes[0]",
            "a string",
        ),
        ("- a\n", "policy", "a mapping"),
    ];
    for (yaml, field, expected) in cases {
        match fail(yaml) {
            PolicyError::WrongType {
                field: f,
                expected: e,
                line,
                ..
            } => {
                assert_eq!(f, *field, "{yaml}");
                assert_eq!(e, *expected, "{yaml}");
                assert!(line >= 1, "{yaml}");
            }
            other => panic!("{yaml}: expected WrongType, got {other:?}"),
        }
    }
    let err = fail(&rule_yaml("priority: 99999999999999999999\n"));
    assert!(
        matches!(
            err,
            PolicyError::WrongType { .. } | PolicyError::Invalid { .. }
        ),
        "{err:?}"
    );
    invalid_at(
        &rule_yaml("priority: 9223372036854775808\n"),
        "rules[0].priority",
        "out of range",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, min_score: .nan}\n",
        "mcp_trust.min_score",
        "finite",
    );
}

#[test]
fn nulls_mean_not_set() {
    let p = load(
        "schema_id: ~\nschema_version:\ndefault_verdict: null\nfail_closed: ~\nscripts:\nmcp_trust: ~\n\
         rules:\n  - name: r\n    effect: allow\n    priority: ~\n    match: ~\n    reason_codes: [~, a]\n",
    );
    assert_eq!(p.rules()[0].reason_codes, ["a"]);
    let base = load("rules:\n  - name: r\n    effect: allow\n    reason_codes: [a]\n");
    assert_eq!(p.digest(), base.digest());
}

#[test]
fn legacy_proposal_fields_are_rejected_with_migration_details() {
    let err = fail("trust_sources: [snyk]\nversion: 1\ndefaults:\n  action: block\nrules: []\n");
    match &err {
        PolicyError::LegacyFields {
            fields,
            message,
            line,
            ..
        } => {
            assert_eq!(fields, &["version", "defaults", "trust_sources"]);
            assert_eq!(*line, 1);
            for needle in [
                "legacy policy proposal fields are not supported [version, defaults, trust_sources]",
                "version->schema_id|schema_version",
                "defaults->default_verdict|fail_closed",
                "trust_sources->mcp_trust.snapshot",
            ] {
                assert!(message.contains(needle), "{message}");
            }
        }
        other => panic!("expected LegacyFields, got {other:?}"),
    }
    // Detected before any other error, and with surrounding spaces.
    let err = fail("' name ': x\nunknown_key: 1\n");
    assert!(
        err.to_string()
            .contains("name->remove the top-level policy name"),
        "{err}"
    );
    assert!(matches!(
        fail("boundaries: []\n"),
        PolicyError::LegacyFields { .. }
    ));
    assert!(matches!(
        fail("unknown_server: block\n"),
        PolicyError::LegacyFields { .. }
    ));
}

// ---- validation -----------------------------------------------------------------

#[test]
fn top_level_validation_errors() {
    invalid_at(
        "schema_id: gait.gate.other\n",
        "schema_id",
        "unsupported policy schema_id",
    );
    invalid_at(
        "schema_id: ' gait.gate.policy'\n",
        "schema_id",
        "unsupported policy schema_id",
    );
    invalid_at(
        "schema_version: 2.0.0\n",
        "schema_version",
        "unsupported policy schema_version",
    );
    invalid_at(
        "default_verdict: nope\n",
        "default_verdict",
        "invalid default_verdict: nope",
    );
    invalid_at(
        "default_action: nope\n",
        "default_action",
        "invalid default_verdict: nope",
    );
    invalid_at(
        "default_verdict: allow\ndefault_action: block\n",
        "default_action",
        "must match default_verdict",
    );
    invalid_at(
        "fail_closed: {required_fields: [targets, unknown]}\n",
        "fail_closed.required_fields[1]",
        "unsupported fail_closed required_field: unknown",
    );
    invalid_at(
        "fail_closed: {required_high_risk_fields: [agent_id, Nope]}\n",
        "fail_closed.required_high_risk_fields[1]",
        "unsupported fail_closed required_high_risk_field: nope",
    );
    invalid_at(
        "scripts: {max_steps: -1}\n",
        "scripts.max_steps",
        "must be >= 0",
    );
    invalid_at(
        "scripts: {require_approval_above: -2}\n",
        "scripts.require_approval_above",
        "must be >= 0",
    );
}

#[test]
fn mcp_trust_validation_errors() {
    invalid_at(
        "mcp_trust: {enabled: true}\n",
        "mcp_trust.snapshot",
        "is required",
    );
    invalid_at(
        "mcp_trust: {snapshot: '  ', require_registry: true}\n",
        "mcp_trust.snapshot",
        "is required",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, action: allow}\n",
        "mcp_trust.action",
        "unsupported mcp_trust.action",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, min_score: 1.2}\n",
        "mcp_trust.min_score",
        "between 0 and 1",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, enabled: true, min_score: -0.1}\n",
        "mcp_trust.min_score",
        "between 0 and 1",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, max_age: 1d}\n",
        "mcp_trust.max_age",
        "unknown unit",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, max_age: '10'}\n",
        "mcp_trust.max_age",
        "missing unit",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, max_age: 0s}\n",
        "mcp_trust.max_age",
        "must be > 0",
    );
    invalid_at(
        "mcp_trust: {snapshot: s, max_age: -1h}\n",
        "mcp_trust.max_age",
        "must be > 0",
    );
}

#[test]
fn rule_core_validation_errors() {
    let err = invalid_at(
        "rules:\n  - effect: allow\n",
        "rules[0].name",
        "rule name is required",
    );
    assert_eq!(err.position(), Some((2, 5)));
    invalid_at(
        "rules:\n  - {name: '  ', effect: allow}\n",
        "rules[0].name",
        "rule name is required",
    );
    invalid_at("rules:\n  - ~\n", "rules[0].name", "rule name is required");
    invalid_at(
        "rules:\n  - {name: r}\n",
        "rules[0].effect",
        "rule effect is required for r",
    );
    invalid_at(
        "rules:\n  - {name: r, effect: nope}\n",
        "rules[0].effect",
        "invalid rule effect \"nope\" for r",
    );
    invalid_at(
        "rules:\n  - {name: r, action: nope}\n",
        "rules[0].action",
        "invalid rule effect",
    );
    invalid_at(
        "rules:\n  - {name: a, effect: allow}\n  - {name: b, effect: allow, action: block}\n",
        "rules[1].action",
        "rule action must match effect for b",
    );
    invalid_at(
        &rule_yaml("min_approvals: -1\n"),
        "rules[0].min_approvals",
        "min_approvals must be >= 0 for r1",
    );
}

#[test]
fn selector_validation_errors() {
    invalid_at(
        &rule_yaml("match: {endpoint_classes: [net.invalid]}\n"),
        "rules[0].match.endpoint_classes[0]",
        "unsupported match endpoint_class \"net.invalid\"",
    );
    invalid_at(
        &rule_yaml("match: {endpoint_class: [fs.read, Bogus]}\n"),
        "rules[0].match.endpoint_class[1]",
        "unsupported match endpoint_class \"bogus\"",
    );
    invalid_at(
        &rule_yaml("match: {discovery_method: [unsupported]}\n"),
        "rules[0].match.discovery_method[0]",
        "unsupported match discovery_method",
    );
    invalid_at(
        &rule_yaml("match: {max_delegation_depth: -1}\n"),
        "rules[0].match.max_delegation_depth",
        "max_delegation_depth must be >= 0",
    );
    assert!(matches!(
        fail(&rule_yaml("match: {tool_annotations: {readOnlyHint: 1}}\n")),
        PolicyError::WrongType { .. }
    ));
}

#[test]
fn agent_credential_and_context_validation_errors() {
    invalid_at(
        &rule_yaml("required_agent_manifest_digest: abc\n"),
        "rules[0].required_agent_manifest_digest",
        "must be sha256 hex",
    );
    invalid_at(
        &rule_yaml(&format!(
            "required_agent_manifest_digest: {}\n",
            "g".repeat(64)
        )),
        "rules[0].required_agent_manifest_digest",
        "must be sha256 hex",
    );
    invalid_at(
        &rule_yaml("allowed_credential_sources: [aws_sts, magic]\n"),
        "rules[0].allowed_credential_sources[1]",
        "unsupported allowed_credential_source \"magic\"",
    );
    invalid_at(
        &rule_yaml("allowed_credential_access_types: [forever]\n"),
        "rules[0].allowed_credential_access_types[0]",
        "unsupported allowed_credential_access_type",
    );
    invalid_at(
        &rule_yaml("max_credential_ttl_seconds: -5\n"),
        "rules[0].max_credential_ttl_seconds",
        "must be >= 0",
    );
    invalid_at(
        &rule_yaml("required_context_evidence_mode: optional\n"),
        "rules[0].required_context_evidence_mode",
        "must be required",
    );
    invalid_at(
        &rule_yaml("max_context_age_seconds: -1\n"),
        "rules[0].max_context_age_seconds",
        "must be >= 0",
    );
}

#[test]
fn freeze_window_validation_errors() {
    invalid_at(
        &rule_yaml("freeze_window: {reason: x}\n"),
        "rules[0].freeze_window.timezone",
        "freeze_window.timezone is required for r1",
    );
    invalid_at(
        &rule_yaml(
            "freeze_window: {timezone: UTC, effect: allow, windows: [{start: a, end: b}]}\n",
        ),
        "rules[0].freeze_window.effect",
        "unsupported freeze_window.effect",
    );
    invalid_at(
        &rule_yaml("freeze_window: {enabled: true, timezone: UTC}\n"),
        "rules[0].freeze_window.windows",
        "freeze_window.windows is required",
    );
    invalid_at(
        &rule_yaml("freeze_window: {timezone: UTC, windows: [{start: a, end: b}, {start: ' '}]}\n"),
        "rules[0].freeze_window.windows[1]",
        "start and end are required",
    );
}

#[test]
fn sandbox_validation_errors() {
    invalid_at(
        &rule_yaml("sandbox: {allowed_network_modes: [internet]}\n"),
        "rules[0].sandbox.allowed_network_modes[0]",
        "unsupported sandbox.allowed_network_mode",
    );
    invalid_at(
        &rule_yaml("sandbox: {allowed_writable_path_prefixes: [/tmp, 'API_TOKEN=abc']}\n"),
        "rules[0].sandbox.allowed_writable_path_prefixes[1]",
        "sandbox.allowed_writable_path_prefixes[1] must not contain raw environment variable assignments",
    );
    invalid_at(
        &rule_yaml("sandbox: {required_read_only_roots: ['./HOME=/x']}\n"),
        "rules[0].sandbox.required_read_only_roots[0]",
        "raw environment variable assignments",
    );
    invalid_at(
        &rule_yaml("sandbox: {allowed_env_exposure_modes: [some]}\n"),
        "rules[0].sandbox.allowed_env_exposure_modes[0]",
        "unsupported sandbox.allowed_env_exposure_mode",
    );
    invalid_at(
        &rule_yaml("sandbox: {allowed_filesystem_isolations: [vm]}\n"),
        "rules[0].sandbox.allowed_filesystem_isolations[0]",
        "unsupported sandbox.allowed_filesystem_isolation",
    );
    invalid_at(
        &rule_yaml("sandbox: {allowed_user_modes: [admin]}\n"),
        "rules[0].sandbox.allowed_user_modes[0]",
        "unsupported sandbox.allowed_user_mode",
    );
    invalid_at(
        &rule_yaml("sandbox: {max_timeout_seconds: -1}\n"),
        "rules[0].sandbox.max_timeout_seconds",
        "must be >= 0",
    );
}

#[test]
fn rate_limit_and_budget_validation_errors() {
    invalid_at(
        &rule_yaml("rate_limit: {requests: -1}\n"),
        "rules[0].rate_limit.requests",
        "must be >= 0",
    );
    invalid_at(
        &rule_yaml("rate_limit: {requests: 1, window: day}\n"),
        "rules[0].rate_limit.window",
        "unsupported rate_limit.window \"day\"",
    );
    invalid_at(
        &rule_yaml("rate_limit: {requests: 1, scope: global}\n"),
        "rules[0].rate_limit.scope",
        "unsupported rate_limit.scope",
    );
    invalid_at(
        &rule_yaml("destructive_budget: {window: hour}\n"),
        "rules[0].destructive_budget.requests",
        "destructive_budget.requests must be >= 1",
    );
    invalid_at(
        &rule_yaml("destructive_budget: {requests: -3}\n"),
        "rules[0].destructive_budget.requests",
        "must be >= 0",
    );
    invalid_at(
        &rule_yaml("destructive_budget: {requests: 1, scope: everyone}\n"),
        "rules[0].destructive_budget.scope",
        "unsupported destructive_budget.scope",
    );
}

#[test]
fn dataflow_and_endpoint_validation_errors() {
    invalid_at(
        &rule_yaml("dataflow: {enabled: true, action: allow}\n"),
        "rules[0].dataflow.action",
        "unsupported dataflow.action \"allow\"",
    );
    invalid_at(
        &rule_yaml("endpoint: {enabled: true, action: dry_run}\n"),
        "rules[0].endpoint.action",
        "unsupported endpoint.action",
    );
    invalid_at(
        &rule_yaml("endpoint: {destructive_action: allow}\n"),
        "rules[0].endpoint.destructive_action",
        "unsupported endpoint.destructive_action",
    );
    invalid_at(
        &rule_yaml("endpoint: {egress_classes: [fs.write]}\n"),
        "rules[0].endpoint.egress_classes[0]",
        "must be network class",
    );
    invalid_at(
        &rule_yaml("endpoint: {egress_classes: [net.ftp]}\n"),
        "rules[0].endpoint.egress_classes[0]",
        "unsupported endpoint.egress_class",
    );
}

// ---- entry points ------------------------------------------------------------------

#[test]
fn bytes_and_size_limits() {
    assert!(matches!(
        Policy::from_yaml_bytes(b"default_verdict: \xff\n"),
        Err(PolicyError::NotUtf8 { .. })
    ));
    let big = vec![b'#'; MAX_POLICY_BYTES + 1];
    assert!(matches!(
        Policy::from_yaml_bytes(&big),
        Err(PolicyError::TooLarge { .. })
    ));
    assert_eq!(
        Policy::from_yaml_bytes(b"").unwrap().digest().to_hex(),
        DEFAULT_POLICY_DIGEST
    );
}

#[test]
fn from_path_reports_the_file() {
    let dir = std::env::temp_dir().join(format!("gait-policy-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(&good, "default_verdict: block\n").unwrap();
    assert_eq!(
        Policy::from_path(&good).unwrap().default_verdict(),
        Verdict::Block
    );

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "rules:\n  - name: r\n    effect: maybe\n").unwrap();
    let err = Policy::from_path(&bad).unwrap_err();
    assert_eq!(err.path(), Some(bad.as_path()));
    assert_eq!(err.position(), Some((3, 13)));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:3:13: rules[0].effect: ", bad.display())),
        "{err}"
    );

    let big = dir.join("big.yaml");
    std::fs::write(&big, vec![b'#'; MAX_POLICY_BYTES + 10]).unwrap();
    let err = Policy::from_path(&big).unwrap_err();
    assert!(
        matches!(err, PolicyError::TooLarge { size, .. } if size == MAX_POLICY_BYTES as u64 + 10)
    );

    let missing = dir.join("missing.yaml");
    let err = Policy::from_path(&missing).unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }));
    assert_eq!(err.path(), Some(missing.as_path()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn verdict_and_action_names_round_trip() {
    for v in Verdict::ALL {
        assert_eq!(Verdict::from_name(v.as_str()), Some(v));
        assert_eq!(v.to_string(), v.as_str());
    }
    assert_eq!(Verdict::from_name("Allow"), None);
    for a in [ConstraintAction::Block, ConstraintAction::RequireApproval] {
        assert_eq!(ConstraintAction::from_name(a.as_str()), Some(a));
        assert_eq!(a.verdict().as_str(), a.as_str());
    }
    assert_eq!(RateLimitWindow::Hour.duration().as_secs(), 3600);
    assert_eq!(RateLimitScope::ToolIdentity.as_str(), "tool_identity");
}
