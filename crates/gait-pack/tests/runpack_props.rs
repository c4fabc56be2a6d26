//! Properties: what is recorded verifies and reads back, recording is
//! deterministic, and any single-byte change to any entry is caught.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;

use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
use gait_pack::runpack::{
    CaptureMode, RecordInput, RunRecorder, VerifyOptions, read_runpack_from, verify_runpack,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        "[a-zA-Z0-9 éü<>&\"\\\\]{0,12}".prop_map(Value::from),
    ]
}

fn arb_map() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_]{1,6}", arb_scalar(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

prop_compose! {
    fn arb_input()(
        calls in prop::collection::vec(("[a-z.]{1,10}", arb_map(), arb_map(), any::<bool>()), 0..4),
        run_id in "run_[a-z0-9_-]{1,8}",
        secs in 0i64..4_000_000_000,
        raw in any::<bool>(),
    ) -> (Value, bool) {
        let intents: Vec<Value> = calls.iter().enumerate().map(|(i, (tool, args, _, _))| {
            json!({"intent_id": format!("intent_{i}"), "tool_name": tool, "args": args})
        }).collect();
        let results: Vec<Value> = calls.iter().enumerate().map(|(i, (_, _, result, ok))| {
            json!({"intent_id": format!("intent_{i}"), "status": if *ok {"ok"} else {"error"}, "result": result})
        }).collect();
        let receipts: Vec<Value> = (0..calls.len()).map(|i| json!({
            "ref_id": format!("trace_intent_{i}"), "source_type": "gait.trace",
            "source_locator": "trace.json", "redaction_mode": "reference"
        })).collect();
        let created = gait_digest::GoTime::from_unix(secs, 0).format();
        (json!({
            "run": {"run_id": run_id, "created_at": created, "env": {"os": "linux", "arch": "amd64", "runtime": "go"}},
            "intents": intents, "results": results, "refs": {"receipts": receipts}
        }), raw)
    }
}

fn record(v: &Value, raw: bool) -> Vec<u8> {
    let input = RecordInput::from_json(v.to_string().as_bytes()).unwrap();
    let mode = if raw {
        CaptureMode::Raw
    } else {
        CaptureMode::Reference
    };
    RunRecorder::new(input)
        .capture_mode(mode)
        .record()
        .unwrap()
        .zip
}

fn verifies(zip: &[u8]) -> bool {
    verify_runpack(Cursor::new(zip.to_vec()), &VerifyOptions::default())
        .is_ok_and(|r| r.is_ok(false))
}

fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = Archive::open(Cursor::new(zip.to_vec())).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, 1 << 24).unwrap();
            (n, d)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn record_verify_read_round_trip((v, raw) in arb_input()) {
        let zip = record(&v, raw);
        prop_assert!(verifies(&zip));
        let pack = read_runpack_from(Cursor::new(zip)).unwrap();
        let n = v["intents"].as_array().unwrap().len();
        prop_assert_eq!(pack.intents.len(), n);
        prop_assert_eq!(pack.results.len(), n);
        prop_assert_eq!(pack.refs.receipts.len(), n);
        prop_assert_eq!(&pack.run.run_id, v["run"]["run_id"].as_str().unwrap());
        for (i, intent) in pack.intents.iter().enumerate() {
            let args = &v["intents"][i]["args"];
            prop_assert_eq!(&intent.args_digest, &gait_digest::digest_json(args).to_hex());
            prop_assert_eq!(intent.args.is_some(), raw && !args.as_object().unwrap().is_empty());
        }
    }

    #[test]
    fn recording_is_deterministic((v, raw) in arb_input()) {
        prop_assert_eq!(record(&v, raw), record(&v, raw));
    }

    #[test]
    fn any_single_byte_change_in_any_entry_fails(
        (v, raw) in arb_input(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let zip = record(&v, raw);
        let mut files = entries(&zip);
        let candidates: Vec<usize> = (0..files.len()).filter(|&i| !files[i].1.is_empty()).collect();
        let f = candidates[which.index(candidates.len())];
        let data = &mut files[f].1;
        let pos = at.index(data.len());
        data[pos] ^= xor;
        let tampered = write_deterministic_to_vec(
            files.into_iter().map(|(n, d)| NewEntry::file(&n, d)).collect(),
        ).unwrap();
        prop_assert!(!verifies(&tampered));
    }

    #[test]
    fn zip_data_changes_never_alter_content_unnoticed(
        (v, raw) in arb_input(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        // Flip a byte inside some entry's compressed data: the CRC or the
        // inflater catches every change to the content. (A flip in the
        // ignored padding bits after a deflate stream's end changes no
        // content, and verifies, as it does for the reference.)
        let zip = record(&v, raw);
        let a = Archive::open(Cursor::new(zip.clone())).unwrap();
        let spans: Vec<(usize, usize)> = data_spans(&zip, a.entries().len());
        let total: usize = spans.iter().map(|(_, l)| l).sum();
        prop_assume!(total > 0);
        let mut k = at.index(total);
        let mut pos = 0;
        for (start, len) in spans {
            if k < len { pos = start + k; break; }
            k -= len;
        }
        let mut bad = zip.clone();
        bad[pos] ^= xor;
        if verifies(&bad) {
            prop_assert_eq!(entries(&bad), entries(&zip));
        }
    }
}

/// (offset, length) of each entry's compressed data, from its local header.
fn data_spans(zip: &[u8], count: usize) -> Vec<(usize, usize)> {
    let le16 = |at: usize| usize::from(u16::from_le_bytes([zip[at], zip[at + 1]]));
    let le32 =
        |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]) as usize;
    // The central directory gives compressed sizes and local offsets.
    let eocd = (0..zip.len() - 21)
        .rev()
        .find(|&i| zip[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    let mut at = le32(eocd + 16);
    let mut spans = Vec::new();
    for _ in 0..count {
        let csize = le32(at + 20);
        let (n, m, c) = (le16(at + 28), le16(at + 30), le16(at + 32));
        let local = le32(at + 42);
        let data = local + 30 + le16(local + 26) + le16(local + 28);
        spans.push((data, csize));
        at += 46 + n + m + c;
    }
    spans
}

#[test]
fn every_position_of_the_manifest_is_covered() {
    // Exhaustive over the manifest's positions for a few bit patterns (one
    // of them the ASCII case bit), on a signed and an unsigned runpack.
    let key = gait_sign::SigningKey::<gait_sign::Trace>::generate().unwrap();
    let input = || gait_pack::runpack::demo_input("0.0.0-dev");
    let unsigned = RunRecorder::new(input()).record().unwrap().zip;
    let signed = RunRecorder::new(input())
        .sign_with(&key)
        .record()
        .unwrap()
        .zip;
    for (zip, options, require) in [
        (unsigned, VerifyOptions::default(), false),
        // Renaming `signatures` leaves an unsigned runpack, which only
        // fails where a signature is required.
        (
            signed,
            VerifyOptions::new(Some(key.verifying_key().clone()), true),
            true,
        ),
    ] {
        let files = entries(&zip);
        // The other entries are covered by their SHA-256 (and by the
        // sampled property above); the manifest is the one whose text is
        // interpreted.
        for f in (0..files.len()).filter(|&f| files[f].0 == "manifest.json") {
            for pos in 0..files[f].1.len() {
                for xor in [0x01u8, 0x20, 0xff] {
                    let mut changed = files.clone();
                    changed[f].1[pos] ^= xor;
                    let tampered = write_deterministic_to_vec(
                        changed
                            .into_iter()
                            .map(|(n, d)| NewEntry::file(&n, d))
                            .collect(),
                    )
                    .unwrap();
                    let ok = verify_runpack(Cursor::new(tampered), &options)
                        .is_ok_and(|r| r.is_ok(require));
                    assert!(!ok, "{} byte {pos} ^ {xor:#x} still verifies", files[f].0);
                }
            }
        }
    }
}
