//! `Policy::to_yaml` on every valid policy fixture: the formatted text loads
//! back to an equal policy with the same digest, and formatting it again
//! changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};

use gait_policy::policy::Policy;
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy")
}

#[test]
fn every_valid_fixture_formats_to_the_same_digest() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir().join("digests.json")).unwrap())
            .unwrap();
    let valid = manifest["valid"].as_array().unwrap();
    assert!(valid.len() >= 30, "expected the reference selection");
    for entry in valid {
        let file = entry["file"].as_str().unwrap();
        let policy = Policy::from_path(&data_dir().join(file)).unwrap();
        let text = policy.to_yaml();
        let again = Policy::from_yaml_str(&text)
            .unwrap_or_else(|e| panic!("{file}: formatted text does not load: {e}\n{text}"));
        assert_eq!(again.digest(), policy.digest(), "{file}\n{text}");
        assert_eq!(
            again.digest().to_hex(),
            entry["policy_digest"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(again, policy, "{file}");
        assert_eq!(again.to_yaml(), text, "{file}: not idempotent");
        assert!(text.ends_with('\n'));
    }
}

#[test]
fn templates_format_to_the_same_digest() {
    for name in [
        "baseline-lowrisk",
        "baseline-mediumrisk",
        "baseline-highrisk",
    ] {
        let template = gait_policy::templates::resolve(name).unwrap();
        let policy = Policy::from_yaml_str(template.yaml).unwrap();
        let text = policy.to_yaml();
        let again = Policy::from_yaml_str(&text).unwrap();
        assert_eq!(again.digest(), policy.digest(), "{name}");
        assert_eq!(again.to_yaml(), text, "{name}");
    }
}
