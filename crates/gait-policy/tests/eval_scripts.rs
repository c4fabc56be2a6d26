//! Script intents (spec §3.4): per-step verdicts, aggregation, composite
//! risk and the script limits (`max_steps`, `require_approval_above`,
//! `block_mixed_risk`). Then property tests: evaluation is deterministic,
//! and malformed policies and intents (random bytes, mutated YAML/JSON)
//! never panic and never produce `allow`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use gait_digest::GoTime;
use gait_policy::eval::{Decision, EvalOptions, StepVerdict, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, Verdict};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------- helpers

fn now() -> GoTime {
    GoTime::parse("2026-03-10T12:00:00Z").unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml_str(yaml).unwrap_or_else(|e| panic!("policy must load: {e}\n{yaml}"))
}

fn intent(value: &Value) -> Intent {
    Intent::from_value(value).unwrap_or_else(|e| panic!("intent must load: {e}\n{value:#}"))
}

fn eval(p: &Policy, i: &Value) -> Decision {
    evaluate(p, &intent(i), &EvalOptions::at(now()))
}

fn strs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[track_caller]
fn expect(d: &Decision, verdict: &str, reasons: &[&str], violations: &[&str], matched: &str) {
    let got = (
        d.verdict().as_str(),
        d.reason_codes().to_vec(),
        d.violations().to_vec(),
        d.matched_rule().to_owned(),
    );
    let want = (verdict, strs(reasons), strs(violations), matched.to_owned());
    assert_eq!(got, want, "verdict, reasons, violations, matched_rule");
}

/// A step of `tool` on one target.
fn step(tool: &str, kind: &str, value: &str, op: &str) -> Value {
    json!({
        "tool_name": tool,
        "args": {"target": value},
        "targets": [{"kind": kind, "value": value, "operation": op}],
        "arg_provenance": [{"arg_path": "$.target", "source": "user"}]
    })
}

fn read(path: &str) -> Value {
    step("tool.read", "path", path, "read")
}

fn write(path: &str) -> Value {
    step("tool.write", "path", path, "write")
}

fn script(steps: &[Value]) -> Value {
    json!({
        "tool_name": "tool.ignored",
        "args": {},
        "script": {"steps": steps},
        "context": {"identity": "alice", "workspace": "/repo/app", "risk_class": "medium"}
    })
}

const SCRIPT_RULES: &str = "rules:
  - name: allow-read
    priority: 10
    effect: allow
    match:
      tool_names: [tool.read]
  - name: approve-write
    priority: 20
    effect: require_approval
    min_approvals: 2
    match:
      tool_names: [tool.write]
";

fn script_policy(scripts: &str) -> Policy {
    policy(&format!(
        "default_verdict: block\n{scripts}\n{SCRIPT_RULES}"
    ))
}

fn step_verdict(d: &Decision, index: usize) -> &StepVerdict {
    d.script().unwrap().step_verdicts.get(index).unwrap()
}

#[track_caller]
fn expect_step(
    s: &StepVerdict,
    tool: &str,
    verdict: &str,
    reasons: &[&str],
    violations: &[&str],
    matched: &str,
) {
    let got = (
        s.tool_name.as_str(),
        s.verdict.as_str(),
        s.reason_codes.clone(),
        s.violations.clone(),
        s.matched_rule.as_str(),
    );
    assert_eq!(
        got,
        (tool, verdict, strs(reasons), strs(violations), matched)
    );
}

// ---------------------------------------------------------------- scripts

#[test]
fn steps_are_evaluated_one_by_one_and_aggregated() {
    let p = script_policy("");
    let i = script(&[
        step("  Tool.Read ", "path", "/tmp/a", "read"),
        write("/tmp/b"),
    ]);
    let d = eval(&p, &i);
    expect(
        &d,
        "require_approval",
        &["matched_rule_allow_read", "matched_rule_approve_write"],
        &[],
        "allow-read,approve-write",
    );
    // min_approvals is the maximum over the steps.
    assert_eq!(d.min_approvals(), 2);
    assert!(d.require_distinct_approvers());
    let s = d.script().unwrap();
    assert_eq!(s.step_count, 2);
    assert_eq!(s.composite_risk_class, "medium");
    assert_eq!(s.script_hash, intent(&i).script_hash().unwrap().to_hex());
    assert_eq!(s.step_verdicts[0].index, 0);
    assert_eq!(s.step_verdicts[1].index, 1);
    expect_step(
        &s.step_verdicts[0],
        "tool.read",
        "allow",
        &["matched_rule_allow_read"],
        &[],
        "allow-read",
    );
    expect_step(
        &s.step_verdicts[1],
        "tool.write",
        "require_approval",
        &["matched_rule_approve_write"],
        &[],
        "approve-write",
    );
    // A script is evaluated as `script`.
    assert_eq!(intent(&i).tool_name(), "script");
}

