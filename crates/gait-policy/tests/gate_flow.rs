//! The post-evaluation gate flow (spec §3.6, §5.2, §5.3): approvals,
//! delegation chains, the broker fail-closed step, simulation, rate limits
//! and destructive budgets. Tokens are minted here with fixed keys and
//! validated at a fixed wall-clock time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use gait_digest::GoTime;
use gait_policy::gate::{FileRateLimitStore, GateInputs, GateOutcome, run};
use gait_policy::intent::Intent;
use gait_policy::policy::Policy;
use gait_policy::token::{
    ApprovalMint, ApprovalToken, DelegationMint, DelegationToken, mint_approval_token,
    mint_delegation_token,
};
use gait_sign::{Approval, Delegation, SigningKey};
use serde_json::{Value, json};

// ---------------------------------------------------------------- helpers

const T0: &str = "2026-03-10T12:00:00Z";
const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HOUR: i128 = 3_600_000_000_000;

fn at(t: &str) -> GoTime {
    GoTime::parse(t).unwrap()
}

fn t0() -> GoTime {
    at(T0)
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml_str(yaml).unwrap_or_else(|e| panic!("policy must load: {e}\n{yaml}"))
}

fn intent(value: &Value) -> Intent {
    Intent::from_value(value).unwrap_or_else(|e| panic!("intent must load: {e}\n{value:#}"))
}

fn with(mut v: Value, edit: impl FnOnce(&mut Value)) -> Value {
    edit(&mut v);
    v
}

/// A non-destructive write.
fn write() -> Value {
    json!({
        "tool_name": "tool.write",
        "args": {"path": "/tmp/out.txt"},
        "targets": [{"kind": "path", "value": "/tmp/out.txt", "operation": "write"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {"identity": "alice", "workspace": "/repo/app", "risk_class": "medium"}
    })
}

fn delete() -> Value {
    with(write(), |v| {
        v["tool_name"] = json!("tool.delete");
        *v.pointer_mut("/targets/0/operation").unwrap() = json!("delete");
    })
}

fn approval_signer() -> SigningKey<Approval> {
    SigningKey::from_seed(&[7; 32])
}

fn delegation_signer() -> SigningKey<Delegation> {
    SigningKey::from_seed(&[9; 32])
}

/// Options for an approval of `i` under `p` by `approver`, valid for an
/// hour from ten minutes before T0.
fn approval_opts(p: &Policy, i: &Intent, approver: &str, scope: &[&str]) -> ApprovalMint {
    ApprovalMint {
        approver_identity: approver.into(),
        reason_code: "reviewed".into(),
        intent_digest: i.intent_digest().to_hex(),
        policy_digest: p.digest().to_hex(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        ttl_nanos: HOUR,
        now: at("2026-03-10T11:50:00Z"),
        ..ApprovalMint::default()
    }
}

fn mint_approval(opts: &ApprovalMint) -> ApprovalToken {
    mint_approval_token(opts, &approval_signer()).unwrap()
}

fn approve(p: &Policy, i: &Intent, approver: &str) -> ApprovalToken {
    mint_approval(&approval_opts(p, i, approver, &["tool:tool.write"]))
}

fn delegation(delegator: &str, delegate: &str, scope: &[&str]) -> DelegationMint {
    DelegationMint {
        delegator_identity: delegator.into(),
        delegate_identity: delegate.into(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        ttl_nanos: HOUR,
        now: at("2026-03-10T11:50:00Z"),
        ..DelegationMint::default()
    }
}

fn mint_delegation(opts: &DelegationMint) -> DelegationToken {
    mint_delegation_token(opts, &delegation_signer()).unwrap()
}

/// Gate inputs at T0 (evaluation and wall clock), with both verify keys
/// and no rate-limit state unless given.
fn inputs<'a>(
    p: &'a Policy,
    i: &'a Intent,
    approvals: &'a [ApprovalToken],
    delegations: &'a [DelegationToken],
    state: Option<&'a FileRateLimitStore>,
) -> GateInputs<'a> {
    let mut gi = GateInputs::new(p, i, t0());
    gi.wall_clock = t0();
    gi.approval_tokens = approvals;
    gi.approval_key =
        Some(APPROVAL_VERIFY.get_or_init(|| approval_signer().verifying_key().clone()));
    gi.delegation_tokens = delegations;
    gi.delegation_key =
        Some(DELEGATION_VERIFY.get_or_init(|| delegation_signer().verifying_key().clone()));
    gi.rate_limits = state.map(|s| s as &dyn gait_policy::gate::RateLimitStore);
    gi
}

static APPROVAL_VERIFY: std::sync::OnceLock<gait_sign::VerifyingKey<Approval>> =
    std::sync::OnceLock::new();
static DELEGATION_VERIFY: std::sync::OnceLock<gait_sign::VerifyingKey<Delegation>> =
    std::sync::OnceLock::new();

fn gate(gi: &GateInputs<'_>) -> GateOutcome {
    run(gi).unwrap()
}

fn strs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[track_caller]
fn expect(o: &GateOutcome, verdict: &str, reasons: &[&str], violations: &[&str]) {
    let d = &o.decision;
    let got = (
        d.verdict().as_str(),
        d.reason_codes().to_vec(),
        d.violations().to_vec(),
    );
    assert_eq!(got, (verdict, strs(reasons), strs(violations)));
}

const APPROVAL_POLICY: &str = "default_verdict: block
rules:
  - name: gate
    effect: require_approval
";

// -------------------------------------------------------------- approvals

#[test]
fn approval_missing() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    let o = gate(&inputs(&p, &i, &[], &[], None));
    expect(
        &o,
        "require_approval",
        &["approval_token_missing", "matched_rule_gate"],
        &["approval_not_granted"],
    );
    assert_eq!((o.required_approvals, o.valid_approvals), (1, 0));
    assert!(o.approval_ref.is_empty());
    assert!(o.approval_entries.is_empty());
    assert_eq!(o.decision.matched_rule(), "gate");
    assert!(!o.decision.permits_execution());
}

#[test]
fn approval_granted() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    let token = approve(&p, &i, "bob");
    let tokens = [token.clone()];
    let o = gate(&inputs(&p, &i, &tokens, &[], None));
    expect(&o, "allow", &["approval_granted", "matched_rule_gate"], &[]);
    assert!(o.decision.permits_execution());
    assert_eq!((o.required_approvals, o.valid_approvals), (1, 1));
    assert_eq!(o.approval_ref, token.token_id);
    let entry = &o.approval_entries[0];
    assert!(entry.valid);
    assert_eq!(entry.approver_identity, "bob");
    assert_eq!(entry.error_code, "");
    // A wildcard scope covers everything.
    let wildcard = [mint_approval(&approval_opts(&p, &i, "bob", &["*"]))];
    let o = gate(&inputs(&p, &i, &wildcard, &[], None));
    expect(&o, "allow", &["approval_granted", "matched_rule_gate"], &[]);
}

