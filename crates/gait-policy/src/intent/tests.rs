//! Unit tests: one group per normalization rule, plus digests and every
//! error path.

use serde_json::{Value, json};

use super::*;

/// A minimal valid intent.
fn base() -> Value {
    json!({
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-18T00:00:00Z",
        "producer_version": "test",
        "tool_name": "tool.read",
        "args": {"path": "/tmp/a.txt"},
        "targets": [{"kind": "path", "value": "/tmp/a.txt", "operation": "read"}],
        "context": {"identity": "alice", "workspace": "/repo", "risk_class": "low"}
    })
}

fn norm(value: &Value) -> Result<Intent, IntentError> {
    Intent::from_json_slice(&serde_json::to_vec(value).unwrap())
}

fn ok(value: &Value) -> Intent {
    match norm(value) {
        Ok(i) => i,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Applies `f` to a copy of [`base`].
fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = base();
    f(&mut v);
    v
}

fn err_path(value: &Value) -> String {
    match norm(value) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.path().unwrap_or("<none>").to_owned(),
    }
}

fn target(value: &Value) -> Target {
    ok(value).targets()[0].clone()
}

// ---- Rule 1: scripts -------------------------------------------------------

fn scenario_script() -> Value {
    json!({
        "tool_name": "ignored",
        "args": {},
        "targets": [],
        "context": {"identity": "alice", "workspace": "/repo/gait", "risk_class": "medium"},
        "script": {"steps": [
            {"tool_name": "tool.read", "args": {"path": "/tmp/input.txt"},
             "targets": [{"kind": "path", "value": "/tmp/input.txt", "operation": "read", "endpoint_class": "fs.read"}]},
            {"tool_name": "tool.write", "args": {"path": "/tmp/output.txt"},
             "targets": [{"kind": "path", "value": "/tmp/output.txt", "operation": "write", "endpoint_class": "fs.write"}]}
        ]}
    })
}

#[test]
fn script_hash_matches_reference_vector() {
    let intent = ok(&scenario_script());
    assert!(intent.is_script());
    assert_eq!(intent.tool_name(), "script");
    assert_eq!(
        intent.script_hash().map(|h| h.to_hex()).as_deref(),
        Some("4a132cd1a51cc226c73b0cbae9528905fbbaa80b7fe06bb632a62d9647001c11")
    );
    let projection = intent.digest_projection();
    assert_eq!(
        projection["script_hash"],
        json!(intent.script_hash().unwrap().to_hex())
    );
    assert_eq!(projection["script"]["steps"][0]["tool_name"], "tool.read");
}

#[test]
fn script_hash_before_discovery_method_matches_legacy_registry() {
    // spec/gate.md §10: without `discovery_method` the same script hashed to
    // the old registry pattern `pattern_a0dce61c1eb7`.
    let intent = ok(&scenario_script());
    let mut legacy = projection::script(intent.script().unwrap());
    for step in legacy["steps"].as_array_mut().unwrap() {
        for target in step["targets"].as_array_mut().unwrap() {
            target.as_object_mut().unwrap().remove("discovery_method");
        }
    }
    assert!(
        gait_digest::digest_json(&legacy)
            .to_hex()
            .starts_with("a0dce61c1eb7")
    );
}

#[test]
fn script_steps_are_normalized_and_merged() {
    let mut v = scenario_script();
    v["script"]["steps"][0]["tool_name"] = json!("  MCP/FS/Delete_File ");
    v["script"]["steps"][0]["targets"] = json!([{"kind": "PATH", "value": " /tmp/x "}]);
    v["script"]["steps"][0]["arg_provenance"] = json!([{"arg_path": "$.path", "source": "USER"}]);
    let intent = ok(&v);
    let script = intent.script().unwrap();
    assert_eq!(script.steps[0].tool_name, "mcp/fs/delete_file");
    // Inferred with the step's tool name, not "script".
    assert_eq!(
        script.steps[0].targets[0].endpoint_class,
        EndpointClass::FsDelete
    );
    assert!(script.steps[0].targets[0].destructive);
    // Top-level targets and provenance are the steps' ones, sorted.
    let values: Vec<&str> = intent.targets().iter().map(|t| t.value.as_str()).collect();
    assert_eq!(values, ["/tmp/output.txt", "/tmp/x"]);
    assert_eq!(intent.arg_provenance().len(), 1);
    // Empty step lists are omitted from the hashed form.
    assert!(
        intent.digest_projection()["script"]["steps"][1]
            .get("arg_provenance")
            .is_none()
    );
}

#[test]
fn script_keeps_explicit_top_level_targets() {
    let mut v = scenario_script();
    v["targets"] = json!([{"kind": "path", "value": "/top"}]);
    let intent = ok(&v);
    assert_eq!(intent.targets().len(), 1);
    // Inferred with tool name "script": no hint matches.
    assert_eq!(intent.targets()[0].endpoint_class, EndpointClass::Other);
}

#[test]
fn script_step_order_is_hashed() {
    let a = ok(&scenario_script());
    let mut v = scenario_script();
    let steps = v["script"]["steps"].as_array_mut().unwrap();
    steps.swap(0, 1);
    let b = ok(&v);
    assert_ne!(a.script_hash(), b.script_hash());
    assert_eq!(a.targets(), b.targets());
}

#[test]
fn script_step_count_limits() {
    let step = json!({"tool_name": "tool.read", "args": {}});
    let mut v = scenario_script();
    v["script"]["steps"] = Value::Array(vec![step.clone(); MAX_SCRIPT_STEPS]);
    assert_eq!(ok(&v).script().unwrap().steps.len(), 64);
    v["script"]["steps"] = Value::Array(vec![step; MAX_SCRIPT_STEPS + 1]);
    assert_eq!(err_path(&v), "script.steps");
    v["script"]["steps"] = json!([]);
    assert_eq!(err_path(&v), "script.steps");
    v["script"] = json!({});
    assert_eq!(err_path(&v), "script.steps");
}

#[test]
fn script_step_errors_name_the_step() {
    let mut v = scenario_script();
    v["script"]["steps"][1]["tool_name"] = json!("  ");
    assert_eq!(err_path(&v), "script.steps[1].tool_name");
    let mut v = scenario_script();
    v["script"]["steps"][0]["targets"][0]["kind"] = json!("disk");
    assert_eq!(err_path(&v), "script.steps[0].targets[0].kind");
    let mut v = scenario_script();
    v["script"]["steps"][0]["arg_provenance"] = json!([{"arg_path": "$.x", "source": "nobody"}]);
    assert_eq!(err_path(&v), "script.steps[0].arg_provenance[0].source");
    let mut v = scenario_script();
    v["script"]["steps"][0]["args"] = json!({" ": 1});
    assert_eq!(err_path(&v), "script.steps[0].args");
}

#[test]
fn script_step_args_are_not_credential_checked() {
    // As in the reference: only top-level args and auth_context are.
    let mut v = scenario_script();
    v["script"]["steps"][0]["args"] = json!({"api_key": "sk-live-abcdef"});
    assert!(norm(&v).is_ok());
    v["args"] = json!({"api_key": "sk-live-abcdef"});
    assert_eq!(err_path(&v), "args.api_key");
}