#[test]
fn a_step_without_a_rule_gets_the_default() {
    let p = script_policy("");
    let d = eval(
        &p,
        &script(&[read("/tmp/a"), step("tool.list", "path", "/tmp", "list")]),
    );
    expect(
        &d,
        "block",
        &["default_block", "matched_rule_allow_read"],
        &[],
        "allow-read",
    );
    expect_step(
        step_verdict(&d, 1),
        "tool.list",
        "block",
        &["default_block"],
        &[],
        "",
    );
}

#[test]
fn steps_get_their_own_destructive_adjustment() {
    let p = policy("default_verdict: block\nrules:\n  - name: any\n    effect: allow\n");
    let d = eval(
        &p,
        &script(&[
            read("/tmp/a"),
            step("tool.delete", "path", "/tmp/a", "delete"),
        ]),
    );
    expect(
        &d,
        "require_approval",
        &["destructive_apply_requires_approval", "matched_rule_any"],
        &[],
        "any",
    );
    expect_step(
        step_verdict(&d, 0),
        "tool.read",
        "allow",
        &["matched_rule_any"],
        &[],
        "any",
    );
    expect_step(
        step_verdict(&d, 1),
        "tool.delete",
        "require_approval",
        &["destructive_apply_requires_approval", "matched_rule_any"],
        &[],
        "any",
    );
    assert_eq!(d.min_approvals(), 1);
}

#[test]
fn step_selectors_see_the_step_and_the_shared_context() {
    let p = policy(
        "default_verdict: block
rules:
  - name: alice-reads
    effect: allow
    match:
      identities: [alice]
      target_values: [/tmp/a]
",
    );
    let d = eval(&p, &script(&[read("/tmp/a"), read("/tmp/b")]));
    expect(
        &d,
        "block",
        &["default_block", "matched_rule_alice_reads"],
        &[],
        "alice-reads",
    );
    assert_eq!(step_verdict(&d, 0).verdict.as_str(), "allow");
    assert_eq!(step_verdict(&d, 1).verdict.as_str(), "block");
    // The same rule matched by every step is listed once.
    let d = eval(&p, &script(&[read("/tmp/a"), read("/tmp/a")]));
    expect(
        &d,
        "allow",
        &["matched_rule_alice_reads"],
        &[],
        "alice-reads",
    );
}

#[test]
fn composite_risk_class() {
    let p = policy("default_verdict: allow");
    for (steps, risk) in [
        (vec![read("/a")], "low"),
        (vec![read("/a"), read("/b")], "low"),
        (vec![read("/a"), write("/b")], "medium"),
        (
            vec![
                read("/a"),
                step("tool.get", "url", "https://x.example/", "get"),
            ],
            "medium",
        ),
        (
            vec![read("/a"), step("tool.dns", "host", "x.example", "resolve")],
            "medium",
        ),
        (
            vec![write("/a"), step("tool.delete", "path", "/a", "delete")],
            "high",
        ),
        (
            vec![read("/a"), step("tool.exec", "other", "ls", "exec")],
            "high",
        ),
        (
            vec![json!({
                "tool_name": "tool.read",
                "targets": [{"kind": "path", "value": "/a", "operation": "read", "destructive_hint": true}]
            })],
            "high",
        ),
        (vec![json!({"tool_name": "tool.noop"})], "low"),
    ] {
        let d = eval(&p, &script(&steps));
        assert_eq!(d.script().unwrap().composite_risk_class, risk, "{steps:?}");
    }
}

