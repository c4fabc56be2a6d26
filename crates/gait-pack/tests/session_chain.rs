//! Session chains: building, strict reading, and verification that catches
//! every broken link and every swapped or tampered checkpoint runpack.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};

use gait_digest::GoTime;
use gait_pack::runpack::{
    RunRecorder, SessionChain, VerifyOptions, checkpoint_digest, demo_input, verify_chain,
    verify_session_chain,
};
use proptest::prelude::*;

fn t(secs: i64) -> GoTime {
    GoTime::from_unix(1_770_249_600 + secs, 0)
}

/// Records checkpoint runpack `n` of run `run` into `dir`; returns its file
/// name and manifest digest.
fn checkpoint_runpack(dir: &Path, run: &str, n: usize) -> (String, String) {
    let mut input = demo_input("0.0.0-dev");
    let id = format!("{run}_cp_{n:04}");
    input.run.run_id.clone_from(&id);
    for i in &mut input.intents {
        i.run_id.clone_from(&id);
    }
    for r in &mut input.results {
        r.run_id.clone_from(&id);
    }
    input.refs.run_id.clone_from(&id);
    let rec = RunRecorder::new(input).record().unwrap();
    let name = format!("runpack_{id}.zip");
    std::fs::write(dir.join(&name), &rec.zip).unwrap();
    (name, rec.manifest.manifest_digest.clone())
}

/// A chain of `n` checkpoints (three events each) written into `dir`, with
/// runpack paths relative to `dir`.
fn build_chain(dir: &Path, n: usize) -> SessionChain {
    let mut chain = SessionChain::new("sess_1", "run_sess", "0.0.0-dev", t(0));
    for i in 1..=n {
        let (name, digest) = checkpoint_runpack(dir, "run_sess", i);
        let start = (i as i64 - 1) * 3 + 1;
        chain.push_checkpoint(&name, &digest, start, start + 2, t(i as i64));
    }
    chain
}

fn write_chain(dir: &Path, chain: &SessionChain) -> PathBuf {
    let path = dir.join("sess_chain.json");
    std::fs::write(&path, chain.to_json_bytes().unwrap()).unwrap();
    path
}

fn opts() -> VerifyOptions {
    VerifyOptions::new(None, false)
}

#[test]
fn built_chain_verifies_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_chain(dir.path(), 3);
    let path = write_chain(dir.path(), &chain);
    let report = verify_session_chain(&path, Some(dir.path()), &opts()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.checkpoints_checked, 3);
    assert_eq!(report.session_id, "sess_1");
    let again = SessionChain::read(&path).unwrap();
    assert_eq!(again, chain);
    assert_eq!(
        again.to_json_bytes().unwrap(),
        chain.to_json_bytes().unwrap()
    );
    // The first checkpoint has no predecessor; the second links to it.
    assert!(chain.checkpoints[0].prev_checkpoint_digest.is_empty());
    assert_eq!(
        chain.checkpoints[1].prev_checkpoint_digest,
        chain.checkpoints[0].checkpoint_digest
    );
}

#[test]
fn checkpoint_digest_formula() {
    // SHA-256 of "m:p:2:4:6".
    let d = checkpoint_digest("m", "p", 2, 4, 6);
    assert_eq!(d, gait_digest::sha256(b"m:p:2:4:6").to_hex());
    assert_eq!(d.len(), 64);
}

#[test]
fn broken_links_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_chain(dir.path(), 3);

    let mut dropped = chain.clone();
    dropped.checkpoints.remove(1);
    let r = verify_chain(&dropped, Some(dir.path()), &opts());
    assert!(
        r.linkage_errors
            .iter()
            .any(|e| e.contains("index mismatch")),
        "{r:?}"
    );
    assert!(
        r.linkage_errors
            .iter()
            .any(|e| e.contains("prev_checkpoint_digest"))
    );

    let mut overlap = chain.clone();
    overlap.checkpoints[2].sequence_start = 5;
    let r = verify_chain(&overlap, Some(dir.path()), &opts());
    assert!(
        r.linkage_errors
            .iter()
            .any(|e| e.contains("sequence overlap"))
    );
    assert!(
        r.linkage_errors
            .iter()
            .any(|e| e.contains("checkpoint_digest mismatch"))
    );

    let mut headless = chain.clone();
    headless.checkpoints.remove(0);
    let r = verify_chain(&headless, Some(dir.path()), &opts());
    assert!(!r.is_ok());

    let mut foreign = chain.clone();
    foreign.checkpoints[1].session_id = "other".into();
    let r = verify_chain(&foreign, Some(dir.path()), &opts());
    assert!(
        r.linkage_errors
            .iter()
            .any(|e| e.contains("another session"))
    );
}

