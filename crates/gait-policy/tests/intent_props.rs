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

use gait_digest::{canonical, digest_json};
use gait_policy::intent::{Intent, IntentError};
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

/// Free-form text that exercises canonical string escaping and UTF-16 key
/// order (a BMP character above the surrogates against a supplementary one).
fn tricky_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[a\u{1}\"\\\\\n\t\u{7f}é\u{e000}\u{fb33}\u{1F600} ]{0,8}",
    ]
}

fn tricky_value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        tricky_text().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e30f64..1.0e30).prop_map(Value::from),
        prop::sample::select(vec![0.0, -0.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308])
            .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    scalar.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-c\u{e000}\u{1F600}]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn digest_hex() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[0-9a-fA-F]{64}")
}

fn time() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "2026-01-01T00:00:00Z",
        "2026-01-01T05:00:00.123456789+05:00",
        "2027-06-30T12:00:00Z",
    ]))
}

fn optional_str(choices: Vec<&'static str>) -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(choices))
}

/// Every plain string field of the context.
const CONTEXT_STRING_FIELDS: [&str; 20] = [
    "agent_id",
    "run_id",
    "workflow_id",
    "repo",
    "environment",
    "job_id",
    "session_id",
    "request_id",
    "credential_ref",
    "credential_issuer",
    "credential_subject",
    "credential_owner",
    "credential_target_binding",
    "credential_run_binding",
    "credential_job_binding",
    "approval_ref",
    "wrkr_inventory_ref",
    "agent_action_bom_ref",
    "environment_fingerprint",
    "identity",
];

/// An intent with every optional part possibly present.
fn rich_intent() -> impl Strategy<Value = Value> {
    let skill = prop::option::of((
        tricky_text(),
        prop::option::of(text()),
        digest_hex(),
        prop::option::of(text()),
    ));
    let delegation = prop::option::of((
        prop::collection::vec(text(), 0..3),
        optional_str(vec!["Write", "read"]),
        time(),
        any::<bool>(),
    ));
    let agent_identity = prop::option::of((
        prop::collection::vec(text(), 0..3),
        digest_hex(),
        time(),
        any::<bool>(),
        prop::option::of(tricky_text()),
    ));
    let sandbox = prop::option::of((
        optional_str(vec!["disabled", "Full", "egress_allowlist"]),
        optional_str(vec!["none", "allowlist"]),
        optional_str(vec!["container", "workspace"]),
        optional_str(vec!["root", "unprivileged"]),
        0i64..100_000,
        digest_hex(),
        prop::collection::vec("/[a-c]{1,3}", 0..3),
    ));
    let context = (
        prop::collection::btree_map(
            prop::sample::select(CONTEXT_STRING_FIELDS.to_vec()),
            tricky_text(),
            0..8,
        ),
        prop::collection::btree_map("[a-c]{1,3}", tricky_value(), 0..3),
        digest_hex(),
        optional_str(vec!["best_effort", "required"]),
        optional_str(vec!["env", "stub", "github_oidc"]),
        optional_str(vec!["jit", "standing"]),
        0i64..1_000_000_000_000,
        optional_str(vec!["plan", "apply"]),
    );
    (
        (
            intent(),
            prop::collection::btree_map("[a-c\u{e000}\u{1F600}é]{1,3}", tricky_value(), 0..5),
        ),
        skill,
        delegation,
        agent_identity,
        sandbox,
        context,
    )
        .prop_map(|((mut v, args), skill, delegation, agent, sandbox, ctx)| {
            v["args"] = Value::Object(args.into_iter().collect());
            if let Some((name, version, digest, key)) = skill {
                let mut s = json!({"skill_name": name, "source": "Registry", "publisher": "p"});
                if let Some(x) = version {
                    s["skill_version"] = x.into();
                }
                if let Some(x) = digest {
                    s["digest"] = x.into();
                }
                if let Some(x) = key {
                    s["signature_key_id"] = x.into();
                }
                v["skill_provenance"] = s;
            }
            if let Some((tokens, scope, issued, two_links)) = delegation {
                let chain = if two_links {
                    json!([{"delegator_identity": "root", "delegate_identity": "lead",
                            "scope_class": "W", "token_ref": "t"},
                           {"delegator_identity": "lead", "delegate_identity": "worker"}])
                } else {
                    json!([])
                };
                let mut d = json!({"requester_identity": "worker", "token_refs": tokens,
                                   "chain": chain});
                if let Some(x) = scope {
                    d["scope_class"] = x.into();
                }
                if let Some(x) = issued {
                    d["issued_at"] = x.into();
                }
                v["delegation"] = d;
            }
            let c = &mut v["context"];
            if let Some((states, digest, issued, revoked, owner)) = agent {
                let mut a = json!({"lifecycle_states": states, "revoked": revoked});
                if let Some(x) = digest {
                    a["manifest_digest"] = x.into();
                }
                if let Some(x) = issued {
                    a["issued_at"] = x.into();
                }
                if let Some(x) = owner {
                    a["owner"] = x.into();
                }
                c["agent_identity"] = a;
            }
            if let Some((network, env, fs, user, timeout, digest, paths)) = sandbox {
                let mut s = json!({"timeout_seconds": timeout, "read_only_roots": paths});
                for (key, value) in [
                    ("network_mode", network),
                    ("env_exposure_mode", env),
                    ("filesystem_isolation", fs),
                    ("user_mode", user),
                ] {
                    if let Some(x) = value {
                        s[key] = x.into();
                    }
                }
                if let Some(x) = digest {
                    s["evidence_digest"] = x.into();
                }
                c["sandbox"] = s;
            }
            let (strings, auth, set_digest, mode, source, access, ttl, phase) = ctx;
            for (key, value) in strings {
                c[key] = value.into();
            }
            for (key, value) in auth {
                c["auth_context"][key] = value;
            }
            if let Some(x) = set_digest {
                c["context_set_digest"] = x.into();
            }
            for (key, value) in [
                ("context_evidence_mode", mode),
                ("credential_source", source),
                ("credential_access_type", access),
                ("phase", phase),
            ] {
                if let Some(x) = value {
                    c[key] = x.into();
                }
            }
            c["credential_ttl_seconds"] = ttl.into();
            v
        })
}

