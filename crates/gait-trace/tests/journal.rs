//! The trace journal: durable appends, rotation, recovery of a torn tail,
//! offline verification that names deletion, reordering, duplication,
//! truncation and edits, group commit under concurrency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gait_policy::{Gate, Intent, Policy, Verdict};
use gait_sign::{SigningKey, Trace};
use gait_trace::journal::{JOURNAL_SCHEMA_ID, JournalError};
use gait_trace::{
    Guard, Journal, JournalOptions, JournalSink, ProblemKind, TraceRecord, verify_journal,
};
use proptest::prelude::*;

const HEADER_LEN: usize = 55;
const FRAME_OVERHEAD: usize = 80;

fn key() -> SigningKey<Trace> {
    SigningKey::from_seed(&[7; 32])
}

fn record(i: usize, pad: usize) -> Vec<u8> {
    let mut r = TraceRecord::new(
        &format!("tool.t{i}{}", "x".repeat(pad)),
        &"a".repeat(64),
        &format!("{:064x}", i),
        &"c".repeat(64),
        Verdict::Allow,
    );
    r.sign(&key()).unwrap();
    r.to_pretty_json()
}

fn small(segment: u64, every: u64) -> JournalOptions {
    JournalOptions::default()
        .with_segment_bytes(segment)
        .with_checkpoint_records(every)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("segment-")
        })
        .collect();
    v.sort();
    v
}

/// Reads the records of a journal by the documented format (not through
/// the library): header, then magic, seq, len, prev, payload, link.
fn read_payloads(dir: &Path) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for seg in segments(dir) {
        let bytes = std::fs::read(&seg).unwrap();
        assert!(bytes.starts_with(JOURNAL_SCHEMA_ID.as_bytes()));
        let mut at = HEADER_LEN;
        while at + 4 <= bytes.len() && &bytes[at..at + 4] == b"GJR\x01" {
            let seq = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap());
            let len = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()) as usize;
            let start = at + 48;
            if start + len + 32 > bytes.len() {
                break;
            }
            out.push((seq, bytes[start..start + len].to_vec()));
            at = start + len + 32;
        }
    }
    out
}

/// Frames of one segment: (offset, length) of each.
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at + 16 <= bytes.len() && &bytes[at..at + 4] == b"GJR\x01" {
        let len = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()) as usize;
        out.push((at, len + FRAME_OVERHEAD));
        at += len + FRAME_OVERHEAD;
    }
    out
}

/// A crash snapshot: the journal's files as they are on disk right now,
/// copied while the writer is still open (nothing flushed at close).
fn snapshot(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_owned();
        if name != "journal.lock" {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

fn kinds(dir: &Path) -> Vec<ProblemKind> {
    let report = verify_journal(dir, key().verifying_key()).unwrap();
    report.problems.iter().map(|p| p.kind).collect()
}

#[test]
fn appends_are_durable_and_verify_across_reopen_and_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = Journal::open(&dir, key(), small(4096, 3)).unwrap();
    assert_eq!(j.recovery().records, 0);
    let mut appended = Vec::new();
    for i in 0..12 {
        let bytes = record(i, i % 5);
        let a = j.append(&bytes).unwrap();
        assert_eq!(a.seq, i as u64);
        appended.push(bytes);
    }
    assert_eq!(j.record_count(), 12);
    j.close().unwrap();
    assert!(matches!(
        j.append(&record(99, 0)),
        Err(JournalError::Closed)
    ));
    drop(j);
    assert!(segments(&dir).len() > 1, "rotated at 4 KiB");
    let report = verify_journal(&dir, key().verifying_key()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, 12);
    assert_eq!(report.covered_records, 12);
    assert!(report.torn_tail.is_none());

    let j = Journal::open(&dir, key(), small(4096, 3)).unwrap();
    assert_eq!(j.recovery().records, 12);
    assert!(j.recovery().torn_tail.is_none());
    for i in 12..15 {
        let bytes = record(i, 0);
        assert_eq!(j.append(&bytes).unwrap().seq, i as u64);
        appended.push(bytes);
    }
    drop(j); // clean shutdown on drop
    let got: Vec<Vec<u8>> = read_payloads(&dir).into_iter().map(|(_, p)| p).collect();
    assert_eq!(got, appended);
    assert!(verify_journal(&dir, key().verifying_key()).unwrap().is_ok());
}

#[test]
fn one_writer_per_directory_and_bad_input_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let j = Journal::open(tmp.path(), key(), small(4096, 0)).unwrap();
    assert!(matches!(
        Journal::open(tmp.path(), key(), small(4096, 0)),
        Err(JournalError::Locked(_))
    ));
    assert!(matches!(j.append(b""), Err(JournalError::RecordSize(0))));
    assert!(matches!(
        Journal::open(tmp.path().join("x"), key(), small(10, 0)),
        Err(JournalError::Options(_))
    ));
}

