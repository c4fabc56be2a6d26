//! Policy digests against the reference, and rejection of invalid policies.
//!
//! `tests/data/policy/digests.json` lists:
//! * `valid`: policy files copied from the reference project's examples and
//!   scenarios, with the `policy_digest` the reference recorded for them (in
//!   its differential corpus and interop artifacts);
//! * `invalid`: policies that must be rejected, with the error's kind,
//!   field and position.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: helpers panic on malformed test data"
)]

use std::path::{Path, PathBuf};

use gait_policy::policy::{Policy, PolicyError};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(data_dir().join("digests.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn entries<'a>(manifest: &'a Value, section: &str) -> &'a [Value] {
    manifest[section]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn kind(err: &PolicyError) -> &'static str {
    match err {
        PolicyError::Io { .. } => "io",
        PolicyError::TooLarge { .. } => "too_large",
        PolicyError::NotUtf8 { .. } => "not_utf8",
        PolicyError::Syntax { .. } => "syntax",
        PolicyError::DuplicateKey { .. } => "duplicate_key",
        PolicyError::LegacyFields { .. } => "legacy_fields",
        PolicyError::UnknownField { .. } => "unknown_field",
        PolicyError::WrongType { .. } => "wrong_type",
        PolicyError::Invalid { .. } => "invalid",
        _ => "other",
    }
}

#[test]
fn reference_policies_digest_like_the_reference() {
    let manifest = manifest();
    let valid = entries(&manifest, "valid");
    assert!(valid.len() >= 30, "expected the reference selection");
    let mut mismatches = Vec::new();
    for entry in valid {
        let file = entry["file"].as_str().unwrap();
        let want = entry["policy_digest"].as_str().unwrap();
        let path = data_dir().join(file);
        match Policy::from_path(&path) {
            Ok(policy) => {
                if policy.digest().to_hex() != want {
                    mismatches.push(format!(
                        "{file}: got {} want {want}\n  projection: {}",
                        policy.digest(),
                        policy.projection()
                    ));
                }
                // The same text through the string entry point.
                let text = std::fs::read_to_string(&path).unwrap();
                assert_eq!(Policy::from_yaml_str(&text).unwrap(), policy, "{file}");
            }
            Err(err) => mismatches.push(format!("{file}: {err}")),
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn invalid_policies_are_rejected_with_field_and_position() {
    let manifest = manifest();
    let invalid = entries(&manifest, "invalid");
    assert!(invalid.len() >= 20);
    for entry in invalid {
        let file = entry["file"].as_str().unwrap();
        let path = data_dir().join(file);
        let err = match Policy::from_path(&path) {
            Ok(p) => panic!("{file} should be rejected, got digest {}", p.digest()),
            Err(err) => err,
        };
        assert_eq!(
            kind(&err),
            entry["error"].as_str().unwrap(),
            "{file}: {err}"
        );
        assert_eq!(err.field(), entry["field"].as_str(), "{file}: {err}");
        let position = (
            entry["line"].as_u64().unwrap(),
            entry["column"].as_u64().unwrap(),
        );
        assert_eq!(err.position(), Some(position), "{file}: {err}");
        assert_eq!(err.path(), Some(path.as_path()), "{file}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{}:{}:{}: ",
                path.display(),
                position.0,
                position.1
            )),
            "{text}"
        );
        let needle = entry["message_contains"].as_str().unwrap();
        assert!(text.contains(needle), "{file}: {text:?} lacks {needle:?}");
    }
}

#[test]
fn rules_come_out_in_evaluation_order() {
    let manifest = manifest();
    for entry in entries(&manifest, "valid") {
        let file = entry["file"].as_str().unwrap();
        let policy = Policy::from_path(&data_dir().join(file)).unwrap();
        for pair in policy.rules().windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                (a.priority, a.name.as_bytes()) <= (b.priority, b.name.as_bytes()),
                "{file}: {} before {}",
                a.name,
                b.name
            );
        }
    }
}

#[test]
fn when_conditions_change_the_digest_only_when_present() {
    // A reference policy whose rule lines end with `match:` blocks we can
    // extend: adding `when` to one rule must change the digest, and a null
    // `when` must not.
    let path = data_dir().join("reference/scenarios/policy-block-destructive/policy.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let original = Policy::from_yaml_str(&text).unwrap();
    let indent = text
        .lines()
        .find_map(|l| l.strip_suffix("match:").filter(|p| p.trim().is_empty()))
        .expect("a block `match:` line")
        .to_owned();
    let with = |value: &str| {
        text.replacen(
            &format!("{indent}match:\n"),
            &format!("{indent}match:\n{indent}  when: {value}\n"),
            1,
        )
    };
    let null_when = Policy::from_yaml_str(&with("~")).unwrap();
    assert_eq!(null_when.digest(), original.digest());
    let cel = Policy::from_yaml_str(&with("\"intent.context.risk_class == 'high'\"")).unwrap();
    assert_ne!(cel.digest(), original.digest());
    let conditioned: Vec<_> = cel
        .rules()
        .iter()
        .filter_map(|r| r.selector.when.as_deref())
        .collect();
    assert_eq!(conditioned, ["intent.context.risk_class == 'high'"]);
}
