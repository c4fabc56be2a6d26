//! Wrappers: `gait test | enforce | trace -- <child…>`.
//!
//! A wrapper runs an agent process that is already Gait-aware (it asks the
//! gate itself, through `gait gate eval` or a library, before every tool
//! call) and checks the evidence it leaves. The wrapper intercepts
//! nothing: the child *announces* each signed trace by printing a line
//! `trace_path=<file>` (and may announce runpacks with `runpack_path=`);
//! the wrapper reads each announced trace, validates it with
//! [`gait_trace::validate_trace_bytes`] (the trace crate's own checks, and
//! its signature check when a key is given), counts the verdicts, and
//! turns the whole run into a [`WrapReport`] with an [`Outcome`].
//!
//! # Modes
//!
//! * [`Mode::Test`] and [`Mode::Trace`] observe: the child's exit code is
//!   the outcome, verdicts are only counted, invalid traces are warnings.
//! * [`Mode::Enforce`] fails closed: no trace reference at all, any
//!   invalid trace (unreadable, malformed, a case-variant member name, a
//!   padded or unknown verdict, a signature that does not verify with the
//!   given key), or a reference the scanner could not take in is never a
//!   success; `block` and `dry_run` give 3, `require_approval` 4.
//!
//! # The child
//!
//! Started directly (no shell) in `cwd`, with the parent's environment
//! plus `GAIT_WRAPPER_MODE=<mode>`, empty stdin, and its own process
//! group. Both output streams are read as they arrive, scanned for
//! references, and kept up to a byte budget each
//! ([`WrapOptions::max_output_bytes`]). At the deadline the whole group
//! gets SIGTERM, and SIGKILL after a grace period; the wrapper never waits
//! without a bound.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use gait_wrap::{Mode, Outcome, WrapOptions, run};
//!
//! let argv = vec!["./agent.sh".to_owned()];
//! let report = run(&WrapOptions::new(Mode::Enforce, argv).timeout(Duration::from_secs(60)));
//! match report.outcome {
//!     Outcome::Ok => println!("every traced call was allowed"),
//!     other => println!("refused: exit {}", other.code()),
//! }
//! ```

#![deny(unreachable_pub)]

mod child;
mod error;
mod report;
mod scan;

pub use error::WrapError;
pub use report::{
    BOUNDARY_CONTRACT, FailureReason, INVALID_TRACE_ERROR, MISSING_TRACE_ERROR, Mode, Outcome,
    VerdictCount, WrapOptions, WrapReport, parse_timeout, run,
};
pub use scan::{MAX_LINE_BYTES, MAX_REFERENCES, ScanProblem};

/// The environment variable that tells the child which mode wraps it.
pub const MODE_ENV: &str = "GAIT_WRAPPER_MODE";
/// The default per-stream output budget (8 MiB).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 8 << 20;
/// The default timeout (30 s).
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The default time between SIGTERM and SIGKILL (2 s).
pub const DEFAULT_KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
