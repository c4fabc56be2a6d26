//! Arbitrary bytes as a trace file a wrapped child pointed `gait enforce`
//! at (issue 13).
//!
//! `gait_trace::validate_trace_bytes` must never panic. Without a key, a
//! record that validates has one of the four verdicts and re-validates to
//! the same verdict; with a fixed key (a key no input can have signed
//! for), nothing the fuzzer makes may validate.

#![no_main]

use std::sync::LazyLock;

use gait_sign::{SigningKey, Trace};
use gait_trace::validate_trace_bytes;
use libfuzzer_sys::fuzz_target;

static KEY: LazyLock<SigningKey<Trace>> =
    LazyLock::new(|| SigningKey::<Trace>::from_seed(&[7; 32]));

fuzz_target!(|data: &[u8]| {
    if let Ok(valid) = validate_trace_bytes(data, None) {
        let again = validate_trace_bytes(data, None).expect("validation is deterministic");
        assert_eq!(valid.verdict, again.verdict);
    }
    assert!(
        validate_trace_bytes(data, Some(KEY.verifying_key())).is_err(),
        "a fuzzer input verified with a key nobody signed with"
    );
});
