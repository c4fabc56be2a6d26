//! Rule selection: every `match` selector of spec §2.2 (positive and
//! negative), tier selection by (priority, name), default verdicts,
//! `matched_rule_<sanitized name>` reasons, and the aggregation of
//! approvals and requirements across the rules of a tier (§3.3).

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

fn now() -> GoTime {
    GoTime::parse("2026-03-10T12:00:00Z").unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml_str(yaml).unwrap_or_else(|e| panic!("policy must load: {e}\n{yaml}"))
}

fn intent(value: &Value) -> Intent {
    Intent::from_value(value).unwrap_or_else(|e| panic!("intent must load: {e}\n{value:#}"))
}

fn eval(p: &Policy, i: &Intent) -> Decision {
    evaluate(p, i, &EvalOptions::at(now()))
}

/// A low-risk read of one path, with user provenance.
fn base() -> Value {
    json!({
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-03-10T11:59:00Z",
        "producer_version": "test",
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

/// A block-by-default policy with one `allow` rule named `Sel Rule` whose
/// `match` block is `match_yaml` (indented by the caller's text).
fn one_rule(match_yaml: &str) -> Policy {
    let mut body = String::new();
    for line in match_yaml.trim().lines() {
        body.push_str("      ");
        body.push_str(line);
        body.push('\n');
    }
    policy(&format!(
        "default_verdict: block\nrules:\n  - name: Sel Rule\n    priority: 5\n    effect: allow\n    match:\n{body}"
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

/// The selector matched: the rule's `allow` with its generated reason.
#[track_caller]
fn expect_match(p: &Policy, i: &Value) {
    expect(
        &eval(p, &intent(i)),
        "allow",
        &["matched_rule_sel_rule"],
        &[],
        "Sel Rule",
    );
}

/// The selector did not match: the default `block`.
#[track_caller]
fn expect_no_match(p: &Policy, i: &Value) {
    expect(&eval(p, &intent(i)), "block", &["default_block"], &[], "");
}

// ---------------------------------------------------------- C/I selectors

#[test]
fn empty_match_matches_everything() {
    let p = policy("default_verdict: block\nrules:\n  - name: Sel Rule\n    effect: allow\n");
    expect_match(&p, &base());
}

#[test]
fn tool_names_exact_lowercased() {
    expect_match(&one_rule("tool_names: [TOOL.READ]"), &base());
    // The `tool_name` alias is appended to the list.
    expect_match(
        &one_rule("tool_name: tool.read\ntool_names: [tool.list]"),
        &base(),
    );
    expect_no_match(&one_rule("tool_names: [tool.write, tool]"), &base());
    // The intent's tool name is normalized (trimmed, lowercased) too.
    let shouting = with(base(), |v| v["tool_name"] = json!("  Tool.READ "));
    expect_match(&one_rule("tool_names: [tool.read]"), &shouting);
}

#[test]
fn risk_classes_exact_lowercased() {
    expect_match(&one_rule("risk_classes: [LOW, medium]"), &base());
    expect_no_match(&one_rule("risk_classes: [high, critical]"), &base());
    let upper = with(base(), |v| v["context"]["risk_class"] = json!("HIGH"));
    expect_match(&one_rule("risk_classes: [high]"), &upper);
}

#[test]
fn identities_exact_and_case_sensitive() {
    expect_match(&one_rule("identities: [bob, alice]"), &base());
    expect_no_match(&one_rule("identities: [bob]"), &base());
    expect_no_match(&one_rule("identities: [Alice]"), &base());
}

#[test]
fn workspace_prefixes_are_raw_string_prefixes() {
    expect_match(&one_rule("workspace_prefixes: [/repo]"), &base());
    // A raw prefix, not a path prefix: `/re` matches `/repo/app`.
    expect_match(&one_rule("workspace_prefixes: [/re]"), &base());
    expect_no_match(&one_rule("workspace_prefixes: [/repo/app/]"), &base());
    expect_no_match(&one_rule("workspace_prefixes: [/other, /REPO]"), &base());
    // Backslashes in the intent's workspace become `/` before matching.
    let windows = with(base(), |v| {
        v["context"]["workspace"] = json!("\\repo\\app");
    });
    expect_match(&one_rule("workspace_prefixes: [/repo/app]"), &windows);
}

#[test]
fn target_kinds_and_values_any_target() {
    let two = with(base(), |v| {
        v["targets"] = json!([
            {"kind": "path", "value": "/srv/data/a.txt", "operation": "read"},
            {"kind": "url", "value": "https://API.example.com/v1", "operation": "get"}
        ]);
    });
    expect_match(&one_rule("target_kinds: [URL]"), &two);
    expect_no_match(&one_rule("target_kinds: [host, bucket]"), &two);
    expect_match(
        &one_rule("target_values: [https://API.example.com/v1]"),
        &two,
    );
    // Values keep their case.
    expect_no_match(
        &one_rule("target_values: [https://api.example.com/v1]"),
        &two,
    );
    // No targets: a target selector never matches.
    let none = with(base(), |v| v["targets"] = json!([]));
    expect_no_match(&one_rule("target_kinds: [path]"), &none);
}

#[test]
fn endpoint_classes_merged_and_validated() {
    expect_match(&one_rule("endpoint_classes: [fs.read]"), &base());
    expect_match(&one_rule("endpoint_class: [FS.READ]"), &base());
    expect_match(
        &one_rule("endpoint_class: [fs.write]\nendpoint_classes: [fs.read]"),
        &base(),
    );
    expect_no_match(&one_rule("endpoint_classes: [fs.write, net.http]"), &base());
    // An explicit class on the target is used as given.
    let http = with(base(), |v| {
        v["targets"][0] = json!({"kind": "path", "value": "/x", "endpoint_class": "NET.HTTP"});
    });
    expect_match(&one_rule("endpoint_classes: [net.http]"), &http);
    // Outside the enum: a load error.
    let bad =
        "rules:\n  - name: r\n    effect: allow\n    match:\n      endpoint_classes: [fs.readx]\n";
    assert!(Policy::from_yaml_str(bad).is_err());
}

#[test]
fn provenance_sources_any_entry() {
    let mixed = with(base(), |v| {
        v["arg_provenance"] = json!([
            {"arg_path": "$.path", "source": "user"},
            {"arg_path": "$.body", "source": "EXTERNAL"}
        ]);
    });
    expect_match(&one_rule("provenance_sources: [external]"), &mixed);
    expect_match(&one_rule("provenance_sources: [user]"), &base());
    expect_no_match(
        &one_rule("provenance_sources: [tool_output, system]"),
        &mixed,
    );
    let none = with(base(), |v| v["arg_provenance"] = json!([]));
    expect_no_match(&one_rule("provenance_sources: [user]"), &none);
}

// ------------------------------------------------------------ A selectors

#[test]
fn discovery_method_defaults_to_unknown() {
    expect_match(&one_rule("discovery_method: [unknown]"), &base());
    expect_no_match(&one_rule("discovery_method: [webmcp]"), &base());
    let dynamic = with(base(), |v| {
        v["targets"][0]["discovery_method"] = json!("Dynamic-MCP");
    });
    expect_match(&one_rule("discovery_method: [dynamic_mcp]"), &dynamic);
    expect_no_match(&one_rule("discovery_method: [unknown, mcp]"), &dynamic);
}

#[test]
fn data_classes_match_target_sensitivity() {
    let secret = with(base(), |v| v["targets"][0]["sensitivity"] = json!("SECRET"));
    expect_match(&one_rule("data_classes: [Secret]"), &secret);
    expect_no_match(&one_rule("data_classes: [pii]"), &secret);
    // No sensitivity at all: no match.
    expect_no_match(&one_rule("data_classes: [secret]"), &base());
}

#[test]
fn destination_selectors_are_independent() {
    let two = with(base(), |v| {
        v["targets"] = json!([
            {"kind": "path", "value": "/srv/data/a.txt", "operation": "read"},
            {"kind": "host", "value": "api.example.com", "operation": "post"}
        ]);
    });
    expect_match(&one_rule("destination_kinds: [host]"), &two);
    expect_match(&one_rule("destination_values: [/srv/data/a.txt]"), &two);
    expect_match(&one_rule("destination_operations: [post]"), &two);
    // Each selector is matched against any target on its own: kind `host`
    // and operation `read` hold on different targets, and that is enough.
    expect_match(
        &one_rule("destination_kinds: [host]\ndestination_operations: [read]"),
        &two,
    );
    expect_no_match(&one_rule("destination_kinds: [bucket]"), &two);
    expect_no_match(&one_rule("destination_values: [api.example.com/x]"), &two);
    expect_no_match(
        &one_rule("destination_kinds: [host]\ndestination_operations: [delete]"),
        &two,
    );
}

#[test]
fn tool_annotations_are_tri_state() {
    let hinted = with(base(), |v| {
        v["targets"][0]["read_only_hint"] = json!(true);
        v["targets"][0]["idempotent_hint"] = json!(true);
    });
    expect_match(&one_rule("tool_annotations: {readOnlyHint: true}"), &hinted);
    expect_no_match(&one_rule("tool_annotations: {readOnlyHint: true}"), &base());
    // `false` is a requirement too: some target's hint must be false.
    expect_match(
        &one_rule("tool_annotations: {readOnlyHint: false}"),
        &base(),
    );
    expect_no_match(
        &one_rule("tool_annotations: {readOnlyHint: false}"),
        &hinted,
    );
    expect_match(
        &one_rule("tool_annotations: {idempotentHint: true, destructiveHint: false}"),
        &hinted,
    );
    expect_no_match(
        &one_rule("tool_annotations: {openWorldHint: true}"),
        &hinted,
    );
    // With two targets, one of them satisfying the hint is enough.
    let two = with(hinted, |v| {
        v["targets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kind": "path", "value": "/b", "operation": "read"}));
    });
    expect_match(&one_rule("tool_annotations: {readOnlyHint: false}"), &two);
    expect_match(&one_rule("tool_annotations: {readOnlyHint: true}"), &two);
    // An unset hint does not constrain: an empty annotation block matches.
    expect_match(&one_rule("tool_annotations: {}"), &base());
}

fn with_skill(publisher: &str, source: &str) -> Value {
    with(base(), |v| {
        v["skill_provenance"] = json!({
            "skill_name": "reader",
            "publisher": publisher,
            "source": source
        });
    })
}

#[test]
fn skill_publishers_and_sources() {
    let skill = with_skill("  ACME Corp ", "Registry");
    expect_match(&one_rule("skill_publishers: [acme corp]"), &skill);
    expect_no_match(&one_rule("skill_publishers: [evil]"), &skill);
    expect_match(&one_rule("skill_sources: [registry]"), &skill);
    expect_no_match(&one_rule("skill_sources: [git]"), &skill);
    expect_match(
        &one_rule("skill_publishers: [acme corp]\nskill_sources: [REGISTRY]"),
        &skill,
    );
    // No skill provenance: neither selector matches.
    expect_no_match(&one_rule("skill_publishers: [acme corp]"), &base());
    expect_no_match(&one_rule("skill_sources: [registry]"), &base());
}

fn with_wrkr(entries: &Value) -> Value {
    with(base(), |v| {
        let context = v.get_mut("context").and_then(Value::as_object_mut).unwrap();
        context.insert("auth_context".into(), entries.clone());
    })
}

#[test]
fn context_selectors_read_wrkr_auth_context_keys() {
    let wrkr = with_wrkr(&json!({
        "wrkr.tool_name": " Tool.Read ",
        "wrkr.data_class": "PII",
        "wrkr.endpoint_class": "fs.read",
        "wrkr.autonomy_level": "Supervised",
        "other": "x"
    }));
    for (selector, hit, miss) in [
        ("context_tool_names", "tool.read", "tool.write"),
        ("context_data_classes", "pii", "secret"),
        ("context_endpoint_classes", "fs.read", "fs.write"),
        ("context_autonomy_levels", "supervised", "autonomous"),
    ] {
        expect_match(&one_rule(&format!("{selector}: [{hit}]")), &wrkr);
        expect_no_match(&one_rule(&format!("{selector}: [{miss}]")), &wrkr);
        // Missing key (or no auth_context at all): no match.
        expect_no_match(&one_rule(&format!("{selector}: [{hit}]")), &base());
    }
    // A non-string value counts as missing.
    let numeric = with_wrkr(&json!({"wrkr.autonomy_level": 3}));
    expect_no_match(&one_rule("context_autonomy_levels: ['3']"), &numeric);
}

// ------------------------------------------------------------- delegation

fn delegated() -> Value {
    with(base(), |v| {
        v["delegation"] = json!({
            "requester_identity": "alice",
            "scope_class": "Write",
            "chain": [
                {"delegator_identity": "lead", "delegate_identity": "manager", "scope_class": "admin"},
                {"delegator_identity": "manager", "delegate_identity": "alice"}
            ]
        });
    })
}

#[test]
fn require_delegation_needs_a_delegation() {
    let p = one_rule("require_delegation: true");
    let d = eval(&p, &intent(&delegated()));
    expect(&d, "allow", &["matched_rule_sel_rule"], &[], "Sel Rule");
    assert!(d.require_delegation());
    expect_no_match(&p, &base());
    let plain = eval(&p, &intent(&base()));
    assert!(!plain.require_delegation());
}

#[test]
fn max_delegation_depth_bounds_the_chain() {
    expect_match(&one_rule("max_delegation_depth: 2"), &delegated());
    expect_match(&one_rule("max_delegation_depth: 5"), &delegated());
    expect_no_match(&one_rule("max_delegation_depth: 1"), &delegated());
    // Depth 0 still requires a delegation, with an empty chain.
    let direct = with(base(), |v| {
        v["delegation"] = json!({"requester_identity": "alice"});
    });
    expect_match(&one_rule("max_delegation_depth: 0"), &direct);
    expect_no_match(&one_rule("max_delegation_depth: 0"), &delegated());
    expect_no_match(&one_rule("max_delegation_depth: 3"), &base());
}

#[test]
fn allowed_delegator_identities_check_chain_delegators() {
    expect_match(
        &one_rule("allowed_delegator_identities: [manager]"),
        &delegated(),
    );
    expect_match(
        &one_rule("allowed_delegator_identities: [lead]"),
        &delegated(),
    );
    // `alice` is only a delegate.
    expect_no_match(
        &one_rule("allowed_delegator_identities: [alice]"),
        &delegated(),
    );
    // An empty chain has no delegator.
    let direct = with(base(), |v| {
        v["delegation"] = json!({"requester_identity": "alice"});
    });
    expect_no_match(&one_rule("allowed_delegator_identities: [alice]"), &direct);
}

#[test]
fn allowed_delegate_identities_check_requester_or_link_delegates() {
    expect_match(
        &one_rule("allowed_delegate_identities: [alice]"),
        &delegated(),
    );
    expect_match(
        &one_rule("allowed_delegate_identities: [manager]"),
        &delegated(),
    );
    expect_no_match(
        &one_rule("allowed_delegate_identities: [lead]"),
        &delegated(),
    );
    let direct = with(base(), |v| {
        v["delegation"] = json!({"requester_identity": "alice"});
    });
    expect_match(&one_rule("allowed_delegate_identities: [alice]"), &direct);
}

#[test]
fn delegation_scopes_check_top_level_or_link_scope_class() {
    let p = one_rule("delegation_scopes: [WRITE]");
    let d = eval(&p, &intent(&delegated()));
    expect(&d, "allow", &["matched_rule_sel_rule"], &[], "Sel Rule");
    assert_eq!(d.required_delegation_scopes(), ["write"]);
    expect_match(&one_rule("delegation_scopes: [admin]"), &delegated());
    expect_no_match(&one_rule("delegation_scopes: [read]"), &delegated());
    expect_no_match(&one_rule("delegation_scopes: [write]"), &base());
}

#[test]
fn selectors_are_anded() {
    let p = one_rule("tool_names: [tool.read]\nidentities: [alice]\nrisk_classes: [low]");
    expect_match(&p, &base());
    let bob = with(base(), |v| v["context"]["identity"] = json!("bob"));
    expect_no_match(&p, &bob);
    let high = with(base(), |v| v["context"]["risk_class"] = json!("high"));
    expect_no_match(&p, &high);
}

// ------------------------------------------------------- tier selection

#[test]
fn the_lowest_priority_tier_wins() {
    let p = policy(
        "default_verdict: require_approval
rules:
  - name: late-block
    priority: 20
    effect: block
  - name: early-allow
    priority: 10
    effect: allow
    match:
      tool_names: [tool.read]
",
    );
    expect(
        &eval(&p, &intent(&base())),
        "allow",
        &["matched_rule_early_allow"],
        &[],
        "early-allow",
    );
    // When the earlier tier does not match, the later tier decides.
    let write = with(base(), |v| v["tool_name"] = json!("tool.list"));
    expect(
        &eval(&p, &intent(&write)),
        "block",
        &["matched_rule_late_block"],
        &[],
        "late-block",
    );
}

#[test]
fn default_priority_is_zero_and_negative_priorities_come_first() {
    let p = policy(
        "default_verdict: allow
rules:
  - name: zero
    effect: require_approval
  - name: minus
    priority: -1
    effect: dry_run
",
    );
    expect(
        &eval(&p, &intent(&base())),
        "dry_run",
        &["matched_rule_minus"],
        &[],
        "minus",
    );
}

#[test]
fn a_tier_collects_every_matching_rule_of_its_priority() {
    let p = policy(
        "default_verdict: block
rules:
  - name: b-allow
    priority: 10
    effect: allow
  - name: a-approve
    priority: 10
    effect: require_approval
    reason_codes: [needs_review]
    violations: [review_missing]
  - name: c-skip
    priority: 10
    effect: block
    match:
      tool_names: [tool.delete]
  - name: d-next-tier
    priority: 11
    effect: block
",
    );
    let d = eval(&p, &intent(&base()));
    // Verdict: most restrictive of the tier. Only rules whose effect equals
    // the verdict contribute reasons and violations; `matched_rule` lists
    // every matched rule of the tier, sorted.
    expect(
        &d,
        "require_approval",
        &["needs_review"],
        &["review_missing"],
        "a-approve,b-allow",
    );
    assert_eq!(d.min_approvals(), 1);
}

#[test]
fn tier_stops_at_the_first_matching_rule_of_another_priority() {
    // `x` (priority 10) does not match; `y` (10) matches and fixes the
    // tier; `z` (20) matches but is in another tier.
    let p = policy(
        "default_verdict: allow
rules:
  - name: z
    priority: 20
    effect: block
  - name: y
    priority: 10
    effect: dry_run
  - name: x
    priority: 10
    effect: block
    match:
      identities: [mallory]
",
    );
    expect(
        &eval(&p, &intent(&base())),
        "dry_run",
        &["matched_rule_y"],
        &[],
        "y",
    );
}

#[test]
fn ties_sort_by_name_in_byte_order() {
    let p = policy(
        "default_verdict: block
rules:
  - name: alpha
    effect: allow
  - name: Zeta
    effect: allow
  - name: beta
    effect: allow
    reason_codes: [beta_reason]
",
    );
    let d = eval(&p, &intent(&base()));
    expect(
        &d,
        "allow",
        &["beta_reason", "matched_rule_alpha", "matched_rule_zeta"],
        &[],
        "Zeta,alpha,beta",
    );
    let names: Vec<&str> = p.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Zeta", "alpha", "beta"]);
}

#[test]
fn rule_reason_codes_replace_the_generated_reason() {
    let p = policy(
        "default_verdict: block
rules:
  - name: explicit
    effect: block
    reason_codes: [' z_code ', a_code, a_code]
    violations: [v2, ' v1']
",
    );
    expect(
        &eval(&p, &intent(&base())),
        "block",
        &["a_code", "z_code"],
        &["v1", "v2"],
        "explicit",
    );
}

#[test]
fn matched_rule_reason_sanitizes_the_name() {
    for (name, reason) in [
        ("Allow Read-Only", "matched_rule_allow_read_only"),
        ("'  Padded Name  '", "matched_rule_padded_name"),
        ("'a<b&c>'", "matched_rule_a\\u003cb\\u0026c\\u003e"),
        ("\"tab\\there\"", "matched_rule_tab\\there"),
        ("'Ünïcode Rule'", "matched_rule_ünïcode_rule"),
    ] {
        let p = policy(&format!(
            "default_verdict: block\nrules:\n  - name: {name}\n    effect: allow\n"
        ));
        let d = eval(&p, &intent(&base()));
        assert_eq!(d.reason_codes(), [reason], "name {name}");
        assert_eq!(d.matched_rule(), p.rules()[0].name, "name {name}");
    }
}

#[test]
fn sanitized_name_trims_every_surrounding_quote() {
    // The reference JSON-encodes the name and then trims *all* leading and
    // trailing `"` characters (Go `strings.Trim`), so the escaped quote at
    // the end of `say "hi"` loses its `"` and keeps its backslash.
    let p = policy("default_verdict: block\nrules:\n  - name: 'say \"hi\"'\n    effect: allow\n");
    let d = eval(&p, &intent(&base()));
    assert_eq!(d.reason_codes(), ["matched_rule_say_\\\"hi\\"]);
    assert_eq!(d.matched_rule(), "say \"hi\"");
}

// ------------------------------------------------------- default verdicts

#[test]
fn default_verdicts_and_reasons() {
    for (yaml, verdict, approvals) in [
        ("default_verdict: allow", "allow", 0),
        ("default_verdict: BLOCK", "block", 0),
        ("default_verdict: dry_run", "dry_run", 0),
        ("default_verdict: require_approval", "require_approval", 1),
        ("default_action: dry_run", "dry_run", 0),
        ("default_verdict: allow\ndefault_action: allow", "allow", 0),
        ("{}", "require_approval", 1),
    ] {
        let p = policy(yaml);
        let d = eval(&p, &intent(&base()));
        let reason = format!("default_{verdict}");
        expect(&d, verdict, &[reason.as_str()], &[], "");
        assert_eq!(d.min_approvals(), approvals, "{yaml}");
        assert_eq!(d.permits_execution(), verdict == "allow", "{yaml}");
    }
    assert!(Policy::from_yaml_str("default_verdict: allow\ndefault_action: block").is_err());
    assert!(Policy::from_yaml_str("default_verdict: permit").is_err());
}

#[test]
fn default_verdict_makes_no_destructive_adjustment() {
    let delete = with(base(), |v| {
        v["tool_name"] = json!("tool.delete");
        v["targets"][0]["operation"] = json!("delete");
    });
    let p = policy(
        "default_verdict: allow\nrules:\n  - name: other\n    effect: block\n    match:\n      tool_names: [tool.x]\n",
    );
    expect(
        &eval(&p, &intent(&delete)),
        "allow",
        &["default_allow"],
        &[],
        "",
    );
    let plan = with(delete, |v| v["context"]["phase"] = json!("plan"));
    expect(
        &eval(&p, &intent(&plan)),
        "allow",
        &["default_allow"],
        &[],
        "",
    );
}

// ----------------------------------------------- approvals and requirements

#[test]
fn min_approvals_takes_the_maximum_of_contributing_rules() {
    let p = policy(
        "default_verdict: block
rules:
  - name: two
    effect: require_approval
    min_approvals: 2
  - name: three
    effect: require_approval
    min_approvals: 3
  - name: lenient
    effect: allow
    min_approvals: 9
",
    );
    let d = eval(&p, &intent(&base()));
    expect(
        &d,
        "require_approval",
        &["matched_rule_three", "matched_rule_two"],
        &[],
        "lenient,three,two",
    );
    assert_eq!(d.min_approvals(), 3);
    // min_approvals > 1 forces distinct approvers.
    assert!(d.require_distinct_approvers());
}

#[test]
fn require_approval_rule_needs_at_least_one_approval() {
    let p = policy("rules:\n  - name: gate\n    effect: require_approval\n");
    let d = eval(&p, &intent(&base()));
    expect(&d, "require_approval", &["matched_rule_gate"], &[], "gate");
    assert_eq!(d.min_approvals(), 1);
    assert!(!d.require_distinct_approvers());

    let p = policy(
        "rules:\n  - name: gate\n    effect: require_approval\n    require_distinct_approvers: true\n",
    );
    let d = eval(&p, &intent(&base()));
    assert_eq!(d.min_approvals(), 1);
    assert!(d.require_distinct_approvers());
}

#[test]
fn approvals_are_cleared_when_the_verdict_is_not_require_approval() {
    let p = policy(
        "default_verdict: allow
rules:
  - name: approve
    effect: require_approval
    min_approvals: 4
  - name: stop
    effect: block
",
    );
    let d = eval(&p, &intent(&base()));
    expect(&d, "block", &["matched_rule_stop"], &[], "approve,stop");
    assert_eq!(d.min_approvals(), 0);
    assert!(!d.require_distinct_approvers());

    let p = policy(
        "default_verdict: block\nrules:\n  - name: ok\n    effect: allow\n    min_approvals: 2\n    require_distinct_approvers: true\n",
    );
    let d = eval(&p, &intent(&base()));
    expect(&d, "allow", &["matched_rule_ok"], &[], "ok");
    assert_eq!(d.min_approvals(), 0);
    assert!(!d.require_distinct_approvers());
}

#[test]
fn requirements_come_only_from_rules_whose_effect_is_the_verdict() {
    let p = policy(
        "default_verdict: block
rules:
  - name: brokered
    effect: allow
    require_broker_credential: true
    broker_reference: vault://x
    broker_scopes: [write]
    rate_limit: {requests: 1}
  - name: delegated
    effect: require_approval
    match:
      require_delegation: true
      delegation_scopes: [ops]
    rate_limit: {requests: 5, window: hour, scope: identity}
",
    );
    // Without delegation only `brokered` matches.
    let d = eval(&p, &intent(&base()));
    expect(&d, "allow", &["matched_rule_brokered"], &[], "brokered");
    assert!(d.require_broker_credential());
    assert_eq!(d.broker_reference(), "vault://x");
    assert_eq!(d.broker_scopes(), ["write"]);
    assert!(!d.require_delegation());
    assert_eq!(d.rate_limit().unwrap().requests, 1);

    // With a delegation both match; `delegated` decides alone.
    let del = with(base(), |v| {
        v["delegation"] = json!({"requester_identity": "alice", "scope_class": "ops"});
    });
    let d = eval(&p, &intent(&del));
    expect(
        &d,
        "require_approval",
        &["matched_rule_delegated"],
        &[],
        "brokered,delegated",
    );
    assert!(!d.require_broker_credential());
    assert_eq!(d.broker_reference(), "");
    assert!(d.broker_scopes().is_empty());
    assert!(d.require_delegation());
    assert_eq!(d.required_delegation_scopes(), ["ops"]);
    let rl = d.rate_limit().unwrap();
    assert_eq!(rl.requests, 5);
    assert_eq!(rl.window.as_str(), "hour");
    assert_eq!(rl.scope.as_str(), "identity");
}

#[test]
fn the_most_restrictive_rate_limit_of_the_tier_is_kept() {
    let p = policy(
        "default_verdict: block
rules:
  - name: a
    effect: allow
    rate_limit: {requests: 3, window: hour, scope: tool}
  - name: b
    effect: allow
    rate_limit: {requests: 3, window: minute, scope: tool_identity}
  - name: c
    effect: allow
    rate_limit: {requests: 3, window: minute, scope: identity}
  - name: d
    effect: allow
    rate_limit: {requests: 0, window: minute}
",
    );
    let d = eval(&p, &intent(&base()));
    let rl = d.rate_limit().unwrap();
    // Fewest requests, then minute before hour, then the smaller scope name.
    assert_eq!(
        (rl.requests, rl.window.as_str(), rl.scope.as_str()),
        (3, "minute", "identity")
    );
    assert!(d.destructive_budget().is_none());
}