#[test]
fn script_max_steps() {
    let p = script_policy("scripts:\n  max_steps: 1");
    let d = eval(&p, &script(&[read("/a"), read("/b")]));
    expect(
        &d,
        "block",
        &["matched_rule_allow_read", "script_max_steps_exceeded"],
        &["script_max_steps_exceeded"],
        "allow-read",
    );
    let s = d.script().unwrap();
    assert_eq!((s.step_count, s.composite_risk_class.as_str()), (2, "low"));
    // Every step is still evaluated and reported.
    assert_eq!(s.step_verdicts.len(), 2);
    expect(
        &eval(&p, &script(&[read("/a")])),
        "allow",
        &["matched_rule_allow_read"],
        &[],
        "allow-read",
    );
    // Without max_steps the limit is 64, the most an intent may carry.
    let p = script_policy("");
    let many: Vec<Value> = (0..64).map(|n| read(&format!("/f{n}"))).collect();
    let d = eval(&p, &script(&many));
    expect(&d, "allow", &["matched_rule_allow_read"], &[], "allow-read");
    assert_eq!(d.script().unwrap().step_count, 64);
    let too_many: Vec<Value> = (0..65).map(|n| read(&format!("/f{n}"))).collect();
    assert!(Intent::from_value(&script(&too_many)).is_err());
}

#[test]
fn script_require_approval_above() {
    let p = script_policy("scripts:\n  require_approval_above: 1");
    let d = eval(&p, &script(&[read("/a"), read("/b")]));
    expect(
        &d,
        "require_approval",
        &["matched_rule_allow_read", "script_step_threshold_approval"],
        &[],
        "allow-read",
    );
    assert_eq!(d.min_approvals(), 1);
    // At the threshold nothing changes.
    let d = eval(&p, &script(&[read("/a")]));
    expect(&d, "allow", &["matched_rule_allow_read"], &[], "allow-read");
    assert_eq!(d.min_approvals(), 0);
    let p = script_policy("scripts:\n  require_approval_above: 2");
    expect(
        &eval(&p, &script(&[read("/a"), read("/b")])),
        "allow",
        &["matched_rule_allow_read"],
        &[],
        "allow-read",
    );
    // A step's larger min_approvals is kept.
    let p = script_policy("scripts:\n  require_approval_above: 1");
    let d = eval(&p, &script(&[read("/a"), write("/b")]));
    assert_eq!(d.verdict().as_str(), "require_approval");
    assert_eq!(d.min_approvals(), 2);
}

#[test]
fn script_block_mixed_risk() {
    let p = script_policy("scripts:\n  block_mixed_risk: true");
    let d = eval(&p, &script(&[read("/a"), write("/b")]));
    expect(
        &d,
        "block",
        &[
            "matched_rule_allow_read",
            "matched_rule_approve_write",
            "script_mixed_risk_blocked",
        ],
        &["script_mixed_risk"],
        "allow-read,approve-write",
    );
    // One risk level: not mixed.
    expect(
        &eval(&p, &script(&[read("/a"), read("/b")])),
        "allow",
        &["matched_rule_allow_read"],
        &[],
        "allow-read",
    );
}

#[test]
fn script_limits_combine() {
    let p = script_policy(
        "scripts:\n  max_steps: 2\n  require_approval_above: 1\n  block_mixed_risk: true",
    );
    let d = eval(&p, &script(&[read("/a"), write("/b"), read("/c")]));
    expect(
        &d,
        "block",
        &[
            "matched_rule_allow_read",
            "matched_rule_approve_write",
            "script_max_steps_exceeded",
            "script_mixed_risk_blocked",
            "script_step_threshold_approval",
        ],
        &["script_max_steps_exceeded", "script_mixed_risk"],
        "allow-read,approve-write",
    );
    // As in the reference, a script's min_approvals is not cleared when the
    // verdict is not require_approval (it is only used for that verdict).
    assert_eq!(d.min_approvals(), 2);
}