/// Asserts that the digests computed by the direct canonical writer equal
/// the canonical SHA-256 of the `Value` projection.
fn check_direct_digests(intent: &Intent) -> Result<(), TestCaseError> {
    let projection = intent.digest_projection();
    prop_assert_eq!(intent.intent_digest(), digest_json(&projection));
    prop_assert_eq!(
        intent.args_digest(),
        digest_json(&Value::Object(intent.args().clone()))
    );
    prop_assert_eq!(
        intent.script_hash(),
        projection.get("script").map(digest_json)
    );
    Ok(())
}

/// JSON text derived from an intent: sometimes with a member repeated (as
/// written or spelled with an escape), cut short, or with bytes changed.
fn intent_text() -> impl Strategy<Value = Vec<u8>> {
    (
        intent(),
        any::<u64>(),
        prop::collection::vec(
            (
                0u8..6,
                any::<usize>(),
                prop::sample::select(b"{}[]\":,\\ ue9x0-.\xff".to_vec()),
            ),
            0..3,
        ),
    )
        .prop_map(|(v, seed, edits)| {
            let mut text = shuffled_text(&v, seed).into_bytes();
            for (op, pos, byte) in edits {
                let at = pos % (text.len() + 1);
                match op {
                    0 => {
                        if let Some(b) = text.get_mut(at) {
                            *b = byte;
                        }
                    }
                    1 => text.insert(at, byte),
                    2 => text.truncate(at),
                    // A repeated member, the same name or an escaped one.
                    3 => {
                        let member: &[u8] = if byte < 0x60 {
                            br#""tool_name":"x","#
                        } else {
                            br#""\u0074ool_name":"x","#
                        };
                        if let Some(i) = text.iter().position(|b| *b == b'{') {
                            text.splice(i + 1..i + 1, member.iter().copied());
                        }
                    }
                    4 => {
                        // Repeat the last member of the first nested object.
                        if let Some(i) = text.iter().skip(1).position(|b| *b == b'{') {
                            text.splice(i + 2..i + 2, br#""identity":"y","#.iter().copied());
                        }
                    }
                    _ => text.extend_from_slice(b" x"),
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn direct_digest_writer_equals_projection_digest(v in rich_intent(), seed in any::<u64>()) {
        let Ok(intent) = Intent::from_value(&v) else {
            // Free text can make an intent invalid (a secret-looking value,
            // say); those have no digests.
            return Ok(());
        };
        check_direct_digests(&intent)?;
        check_direct_digests(&intent.prepared())?;
        let evidence = intent.with_context_evidence(
            gait_digest::sha256(b"x"),
            gait_policy::intent::ContextEvidenceMode::Required,
            ["r2".to_owned(), "r1".to_owned()],
            seed as i64 % 1000,
        );
        check_direct_digests(&evidence)?;
        // The text path gives the same intent.
        let text = shuffled_text(&v, seed);
        let parsed = Intent::from_json_str(&text).expect("valid text");
        prop_assert_eq!(&parsed, &intent);
    }

    #[test]
    fn single_pass_parse_accepts_exactly_what_parse_strict_accepts(bytes in intent_text()) {
        let result = Intent::from_json_slice(&bytes);
        match canonical::parse_strict(&bytes) {
            Err(strict) => match result {
                Err(IntentError::Json { message }) => prop_assert_eq!(message, strict.to_string()),
                other => prop_assert!(false, "parse_strict failed ({strict}) but got {other:?}"),
            },
            Ok(value) => {
                prop_assert!(
                    !matches!(result, Err(IntentError::Json { .. })),
                    "parse_strict accepted but got {result:?}"
                );
                // Same input, same outcome through the value (no member
                // here selects a field twice with different spellings
                // unless edited in, which `from_value` orders differently).
                if let (Ok(a), Ok(b)) = (&result, Intent::from_value(&value)) {
                    let text = String::from_utf8_lossy(&bytes);
                    if !text.contains("\\u0074") && !text.contains("\"x\"") {
                        prop_assert_eq!(a.intent_digest(), b.intent_digest());
                    }
                }
            }
        }
    }
}