#[test]
fn wrong_key_fails_signatures_and_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let j = Journal::open(tmp.path(), key(), small(1 << 16, 0)).unwrap();
    j.append(&record(1, 0)).unwrap();
    j.close().unwrap();
    drop(j);
    let other = SigningKey::<Trace>::from_seed(&[9; 32]);
    let report = verify_journal(tmp.path(), other.verifying_key()).unwrap();
    let k: HashSet<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
    assert!(k.contains(&ProblemKind::BadSignature));
    assert!(k.contains(&ProblemKind::BadCheckpoint));
    // The writer refuses to open with a key its checkpoints do not verify with.
    assert!(matches!(
        Journal::open(tmp.path(), other, small(1 << 16, 0)),
        Err(JournalError::Corrupt { .. })
    ));
}

#[test]
fn torn_tail_is_reported_and_cut_and_mid_segment_corruption_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let j = Journal::open(&live, key(), small(1 << 16, 0)).unwrap();
    for i in 0..4 {
        j.append(&record(i, 0)).unwrap();
    }
    let crashed = tmp.path().join("crashed");
    snapshot(&live, &crashed);
    drop(j);
    let seg = segments(&crashed).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let f = frames(&bytes);
    assert_eq!(f.len(), 4);
    assert!(bytes.len() > f[3].0 + f[3].1, "preallocated beyond the end");
    // A crash in the middle of the last record: cut 10 bytes into it.
    let (last_at, last_len) = f[3];
    let mut torn = bytes[..last_at + last_len - 10].to_vec();
    std::fs::write(&seg, &torn).unwrap();
    // Offline, before reopening: reported, not a problem.
    let report = verify_journal(&crashed, key().verifying_key()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, 3);
    assert_eq!(report.torn_tail.as_ref().unwrap().offset, last_at as u64);
    let j = Journal::open(&crashed, key(), small(1 << 16, 0)).unwrap();
    let tail = j.recovery().torn_tail.clone().unwrap();
    assert_eq!(tail.offset, last_at as u64);
    assert_eq!(tail.discarded_bytes, (last_len - 10) as u64);
    assert_eq!(j.recovery().records, 3);
    j.append(&record(10, 0)).unwrap();
    drop(j);
    let got = read_payloads(&crashed);
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].1, record(10, 0));
    assert!(
        verify_journal(&crashed, key().verifying_key())
            .unwrap()
            .is_ok()
    );

    // A bad record with a whole record after it is no torn tail.
    let crashed2 = tmp.path().join("crashed2");
    snapshot(&live, &crashed2);
    let seg = segments(&crashed2).pop().unwrap();
    torn = bytes.clone();
    torn[f[1].0 + 60] ^= 0x40;
    std::fs::write(&seg, &torn).unwrap();
    let err = Journal::open(&crashed2, key(), small(1 << 16, 0)).unwrap_err();
    assert!(
        matches!(&err, JournalError::Corrupt { offset, .. } if *offset == f[1].0 as u64),
        "{err}"
    );
    assert!(kinds(&crashed2).contains(&ProblemKind::Corrupted));
}

#[test]
fn truncation_before_the_last_checkpoint_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let j = Journal::open(tmp.path(), key(), small(1 << 16, 0)).unwrap();
    for i in 0..3 {
        j.append(&record(i, 0)).unwrap();
    }
    drop(j);
    let seg = segments(tmp.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let f = frames(&bytes);
    std::fs::write(&seg, &bytes[..f[2].0]).unwrap();
    let k = kinds(tmp.path());
    assert!(
        !k.is_empty() && k.iter().all(|k| *k == ProblemKind::Truncated),
        "{k:?}"
    );
    assert!(matches!(
        Journal::open(tmp.path(), key(), small(1 << 16, 0)),
        Err(JournalError::Corrupt { .. })
    ));
}

#[test]
fn deleted_segment_and_deleted_checkpoints_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let j = Journal::open(tmp.path(), key(), small(2048, 0)).unwrap();
    for i in 0..8 {
        j.append(&record(i, 0)).unwrap();
    }
    drop(j);
    let segs = segments(tmp.path());
    assert!(segs.len() >= 3);
    std::fs::remove_file(&segs[1]).unwrap();
    assert!(kinds(tmp.path()).contains(&ProblemKind::Truncated));
    std::fs::remove_file(tmp.path().join("checkpoints.jsonl")).unwrap();
    assert!(kinds(tmp.path()).contains(&ProblemKind::BadCheckpoint));
}