// ---- Rule 2: tool_name -----------------------------------------------------

#[test]
fn tool_name_is_trimmed_and_lowercased() {
    let intent = ok(&with(|v| v["tool_name"] = json!("\u{3000} Tool.READ\t")));
    assert_eq!(intent.tool_name(), "tool.read");
}

#[test]
fn tool_name_is_required() {
    assert_eq!(
        err_path(&with(|v| v["tool_name"] = json!(" \n "))),
        "tool_name"
    );
    let mut v = base();
    v.as_object_mut().unwrap().remove("tool_name");
    let err = norm(&v).unwrap_err();
    assert_eq!(err.to_string(), "tool_name: required");
}

// ---- Rule 3: args ----------------------------------------------------------

#[test]
fn args_are_trimmed_recursively() {
    let intent = ok(&with(|v| {
        v["args"] = json!({
            " path ": "\u{a0} /tmp/a \u{2028}",
            "nested": {" k": [" x ", 1.5, true, null, {"y ": " z"}]},
            "n": 10
        })
    }));
    assert_eq!(
        Value::Object(intent.args().clone()),
        json!({"path": "/tmp/a", "nested": {"k": ["x", 1.5, true, null, {"y": "z"}]}, "n": 10})
    );
}

#[test]
fn missing_or_null_args_are_empty() {
    const EMPTY: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let a = ok(&with(|v| v["args"] = Value::Null));
    let b = ok(&with(|v| {
        v.as_object_mut().unwrap().remove("args");
    }));
    let c = ok(&with(|v| v["args"] = json!({})));
    for i in [&a, &b, &c] {
        assert!(i.args().is_empty());
        assert_eq!(i.args_digest().to_hex(), EMPTY);
        assert_eq!(i.digest_projection()["args"], json!({}));
    }
    assert_eq!(a.intent_digest(), c.intent_digest());
}

#[test]
fn args_digest_matches_reference_vector() {
    let intent = ok(&with(|v| {
        v["args"] = json!({"path": " /tmp/approve-valid.txt "})
    }));
    assert_eq!(
        intent.args_digest().to_hex(),
        "3ce5713f41f9b6812880cac570b0f8ce318c7afff371873f241884729e518370"
    );
}

#[test]
fn args_numbers_go_through_f64() {
    // An integer beyond 2^53 - 1 would share its digest with its
    // neighbours: refused. A double is digested as the double it is.
    assert_eq!(
        err_path(&with(|v| v["args"] = json!({"n": 9007199254740993u64}))),
        "args.n"
    );
    let a = ok(&with(|v| v["args"] = json!({"n": 9007199254740993.0})));
    let b = ok(&with(|v| v["args"] = json!({"n": 9007199254740992.0})));
    assert_eq!(a.args_digest(), b.args_digest());
    let c = Intent::from_json_str(
        r#"{"tool_name":"t","args":{"n":1.0,"m":1e2},"context":{"identity":"a","workspace":"w","risk_class":"low"}}"#,
    )
    .unwrap();
    let d = Intent::from_json_str(
        r#"{"tool_name":"t","args":{"n":1,"m":100},"context":{"identity":"a","workspace":"w","risk_class":"low"}}"#,
    )
    .unwrap();
    assert_eq!(c.args_digest(), d.args_digest());
}

#[test]
fn args_errors() {
    assert_eq!(err_path(&with(|v| v["args"] = json!({"  ": 1}))), "args");
    assert_eq!(
        err_path(&with(|v| v["args"] = json!({"a": {"": 1}}))),
        "args.a"
    );
    assert_eq!(
        err_path(&with(|v| v["args"] = json!({"a": [{" ": 1}]}))),
        "args.a[0]"
    );
    // Keys colliding after trimming are ambiguous in the reference.
    assert!(err_path(&with(|v| v["args"] = json!({"a": 1, " a": 2}))).starts_with("args."));
    let err = norm(&with(|v| v["args"] = json!([1]))).unwrap_err();
    assert_eq!(err.to_string(), "args: expected object, found array");
    assert_eq!(err_path(&with(|v| v["args"] = json!("x"))), "args");
}

// ---- Rule 4: raw credential material ---------------------------------------

#[test]
fn raw_credentials_are_rejected_in_args() {
    for (args, path) in [
        (json!({"api_key": "sk-abc"}), "args.api_key"),
        (json!({"GitHub_Token": "ghp_abc"}), "args.GitHub_Token"),
        (
            json!({"nested": {"password": "Passw0rdPassw0rd"}}),
            "args.nested.password",
        ),
        (
            json!({"list": [{"secret": "AKIA123"}]}),
            "args.list[0].secret",
        ),
        // Keys are walked in byte order: "a_token" comes before "b_secret".
        (
            json!({"b_secret": "sk-1", "a_token": "sk-2"}),
            "args.a_token",
        ),
    ] {
        let err = norm(&with(|v| v["args"] = args.clone())).unwrap_err();
        assert_eq!(err.path(), Some(path), "{args}");
        assert!(err.to_string().contains("raw credential material"));
    }
}

#[test]
fn credential_references_are_allowed() {
    for args in [
        json!({"credential_ref": "A1B2C3D4E5F6G7H8I9J0"}),
        json!({"token": "env:GITHUB_TOKEN"}),
        json!({"token": "Ref:vault/path/1234567890abc"}),
        json!({"token": "a".repeat(64)}),
        json!({"token": "short1"}),
        json!({"token": "has spaces 1234567890 x"}),
        json!({"token": 1234567890123456u64}),
        json!({"path": "A1B2C3D4E5F6G7H8I9J0"}),
        json!({"token_ids": ["A1B2C3D4E5F6G7H8I9J0"]}),
    ] {
        assert!(norm(&with(|v| v["args"] = args.clone())).is_ok(), "{args}");
    }
}

#[test]
fn raw_credentials_are_rejected_in_auth_context() {
    let err = norm(&with(|v| {
        v["context"]["auth_context"] = json!({"x": {"access_key": "ASIAxyz"}})
    }))
    .unwrap_err();
    assert_eq!(err.path(), Some("context.auth_context.x.access_key"));
}

// ---- Rule 5: targets ---------------------------------------------------------

#[test]
fn target_fields_are_normalized() {
    let t = target(&with(|v| {
        v["targets"] = json!([{
            "kind": " PATH ", "value": "  /Tmp/A.txt ", "operation": " READ ",
            "sensitivity": " PII ", "endpoint_class": " FS.Read ",
            "endpoint_domain": " Example.COM ", "discovery_method": " Dynamic-MCP "
        }])
    }));
    assert_eq!(t.kind, TargetKind::Path);
    assert_eq!(t.value, "/Tmp/A.txt");
    assert_eq!(t.operation, "read");
    assert_eq!(t.sensitivity, "pii");
    assert_eq!(t.endpoint_class, EndpointClass::FsRead);
    assert_eq!(t.endpoint_domain, "example.com");
    assert_eq!(t.discovery_method, DiscoveryMethod::DynamicMcp);
}