#[test]
fn approval_is_not_consulted_unless_the_verdict_requires_it() {
    let p = policy(
        "default_verdict: allow\nrules:\n  - name: stop\n    effect: block\n    match:\n      tool_names: [tool.write]\n",
    );
    let i = intent(&write());
    let tokens = [approve(&p, &i, "bob")];
    let o = gate(&inputs(&p, &i, &tokens, &[], None));
    expect(&o, "block", &["matched_rule_stop"], &[]);
    assert_eq!((o.required_approvals, o.valid_approvals), (0, 0));
    assert!(o.approval_entries.is_empty());
}

#[test]
fn approval_chain_insufficient() {
    let p = policy(
        "default_verdict: block\nrules:\n  - name: gate\n    effect: require_approval\n    min_approvals: 2\n",
    );
    let i = intent(&write());
    let tokens = [approve(&p, &i, "bob")];
    let o = gate(&inputs(&p, &i, &tokens, &[], None));
    // One valid approval of two (min_approvals > 1 also requires distinct
    // approvers, and one approver is fewer than two).
    expect(
        &o,
        "require_approval",
        &[
            "approval_chain_insufficient",
            "approval_distinct_approvers_required",
            "matched_rule_gate",
        ],
        &["approval_not_granted"],
    );
    assert_eq!((o.required_approvals, o.valid_approvals), (2, 1));
}