#[test]
fn concurrent_appends_are_all_present_once_and_chained() {
    let tmp = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(tmp.path(), key(), small(1 << 20, 64)).unwrap());
    let threads = 8;
    let each = 40;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let j = Arc::clone(&j);
            std::thread::spawn(move || {
                (0..each)
                    .map(|i| j.append(&record(t * 1000 + i, 0)).unwrap().seq)
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..(threads * each) as u64).collect::<Vec<_>>());
    let flushes = j.flushes();
    assert!(flushes >= 1 && flushes <= (threads * each) as u64);
    j.close().unwrap();
    drop(j);
    let report = verify_journal(tmp.path(), key().verifying_key()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, (threads * each) as u64);
    let got: HashSet<Vec<u8>> = read_payloads(tmp.path())
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let want: HashSet<Vec<u8>> = (0..threads)
        .flat_map(|t| (0..each).map(move |i| record(t * 1000 + i, 0)))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn journal_sink_records_what_the_guard_decides() {
    let tmp = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(tmp.path(), key(), small(1 << 16, 0)).unwrap());
    let gate = Gate::new(
        Policy::from_yaml_str(
            "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
        )
        .unwrap(),
    );
    let guard = Guard::new(
        gate,
        key(),
        Box::new(JournalSink::new(Arc::clone(&journal))),
    );
    let call = |tool: &str| {
        Intent::from_json_str(&format!(
            r#"{{"tool_name":"{tool}","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"}}}}"#
        ))
        .unwrap()
    };
    assert_eq!(guard.guard(&call("tool.read"), || 1), Ok(1));
    assert!(guard.guard(&call("tool.delete"), || 2).is_err());
    assert_eq!(journal.record_count(), 2);
    drop(guard);
    journal.close().unwrap();
    let report = verify_journal(tmp.path(), key().verifying_key()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.records, 2);
    let got = read_payloads(tmp.path());
    let verdicts: Vec<String> = got
        .iter()
        .map(|(_, p)| {
            let v: serde_json::Value = serde_json::from_slice(p).unwrap();
            v["verdict"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(verdicts, ["allow", "block"]);
}

/// The whole frames a cut at `cut` leaves in the last segment, counted
/// through the whole journal.
fn whole_after_cut(bytes: &[u8], cut: usize, first_seq: u64) -> u64 {
    first_seq
        + frames(bytes)
            .iter()
            .filter(|(at, len)| at + len <= cut)
            .count() as u64
}

fn last_checkpoint_count(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("checkpoints.jsonl")).unwrap_or_default();
    text.split_inclusive('\n')
        .rfind(|l| l.ends_with('\n'))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record_count"]
                .as_u64()
                .unwrap()
        })
        .unwrap_or(0)
}