#[test]
fn discovery_method_defaults_and_spelling() {
    let method =
        |m: Value| target(&with(|v| v["targets"][0]["discovery_method"] = m)).discovery_method;
    assert_eq!(method(Value::Null), DiscoveryMethod::Unknown);
    assert_eq!(method(json!("  ")), DiscoveryMethod::Unknown);
    assert_eq!(method(json!("Static MCP")), DiscoveryMethod::StaticMcp);
    assert_eq!(method(json!("A2A")), DiscoveryMethod::A2a);
    let err = norm(&with(|v| {
        v["targets"][0]["discovery_method"] = json!("carrier pigeon")
    }))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"targets[0].discovery_method: unsupported value "carrier_pigeon""#
    );
    // Always present in the digest form.
    let p = ok(&base()).digest_projection();
    assert_eq!(p["targets"][0]["discovery_method"], "unknown");
}

#[test]
fn endpoint_class_inference() {
    let class = |tool: &str, kind: &str, op: &str| {
        let t = target(&with(|v| {
            v["tool_name"] = json!(tool);
            v["targets"] = json!([{"kind": kind, "value": "x", "operation": op}]);
        }));
        (t.endpoint_class, t.destructive)
    };
    use EndpointClass as C;
    assert_eq!(class("t", "path", "cat"), (C::FsRead, false));
    assert_eq!(class("t", "path", "rename"), (C::FsWrite, false));
    assert_eq!(class("t", "path", "truncate"), (C::FsDelete, true));
    assert_eq!(class("tool.search", "path", ""), (C::FsRead, false));
    assert_eq!(class("tool.save", "path", "frob"), (C::FsWrite, false));
    assert_eq!(class("tool.drop", "path", ""), (C::FsDelete, true));
    // Plain substring tests on the last `/` element.
    assert_eq!(class("tool.transform", "path", ""), (C::FsDelete, true));
    assert_eq!(class("read/tool.x", "path", ""), (C::Other, false));
    assert_eq!(class("x/y/readme/", "path", ""), (C::FsRead, false));
    // Read hints win over write hints.
    assert_eq!(
        class("tool.read_then_write", "path", ""),
        (C::FsRead, false)
    );
    assert_eq!(class("t", "host", "resolve"), (C::NetDns, false));
    assert_eq!(class("t", "url", "post"), (C::NetHttp, false));
    assert_eq!(class("t", "other", "shell"), (C::ProcExec, true));
    assert_eq!(class("tool.runner", "other", ""), (C::ProcExec, true));
    assert_eq!(class("tool.x", "other", ""), (C::Other, false));
    assert_eq!(class("tool.exec", "repo", "exec"), (C::Other, true));
    assert_eq!(class("tool.read", "bucket", "read"), (C::Other, false));
}

#[test]
fn endpoint_domain_inference() {
    let domain = |kind: &str, value: &str| {
        target(&with(|v| {
            v["targets"] = json!([{"kind": kind, "value": value}])
        }))
        .endpoint_domain
    };
    assert_eq!(
        domain("host", "https://API.Example.com:443/x"),
        "api.example.com"
    );
    assert_eq!(domain("host", "http://a.b/c:d"), "a.b");
    assert_eq!(domain("host", "Plain.Host"), "plain.host");
    assert_eq!(
        domain("url", "https://User@Svc.Example:8443/p?q#f"),
        "svc.example"
    );
    assert_eq!(domain("url", "not a url"), "");
    assert_eq!(domain("url", "https://bad host/"), "");
    assert_eq!(domain("path", "https://x.example"), "");
    // Given domains are kept (lowercased).
    let t = target(&with(
        |v| {
            v["targets"] = json!([{"kind": "url", "value": "https://a.example", "endpoint_domain": "B.example"}])
        },
    ));
    assert_eq!(t.endpoint_domain, "b.example");
}

#[test]
fn destructive_flags() {
    let t = |target_json: Value| target(&with(|v| v["targets"] = json!([target_json])));
    assert!(t(json!({"kind": "path", "value": "x", "destructive": true})).destructive);
    let hinted = t(json!({"kind": "url", "value": "x", "destructive_hint": true}));
    assert!(hinted.destructive && hinted.destructive_hint);
    assert!(t(json!({"kind": "queue", "value": "x", "operation": "spawn"})).destructive);
    assert!(t(json!({"kind": "path", "value": "x", "endpoint_class": "proc.exec"})).destructive);
    assert!(!t(json!({"kind": "path", "value": "x", "operation": "write"})).destructive);
    let hints = t(json!({"kind": "path", "value": "x", "read_only_hint": true,
                         "idempotent_hint": true, "open_world_hint": true}));
    assert!(hints.read_only_hint && hints.idempotent_hint && hints.open_world_hint);
    let p =
        ok(&with(
            |v| v["targets"] = json!([{"kind": "path", "value": "x", "read_only_hint": true}]),
        ))
        .digest_projection();
    assert_eq!(
        p["targets"][0],
        json!({"kind": "path", "value": "x", "endpoint_class": "fs.read",
               "discovery_method": "unknown", "read_only_hint": true})
    );
}

#[test]
fn targets_are_deduplicated_and_sorted() {
    let intent = ok(&with(|v| {
        v["targets"] = json!([
            {"kind": "url", "value": "https://b.example"},
            {"kind": "path", "value": "/b", "operation": "read"},
            {"kind": "PATH", "value": " /b ", "operation": "READ"},
            {"kind": "path", "value": "/b", "operation": "read", "destructive": true},
            {"kind": "path", "value": "/a"},
            {"kind": "path", "value": "/b", "operation": "read", "open_world_hint": true}
        ])
    }));
    let summary: Vec<(&str, &str, bool, bool)> = intent
        .targets()
        .iter()
        .map(|t| {
            (
                t.kind.as_str(),
                t.value.as_str(),
                t.destructive,
                t.open_world_hint,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("path", "/a", false, false),
            ("path", "/b", false, false),
            ("path", "/b", false, true),
            ("path", "/b", true, false),
            ("url", "https://b.example", false, false),
        ]
    );
}

#[test]
fn null_targets_are_empty() {
    let intent = ok(&with(|v| v["targets"] = Value::Null));
    assert!(intent.targets().is_empty());
    assert_eq!(intent.digest_projection()["targets"], json!([]));
}

#[test]
fn target_errors() {
    let bad = |t: Value| {
        err_path(&with(
            |v| {
                v["targets"] =
                    json!([{"kind": "path", "value": "ok"}, {"kind": "path", "value": "ok2"}, t])
            },
        ))
    };
    assert_eq!(bad(json!({"value": "x"})), "targets[2].kind");
    assert_eq!(
        bad(json!({"kind": "path", "value": "  "})),
        "targets[2].value"
    );
    assert_eq!(bad(json!({"kind": "foo", "value": "x"})), "targets[2].kind");
    assert_eq!(
        bad(json!({"kind": "path", "value": "x", "endpoint_class": "fs.nuke"})),
        "targets[2].endpoint_class"
    );
    let err = norm(&with(|v| {
        v["targets"] = json!([{"kind": "Foo", "value": "x"}])
    }))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"targets[0].kind: unsupported value "foo""#
    );
    assert!(matches!(err, IntentError::Unsupported { .. }));
}

