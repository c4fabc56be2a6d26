//! Arbitrary bytes as an intent request.
//!
//! `Intent::from_json_slice` must never panic. An intent that loads must
//! evaluate against a fixed policy (which configures every kind of rule
//! constraint, so fuzzed intents reach all of the evaluator) without
//! panicking, and its digests must survive a round trip through its
//! normalized JSON: `to_json()` → `from_value`, and the same document as
//! text → `from_json_slice`.

#![no_main]

use std::sync::LazyLock;

use gait_digest::GoTime;
use gait_policy::eval::{EvalOptions, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, Verdict};
use libfuzzer_sys::fuzz_target;

/// A policy whose rules, between them, use every selector family and every
/// constraint: endpoint lists, dataflow, context evidence, agent identity,
/// credentials, a freeze window (one window open at the evaluation time),
/// sandbox, delegation, skills, tool annotations, a CEL condition, rate
/// limits and fail-closed requirements.
const POLICY: &str = r#"schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: require_approval
fail_closed:
  enabled: true
  risk_classes: [critical]
  required_fields: [targets, arg_provenance, endpoint_class, delegation, context_evidence]
scripts:
  max_steps: 4
  require_approval_above: 2
  block_mixed_risk: true
rules:
  - name: endpoint-guard
    priority: 10
    effect: allow
    match:
      tool_names: [tool.write, tool.read, tool.delete, tool.exec, tool.fetch]
    endpoint:
      enabled: true
      path_allowlist: [/tmp/**, "/work/*/src", "/data/[a-c]?"]
      path_denylist: [/etc/**, "*.pem"]
      domain_allowlist: ["*.example.com", api.example.org]
      domain_denylist: [evil.example.com]
      egress_classes: [net.http]
      destructive_action: require_approval
      action: block
      reason_code: endpoint_violation
      violation: endpoint_violation
    dataflow:
      enabled: true
      tainted_sources: [external, tool_output]
      destination_kinds: [host, url]
      action: block
    rate_limit: {requests: 5, window: minute, scope: identity}
    destructive_budget: {requests: 2, window: hour, scope: tool_identity}
    reason_codes: [endpoint_ok]
  - name: evidence-and-agent
    priority: 10
    effect: allow
    require_context_evidence: true
    required_context_evidence_mode: required
    max_context_age_seconds: 300
    require_declared_agent: true
    allowed_agent_ids: [agent.a, agent.b]
    denied_agent_ids: [agent.evil]
    required_agent_lifecycle_states: [approved]
    require_agent_owner: true
    require_unexpired_agent: true
    allowed_agent_manifest_publishers: [acme]
    allowed_agent_manifest_sources: [registry]
    match:
      risk_classes: [high, medium, low]
    reason_codes: [agent_ok]
  - name: credentials
    priority: 10
    effect: require_approval
    min_approvals: 2
    require_distinct_approvers: true
    require_broker_credential: true
    broker_reference: broker-a
    broker_scopes: [write, read]
    block_standing_credentials: true
    allowed_credential_sources: [aws_sts, vault_dynamic]
    allowed_credential_issuers: [sts.amazonaws.com]
    allowed_credential_access_types: [jit]
    max_credential_ttl_seconds: 900
    require_jit_credential: true
    match:
      workspace_prefixes: [/repo, /tmp]
    reason_codes: [credential_ok]
  - name: freeze-and-sandbox
    priority: 10
    effect: allow
    freeze_window:
      timezone: America/Toronto
      effect: require_approval
      environments: [prod, staging]
      windows:
        - name: open-now
          start: "2026-02-04T00:00:00"
          end: "2026-02-06T00:00:00"
        - name: later
          start: "2026-03-10T09:00:00"
          end: "2026-03-10T12:00:00"
    sandbox:
      allowed_network_modes: [disabled, egress_allowlist]
      allowed_writable_path_prefixes: [/tmp/work]
      required_read_only_roots: [/repo]
      allowed_env_exposure_modes: [none]
      max_timeout_seconds: 60
      allowed_filesystem_isolations: [workspace, container]
      allowed_user_modes: [unprivileged]
    match:
      endpoint_classes: [proc.exec, fs.write, fs.delete, net.http]
    reason_codes: [sandbox_ok]
  - name: delegated
    priority: 20
    effect: allow
    match:
      require_delegation: true
      allowed_delegator_identities: [agent.lead]
      allowed_delegate_identities: [agent.specialist]
      delegation_scopes: [write]
      max_delegation_depth: 2
      skill_publishers: [acme]
      skill_sources: [registry]
      data_classes: [internal]
      discovery_method: [mcp]
      destination_operations: [write]
      tool_annotations:
        readOnlyHint: false
        destructiveHint: true
    reason_codes: [delegated_ok]
  - name: wrkr-context
    priority: 30
    effect: dry_run
    match:
      context_tool_names: [tool.write]
      context_data_classes: [secret]
      context_endpoint_classes: [net.http]
      context_autonomy_levels: [high]
      identities: [bench-user]
      target_values: [/tmp/out.txt]
      destination_kinds: [path]
      destination_values: [/tmp/out.txt]
      provenance_sources: [user]
  - name: cel-condition
    priority: 40
    effect: block
    match:
      when: "intent.tool_name.startsWith('tool.') && size(intent.targets) > 1"
    violations: [too_many_targets]
"#;

static FIXED: LazyLock<(Policy, EvalOptions)> = LazyLock::new(|| {
    let policy = Policy::from_yaml_str(POLICY).expect("the fixed policy loads");
    // 2026-02-05T00:00:00Z: inside the `open-now` freeze window.
    let opts = EvalOptions::at(GoTime::from_unix(1_770_249_600, 0));
    (policy, opts)
});

fuzz_target!(|data: &[u8]| {
    let Ok(intent) = Intent::from_json_slice(data) else {
        return;
    };
    let (policy, opts) = &*FIXED;
    let decision = evaluate(policy, &intent, opts);
    assert_eq!(
        decision.permits_execution(),
        decision.verdict() == Verdict::Allow
    );
    for list in [decision.reason_codes(), decision.violations()] {
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "not sorted and unique: {list:?}"
        );
    }
    let _ = evaluate(policy, &intent.prepared(), opts);

    // Digests are stable across the normalized JSON.
    let json = intent.to_json();
    let again = Intent::from_value(&json).expect("to_json output must load");
    assert_eq!(
        again.intent_digest(),
        intent.intent_digest(),
        "intent_digest"
    );
    assert_eq!(again.args_digest(), intent.args_digest(), "args_digest");
    assert_eq!(again.script_hash(), intent.script_hash(), "script_hash");
    let text = serde_json::to_vec(&json).expect("serializes");
    let parsed = Intent::from_json_slice(&text).expect("to_json text must load");
    assert_eq!(
        parsed.intent_digest(),
        intent.intent_digest(),
        "intent_digest (text)"
    );
    assert_eq!(
        parsed.args_digest(),
        intent.args_digest(),
        "args_digest (text)"
    );
    assert_eq!(
        parsed.script_hash(),
        intent.script_hash(),
        "script_hash (text)"
    );
});
