//! Properties of signing: sign → verify round trips, and any single-byte
//! change to the document or the signature is detected.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use base64::Engine as _;
use gait_sign::{SigningKey, Trace};
use proptest::prelude::*;

fn key(seed: [u8; 32]) -> SigningKey<Trace> {
    SigningKey::from_seed(&seed)
}

proptest! {
    #[test]
    fn sign_verify_round_trip(seed in any::<[u8; 32]>(), text in ".{0,64}", n in any::<i64>()) {
        let k = key(seed);
        let doc = serde_json::json!({"text": text, "n": n, "nested": {"b": [1, 2], "a": null}});
        let env = k.sign_value(&doc);
        prop_assert!(k.verifying_key().verify_value(&doc, &env).is_ok());
        // Deterministic: Ed25519 signatures do not depend on randomness.
        prop_assert_eq!(env, k.sign_value(&doc));
    }

    #[test]
    fn any_document_byte_flip_fails(seed in any::<[u8; 32]>(), text in "[a-z0-9 ]{1,40}", pos in any::<prop::sample::Index>(), bit in 0u8..7) {
        let k = key(seed);
        let doc = serde_json::json!({"text": text, "verdict": "allow"});
        let env = k.sign_value(&doc);
        let mut bytes = gait_digest::canonical::to_vec(&doc);
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // A flipped byte either breaks the JSON or changes the document.
        if let Ok(changed) = gait_digest::canonical::parse_strict(&bytes) {
            prop_assert!(k.verifying_key().verify_value(&changed, &env).is_err());
        }
    }

    #[test]
    fn any_signature_byte_flip_fails(seed in any::<[u8; 32]>(), pos in 0usize..64, bit in 0u8..8) {
        let k = key(seed);
        let doc = serde_json::json!({"a": 1});
        let mut env = k.sign_value(&doc);
        let mut sig = base64::engine::general_purpose::STANDARD.decode(&env.sig).unwrap();
        sig[pos] ^= 1 << bit;
        env.sig = base64::engine::general_purpose::STANDARD.encode(&sig);
        prop_assert!(k.verifying_key().verify_value(&doc, &env).is_err());
    }

    #[test]
    fn any_envelope_digest_change_fails(seed in any::<[u8; 32]>(), pos in 0usize..64) {
        let k = key(seed);
        let doc = serde_json::json!({"a": 1});
        let mut env = k.sign_value(&doc);
        let mut chars: Vec<char> = env.signed_digest.chars().collect();
        chars[pos] = if chars[pos] == '0' { '1' } else { '0' };
        env.signed_digest = chars.into_iter().collect();
        prop_assert!(k.verifying_key().verify_value(&doc, &env).is_err());
    }
}
