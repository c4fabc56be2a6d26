//! Arbitrary bytes through the strict parser and canonicalizer.
//!
//! `canonical::from_slice` must never panic, and must agree with the
//! `serde_json::Value` path (`parse_strict` then `to_vec`) on every input,
//! errors included. When it accepts the input, its output must be UTF-8
//! JSON that re-canonicalizes to itself.

#![no_main]

use gait_digest::canonical;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let result = canonical::from_slice(data);
    let via_value = canonical::parse_strict(data).map(|v| canonical::to_vec(&v));
    assert_eq!(
        result, via_value,
        "from_slice and parse_strict+to_vec disagree"
    );
    let Ok(canon) = result else {
        return;
    };
    assert!(
        std::str::from_utf8(&canon).is_ok(),
        "canonical output is not UTF-8"
    );
    let again = canonical::from_slice(&canon).expect("canonical output must re-parse strictly");
    assert_eq!(again, canon, "canonical output is not a fixed point");
    let value: serde_json::Value =
        serde_json::from_slice(&canon).expect("canonical output must parse as JSON");
    assert_eq!(canonical::to_vec(&value), canon, "value round trip differs");
});
