//! Adapters are deterministic and agree with each other: the same call in
//! any envelope gives the same intent digest, and decoding never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use gait_policy::adapters::{Adapter, intent_from_payload};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arg_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9 /._-]{0,12}".prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn args() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z][a-z_]{0,8}", arg_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn envelopes_agree_and_are_deterministic(tool in "[a-z]{1,6}\\.[a-z]{1,6}", a in args()) {
        let args = Value::Object(a.clone());
        let payloads = [
            (Adapter::Mcp, json!({"name": tool, "args": args})),
            (Adapter::OpenAi, json!({"function": {"name": tool, "arguments": args.to_string()}})),
            (Adapter::OpenAi, json!({"function": {"name": tool, "arguments": args}})),
            (Adapter::Anthropic, json!({"type": "tool_use", "name": tool, "input": args})),
            (Adapter::LangChain, json!({"tool": tool, "tool_input": args})),
        ];
        let mut digests = Vec::new();
        for (adapter, p) in &payloads {
            let bytes = p.to_string();
            let first = intent_from_payload(*adapter, bytes.as_bytes());
            let second = intent_from_payload(*adapter, bytes.as_bytes());
            match (first, second) {
                (Ok(x), Ok(y)) => {
                    prop_assert_eq!(x.intent_digest(), y.intent_digest());
                    digests.push(Some(x.intent_digest()));
                }
                (Err(x), Err(y)) => {
                    prop_assert_eq!(x.to_string(), y.to_string());
                    digests.push(None);
                }
                _ => prop_assert!(false, "nondeterministic result"),
            }
        }
        prop_assert!(digests.windows(2).all(|w| w[0] == w[1]), "{:?}", digests);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for adapter in [Adapter::Mcp, Adapter::OpenAi, Adapter::Anthropic, Adapter::LangChain, Adapter::ClaudeCode] {
            let _ = intent_from_payload(adapter, &bytes);
        }
    }
}
