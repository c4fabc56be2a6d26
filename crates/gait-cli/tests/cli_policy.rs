//! `gait policy init|validate` run as real processes in temporary
//! directories, on the policy fixtures of `gait-policy`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gait_policy::policy::Policy;
use serde_json::Value;

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn assert_invalid_input(v: &Value) {
    assert_eq!(v["ok"], false);
    assert!(!v["error"].as_str().unwrap().is_empty());
    assert_eq!(v["error_code"], "invalid_input");
    assert_eq!(v["error_category"], "invalid_input");
    assert_eq!(v["retryable"], false);
    assert_eq!(v["hint"], "check command usage and input schema");
    assert_eq!(v["correlation_id"].as_str().unwrap().len(), 24);
}

/// A policy fixture of `gait-policy`, by path relative to its
/// `tests/data/policy` directory.
fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-policy/tests/data/policy")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn validate_reports_reference_digests() {
    let dir = tempfile::tempdir().unwrap();
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digests.json")).unwrap()).unwrap();
    let valid = index["valid"].as_array().unwrap();
    assert!(!valid.is_empty());
    for entry in valid {
        let path = fixture(entry["file"].as_str().unwrap());
        let out = gait(dir.path(), &["policy", "validate", &path, "--json"]);
        assert_eq!(
            code(&out),
            0,
            "{path}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = json(&out);
        let policy = Policy::from_path(Path::new(&path)).unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!(v["schema_id"], "gait.gate.policy");
        assert_eq!(v["schema_version"], "1.0.0");
        assert_eq!(v["policy_digest"], entry["policy_digest"], "{path}");
        assert_eq!(v["default_verdict"], policy.default_verdict().as_str());
        let rules = policy.rules().len();
        if rules == 0 {
            assert!(
                v.get("rule_count").is_none(),
                "zero is omitted, as in the reference"
            );
        } else {
            assert_eq!(v["rule_count"], rules);
        }
        assert_eq!(
            v["summary"],
            format!(
                "policy validate ok: default={} rules={rules} digest={}",
                policy.default_verdict().as_str(),
                entry["policy_digest"].as_str().unwrap()
            )
        );
    }
}

#[test]
fn validate_text_and_flag_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture("reference/examples/policy-test/require_approval.yaml");
    let out = gait(dir.path(), &["policy", "validate", "--json", &path]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        json(&out)["policy_digest"],
        "07a528a879e4f0e0cd5a0e2ca801924746b47dac624862207ef21d4ec266f8f9"
    );
    let out = gait(dir.path(), &["policy", "validate", &path]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "policy validate ok: default=require_approval rules=0 digest=07a528a879e4f0e0cd5a0e2ca801924746b47dac624862207ef21d4ec266f8f9\n"
    );
}

#[test]
fn invalid_policies_name_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digests.json")).unwrap()).unwrap();
    let invalid = index["invalid"].as_array().unwrap();
    assert!(!invalid.is_empty());
    for entry in invalid {
        let path = fixture(entry["file"].as_str().unwrap());
        let out = gait(dir.path(), &["policy", "validate", &path, "--json"]);
        assert_eq!(code(&out), 6, "{path}");
        let v = json(&out);
        assert_invalid_input(&v);
        let error = v["error"].as_str().unwrap();
        assert!(error.starts_with(&path), "names the file: {error}");
        if let Some(field) = entry["field"].as_str() {
            assert!(error.contains(field), "names the field {field}: {error}");
        }
        if let Some(fragment) = entry["message_contains"].as_str() {
            assert!(error.contains(fragment), "{fragment:?} in {error}");
        }
    }
    // Text mode: the error goes to stderr, stdout stays empty.
    let path = fixture("invalid/unknown_match_field.yaml");
    let out = gait(dir.path(), &["policy", "validate", &path]);
    assert_eq!(code(&out), 6);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("policy validate error: "), "{stderr}");
    assert!(stderr.contains("rules[0].match.tool_name_list"), "{stderr}");
}

#[test]
fn validate_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture("reference/examples/policy-test/allow.yaml");
    for (args, message) in [
        (
            vec!["policy", "validate", "--json"],
            "expected <policy.yaml>",
        ),
        (
            vec!["policy", "validate", &path, &path, "--json"],
            "expected <policy.yaml>",
        ),
        (
            vec!["policy", "validate", "missing.yaml", "--json"],
            "missing.yaml: read policy",
        ),
        (vec!["policy", "validate", ".", "--json"], "read policy"),
    ] {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_invalid_input(&v);
        assert!(
            v["error"].as_str().unwrap().contains(message),
            "{args:?}: {v}"
        );
    }
    for args in [
        &["policy"][..],
        &["policy", "bogus"],
        &["policy", "validate", "--bogus"],
    ] {
        assert_eq!(code(&gait(dir.path(), args)), 6, "{args:?}");
    }
}

