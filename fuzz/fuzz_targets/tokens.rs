//! Arbitrary bytes as approval and delegation tokens.
//!
//! The first byte picks the kind; the rest is the token JSON. Decoding,
//! normalizing and validating (against a fixed key, time and binding)
//! must never panic. A token that decodes must decode again, to the same
//! token, from its own pretty JSON. A token whose signature does not come
//! from the fixed key must never validate.

#![no_main]

use gait_digest::GoTime;
use gait_policy::token::{
    ApprovalCheck, ApprovalToken, DelegationCheck, DelegationToken, validate_approval_token,
    validate_delegation_token,
};
use gait_sign::{Approval, Delegation, SigningKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((kind, json)) = data.split_first() else {
        return;
    };
    let now = GoTime::parse("2026-02-01T00:00:00Z").unwrap_or_default();
    if kind % 2 == 0 {
        let Ok(token) = ApprovalToken::from_json_slice(json) else {
            return;
        };
        let again = ApprovalToken::from_json_slice(&token.to_pretty_json());
        assert_eq!(again.ok().as_ref(), Some(&token));
        let key = SigningKey::<Approval>::from_seed(&[7; 32]);
        let check = ApprovalCheck {
            now,
            expected_intent_digest: "a".repeat(64),
            expected_policy_digest: "b".repeat(64),
            required_scope: vec!["tool:tool.write".to_owned()],
            target_count: 1,
            operation_count: 1,
            ..ApprovalCheck::default()
        };
        let verdict = validate_approval_token(&token, Some(key.verifying_key()), &check);
        assert!(verdict.is_err(), "a token the fuzzer made validated");
        let _ = validate_approval_token(&token, None, &check);
    } else {
        let Ok(token) = DelegationToken::from_json_slice(json) else {
            return;
        };
        let again = DelegationToken::from_json_slice(&token.to_pretty_json());
        assert_eq!(again.ok().as_ref(), Some(&token));
        let key = SigningKey::<Delegation>::from_seed(&[9; 32]);
        let check = DelegationCheck {
            now,
            expected_delegator: "agent.lead".to_owned(),
            expected_delegate: "agent.worker".to_owned(),
            required_scope: vec!["tool:tool.write".to_owned()],
            ..DelegationCheck::default()
        };
        let verdict = validate_delegation_token(&token, Some(key.verifying_key()), &check);
        assert!(verdict.is_err(), "a token the fuzzer made validated");
    }
});
