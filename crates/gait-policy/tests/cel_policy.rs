//! CEL `match.when` conditions through policy loading: compiled once at
//! load, load errors naming the rule, and evaluation of the compiled
//! conditions against intents.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: helpers panic on malformed test data"
)]

use gait_policy::cel::{CelInput, Condition};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, PolicyError};

const POLICY: &str = r#"
default_verdict: block
rules:
  - name: allow-select
    priority: 10
    effect: allow
    match:
      tool_names: [db.query]
      when: intent.args.sql.startsWith("SELECT")
  - name: tmp-writes
    priority: 20
    effect: allow
    match:
      tool_names: [fs.write]
      when: |
        intent.targets.all(t, t.value.startsWith("/tmp/"))
          && intent.context.environment != "prod"
  - name: approve-everything-else
    priority: 30
    effect: require_approval
"#;

fn intent(tool: &str, args: &str, targets: &str, environment: &str) -> Intent {
    Intent::from_json_str(&format!(
        r#"{{"tool_name": "{tool}", "args": {args}, "targets": {targets},
            "context": {{"identity": "alice", "workspace": "/w", "risk_class": "high",
                         "environment": "{environment}"}}}}"#
    ))
    .unwrap()
}

fn evaluate(condition: &Condition, intent: &Intent) -> Result<bool, String> {
    let input = CelInput::new(
        intent.tool_name(),
        intent.args(),
        intent.targets(),
        intent.arg_provenance(),
        intent.context(),
    );
    condition.evaluate(&input).map_err(|e| e.to_string())
}

fn condition<'p>(policy: &'p Policy, rule: &str) -> &'p Condition {
    policy
        .rule(rule)
        .and_then(|r| r.selector.condition())
        .unwrap_or_else(|| panic!("rule {rule} has a condition"))
}