#[test]
fn init_writes_loadable_policies() {
    let dir = tempfile::tempdir().unwrap();
    for (name, canonical) in [
        ("baseline-lowrisk", "baseline-lowrisk"),
        ("medium", "baseline-mediumrisk"),
        ("BASELINE_HIGH_RISK", "baseline-highrisk"),
    ] {
        let out_path = format!("policies/{canonical}.yaml");
        let out = gait(
            dir.path(),
            &["policy", "init", name, "--out", &out_path, "--json"],
        );
        assert_eq!(
            code(&out),
            0,
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = json(&out);
        assert_eq!(v["ok"], true);
        assert_eq!(v["template"], canonical);
        assert_eq!(v["policy_path"], out_path.as_str());
        assert_eq!(
            v["next_commands"][0],
            format!("gait policy validate {out_path} --json")
        );

        let file = dir.path().join(&out_path);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            gait_policy::templates::resolve(canonical).unwrap().yaml
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let policy = Policy::from_path(&file).unwrap();
        let out = gait(dir.path(), &["policy", "validate", &out_path, "--json"]);
        assert_eq!(code(&out), 0);
        assert_eq!(json(&out)["policy_digest"], policy.digest().to_hex());
    }
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &["policy", "init", "low", "--json"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["policy_path"], "gait.policy.yaml");
    let file = dir.path().join("gait.policy.yaml");
    let before = std::fs::read(&file).unwrap();

    let out = gait(dir.path(), &["policy", "init", "high", "--json"]);
    assert_eq!(code(&out), 6);
    let v = json(&out);
    assert_invalid_input(&v);
    assert_eq!(
        v["error"],
        "output path already exists (use --force to overwrite): gait.policy.yaml"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before, "left untouched");

    let out = gait(dir.path(), &["policy", "init", "high", "--force"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "policy init ok: template=baseline-highrisk output=gait.policy.yaml\nnext: gait policy validate gait.policy.yaml --json\n"
    );
    assert_ne!(std::fs::read(&file).unwrap(), before);
    // Only the policy: no temporary leftovers.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // A dangling symlink counts as an existing file: nothing is written
    // through it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("elsewhere.yaml", dir.path().join("link.yaml")).unwrap();
        let out = gait(
            dir.path(),
            &["policy", "init", "low", "--out", "link.yaml", "--json"],
        );
        assert_eq!(code(&out), 6);
        assert_invalid_input(&json(&out));
        assert!(!dir.path().join("elsewhere.yaml").exists());
    }
}

#[test]
fn init_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            vec!["policy", "init", "--json"],
            "expected <template>, one of: baseline-lowrisk, baseline-mediumrisk, baseline-highrisk",
        ),
        (
            vec!["policy", "init", "low", "high", "--json"],
            "expected <template>",
        ),
        (
            vec!["policy", "init", " Critical ", "--json"],
            "unknown template: critical",
        ),
        (
            vec!["policy", "init", "low", "--out", " ", "--json"],
            "output path must not be empty",
        ),
    ] {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_invalid_input(&v);
        assert!(
            v["error"].as_str().unwrap().contains(message),
            "{args:?}: {v}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn explain_texts() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for args in [
        &["policy", "--explain"][..],
        &["policy", "init", "low", "--explain"],
        &["policy", "validate", "x.yaml", "--explain"],
    ] {
        let out = gait(dir.path(), args);
        assert_eq!(code(&out), 0, "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.starts_with("Gait is"), "{args:?} has its own text");
        assert!(seen.insert(text), "{args:?} repeats another command's text");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "--explain must not act"
    );
}

#[test]
fn policy_test_reports_verdict_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.yaml");
    std::fs::write(&policy, "default_verdict: require_approval\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: no-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n").unwrap();
    let intent = |tool: &str| {
        let p = dir.path().join(format!("{tool}.json"));
        std::fs::write(&p, format!(r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"}}}}"#)).unwrap();
        p
    };
    for (tool, code, verdict) in [
        ("tool.read", 0, "allow"),
        ("tool.delete", 3, "block"),
        ("tool.write", 4, "require_approval"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gait"))
            .args(["policy", "test"])
            .arg(&policy)
            .arg(intent(tool))
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{tool}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["verdict"], verdict);
        assert_eq!(v["schema_id"], "gait.policytest.result");
        assert!(
            v["summary"]
                .as_str()
                .unwrap()
                .starts_with(&format!("policy test verdict={verdict}"))
        );
        assert_eq!(v["intent_digest"].as_str().unwrap().len(), 64);
    }
    // No trace is written by policy test.
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("trace_")
    }));
}
