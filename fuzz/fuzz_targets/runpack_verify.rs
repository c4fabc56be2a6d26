//! Arbitrary bytes verified as a runpack.
//!
//! `verify_runpack` over a `Cursor` must never panic; it either reports or
//! fails with a classified error. A report that says the runpack verifies
//! must list no missing, mismatched or undeclared file.

#![no_main]

use std::io::Cursor;

use gait_pack::runpack::{VerifyOptions, verify_runpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = verify_runpack(Cursor::new(data), &VerifyOptions::default()) {
        if report.is_ok(false) {
            assert!(report.missing_files.is_empty());
            assert!(report.hash_mismatches.is_empty());
            assert!(report.undeclared_files.is_empty());
        }
    }
});
