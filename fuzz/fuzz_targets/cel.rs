//! Arbitrary text as a CEL `match.when` condition, and arbitrary bytes as
//! the intent it is evaluated against.
//!
//! The input is the condition, a NUL byte, then the intent JSON (without a
//! NUL, the whole input is the condition and a fixed intent is used). The
//! condition is loaded inside a policy (its rule blocks `tool.write` when
//! the condition holds; the default allows) and, when it loads, evaluated
//! against the intent. Nothing may panic or overflow a stack, evaluation
//! must end in bounded time (run with `-timeout=`), and a condition that
//! exceeds its evaluation limits must block the call.

#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use gait_digest::GoTime;
use gait_policy::cel::{CelInput, Condition, EvalError};
use gait_policy::eval::{EvalOptions, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, Verdict};
use libfuzzer_sys::fuzz_target;

const FIXED_INTENT: &str = r#"{
  "tool_name": "tool.write",
  "args": {"path": "/tmp/out.txt", "content": "hello", "n": 3, "list": [1, "a", {"k": null}]},
  "targets": [{"kind": "path", "value": "/tmp/out.txt", "operation": "write"}],
  "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
  "context": {"identity": "alice", "workspace": "/w", "risk_class": "low",
              "auth_context": {"tenant": "acme"}}
}"#;

static FIXED: LazyLock<(Intent, EvalOptions)> = LazyLock::new(|| {
    (
        Intent::from_json_str(FIXED_INTENT).expect("the fixed intent loads"),
        EvalOptions::at(GoTime::from_unix(1_770_249_600, 0)),
    )
});

/// Generous: the evaluation limits stop a condition after 100 ms of wall
/// time; the rest is loading and converting the intent.
const BOUND: Duration = Duration::from_secs(5);

fuzz_target!(|data: &[u8]| {
    let (text, intent_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(source) = std::str::from_utf8(text) else {
        return;
    };
    let (fixed, opts) = &*FIXED;
    let parsed;
    let intent = match intent_bytes.map(Intent::from_json_slice) {
        Some(Ok(i)) => {
            parsed = i;
            &parsed
        }
        Some(Err(_)) => return,
        None => fixed,
    };

    // The condition alone.
    let start = Instant::now();
    let condition = Condition::compile(source.trim());
    assert!(start.elapsed() < BOUND, "compiling took {:?}", start.elapsed());
    let Ok(condition) = condition else {
        return;
    };
    let input = CelInput::new(
        intent.tool_name(),
        intent.args(),
        intent.targets(),
        intent.arg_provenance(),
        intent.context(),
    );
    let start = Instant::now();
    let result = condition.evaluate(&input);
    assert!(start.elapsed() < BOUND, "evaluating took {:?}", start.elapsed());
    if let Err(EvalError::LimitExceeded(message)) = &result {
        assert!(!message.is_empty());
    }

    // Inside a policy: a JSON string is a YAML double-quoted scalar.
    let Ok(quoted) = serde_json::to_string(source) else {
        return;
    };
    let yaml = format!(
        "default_verdict: allow\nrules:\n  - name: fuzzed\n    priority: 1\n    effect: block\n    match:\n      tool_names: [tool.write]\n      when: {quoted}\n"
    );
    let Ok(policy) = Policy::from_yaml_str(&yaml) else {
        return;
    };
    let start = Instant::now();
    let decision = evaluate(&policy, intent, opts);
    assert!(start.elapsed() < BOUND, "the gate took {:?}", start.elapsed());
    assert_eq!(
        decision.permits_execution(),
        decision.verdict() == Verdict::Allow
    );
    let overrun = decision
        .reason_codes()
        .iter()
        .any(|c| c == "cel_limit_exceeded");
    if overrun {
        assert_eq!(decision.verdict(), Verdict::Block, "an overrun blocks");
    }
});
