//! `gait policy init|validate|test|fmt|simulate` run as real processes in temporary
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
        assert_eq!(
            v["next_commands"][1],
            format!("gait policy fmt {out_path} --write --json")
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
        "policy init ok: template=baseline-highrisk output=gait.policy.yaml\nnext: gait policy validate gait.policy.yaml --json | gait policy fmt gait.policy.yaml --write --json | gait doctor --json\n"
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
        &["policy", "test", "p.yaml", "i.json", "--explain"],
        &["policy", "fmt", "x.yaml", "--write", "--explain"],
        &["policy", "simulate", "--policy", "c.yaml", "--explain"],
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

const BASELINE: &str = "default_verdict: require_approval\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n";

fn write_intent(path: &Path, tool: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(
            r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"}}}}"#
        ),
    )
    .unwrap();
}

/// A temporary directory with `baseline.yaml`, `candidate.yaml` and
/// fixtures `fx/read.json`, `fx/write.json`, `fx/sub/delete.json`,
/// `fx/notes.txt`, `extra/list.json`.
fn simulate_dir(candidate: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("baseline.yaml"), BASELINE).unwrap();
    std::fs::write(d.join("candidate.yaml"), candidate).unwrap();
    write_intent(&d.join("fx/read.json"), "tool.read");
    write_intent(&d.join("fx/write.json"), "tool.write");
    write_intent(&d.join("fx/sub/delete.json"), "tool.delete");
    write_intent(&d.join("extra/list.json"), "tool.list");
    std::fs::write(d.join("fx/notes.txt"), "not a fixture").unwrap();
    dir
}

fn simulate(dir: &Path, fixtures: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "policy",
        "simulate",
        "--policy",
        "candidate.yaml",
        "--baseline",
        "baseline.yaml",
        "--fixtures",
        fixtures,
    ];
    args.extend_from_slice(extra);
    gait(dir, &args)
}

