//! Signed trace records.
//!
//! **Status: skeleton.** Trace records, sinks and verification arrive with
//! the gate work (see `docs/architecture.md`).
