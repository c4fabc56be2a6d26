//! Digests of intents taken from the reference project, compared with the
//! digests the reference reported for them (`tests/data/intent/`).

// clippy.toml's `allow-*-in-tests` covers `#[test]` bodies only; the helper
// functions of this test file may panic on malformed test data too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use gait_policy::intent::Intent;
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/intent")
}

fn fixtures() -> Vec<Value> {
    let text = std::fs::read(data_dir().join("expected_digests.json")).expect("expected digests");
    let doc: Value = serde_json::from_slice(&text).expect("expected digests JSON");
    doc["fixtures"].as_array().expect("fixtures").clone()
}

fn load(fixture: &Value) -> (String, Intent) {
    let file = fixture["file"].as_str().expect("file").to_owned();
    let bytes = std::fs::read(data_dir().join(&file)).expect("fixture file");
    match Intent::from_json_slice(&bytes) {
        Ok(intent) => (file, intent),
        Err(e) => panic!("{file}: {e}"),
    }
}

#[test]
fn prepared_intent_digests_match_the_reference() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 40,
        "fixture set shrank: {}",
        fixtures.len()
    );
    let mut mismatches = Vec::new();
    for fixture in &fixtures {
        let (file, intent) = load(fixture);
        let prepared = intent.prepared();
        let got = prepared.intent_digest().to_hex();
        if fixture["intent_digest"].as_str() != Some(got.as_str()) {
            mismatches.push(format!(
                "{file}: got {got}, want {}",
                fixture["intent_digest"]
            ));
        }
        // None of these fixtures carries context-evidence claims, so the
        // normalized and the prepared digests agree.
        assert_eq!(intent.intent_digest(), prepared.intent_digest(), "{file}");
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn args_digests_and_script_hashes_match_the_reference() {
    let mut checked = (0, 0);
    for fixture in fixtures() {
        let (file, intent) = load(&fixture);
        if let Some(want) = fixture["args_digest"].as_str() {
            assert_eq!(intent.args_digest().to_hex(), want, "{file}");
            checked.0 += 1;
        }
        if let Some(want) = fixture["script_hash"].as_str() {
            assert_eq!(
                intent.script_hash().map(|h| h.to_hex()).as_deref(),
                Some(want),
                "{file}"
            );
            checked.1 += 1;
        }
    }
    assert_eq!(checked, (6, 2));
}

#[test]
fn script_fixtures_have_hashes_and_singles_do_not() {
    for fixture in fixtures() {
        let (file, intent) = load(&fixture);
        assert_eq!(intent.is_script(), intent.script_hash().is_some(), "{file}");
        assert_eq!(intent.is_script(), intent.tool_name() == "script", "{file}");
    }
}

#[test]
fn normalized_form_round_trips() {
    for fixture in fixtures() {
        let (file, intent) = load(&fixture);
        let json = intent.to_json();
        let text = serde_json::to_vec(&json).expect("serialize");
        let again = Intent::from_json_slice(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(again, intent, "{file}");
        let from_value = Intent::from_value(&json).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(from_value.intent_digest(), intent.intent_digest(), "{file}");
    }
}
