//! Each adapter's intent compared with the intent request the reference
//! builds for the same payload (written out by hand from its mapping
//! rules, spec/boundaries.md §1.2–1.3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::json;

use super::*;
use crate::adapters::mcp_protocol::intent_from_tools_call;

fn digest_of(request: &serde_json::Value) -> String {
    Intent::from_value(request)
        .unwrap()
        .intent_digest()
        .to_hex()
}

fn adapted(adapter: Adapter, payload: serde_json::Value) -> Intent {
    intent_from_payload(adapter, payload.to_string().as_bytes()).unwrap()
}

const CTX_DEFAULT: &str = r#"{"identity":"mcp-proxy","workspace":".","risk_class":"high"}"#;

fn ctx_default() -> serde_json::Value {
    serde_json::from_str(CTX_DEFAULT).unwrap()
}

#[test]
fn adapter_names() {
    for (s, a) in [
        ("", Adapter::Mcp),
        (" MCP ", Adapter::Mcp),
        ("OpenAI", Adapter::OpenAi),
        ("anthropic", Adapter::Anthropic),
        ("langchain", Adapter::LangChain),
        ("claude-code", Adapter::ClaudeCode),
        ("claudecode", Adapter::ClaudeCode),
        ("claude_code", Adapter::ClaudeCode),
    ] {
        assert_eq!(Adapter::parse(s).unwrap(), a);
    }
    assert!(matches!(
        Adapter::parse("gemini"),
        Err(AdapterError::UnsupportedAdapter(_))
    ));
}

#[test]
fn openai_string_and_object_arguments() {
    let expected = digest_of(&json!({
        "tool_name": "tool.read", "args": {"path": "/tmp/a"}, "targets": [],
        "context": ctx_default(),
    }));
    let s = adapted(
        Adapter::OpenAi,
        json!({"function": {"name": "tool.read", "arguments": "{\"path\":\"/tmp/a\"}"}}),
    );
    let o = adapted(
        Adapter::OpenAi,
        json!({"function": {"name": "tool.read", "arguments": {"path": "/tmp/a"}}}),
    );
    assert_eq!(s.intent_digest().to_hex(), expected);
    assert_eq!(o.intent_digest().to_hex(), expected);
    // Empty or null arguments are {}.
    let e = adapted(
        Adapter::OpenAi,
        json!({"function": {"name": "tool.read", "arguments": ""}}),
    );
    assert_eq!(e.args().len(), 0);
    // Not an object: invalid.
    for bad in [json!("[1]"), json!(3), json!("nope")] {
        let p = json!({"function": {"name": "t", "arguments": bad}});
        assert!(intent_from_payload(Adapter::OpenAi, p.to_string().as_bytes()).is_err());
    }
    // No name: invalid.
    let p = json!({"function": {"arguments": {}}});
    let err = intent_from_payload(Adapter::OpenAi, p.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("name is required"), "{err}");
}

#[test]
fn anthropic_and_langchain() {
    let expected = digest_of(&json!({
        "tool_name": "tool.search", "args": {"q": "rust"}, "targets": [],
        "context": ctx_default(),
    }));
    let a = adapted(
        Adapter::Anthropic,
        json!({"type": "tool_use", "id": "toolu_1", "name": "tool.search", "input": {"q": "rust"}}),
    );
    assert_eq!(a.intent_digest().to_hex(), expected);
    let l = adapted(
        Adapter::LangChain,
        json!({"tool": "tool.search", "tool_input": {"q": "rust"}}),
    );
    assert_eq!(l.intent_digest().to_hex(), expected);
    let l2 = adapted(
        Adapter::LangChain,
        json!({"tool": "tool.search", "tool_input": "{\"q\":\"rust\"}"}),
    );
    assert_eq!(l2.intent_digest().to_hex(), expected);
    let p = json!({"name": "x", "input": "text"});
    assert!(intent_from_payload(Adapter::Anthropic, p.to_string().as_bytes()).is_err());
}

#[test]
fn claude_code_tool_names() {
    for (raw, want) in [
        ("Read", "tool.read"),
        ("Grep", "tool.read"),
        ("Glob", "tool.read"),
        ("WebFetch", "tool.read"),
        ("Web_Search", "tool.read"),
        ("Write", "tool.write"),
        ("Edit", "tool.write"),
        ("NotebookEdit", "tool.write"),
        ("notebook-edit", "tool.write"),
        ("Bash", "tool.exec"),
        ("Task", "tool.delegate"),
        ("Tool.Custom", "tool.custom"),
        ("mcp__fs__read-file", "tool.mcp__fs__read_file"),
        ("Multi Word", "tool.multi_word"),
        ("  ", ""),
    ] {
        assert_eq!(claude_code_tool_name(raw), want, "{raw}");
    }
}

