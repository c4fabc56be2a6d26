//! CEL condition limits through the real binary: `gait policy validate`
//! refuses conditions that are too long or nested too deeply (exit 6,
//! naming the file, the rule and `match.when`), and a condition that
//! exceeds its evaluation budget blocks `gait gate eval` and `gait serve`
//! quickly instead of crashing or hanging them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn gait(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().next().unwrap_or("").trim())
        .unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn policy(when: &str, effect: &str, default: &str) -> String {
    format!(
        "default_verdict: {default}\nrules:\n  - name: guarded-write\n    priority: 1\n    effect: {effect}\n    match:\n      tool_names: [tool.write]\n      when: '{}'\n",
        when.replace('\'', "''")
    )
}

/// A condition that cannot finish within the evaluation budget: 10^6
/// iterations over lists of 1,000 elements. It would be false.
fn costly() -> String {
    let thousand = format!(
        "'x'{}.split(',')",
        ".replace('x', 'x,x,x,x,x,x,x,x,x,x')".repeat(3)
    );
    format!("{thousand}.map(a, {thousand}.map(b, 1)).size() == 0")
}

const INTENT: &str = r#"{"tool_name":"tool.write","args":{"path":"/tmp/x"},"targets":[{"kind":"path","value":"/tmp/x","operation":"write"}],"context":{"identity":"alice","workspace":"/w","risk_class":"low"}}"#;

#[test]
fn policy_validate_refuses_cel_conditions_over_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let chain = format!("intent.args.n{} == 0", " + 10".repeat(1499));
    let mut bomb = "1".to_owned();
    for level in 0..12 {
        bomb = format!("[1, 2, 3, 4].map(v{level}, {bomb})");
    }
    let bomb = format!("{bomb}.size() > 0");
    let parens = format!("{}true{}", "(".repeat(200), ")".repeat(200));
    for (name, when, needle) in [
        ("chain.yaml", chain.as_str(), "too long"),
        ("bomb.yaml", bomb.as_str(), "comprehension macros"),
        ("parens.yaml", parens.as_str(), "levels of brackets"),
    ] {
        let path = d.join(name);
        std::fs::write(&path, policy(when, "allow", "block")).unwrap();
        let path = path.display().to_string();
        let out = gait(d, &["policy", "validate", &path, "--json"], None);
        assert_eq!(out.status.code(), Some(6), "{name}: {out:?}");
        let v = json(&out);
        assert_eq!(v["ok"], false);
        assert_eq!(v["error_code"], "invalid_input");
        let error = v["error"].as_str().unwrap();
        assert!(error.starts_with(&path), "names the file: {error}");
        assert!(
            error.contains("rules[0].match.when"),
            "names the field: {error}"
        );
        assert!(error.contains("guarded-write"), "names the rule: {error}");
        assert!(error.contains(needle), "{needle:?} in {error}");
        // Text mode too.
        let out = gait(d, &["policy", "validate", &path], None);
        assert_eq!(out.status.code(), Some(6), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("rules[0].match.when"), "{stderr}");
    }
}

#[test]
fn gate_eval_blocks_on_a_cel_budget_overrun() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The rule blocks when the condition holds, and the default allows:
    // an overrun that was taken for "no match" would allow the call.
    std::fs::write(d.join("policy.yaml"), policy(&costly(), "block", "allow")).unwrap();
    std::fs::write(d.join("intent.json"), INTENT).unwrap();
    let out = gait(d, &["policy", "validate", "policy.yaml", "--json"], None);
    assert_eq!(out.status.code(), Some(0), "the policy loads: {out:?}");

    let start = Instant::now();
    let out = gait(
        d,
        &[
            "gate",
            "eval",
            "--policy",
            "policy.yaml",
            "--intent",
            "intent.json",
            "--json",
        ],
        None,
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v = json(&out);
    assert_eq!(v["verdict"], "block", "{v}");
    let reasons = v["reason_codes"].as_array().unwrap();
    for code in ["cel_condition_error", "cel_limit_exceeded"] {
        assert!(reasons.iter().any(|r| r == code), "{code} in {v}");
    }

    // `gait serve --stdio` decides on its worker threads: it blocks too,
    // and keeps answering.
    let call = serde_json::json!({
        "call": {"name": "tool.write", "arguments": {"path": "/tmp/x"},
                 "context": {"identity": "alice", "workspace": "/w", "risk_class": "low"}}
    });
    let lines = format!("{call}\n{call}\n");
    let out = gait(
        d,
        &[
            "serve",
            "--policy",
            "policy.yaml",
            "--stdio",
            "--trace-dir",
            "traces",
        ],
        Some(&lines),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{out:?}");
    for answer in answers {
        let text = answer.to_string();
        assert!(text.contains("\"block\""), "{text}");
        assert!(text.contains("cel_limit_exceeded"), "{text}");
    }
}