#[test]
fn approval_distinct_approvers() {
    let p = policy(
        "default_verdict: block\nrules:\n  - name: gate\n    effect: require_approval\n    min_approvals: 2\n",
    );
    let i = intent(&write());
    let first = approve(&p, &i, "bob");
    let mut again = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    again.reason_code = "second look".into();
    let same_twice = [first.clone(), mint_approval(&again)];
    let o = gate(&inputs(&p, &i, &same_twice, &[], None));
    expect(
        &o,
        "require_approval",
        &["approval_distinct_approvers_required", "matched_rule_gate"],
        &["approval_not_granted"],
    );
    assert_eq!(o.valid_approvals, 2);

    let second = approve(&p, &i, "carol");
    let two = [second.clone(), first.clone()];
    let o = gate(&inputs(&p, &i, &two, &[], None));
    expect(&o, "allow", &["approval_granted", "matched_rule_gate"], &[]);
    let mut ids = [first.token_id, second.token_id];
    ids.sort();
    assert_eq!(o.approval_ref, ids.join(","));
    assert_eq!(o.valid_approvals, 2);
}

/// Presents `token` alone for `i` under `p` at `wall` and checks it is
/// rejected with `code`.
#[track_caller]
fn expect_rejected(p: &Policy, i: &Intent, token: ApprovalToken, wall: &str, code: &str) {
    let tokens = [token];
    let mut gi = inputs(p, i, &tokens, &[], None);
    gi.wall_clock = at(wall);
    let o = gate(&gi);
    expect(
        &o,
        "require_approval",
        &[code, "approval_chain_insufficient", "matched_rule_gate"]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        &["approval_not_granted"],
    );
    let [entry] = o.approval_entries.as_slice() else {
        panic!("one audit entry expected: {:?}", o.approval_entries);
    };
    assert!(!entry.valid);
    assert_eq!(entry.error_code, code);
}

#[test]
fn approval_token_invalid_and_signature_codes() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    let good = approve(&p, &i, "bob");

    let mut no_scope = good.clone();
    no_scope.scope.clear();
    expect_rejected(&p, &i, no_scope, T0, "approval_token_invalid");
    let mut wrong_schema = good.clone();
    wrong_schema.schema_id = "gait.gate.other".into();
    expect_rejected(&p, &i, wrong_schema, T0, "approval_token_invalid");

    let mut unsigned = good.clone();
    unsigned.signature = None;
    expect_rejected(&p, &i, unsigned, T0, "approval_token_signature_missing");

    let other_key: SigningKey<Approval> = SigningKey::from_seed(&[8; 32]);
    let forged = mint_approval_token(
        &approval_opts(&p, &i, "bob", &["tool:tool.write"]),
        &other_key,
    )
    .unwrap();
    expect_rejected(&p, &i, forged, T0, "approval_token_signature_invalid");
    // A field changed after signing.
    let mut tampered = good.clone();
    tampered.approver_identity = "mallory".into();
    expect_rejected(&p, &i, tampered, T0, "approval_token_signature_invalid");

    // No verify key at all: the signature cannot be checked.
    let tokens = [good];
    let mut gi = inputs(&p, &i, &tokens, &[], None);
    gi.approval_key = None;
    let o = gate(&gi);
    expect(
        &o,
        "require_approval",
        &[
            "approval_chain_insufficient",
            "approval_token_signature_invalid",
            "matched_rule_gate",
        ],
        &["approval_not_granted"],
    );
}

#[test]
fn approval_token_binding_codes() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());

    let mut opts = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    opts.intent_digest = HEX_A.into();
    expect_rejected(
        &p,
        &i,
        mint_approval(&opts),
        T0,
        "approval_token_intent_mismatch",
    );
    // A token for another call of the same tool does not transfer.
    let other = intent(&with(write(), |v| {
        v["targets"][0]["value"] = json!("/tmp/other.txt");
    }));
    expect_rejected(
        &p,
        &i,
        approve(&p, &other, "bob"),
        T0,
        "approval_token_intent_mismatch",
    );

    let mut opts = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    opts.policy_digest = HEX_A.into();
    expect_rejected(
        &p,
        &i,
        mint_approval(&opts),
        T0,
        "approval_token_policy_mismatch",
    );

    // The intent digest is checked before expiry.
    let mut opts = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    opts.intent_digest = HEX_A.into();
    expect_rejected(
        &p,
        &i,
        mint_approval(&opts),
        "2027-01-01T00:00:00Z",
        "approval_token_intent_mismatch",
    );
}

