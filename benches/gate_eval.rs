//! Gate evaluation benchmarks (issue 3).
//!
//! Run with
//! `cargo bench -p gait-benches --bench gate_eval -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md`.
//!
//! * `gate_eval/typical/evaluate`: `evaluate` of the reference's typical
//!   benchmark case (`core/gate/bench_test.go::BenchmarkEvaluatePolicyTypical`,
//!   see the gate spec §9) with the intent parsed and normalized once,
//!   outside the loop;
//! * `gate_eval/typical/parse+evaluate`: the intent JSON parsed,
//!   normalized and digested, then evaluated, per iteration (what the
//!   reference's benchmark measures: it starts from an `IntentRequest`
//!   struct and normalizes and digests it inside `EvaluatePolicy`);
//! * `gate_eval/rules_100/evaluate`: a generated 100-rule policy at varied
//!   priorities and tool names whose only matching rule is near the end of
//!   evaluation order, with the typical intent;
//! * `intent_breakdown`: `Intent::from_json_slice` of the typical intent
//!   alone, and the public pieces of it (strict parse, a plain
//!   `serde_json::Value` parse for comparison, building the digest
//!   projection, canonical SHA-256 of the projection and of `args`);
//! * `policy_load/typical`: YAML → `Policy` (strict parse, decode,
//!   normalize, digest) of the typical policy; `policy_load/rules_100` the
//!   same for the generated policy.

// Benchmark setup may panic on impossible failures (a literal that does not
// parse), and reports sizes on stderr; clippy.toml only relaxes these lints
// for `#[test]` code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gait_digest::{GoTime, canonical, digest_json};
use gait_policy::eval::{Decision, EvalOptions, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, Verdict};

/// `typical_policy.yaml` of the reference's benchmark case (copied
/// verbatim: a fresh clone has no shared fixtures).
const TYPICAL_POLICY: &str = r"schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: require_approval
fail_closed:
  enabled: true
  risk_classes: [high, critical]
  required_fields: [targets, arg_provenance]
rules:
  - name: allow-safe-write
    priority: 10
    effect: allow
    match:
      tool_names: [tool.write]
      target_kinds: [path]
      workspace_prefixes: [/tmp]
      provenance_sources: [user]
    reason_codes: [safe_write]
  - name: block-external-host
    priority: 20
    effect: block
    match:
      tool_names: [tool.write]
      target_kinds: [host]
    reason_codes: [blocked_external]
    violations: [external_egress]
";

/// `typical_intent.json` of the reference's benchmark case (verbatim).
const TYPICAL_INTENT: &str = r#"{
  "schema_id": "gait.gate.intent_request",
  "schema_version": "1.0.0",
  "created_at": "2026-02-05T00:00:00Z",
  "producer_version": "0.0.0-bench",
  "tool_name": "tool.write",
  "args": {"path": "/tmp/out.txt", "content": "hello"},
  "targets": [{"kind": "path", "value": "/tmp/out.txt"}],
  "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
  "context": {"identity": "bench-user", "workspace": "/tmp/workspace", "risk_class": "high"}
}
"#;

/// The evaluation time: fixed, so that no iteration reads the clock.
fn opts() -> EvalOptions {
    EvalOptions::at(GoTime::from_unix(1_770_249_600, 0)) // 2026-02-05T00:00:00Z
}

/// A policy with the typical policy's header and `n` rules (`n >= 2`).
///
/// `n - 2` rules do not match the typical intent: they sit at priorities
/// `(7 i) mod (n - 2) + 1` (for `n = 100`: 14 values from 1 to 92, seven
/// rules each, so the sorted order differs from the file order and ties are
/// broken by name) and cycle through four ways of missing: another tool name; `tool.write`
/// with a `host` target kind; `tool.write` with another workspace prefix;
/// `tool.write` with `provenance_sources: [external]`. The typical
/// `allow-safe-write` rule comes at priority `n + 10`, followed by
/// `block-external-host` at `n + 20`: in evaluation order the matching
/// rule is second to last, so every rule is tested.
fn generated_policy(n: usize) -> String {
    let mut yaml = String::from(
        "schema_id: gait.gate.policy\n\
         schema_version: 1.0.0\n\
         default_verdict: require_approval\n\
         fail_closed:\n\
         \x20 enabled: true\n\
         \x20 risk_classes: [high, critical]\n\
         \x20 required_fields: [targets, arg_provenance]\n\
         rules:\n",
    );
    let others = n - 2;
    for i in 0..others {
        // Varied, not distinct (7 divides 98): see the function's docs.
        let priority = (i * 7) % others + 1;
        let (effect, selector) = match i % 4 {
            0 => ("allow", format!("tool_names: [tool.op{i}, tool.read{i}]")),
            1 => (
                "block",
                "tool_names: [tool.write]\n      target_kinds: [host]".to_owned(),
            ),
            2 => (
                "require_approval",
                "tool_names: [tool.write]\n      workspace_prefixes: [/srv/ws]".to_owned(),
            ),
            _ => (
                "dry_run",
                "tool_names: [tool.write, tool.exec]\n      provenance_sources: [external]"
                    .to_owned(),
            ),
        };
        write!(
            yaml,
            "  - name: rule-{i:03}\n    priority: {priority}\n    effect: {effect}\n    match:\n      {selector}\n    reason_codes: [code_{i}]\n"
        )
        .expect("write to String");
    }
    write!(
        yaml,
        "  - name: allow-safe-write\n    priority: {}\n    effect: allow\n    match:\n      tool_names: [tool.write]\n      target_kinds: [path]\n      workspace_prefixes: [/tmp]\n      provenance_sources: [user]\n    reason_codes: [safe_write]\n  - name: block-external-host\n    priority: {}\n    effect: block\n    match:\n      tool_names: [tool.write]\n      target_kinds: [host]\n    reason_codes: [blocked_external]\n    violations: [external_egress]\n",
        n + 10,
        n + 20
    )
    .expect("write to String");
    yaml
}

