//! Arbitrary text through the RFC 3339 parser.
//!
//! `GoTime::parse` must never panic. When it accepts the input, formatting
//! the result and parsing that again must give the same time and the same
//! text.

#![no_main]

use gait_digest::GoTime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(time) = GoTime::parse(text) else {
        return;
    };
    let formatted = time.format();
    let back = GoTime::parse(&formatted).expect("formatted time must parse");
    assert_eq!(back, time, "{text:?} -> {formatted:?}");
    assert_eq!(back.format(), formatted);
    assert_eq!(back.unix_nanos(), time.unix_nanos());
});