#[derive(Debug, Clone)]
enum Tamper {
    Flip { file: usize, at: usize, bit: u8 },
    Delete(usize),
    Swap(usize, usize),
    Duplicate(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), any::<usize>(), 0u8..8).prop_map(|(file, at, bit)| Tamper::Flip {
            file,
            at,
            bit
        }),
        any::<usize>().prop_map(Tamper::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
        any::<usize>().prop_map(Tamper::Duplicate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Crash anywhere in the last segment (and in the last checkpoint
    /// line): reopening recovers exactly the whole records (a prefix of
    /// what was appended) when they cover the last signed checkpoint, and
    /// refuses to open otherwise; the recovered journal verifies.
    #[test]
    fn crash_at_any_offset_recovers_a_prefix(
        pads in proptest::collection::vec(0usize..40, 1..14),
        segment in prop_oneof![Just(1500u64), Just(1 << 16)],
        every in 0u64..4,
        cut in any::<prop::sample::Index>(),
        cp_cut in any::<prop::sample::Index>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let live = tmp.path().join("live");
        let j = Journal::open(&live, key(), small(segment, every)).unwrap();
        let appended: Vec<Vec<u8>> = pads.iter().enumerate().map(|(i, p)| record(i, *p)).collect();
        for r in &appended {
            j.append(r).unwrap();
        }
        let dir = tmp.path().join("crash");
        snapshot(&live, &dir);
        drop(j);
        let seg = segments(&dir).pop().unwrap();
        let bytes = std::fs::read(&seg).unwrap();
        let first_seq: u64 = std::str::from_utf8(&bytes[34..54]).unwrap().trim().parse().unwrap();
        let cut = HEADER_LEN + cut.index(bytes.len() - HEADER_LEN + 1);
        std::fs::write(&seg, &bytes[..cut]).unwrap();
        // Tear the last checkpoint line too, sometimes.
        let cps = std::fs::read(dir.join("checkpoints.jsonl")).unwrap();
        let last_line = cps[..cps.len() - 1].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        let cp_keep = last_line + cp_cut.index(cps.len() - last_line + 1);
        std::fs::write(dir.join("checkpoints.jsonl"), &cps[..cp_keep]).unwrap();

        let whole = whole_after_cut(&bytes, cut, first_seq);
        let covered = last_checkpoint_count(&dir);
        match Journal::open(&dir, key(), small(segment, every)) {
            Ok(j) => {
                prop_assert!(whole >= covered);
                prop_assert_eq!(j.recovery().records, whole);
                j.append(&record(500, 0)).unwrap();
                drop(j);
                let got: Vec<Vec<u8>> = read_payloads(&dir).into_iter().map(|(_, p)| p).collect();
                prop_assert_eq!(&got[..whole as usize], &appended[..whole as usize]);
                prop_assert_eq!(got.len() as u64, whole + 1);
                let report = verify_journal(&dir, key().verifying_key()).unwrap();
                prop_assert!(report.is_ok(), "{:?}", report.problems);
            }
            Err(e) => {
                prop_assert!(whole < covered, "whole {} covered {} {}", whole, covered, e);
                prop_assert!(matches!(e, JournalError::Corrupt { .. }), "{}", e);
            }
        }
    }

    /// Any one edited byte, deleted record, swapped pair or duplicated
    /// record of a cleanly closed journal is reported, by its kind.
    #[test]
    fn tampering_is_detected(
        pads in proptest::collection::vec(0usize..30, 2..10),
        segment in prop_oneof![Just(1500u64), Just(1 << 16)],
        t in tamper(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::open(tmp.path(), key(), small(segment, 0)).unwrap();
        for (i, p) in pads.iter().enumerate() {
            j.append(&record(i, *p)).unwrap();
        }
        j.close().unwrap();
        drop(j);
        prop_assert!(verify_journal(tmp.path(), key().verifying_key()).unwrap().is_ok());
        // All frames, by segment.
        let segs = segments(tmp.path());
        let mut all: Vec<(usize, usize, usize)> = Vec::new(); // (segment, at, len)
        for (s, p) in segs.iter().enumerate() {
            for (at, len) in frames(&std::fs::read(p).unwrap()) {
                all.push((s, at, len));
            }
        }
        let n = all.len();
        let expect: &[ProblemKind] = match t {
            Tamper::Flip { file, at, bit } => {
                let mut files = segs.clone();
                files.push(tmp.path().join("checkpoints.jsonl"));
                let f = &files[file % files.len()];
                let mut b = std::fs::read(f).unwrap();
                let at = at % b.len();
                b[at] ^= 1 << bit;
                std::fs::write(f, &b).unwrap();
                &[]
            }
            Tamper::Delete(i) => {
                let (s, at, len) = all[i % n];
                let mut b = std::fs::read(&segs[s]).unwrap();
                b.drain(at..at + len);
                std::fs::write(&segs[s], &b).unwrap();
                if i % n == n - 1 { &[ProblemKind::Truncated] } else { &[ProblemKind::Deleted, ProblemKind::Truncated] }
            }
            Tamper::Swap(a, b) => {
                let (a, b) = (a % n, b % n);
                let (a, b) = (a.min(b), a.max(b));
                prop_assume!(a != b && all[a].0 == all[b].0);
                let (s, at_a, len_a) = all[a];
                let (_, at_b, len_b) = all[b];
                let old = std::fs::read(&segs[s]).unwrap();
                let mut new = old[..at_a].to_vec();
                new.extend_from_slice(&old[at_b..at_b + len_b]);
                new.extend_from_slice(&old[at_a + len_a..at_b]);
                new.extend_from_slice(&old[at_a..at_a + len_a]);
                new.extend_from_slice(&old[at_b + len_b..]);
                std::fs::write(&segs[s], &new).unwrap();
                &[ProblemKind::Reordered]
            }
            Tamper::Duplicate(i) => {
                let (s, at, len) = all[i % n];
                let mut b = std::fs::read(&segs[s]).unwrap();
                let copy = b[at..at + len].to_vec();
                let end = frames(&b).last().map_or(HEADER_LEN, |(a, l)| a + l);
                let to = if i % 2 == 0 { end } else { at };
                b.splice(to..to, copy);
                std::fs::write(&segs[s], &b).unwrap();
                &[ProblemKind::Duplicated, ProblemKind::BadCheckpoint]
            }
        };
        let report = verify_journal(tmp.path(), key().verifying_key()).unwrap();
        prop_assert!(!report.is_ok(), "{:?} not detected", t);
        if !expect.is_empty() {
            prop_assert!(
                report.problems.iter().any(|p| expect.contains(&p.kind)),
                "{:?}: {:?}", t, report.problems
            );
            prop_assert!(
                report.problems.iter().all(|p| expect.contains(&p.kind) || matches!(p.kind, ProblemKind::ChainBroken | ProblemKind::Truncated)),
                "{:?}: {:?}", t, report.problems
            );
        }
    }
}