#[test]
fn script_requirements_aggregate_over_steps() {
    let p = policy(
        "default_verdict: block
rules:
  - name: reads
    effect: allow
    match: {tool_names: [tool.read]}
    rate_limit: {requests: 9}
  - name: writes
    effect: allow
    match: {tool_names: [tool.write]}
    require_broker_credential: true
    broker_reference: vault://w
    rate_limit: {requests: 3, window: hour}
  - name: lists
    effect: allow
    match: {tool_names: [tool.list]}
    require_broker_credential: true
    broker_reference: vault://l
",
    );
    let d = eval(
        &p,
        &script(&[
            read("/a"),
            step("tool.list", "path", "/", "list"),
            write("/b"),
        ]),
    );
    expect(
        &d,
        "allow",
        &[
            "matched_rule_lists",
            "matched_rule_reads",
            "matched_rule_writes",
        ],
        &[],
        "lists,reads,writes",
    );
    assert!(d.require_broker_credential());
    // The broker reference of the first step that has one.
    assert_eq!(d.broker_reference(), "vault://l");
    // The smallest rate limit.
    let rl = d.rate_limit().unwrap();
    assert_eq!((rl.requests, rl.window.as_str()), (3, "hour"));
}

#[test]
fn script_fail_closed_uses_the_steps_targets() {
    let p = policy(
        "default_verdict: allow\nfail_closed:\n  enabled: true\n  required_fields: [targets, arg_provenance]\n",
    );
    let risky = |steps: &[Value]| {
        let mut v = script(steps);
        v["context"]["risk_class"] = json!("high");
        v
    };
    // Top-level targets and provenance are taken from the steps.
    expect(
        &eval(&p, &risky(&[read("/a")])),
        "allow",
        &["default_allow"],
        &[],
        "",
    );
    let d = eval(&p, &risky(&[read("/a"), step("tool.x", "other", "x", "")]));
    expect(
        &d,
        "block",
        &["fail_closed_endpoint_class_unknown"],
        &["endpoint_class_unknown"],
        "",
    );
    assert!(d.script().is_none());
    let bare = risky(&[json!({"tool_name": "tool.noop"})]);
    expect(
        &eval(&p, &bare),
        "block",
        &[
            "fail_closed_missing_arg_provenance",
            "fail_closed_missing_targets",
        ],
        &["missing_arg_provenance", "missing_targets"],
        "",
    );
}

#[test]
fn script_evaluation_is_reproducible() {
    let p = script_policy("scripts:\n  require_approval_above: 1");
    let i = script(&[read("/a"), write("/b")]);
    let first = eval(&p, &i);
    let second = eval(&p, &i);
    assert_eq!(first, second);
    assert_eq!(
        first.script().unwrap().script_hash,
        second.script().unwrap().script_hash
    );
    // Step order is part of the script hash.
    let swapped = eval(&p, &script(&[write("/b"), read("/a")]));
    assert_ne!(
        first.script().unwrap().script_hash,
        swapped.script().unwrap().script_hash
    );
    assert_eq!(first.verdict(), swapped.verdict());
    assert_eq!(first.reason_codes(), swapped.reason_codes());
}

// ------------------------------------------------------------- properties

/// A policy exercising most of the evaluator, with an `allow` path.
const RICH_POLICY: &str = r#"default_verdict: block
fail_closed:
  enabled: true
  risk_classes: [critical]
  required_fields: [targets]
scripts:
  max_steps: 3
  require_approval_above: 2