#[test]
fn claude_code_hook_payloads() {
    let bash = adapted(
        Adapter::ClaudeCode,
        json!({"session_id": "s1", "hook_event_name": "PreToolUse", "tool_name": "Bash",
               "tool_input": {"command": "rm -rf /tmp/x"}, "cwd": "/w", "transcript_path": "/t"}),
    );
    let expected = digest_of(&json!({
        "tool_name": "tool.exec", "args": {"command": "rm -rf /tmp/x"},
        "targets": [{"kind": "other", "value": "rm -rf /tmp/x", "operation": "execute"}],
        "context": {"identity": "mcp-proxy", "workspace": ".", "risk_class": "high",
                    "session_id": "s1",
                    "auth_context": {"hook_event_name": "PreToolUse", "adapter": "claude_code"}},
    }));
    assert_eq!(bash.intent_digest().to_hex(), expected);
    assert!(
        bash.targets()[0].destructive,
        "exec targets are destructive"
    );

    let read = adapted(
        Adapter::ClaudeCode,
        json!({"tool_name": "Read", "tool_input": {"file_path": "/w/a.txt"}}),
    );
    let expected = digest_of(&json!({
        "tool_name": "tool.read", "args": {"file_path": "/w/a.txt"},
        "targets": [{"kind": "path", "value": "/w/a.txt", "operation": "read"}],
        "context": ctx_default(),
    }));
    assert_eq!(read.intent_digest().to_hex(), expected);

    let fetch = adapted(
        Adapter::ClaudeCode,
        json!({"tool_name": "WebFetch", "tool_input": {"url": "https://example.com/x", "prompt": "p"}}),
    );
    assert_eq!(fetch.targets()[0].kind.as_str(), "url");

    let write = adapted(
        Adapter::ClaudeCode,
        json!({"name": "Write", "input": "{\"file_path\":\"/w/b\",\"content\":\"x\"}"}),
    );
    let expected = digest_of(&json!({
        "tool_name": "tool.write", "args": {"file_path": "/w/b", "content": "x"},
        "targets": [{"kind": "path", "value": "/w/b", "operation": "write"}],
        "context": ctx_default(),
    }));
    assert_eq!(write.intent_digest().to_hex(), expected);

    let task = adapted(
        Adapter::ClaudeCode,
        json!({"tool_name": "Task", "tool_input": {"prompt": "go"}}),
    );
    assert_eq!(task.targets()[0].value, "go");

    let p = json!({"tool_input": {}});
    assert!(intent_from_payload(Adapter::ClaudeCode, p.to_string().as_bytes()).is_err());
}