// ---- Rule 6: arg_provenance -------------------------------------------------

#[test]
fn provenance_is_normalized_deduplicated_and_sorted() {
    let upper = "A".repeat(64);
    let intent = ok(&with(|v| {
        v["arg_provenance"] = json!([
            {"arg_path": " $.b ", "source": " USER "},
            {"arg_path": "$.a", "source": "external", "source_ref": " r2 "},
            {"arg_path": "$.a", "source": "external", "source_ref": "r1", "integrity_digest": upper},
            {"arg_path": "$.b", "source": "user"}
        ])
    }));
    let got: Vec<(String, &str, String, Option<String>)> = intent
        .arg_provenance()
        .iter()
        .map(|p| {
            (
                p.arg_path.clone(),
                p.source.as_str(),
                p.source_ref.clone(),
                p.integrity_digest.map(|d| d.to_hex()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("$.a".into(), "external", "r1".into(), Some("a".repeat(64))),
            ("$.a".into(), "external", "r2".into(), None),
            ("$.b".into(), "user", String::new(), None),
        ]
    );
    assert_eq!(
        intent.digest_projection()["arg_provenance"][0]["integrity_digest"],
        json!("a".repeat(64))
    );
    // Omitted from the projection when empty.
    assert!(
        ok(&base())
            .digest_projection()
            .get("arg_provenance")
            .is_none()
    );
}

#[test]
fn provenance_errors() {
    let bad = |p: Value| err_path(&with(|v| v["arg_provenance"] = json!([p])));
    assert_eq!(bad(json!({"source": "user"})), "arg_provenance[0].arg_path");
    assert_eq!(bad(json!({"arg_path": "$.x"})), "arg_provenance[0].source");
    assert_eq!(
        bad(json!({"arg_path": "$.x", "source": "llm"})),
        "arg_provenance[0].source"
    );
    assert_eq!(
        bad(json!({"arg_path": "$.x", "source": "user", "integrity_digest": "sha256:abc"})),
        "arg_provenance[0].integrity_digest"
    );
}

// ---- Rule 7: skill_provenance -------------------------------------------------

#[test]
fn skill_provenance_is_normalized() {
    let intent = ok(&with(|v| {
        v["skill_provenance"] = json!({
            "skill_name": " Deploy ", "skill_version": " 1.2 ", "source": " GitHub ",
            "publisher": " Acme ", "digest": "F".repeat(64), "signature_key_id": " k1 "
        })
    }));
    assert_eq!(
        intent.digest_projection()["skill_provenance"],
        json!({"skill_name": "Deploy", "skill_version": "1.2", "source": "github",
               "publisher": "Acme", "digest": "f".repeat(64), "signature_key_id": "k1"})
    );
    let minimal =
        ok(&with(
            |v| v["skill_provenance"] = json!({"skill_name": "s", "source": "x", "publisher": "p"}),
        ));
    assert_eq!(
        minimal.digest_projection()["skill_provenance"],
        json!({"skill_name": "s", "source": "x", "publisher": "p"})
    );
}

#[test]
fn skill_provenance_errors() {
    let bad = |s: Value| err_path(&with(|v| v["skill_provenance"] = s));
    assert_eq!(
        bad(json!({"source": "x", "publisher": "p"})),
        "skill_provenance.skill_name"
    );
    assert_eq!(
        bad(json!({"skill_name": "s", "publisher": "p"})),
        "skill_provenance.source"
    );
    assert_eq!(
        bad(json!({"skill_name": "s", "source": "x"})),
        "skill_provenance.publisher"
    );
    assert_eq!(
        bad(json!({"skill_name": "s", "source": "x", "publisher": "p", "digest": "xyz"})),
        "skill_provenance.digest"
    );
}

// ---- Rule 8: context ------------------------------------------------------------

#[test]
fn context_core_fields() {
    let intent = ok(&with(|v| {
        v["context"] = json!({
            "identity": " Alice ", "workspace": " C:\\repo\\gait ", "risk_class": " HIGH ",
            "environment": " Prod-EU ", "session_id": " s1 ", "request_id": "r",
            "credential_source": " AWS_STS ", "credential_access_type": " JIT ",
            "credential_ttl_seconds": 600, "context_evidence_mode": " Required ",
            "context_set_digest": "B".repeat(64),
            "credential_scopes": [" b ", "a", "", "b"], "context_refs": ["r2", " r1", "r2"]
        })
    }));
    let c = intent.context();
    assert_eq!(c.identity, "Alice");
    assert_eq!(c.workspace, "C:/repo/gait");
    assert_eq!(c.risk_class, "high");
    assert_eq!(c.phase, Phase::Apply);
    assert_eq!(c.environment, "Prod-EU");
    assert_eq!(c.credential_source, Some(CredentialSource::AwsSts));
    assert_eq!(c.credential_access_type, Some(CredentialAccessType::Jit));
    assert_eq!(c.context_evidence_mode, Some(ContextEvidenceMode::Required));
    assert_eq!(c.credential_scopes, ["a", "b"]);
    assert_eq!(c.context_refs, ["r1", "r2"]);
    let p = intent.digest_projection();
    assert_eq!(p["context"]["phase"], "apply");
    assert_eq!(p["context"]["credential_ttl_seconds"], 600);
    assert_eq!(p["context"]["context_set_digest"], json!("b".repeat(64)));
    assert_eq!(p["context"]["session_id"], "s1");
    // Empty optional fields are omitted; the four core ones are not.
    let minimal = ok(&base()).digest_projection();
    assert_eq!(
        minimal["context"],
        json!({"identity": "alice", "workspace": "/repo", "risk_class": "low", "phase": "apply"})
    );
}

#[test]
fn context_phase() {
    let phase = |p: Value| ok(&with(|v| v["context"]["phase"] = p)).context().phase;
    assert_eq!(phase(json!(" PLAN ")), Phase::Plan);
    assert_eq!(phase(json!("")), Phase::Apply);
    assert_eq!(
        err_path(&with(|v| v["context"]["phase"] = json!("review"))),
        "context.phase"
    );
}

#[test]
fn context_errors() {
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut v = base();
        f(&mut v);
        err_path(&v)
    };
    assert_eq!(
        bad(&|v| v["context"]["identity"] = json!(" ")),
        "context.identity"
    );
    assert_eq!(
        bad(&|v| v["context"]["workspace"] = Value::Null),
        "context.workspace"
    );
    assert_eq!(
        bad(&|v| v["context"]["risk_class"] = json!("")),
        "context.risk_class"
    );
    assert_eq!(bad(&|v| v["context"] = Value::Null), "context.identity");
    assert_eq!(
        bad(&|v| v["context"]["credential_ttl_seconds"] = json!(-1)),
        "context.credential_ttl_seconds"
    );
    assert_eq!(
        bad(&|v| v["context"]["credential_ttl_seconds"] = json!(1.5)),
        "context.credential_ttl_seconds"
    );
    assert_eq!(
        bad(&|v| v["context"]["credential_source"] = json!("keychain")),
        "context.credential_source"
    );
    assert_eq!(
        bad(&|v| v["context"]["credential_access_type"] = json!("forever")),
        "context.credential_access_type"
    );
    assert_eq!(
        bad(&|v| v["context"]["context_evidence_mode"] = json!("sometimes")),
        "context.context_evidence_mode"
    );
    assert_eq!(
        bad(&|v| v["context"]["context_set_digest"] = json!("abc")),
        "context.context_set_digest"
    );
    assert_eq!(
        bad(&|v| v["context"]["credential_scopes"] = json!("a")),
        "context.credential_scopes"
    );
}

#[test]
fn auth_context_is_normalized() {
    let intent = ok(&with(|v| {
        v["context"]["auth_context"] = json!({" scope ": " admin ", "n": 1})
    }));
    assert_eq!(
        Value::Object(intent.context().auth_context.clone().unwrap()),
        json!({"scope": "admin", "n": 1})
    );
    let empty = ok(&with(|v| v["context"]["auth_context"] = json!({})));
    assert!(empty.context().auth_context.is_none());
    assert!(
        empty.digest_projection()["context"]
            .get("auth_context")
            .is_none()
    );
    assert_eq!(
        err_path(&with(|v| v["context"]["auth_context"] = json!({" ": 1}))),
        "context.auth_context"
    );
}

#[test]
fn agent_identity_is_normalized() {
    let intent = ok(&with(|v| {
        v["context"]["agent_identity"] = json!({
            "lifecycle_states": ["active", " approved ", "active"], "owner": " team ",
            "manifest_digest": "C".repeat(64), "publisher": " Acme ", "source": " Registry ",
            "issued_at": "2026-01-01T02:00:00+02:00", "expires_at": "2026-06-01T00:00:00.500Z",
            "revoked": true
        })
    }));
    let a = intent.context().agent_identity.clone().unwrap();
    assert_eq!(a.lifecycle_states, ["active", "approved"]);
    assert_eq!(a.source, "registry");
    assert_eq!(
        intent.digest_projection()["context"]["agent_identity"],
        json!({
            "lifecycle_states": ["active", "approved"], "owner": "team",
            "manifest_digest": "c".repeat(64), "publisher": "Acme", "source": "registry",
            "issued_at": "2026-01-01T00:00:00Z", "approved_at": "0001-01-01T00:00:00Z",
            "expires_at": "2026-06-01T00:00:00.5Z", "revoked": true
        })
    );
    // An empty object is present, with its three zero times.
    let empty = ok(&with(|v| v["context"]["agent_identity"] = json!({})));
    assert_eq!(
        empty.digest_projection()["context"]["agent_identity"],
        json!({"issued_at": "0001-01-01T00:00:00Z", "approved_at": "0001-01-01T00:00:00Z",
               "expires_at": "0001-01-01T00:00:00Z"})
    );
    let none = ok(&with(|v| v["context"]["agent_identity"] = Value::Null));
    assert!(none.context().agent_identity.is_none());
}

#[test]
fn agent_identity_errors() {
    let bad = |a: Value| err_path(&with(|v| v["context"]["agent_identity"] = a));
    assert_eq!(
        bad(json!({"manifest_digest": "nope"})),
        "context.agent_identity.manifest_digest"
    );
    assert_eq!(
        bad(json!({"issued_at": "2026-01-02T00:00:00Z", "approved_at": "2026-01-01T00:00:00Z"})),
        "context.agent_identity.approved_at"
    );
    assert_eq!(
        bad(json!({"issued_at": "2026-01-02T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z"})),
        "context.agent_identity.expires_at"
    );
    assert_eq!(
        bad(
            json!({"approved_at": "2026-01-03T00:00:00Z", "expires_at": "2026-01-02T03:00:00+03:00"})
        ),
        "context.agent_identity.expires_at"
    );
    assert_eq!(
        bad(json!({"issued_at": "yesterday"})),
        "context.agent_identity.issued_at"
    );
    // Equal issue and approval times are fine; offsets are compared as instants.
    assert!(
        norm(&with(|v| v["context"]["agent_identity"] = json!({
            "issued_at": "2026-01-01T00:00:00Z", "approved_at": "2026-01-01T01:00:00+01:00"
        })))
        .is_ok()
    );
    // A time that is outside years 0..=9999 once in UTC cannot be written.
    assert_eq!(
        bad(json!({"issued_at": "0000-01-01T00:00:00+01:00"})),
        "context.agent_identity.issued_at"
    );
}

#[test]
fn sandbox_is_normalized() {
    let intent = ok(&with(|v| {
        v["context"]["sandbox"] = json!({
            "network_mode": " EGRESS_ALLOWLIST ", "env_exposure_mode": "None",
            "filesystem_isolation": "Container", "user_mode": "Unprivileged", "timeout_seconds": 30,
            "writable_paths": [" /tmp//work/./tmp/ ", ".", "", "/tmp/work/tmp", "a/../b"],
            "read_only_roots": ["/usr/share", "/repo/../repo"],
            "evidence_ref": " sandbox:receipt:v1 ", "evidence_digest": "D".repeat(64)
        })
    }));
    let s = intent.context().sandbox.clone().unwrap();
    assert_eq!(s.network_mode, Some(NetworkMode::EgressAllowlist));
    assert_eq!(s.env_exposure_mode, Some(EnvExposureMode::None));
    assert_eq!(s.filesystem_isolation, Some(FilesystemIsolation::Container));
    assert_eq!(s.user_mode, Some(UserMode::Unprivileged));
    assert_eq!(s.writable_paths, ["/tmp/work/tmp", "b"]);
    assert_eq!(s.read_only_roots, ["/repo", "/usr/share"]);
    assert_eq!(s.evidence_ref, "sandbox:receipt:v1");
    assert_eq!(
        intent.digest_projection()["context"]["sandbox"]["evidence_digest"],
        json!("d".repeat(64))
    );
    // All-empty metadata disappears.
    let empty = ok(&with(|v| {
        v["context"]["sandbox"] = json!({"writable_paths": [".", " "]})
    }));
    assert!(empty.context().sandbox.is_none());
    // A prefixed evidence ref is accepted even when it looks like a secret.
    assert!(
        norm(&with(
            |v| v["context"]["sandbox"] = json!({"evidence_ref": "REF:A1B2C3D4E5F6G7H8I9"})
        ))
        .is_ok()
    );
}

#[test]
fn sandbox_errors() {
    let bad = |s: Value| err_path(&with(|v| v["context"]["sandbox"] = s));
    assert_eq!(
        bad(json!({"network_mode": "open"})),
        "context.sandbox.network_mode"
    );
    assert_eq!(
        bad(json!({"env_exposure_mode": "some"})),
        "context.sandbox.env_exposure_mode"
    );
    assert_eq!(
        bad(json!({"filesystem_isolation": "vm"})),
        "context.sandbox.filesystem_isolation"
    );
    assert_eq!(
        bad(json!({"user_mode": "admin"})),
        "context.sandbox.user_mode"
    );
    assert_eq!(
        bad(json!({"timeout_seconds": -1})),
        "context.sandbox.timeout_seconds"
    );
    assert_eq!(
        bad(json!({"writable_paths": ["/ok", "AWS_SECRET_ACCESS_KEY=abc"]})),
        "context.sandbox.writable_paths[1]"
    );
    assert_eq!(
        bad(json!({"read_only_roots": ["HOME=/root"]})),
        "context.sandbox.read_only_roots[0]"
    );
    assert_eq!(
        bad(json!({"evidence_digest": "x"})),
        "context.sandbox.evidence_digest"
    );
    assert_eq!(
        bad(json!({"evidence_ref": "TOKEN=abc"})),
        "context.sandbox.evidence_ref"
    );
    assert_eq!(
        bad(json!({"evidence_ref": "A1B2C3D4E5F6G7H8I9J0"})),
        "context.sandbox.evidence_ref"
    );
}

// ---- Rule 9: delegation ----------------------------------------------------------

fn delegation() -> Value {
    json!({
        "requester_identity": " worker ", "scope_class": " WRITE ",
        "token_refs": ["t2", " t1 ", "t2", ""],
        "chain": [
            {"delegator_identity": "lead", "delegate_identity": "manager", "scope_class": "Write",
             "issued_at": "2026-01-01T00:00:00+01:00", "expires_at": "2026-01-02T00:00:00Z"},
            {"delegator_identity": " manager ", "delegate_identity": "worker", "token_ref": " t2 "}
        ],
        "expires_at": "2026-02-01T00:00:00Z"
    })
}

#[test]
fn delegation_is_normalized() {
    let intent = ok(&with(|v| v["delegation"] = delegation()));
    let d = intent.delegation().unwrap();
    assert_eq!(d.requester_identity, "worker");
    assert_eq!(d.scope_class, "write");
    assert_eq!(d.token_refs, ["t1", "t2"]);
    assert_eq!(
        intent.digest_projection()["delegation"],
        json!({
            "requester_identity": "worker", "scope_class": "write", "token_refs": ["t1", "t2"],
            "chain": [
                {"delegator_identity": "lead", "delegate_identity": "manager", "scope_class": "write",
                 "issued_at": "2025-12-31T23:00:00Z", "expires_at": "2026-01-02T00:00:00Z"},
                {"delegator_identity": "manager", "delegate_identity": "worker", "token_ref": "t2",
                 "issued_at": "0001-01-01T00:00:00Z", "expires_at": "0001-01-01T00:00:00Z"}
            ],
            "issued_at": "0001-01-01T00:00:00Z", "expires_at": "2026-02-01T00:00:00Z"
        })
    );
    assert_eq!(
        intent.delegation_digest(),
        Some(gait_digest::digest_json(
            &intent.digest_projection()["delegation"]
        ))
    );
    // A requester alone is a valid delegation.
    let alone = ok(&with(|v| {
        v["delegation"] = json!({"requester_identity": "r"})
    }));
    assert_eq!(
        alone.digest_projection()["delegation"],
        json!({"requester_identity": "r", "issued_at": "0001-01-01T00:00:00Z",
               "expires_at": "0001-01-01T00:00:00Z"})
    );
}

#[test]
fn delegation_errors() {
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut d = delegation();
        f(&mut d);
        err_path(&with(|v| v["delegation"] = d))
    };
    assert_eq!(
        bad(&|d| d["requester_identity"] = json!(" ")),
        "delegation.requester_identity"
    );
    assert_eq!(
        bad(&|d| d["chain"][1]["delegator_identity"] = json!("")),
        "delegation.chain[1].delegator_identity"
    );
    assert_eq!(
        bad(&|d| d["chain"][0]["delegate_identity"] = Value::Null),
        "delegation.chain[0].delegate_identity"
    );
    assert_eq!(
        bad(&|d| d["chain"][1]["delegator_identity"] = json!("boss")),
        "delegation.chain[1].delegator_identity"
    );
    assert_eq!(
        bad(&|d| d["requester_identity"] = json!("other")),
        "delegation.chain[1].delegate_identity"
    );
    assert_eq!(
        bad(&|d| d["chain"][0]["expires_at"] = json!("2025-12-31T23:00:00Z")),
        "delegation.chain[0].expires_at"
    );
    assert_eq!(
        bad(&|d| d["issued_at"] = json!("2026-03-01T00:00:00Z")),
        "delegation.expires_at"
    );
    assert_eq!(
        bad(&|d| d["issued_at"] = json!("2026-03-01")),
        "delegation.issued_at"
    );
    let err = norm(&with(|v| {
        let mut d = delegation();
        d["chain"][1]["delegator_identity"] = json!("boss");
        v["delegation"] = d;
    }))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "delegation.chain[1].delegator_identity: must match delegation.chain[0].delegate_identity"
    );
}