#[test]
fn swapped_or_tampered_runpacks_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_chain(dir.path(), 2);

    // Checkpoint 2 pointing at checkpoint 1's runpack.
    let mut swapped = chain.clone();
    swapped.checkpoints[1]
        .runpack_path
        .clone_from(&chain.checkpoints[0].runpack_path);
    let r = verify_chain(&swapped, Some(dir.path()), &opts());
    assert!(
        r.checkpoint_errors
            .iter()
            .any(|e| e.contains("manifest digest mismatch"))
    );

    // A missing runpack.
    let mut missing = chain.clone();
    missing.checkpoints[0].runpack_path = "absent.zip".into();
    let r = verify_chain(&missing, Some(dir.path()), &opts());
    assert!(
        r.checkpoint_errors
            .iter()
            .any(|e| e.contains("verify error"))
    );

    // A runpack whose bytes changed.
    let p = dir.path().join(&chain.checkpoints[1].runpack_path);
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0x01;
    std::fs::write(&p, bytes).unwrap();
    let r = verify_chain(&chain, Some(dir.path()), &opts());
    assert!(!r.checkpoint_errors.is_empty(), "{r:?}");

    // Signatures required but the runpacks are unsigned.
    let r = verify_chain(
        &build_chain(dir.path(), 1),
        Some(dir.path()),
        &VerifyOptions::new(None, true),
    );
    assert!(r.checkpoint_errors.iter().any(|e| e.contains("signature")));
}

#[test]
fn strict_reading() {
    let dir = tempfile::tempdir().unwrap();
    let chain = build_chain(dir.path(), 1);
    let good = String::from_utf8(chain.to_json_bytes().unwrap()).unwrap();
    let cases = [
        ("not json", "{"),
        ("unknown field", &good.replacen("{", "{\"extra\":1,", 1)),
        ("duplicate", &good.replacen("{", "{\"run_id\":\"x\",", 1)),
        (
            "wrong schema",
            &good.replace("gait.runpack.session_chain", "gait.other"),
        ),
        (
            "no checkpoints",
            r#"{"created_at":"2026-01-01T00:00:00Z","session_id":"s","run_id":"r","checkpoints":[]}"#,
        ),
        (
            "no session",
            r#"{"created_at":"2026-01-01T00:00:00Z","run_id":"r","checkpoints":[]}"#,
        ),
        (
            "float index",
            &good.replace("\"checkpoint_index\": 1", "\"checkpoint_index\": 1.5"),
        ),
    ];
    for (name, text) in cases {
        assert!(
            SessionChain::parse(text.as_bytes()).is_err(),
            "{name} should be rejected"
        );
    }
    assert!(SessionChain::parse(good.as_bytes()).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Changing any linked number or digest of any checkpoint breaks
    /// verification.
    #[test]
    fn any_field_tamper_is_detected(n in 1usize..4, which in 0usize..6, pick in 0usize..8, delta in 1i64..5) {
        let dir = tempfile::tempdir().unwrap();
        let chain = build_chain(dir.path(), n);
        prop_assert!(verify_chain(&chain, Some(dir.path()), &opts()).is_ok());
        let mut bad = chain.clone();
        let cp = &mut bad.checkpoints[pick % n];
        match which {
            0 => cp.checkpoint_index += delta,
            1 => cp.sequence_start += delta,
            2 => cp.sequence_end += delta,
            3 => cp.manifest_digest = gait_digest::sha256(&delta.to_le_bytes()).to_hex(),
            4 => cp.checkpoint_digest = gait_digest::sha256(&delta.to_le_bytes()).to_hex(),
            _ => cp.prev_checkpoint_digest = gait_digest::sha256(&delta.to_le_bytes()).to_hex(),
        }
        prop_assert!(!verify_chain(&bad, Some(dir.path()), &opts()).is_ok());
    }
}