#[test]
fn native_mcp_call_with_defaults_hints_and_auth() {
    let call = json!({
        "name": " tool.write ",
        "args": {"path": "/tmp/out.txt"},
        "targets": [{"kind": "path", "value": " /tmp/out.txt ", "operation": "write",
                     "readOnlyHint": false, "destructiveHint": true,
                     "annotations": {"idempotentHint": "true", "discoveryMethod": "dynamic-mcp"}}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "server": {"server_id": "fs", "publisher": "acme"},
        "context": {"identity": "alice", "session_id": "s", "run_id": "r1",
                    "auth_mode": "token", "credential_scopes": ["b", "a"],
                    "auth_context": {"tenant": "t1"}}
    });
    let tc = decode_tool_call(Adapter::Mcp, call.to_string().as_bytes()).unwrap();
    assert_eq!(tc.server.as_ref().unwrap().server_id, "fs");
    assert_eq!(tc.context.run_id, "r1");
    let got = tc.to_intent().unwrap();
    let expected = digest_of(&json!({
        "tool_name": "tool.write", "args": {"path": "/tmp/out.txt"},
        "targets": [{"kind": "path", "value": "/tmp/out.txt", "operation": "write",
                     "discovery_method": "dynamic-mcp", "destructive_hint": true,
                     "idempotent_hint": true}],
        "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
        "context": {"identity": "alice", "workspace": ".", "risk_class": "high",
                    "session_id": "s", "credential_scopes": ["b", "a"],
                    "auth_context": {"tenant": "t1", "auth_mode": "token"}},
    }));
    assert_eq!(got.intent_digest().to_hex(), expected);
    // run_id names the run only; it is not part of the intent.
    assert!(got.context().run_id.is_empty());
}

#[test]
fn native_mcp_legacy_target_and_script() {
    for (target, kind) in [
        ("https://x.example/a", "url"),
        ("/etc/passwd", "path"),
        ("db.internal", "host"),
    ] {
        let i = adapted(
            Adapter::Mcp,
            json!({"name": "tool.fetch", "target": target}),
        );
        assert_eq!(i.targets()[0].kind.as_str(), kind);
        assert_eq!(i.targets()[0].value, target);
    }
    let script = adapted(
        Adapter::Mcp,
        json!({"name": "ignored", "args": {"x": 1},
               "script": {"steps": [{"name": "tool.read", "args": {"path": "/a"}},
                                     {"name": "tool.write", "args": {"path": "/b"}}]}}),
    );
    let expected = digest_of(&json!({
        "tool_name": "script", "args": {}, "targets": [],
        "script": {"steps": [{"tool_name": "tool.read", "args": {"path": "/a"}},
                              {"tool_name": "tool.write", "args": {"path": "/b"}}]},
        "context": ctx_default(),
    }));
    assert_eq!(script.intent_digest().to_hex(), expected);
    let bad = json!({"script": {"steps": [{"name": " "}]}});
    let err = intent_from_payload(Adapter::Mcp, bad.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("script.steps[0].name is required"),
        "{err}"
    );
}

#[test]
fn native_mcp_rejects_wrong_types_and_duplicates() {
    for bad in [
        r#"{"name": 3}"#,
        r#"{"name": "t", "args": []}"#,
        r#"{"name": "t", "targets": {}}"#,
        r#"{"name": "t", "context": {"identity": 1}}"#,
        r#"{"name": "t", "name": "u"}"#,
        r#"[]"#,
        r#"{"name": "t", "created_at": "yesterday"}"#,
    ] {
        assert!(
            intent_from_payload(Adapter::Mcp, bad.as_bytes()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn default_created_at_is_1980_and_risk_is_normalized() {
    let i = adapted(
        Adapter::Mcp,
        json!({"name": "t", "context": {"risk_class": " LOW "}}),
    );
    assert_eq!(i.created_at().to_string(), "1980-01-01T00:00:00Z");
    assert_eq!(i.context().risk_class, "low");
}

#[test]
fn mcp_protocol_calls() {
    let server = ServerInfo {
        server_name: "secure-filesystem-server".into(),
        ..ServerInfo::default()
    };
    let params = json!({"name": "read_file", "arguments": {"path": "/w/a.txt"}});
    let ann = json!({"readOnlyHint": true, "title": "Read"});
    let i =
        intent_from_tools_call(&params, &server, ann.as_object(), &CallContext::default()).unwrap();
    let expected = digest_of(&json!({
        "tool_name": "read_file", "args": {"path": "/w/a.txt"},
        "targets": [{"kind": "path", "value": "/w/a.txt", "operation": "read",
                     "discovery_method": "mcp", "read_only_hint": true}],
        "context": {"identity": "mcp-proxy", "workspace": ".", "risk_class": "high",
                    "auth_context": {"adapter": "mcp_protocol",
                                     "mcp_server_id": "secure-filesystem-server",
                                     "mcp_server_name": "secure-filesystem-server",
                                     "mcp_tool_listed": true}},
    }));
    assert_eq!(i.intent_digest().to_hex(), expected);
    assert_eq!(i.targets()[0].endpoint_class.as_str(), "fs.read");

    // No path-like argument: one `other` target naming server and tool.
    let i = intent_from_tools_call(
        &json!({"name": "Get_Time"}),
        &ServerInfo::new("clock"),
        None,
        &CallContext::default(),
    )
    .unwrap();
    assert_eq!(i.tool_name(), "get_time");
    assert_eq!(i.targets()[0].value, "mcp://clock/get_time");

    // `paths` arrays give one target per path.
    let i = intent_from_tools_call(
        &json!({"name": "read_multiple_files", "arguments": {"paths": ["/a", "/b"]}}),
        &ServerInfo::new("fs"),
        None,
        &CallContext::default(),
    )
    .unwrap();
    assert_eq!(i.targets().len(), 2);

    for bad in [
        json!([]),
        json!({"name": 1}),
        json!({"name": "x", "arguments": "{}"}),
        json!({"name": " "}),
    ] {
        assert!(
            intent_from_tools_call(&bad, &ServerInfo::new("s"), None, &CallContext::default())
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn same_call_same_digest_across_adapters() {
    // One call, four envelopes: one intent.
    let a = adapted(
        Adapter::OpenAi,
        json!({"function": {"name": "tool.x", "arguments": {"k": "v"}}}),
    );
    let b = adapted(
        Adapter::Anthropic,
        json!({"name": "tool.x", "input": {"k": "v"}}),
    );
    let c = adapted(
        Adapter::LangChain,
        json!({"tool": "tool.x", "tool_input": {"k": "v"}}),
    );
    let d = adapted(Adapter::Mcp, json!({"name": "tool.x", "args": {"k": "v"}}));
    let digest = a.intent_digest();
    for i in [b, c, d] {
        assert_eq!(i.intent_digest(), digest);
    }
}

#[test]
fn mcp_protocol_combined_mapping() {
    use crate::adapters::mcp_protocol::{
        Hints, ListedTool, MAX_TARGET_VALUE, intent_from_tools_call_listed,
    };
    let mut server = ServerInfo::new("fs");
    server.server_name = "Files".into();
    server.server_version = "1.2.3".into();
    let listed = ListedTool::new(Hints::new(false, true, false, false)).with_pin("ab12", true);
    let long = "x".repeat(MAX_TARGET_VALUE + 1);
    // Member order does not change the intent; argument names are compared
    // lowercased; `files`, commands and URLs in path arguments count.
    let a = json!({"name": "Run", "arguments": {
        "CMD": "rm -rf /", "Files": ["/a", " "], "Path": "s3://b/k", "url": "https://e",
        "dir": long,
    }});
    let b = json!({"arguments": {
        "dir": long, "url": "https://e", "Path": "s3://b/k", "Files": ["/a", " "],
        "CMD": "rm -rf /",
    }, "name": "Run"});
    let ctx = CallContext::default();
    let ia = intent_from_tools_call_listed(&a, &server, Some(&listed), &ctx).unwrap();
    let ib = intent_from_tools_call_listed(&b, &server, Some(&listed), &ctx).unwrap();
    assert_eq!(ia.intent_digest(), ib.intent_digest());
    let expected = digest_of(&json!({
        "tool_name": "run",
        "args": {"CMD": "rm -rf /", "Files": ["/a", " "], "Path": "s3://b/k",
                 "url": "https://e", "dir": long},
        "targets": [
            {"kind": "url", "value": "s3://b/k", "discovery_method": "mcp", "destructive_hint": true},
            {"kind": "path", "value": "/a", "operation": "write", "discovery_method": "mcp", "destructive_hint": true},
            {"kind": "url", "value": "https://e", "discovery_method": "mcp", "destructive_hint": true},
            {"kind": "other", "value": "rm -rf /", "operation": "exec", "discovery_method": "mcp", "destructive_hint": true},
        ],
        "context": {"identity": "mcp-proxy", "workspace": ".", "risk_class": "high",
                    "auth_context": {"adapter": "mcp_protocol", "mcp_server_id": "fs",
                                     "mcp_server_name": "Files", "mcp_server_version": "1.2.3",
                                     "mcp_tool_listed": true, "mcp_tool_digest": "ab12",
                                     "mcp_tool_definition_changed": true}},
    }));
    assert_eq!(ia.intent_digest().to_hex(), expected);

    // An unlisted tool: no discovery method, no hints, not listed; the
    // run id is kept.
    let ctx = CallContext {
        run_id: "run-1".into(),
        ..CallContext::default()
    };
    let i = intent_from_tools_call_listed(
        &json!({"name": "x", "arguments": {"file": "/f"}}),
        &ServerInfo::default(),
        None,
        &ctx,
    )
    .unwrap();
    let expected = digest_of(&json!({
        "tool_name": "x", "args": {"file": "/f"},
        "targets": [{"kind": "path", "value": "/f", "operation": "write"}],
        "context": {"identity": "mcp-proxy", "workspace": ".", "risk_class": "high",
                    "run_id": "run-1",
                    "auth_context": {"adapter": "mcp_protocol", "mcp_server_id": "unknown",
                                     "mcp_tool_listed": false}},
    }));
    assert_eq!(i.intent_digest().to_hex(), expected);
}