// ---- Rule 10: relationship ---------------------------------------------------------

#[test]
fn relationship_is_normalized_but_not_digested() {
    let plain = ok(&base());
    let intent = ok(&with(|v| {
        v["relationship"] = json!({
            "parent_ref": {"kind": " SESSION ", "id": " s1 "},
            "entity_refs": [{"kind": "tool", "id": "b"}, {"kind": "Agent", "id": "a"},
                            {"kind": "alien", "id": "x"}, {"kind": "tool", "id": "b"}],
            "agent_chain": [{"identity": "x", "role": "boss"}, {"identity": " y ", "role": "Requester"}],
            "edges": [{"kind": "calls", "from": {"kind": "agent", "id": "a"}, "to": {"kind": "tool", "id": "b"}},
                      {"kind": "calls", "from": {"kind": "agent", "id": ""}, "to": {"kind": "tool", "id": "b"}}],
            "policy_ref": {"policy_digest": " ABC "},
            "related_record_ids": ["r", " r "],
            "agent_lineage": [{"agent_id": " a "}, {"agent_id": ""}]
        })
    }));
    assert_eq!(intent.intent_digest(), plain.intent_digest());
    assert!(intent.digest_projection().get("relationship").is_none());
    let r = intent.relationship().unwrap();
    assert_eq!(r.parent_ref.as_ref().unwrap().kind, "session");
    let refs: Vec<(&str, &str)> = r
        .entity_refs
        .iter()
        .map(|e| (e.kind.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(refs, [("agent", "a"), ("tool", "b")]);
    assert_eq!(r.related_entity_ids, ["a", "b"]);
    assert_eq!(r.agent_chain.len(), 1);
    assert_eq!(r.edges.len(), 1);
    assert_eq!(r.policy_ref.as_ref().unwrap().policy_digest, "abc");
    assert_eq!(r.related_record_ids, ["r"]);
    assert_eq!(r.agent_lineage.len(), 1);
    assert_eq!(
        intent.to_json()["relationship"]["parent_ref"],
        json!({"kind": "session", "id": "s1"})
    );
    // Nothing left means no envelope at all.
    let empty = ok(&with(|v| {
        v["relationship"] = json!({"parent_ref": {"kind": "planet", "id": "x"}})
    }));
    assert!(empty.relationship().is_none());
    // Still typed on input.
    assert_eq!(
        err_path(&with(|v| v["relationship"] = json!({"edges": "x"}))),
        "relationship.edges"
    );
}

// ---- Digests -----------------------------------------------------------------------

#[test]
fn digest_excludes_envelope_fields() {
    let a = ok(&base());
    let b = ok(&with(|v| {
        v["schema_id"] = json!("other");
        v["schema_version"] = json!("9");
        v["created_at"] = json!("2030-01-01T00:00:00Z");
        v["producer_version"] = json!("x");
        v["args_digest"] = json!("bogus");
        v["intent_digest"] = json!("bogus");
        v["script_hash"] = json!("bogus");
        v["unknown"] = json!({"x": 1});
    }));
    assert_eq!(a.intent_digest(), b.intent_digest());
    let projection = a.digest_projection();
    let keys: Vec<&str> = projection
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["args", "context", "targets", "tool_name"]);
    // Context fields such as session_id do count.
    let c = ok(&with(|v| v["context"]["session_id"] = json!("s")));
    assert_ne!(a.intent_digest(), c.intent_digest());
}

#[test]
fn reference_intent_vector() {
    // spec/gate.md §10: approval-token-valid/intent.json.
    let intent = ok(&json!({
        "schema_id": "gait.gate.intent_request", "schema_version": "1.0.0",
        "created_at": "2026-02-18T00:00:00Z", "producer_version": "0.0.0-dev",
        "tool_name": "tool.write", "args": {"path": "/tmp/approve-valid.txt"},
        "targets": [{"kind": "path", "value": "/tmp/approve-valid.txt", "operation": "write", "endpoint_class": "fs.write"}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {"identity": "agent.scenario", "workspace": "/repo/gait", "risk_class": "high", "session_id": "sess-tier11"}
    }));
    assert_eq!(
        gait_digest::canonical::to_vec(&intent.digest_projection()),
        br#"{"arg_provenance":[{"arg_path":"$.path","source":"user"}],"args":{"path":"/tmp/approve-valid.txt"},"context":{"identity":"agent.scenario","phase":"apply","risk_class":"high","session_id":"sess-tier11","workspace":"/repo/gait"},"targets":[{"discovery_method":"unknown","endpoint_class":"fs.write","kind":"path","operation":"write","value":"/tmp/approve-valid.txt"}],"tool_name":"tool.write"}"#
    );
    assert_eq!(
        intent.intent_digest().to_hex(),
        "4b53bb79e35105ac9170963ac6f84ed0ed15530c68f06a46fc1233c5ec766913"
    );
}

#[test]
fn prepared_strips_context_evidence_claims() {
    let claimed = ok(&with(|v| {
        v["context"]["context_set_digest"] = json!("e".repeat(64));
        v["context"]["context_evidence_mode"] = json!("required");
        v["context"]["context_refs"] = json!(["r1"]);
        v["context"]["auth_context"] = json!({"context_age_seconds": 5});
    }));
    let prepared = claimed.prepared();
    assert_ne!(claimed.intent_digest(), prepared.intent_digest());
    assert_eq!(prepared.intent_digest(), ok(&base()).intent_digest());
    assert!(prepared.context().auth_context.is_none());
    assert_eq!(prepared.args_digest(), claimed.args_digest());
    // Other auth_context members stay.
    let kept = ok(&with(|v| {
        v["context"]["auth_context"] = json!({"context_age_seconds": 5, "x": "y"})
    }))
    .prepared();
    assert_eq!(
        Value::Object(kept.context().auth_context.clone().unwrap()),
        json!({"x": "y"})
    );
    // Preparing twice changes nothing.
    assert_eq!(prepared.prepared(), prepared);
}

#[test]
fn context_evidence_binding() {
    let digest = gait_digest::sha256(b"records");
    let bound = ok(&base()).with_context_evidence(
        digest,
        ContextEvidenceMode::Required,
        vec![" r2".to_owned(), "r1".to_owned(), "r1".to_owned()],
        42,
    );
    let same = ok(&with(|v| {
        v["context"]["context_set_digest"] = json!(digest.to_hex());
        v["context"]["context_evidence_mode"] = json!("required");
        v["context"]["context_refs"] = json!(["r1", "r2"]);
        v["context"]["auth_context"] = json!({"context_age_seconds": 42});
    }));
    assert_eq!(bound.intent_digest(), same.intent_digest());
}

#[test]
fn auth_context_entries_are_added_and_checked() {
    let a = ok(&base())
        .with_auth_context_entries([("wrkr.tool_name".to_owned(), json!(" Tool.Read "))])
        .unwrap();
    let b = ok(&with(|v| {
        v["context"]["auth_context"] = json!({"wrkr.tool_name": "Tool.Read"})
    }));
    assert_eq!(a.intent_digest(), b.intent_digest());
    let err = ok(&base())
        .with_auth_context_entries([("secret".to_owned(), json!("sk-live"))])
        .unwrap_err();
    assert_eq!(err.path(), Some("context.auth_context.secret"));
}

#[test]
fn to_json_round_trips() {
    for v in [
        base(),
        scenario_script(),
        with(|v| v["delegation"] = delegation()),
    ] {
        let intent = ok(&v);
        let json = intent.to_json();
        assert_eq!(
            json["intent_digest"],
            json!(intent.intent_digest().to_hex())
        );
        assert_eq!(json["args_digest"], json!(intent.args_digest().to_hex()));
        let again = ok(&json);
        assert_eq!(again, intent);
    }
    let defaults = ok(&with(|v| {
        let m = v.as_object_mut().unwrap();
        m.remove("schema_id");
        m.remove("schema_version");
        m.remove("created_at");
    }));
    assert_eq!(defaults.schema_id(), SCHEMA_ID);
    assert_eq!(defaults.schema_version(), SCHEMA_VERSION);
    assert_eq!(defaults.to_json()["created_at"], "0001-01-01T00:00:00Z");
    let offset = ok(&with(|v| {
        v["created_at"] = json!("2026-02-18T01:00:00.250+01:00")
    }));
    assert_eq!(
        offset.to_json()["created_at"],
        "2026-02-18T01:00:00.25+01:00"
    );
    assert_eq!(offset.producer_version(), "test");
}

// ---- Decoding ------------------------------------------------------------------------

#[test]
fn keys_match_case_insensitively() {
    let a = ok(&base());
    let b = Intent::from_json_str(
        r#"{"TOOL_NAME":"tool.read","Args":{"path":"/tmp/a.txt"},
            "Targets":[{"KIND":"path","Value":"/tmp/a.txt","OPERATION":"read"}],
            "CONTEXT":{"IDENTITY":"alice","WorkSpace":"/repo","Risk_Class":"low"}}"#,
    )
    .unwrap();
    assert_eq!(a.intent_digest(), b.intent_digest());
}

#[test]
fn invalid_json_and_times() {
    assert!(matches!(
        Intent::from_json_str("{"),
        Err(IntentError::Json { .. })
    ));
    assert!(matches!(
        Intent::from_json_str(r#"{"tool_name":"a","tool_name":"b"}"#),
        Err(IntentError::Json { .. })
    ));
    let err = norm(&with(|v| v["created_at"] = json!("2026-02-18 00:00:00Z"))).unwrap_err();
    assert!(matches!(err, IntentError::Time { .. }));
    assert_eq!(err.path(), Some("created_at"));
    assert_eq!(
        Intent::from_json_str("[]").unwrap_err().path(),
        Some("intent")
    );
}

#[test]
fn from_value_equals_from_bytes() {
    let v = with(|v| v["delegation"] = delegation());
    assert_eq!(Intent::from_value(&v).unwrap(), ok(&v));
}

// ---- Direct canonical writer ----------------------------------------------------

/// Checks the digests computed by the direct writer against the former
/// `Value` projection path, for the intent and its derived forms.
fn assert_direct_digests(intent: &Intent, what: &str) {
    for i in [intent.clone(), intent.prepared()] {
        let (args, script_hash, digest) = i.digests_via_projection();
        assert_eq!(i.args_digest(), args, "{what}: args_digest");
        assert_eq!(i.script_hash(), script_hash, "{what}: script_hash");
        assert_eq!(i.intent_digest(), digest, "{what}: intent_digest");
    }
}

#[test]
fn direct_digests_match_the_projection_for_every_fixture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/intent");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(intent) = Intent::from_json_slice(&bytes) {
            assert_direct_digests(&intent, &path.display().to_string());
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
}

#[test]
fn direct_digests_match_the_projection_for_a_full_intent() {
    let mut context = json!({
        "identity": "alice", "workspace": "C:\\repo", "risk_class": "HIGH", "phase": "plan",
        "agent_id": "a1",
        "run_id": "r", "workflow_id": "w", "repo": "g", "environment": "Prod",
        "job_id": "j", "session_id": "s", "request_id": "q", "credential_ref": "c",
        "credential_source": "env", "credential_access_type": "jit",
        "credential_issuer": "i", "credential_subject": "u", "credential_owner": "o",
        "credential_target_binding": "t", "credential_run_binding": "rb",
        "credential_job_binding": "jb", "credential_ttl_seconds": 600,
        "approval_ref": "ap", "wrkr_inventory_ref": "wi", "agent_action_bom_ref": "bom",
        "auth_context": {"scope": " admin ", "context_age_seconds": 3, "n": {"k": [1]}},
        "credential_scopes": ["b", "a"], "environment_fingerprint": "fp",
        "context_set_digest": "23".repeat(32), "context_evidence_mode": "required",
        "context_refs": ["r2", "r1"]
    });
    context["sandbox"] = json!({"network_mode": "Disabled", "writable_paths": ["/tmp//x/", "/a"],
                        "read_only_roots": ["/usr"], "env_exposure_mode": "none",
                        "timeout_seconds": 30, "filesystem_isolation": "container",
                        "user_mode": "unprivileged", "evidence_ref": "sandbox:r1",
                        "evidence_digest": "01".repeat(32)});
    context["agent_identity"] = json!({"lifecycle_states": ["b", "a"], "owner": "o",
                               "manifest_digest": "ef".repeat(32), "publisher": "p",
                               "source": "S", "issued_at": "2026-01-01T00:00:00Z",
                               "revoked": true});
    let full = json!({
        "tool_name": "Tool.Write",
        "args": {"b": [1, 2.5, -0, 1e21, null, true, {"z": "\u{1}\"\\"}], "a\u{e000}": 1,
                 "a\u{1F600}": 2, "é": " x ", "c": {}},
        "targets": [
            {"kind": "url", "value": "https://API.example.com/x", "operation": "Put",
             "sensitivity": "High", "destructive": true, "discovery_method": "Dynamic-MCP",
             "read_only_hint": true, "destructive_hint": true, "idempotent_hint": true,
             "open_world_hint": true},
            {"kind": "path", "value": "/tmp/x"}
        ],
        "arg_provenance": [
            {"arg_path": "$.b", "source": "user", "source_ref": "r",
             "integrity_digest": "AB".repeat(32)},
            {"arg_path": "$.a", "source": "external"}
        ],
        "skill_provenance": {"skill_name": "s", "skill_version": "1", "source": "Registry",
                             "publisher": "p", "digest": "cd".repeat(32),
                             "signature_key_id": "k"},
        "delegation": {
            "requester_identity": "worker", "scope_class": "Write", "token_refs": ["t2", "t1"],
            "issued_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00+01:00",
            "chain": [
                {"delegator_identity": "root", "delegate_identity": "lead",
                 "scope_class": "w", "token_ref": "t1"},
                {"delegator_identity": "lead", "delegate_identity": "worker",
                 "issued_at": "2026-01-01T02:00:00+02:00"}
            ]
        },
        "context": context,
        "relationship": {"parent_record_id": "p"}
    });
    assert_direct_digests(&ok(&full), "full");
    let mut script = full.clone();
    script["script"] = json!({"steps": [
        {"tool_name": "tool.read", "args": {"p": " x "},
         "targets": [{"kind": "path", "value": "/a", "operation": "read"}],
         "arg_provenance": [{"arg_path": "$.p", "source": "user"}]},
        {"tool_name": "Tool.Delete", "args": {}}
    ]});
    assert_direct_digests(&ok(&script), "script");
    let mut minimal = base();
    minimal["args"] = Value::Null;
    minimal["targets"] = json!([]);
    assert_direct_digests(&ok(&minimal), "minimal");
}

/// Issue 11: a control character (newline, ESC, DEL, C1, U+2028/2029) in
/// an identifier of the context is refused, naming the field; other
/// Unicode and inner spaces are fine.
#[test]
fn control_characters_in_context_identifiers_are_refused() {
    for field in [
        "identity",
        "agent_id",
        "run_id",
        "workflow_id",
        "job_id",
        "session_id",
        "request_id",
    ] {
        for bad in [
            "run\nforged",
            "a\u{1b}[2Kb",
            "x\u{7f}y",
            "x\u{85}y",
            "x\u{2028}y",
            "a\u{0}b",
        ] {
            let v = with(|v| v["context"][field] = json!(bad));
            let err = match norm(&v) {
                Ok(_) => panic!("{field}={bad:?} accepted"),
                Err(e) => e,
            };
            assert_eq!(
                err.path(),
                Some(format!("context.{field}").as_str()),
                "{err}"
            );
            assert!(err.to_string().contains("control character (U+"), "{err}");
        }
        let v = with(|v| v["context"][field] = json!("sess 1 · ü"));
        ok(&v);
    }
}