#[test]
fn approval_token_delegation_binding() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&with(write(), |v| {
        v["delegation"] = json!({"requester_identity": "alice", "scope_class": "write"});
    }));
    // A delegated intent needs a token bound to its delegation.
    expect_rejected(
        &p,
        &i,
        approve(&p, &i, "bob"),
        T0,
        "approval_token_delegation_binding_mismatch",
    );
    let mut opts = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    opts.delegation_binding_digest = HEX_A.into();
    expect_rejected(
        &p,
        &i,
        mint_approval(&opts),
        T0,
        "approval_token_delegation_binding_mismatch",
    );
    opts.delegation_binding_digest = i.delegation_digest().unwrap().to_hex();
    let tokens = [mint_approval(&opts)];
    let o = gate(&inputs(&p, &i, &tokens, &[], None));
    expect(&o, "allow", &["approval_granted", "matched_rule_gate"], &[]);
}

#[test]
fn approval_token_expired() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    // Minted at 11:50 for an hour: valid until 12:50 exclusive.
    let tokens = [approve(&p, &i, "bob")];
    let mut gi = inputs(&p, &i, &tokens, &[], None);
    gi.wall_clock = at("2026-03-10T12:49:59.999Z");
    expect(
        &gate(&gi),
        "allow",
        &["approval_granted", "matched_rule_gate"],
        &[],
    );
    expect_rejected(
        &p,
        &i,
        approve(&p, &i, "bob"),
        "2026-03-10T12:50:00Z",
        "approval_token_expired",
    );
    expect_rejected(
        &p,
        &i,
        approve(&p, &i, "bob"),
        "2026-03-11T00:00:00Z",
        "approval_token_expired",
    );
    // Expiry follows the wall clock, not the evaluation time.
    let mut gi = inputs(&p, &i, &tokens, &[], None);
    gi.eval = gait_policy::eval::EvalOptions::at(at("2030-01-01T00:00:00Z"));
    expect(
        &gate(&gi),
        "allow",
        &["approval_granted", "matched_rule_gate"],
        &[],
    );
}

#[test]
fn approval_token_scope() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    let read_only = mint_approval(&approval_opts(&p, &i, "bob", &["tool:tool.read"]));
    expect_rejected(&p, &i, read_only, T0, "approval_token_scope_mismatch");
    // The runbook's `tool.write` form is not `tool:<name>`.
    let runbook = mint_approval(&approval_opts(&p, &i, "bob", &["tool.write"]));
    expect_rejected(&p, &i, runbook, T0, "approval_token_scope_mismatch");

    // A destructive apply also needs phase:apply and destructive:apply.
    let d = intent(&delete());
    let p = policy("default_verdict: block\nrules:\n  - name: gate\n    effect: allow\n");
    let tool_only = mint_approval(&approval_opts(&p, &d, "bob", &["tool:tool.delete"]));
    let tokens = [tool_only];
    let o = gate(&inputs(&p, &d, &tokens, &[], None));
    expect(
        &o,
        "require_approval",
        &[
            "approval_chain_insufficient",
            "approval_token_scope_mismatch",
            "destructive_apply_requires_approval",
            "matched_rule_gate",
        ],
        &["approval_not_granted"],
    );
    let full = mint_approval(&approval_opts(
        &p,
        &d,
        "bob",
        &["TOOL:tool.delete", "phase:apply", "destructive:apply"],
    ));
    let tokens = [full];
    let o = gate(&inputs(&p, &d, &tokens, &[], None));
    expect(
        &o,
        "allow",
        &[
            "approval_granted",
            "destructive_apply_requires_approval",
            "matched_rule_gate",
        ],
        &[],
    );
}

#[test]
fn approval_token_bounds() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&with(write(), |v| {
        v["targets"] = json!([
            {"kind": "path", "value": "/tmp/a", "operation": "write"},
            {"kind": "path", "value": "/tmp/b", "operation": "write"}
        ]);
    }));
    let mut opts = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    opts.max_targets = 1;
    expect_rejected(
        &p,
        &i,
        mint_approval(&opts),
        T0,
        "approval_token_max_targets_exceeded",
    );
    opts.max_targets = 2;
    opts.max_ops = 1;
    expect_rejected(
        &p,
        &i,
        mint_approval(&opts),
        T0,
        "approval_token_max_ops_exceeded",
    );
    opts.max_ops = 2;
    let tokens = [mint_approval(&opts)];
    expect(
        &gate(&inputs(&p, &i, &tokens, &[], None)),
        "allow",
        &["approval_granted", "matched_rule_gate"],
        &[],
    );
}

