//! Arbitrary bytes through the strict, bounded zip reader.
//!
//! `Archive::open` must never panic; when it accepts the input, every
//! entry can be read (with a small limit) and streamed through SHA-256
//! without a panic, and a successful read returns exactly the declared
//! size.

#![no_main]

use std::io::Cursor;

use gait_pack::archive::{Archive, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_entry_bytes = 1 << 20;
    limits.max_total_bytes = 4 << 20;
    let Ok(mut archive) = Archive::open_with(Cursor::new(data), limits) else {
        return;
    };
    let _ = archive.duplicates();
    let entries: Vec<(String, u64)> = archive
        .entries()
        .iter()
        .map(|e| (e.name.clone(), e.size))
        .collect();
    for (name, size) in entries {
        assert!(gait_pack::archive::is_safe_name(&name));
        if let Ok(bytes) = archive.read(&name, 64 << 10) {
            // With duplicate names the lookup may find the other copy.
            if archive.duplicates().is_empty() {
                assert_eq!(bytes.len() as u64, size);
            }
        }
        let _ = archive.sha256(&name);
    }
});