#[test]
fn simulate_reports_changed_fixtures() {
    // The candidate allows writes (a relaxation) and blocks deletes.
    let dir = simulate_dir(
        "default_verdict: require_approval\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read, tool.write]\n  - name: no-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n",
    );
    let d = dir.path();
    // A directory, a file inside it again (de-duplicated), another file.
    let out = simulate(d, "fx, ./fx/read.json,extra/list.json", &["--json"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    let digest = |f: &str| Policy::from_path(&d.join(f)).unwrap().digest().to_hex();
    assert_eq!(v["ok"], true);
    assert_eq!(v["baseline_policy_digest"], digest("baseline.yaml"));
    assert_eq!(v["candidate_policy_digest"], digest("candidate.yaml"));
    assert_eq!(v["fixtures_total"], 4);
    assert_eq!(v["changed_fixtures"], 2);
    assert_eq!(
        v["baseline_verdicts"],
        serde_json::json!([{"verdict":"allow","count":1},{"verdict":"require_approval","count":3}])
    );
    assert_eq!(
        v["candidate_verdicts"],
        serde_json::json!([{"verdict":"allow","count":2},{"verdict":"block","count":1},{"verdict":"require_approval","count":1}])
    );
    assert_eq!(v["recommendation"], "observe");
    assert_eq!(
        v["summary"],
        "policy simulate fixtures=4 changed=2 recommendation=observe"
    );
    let changed = v["changed"].as_array().unwrap();
    let paths: Vec<_> = changed.iter().map(|c| c["fixture_path"].clone()).collect();
    assert_eq!(paths, ["fx/sub/delete.json", "fx/write.json"]);
    let delete = &changed[0];
    assert_eq!(delete["baseline_verdict"], "require_approval");
    assert_eq!(delete["candidate_verdict"], "block");
    assert_eq!(
        delete["baseline_reason_codes"],
        serde_json::json!(["default_require_approval"])
    );
    assert_eq!(
        delete["candidate_reason_codes"],
        serde_json::json!(["matched_rule_no_delete"])
    );
    assert!(delete.get("baseline_matched_rule").is_none());
    assert_eq!(delete["candidate_matched_rule"], "no-delete");
    assert_eq!(delete["changed"], true);
    let intent =
        gait_policy::Intent::from_json_slice(&std::fs::read(d.join("fx/sub/delete.json")).unwrap())
            .unwrap();
    assert_eq!(delete["intent_digest"], intent.intent_digest().to_hex());
    assert_eq!(changed[1]["candidate_matched_rule"], "reads");

    // Text mode: the summary line.
    let out = simulate(d, "fx,extra", &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "policy simulate fixtures=4 changed=2 recommendation=observe\n"
    );
}

#[test]
fn simulate_recommendations() {
    // Identical policies: nothing changed, enforce.
    let dir = simulate_dir(BASELINE);
    let out = simulate(dir.path(), "fx", &["--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["recommendation"], "enforce");
    assert_eq!(v["fixtures_total"], 3);
    assert!(v.get("changed").is_none());
    assert!(v.get("changed_fixtures").is_none());

    // Only a new block: require_approval (and still exit 0).
    let dir = simulate_dir(&format!(
        "{BASELINE}  - name: no-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n"
    ));
    let out = simulate(dir.path(), "fx", &["--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["recommendation"], "require_approval");
    assert_eq!(v["changed_fixtures"], 1);

    // A reason-only change (another rule name, same verdict): enforce.
    let dir = simulate_dir(&BASELINE.replace("name: reads", "name: reads-v2"));
    let v = json(&simulate(dir.path(), "fx", &["--json"]));
    assert_eq!(v["recommendation"], "enforce");
    assert_eq!(v["changed_fixtures"], 1);
    assert_eq!(v["changed"][0]["baseline_matched_rule"], "reads");
    assert_eq!(v["changed"][0]["candidate_matched_rule"], "reads-v2");
}

#[test]
fn simulate_errors() {
    let dir = simulate_dir(BASELINE);
    let d = dir.path();
    std::fs::write(d.join("bad.json"), "{not json").unwrap();
    std::fs::write(d.join("bad.yaml"), "rules: [{name: x}]\n").unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    fn with<'a>(rest: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["policy", "simulate"];
        v.extend_from_slice(rest);
        v.push("--json");
        v
    }
    for (args, fragment) in [
        (
            with(&["--baseline", "baseline.yaml", "--fixtures", "fx"]),
            "missing required --policy",
        ),
        (
            with(&[
                "--policy",
                " ",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "fx",
            ]),
            "missing required --policy",
        ),
        (
            with(&["--policy", "candidate.yaml", "--fixtures", "fx"]),
            "missing required --baseline",
        ),
        (
            with(&["--policy", "candidate.yaml", "--baseline", "baseline.yaml"]),
            "missing required --fixtures",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                " , ",
            ]),
            "missing required --fixtures",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "nope",
            ]),
            "fixtures path: stat nope",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "fx/notes.txt",
            ]),
            "fixture file must be .json: fx/notes.txt",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "empty",
            ]),
            "no intent fixtures discovered",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "fx,bad.json",
            ]),
            "bad.json",
        ),
        (
            with(&[
                "--policy",
                "bad.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "fx",
            ]),
            "bad.yaml",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "missing.yaml",
                "--fixtures",
                "fx",
            ]),
            "missing.yaml",
        ),
        (
            with(&[
                "--policy",
                "candidate.yaml",
                "--baseline",
                "baseline.yaml",
                "--fixtures",
                "fx",
                "extra",
            ]),
            "unexpected positional arguments",
        ),
    ] {
        let out = gait(d, &args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_invalid_input(&v);
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(fragment), "{args:?}: {error}");
    }
    // Text mode: the error on stderr, nothing on stdout.
    let out = gait(d, &["policy", "simulate", "--policy", "candidate.yaml"]);
    assert_eq!(code(&out), 6);
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("policy simulate error: missing required --baseline")
    );
}

#[test]
fn fmt_round_trips_every_reference_policy() {
    let dir = tempfile::tempdir().unwrap();
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digests.json")).unwrap()).unwrap();
    for entry in index["valid"].as_array().unwrap() {
        let path = fixture(entry["file"].as_str().unwrap());
        let out = gait(dir.path(), &["policy", "fmt", &path, "--json"]);
        assert_eq!(code(&out), 0, "{path}");
        let v = json(&out);
        assert_eq!(v["ok"], true);
        assert_eq!(v["path"], path.as_str());
        assert_eq!(v["policy_digest"], entry["policy_digest"], "{path}");
        assert!(v.get("written").is_none());
        let formatted = v["formatted"].as_str().unwrap();

        // Text mode prints exactly the same YAML.
        let text = gait(dir.path(), &["policy", "fmt", &path]);
        assert_eq!(code(&text), 0);
        assert_eq!(String::from_utf8(text.stdout).unwrap(), formatted);

        // The formatted file has the same digest and is already formatted.
        let copy = dir.path().join("formatted.yaml");
        std::fs::write(&copy, formatted).unwrap();
        let copy = copy.display().to_string();
        let again = json(&gait(dir.path(), &["policy", "fmt", &copy, "--json"]));
        assert_eq!(again["policy_digest"], entry["policy_digest"], "{path}");
        assert!(again.get("changed").is_none(), "{path}: not idempotent");
        assert_eq!(again["formatted"].as_str().unwrap(), formatted);
        let validate = json(&gait(dir.path(), &["policy", "validate", &copy, "--json"]));
        assert_eq!(validate["policy_digest"], entry["policy_digest"]);
    }
}