#[test]
fn approval_invalid_tokens_are_reported_even_when_granted() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    let mut stale = approval_opts(&p, &i, "carol", &["tool:tool.write"]);
    stale.now = at("2026-03-09T00:00:00Z");
    let tokens = [mint_approval(&stale), approve(&p, &i, "bob")];
    let o = gate(&inputs(&p, &i, &tokens, &[], None));
    expect(
        &o,
        "allow",
        &[
            "approval_granted",
            "approval_token_expired",
            "matched_rule_gate",
        ],
        &[],
    );
    assert_eq!(o.valid_approvals, 1);
    assert_eq!(o.approval_entries.len(), 2);
}

// ------------------------------------------------------------- delegation

const DELEGATION_POLICY: &str = "default_verdict: block
rules:
  - name: delegated
    effect: allow
    match:
      require_delegation: true
      delegation_scopes: [write]
";

fn delegated_write() -> Value {
    with(write(), |v| {
        v["delegation"] = json!({
            "requester_identity": "alice",
            "scope_class": "write",
            "chain": [
                {"delegator_identity": "lead", "delegate_identity": "manager"},
                {"delegator_identity": "manager", "delegate_identity": "alice"}
            ]
        });
    })
}

#[test]
fn delegation_missing() {
    let p = policy(DELEGATION_POLICY);
    let i = intent(&delegated_write());
    let o = gate(&inputs(&p, &i, &[], &[], None));
    expect(
        &o,
        "block",
        &["delegation_token_missing", "matched_rule_delegated"],
        &["delegation_not_granted"],
    );
    assert!(o.delegation_required);
    assert_eq!(o.valid_delegations, 0);
}

#[test]
fn delegation_granted() {
    let p = policy(DELEGATION_POLICY);
    let i = intent(&delegated_write());
    // Token order does not matter: each link takes the first token that
    // validates for it.
    let first = mint_delegation(&delegation("lead", "manager", &["write"]));
    let second = mint_delegation(&delegation("manager", "alice", &["write", "read"]));
    let tokens = [second.clone(), first.clone()];
    let o = gate(&inputs(&p, &i, &[], &tokens, None));
    expect(
        &o,
        "allow",
        &["delegation_granted", "matched_rule_delegated"],
        &[],
    );
    assert_eq!(o.valid_delegations, 2);
    let mut ids = [first.token_id, second.token_id];
    ids.sort();
    assert_eq!(o.delegation_ref, ids.join(","));
    assert!(o.delegation_entries.iter().all(|e| e.valid));
    // Scope matching is any-of over the scopes and the scope class, and
    // tokens bound to this intent and policy are accepted.
    let mut bound = delegation("lead", "manager", &["deploy"]);
    bound.scope_class = "write".into();
    bound.intent_digest = i.intent_digest().to_hex();
    bound.policy_digest = p.digest().to_hex();
    let tokens = [
        mint_delegation(&bound),
        mint_delegation(&delegation("manager", "alice", &["*"])),
    ];
    let o = gate(&inputs(&p, &i, &[], &tokens, None));
    expect(
        &o,
        "allow",
        &["delegation_granted", "matched_rule_delegated"],
        &[],
    );
}

#[test]
fn delegation_without_a_chain_needs_one_token_for_the_requester() {
    let p = policy(DELEGATION_POLICY);
    let i = intent(&with(write(), |v| {
        v["delegation"] = json!({"requester_identity": "alice", "scope_class": "write"});
    }));
    let tokens = [mint_delegation(&delegation("anyone", "alice", &["write"]))];
    expect(
        &gate(&inputs(&p, &i, &[], &tokens, None)),
        "allow",
        &["delegation_granted", "matched_rule_delegated"],
        &[],
    );
    let tokens = [mint_delegation(&delegation("anyone", "bob", &["write"]))];
    let o = gate(&inputs(&p, &i, &[], &tokens, None));
    expect(
        &o,
        "block",
        &[
            "delegation_chain_insufficient",
            "delegation_token_delegate_mismatch",
            "delegation_token_missing",
            "matched_rule_delegated",
        ],
        &["delegation_not_granted"],
    );
}