/// The typical case's expected outcome (gate spec §9): allow [safe_write].
fn assert_typical(decision: &Decision, what: &str) {
    assert_eq!(decision.verdict(), Verdict::Allow, "{what}: verdict");
    assert_eq!(decision.reason_codes(), ["safe_write"], "{what}: reasons");
    assert!(decision.violations().is_empty(), "{what}: violations");
    assert_eq!(decision.matched_rule(), "allow-safe-write", "{what}: rule");
}

fn gate_eval(c: &mut Criterion) {
    let policy = Policy::from_yaml_str(TYPICAL_POLICY).expect("typical policy loads");
    let intent = Intent::from_json_str(TYPICAL_INTENT).expect("typical intent loads");
    let opts = opts();
    assert_typical(&evaluate(&policy, &intent, &opts), "typical");

    let big = generated_policy(100);
    let big_policy = Policy::from_yaml_str(&big).expect("generated policy loads");
    assert_eq!(big_policy.rules().len(), 100);
    assert_eq!(
        big_policy.rules().get(98).map(|r| r.name.as_str()),
        Some("allow-safe-write"),
        "the matching rule is second to last in evaluation order"
    );
    assert_typical(&evaluate(&big_policy, &intent, &opts), "rules_100");
    eprintln!(
        "rules_100: {} bytes of YAML, {} rules",
        big.len(),
        big_policy.rules().len()
    );

    let mut group = c.benchmark_group("gate_eval");
    group.bench_function("typical/evaluate", |b| {
        b.iter(|| evaluate(black_box(&policy), black_box(&intent), black_box(&opts)))
    });
    group.bench_function("typical/parse+evaluate", |b| {
        b.iter(|| {
            let intent =
                Intent::from_json_slice(black_box(TYPICAL_INTENT.as_bytes())).expect("valid");
            evaluate(black_box(&policy), &intent, black_box(&opts))
        })
    });
    // Like-for-like with the reference's benchmark, which starts from an
    // already decoded intent struct: decoded JSON in, then normalization,
    // the three digests and evaluation.
    let decoded: serde_json::Value = serde_json::from_str(TYPICAL_INTENT).expect("valid");
    group.bench_function("typical/normalize+evaluate", |b| {
        b.iter(|| {
            let intent = Intent::from_value(black_box(&decoded)).expect("valid");
            evaluate(black_box(&policy), &intent, black_box(&opts))
        })
    });
    group.bench_function("rules_100/evaluate", |b| {
        b.iter(|| evaluate(black_box(&big_policy), black_box(&intent), black_box(&opts)))
    });
    group.finish();

    // Breakdown of parse+evaluate: the intent alone, and the public pieces
    // of what `Intent::from_json_slice` does.
    let bytes = TYPICAL_INTENT.as_bytes();
    let mut group = c.benchmark_group("intent_breakdown");
    group.bench_function("from_json_slice", |b| {
        b.iter(|| Intent::from_json_slice(black_box(bytes)).expect("valid"))
    });
    group.bench_function("parse_strict", |b| {
        b.iter(|| canonical::parse_strict(black_box(bytes)).expect("valid"))
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(bytes)).expect("valid"))
    });
    group.bench_function("digest_projection", |b| {
        b.iter(|| black_box(&intent).digest_projection())
    });
    let projection = intent.digest_projection();
    group.bench_function("digest_json(projection)", |b| {
        b.iter(|| digest_json(black_box(&projection)))
    });
    let args = serde_json::Value::Object(intent.args().clone());
    group.bench_function("digest_json(args)", |b| {
        b.iter(|| digest_json(black_box(&args)))
    });
    group.finish();

    let mut group = c.benchmark_group("policy_load");
    group.bench_function("typical", |b| {
        b.iter(|| Policy::from_yaml_str(black_box(TYPICAL_POLICY)).expect("valid"))
    });
    group.bench_function("rules_100", |b| {
        b.iter(|| Policy::from_yaml_str(black_box(&big)).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, gate_eval);
criterion_main!(benches);