#[test]
fn fmt_write_replaces_the_file_and_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("p.yaml");
    let source = "# a comment\ndefault_action: BLOCK\nrules:\n  - name: b\n    action: allow\n    match: {tool_name: Tool.Read}\n  - {name: a, effect: dry_run}\n";
    std::fs::write(&file, source).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
    }
    let digest = Policy::from_path(&file).unwrap().digest().to_hex();

    let out = gait(d, &["policy", "fmt", "p.yaml", "--write", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["path"], "p.yaml");
    assert_eq!(v["changed"], true);
    assert_eq!(v["written"], true);
    assert_eq!(v["policy_digest"], digest.as_str());
    assert_eq!(v["default_verdict"], "block");
    assert_eq!(v["rule_count"], 2);
    assert!(v.get("formatted").is_none());
    let written = std::fs::read_to_string(&file).unwrap();
    assert_ne!(written, source);
    assert!(written.contains("  - name: a\n    priority: 0\n    effect: dry_run\n"));
    assert!(written.contains("      tool_names:\n        - tool.read\n"));
    assert_eq!(Policy::from_path(&file).unwrap().digest().to_hex(), digest);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o664
        );
    }
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 1);

    // Already formatted: nothing to write.
    let v = json(&gait(d, &["policy", "fmt", "p.yaml", "--write", "--json"]));
    assert!(v.get("changed").is_none());
    assert!(v.get("written").is_none());
    let out = gait(d, &["policy", "fmt", "--write", "p.yaml"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "policy fmt ok: path=p.yaml changed=false written=false rules=2\n"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
}

#[cfg(unix)]
#[test]
fn fmt_write_through_a_symlink_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("real")).unwrap();
    std::fs::write(d.join("real/p.yaml"), "rules: [{name: r, effect: allow}]\n").unwrap();
    std::os::unix::fs::symlink("real/p.yaml", d.join("link.yaml")).unwrap();
    let v = json(&gait(
        d,
        &["policy", "fmt", "link.yaml", "--write", "--json"],
    ));
    assert_eq!(v["written"], true);
    assert!(
        std::fs::symlink_metadata(d.join("link.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(d.join("real/p.yaml")).unwrap();
    assert!(text.starts_with("schema_id: gait.gate.policy\n"), "{text}");
}

#[test]
fn fmt_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.yaml"),
        "rules:\n  - name: x\n    effect: maybe\n",
    )
    .unwrap();
    std::fs::write(d.join("a.yaml"), "").unwrap();
    for (args, fragment) in [
        (&["policy", "fmt", "--json"][..], "expected <policy.yaml>"),
        (
            &["policy", "fmt", "a.yaml", "a.yaml", "--json"],
            "expected <policy.yaml>",
        ),
        (
            &["policy", "fmt", " ", "--json"],
            "policy path must not be empty",
        ),
        (&["policy", "fmt", "missing.yaml", "--json"], "missing.yaml"),
        (
            &["policy", "fmt", "bad.yaml", "--write", "--json"],
            "bad.yaml",
        ),
        (&["policy", "fmt", "a.yaml", "--bogus", "--json"], "--bogus"),
    ] {
        let out = gait(d, args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_invalid_input(&v);
        assert!(
            v["error"].as_str().unwrap().contains(fragment),
            "{args:?}: {v}"
        );
    }
    // The invalid file is left alone.
    assert_eq!(
        std::fs::read_to_string(d.join("bad.yaml")).unwrap(),
        "rules:\n  - name: x\n    effect: maybe\n"
    );
    let out = gait(d, &["policy", "fmt", "bad.yaml"]);
    assert_eq!(code(&out), 6);
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("policy fmt error: ")
    );
}
