//! Regressions from runpacks: the incident-to-CI loop of Gait.
//!
//! A bad agent run, recorded as a runpack, becomes a fixture on disk; the
//! graders then check, deterministically, that what CI sees still matches
//! it, and a CI job fails with exit code 5 when it does not.
//!
//! * [`init_fixture`] copies a verified runpack into
//!   `fixtures/<name>/runpack.zip`, writes `fixture.json` and regenerates
//!   `gait.yaml` (JSON content, as the reference).
//! * [`run_regress`] loads the fixtures, runs the graders
//!   (`schema_validation`, `expected_exit_code`, `trajectory`, `diff` and,
//!   when asked for, `context_conformance`), writes `regress_result.json`
//!   ([`RegressResult`]) and optional JUnit XML ([`render_junit`]).
//! * [`capture`] resolves a run id, runpack or gate trace into a
//!   [`CaptureReceipt`] that `regress add` accepts.
//!
//! Outputs are byte-stable: the same fixtures give the same bytes (the
//! result's `created_at` is the first fixture run's, never the clock).
//! Session-chain sources go through [`resolve_session_checkpoint`]: the
//! selected checkpoint must recompute and its runpack must verify with the
//! manifest digest the chain records.

mod capture;
mod error;
mod fixture;
mod init;
mod io;
mod junit;
mod run;

pub use capture::{
    CAPTURE_SCHEMA_ID, CAPTURE_SCHEMA_VERSION, CaptureReceipt, DEFAULT_CAPTURE_PATH,
    SessionCheckpoint, Source, capture, read_capture_receipt, resolve_add_source,
    resolve_session_checkpoint, resolve_source, write_capture_receipt,
};
pub use error::RegressError;
pub use fixture::{
    CONFIG_FILE, CONFIG_SCHEMA_ID, ConfigFile, ConfigFixture, DEFAULT_FIXTURE_SET, FIXTURE_FILE,
    FIXTURE_RUNPACK, FIXTURE_SCHEMA_ID, FIXTURES_DIR, FixtureMeta, is_valid_fixture_name,
    read_config, read_fixture_meta, sanitize_fixture_name,
};
pub use init::{InitOptions, InitResult, MAX_SOURCE_BYTES, init_fixture};
pub use io::to_go_indented_json;
pub use junit::render_junit;
pub use run::{
    DEFAULT_OUTPUT, GraderResult, RESULT_SCHEMA_ID_REGRESS, RegressResult, RunOptions, RunResult,
    STATUS_FAIL, STATUS_PASS, run_regress,
};
