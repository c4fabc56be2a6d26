//! Ambiguous JSON input is refused at every decoding boundary of the
//! library: member names of one object that differ only in letter case, and
//! integers an IEEE double cannot hold exactly (beyond ±(2^53 − 1)).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use gait_policy::adapters::mcp_protocol::{self, ListedTool};
use gait_policy::adapters::{
    Adapter, AdapterError, CallContext, ServerInfo, decode_tool_call, decode_tool_call_value,
    intent_from_payload,
};
use gait_policy::intent::{Intent, IntentError};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const CTX: &str = r#""context":{"identity":"a","workspace":"/w","risk_class":"high"}"#;

fn intent_text(body: &str) -> String {
    format!(r#"{{{body},{CTX}}}"#)
}

/// Decodes `text` through the three intent entry points; all must fail
/// with the same error.
fn intent_err(text: &str) -> IntentError {
    let from_slice = Intent::from_json_slice(text.as_bytes()).unwrap_err();
    let from_str = Intent::from_json_str(text).unwrap_err();
    assert_eq!(from_slice, from_str);
    let value: Value = serde_json::from_str(text).unwrap();
    let from_value = Intent::from_value(&value).unwrap_err();
    assert_eq!(
        std::mem::discriminant(&from_slice),
        std::mem::discriminant(&from_value),
        "{from_slice} / {from_value}"
    );
    assert_eq!(from_slice.path(), from_value.path());
    from_slice
}

fn case_variant(err: &IntentError) -> (&str, &str, &str) {
    match err {
        IntentError::CaseVariantMembers {
            path,
            first,
            second,
        } => (path, first, second),
        other => panic!("expected a case-variant error, got {other}"),
    }
}

#[test]
fn intent_refuses_case_variant_tool_name() {
    // Go-style decoding would decide `tool.read`; an exact-key reader runs
    // `tool.write`.
    let text = intent_text(r#""tool_name":"tool.write","TOOL_NAME":"tool.read","args":{}"#);
    let err = intent_err(&text);
    let (path, first, second) = case_variant(&err);
    assert_eq!(path, "intent");
    // Document order for bytes; both names are always named.
    assert_eq!((first, second), ("tool_name", "TOOL_NAME"));
    let message = err.to_string();
    assert!(
        message.contains("tool_name") && message.contains("TOOL_NAME"),
        "{message}"
    );
    // Go's other foldings select the field too.
    let err = intent_err(
        r#"{"tool_name":"tool.write","context":{"identity":"a","workspace":"/w",
            "risk_class":"high","ri\u017fk_class":"low"}}"#,
    );
    assert_eq!(case_variant(&err).0, "context");
    // A single case variant is not ambiguous and still selects the field.
    let intent = Intent::from_json_str(&intent_text(r#""TOOL_NAME":"tool.read""#)).unwrap();
    assert_eq!(intent.tool_name(), "tool.read");
}

#[test]
fn intent_refuses_case_variant_members_at_every_depth() {
    for (body, path) in [
        (
            r#""tool_name":"t","args":{"path":"/a","PATH":"/b"}"#,
            "args",
        ),
        (
            r#""tool_name":"t","args":{"x":{"deep":[{"Mode":"r","mode":"w"}]}}"#,
            "args.x.deep[0]",
        ),
        (
            r#""tool_name":"t","targets":[{"kind":"path","value":"/a","Value":"/b"}]"#,
            "targets[0]",
        ),
        (
            r#""tool_name":"t","arg_provenance":[{"arg_path":"$.a","source":"user","Source":"external"}]"#,
            "arg_provenance[0]",
        ),
        (
            r#""script":{"steps":[{"tool_name":"a","Tool_Name":"b"}]}"#,
            "script.steps[0]",
        ),
        (
            r#""script":{"steps":[{"tool_name":"a","args":{"id":1,"ID":2}}]}"#,
            "script.steps[0].args",
        ),
        (
            r#""tool_name":"t","delegation":{"requester_identity":"r","Requester_Identity":"s"}"#,
            "delegation",
        ),
        (r#""tool_name":"t","Context":{}"#, "intent"),
        (r#""tool_name":"t","unknown":{"a":1,"A":2}"#, "unknown"),
    ] {
        let err = intent_err(&intent_text(body));
        assert_eq!(case_variant(&err).0, path, "{body}");
    }
    let err = intent_err(
        r#"{"tool_name":"t","context":{"identity":"a","workspace":"/w","risk_class":"high",
            "auth_context":{"tenant":"x","TENANT":"y"}}}"#,
    );
    assert_eq!(case_variant(&err).0, "context.auth_context");
    let err = intent_err(
        r#"{"tool_name":"t","context":{"identity":"a","IDENTITY":"b","workspace":"/w","risk_class":"high"}}"#,
    );
    assert_eq!(case_variant(&err).0, "context");
}

fn imprecise(err: &IntentError) -> (&str, &str) {
    match err {
        IntentError::ImpreciseInteger { path, literal } => (path, literal),
        other => panic!("expected an imprecise-integer error, got {other}"),
    }
}

#[test]
fn intent_refuses_integers_beyond_2_pow_53() {
    // Both rounded to one double: they shared one intent digest, so one
    // approval authorised both.
    for account in ["12345678901234567", "12345678901234568"] {
        let text = intent_text(&format!(
            r#""tool_name":"bank.transfer","args":{{"to_account":{account}}}"#
        ));
        let err = intent_err(&text);
        assert_eq!(imprecise(&err), ("args.to_account", account));
        let message = err.to_string();
        assert!(
            message.starts_with("args.to_account: ") && message.contains("string"),
            "{message}"
        );
    }
    for (body, path) in [
        (r#""tool_name":"t","args":{"n":9007199254740992}"#, "args.n"),
        (
            r#""tool_name":"t","args":{"n":-9007199254740992}"#,
            "args.n",
        ),
        (
            r#""tool_name":"t","args":{"ids":[1,18446744073709551615]}"#,
            "args.ids[1]",
        ),
        (
            r#""script":{"steps":[{"tool_name":"a","args":{"n":-9223372036854775808}}]}"#,
            "script.steps[0].args.n",
        ),
        (r#""tool_name":"t","extra":99999999999999999"#, "extra"),
    ] {
        let err = intent_err(&intent_text(body));
        assert_eq!(imprecise(&err).0, path, "{body}");
    }
    let err = intent_err(
        r#"{"tool_name":"t","context":{"identity":"a","workspace":"/w","risk_class":"high",
            "auth_context":{"account":10000000000000001}}}"#,
    );
    assert_eq!(imprecise(&err).0, "context.auth_context.account");
    // Beyond u64 the parser holds the literal as a double: still refused
    // from text (a value built in memory holds a double, a float).
    let text = intent_text(r#""tool_name":"t","args":{"n":123456789012345678901234}"#);
    let err = Intent::from_json_slice(text.as_bytes()).unwrap_err();
    assert_eq!(imprecise(&err), ("args.n", "123456789012345678901234"));
}

#[test]
fn intent_keeps_safe_integers_and_doubles() {
    for n in [
        "9007199254740991",
        "-9007199254740991",
        "0",
        "-0",
        "12345678901234567.0",
        "1.2345678901234567e16",
        "1e300",
        "123456789012345678901234.5",
    ] {
        let text = intent_text(&format!(r#""tool_name":"t","args":{{"n":{n}}}"#));
        assert!(Intent::from_json_str(&text).is_ok(), "{n}");
    }
    let text = intent_text(r#""tool_name":"t","args":{"to_account":"12345678901234567"}"#);
    let a = Intent::from_json_str(&text).unwrap();
    let b = Intent::from_json_str(&text.replace("567\"", "568\"")).unwrap();
    assert_ne!(a.intent_digest(), b.intent_digest());
}

fn payloads_with(args: &str) -> Vec<(Adapter, String)> {
    let escaped = serde_json::to_string(args).unwrap();
    vec![
        (
            Adapter::Mcp,
            format!(r#"{{"name":"tool.read","args":{args}}}"#),
        ),
        (
            Adapter::OpenAi,
            format!(r#"{{"function":{{"name":"tool.read","arguments":{args}}}}}"#),
        ),
        (
            Adapter::OpenAi,
            format!(r#"{{"function":{{"name":"tool.read","arguments":{escaped}}}}}"#),
        ),
        (
            Adapter::Anthropic,
            format!(r#"{{"type":"tool_use","name":"tool.read","input":{args}}}"#),
        ),
        (
            Adapter::LangChain,
            format!(r#"{{"tool":"tool.read","tool_input":{args}}}"#),
        ),
        (
            Adapter::LangChain,
            format!(r#"{{"tool":"tool.read","tool_input":{escaped}}}"#),
        ),
        (
            Adapter::ClaudeCode,
            format!(r#"{{"tool_name":"Read","tool_input":{args}}}"#),
        ),
        (
            Adapter::ClaudeCode,
            format!(r#"{{"tool_name":"Read","tool_input":{escaped}}}"#),
        ),
    ]
}

fn adapter_err(adapter: Adapter, payload: &str) -> IntentError {
    match decode_tool_call(adapter, payload.as_bytes()) {
        Err(AdapterError::Intent(e)) => e,
        other => panic!("{payload}: expected an intent error, got {other:?}"),
    }
}

#[test]
fn adapters_refuse_case_variant_members() {
    for (adapter, payload) in payloads_with(r#"{"path":"/a","Path":"/b"}"#) {
        let err = adapter_err(adapter, &payload);
        let (path, first, second) = case_variant(&err);
        assert!(path.ends_with("arguments") || path.ends_with("args") || path.ends_with("input"));
        assert_eq!(
            [first, second]
                .iter()
                .filter(|n| n.eq_ignore_ascii_case("path"))
                .count(),
            2
        );
        assert!(intent_from_payload(adapter, payload.as_bytes()).is_err());
        // Already parsed (serve, `mcp proxy --call`, the hook).
        let value: Value = serde_json::from_str(&payload).unwrap();
        assert!(
            matches!(
                decode_tool_call_value(adapter, &value),
                Err(AdapterError::Intent(IntentError::CaseVariantMembers { .. }))
            ),
            "{payload}"
        );
    }
    // The envelope itself: the adapter reads `name`, Go reads `NAME`.
    for (adapter, payload, path) in [
        (
            Adapter::Mcp,
            r#"{"name":"tool.read","NAME":"tool.write"}"#,
            "tool call",
        ),
        (
            Adapter::Mcp,
            r#"{"name":"tool.read","context":{"identity":"a","Identity":"b"}}"#,
            "context",
        ),
        (
            Adapter::OpenAi,
            r#"{"function":{"name":"tool.read","Name":"tool.write"}}"#,
            "function",
        ),
        (
            Adapter::Anthropic,
            r#"{"name":"tool.read","input":{},"INPUT":{"path":"/etc"}}"#,
            "tool call",
        ),
        (
            Adapter::ClaudeCode,
            r#"{"tool_name":"Read","Tool_Name":"Bash"}"#,
            "tool call",
        ),
    ] {
        let err = adapter_err(adapter, payload);
        assert_eq!(case_variant(&err).0, path, "{payload}");
    }
}

#[test]
fn adapters_refuse_imprecise_integers() {
    for (adapter, payload) in payloads_with(r#"{"to_account":12345678901234567}"#) {
        let err = adapter_err(adapter, &payload);
        let (path, literal) = imprecise(&err);
        assert!(path.ends_with(".to_account"), "{path}");
        assert_eq!(literal, "12345678901234567");
    }
    // Beyond u64, from the text.
    let err = adapter_err(
        Adapter::Mcp,
        r#"{"name":"t","args":{"n":[1.5,-123456789012345678901234]}}"#,
    );
    assert_eq!(imprecise(&err), ("args.n[1]", "-123456789012345678901234"));
    // Doubles are kept.
    let ok = r#"{"name":"t","args":{"n":1.2345678901234567e16,"m":12345678901234567.0}}"#;
    assert!(intent_from_payload(Adapter::Mcp, ok.as_bytes()).is_ok());
}

#[test]
fn mcp_protocol_refuses_ambiguous_tools_call() {
    let server = ServerInfo::new("fs");
    let ctx = CallContext::default();
    let ok = json!({"name": "read_file", "arguments": {"path": "/tmp/a"}});
    assert!(mcp_protocol::intent_from_tools_call(&ok, &server, None, &ctx).is_ok());
    for (params, expect_path) in [
        (
            json!({"name": "read_file", "arguments": {"path": "/tmp/a", "PATH": "/etc/shadow"}}),
            "params.arguments",
        ),
        (
            json!({"name": "read_file", "NAME": "delete_file", "arguments": {}}),
            "params",
        ),
        (
            json!({"name": "transfer", "arguments": {"to_account": 12_345_678_901_234_567_u64}}),
            "params.arguments.to_account",
        ),
    ] {
        let err = mcp_protocol::intent_from_tools_call(&params, &server, None, &ctx).unwrap_err();
        let listed = ListedTool::new(mcp_protocol::Hints::default());
        let err2 =
            mcp_protocol::intent_from_tools_call_listed(&params, &server, Some(&listed), &ctx)
                .unwrap_err();
        assert_eq!(err, err2);
        match err {
            AdapterError::Intent(e) => assert_eq!(e.path(), Some(expect_path), "{params}"),
            other => panic!("{params}: {other:?}"),
        }
    }
}

/// Flips the case of every ASCII letter.
fn flip_case(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn free_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-z0-9 /._-]{0,8}".prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z][a-z_]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn free_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z][a-z_0-9]{0,8}", free_value(), 1..6)
        .prop_map(|m| m.into_iter().collect())
}

/// Inserts `key: value` as the last member of the object `text` (which
/// ends with `}`).
fn append_member(text: &str, key: &str, value: &Value) -> String {
    let body = text.strip_suffix('}').unwrap();
    let sep = if body.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    format!("{body}{sep}{}:{value}}}", Value::from(key))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any object, adding a case-variant copy of one of its keys makes
    /// decoding fail, wherever the object sits: its args, its context, the
    /// intent itself (a copy of `args`), or a tool-call payload's
    /// arguments.
    #[test]
    fn adding_a_case_variant_key_makes_decoding_fail(
        object in free_object(),
        pick in any::<prop::sample::Index>(),
        copy in free_value(),
        place in 0u8..4,
    ) {
        let key = pick.get(&object.keys().collect::<Vec<_>>()).to_string();
        let variant = flip_case(&key);
        let args = Value::Object(object.clone());
        let base = json!({
            "tool_name": "tool.read",
            "args": args,
            "context": {"identity": "a", "workspace": "/w", "risk_class": "high",
                        "auth_context": args},
        });
        // Without the copy, the object is fine everywhere.
        prop_assert!(Intent::from_value(&base).is_ok());
        let text = serde_json::to_string(&args).unwrap();
        let with_copy = append_member(&text, &variant, &copy);
        let text_ok = serde_json::to_string(&base).unwrap();
        let (bad, path) = match place {
            0 => (text_ok.replacen(&format!("\"args\":{text}"), &format!("\"args\":{with_copy}"), 1), "args"),
            1 => (text_ok.replacen(&format!("\"auth_context\":{text}"), &format!("\"auth_context\":{with_copy}"), 1), "context.auth_context"),
            2 => (append_member(&text_ok, "ARGS", &copy), "intent"),
            _ => {
                let payload = format!(r#"{{"name":"tool.read","args":{with_copy}}}"#);
                let err = decode_tool_call(Adapter::Mcp, payload.as_bytes()).unwrap_err();
                prop_assert!(
                    matches!(&err, AdapterError::Intent(IntentError::CaseVariantMembers { path, .. }) if path == "args"),
                    "{:?}", err
                );
                return Ok(());
            }
        };
        let (key, variant) = if place == 2 {
            ("args".to_owned(), "ARGS".to_owned())
        } else {
            (key, variant)
        };
        let err = Intent::from_json_slice(bad.as_bytes()).unwrap_err();
        match &err {
            IntentError::CaseVariantMembers { path: p, first, second } => {
                prop_assert_eq!(p.as_str(), path);
                prop_assert_eq!(first.as_str(), key.as_str());
                prop_assert_eq!(second.as_str(), variant.as_str());
            }
            other => prop_assert!(false, "{} → {}", bad, other),
        }
        let value: Value = serde_json::from_str(&bad).unwrap();
        let is_case_variant = matches!(
            Intent::from_value(&value),
            Err(IntentError::CaseVariantMembers { .. })
        );
        prop_assert!(is_case_variant);
    }
}

#[test]
fn wide_integer_literals_in_request_text_are_refused() {
    use gait_policy::adapters::refuse_wide_integer_literals;
    let body = br#"{"call":{"name":"t","args":{"ids":["123456789012345678901234",-123456789012345678901234]}}}"#;
    // The parsed value holds a double: the value check cannot see it.
    let value: Value = serde_json::from_slice(body).unwrap();
    assert!(decode_tool_call_value(Adapter::Mcp, &value["call"]).is_ok());
    match refuse_wide_integer_literals(body) {
        Err(AdapterError::Intent(e)) => assert_eq!(
            imprecise(&e),
            ("call.args.ids[1]", "-123456789012345678901234")
        ),
        other => panic!("{other:?}"),
    }
    assert!(refuse_wide_integer_literals(br#"{"n":18446744073709551615}"#).is_err());
    // Digits in strings, doubles, 64-bit integers and invalid text pass.
    for ok in [
        &br#"{"id":"123456789012345678901234"}"#[..],
        br#"{"n":1234567890123456789012.5}"#,
        br#"{"n":1.234567890123456789012e21}"#,
        br#"{"n":9007199254740991}"#,
        br#"{"n":12345678901234567890123"#,
    ] {
        assert!(
            refuse_wide_integer_literals(ok).is_ok(),
            "{}",
            String::from_utf8_lossy(ok)
        );
    }
}