#[test]
fn delegation_chain_insufficient() {
    let p = policy(DELEGATION_POLICY);
    let i = intent(&delegated_write());
    let tokens = [mint_delegation(&delegation("lead", "manager", &["write"]))];
    let o = gate(&inputs(&p, &i, &[], &tokens, None));
    expect(
        &o,
        "block",
        &[
            "delegation_chain_insufficient",
            "delegation_token_missing",
            "matched_rule_delegated",
        ],
        &["delegation_not_granted"],
    );
    assert_eq!(o.valid_delegations, 1);
    assert!(o.delegation_ref.is_empty());
}

#[test]
fn delegation_token_errors_are_reported() {
    let p = policy(DELEGATION_POLICY);
    let i = intent(&delegated_write());
    let first = mint_delegation(&delegation("lead", "manager", &["write"]));

    let mut expired = delegation("manager", "alice", &["write"]);
    expired.now = at("2026-03-09T00:00:00Z");
    let mut wrong_intent = delegation("manager", "alice", &["write"]);
    wrong_intent.intent_digest = HEX_A.into();
    let mut wrong_policy = delegation("manager", "alice", &["write"]);
    wrong_policy.policy_digest = HEX_A.into();
    let mut no_scope = mint_delegation(&delegation("manager", "alice", &["write"]));
    no_scope.scope.clear();
    let mut unsigned = mint_delegation(&delegation("manager", "alice", &["write"]));
    unsigned.signature = None;
    let forged = mint_delegation_token(
        &delegation("manager", "alice", &["write"]),
        &SigningKey::from_seed(&[1; 32]),
    )
    .unwrap();
    for (second, code) in [
        (
            mint_delegation(&delegation("manager", "alice", &["read"])),
            "delegation_token_scope_mismatch",
        ),
        (mint_delegation(&expired), "delegation_token_expired"),
        (
            mint_delegation(&wrong_intent),
            "delegation_token_intent_mismatch",
        ),
        (
            mint_delegation(&wrong_policy),
            "delegation_token_policy_mismatch",
        ),
        (
            mint_delegation(&delegation("boss", "alice", &["write"])),
            "delegation_token_delegator_mismatch",
        ),
        (no_scope, "delegation_token_invalid"),
        (unsigned, "delegation_token_signature_missing"),
        (forged, "delegation_token_signature_invalid"),
    ] {
        let tokens = [first.clone(), second];
        let o = gate(&inputs(&p, &i, &[], &tokens, None));
        let mut reasons = [
            "delegation_chain_insufficient",
            code,
            "delegation_token_missing",
            "matched_rule_delegated",
        ];
        reasons.sort_unstable();
        expect(&o, "block", &reasons, &["delegation_not_granted"]);
        assert_eq!(o.valid_delegations, 1, "{code}");
    }
}

#[test]
fn delegation_then_approval() {
    let p = policy(
        "default_verdict: block\nrules:\n  - name: both\n    effect: require_approval\n    match:\n      require_delegation: true\n",
    );
    let i = intent(&delegated_write());
    let delegations = [
        mint_delegation(&delegation("lead", "manager", &["write"])),
        mint_delegation(&delegation("manager", "alice", &["write"])),
    ];
    let o = gate(&inputs(&p, &i, &[], &delegations, None));
    expect(
        &o,
        "require_approval",
        &[
            "approval_token_missing",
            "delegation_granted",
            "matched_rule_both",
        ],
        &["approval_not_granted"],
    );
    let mut opts = approval_opts(&p, &i, "bob", &["tool:tool.write"]);
    opts.delegation_binding_digest = i.delegation_digest().unwrap().to_hex();
    let approvals = [mint_approval(&opts)];
    let o = gate(&inputs(&p, &i, &approvals, &delegations, None));
    expect(
        &o,
        "allow",
        &[
            "approval_granted",
            "delegation_granted",
            "matched_rule_both",
        ],
        &[],
    );
    // A failed delegation blocks before approvals are consulted.
    let o = gate(&inputs(&p, &i, &approvals, &[], None));
    expect(
        &o,
        "block",
        &["delegation_token_missing", "matched_rule_both"],
        &["delegation_not_granted"],
    );
    assert!(o.approval_entries.is_empty());
}

// ----------------------------------------------------------------- broker

