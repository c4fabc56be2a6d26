//! `gait trace verify-journal DIR` (and `gait trace verify --journal DIR`)
//! on a journal written by the library, run as a real process: a clean
//! journal verifies (exit 0); a deleted, swapped or duplicated record, a
//! flipped byte and a truncated segment each exit 2 naming the problem and
//! its offset.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use gait_policy::Verdict;
use gait_sign::{SigningKey, Trace};
use gait_trace::{Journal, JournalOptions, TraceRecord};
use serde_json::Value;

fn key() -> SigningKey<Trace> {
    SigningKey::from_seed(&[3; 32])
}

/// A closed journal of `n` records in `root/j`, and the public key file.
fn journal(root: &Path, n: usize) -> (PathBuf, PathBuf) {
    let dir = root.join("j");
    let j = Journal::open(
        &dir,
        key(),
        JournalOptions::default().with_segment_bytes(1 << 16),
    )
    .unwrap();
    for i in 0..n {
        let mut r = TraceRecord::new(
            &format!("tool.t{i}"),
            &"a".repeat(64),
            &format!("{i:064x}"),
            &"c".repeat(64),
            Verdict::Allow,
        );
        r.sign(&key()).unwrap();
        j.append_trace(&r).unwrap();
    }
    j.close().unwrap();
    drop(j);
    let public = root.join("trace_public.key");
    std::fs::write(&public, key().verifying_key().to_public_text()).unwrap();
    (dir, public)
}

fn gait(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn verify_json(dir: &Path, public: &Path) -> (i32, Value) {
    let (code, text) = gait(&[
        "trace",
        "verify-journal",
        dir.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
        "--json",
    ]);
    (code, serde_json::from_str(text.trim()).unwrap())
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("segment-00000001.gjl")
}

/// (offset, length) of each frame of a segment (header 55 bytes; frame =
/// 48-byte head, payload, 32-byte link).
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 55;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()) as usize;
        out.push((at, len + 80));
        at += len + 80;
    }
    out
}

#[test]
fn clean_journal_verifies_both_spellings() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, public) = journal(tmp.path(), 3);
    let (code, v) = verify_json(&dir, &public);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["records"], 3);
    assert_eq!(v["covered_records"], 3);
    assert_eq!(v["problems"], Value::Array(vec![]));
    let (code, text) = gait(&[
        "trace",
        "verify",
        "--journal",
        dir.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(text.starts_with("trace journal verify ok:"), "{text}");
    assert!(text.contains("3 records"), "{text}");
}

#[test]
fn each_tampering_exits_2_with_kind_and_offset() {
    type Edit = fn(&mut Vec<u8>, &[(usize, usize)]);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "delete",
            |b, f| {
                b.drain(f[1].0..f[1].0 + f[1].1);
            },
            "deleted",
        ),
        (
            "swap",
            |b, f| {
                let second = b[f[2].0..f[2].0 + f[2].1].to_vec();
                b.drain(f[2].0..f[2].0 + f[2].1);
                b.splice(f[1].0..f[1].0, second);
            },
            "reordered",
        ),
        (
            "duplicate",
            |b, f| {
                let copy = b[f[0].0..f[0].0 + f[0].1].to_vec();
                b.extend_from_slice(&copy);
            },
            "duplicated",
        ),
        ("flip", |b, f| b[f[1].0 + 100] ^= 1, "corrupted"),
        ("truncate", |b, f| b.truncate(f[3].0), "truncated"),
    ];
    for (name, edit, kind) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, public) = journal(tmp.path(), 5);
        let mut bytes = std::fs::read(segment(&dir)).unwrap();
        let f = frames(&bytes);
        edit(&mut bytes, &f);
        std::fs::write(segment(&dir), &bytes).unwrap();
        let (code, v) = verify_json(&dir, &public);
        assert_eq!(code, 2, "{name}: {v}");
        assert_eq!(v["ok"], false, "{name}");
        let kinds: Vec<&str> = v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&kind), "{name}: {v}");
        assert!(v["first_bad_offset"].as_u64().is_some(), "{name}: {v}");
    }
    // Text mode names the kind and the byte.
    let tmp = tempfile::tempdir().unwrap();
    let (dir, public) = journal(tmp.path(), 3);
    let mut bytes = std::fs::read(segment(&dir)).unwrap();
    let f = frames(&bytes);
    bytes.drain(f[1].0..f[1].0 + f[1].1);
    std::fs::write(segment(&dir), &bytes).unwrap();
    let (code, text) = gait(&[
        "trace",
        "verify-journal",
        dir.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        text.contains(&format!(
            "deleted: {} at byte {}",
            segment(&dir).display(),
            f[1].0
        )),
        "{text}"
    );
}

#[test]
fn missing_directory_and_missing_key_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, public) = journal(tmp.path(), 1);
    let (code, v) = verify_json(&tmp.path().join("nope"), &public);
    assert_eq!(code, 6, "{v}");
    assert_eq!(v["ok"], false);
    let (code, _) = gait(&["trace", "verify-journal", dir.to_str().unwrap(), "--json"]);
    assert_ne!(code, 0);
    assert_ne!(code, 2);
}