rules:
  - name: delegated
    priority: 5
    effect: allow
    match: {require_delegation: true, delegation_scopes: [write]}
  - name: read
    priority: 10
    effect: allow
    match: {tool_names: [tool.read], workspace_prefixes: [/repo]}
    endpoint: {path_denylist: [/etc/**], destructive_action: block}
  - name: write
    priority: 20
    effect: allow
    match: {tool_names: [tool.write, tool.transform]}
    dataflow: {enabled: true, destination_kinds: [path]}
    rate_limit: {requests: 5}
  - name: egress
    priority: 20
    effect: require_approval
    min_approvals: 2
    match: {target_kinds: [url, host]}
    endpoint: {domain_allowlist: ["*.example.com"], egress_classes: [net.http]}
  - name: exec
    priority: 30
    effect: allow
    match: {endpoint_classes: [proc.exec]}
    sandbox: {allowed_network_modes: [disabled], max_timeout_seconds: 60}
  - name: prod
    priority: 40
    effect: allow
    match: {risk_classes: [high]}
    block_standing_credentials: true
    require_declared_agent: true
    freeze_window:
      timezone: America/Toronto
      environments: [prod]
      windows: [{start: "2026-03-10T00:00:00", end: "2026-03-11T00:00:00"}]
"#;

/// A policy with no `allow` anywhere: nothing it loads into may allow.
const NO_ALLOW_POLICY: &str = r#"default_verdict: block
fail_closed:
  enabled: true
  required_fields: [targets, arg_provenance]
  required_high_risk_fields: [run_id]
scripts:
  max_steps: 4
  block_mixed_risk: true
rules:
  - name: reads-need-approval
    priority: 10
    effect: require_approval
    min_approvals: 2
    match:
      tool_names: [tool.read]
      identities: [alice]
    endpoint:
      path_allowlist: [/repo/**]
      action: block
  - name: plans-dry-run
    priority: 20
    effect: dry_run
    match: {risk_classes: [low, medium]}
    dataflow: {enabled: true, action: block}
  - name: agents
    priority: 30
    effect: block
    allowed_agent_ids: [agent-1]
    sandbox: {allowed_user_modes: [unprivileged]}
"#;

fn target_strategy() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["path", "url", "host", "other", "bucket"]),
        prop::sample::select(vec![
            "/etc/passwd",
            "/repo/a",
            "https://api.example.com/x",
            "https://evil.net/y",
            "make test",
        ]),
        prop::sample::select(vec![
            "", "read", "write", "delete", "exec", "post", "resolve",
        ]),
        any::<bool>(),
    )
        .prop_map(|(kind, value, op, hint)| {
            let mut t = serde_json::Map::new();
            t.insert("kind".into(), json!(kind));
            t.insert("value".into(), json!(value));
            if !op.is_empty() {
                t.insert("operation".into(), json!(op));
            }
            if hint {
                t.insert("read_only_hint".into(), json!(true));
            }
            Value::Object(t)
        })
}

fn provenance_strategy() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["user", "external", "tool_output", "system"])
        .prop_map(|s| json!({"arg_path": "$.x", "source": s}))
}

const TOOLS: [&str; 6] = [
    "tool.read",
    "tool.write",
    "tool.delete",
    "tool.exec",
    "tool.post",
    "tool.transform",
];

fn step_strategy() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(TOOLS.to_vec()),
        prop::collection::vec(target_strategy(), 0..3),
        prop::collection::vec(provenance_strategy(), 0..2),
    )
        .prop_map(|(tool, targets, prov)| {
            json!({"tool_name": tool, "args": {"x": 1}, "targets": targets, "arg_provenance": prov})
        })
}

#[derive(Debug, Clone)]
struct Shape {
    tool: &'static str,
    targets: Vec<Value>,
    provenance: Vec<Value>,
    risk: &'static str,
    phase: &'static str,
    identity: &'static str,
    workspace: &'static str,
    environment: &'static str,
    agent: bool,
    credential: Option<&'static str>,
    sandbox: Option<(&'static str, i64)>,
    delegation: Option<&'static str>,
    steps: Option<Vec<Value>>,
}

fn intent_strategy() -> impl Strategy<Value = Value> {
    let head = (
        prop::sample::select(TOOLS.to_vec()),
        prop::collection::vec(target_strategy(), 0..3),
        prop::collection::vec(provenance_strategy(), 0..3),
        prop::sample::select(vec!["low", "medium", "high", "critical"]),
        prop::sample::select(vec!["plan", "apply"]),
        prop::sample::select(vec!["alice", "bob"]),
        prop::sample::select(vec!["/repo/app", "/tmp"]),
    );
    let tail = (
        prop::sample::select(vec!["", "prod", "staging"]),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["jit", "static"])),
        prop::option::of((prop::sample::select(vec!["disabled", "full"]), 0i64..120)),
        prop::option::of(prop::sample::select(vec!["write", "read"])),
        prop::option::of(prop::collection::vec(step_strategy(), 1..5)),
    );
    (head, tail).prop_map(
        |(
            (tool, targets, provenance, risk, phase, identity, workspace),
            (environment, agent, credential, sandbox, delegation, steps),
        )| {
            build_intent(&Shape {
                tool,
                targets,
                provenance,
                risk,
                phase,
                identity,
                workspace,
                environment,
                agent,
                credential,
                sandbox,
                delegation,
                steps,
            })
        },
    )
}

fn build_intent(s: &Shape) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("identity".into(), json!(s.identity));
    c.insert("workspace".into(), json!(s.workspace));
    c.insert("risk_class".into(), json!(s.risk));
    c.insert("phase".into(), json!(s.phase));
    c.insert("environment".into(), json!(s.environment));
    if s.agent {
        c.insert("agent_id".into(), json!("agent-1"));
        c.insert(
            "agent_identity".into(),
            json!({"owner": "team", "lifecycle_states": ["active"]}),
        );
    }
    if let Some(access) = s.credential {
        c.insert("credential_ref".into(), json!("ref:vault/x"));
        c.insert("credential_source".into(), json!("vault_dynamic"));
        c.insert("credential_access_type".into(), json!(access));
    }
    if let Some((network, timeout)) = s.sandbox {
        c.insert("sandbox".into(), json!({
            "network_mode": network,
            "env_exposure_mode": "none",
            "timeout_seconds": timeout,
            "filesystem_isolation": "container",
            "user_mode": "unprivileged",
            "evidence_ref": "sandbox:1",
            "evidence_digest": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        }));
    }
    let mut v = serde_json::Map::new();
    v.insert("created_at".into(), json!("2026-03-10T11:00:00Z"));
    v.insert("tool_name".into(), json!(s.tool));
    v.insert("args".into(), json!({"x": "y"}));
    v.insert("targets".into(), json!(s.targets));
    v.insert("arg_provenance".into(), json!(s.provenance));
    v.insert("context".into(), Value::Object(c));
    if let Some(scope) = s.delegation {
        v.insert(
            "delegation".into(),
            json!({
                "requester_identity": s.identity,
                "scope_class": scope,
                "chain": [{"delegator_identity": "lead", "delegate_identity": s.identity}]
            }),
        );
    }
    if let Some(steps) = &s.steps {
        v.insert("script".into(), json!({"steps": steps}));
    }
    Value::Object(v)
}

/// Structural invariants of any decision.
fn check_invariants(d: &Decision) -> Result<(), TestCaseError> {
    let sorted_unique = |l: &[String]| l.windows(2).all(|w| matches!(w, [a, b] if a < b));
    prop_assert!(
        !d.reason_codes().is_empty(),
        "a decision always has a reason"
    );
    prop_assert!(sorted_unique(d.reason_codes()));
    prop_assert!(sorted_unique(d.violations()));
    prop_assert_eq!(d.permits_execution(), d.verdict() == Verdict::Allow);
    if d.script().is_none() && d.verdict() != Verdict::RequireApproval {
        prop_assert_eq!(d.min_approvals(), 0);
    }
    if d.verdict() == Verdict::RequireApproval {
        prop_assert!(d.min_approvals() >= 1);
    }
    // (Sorting of `matched_rule` is checked deterministically in
    // eval_selectors.rs: mutated rule names may themselves contain commas,
    // so the joined string cannot be split back here.)
    let result = d.gate_result();
    prop_assert_eq!(
        result.get("verdict").and_then(Value::as_str),
        Some(d.verdict().as_str())
    );
    Ok(())
}

/// Byte-level mutations: replace, insert, delete, or truncate.
fn mutate(text: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut out = text.to_vec();
    for &(op, pos, byte) in edits {
        if out.is_empty() {
            out.push(byte);
            continue;
        }
        let at = pos % out.len();
        match op % 5 {
            0 => {
                if let Some(b) = out.get_mut(at) {
                    *b = byte;
                }
            }
            1 => out.insert(at, byte),
            2 => {
                out.remove(at);
            }
            3 => out.truncate(at),
            _ => {
                // Duplicate a line: a repeated key or list item.
                let start = out
                    .get(..at)
                    .and_then(|h| h.iter().rposition(|b| *b == b'\n'))
                    .map_or(0, |p| p + 1);
                let end = out
                    .get(at..)
                    .and_then(|t| t.iter().position(|b| *b == b'\n'))
                    .map_or(out.len(), |p| at + p + 1);
                let line = out.get(start..end).unwrap_or_default().to_vec();
                out.splice(end..end, line);
            }
        }
    }
    out
}

fn edits() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    let byte = prop_oneof![
        prop::sample::select(b" :-[]{}#'\"\n\t,*&!|>%@`0a".to_vec()),
        any::<u8>(),
    ];
    prop::collection::vec((any::<u8>(), any::<usize>(), byte), 1..5)
}

fn base_intent_json() -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "tool_name": "tool.read",
        "args": {"path": "/repo/a"},
        "targets": [{"kind": "path", "value": "/repo/a", "operation": "read"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {"identity": "alice", "workspace": "/repo/app", "risk_class": "high",
                    "run_id": "run-1"}
    }))
    .unwrap()
}

/// Evaluates twice (and through a re-serialized copy of the intent) and
/// checks that the decisions agree.
fn evaluate_reproducibly(p: &Policy, i: &Intent) -> Result<Decision, TestCaseError> {
    let opts = EvalOptions::at(now());
    let first = evaluate(p, i, &opts);
    let second = evaluate(p, i, &opts);
    prop_assert_eq!(&first, &second);
    let reparsed =
        Intent::from_value(&i.to_json()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&evaluate(p, &reparsed, &opts), &first);
    check_invariants(&first)?;
    Ok(first)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn evaluation_is_deterministic(value in intent_strategy()) {
        let p = policy(RICH_POLICY);
        let again = policy(RICH_POLICY);
        let Ok(i) = Intent::from_value(&value) else {
            return Ok(());
        };
        let d = evaluate_reproducibly(&p, &i)?;
        // A policy loaded again from the same text decides the same way.
        prop_assert_eq!(&evaluate(&again, &i, &EvalOptions::at(now())), &d);
        // No allow path in this policy: never allow.
        let strict = policy(NO_ALLOW_POLICY);
        let s = evaluate_reproducibly(&strict, &i)?;
        prop_assert_ne!(s.verdict(), Verdict::Allow);
    }

    #[test]
    fn random_bytes_never_panic_or_allow(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        text in "[ -~\n]{0,200}",
    ) {
        let i = intent(&serde_json::from_slice::<Value>(&base_intent_json()).unwrap());
        for candidate in [bytes.as_slice(), text.as_bytes()] {
            if let Ok(p) = Policy::from_yaml_bytes(candidate) {
                let d = evaluate_reproducibly(&p, &i)?;
                prop_assert_ne!(d.verdict(), Verdict::Allow, "{:?}", String::from_utf8_lossy(candidate));
            }
            if let Ok(garbage) = Intent::from_json_slice(candidate) {
                let d = evaluate_reproducibly(&policy(RICH_POLICY), &garbage)?;
                prop_assert_ne!(d.verdict(), Verdict::Allow);
            }
        }
    }

    #[test]
    fn mutated_policy_yaml_never_panics_or_allows(edits in edits()) {
        let i = intent(&serde_json::from_slice::<Value>(&base_intent_json()).unwrap());
        let script_intent = intent(&script(&[read("/repo/a"), write("/repo/b")]));
        let mutated = mutate(NO_ALLOW_POLICY.as_bytes(), &edits);
        if let Ok(p) = Policy::from_yaml_bytes(&mutated) {
            for candidate in [&i, &script_intent] {
                let d = evaluate_reproducibly(&p, candidate)?;
                prop_assert_ne!(d.verdict(), Verdict::Allow, "{}", String::from_utf8_lossy(&mutated));
            }
        }
        // The rich policy, mutated, may allow; it must still be reproducible.
        let mutated = mutate(RICH_POLICY.as_bytes(), &edits);
        if let Ok(p) = Policy::from_yaml_bytes(&mutated) {
            evaluate_reproducibly(&p, &i)?;
            evaluate_reproducibly(&p, &script_intent)?;
        }
    }

    #[test]
    fn mutated_intent_json_never_panics_or_allows(edits in edits()) {
        let mutated = mutate(&base_intent_json(), &edits);
        if let Ok(i) = Intent::from_json_slice(&mutated) {
            let d = evaluate_reproducibly(&policy(NO_ALLOW_POLICY), &i)?;
            prop_assert_ne!(d.verdict(), Verdict::Allow, "{}", String::from_utf8_lossy(&mutated));
            evaluate_reproducibly(&policy(RICH_POLICY), &i)?;
        }
    }
}
