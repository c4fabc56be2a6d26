//! Arbitrary bytes verified as a PackSpec v1 pack (or a legacy runpack).
//!
//! `verify_pack_bytes` must never panic; a report that says the pack
//! verifies must list no missing, mismatched or undeclared file.

#![no_main]

use gait_pack::pack::{VerifyOptions, verify_pack_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = verify_pack_bytes(data, &VerifyOptions::default()) {
        if report.ok(false) {
            assert!(report.missing_files.is_empty());
            assert!(report.hash_mismatches.is_empty());
            assert!(report.undeclared_files.is_empty());
        }
    }
});
