//! Rule-level constraints (spec §2.2 and §3.3 steps 1–8): dataflow,
//! endpoint, context evidence, agent identity, credential, freeze window,
//! sandbox, the destructive/plan adjustments, and the fail-closed checks
//! (§3.2 step 2). Every case asserts the exact verdict, reason codes,
//! violations and matched rule.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use gait_digest::GoTime;
use gait_policy::eval::{Decision, EvalOptions, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::Policy;
use serde_json::{Value, json};

// ---------------------------------------------------------------- helpers

const NOW: &str = "2026-03-10T12:00:00Z";
const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEX_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn at(t: &str) -> GoTime {
    GoTime::parse(t).unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml_str(yaml).unwrap_or_else(|e| panic!("policy must load: {e}\n{yaml}"))
}

fn intent(value: &Value) -> Intent {
    Intent::from_value(value).unwrap_or_else(|e| panic!("intent must load: {e}\n{value:#}"))
}

fn eval_at(p: &Policy, i: &Value, t: &str) -> Decision {
    evaluate(p, &intent(i), &EvalOptions::at(at(t)))
}

fn eval(p: &Policy, i: &Value) -> Decision {
    eval_at(p, i, NOW)
}

/// A low-risk read of one path, with user provenance.
fn base() -> Value {
    json!({
        "tool_name": "tool.read",
        "args": {"path": "/srv/data/a.txt"},
        "targets": [{"kind": "path", "value": "/srv/data/a.txt", "operation": "read"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {"identity": "alice", "workspace": "/repo/app", "risk_class": "low"}
    })
}

fn with(mut v: Value, edit: impl FnOnce(&mut Value)) -> Value {
    edit(&mut v);
    v
}

fn targets(v: Value, list: Value) -> Value {
    with(v, |v| v["targets"] = list)
}

/// The intent's `context` object.
fn context(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    v.get_mut("context").and_then(Value::as_object_mut).unwrap()
}

fn ctx(v: Value, key: &str, value: Value) -> Value {
    with(v, |v| {
        context(v).insert(key.to_owned(), value);
    })
}

/// A block-by-default policy with one rule `c` of the given effect and the
/// given extra rule-level YAML (each line indented under the rule).
fn rule(effect: &str, extra: &str) -> Policy {
    let mut body = String::new();
    for line in extra.trim_end().lines() {
        body.push_str("    ");
        body.push_str(line);
        body.push('\n');
    }
    policy(&format!(
        "default_verdict: block\nrules:\n  - name: c\n    effect: {effect}\n{body}"
    ))
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

/// The rule `c` matched and its constraint did not fire.
#[track_caller]
fn expect_clean(d: &Decision, verdict: &str) {
    expect(d, verdict, &["matched_rule_c"], &[], "c");
}

/// The rule `c` (effect `allow`) was blocked by a constraint that adds
/// the same code as reason and violation.
#[track_caller]
fn expect_blocked_by(d: &Decision, codes: &[&str]) {
    let mut reasons = codes.to_vec();
    reasons.push("matched_rule_c");
    reasons.sort_unstable();
    let mut violations = codes.to_vec();
    violations.sort_unstable();
    expect(d, "block", &reasons, &violations, "c");
}

// --------------------------------------------------------------- dataflow

fn tainted_egress() -> Value {
    with(base(), |v| {
        v["tool_name"] = json!("tool.post");
        v["targets"] = json!([{"kind": "host", "value": "api.example.com", "operation": "post"}]);
        v["arg_provenance"] = json!([{"arg_path": "$.body", "source": "external"}]);
    })
}

#[test]
fn dataflow_defaults_flag_tainted_egress() {
    let p = rule("allow", "dataflow:\n  enabled: true");
    let d = eval(&p, &tainted_egress());
    expect(
        &d,
        "require_approval",
        &["dataflow_tainted_destination", "matched_rule_c"],
        &["tainted_dataflow"],
        "c",
    );
    assert!(d.dataflow_triggered());
    assert_eq!(d.min_approvals(), 1);
    // tool_output is tainted by default too.
    let tool_output = with(tainted_egress(), |v| {
        v["arg_provenance"][0]["source"] = json!("tool_output");
    });
    assert_eq!(
        eval(&p, &tool_output).verdict().as_str(),
        "require_approval"
    );
    // Every default egress kind counts.
    for kind in ["host", "url", "bucket", "queue", "topic"] {
        let i = targets(
            tainted_egress(),
            json!([{"kind": kind, "value": "https://x.example/q", "operation": "put"}]),
        );
        assert!(eval(&p, &i).dataflow_triggered(), "{kind}");
    }
}

#[test]
fn dataflow_needs_taint_and_a_destination() {
    let p = rule("allow", "dataflow:\n  enabled: true");
    // Trusted provenance.
    let user = with(tainted_egress(), |v| {
        v["arg_provenance"][0]["source"] = json!("user");
    });
    let d = eval(&p, &user);
    expect_clean(&d, "allow");
    assert!(!d.dataflow_triggered());
    // Tainted, but only a path target: not a default egress kind.
    let path = targets(
        tainted_egress(),
        json!([{"kind": "path", "value": "/tmp/x", "operation": "read"}]),
    );
    expect_clean(&eval(&p, &path), "allow");
    // Tainted, no targets.
    expect_clean(&eval(&p, &targets(tainted_egress(), json!([]))), "allow");
    // Only an action does not enable the constraint.
    let inactive = rule("allow", "dataflow:\n  action: block\n  reason_code: x");
    expect_clean(&eval(&inactive, &tainted_egress()), "allow");
}

#[test]
fn dataflow_replaces_the_rule_effect() {
    // The rule blocks, but the dataflow action (require_approval) replaces
    // the effect instead of raising it.
    let p = rule("block", "dataflow:\n  enabled: true");
    expect(
        &eval(&p, &tainted_egress()),
        "require_approval",
        &["dataflow_tainted_destination", "matched_rule_c"],
        &["tainted_dataflow"],
        "c",
    );
}

#[test]
fn dataflow_destination_selectors_and_custom_codes() {
    let p = rule(
        "allow",
        "dataflow:
  tainted_sources: [external]
  destination_kinds: [path]
  destination_operations: [write]
  action: block
  reason_code: exfil_to_disk
  violation: exfil",
    );
    let write = with(tainted_egress(), |v| {
        v["targets"] = json!([
            {"kind": "path", "value": "/tmp/a", "operation": "read"},
            {"kind": "path", "value": "/tmp/b", "operation": "write"}
        ]);
    });
    expect(
        &eval(&p, &write),
        "block",
        &["exfil_to_disk", "matched_rule_c"],
        &["exfil"],
        "c",
    );
    // Kind and operation must hold on the same target.
    let split = targets(
        tainted_egress(),
        json!([
            {"kind": "path", "value": "/tmp/a", "operation": "read"},
            {"kind": "host", "value": "h.example", "operation": "write"}
        ]),
    );
    expect_clean(&eval(&p, &split), "allow");
    // The default egress kinds no longer apply once a selector is set.
    expect_clean(&eval(&p, &tainted_egress()), "allow");
    // tool_output is not in this rule's tainted sources.
    let tool_output = with(write, |v| {
        v["arg_provenance"][0]["source"] = json!("tool_output");
    });
    expect_clean(&eval(&p, &tool_output), "allow");
}

// --------------------------------------------------------------- endpoint

const EP_CODES: [&str; 1] = ["endpoint_constraint_violation"];

#[track_caller]
fn expect_endpoint(d: &Decision, verdict: &str, codes: &[&str]) {
    let mut reasons: Vec<&str> = codes.iter().copied().chain(EP_CODES).collect();
    reasons.push("matched_rule_c");
    reasons.sort_unstable();
    reasons.dedup();
    let mut violations: Vec<&str> = codes.iter().copied().chain(EP_CODES).collect();
    violations.sort_unstable();
    violations.dedup();
    expect(d, verdict, &reasons, &violations, "c");
}

fn path_read(path: &str) -> Value {
    targets(
        base(),
        json!([{"kind": "path", "value": path, "operation": "read"}]),
    )
}

#[test]
fn endpoint_path_denylist_with_double_star() {
    let p = rule("allow", "endpoint:\n  path_denylist: [/etc/**]");
    expect_endpoint(
        &eval(&p, &path_read("/etc/passwd")),
        "block",
        &["endpoint_path_denied"],
    );
    expect_endpoint(
        &eval(&p, &path_read("/etc/ssh/sshd_config")),
        "block",
        &["endpoint_path_denied"],
    );
    // `X/**` also covers X itself, but not siblings sharing the prefix.
    expect_endpoint(
        &eval(&p, &path_read("/etc")),
        "block",
        &["endpoint_path_denied"],
    );
    expect_clean(&eval(&p, &path_read("/etcetera/x")), "allow");
    expect_clean(&eval(&p, &path_read("/srv/etc/x")), "allow");
}

#[test]
fn endpoint_path_allowlist_with_globs() {
    let p = rule(
        "allow",
        "endpoint:\n  path_allowlist: [/srv/**, /tmp/*.txt, /data/file?]",
    );
    for ok in ["/srv", "/srv/a/b/c", "/tmp/a.txt", "/data/file1"] {
        expect_clean(&eval(&p, &path_read(ok)), "allow");
    }
    // `*` and `?` do not cross `/`; a miss is "not allowlisted".
    for miss in [
        "/tmp/sub/a.txt",
        "/tmp/a.md",
        "/data/file12",
        "/var/x",
        "/srvx",
    ] {
        expect_endpoint(
            &eval(&p, &path_read(miss)),
            "block",
            &["endpoint_path_not_allowlisted"],
        );
    }
    // Only path targets are checked against path lists.
    let url = targets(
        base(),
        json!([{"kind": "url", "value": "https://example.com/etc", "operation": "get"}]),
    );
    expect_clean(&eval(&p, &url), "allow");
}

#[test]
fn endpoint_path_deny_and_not_allowlisted_together() {
    let p = rule(
        "allow",
        "endpoint:\n  path_allowlist: [/srv/**]\n  path_denylist: [/srv/secret/**]\n  action: require_approval",
    );
    expect_clean(&eval(&p, &path_read("/srv/public/x")), "allow");
    expect_endpoint(
        &eval(&p, &path_read("/srv/secret/key")),
        "require_approval",
        &["endpoint_path_denied"],
    );
    let both = targets(
        base(),
        json!([
            {"kind": "path", "value": "/srv/secret/key", "operation": "read"},
            {"kind": "path", "value": "/home/x", "operation": "read"}
        ]),
    );
    expect_endpoint(
        &eval(&p, &both),
        "require_approval",
        &["endpoint_path_denied", "endpoint_path_not_allowlisted"],
    );
}

fn url_get(url: &str) -> Value {
    targets(
        base(),
        json!([{"kind": "url", "value": url, "operation": "get"}]),
    )
}

#[test]
fn endpoint_domain_denylist_with_wildcard_suffix() {
    let p = rule(
        "allow",
        "endpoint:\n  domain_denylist: ['*.evil.com', bad.example]",
    );
    expect_endpoint(
        &eval(&p, &url_get("https://API.Evil.com/x")),
        "block",
        &["endpoint_domain_denied"],
    );
    expect_endpoint(
        &eval(&p, &url_get("https://a.b.evil.com/")),
        "block",
        &["endpoint_domain_denied"],
    );
    expect_endpoint(
        &eval(&p, &url_get("http://bad.example:8080/")),
        "block",
        &["endpoint_domain_denied"],
    );
    // `*.evil.com` does not cover `evil.com` itself.
    expect_clean(&eval(&p, &url_get("https://evil.com/")), "allow");
    expect_clean(&eval(&p, &url_get("https://notevil.com/")), "allow");
    // Path targets have no domain.
    expect_clean(&eval(&p, &base()), "allow");
}

#[test]
fn endpoint_domain_allowlist() {
    let p = rule(
        "allow",
        "endpoint:\n  domain_allowlist: [example.com, '*.example.org', 'api-?.example.net']",
    );
    for ok in [
        "https://example.com/a",
        "https://a.b.example.org/",
        "https://api-1.example.net/",
    ] {
        expect_clean(&eval(&p, &url_get(ok)), "allow");
    }
    for miss in [
        "https://www.example.com/",
        "https://example.org/",
        "https://api-12.example.net/",
    ] {
        expect_endpoint(
            &eval(&p, &url_get(miss)),
            "block",
            &["endpoint_domain_not_allowlisted"],
        );
    }
    // Host targets get their domain from the value.
    let host = targets(
        base(),
        json!([{"kind": "host", "value": "https://other.net:443/x", "operation": "get"}]),
    );
    expect_endpoint(
        &eval(&p, &host),
        "block",
        &["endpoint_domain_not_allowlisted"],
    );
    // An explicit endpoint_domain is used as given.
    let explicit = targets(
        base(),
        json!([{"kind": "other", "value": "x", "endpoint_domain": "EXAMPLE.COM"}]),
    );
    expect_clean(&eval(&p, &explicit), "allow");
}

#[test]
fn endpoint_egress_classes() {
    let p = rule("allow", "endpoint:\n  egress_classes: [net.dns]");
    expect_endpoint(
        &eval(&p, &url_get("https://example.com/")),
        "block",
        &["endpoint_egress_class_not_allowed"],
    );
    let dns = targets(
        base(),
        json!([{"kind": "host", "value": "example.com", "operation": "resolve"}]),
    );
    expect_clean(&eval(&p, &dns), "allow");
    // Non-network classes are not egress.
    expect_clean(&eval(&p, &base()), "allow");
    // Only net.* classes may be configured.
    let bad =
        "rules:\n  - name: c\n    effect: allow\n    endpoint:\n      egress_classes: [fs.read]\n";
    assert!(Policy::from_yaml_str(bad).is_err());
}

fn delete_target() -> Value {
    with(base(), |v| {
        v["tool_name"] = json!("tool.delete");
        v["targets"] = json!([{"kind": "path", "value": "/srv/data/a.txt", "operation": "delete"}]);
    })
}

#[test]
fn endpoint_destructive_action() {
    let p = rule(
        "allow",
        "endpoint:\n  action: require_approval\n  destructive_action: require_approval",
    );
    let d = eval(&p, &delete_target());
    expect(
        &d,
        "require_approval",
        &[
            "destructive_apply_requires_approval",
            "endpoint_constraint_violation",
            "endpoint_destructive_operation",
            "matched_rule_c",
        ],
        &["destructive_operation", "endpoint_constraint_violation"],
        "c",
    );
    // Non-destructive: nothing fires.
    expect_clean(&eval(&p, &base()), "allow");
    // destructive_action raises the action.
    let p = rule(
        "allow",
        "endpoint:\n  action: require_approval\n  destructive_action: block\n  reason_code: ep_reason\n  violation: ep_violation",
    );
    expect(
        &eval(&p, &delete_target()),
        "block",
        &[
            "destructive_apply_requires_approval",
            "endpoint_destructive_operation",
            "ep_reason",
            "matched_rule_c",
        ],
        &["destructive_operation", "ep_violation"],
        "c",
    );
    // The action alone does not enable the constraint.
    let inactive = rule("allow", "endpoint:\n  action: require_approval");
    expect_clean(&eval(&inactive, &path_read("/etc/passwd")), "allow");
}

// ------------------------------------------------------- context evidence

#[test]
fn context_evidence_required_blocks_without_an_envelope() {
    let p = rule("allow", "require_context_evidence: true");
    let blocked = [
        "context_evidence_missing",
        "context_evidence_mode_mismatch",
        "context_set_digest_missing",
        "matched_rule_c",
    ];
    let violations = [
        "context_evidence_mode_violation",
        "missing_context_evidence",
    ];
    expect(&eval(&p, &base()), "block", &blocked, &violations, "c");
    // Claims in the intent itself are not evidence: without a verified
    // envelope they are stripped before evaluation (spec §1.3), so the
    // verdict is the same, and the evaluated digest is the prepared one.
    let claims = with(base(), |v| {
        v["context"]["context_set_digest"] = json!(HEX_A);
        v["context"]["context_evidence_mode"] = json!("required");
        v["context"]["context_refs"] = json!(["ctx://1"]);
        v["context"]["auth_context"] = json!({"context_age_seconds": 1});
    });
    let d = eval(&p, &claims);
    expect(&d, "block", &blocked, &violations, "c");
    let raw = intent(&claims);
    assert_eq!(d.intent_digest(), &raw.prepared().intent_digest());
    assert_ne!(d.intent_digest(), &raw.intent_digest());
    assert_eq!(d.intent_digest(), &intent(&base()).intent_digest());
    // A rule without context requirements ignores evidence.
    expect_clean(&eval(&rule("allow", ""), &base()), "allow");
}

#[test]
fn context_evidence_mode_and_freshness() {
    let p = rule("allow", "required_context_evidence_mode: REQUIRED");
    expect(
        &eval(&p, &base()),
        "block",
        &[
            "context_evidence_missing",
            "context_evidence_mode_mismatch",
            "context_set_digest_missing",
            "matched_rule_c",
        ],
        &[
            "context_evidence_mode_violation",
            "missing_context_evidence",
        ],
        "c",
    );
    let p = rule("allow", "max_context_age_seconds: 60");
    expect(
        &eval(&p, &base()),
        "block",
        &[
            "context_evidence_missing",
            "context_freshness_exceeded",
            "context_set_digest_missing",
            "matched_rule_c",
        ],
        &["context_freshness_violation", "missing_context_evidence"],
        "c",
    );
    assert!(
        Policy::from_yaml_str(
            "rules:\n  - name: c\n    effect: allow\n    required_context_evidence_mode: best_effort\n"
        )
        .is_err()
    );
}

// --------------------------------------------------------- agent identity

fn agent(identity: Value) -> Value {
    with(base(), |v| {
        context(v).insert("agent_id".into(), json!("agent-7"));
        context(v).insert("agent_identity".into(), identity);
    })
}

fn good_agent() -> Value {
    agent(json!({
        "owner": "team-a",
        "lifecycle_states": ["active", "approved", "extra"],
        "manifest_digest": HEX_A,
        "publisher": "ACME",
        "source": "Registry",
        "issued_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-04-01T00:00:00Z"
    }))
}

const ALL_AGENT_RULES: &str = "require_declared_agent: true
allowed_agent_ids: [agent-7, agent-8]
denied_agent_ids: [agent-666]
required_agent_manifest_digest: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
allowed_agent_manifest_publishers: [acme]
allowed_agent_manifest_sources: [registry]
required_agent_lifecycle_states: [approved, active]
require_agent_owner: true
require_unexpired_agent: true";

#[test]
fn agent_identity_all_requirements_met() {
    let p = rule("allow", ALL_AGENT_RULES);
    expect_clean(&eval(&p, &good_agent()), "allow");
}

#[test]
fn agent_identity_undeclared() {
    let p = rule("allow", "require_declared_agent: true");
    let d = eval(&p, &base());
    expect(
        &d,
        "block",
        &["agent_unknown", "matched_rule_c"],
        &["agent_identity_missing"],
        "c",
    );
    // An agent id without an identity record is still undeclared.
    let id_only = ctx(base(), "agent_id", json!("agent-7"));
    expect(
        &eval(&p, &id_only),
        "block",
        &["agent_unknown", "matched_rule_c"],
        &["agent_identity_missing"],
        "c",
    );
    expect_clean(&eval(&p, &good_agent()), "allow");
}

#[test]
fn agent_identity_allow_and_deny_lists() {
    let p = rule("allow", "allowed_agent_ids: [agent-1]");
    expect(
        &eval(&p, &good_agent()),
        "block",
        &["agent_unknown", "matched_rule_c"],
        &["agent_not_declared"],
        "c",
    );
    expect(
        &eval(&p, &base()),
        "block",
        &["agent_unknown", "matched_rule_c"],
        &["agent_not_declared"],
        "c",
    );
    let p = rule("allow", "denied_agent_ids: [agent-7]");
    expect_blocked_by(&eval(&p, &good_agent()), &["agent_revoked"]);
    // No agent id: nothing to deny.
    expect_clean(&eval(&p, &base()), "allow");
    let p = rule("allow", "denied_agent_ids: [agent-9]");
    expect_clean(&eval(&p, &good_agent()), "allow");
}

#[test]
fn agent_identity_revoked_record() {
    let p = rule("allow", "require_agent_owner: true");
    let revoked = agent(json!({"owner": "team-a", "revoked": true}));
    expect_blocked_by(&eval(&p, &revoked), &["agent_revoked"]);
    // Without any agent requirement the record is not inspected.
    expect_clean(&eval(&rule("allow", ""), &revoked), "allow");
}

#[test]
fn agent_identity_owner() {
    let p = rule("allow", "require_agent_owner: true");
    expect_blocked_by(
        &eval(&p, &agent(json!({"publisher": "acme"}))),
        &["agent_owner_missing"],
    );
    expect_blocked_by(&eval(&p, &base()), &["agent_owner_missing"]);
    expect_clean(&eval(&p, &good_agent()), "allow");
}

#[test]
fn agent_identity_lifecycle_states() {
    let p = rule(
        "allow",
        "required_agent_lifecycle_states: [approved, active]",
    );
    expect_clean(&eval(&p, &good_agent()), "allow");
    let partial = agent(json!({"owner": "x", "lifecycle_states": ["active"]}));
    expect_blocked_by(&eval(&p, &partial), &["agent_lifecycle_state_invalid"]);
    let none = agent(json!({"owner": "x"}));
    expect_blocked_by(&eval(&p, &none), &["agent_lifecycle_state_invalid"]);
}

#[test]
fn agent_identity_expiry_uses_the_evaluation_time() {
    let p = rule("allow", "require_unexpired_agent: true");
    let expiring = agent(json!({"owner": "x", "expires_at": "2026-03-10T12:00:00Z"}));
    expect_clean(&eval_at(&p, &expiring, "2026-03-10T11:59:59Z"), "allow");
    // Expiry at or before the evaluation time is expired.
    expect_blocked_by(&eval_at(&p, &expiring, NOW), &["agent_expired"]);
    expect_blocked_by(
        &eval_at(&p, &expiring, "2026-05-01T00:00:00Z"),
        &["agent_expired"],
    );
    // No expiry at all counts as expired.
    expect_blocked_by(&eval(&p, &agent(json!({"owner": "x"}))), &["agent_expired"]);
    // A zone offset is converted to UTC.
    let offset = agent(json!({"owner": "x", "expires_at": "2026-03-10T08:30:00-04:00"}));
    expect_clean(&eval_at(&p, &offset, "2026-03-10T12:29:59Z"), "allow");
    expect_blocked_by(
        &eval_at(&p, &offset, "2026-03-10T12:30:00Z"),
        &["agent_expired"],
    );
}

#[test]
fn agent_identity_manifest() {
    let p = rule("allow", &format!("required_agent_manifest_digest: {HEX_A}"));
    expect_clean(&eval(&p, &good_agent()), "allow");
    let other = agent(json!({"owner": "x", "manifest_digest": HEX_B}));
    expect_blocked_by(&eval(&p, &other), &["agent_manifest_mismatch"]);
    expect_blocked_by(&eval(&p, &base()), &["agent_manifest_mismatch"]);

    let p = rule("allow", "allowed_agent_manifest_publishers: [acme]");
    expect_clean(&eval(&p, &good_agent()), "allow");
    let evil = agent(json!({"owner": "x", "publisher": "Evil", "source": "registry"}));
    expect_blocked_by(&eval(&p, &evil), &["agent_manifest_mismatch"]);

    let p = rule("allow", "allowed_agent_manifest_sources: [registry]");
    expect_clean(&eval(&p, &good_agent()), "allow");
    let git = agent(json!({"owner": "x", "source": "git"}));
    expect_blocked_by(&eval(&p, &git), &["agent_manifest_mismatch"]);
}

#[test]
fn agent_identity_reasons_accumulate_and_deduplicate() {
    let p = rule("allow", ALL_AGENT_RULES);
    let bad = with(
        agent(json!({
            "revoked": true,
            "manifest_digest": HEX_B,
            "publisher": "evil",
            "source": "git",
            "lifecycle_states": ["retired"]
        })),
        |v| v["context"]["agent_id"] = json!("agent-666"),
    );
    expect(
        &eval(&p, &bad),
        "block",
        &[
            "agent_expired",
            "agent_lifecycle_state_invalid",
            "agent_manifest_mismatch",
            "agent_owner_missing",
            "agent_revoked",
            "agent_unknown",
            "matched_rule_c",
        ],
        &[
            "agent_expired",
            "agent_lifecycle_state_invalid",
            "agent_manifest_mismatch",
            "agent_not_declared",
            "agent_owner_missing",
            "agent_revoked",
        ],
        "c",
    );
}

// ------------------------------------------------------------- credential

fn good_credential() -> Value {
    with(base(), |v| {
        let c = &mut v["context"];
        c["credential_ref"] = json!("ref:vault/db");
        c["credential_source"] = json!("vault_dynamic");
        c["credential_access_type"] = json!("JIT");
        c["credential_issuer"] = json!("vault.example");
        c["credential_ttl_seconds"] = json!(300);
    })
}

#[test]
fn credential_standing_and_missing_evidence() {
    let p = rule("allow", "block_standing_credentials: true");
    expect_clean(&eval(&p, &good_credential()), "allow");
    expect_blocked_by(
        &eval(&p, &base()),
        &[
            "credential_access_type_unknown",
            "credential_evidence_missing",
            "credential_source_unknown",
            "standing_credential_disallowed",
        ],
    );
    for standing in ["static", "standing", "inherited", "cloud_admin", "unknown"] {
        let i = ctx(good_credential(), "credential_access_type", json!(standing));
        expect_blocked_by(&eval(&p, &i), &["standing_credential_disallowed"]);
    }
    let no_ref = ctx(good_credential(), "credential_ref", json!(""));
    expect_blocked_by(&eval(&p, &no_ref), &["credential_evidence_missing"]);
    let no_source = with(good_credential(), |v| {
        v["context"]
            .as_object_mut()
            .unwrap()
            .remove("credential_source");
    });
    expect_blocked_by(&eval(&p, &no_source), &["credential_source_unknown"]);
}

#[test]
fn credential_jit() {
    let p = rule("allow", "require_jit_credential: true");
    expect_clean(&eval(&p, &good_credential()), "allow");
    let standing = ctx(
        good_credential(),
        "credential_access_type",
        json!("standing"),
    );
    expect_blocked_by(&eval(&p, &standing), &["credential_not_jit"]);
    let unknown_type = with(good_credential(), |v| {
        v["context"]
            .as_object_mut()
            .unwrap()
            .remove("credential_access_type");
    });
    expect_blocked_by(
        &eval(&p, &unknown_type),
        &[
            "credential_access_type_unknown",
            "credential_evidence_missing",
        ],
    );
}

#[test]
fn credential_allow_lists() {
    let p = rule(
        "allow",
        "allowed_credential_sources: [github_oidc, aws_sts]",
    );
    expect_blocked_by(
        &eval(&p, &good_credential()),
        &["credential_source_disallowed"],
    );
    let oidc = ctx(good_credential(), "credential_source", json!("GITHUB_OIDC"));
    expect_clean(&eval(&p, &oidc), "allow");

    let p = rule("allow", "allowed_credential_issuers: [issuer-a]");
    expect_blocked_by(
        &eval(&p, &good_credential()),
        &["credential_issuer_disallowed"],
    );
    let no_issuer = ctx(good_credential(), "credential_issuer", json!(""));
    expect_blocked_by(&eval(&p, &no_issuer), &["credential_issuer_disallowed"]);
    let ok = ctx(good_credential(), "credential_issuer", json!(" issuer-a "));
    expect_clean(&eval(&p, &ok), "allow");

    let p = rule("allow", "allowed_credential_access_types: [jit]");
    expect_clean(&eval(&p, &good_credential()), "allow");
    let st = ctx(good_credential(), "credential_access_type", json!("static"));
    expect_blocked_by(&eval(&p, &st), &["credential_access_type_disallowed"]);
}

#[test]
fn credential_ttl() {
    let p = rule("allow", "max_credential_ttl_seconds: 300");
    expect_clean(&eval(&p, &good_credential()), "allow");
    let long = ctx(good_credential(), "credential_ttl_seconds", json!(301));
    expect_blocked_by(&eval(&p, &long), &["credential_ttl_exceeded"]);
    let zero = ctx(good_credential(), "credential_ttl_seconds", json!(0));
    expect_blocked_by(&eval(&p, &zero), &["credential_evidence_missing"]);
}

/// sha256(JCS(targets)) of `base()`'s targets, spelled out independently
/// of the crate's projection code.
fn base_target_binding() -> String {
    gait_digest::digest_json(&json!([{
        "discovery_method": "unknown",
        "endpoint_class": "fs.read",
        "kind": "path",
        "operation": "read",
        "value": "/srv/data/a.txt"
    }]))
    .to_hex()
}

#[test]
fn credential_bindings() {
    let p = rule("allow", "max_credential_ttl_seconds: 3600");
    let bound = with(good_credential(), |v| {
        let c = &mut v["context"];
        c["credential_target_binding"] = json!(base_target_binding());
        c["run_id"] = json!("run-1");
        c["credential_run_binding"] = json!("run-1");
        c["job_id"] = json!("job-1");
        c["credential_job_binding"] = json!("job-1");
    });
    expect_clean(&eval(&p, &bound), "allow");

    let wrong_target = ctx(bound.clone(), "credential_target_binding", json!(HEX_A));
    expect_blocked_by(
        &eval(&p, &wrong_target),
        &["credential_target_binding_mismatch"],
    );
    // The binding covers every target field: another target breaks it.
    let other_targets = targets(
        bound.clone(),
        json!([{"kind": "path", "value": "/srv/data/b.txt", "operation": "read"}]),
    );
    expect_blocked_by(
        &eval(&p, &other_targets),
        &["credential_target_binding_mismatch"],
    );

    let wrong_run = ctx(bound.clone(), "credential_run_binding", json!("run-2"));
    expect_blocked_by(&eval(&p, &wrong_run), &["credential_run_binding_mismatch"]);
    let wrong_job = ctx(bound.clone(), "credential_job_binding", json!("job-2"));
    expect_blocked_by(&eval(&p, &wrong_job), &["credential_job_binding_mismatch"]);
    // A binding with no run/job id to compare with is not checked.
    let no_ids = with(bound.clone(), |v| {
        let c = v["context"].as_object_mut().unwrap();
        c.remove("run_id");
        c.remove("job_id");
        c.insert("credential_run_binding".into(), json!("run-9"));
        c.insert("credential_job_binding".into(), json!("job-9"));
    });
    expect_clean(&eval(&p, &no_ids), "allow");
    // Bindings are checked only when a credential constraint is configured.
    let all_wrong = with(wrong_target, |v| {
        v["context"]["credential_run_binding"] = json!("run-2");
        v["context"]["credential_job_binding"] = json!("job-2");
    });
    expect_clean(&eval(&rule("allow", ""), &all_wrong), "allow");
    expect_blocked_by(
        &eval(&p, &all_wrong),
        &[
            "credential_job_binding_mismatch",
            "credential_run_binding_mismatch",
            "credential_target_binding_mismatch",
        ],
    );
}

// ---------------------------------------------------------- freeze window

fn deploy(environment: &str, risk: &str) -> Value {
    with(base(), |v| {
        v["tool_name"] = json!("tool.deploy");
        v["targets"] = json!([{"kind": "repo", "value": "app", "operation": "deploy"}]);
        context(v).insert("environment".into(), json!(environment));
        context(v).insert("risk_class".into(), json!(risk));
    })
}

fn freeze(effect: &str, windows: &str) -> Policy {
    rule(
        "allow",
        &format!(
            "freeze_window:
  timezone: America/Toronto
  effect: {effect}
  reason: quarter-end freeze
  environments: [prod]
  risk_classes: [high, critical]
  windows:
{windows}"
        ),
    )
}

// 2026-03-10 is after the DST change: Toronto is UTC-4, so the window is
// 13:00Z to 16:00Z.
const QUARTER_END: &str = "    - name: quarter-end\n      start: \"2026-03-10T09:00:00\"\n      end: \"2026-03-10T12:00:00\"";

#[test]
fn freeze_window_active_block() {
    let p = freeze("block", QUARTER_END);
    let d = eval_at(&p, &deploy("PROD", "high"), "2026-03-10T14:00:00Z");
    expect_blocked_by(&d, &["freeze_window_active_block"]);
    let fw = d.freeze_window().unwrap();
    assert_eq!(fw.status, "active");
    assert_eq!(fw.effect, "block");
    assert_eq!(fw.timezone, "America/Toronto");
    assert_eq!(fw.window_name, "quarter-end");
    assert_eq!(fw.window_start, at("2026-03-10T13:00:00Z"));
    assert_eq!(fw.window_end, at("2026-03-10T16:00:00Z"));
    assert_eq!(fw.evaluated_at, at("2026-03-10T14:00:00Z"));
    assert_eq!(fw.reason, "quarter-end freeze");
    assert_eq!(fw.reason_code, "freeze_window_active_block");
    // The start is inclusive.
    let d = eval_at(&p, &deploy("prod", "critical"), "2026-03-10T13:00:00Z");
    expect_blocked_by(&d, &["freeze_window_active_block"]);
}

#[test]
fn freeze_window_active_require_approval() {
    let p = freeze("require_approval", QUARTER_END);
    let d = eval_at(&p, &deploy("prod", "high"), "2026-03-10T15:59:59Z");
    expect(
        &d,
        "require_approval",
        &["freeze_window_active_require_approval", "matched_rule_c"],
        &["freeze_window_active_require_approval"],
        "c",
    );
    assert_eq!(d.min_approvals(), 1);
    assert_eq!(d.freeze_window().unwrap().status, "active");
}

#[test]
fn freeze_window_inactive() {
    let p = freeze("block", QUARTER_END);
    // Outside the window (the end is exclusive; 12:00Z is 08:00 local).
    for t in ["2026-03-10T16:00:00Z", "2026-03-10T12:00:00Z"] {
        let d = eval_at(&p, &deploy("prod", "high"), t);
        expect_clean(&d, "allow");
        let fw = d.freeze_window().unwrap();
        assert_eq!(fw.status, "inactive");
        assert_eq!(fw.window_name, "");
        assert!(fw.window_start.is_zero());
    }
    // Inside the window but filtered out by environment or risk.
    for i in [
        deploy("staging", "high"),
        deploy("prod", "low"),
        deploy("", "high"),
    ] {
        let d = eval_at(&p, &i, "2026-03-10T14:00:00Z");
        expect_clean(&d, "allow");
        assert_eq!(d.freeze_window().unwrap().status, "inactive");
    }
    // A rule without a freeze window has no decision.
    assert!(eval(&rule("allow", ""), &base()).freeze_window().is_none());
}

#[test]
fn freeze_window_uses_the_zone_offset_of_the_date() {
    // 2026-01-15 is winter time, UTC-5: 09:00-12:00 local is 14:00Z-17:00Z.
    let p = freeze(
        "block",
        "    - start: \"2026-01-15T09:00:00\"\n      end: \"2026-01-15T12:00:00\"",
    );
    expect_clean(
        &eval_at(&p, &deploy("prod", "high"), "2026-01-15T13:59:59Z"),
        "allow",
    );
    let d = eval_at(&p, &deploy("prod", "high"), "2026-01-15T16:59:59Z");
    expect_blocked_by(&d, &["freeze_window_active_block"]);
    // An unnamed window is called window-<n> and its name is the reason
    // only when the policy has none (here it has one).
    let fw = d.freeze_window().unwrap();
    assert_eq!(fw.window_name, "window-1");
    assert_eq!(fw.window_start, at("2026-01-15T14:00:00Z"));
}

#[test]
fn freeze_window_invalid_timezone() {
    let p = rule(
        "allow",
        "freeze_window:\n  timezone: Mars/Olympus_Mons\n  windows:\n    - {name: w, start: \"2026-03-10T09:00:00\", end: \"2026-03-10T12:00:00\"}",
    );
    let d = eval(&p, &deploy("prod", "high"));
    expect_blocked_by(&d, &["freeze_window_invalid_timezone"]);
    let fw = d.freeze_window().unwrap();
    assert_eq!(fw.status, "invalid");
    assert_eq!(fw.reason_code, "freeze_window_invalid_timezone");
    // The default effect is block.
    assert_eq!(fw.effect, "block");
}

#[test]
fn freeze_window_invalid_window() {
    for (start, end) in [
        ("2026-03-10T12:00:00", "2026-03-10T12:00:00"),
        ("2026-03-10T12:00:00", "2026-03-10T09:00:00"),
        ("2026-03-10 09:00:00", "2026-03-10T12:00:00"),
        ("2026-03-10T09:00:00Z", "2026-03-10T12:00:00"),
        ("2026-02-30T09:00:00", "2026-03-10T12:00:00"),
        ("2026-03-10T09:00:00", "tomorrow"),
    ] {
        let p = rule(
            "allow",
            &format!(
                "freeze_window:\n  timezone: UTC\n  windows:\n    - {{name: ok, start: \"2026-01-01T00:00:00\", end: \"2026-01-02T00:00:00\"}}\n    - {{name: bad, start: \"{start}\", end: \"{end}\"}}"
            ),
        );
        let d = eval(&p, &deploy("prod", "high"));
        expect_blocked_by(&d, &["freeze_window_invalid_window"]);
        let fw = d.freeze_window().unwrap();
        assert_eq!(
            (fw.status.as_str(), fw.window_name.as_str()),
            ("invalid", "bad"),
            "{start}..{end}"
        );
    }
}

#[test]
fn freeze_window_accepts_fractional_seconds_like_go() {
    // Go's time.ParseInLocation accepts a fractional second after the
    // seconds field even when the layout has none.
    let p = rule(
        "allow",
        "freeze_window:\n  timezone: UTC\n  windows:\n    - {name: w, start: \"2026-03-10T11:00:00.5\", end: \"2026-03-10T13:00:00,25\"}",
    );
    let d = eval(&p, &deploy("prod", "high"));
    expect_blocked_by(&d, &["freeze_window_active_block"]);
    let fw = d.freeze_window().unwrap();
    assert_eq!(fw.window_start, at("2026-03-10T11:00:00.5Z"));
    assert_eq!(fw.window_end, at("2026-03-10T13:00:00.25Z"));
    assert_eq!(
        eval_at(&p, &deploy("prod", "high"), "2026-03-10T11:00:00.4Z")
            .freeze_window()
            .unwrap()
            .status,
        "inactive"
    );
}

/// The window start the evaluator resolved for `start` in `timezone`.
fn resolved_start(timezone: &str, start: &str, end: &str, now: &str) -> GoTime {
    let p = rule(
        "allow",
        &format!(
            "freeze_window:\n  timezone: {timezone}\n  windows:\n    - {{name: w, start: \"{start}\", end: \"{end}\"}}"
        ),
    );
    let d = eval_at(&p, &deploy("prod", "high"), now);
    let fw = d.freeze_window().unwrap();
    assert_eq!(fw.status, "active", "{timezone} {start} at {now}");
    fw.window_start
}

#[test]
fn freeze_window_resolves_local_times_like_go_time_date() {
    // A one-digit hour is accepted (Go's `15` layout element).
    assert_eq!(
        resolved_start("UTC", "2026-03-10T9:00:00", "2026-03-10T13:00:00", NOW),
        at("2026-03-10T09:00:00Z")
    );
    // Nonexistent local time (Toronto springs forward at 02:00 on
    // 2026-03-08): Go's time.Date takes the offset in effect at the wall
    // time read as UTC (EST), then the one at the instant that gives
    // (EDT): 02:30 becomes 06:30Z, i.e. 01:30 EST.
    assert_eq!(
        resolved_start(
            "America/Toronto",
            "2026-03-08T02:30:00",
            "2026-03-08T05:00:00",
            "2026-03-08T07:00:00Z"
        ),
        at("2026-03-08T06:30:00Z")
    );
    // Repeated local time (Berlin falls back at 03:00 CEST on 2026-10-25):
    // Go resolves 02:30 with the offset at 02:30Z, which is already CET.
    assert_eq!(
        resolved_start(
            "Europe/Berlin",
            "2026-10-25T02:30:00",
            "2026-10-25T05:00:00",
            "2026-10-25T01:45:00Z"
        ),
        at("2026-10-25T01:30:00Z")
    );
    // The repeated hour in Toronto (falls back at 02:00 EDT on 2026-11-01):
    // 01:30 at 01:30Z is still EDT, so the first occurrence.
    assert_eq!(
        resolved_start(
            "America/Toronto",
            "2026-11-01T01:30:00",
            "2026-11-01T03:00:00",
            "2026-11-01T06:00:00Z"
        ),
        at("2026-11-01T05:30:00Z")
    );
}

// ---------------------------------------------------------------- sandbox

const SANDBOX_RULE: &str = "match:
  endpoint_classes: [proc.exec]
sandbox:
  allowed_network_modes: [disabled, egress_allowlist]
  allowed_writable_path_prefixes: [/tmp/work]
  required_read_only_roots: [/repo, /usr/share]
  allowed_env_exposure_modes: [none, allowlist]
  max_timeout_seconds: 60
  allowed_filesystem_isolations: [workspace, container]
  allowed_user_modes: [unprivileged]";

fn exec() -> Value {
    with(base(), |v| {
        v["tool_name"] = json!("tool.exec");
        v["args"] = json!({"cmd": "make test"});
        v["targets"] = json!([{"kind": "other", "value": "make test", "operation": "exec"}]);
    })
}

fn sandboxed(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut sb = json!({
        "network_mode": "disabled",
        "writable_paths": ["/tmp/work/out", "/tmp/work"],
        "read_only_roots": ["/repo"],
        "env_exposure_mode": "none",
        "timeout_seconds": 30,
        "filesystem_isolation": "workspace",
        "user_mode": "unprivileged",
        "evidence_ref": "sandbox:run-1",
        "evidence_digest": HEX_A
    });
    edit(sb.as_object_mut().unwrap());
    ctx(exec(), "sandbox", sb)
}

#[test]
fn sandbox_valid_makes_proc_exec_non_destructive() {
    let p = rule("allow", SANDBOX_RULE);
    let d = eval(&p, &sandboxed(|_| {}));
    expect_clean(&d, "allow");
    let sb = d.sandbox().unwrap();
    assert_eq!(sb.status, "valid");
    assert_eq!(sb.network_mode, "disabled");
    assert_eq!(sb.timeout_seconds, 30);
    assert_eq!(sb.evidence_digest, HEX_A);
    assert!(sb.reason_codes.is_empty());
    // Without the sandbox constraint, process execution is destructive.
    expect(
        &eval(
            &rule("allow", "match:\n  endpoint_classes: [proc.exec]"),
            &sandboxed(|_| {}),
        ),
        "require_approval",
        &["destructive_apply_requires_approval", "matched_rule_c"],
        &[],
        "c",
    );
    // A valid sandbox does not excuse a destructive non-exec target.
    let mixed = with(sandboxed(|_| {}), |v| {
        v["targets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kind": "path", "value": "/tmp/work/x", "operation": "delete"}));
    });
    expect(
        &eval(&p, &mixed),
        "require_approval",
        &["destructive_apply_requires_approval", "matched_rule_c"],
        &[],
        "c",
    );
}

/// A sandbox failure: block, and (the sandbox not being valid) the exec
/// target stays destructive.
#[track_caller]
fn expect_sandbox_block(d: &Decision, codes: &[&str], status: &str) {
    let mut reasons = codes.to_vec();
    reasons.extend(["destructive_apply_requires_approval", "matched_rule_c"]);
    reasons.sort_unstable();
    let mut violations = codes.to_vec();
    violations.sort_unstable();
    expect(d, "block", &reasons, &violations, "c");
    let sb = d.sandbox().unwrap();
    assert_eq!(sb.status, status);
    assert_eq!(sb.reason_codes, violations);
}

#[test]
fn sandbox_missing() {
    let p = rule("allow", SANDBOX_RULE);
    expect_sandbox_block(&eval(&p, &exec()), &["sandbox_metadata_missing"], "missing");
}

#[test]
fn sandbox_each_missing_field() {
    let p = rule("allow", SANDBOX_RULE);
    for (field, code) in [
        ("evidence_ref", "sandbox_evidence_missing"),
        ("evidence_digest", "sandbox_evidence_missing"),
        ("network_mode", "sandbox_network_mode_missing"),
        ("env_exposure_mode", "sandbox_env_exposure_mode_missing"),
        ("timeout_seconds", "sandbox_timeout_missing"),
        (
            "filesystem_isolation",
            "sandbox_filesystem_isolation_missing",
        ),
        ("user_mode", "sandbox_user_mode_missing"),
    ] {
        let i = sandboxed(|sb| {
            sb.remove(field);
        });
        expect_sandbox_block(&eval(&p, &i), &[code], "missing");
    }
}

#[test]
fn sandbox_each_disallowed_field() {
    let p = rule("allow", SANDBOX_RULE);
    for (field, value, code) in [
        (
            "network_mode",
            json!("full"),
            "sandbox_network_mode_disallowed",
        ),
        (
            "env_exposure_mode",
            json!("full"),
            "sandbox_env_exposure_mode_disallowed",
        ),
        (
            "filesystem_isolation",
            json!("none"),
            "sandbox_filesystem_isolation_disallowed",
        ),
        ("user_mode", json!("root"), "sandbox_user_mode_disallowed"),
        ("timeout_seconds", json!(61), "sandbox_timeout_exceeded"),
        (
            "writable_paths",
            json!(["/tmp/work/a", "/etc"]),
            "sandbox_writable_path_disallowed",
        ),
        (
            "writable_paths",
            json!(["/tmp/workshop"]),
            "sandbox_writable_path_disallowed",
        ),
    ] {
        let i = sandboxed(|sb| {
            sb.insert(field.into(), value.clone());
        });
        expect_sandbox_block(&eval(&p, &i), &[code], "disallowed");
    }
    // The timeout bound is inclusive.
    let i = sandboxed(|sb| {
        sb.insert("timeout_seconds".into(), json!(60));
    });
    expect_clean(&eval(&p, &i), "allow");
}

#[test]
fn sandbox_read_only_roots() {
    let p = rule("allow", SANDBOX_RULE);
    // As in the reference, every root the intent declares must be one of
    // the policy's roots.
    let extra = sandboxed(|sb| {
        sb.insert("read_only_roots".into(), json!(["/repo", "/opt"]));
    });
    expect_sandbox_block(
        &eval(&p, &extra),
        &["sandbox_read_only_root_missing"],
        "missing",
    );
    let both = sandboxed(|sb| {
        sb.insert("read_only_roots".into(), json!(["/usr/share", "/repo/"]));
    });
    expect_clean(&eval(&p, &both), "allow");
}

#[test]
fn sandbox_reasons_accumulate_and_missing_wins_the_status() {
    let p = rule("allow", SANDBOX_RULE);
    let i = sandboxed(|sb| {
        sb.insert("network_mode".into(), json!("full"));
        sb.remove("user_mode");
        sb.insert("timeout_seconds".into(), json!(600));
    });
    expect_sandbox_block(
        &eval(&p, &i),
        &[
            "sandbox_network_mode_disallowed",
            "sandbox_timeout_exceeded",
            "sandbox_user_mode_missing",
        ],
        "missing",
    );
}

// ----------------------------------------------- destructive and plan phase

#[test]
fn destructive_apply_requires_approval() {
    let p = rule("allow", "");
    let d = eval(&p, &delete_target());
    expect(
        &d,
        "require_approval",
        &["destructive_apply_requires_approval", "matched_rule_c"],
        &[],
        "c",
    );
    assert_eq!(d.min_approvals(), 1);
    // A non-destructive call is untouched.
    expect_clean(&eval(&p, &base()), "allow");
    // The adjustment only raises: a block stays a block (and says why the
    // call was destructive).
    expect(
        &eval(&rule("block", ""), &delete_target()),
        "block",
        &["destructive_apply_requires_approval", "matched_rule_c"],
        &[],
        "c",
    );
}

#[test]
fn plan_phase_non_destructive() {
    let plan = ctx(delete_target(), "phase", json!("PLAN"));
    expect(
        &eval(&rule("allow", ""), &plan),
        "dry_run",
        &["matched_rule_c", "plan_phase_non_destructive"],
        &[],
        "c",
    );
    expect(
        &eval(&rule("require_approval", ""), &plan),
        "require_approval",
        &["matched_rule_c", "plan_phase_non_destructive"],
        &[],
        "c",
    );
    expect_clean(
        &eval(&rule("allow", ""), &ctx(base(), "phase", json!("plan"))),
        "allow",
    );
}

#[test]
fn every_way_of_being_destructive() {
    let p = rule("allow", "");
    for target in [
        json!({"kind": "path", "value": "/a", "operation": "truncate"}),
        json!({"kind": "path", "value": "/a", "destructive": true}),
        json!({"kind": "path", "value": "/a", "operation": "read", "destructive_hint": true}),
        json!({"kind": "table", "value": "users", "operation": "drop"}),
        json!({"kind": "other", "value": "ls", "operation": "spawn"}),
        json!({"kind": "path", "value": "/a", "endpoint_class": "fs.delete"}),
    ] {
        let i = targets(base(), json!([target.clone()]));
        assert_eq!(
            eval(&p, &i).reason_codes(),
            ["destructive_apply_requires_approval", "matched_rule_c"],
            "{target}"
        );
    }
    // Tool-name hints infer the class of a path target with no operation:
    // `tool.transform` contains `rm`, so it is a delete.
    let transform = with(base(), |v| {
        v["tool_name"] = json!("tool.transform");
        v["targets"] = json!([{"kind": "path", "value": "/a"}]);
    });
    assert_eq!(eval(&p, &transform).verdict().as_str(), "require_approval");
}

// ------------------------------------------------------------ fail closed

fn high(v: Value) -> Value {
    ctx(v, "risk_class", json!("high"))
}

const FAIL_CLOSED_ALL: &str = "default_verdict: allow
fail_closed:
  enabled: true
  required_fields: [targets, arg_provenance, endpoint_class, delegation, context_evidence]
rules:
  - name: c
    effect: allow
";

#[test]
fn fail_closed_reports_every_missing_required_field() {
    let p = policy(FAIL_CLOSED_ALL);
    let bare = high(with(base(), |v| {
        v["targets"] = json!([]);
        v["arg_provenance"] = json!([]);
    }));
    let d = eval(&p, &bare);
    expect(
        &d,
        "block",
        &[
            "context_evidence_missing",
            "fail_closed_missing_arg_provenance",
            "fail_closed_missing_delegation",
            "fail_closed_missing_targets",
        ],
        &[
            "missing_arg_provenance",
            "missing_context_evidence",
            "missing_delegation",
            "missing_targets",
        ],
        "",
    );
    assert_eq!(d.min_approvals(), 0);
}

#[test]
fn fail_closed_each_required_field() {
    let delegated = |v: Value| {
        with(v, |v| {
            v["delegation"] = json!({"requester_identity": "alice"});
        })
    };
    for (field, intent_value, reason, violation) in [
        (
            "targets",
            high(delegated(targets(base(), json!([])))),
            "fail_closed_missing_targets",
            "missing_targets",
        ),
        (
            "arg_provenance",
            high(delegated(with(base(), |v| v["arg_provenance"] = json!([])))),
            "fail_closed_missing_arg_provenance",
            "missing_arg_provenance",
        ),
        (
            "delegation",
            high(base()),
            "fail_closed_missing_delegation",
            "missing_delegation",
        ),
        (
            "context_evidence",
            high(delegated(base())),
            "context_evidence_missing",
            "missing_context_evidence",
        ),
    ] {
        let p = policy(&format!(
            "default_verdict: allow\nfail_closed:\n  enabled: true\n  required_fields: [{field}]\n"
        ));
        expect(
            &eval(&p, &intent_value),
            "block",
            &[reason],
            &[violation],
            "",
        );
        // The same intent at low risk is not checked.
        let low = ctx(intent_value, "risk_class", json!("low"));
        expect(&eval(&p, &low), "allow", &["default_allow"], &[], "");
    }
    // A complete intent passes every required field except context
    // evidence, which only a verified envelope can provide: an intent's own
    // claim is stripped.
    let p = policy(FAIL_CLOSED_ALL);
    let complete = high(delegated(ctx(base(), "context_set_digest", json!(HEX_A))));
    expect(
        &eval(&p, &complete),
        "block",
        &["context_evidence_missing"],
        &["missing_context_evidence"],
        "",
    );
    let without = policy(
        "default_verdict: allow\nfail_closed:\n  enabled: true\n  required_fields: [targets, arg_provenance, endpoint_class, delegation]\nrules:\n  - name: c\n    effect: allow\n",
    );
    expect_clean(&eval(&without, &complete), "allow");
}

#[test]
fn fail_closed_endpoint_class() {
    let other = high(targets(base(), json!([{"kind": "other", "value": "x"}])));
    // Listed as a required field: both codes.
    let p = policy(
        "default_verdict: allow\nfail_closed:\n  enabled: true\n  required_fields: [endpoint_class]\n",
    );
    expect(
        &eval(&p, &other),
        "block",
        &[
            "fail_closed_endpoint_class_unknown",
            "fail_closed_missing_endpoint_class",
        ],
        &["endpoint_class_unknown", "missing_endpoint_class"],
        "",
    );
    // Not listed: an unknown class still fails closed.
    let p = policy("default_verdict: allow\nfail_closed:\n  enabled: true\n");
    expect(
        &eval(&p, &other),
        "block",
        &["fail_closed_endpoint_class_unknown"],
        &["endpoint_class_unknown"],
        "",
    );
    let critical = ctx(other.clone(), "risk_class", json!("CRITICAL"));
    assert_eq!(eval(&p, &critical).verdict().as_str(), "block");
    // A known class passes; low risk is not checked.
    expect(
        &eval(&p, &high(base())),
        "allow",
        &["default_allow"],
        &[],
        "",
    );
    let low = ctx(other, "risk_class", json!("medium"));
    expect(&eval(&p, &low), "allow", &["default_allow"], &[], "");
}

#[test]
fn fail_closed_risk_classes_and_enablement() {
    let other = targets(base(), json!([{"kind": "other", "value": "x"}]));
    let medium = ctx(other.clone(), "risk_class", json!("medium"));
    let p =
        policy("default_verdict: allow\nfail_closed:\n  enabled: true\n  risk_classes: [MEDIUM]\n");
    assert_eq!(eval(&p, &medium).verdict().as_str(), "block");
    expect(
        &eval(&p, &high(other.clone())),
        "allow",
        &["default_allow"],
        &[],
        "",
    );
    let p = policy(
        "default_verdict: allow\nfail_closed:\n  enabled: false\n  risk_classes: [high]\n  required_fields: [targets]\n",
    );
    expect(
        &eval(&p, &high(other)),
        "allow",
        &["default_allow"],
        &[],
        "",
    );
    assert!(
        Policy::from_yaml_str("fail_closed:\n  enabled: true\n  required_fields: [agent_id]\n")
            .is_err()
    );
}

const HIGH_RISK_FIELDS: [&str; 14] = [
    "agent_id",
    "agent_identity",
    "run_id",
    "workflow_id",
    "repo",
    "environment",
    "credential_ref",
    "credential_source",
    "credential_access_type",
    "credential_issuer",
    "credential_ttl_seconds",
    "approval_ref",
    "wrkr_inventory_ref",
    "agent_action_bom_ref",
];

fn high_risk_value(field: &str) -> Value {
    match field {
        "agent_identity" => json!({"owner": "team-a"}),
        "credential_source" => json!("github_oidc"),
        "credential_access_type" => json!("jit"),
        "credential_ttl_seconds" => json!(60),
        _ => json!(format!("{field}-value")),
    }
}

#[test]
fn fail_closed_required_high_risk_fields() {
    let p = policy(&format!(
        "default_verdict: allow\nfail_closed:\n  enabled: true\n  required_high_risk_fields: [{}]\n",
        HIGH_RISK_FIELDS.join(", ")
    ));
    // Nothing set: every field is reported.
    let mut reasons: Vec<String> = HIGH_RISK_FIELDS
        .iter()
        .map(|f| format!("fail_closed_missing_{f}"))
        .collect();
    reasons.sort();
    let mut violations: Vec<String> = HIGH_RISK_FIELDS
        .iter()
        .map(|f| format!("missing_{f}"))
        .collect();
    violations.sort();
    let d = eval(&p, &high(base()));
    assert_eq!(d.verdict().as_str(), "block");
    assert_eq!(d.reason_codes(), reasons);
    assert_eq!(d.violations(), violations);

    let full = high(with(base(), |v| {
        for f in HIGH_RISK_FIELDS {
            v["context"][f] = high_risk_value(f);
        }
    }));
    expect(&eval(&p, &full), "allow", &["default_allow"], &[], "");
    // Each field alone.
    for f in HIGH_RISK_FIELDS {
        let missing = with(full.clone(), |v| {
            v["context"].as_object_mut().unwrap().remove(f);
        });
        let reason = format!("fail_closed_missing_{f}");
        let violation = format!("missing_{f}");
        expect(&eval(&p, &missing), "block", &[&reason], &[&violation], "");
    }
    // A TTL of zero counts as missing; blank strings count as missing.
    let zero = ctx(full.clone(), "credential_ttl_seconds", json!(0));
    expect(
        &eval(&p, &zero),
        "block",
        &["fail_closed_missing_credential_ttl_seconds"],
        &["missing_credential_ttl_seconds"],
        "",
    );
    let blank = ctx(full, "repo", json!("   "));
    expect(
        &eval(&p, &blank),
        "block",
        &["fail_closed_missing_repo"],
        &["missing_repo"],
        "",
    );
}

#[test]
fn fail_closed_takes_precedence_over_rules() {
    let p = policy(
        "default_verdict: allow\nfail_closed:\n  enabled: true\n  required_fields: [delegation]\nrules:\n  - name: c\n    effect: require_approval\n    min_approvals: 3\n",
    );
    let d = eval(&p, &high(base()));
    expect(
        &d,
        "block",
        &["fail_closed_missing_delegation"],
        &["missing_delegation"],
        "",
    );
    assert_eq!(d.min_approvals(), 0);
    // At low risk the rule applies.
    let d = eval(&p, &base());
    expect_clean(&d, "require_approval");
    assert_eq!(d.min_approvals(), 3);
}
