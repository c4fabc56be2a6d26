//! Properties of intent normalization: it is idempotent, and the digest
//! does not depend on member order, target order or provenance order.

// clippy.toml's `allow-*-in-tests` covers `#[test]` bodies only; the helper
// functions of this test file may panic on malformed test data too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gait_policy::intent::Intent;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./:-]{1,12}",
        "[ \t]{0,2}[a-zA-Z0-9 ]{1,10}[ \u{a0}\u{3000}]{0,2}",
        Just("  Mixed Case  ".to_owned()),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-j]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn target() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["path", "URL", " host ", "other", "repo", "Queue"]),
        prop::sample::select(vec![
            "/tmp/a",
            " /tmp/b ",
            "https://API.example.com:443/x",
            "api.example.com:8080",
            "rm -rf /",
        ]),
        prop::sample::select(vec![
            "", "read", "WRITE", "delete", "exec", "resolve", "frob",
        ]),
        prop::sample::select(vec!["", "", "fs.read", "net.http", "proc.exec"]),
        prop::sample::select(vec!["", "mcp", "Dynamic-MCP", "static mcp"]),
        any::<[bool; 5]>(),
    )
        .prop_map(|(kind, value, op, class, discovery, flags)| {
            let mut t = Map::new();
            t.insert("kind".into(), kind.into());
            t.insert("value".into(), value.into());
            if !op.is_empty() {
                t.insert("operation".into(), op.into());
            }
            if !class.is_empty() {
                t.insert("endpoint_class".into(), class.into());
            }
            if !discovery.is_empty() {
                t.insert("discovery_method".into(), discovery.into());
            }
            for (name, flag) in [
                "destructive",
                "read_only_hint",
                "destructive_hint",
                "idempotent_hint",
                "open_world_hint",
            ]
            .into_iter()
            .zip(flags)
            {
                if flag {
                    t.insert(name.into(), true.into());
                }
            }
            Value::Object(t)
        })
}

fn provenance() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["$.a", " $.b", "$.c "]),
        prop::sample::select(vec!["user", "TOOL_OUTPUT", "external", "system"]),
        prop::option::of(prop::sample::select(vec!["ref-1", " ref-2 "])),
    )
        .prop_map(|(path, source, source_ref)| {
            let mut p = json!({"arg_path": path, "source": source});
            if let Some(r) = source_ref {
                p["source_ref"] = r.into();
            }
            p
        })
}

fn intent() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "tool.read",
            " Tool.Write ",
            "mcp/fs/delete",
            "tool.exec",
        ]),
        prop::collection::btree_map("[a-j]{1,6}", json_value(), 0..5),
        prop::collection::vec(target(), 0..5),
        prop::collection::vec(provenance(), 0..4),
        prop::option::of(prop::collection::vec(target(), 0..3)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(tool, args, targets, prov, step_targets, delegation, sandbox)| {
                let mut v = json!({
                    "schema_id": "gait.gate.intent_request",
                    "created_at": "2026-02-18T00:00:00Z",
                    "tool_name": tool,
                    "args": Value::Object(args.into_iter().collect()),
                    "targets": targets,
                    "arg_provenance": prov,
                    "context": {
                        "identity": " agent ", "workspace": "C:\\work", "risk_class": "High",
                        "credential_scopes": ["b", " a", "b"],
                        "auth_context": {"scope": " admin ", "context_age_seconds": 3},
                        "context_refs": ["r2", "r1"]
                    }
                });
                if let Some(steps) = step_targets {
                    v["script"] = json!({"steps": [
                        {"tool_name": "tool.read", "args": {"p": " x "}, "targets": steps},
                        {"tool_name": "Tool.Delete", "args": {}}
                    ]});
                }
                if delegation {
                    v["delegation"] = json!({
                        "requester_identity": "worker", "token_refs": ["t2", "t1"],
                        "chain": [{"delegator_identity": "lead", "delegate_identity": "worker",
                                   "issued_at": "2026-01-01T02:00:00+02:00"}]
                    });
                }
                if sandbox {
                    v["context"]["sandbox"] = json!({
                        "network_mode": "Disabled", "writable_paths": ["/tmp//x/", "/tmp/x", "."],
                        "evidence_ref": "sandbox:r1"
                    });
                }
                v
            },
        )
}

/// Serializes with object members in an order given by `seed` (not the
/// sorted order `serde_json` would use).
fn shuffled_text(value: &Value, seed: u64) -> String {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            let n = members.len().max(1) as u64;
            members.rotate_left((seed % n) as usize);
            if !seed.is_multiple_of(2) {
                members.reverse();
            }
            let parts: Vec<String> = members
                .into_iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).expect("key"),
                        shuffled_text(v, seed.wrapping_mul(31).wrapping_add(i as u64))
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, v)| shuffled_text(v, seed.wrapping_add(i as u64 + 7)))
                .collect();
            format!("[{}]", parts.join(","))
        }
        other => serde_json::to_string(other).expect("scalar"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn normalization_is_idempotent(v in intent()) {
        let first = Intent::from_value(&v).expect("valid intent");
        let text = serde_json::to_vec(&first.to_json()).expect("serialize");
        let second = Intent::from_json_slice(&text).expect("normalized intent parses");
        prop_assert_eq!(second.intent_digest(), first.intent_digest());
        prop_assert_eq!(second.args_digest(), first.args_digest());
        prop_assert_eq!(second.script_hash(), first.script_hash());
        prop_assert_eq!(&second, &first);
        // Preparing is idempotent too, and normalizing the prepared form
        // reproduces its digest.
        let prepared = first.prepared();
        prop_assert_eq!(prepared.prepared().intent_digest(), prepared.intent_digest());
        let text = serde_json::to_vec(&prepared.to_json()).expect("serialize");
        let reparsed = Intent::from_json_slice(&text).expect("prepared intent parses");
        prop_assert_eq!(reparsed.intent_digest(), prepared.intent_digest());
    }

    #[test]
    fn digest_ignores_member_order(v in intent(), seed in any::<u64>()) {
        let a = Intent::from_json_slice(&serde_json::to_vec(&v).expect("serialize")).expect("valid");
        let b = Intent::from_json_str(&shuffled_text(&v, seed)).expect("valid shuffled");
        prop_assert_eq!(a.intent_digest(), b.intent_digest());
        prop_assert_eq!(a.args_digest(), b.args_digest());
        prop_assert_eq!(a.script_hash(), b.script_hash());
    }

    #[test]
    fn digest_ignores_target_and_provenance_order(v in intent(), seed in any::<u64>()) {
        let a = Intent::from_value(&v).expect("valid");
        let mut w = v.clone();
        for key in ["targets", "arg_provenance"] {
            if let Some(items) = w[key].as_array_mut() {
                let n = items.len().max(1);
                items.rotate_left((seed as usize) % n);
                if seed.is_multiple_of(3) {
                    items.reverse();
                }
            }
        }
        let b = Intent::from_value(&w).expect("valid");
        prop_assert_eq!(a.intent_digest(), b.intent_digest());
        prop_assert_eq!(a.targets(), b.targets());
    }

    #[test]
    fn duplicated_targets_do_not_change_the_digest(v in intent()) {
        let a = Intent::from_value(&v).expect("valid");
        let mut w = v.clone();
        if let Some(items) = w["targets"].as_array_mut() {
            let copy = items.clone();
            items.extend(copy);
        }
        let b = Intent::from_value(&w).expect("valid");
        prop_assert_eq!(a.intent_digest(), b.intent_digest());
    }
}
