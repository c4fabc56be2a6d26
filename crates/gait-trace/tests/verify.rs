//! Trace verification against records the reference produced, and round
//! trips of records we produce.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::PathBuf;

use gait_sign::{SigningKey, Trace, VerifyingKey};
use gait_trace::{SignatureStatus, TraceRecord, verify_trace_bytes};
use proptest::prelude::*;

/// Reference-produced fixtures live beside gait-sign's tests.
fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-sign/tests/data")
        .join(name)
}

fn key(name: &str) -> VerifyingKey<Trace> {
    VerifyingKey::from_public_text(&std::fs::read_to_string(data(name)).unwrap(), name).unwrap()
}

#[test]
fn reference_traces_verify() {
    let k = key("trace_public.key");
    for (i, verdict) in [
        (1, "allow"),
        (2, "allow"),
        (3, "allow"),
        (4, "block"),
        (5, "block"),
    ] {
        let bytes = std::fs::read(data(&format!("trace_{i}.json"))).unwrap();
        let r = verify_trace_bytes(&bytes, &k).unwrap();
        assert_eq!(
            r.status,
            SignatureStatus::Verified,
            "trace_{i}: {:?}",
            r.error
        );
        assert_eq!(r.verdict, verdict);
        assert_eq!(
            r.key_id,
            "6aad9a06285a50ae11ff11d27b684957540ae4e54dafd7ca0ab6868141894f9d"
        );
        // The typed model round-trips the reference's record exactly.
        let typed: TraceRecord = serde_json::from_slice(&bytes).unwrap();
        let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), original, "trace_{i}");
        // And the ids are the derived ones.
        assert_eq!(
            typed.trace_id,
            gait_trace::trace_id(&typed.policy_digest, &typed.intent_digest, &typed.verdict)
        );
        assert_eq!(
            typed.event_id,
            gait_trace::event_id(&typed.trace_id, &typed.observed_at)
        );
    }
}

#[test]
fn wrong_key_and_tampering_fail() {
    let bytes = std::fs::read(data("trace_2.json")).unwrap();
    let r = verify_trace_bytes(&bytes, &key("other_public.key")).unwrap();
    assert_eq!(r.status, SignatureStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("key id mismatch"));
    let bytes = std::fs::read(data("trace_verdict_flipped.json")).unwrap();
    let r = verify_trace_bytes(&bytes, &key("trace_public.key")).unwrap();
    assert_eq!(r.status, SignatureStatus::Failed);
    assert_eq!(r.verdict, "allow");
    // An unsigned extra member is not tolerated.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("trace_1.json")).unwrap()).unwrap();
    doc["note"] = serde_json::Value::String("added later".into());
    let r =
        verify_trace_bytes(&serde_json::to_vec(&doc).unwrap(), &key("trace_public.key")).unwrap();
    assert_eq!(r.status, SignatureStatus::Failed);
}

#[test]
fn malformed_input_is_an_error_not_a_verdict() {
    let k = key("trace_public.key");
    for bad in [
        &b""[..],
        b"[]",
        b"{\"a\":1,\"a\":2}",
        b"{\"trace_id\":5}",
        b"{\"signature\":\"x\"}",
    ] {
        assert!(
            verify_trace_bytes(bad, &k).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let r = verify_trace_bytes(b"{\"trace_id\":\"t\",\"verdict\":\"allow\"}", &k).unwrap();
    assert_eq!(r.status, SignatureStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("trace signature missing"));
}

#[test]
fn written_traces_are_atomic_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let signer = SigningKey::<Trace>::generate().unwrap();
    let mut r = TraceRecord::new(
        "tool.read",
        &"a".repeat(64),
        &"b".repeat(64),
        &"c".repeat(64),
        gait_policy::Verdict::Allow,
    );
    r.sign(&signer).unwrap();
    let path = dir.path().join("out/trace.json");
    gait_trace::write_trace(&path, &r).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let report =
        verify_trace_bytes(&std::fs::read(&path).unwrap(), signer.verifying_key()).unwrap();
    assert_eq!(report.status, SignatureStatus::Verified);
    assert!(gait_trace::write_trace(std::path::Path::new("../escape.json"), &r).is_err());
}

proptest! {
    #[test]
    fn any_byte_flip_in_signed_content_is_detected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let signer = SigningKey::<Trace>::from_seed(&[1; 32]);
        let mut r = TraceRecord::new("tool.write", &"a".repeat(64), &"b".repeat(64), &"c".repeat(64), gait_policy::Verdict::Block);
        r.violations = vec!["destructive".into()];
        r.sign(&signer).unwrap();
        let original = r.to_pretty_json();
        let mut bytes = original.clone();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(report) = verify_trace_bytes(&bytes, signer.verifying_key()) {
            // Only the signed content must be tamper-evident: the envelope's
            // key_id is a hint, so a flip that merely drops it is no change
            // to what was signed, and whitespace is not content.
            let signed = |b: &[u8]| {
                serde_json::from_slice::<serde_json::Value>(b).ok().map(|mut v| {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("signature");
                    }
                    v
                })
            };
            let same = signed(&bytes) == signed(&original);
            prop_assert!(same || report.status == SignatureStatus::Failed, "flip at {}", i);
        }
    }
}