#[test]
fn broker_required_fails_closed() {
    let p = policy(
        "default_verdict: block\nrules:\n  - name: brokered\n    effect: allow\n    require_broker_credential: true\n    broker_reference: vault://db\n",
    );
    let i = intent(&write());
    let o = gate(&inputs(&p, &i, &[], &[], None));
    expect(
        &o,
        "block",
        &["broker_credential_required", "matched_rule_brokered"],
        &["broker_credential_missing"],
    );
    // Only an `allow` needs the broker: a call still waiting for approval
    // is reported as such.
    let p = policy(
        "default_verdict: block\nrules:\n  - name: brokered\n    effect: require_approval\n    require_broker_credential: true\n",
    );
    let o = gate(&inputs(&p, &i, &[], &[], None));
    expect(
        &o,
        "require_approval",
        &["approval_token_missing", "matched_rule_brokered"],
        &["approval_not_granted"],
    );
    // Once approved, the missing broker blocks.
    let tokens = [approve(&p, &i, "bob")];
    let o = gate(&inputs(&p, &i, &tokens, &[], None));
    expect(
        &o,
        "block",
        &[
            "approval_granted",
            "broker_credential_required",
            "matched_rule_brokered",
        ],
        &["broker_credential_missing"],
    );
}

// --------------------------------------------------------------- simulate

#[test]
fn simulate_reports_without_enforcing_a_block() {
    let p = policy(
        "default_verdict: allow\nrules:\n  - name: stop\n    effect: block\n    violations: [forbidden]\n",
    );
    let i = intent(&write());
    let mut gi = inputs(&p, &i, &[], &[], None);
    gi.simulate = true;
    let o = gate(&gi);
    expect(
        &o,
        "allow",
        &[
            "matched_rule_stop",
            "simulate_mode_non_enforcing",
            "simulated_block",
        ],
        &[],
    );
    let sim = o.simulation.unwrap();
    assert_eq!(sim.verdict.as_str(), "block");
    assert_eq!(sim.reason_codes, ["matched_rule_stop"]);
    assert!(sim.would_have_blocked);
    // Not simulated: enforced, with its violation.
    let o = gate(&inputs(&p, &i, &[], &[], None));
    expect(&o, "block", &["matched_rule_stop"], &["forbidden"]);
    assert!(o.simulation.is_none());
}

#[test]
fn simulate_require_approval_and_broker() {
    let p = policy(APPROVAL_POLICY);
    let i = intent(&write());
    let mut gi = inputs(&p, &i, &[], &[], None);
    gi.simulate = true;
    let o = gate(&gi);
    expect(
        &o,
        "allow",
        &[
            "approval_token_missing",
            "matched_rule_gate",
            "simulate_mode_non_enforcing",
            "simulated_require_approval",
        ],
        &[],
    );
    let sim = o.simulation.unwrap();
    assert_eq!(sim.verdict.as_str(), "require_approval");
    assert_eq!(
        sim.reason_codes,
        ["approval_token_missing", "matched_rule_gate"]
    );
    assert!(sim.would_have_blocked);

    let p = policy(
        "default_verdict: block\nrules:\n  - name: brokered\n    effect: allow\n    require_broker_credential: true\n",
    );
    let mut gi = inputs(&p, &i, &[], &[], None);
    gi.simulate = true;
    expect(
        &gate(&gi),
        "allow",
        &[
            "broker_credential_required",
            "matched_rule_brokered",
            "simulate_mode_non_enforcing",
            "simulated_block",
        ],
        &[],
    );
}

#[test]
fn simulate_leaves_allow_and_dry_run_alone() {
    let i = intent(&write());
    for verdict in ["allow", "dry_run"] {
        let p = policy(&format!(
            "default_verdict: block\nrules:\n  - name: r\n    effect: {verdict}\n    violations: [noted]\n"
        ));
        let mut gi = inputs(&p, &i, &[], &[], None);
        gi.simulate = true;
        let o = gate(&gi);
        expect(
            &o,
            verdict,
            &["matched_rule_r", "simulate_mode_non_enforcing"],
            &["noted"],
        );
        let sim = o.simulation.unwrap();
        assert_eq!(sim.verdict.as_str(), verdict);
        assert!(!sim.would_have_blocked);
    }
}

// ------------------------------------------------ rate limits and budgets

