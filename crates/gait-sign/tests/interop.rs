//! Documents signed by the reference implementation verify with gait-sign,
//! and fail with the wrong key or when tampered with.
//!
//! The fixtures in `tests/data` are copies of files the reference binary
//! produced (traces, approval and delegation tokens, scenario tokens) and
//! the public keys that signed them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::PathBuf;

use gait_sign::{Approval, Delegation, Role, Trace, VerifyFailure, VerifyingKey};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn doc(name: &str) -> Value {
    let bytes = std::fs::read(data(name)).unwrap();
    gait_digest::canonical::parse_strict(&bytes).unwrap()
}

fn key<R: Role>(name: &str) -> VerifyingKey<R> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    VerifyingKey::from_public_text(&text, name).unwrap()
}

const TRACES: &[&str] = &[
    "trace_1.json",
    "trace_2.json",
    "trace_3.json",
    "trace_4.json",
    "trace_5.json",
];

#[test]
fn reference_traces_verify_with_the_trace_key() {
    let k = key::<Trace>("trace_public.key");
    for t in TRACES {
        let d = doc(t);
        k.verify_embedded(&d, "signature")
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        // The key id in the envelope is the key's id.
        assert_eq!(d["signature"]["key_id"], k.key_id().to_hex());
    }
}

#[test]
fn reference_traces_fail_with_the_wrong_key() {
    let wrong = key::<Trace>("other_public.key");
    let approval_key = key::<Trace>("approval_public.key");
    for t in TRACES {
        let d = doc(t);
        assert_eq!(
            wrong.verify_embedded(&d, "signature"),
            Err(VerifyFailure::KeyIdMismatch),
            "{t}"
        );
        assert_eq!(
            approval_key.verify_embedded(&d, "signature"),
            Err(VerifyFailure::KeyIdMismatch),
            "{t}"
        );
        // Even with the key id removed, the signature itself does not verify.
        let mut stripped = d.clone();
        stripped["signature"]["key_id"] = Value::String(String::new());
        assert_eq!(
            wrong.verify_embedded(&stripped, "signature"),
            Err(VerifyFailure::BadSignature),
            "{t}"
        );
    }
}

#[test]
fn reference_tokens_verify_with_the_approval_key() {
    let k = key::<Approval>("approval_public.key");
    for t in ["approval_token.json", "delegation_token.json"] {
        k.verify_embedded(&doc(t), "signature")
            .unwrap_or_else(|e| panic!("{t}: {e}"));
    }
    let wrong = key::<Approval>("other_public.key");
    assert_eq!(
        wrong.verify_embedded(&doc("approval_token.json"), "signature"),
        Err(VerifyFailure::KeyIdMismatch)
    );
}

#[test]
fn scenario_tokens_verify() {
    for s in ["approval-expiry-1s-past", "approval-token-valid"] {
        let k = key::<Approval>(&format!("scenario_{s}_approval_public.key"));
        assert_eq!(
            k.key_id().to_hex(),
            "8393424682c702d59a923d26924b2d4827711e6c585117077766645e22efeb52"
        );
        k.verify_embedded(
            &doc(&format!("scenario_{s}_approval-token.json")),
            "signature",
        )
        .unwrap_or_else(|e| panic!("{s}: {e}"));
        let wrong = key::<Approval>("other_public.key");
        assert!(
            wrong
                .verify_embedded(
                    &doc(&format!("scenario_{s}_approval-token.json")),
                    "signature"
                )
                .is_err()
        );
    }
    let k = key::<Delegation>("scenario_delegation-chain-depth-3_delegation_public.key");
    for i in 1..=3 {
        let name = format!("scenario_delegation-chain-depth-3_delegation-token-{i}.json");
        k.verify_embedded(&doc(&name), "signature")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let wrong = key::<Delegation>("trace_public.key");
        assert!(wrong.verify_embedded(&doc(&name), "signature").is_err());
    }
}

#[test]
fn tampered_reference_documents_fail() {
    let trace_key = key::<Trace>("trace_public.key");
    assert_eq!(
        trace_key.verify_embedded(&doc("trace_verdict_flipped.json"), "signature"),
        Err(VerifyFailure::SignedDigestMismatch)
    );
    let approval_key = key::<Approval>("approval_public.key");
    assert_eq!(
        approval_key.verify_embedded(&doc("approval_token_scope_widened.json"), "signature"),
        Err(VerifyFailure::SignedDigestMismatch)
    );
}

#[test]
fn a_forged_signed_digest_still_fails() {
    // Tamper with the document AND recompute signed_digest: the signature
    // no longer matches.
    let k = key::<Trace>("trace_public.key");
    let mut d = doc("trace_1.json");
    d["verdict"] = Value::String("block".into());
    let (signable, _) = gait_sign::split_embedded(&d, "signature").unwrap();
    d["signature"]["signed_digest"] = Value::String(gait_digest::digest_json(&signable).to_hex());
    assert_eq!(
        k.verify_embedded(&d, "signature"),
        Err(VerifyFailure::BadSignature)
    );
}

#[test]
fn missing_or_malformed_signature() {
    let k = key::<Trace>("trace_public.key");
    let mut d = doc("trace_1.json");
    d.as_object_mut().unwrap().remove("signature");
    assert_eq!(
        k.verify_embedded(&d, "signature"),
        Err(VerifyFailure::MissingSignature)
    );
    d["signature"] = Value::String("x".into());
    assert!(matches!(
        k.verify_embedded(&d, "signature"),
        Err(VerifyFailure::MalformedEnvelope(_))
    ));
    assert!(matches!(
        k.verify_embedded(&Value::Null, "signature"),
        Err(VerifyFailure::MalformedEnvelope(_))
    ));
}
