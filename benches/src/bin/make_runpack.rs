//! Writes a large raw-capture runpack for whole-process verify
//! measurements (see `docs/PERFORMANCE.md`, "Verify (issue 4)").
//!
//! `cargo run --release -p gait-benches --bin make_runpack -- OUT.zip [MB_PER_ENTRY] [RECORDS] [text|repetitive] [EXTRA_ENTRIES]`
//! (defaults: 86 MB per JSONL entry, 4,000 records each, `text`; see
//! [`gait_benches::Payload`]).

// A command-line tool: its output is printed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: make_runpack OUT.zip [MB_PER_ENTRY] [RECORDS] [text|repetitive]");
        return ExitCode::from(6);
    };
    let mb: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(86);
    let records: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4000);
    let kind = match args.get(3).map(String::as_str) {
        None | Some("text") => gait_benches::Payload::Text,
        Some("repetitive") => gait_benches::Payload::Repetitive,
        Some(other) => {
            eprintln!("unknown payload kind {other:?} (text or repetitive)");
            return ExitCode::from(6);
        }
    };
    let extra: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
    match gait_benches::raw_runpack_with_extras(mb * 1_000_000, records, kind, extra) {
        Ok(zip) => match std::fs::write(out, &zip) {
            Ok(()) => {
                println!("{out}: {} bytes", zip.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("write {out}: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("record: {e}");
            ExitCode::FAILURE
        }
    }
}