#[test]
fn rate_limit_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    // A state folder that does not exist yet is created (spec §12).
    let state = FileRateLimitStore::new(dir.path().join("nested/gate_rate_limits.json"));
    let p = policy(
        "default_verdict: block\nrules:\n  - name: limited\n    effect: allow\n    rate_limit: {requests: 2, window: hour}\n",
    );
    let i = intent(&write());
    for used in 1..=2 {
        let o = gate(&inputs(&p, &i, &[], &[], Some(&state)));
        expect(&o, "allow", &["matched_rule_limited"], &[]);
        let rl = o.rate_limit.unwrap();
        assert!(rl.allowed);
        assert_eq!((rl.limit, rl.used, rl.remaining), (2, used, 2 - used));
        assert_eq!(
            (rl.scope.as_str(), rl.key.as_str()),
            ("tool_identity", "tool.write|alice")
        );
    }
    let o = gate(&inputs(&p, &i, &[], &[], Some(&state)));
    expect(
        &o,
        "block",
        &["matched_rule_limited", "rate_limit_exceeded"],
        &["rate_limit_exceeded"],
    );
    assert!(!o.rate_limit.unwrap().allowed);
    assert!(state.path().exists());

    // Another identity has its own counter (scope tool_identity).
    let bob = intent(&with(write(), |v| v["context"]["identity"] = json!("bob")));
    expect(
        &gate(&inputs(&p, &bob, &[], &[], Some(&state))),
        "allow",
        &["matched_rule_limited"],
        &[],
    );
    // The next hour is a new bucket.
    let mut gi = inputs(&p, &i, &[], &[], Some(&state));
    gi.wall_clock = at("2026-03-10T13:00:00Z");
    expect(&gate(&gi), "allow", &["matched_rule_limited"], &[]);
}

#[test]
fn rate_limit_counts_whatever_the_verdict_and_blocks_before_approval() {
    let dir = tempfile::tempdir().unwrap();
    let state = FileRateLimitStore::new(dir.path().join("limits.json"));
    let p = policy(
        "default_verdict: block\nrules:\n  - name: gate\n    effect: require_approval\n    rate_limit: {requests: 1, scope: tool}\n",
    );
    let i = intent(&write());
    let tokens = [approve(&p, &i, "bob")];
    let o = gate(&inputs(&p, &i, &tokens, &[], Some(&state)));
    expect(&o, "allow", &["approval_granted", "matched_rule_gate"], &[]);
    let o = gate(&inputs(&p, &i, &tokens, &[], Some(&state)));
    expect(
        &o,
        "block",
        &["matched_rule_gate", "rate_limit_exceeded"],
        &["rate_limit_exceeded"],
    );
    assert!(o.approval_entries.is_empty());
    // Scope `tool`: another identity shares the counter.
    let bob = intent(&with(write(), |v| v["context"]["identity"] = json!("bob")));
    let o = gate(&inputs(&p, &bob, &[], &[], Some(&state)));
    expect(
        &o,
        "block",
        &["matched_rule_gate", "rate_limit_exceeded"],
        &["rate_limit_exceeded"],
    );
}

#[test]
fn destructive_budget_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let state = FileRateLimitStore::new(dir.path().join("limits.json"));
    let p = policy(
        "default_verdict: block\nrules:\n  - name: budget\n    effect: allow\n    destructive_budget: {requests: 1, window: hour}\n",
    );
    let plan_delete = intent(&with(delete(), |v| v["context"]["phase"] = json!("plan")));
    let o = gate(&inputs(&p, &plan_delete, &[], &[], Some(&state)));
    expect(
        &o,
        "dry_run",
        &["matched_rule_budget", "plan_phase_non_destructive"],
        &[],
    );
    let budget = o.destructive_budget.unwrap();
    assert_eq!((budget.used, budget.remaining), (1, 0));
    assert_eq!(budget.key, "destructive_budget|tool.delete|alice");
    assert!(o.rate_limit.is_none());
    let o = gate(&inputs(&p, &plan_delete, &[], &[], Some(&state)));
    expect(
        &o,
        "block",
        &[
            "destructive_budget_exceeded",
            "matched_rule_budget",
            "plan_phase_non_destructive",
        ],
        &["destructive_budget_exceeded"],
    );
    // Non-destructive calls do not spend the budget.
    let w = intent(&write());
    for _ in 0..3 {
        let o = gate(&inputs(&p, &w, &[], &[], Some(&state)));
        expect(&o, "allow", &["matched_rule_budget"], &[]);
        assert!(o.destructive_budget.is_none());
    }
}