#[test]
fn conditions_are_compiled_at_load_and_evaluate() {
    let policy = Policy::from_yaml_str(POLICY).unwrap();
    assert!(
        policy
            .rule("approve-everything-else")
            .unwrap()
            .selector
            .condition()
            .is_none()
    );

    let select = condition(&policy, "allow-select");
    assert_eq!(select.source(), r#"intent.args.sql.startsWith("SELECT")"#);
    let query = |sql: &str| intent("db.query", &format!(r#"{{"sql": "{sql}"}}"#), "[]", "");
    assert_eq!(evaluate(select, &query("SELECT 1")), Ok(true));
    assert_eq!(evaluate(select, &query("DROP TABLE t")), Ok(false));
    // No `sql` argument: an error, which the evaluator turns into no match
    // plus `cel_condition_error` (blocking on high risk).
    let no_sql = intent("db.query", "{}", "[]", "");
    assert!(evaluate(select, &no_sql).unwrap_err().contains("sql"));

    let tmp = condition(&policy, "tmp-writes");
    assert_eq!(
        tmp.source(),
        "intent.targets.all(t, t.value.startsWith(\"/tmp/\"))\n  && intent.context.environment != \"prod\""
    );
    let write = |paths: &[&str], environment: &str| {
        let targets: Vec<String> = paths
            .iter()
            .map(|p| format!(r#"{{"kind": "path", "value": "{p}", "operation": "write"}}"#))
            .collect();
        intent(
            "fs.write",
            "{}",
            &format!("[{}]", targets.join(",")),
            environment,
        )
    };
    assert_eq!(
        evaluate(tmp, &write(&["/tmp/a", "/tmp/b/c"], "dev")),
        Ok(true)
    );
    assert_eq!(
        evaluate(tmp, &write(&["/tmp/a", "/etc/passwd"], "dev")),
        Ok(false)
    );
    assert_eq!(evaluate(tmp, &write(&["/tmp/a"], "prod")), Ok(false));
    // `all` over no targets holds.
    assert_eq!(evaluate(tmp, &write(&[], "")), Ok(true));

    // A loaded policy is shared across threads, conditions included.
    let shared = std::sync::Arc::new(policy.clone());
    std::thread::spawn(move || {
        let c = condition(&shared, "allow-select");
        assert_eq!(evaluate(c, &query("SELECT 2")), Ok(true));
    })
    .join()
    .unwrap();
    assert_eq!(policy, Policy::from_yaml_str(POLICY).unwrap());
}

/// The error of loading `POLICY` with rule `tmp-writes`'s condition (the
/// second rule in the file, made the first in evaluation order) replaced
/// by `when`.
fn load_error(when: &str) -> PolicyError {
    let yaml = POLICY.replacen("priority: 20", "priority: 1", 1).replacen(
        "      when: |\n        intent.targets.all(t, t.value.startsWith(\"/tmp/\"))\n          && intent.context.environment != \"prod\"\n",
        &format!("      when: {when}\n"),
        1,
    );
    assert_ne!(yaml, POLICY);
    match Policy::from_yaml_str(&yaml) {
        Ok(_) => panic!("{when} should not load"),
        Err(e) => e,
    }
}

#[test]
fn bad_conditions_fail_the_load_naming_the_rule() {
    for (when, needle) in [
        ("'intent.targets.all(t, '", "syntax error at 1:"),
        ("intent.tool_name ==", "syntax error"),
        (
            "intnet.tool_name == 'fs.write'",
            "undeclared variable \"intnet\"",
        ),
        (
            "environment == 'prod'",
            "undeclared variable \"environment\"",
        ),
        (
            "intent.tool_name.startswith('fs.')",
            "undeclared function \"startswith\"",
        ),
        (
            "intent.tool_name.matches('fs.(')",
            "invalid matches() pattern",
        ),
        ("\"  \"", "non-empty CEL expression"),
    ] {
        let err = load_error(when);
        let PolicyError::Invalid { field, message, .. } = &err else {
            panic!("{when}: expected Invalid, got {err:?}");
        };
        // `rules[1]`: the index in file order.
        assert_eq!(field, "rules[1].match.when", "{when}");
        assert!(message.contains("tmp-writes"), "{when}: {message}");
        assert!(message.contains(needle), "{when}: {message}");
        assert_eq!(
            err.position().map(|(line, _)| line),
            Some(15),
            "{when}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("line 15 column 13: rules[1].match.when: "),
            "{text}"
        );
    }
}

#[test]
fn file_loads_carry_the_path_in_condition_errors() {
    let dir = tempfile_dir();
    let path = dir.join("policy.yaml");
    std::fs::write(
        &path,
        "rules:\n  - name: r\n    effect: allow\n    match:\n      when: nope\n",
    )
    .unwrap();
    let err = Policy::from_path(&path).unwrap_err();
    assert_eq!(err.path(), Some(path.as_path()));
    assert_eq!(err.field(), Some("rules[0].match.when"));
    assert!(
        err.to_string().contains("undeclared variable \"nope\""),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gait-cel-policy-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn policies_without_conditions_keep_their_digest() {
    let without = POLICY
        .lines()
        .filter(|l| {
            !l.contains("when:")
                && !l.trim_start().starts_with("intent.")
                && !l.trim_start().starts_with("&&")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let plain = Policy::from_yaml_str(&without).unwrap();
    let with = Policy::from_yaml_str(POLICY).unwrap();
    assert!(
        plain
            .rules()
            .iter()
            .all(|r| r.selector.condition().is_none())
    );
    assert_ne!(plain.digest(), with.digest());
    // Only `Match.When` differs between the two projections.
    let mut projection = with.projection();
    for rule in projection["Rules"].as_array_mut().unwrap() {
        rule["Match"].as_object_mut().unwrap().remove("When");
    }
    assert_eq!(projection, plain.projection());
}

/// The examples of `docs/policy.md` ("CEL conditions") load and evaluate.
#[test]
fn documented_examples_work() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md"),
    )
    .unwrap();
    let section = &docs[docs.find("## CEL conditions").unwrap()..];
    // The YAML rules.
    let mut rules = 0;
    for block in section.split("```yaml\n").skip(1) {
        let rule = &block[..block.find("```").unwrap()];
        let policy = Policy::from_yaml_str(&format!("rules:\n{rule}"))
            .unwrap_or_else(|e| panic!("{e}\n{rule}"));
        assert!(policy.rules()[0].selector.condition().is_some());
        rules += 1;
    }
    assert_eq!(rules, 3);
    // The one-line expressions.
    let text = section.split("```text\n").nth(1).unwrap();
    let expressions: Vec<&str> = text[..text.find("```").unwrap()].lines().collect();
    assert_eq!(expressions.len(), 9);
    let intent = Intent::from_json_str(
        r#"{"tool_name": "http.get",
            "args": {"url": "https://api.example.com/v1", "mode": "ro"},
            "targets": [{"kind": "url", "value": "https://api.example.com/v1"}],
            "arg_provenance": [{"arg_path": "$.url", "source": "external"}],
            "context": {"identity": "a", "workspace": "/w", "risk_class": "low",
                        "environment": "prod", "credential_scopes": ["db:write"],
                        "auth_context": {"tenant": "acme"}}}"#,
    )
    .unwrap();
    for expression in expressions {
        let condition = Condition::compile(expression).unwrap_or_else(|e| panic!("{e}"));
        assert!(evaluate(&condition, &intent).is_ok(), "{expression}");
    }
}
