//! Gait's offline evidence: runpacks, PackSpec v1 packs, and the strict zip
//! layer under both.
//!
//! The crate has four public namespaces, each with a curated list of
//! re-exports (the modules behind them are private):
//!
//! * [`archive`]: a deterministic zip writer ([`archive::write_deterministic`])
//!   and a strict, bounded zip reader for hostile input ([`archive::Archive`]:
//!   entry, size, ratio and name limits; duplicate entries reported).
//! * [`runpack`]: `runpack_<run_id>.zip`, the evidence of one agent run:
//!   `run.json`, `intents.jsonl`, `results.jsonl`, `refs.json` (canonical
//!   JSON, RFC 8785) and `manifest.json` with their SHA-256 digests and
//!   optional Ed25519 signatures. [`runpack::RunRecorder`] records one,
//!   [`runpack::verify_runpack`] checks one from untrusted bytes
//!   ([`runpack::VerifyReport`], with a [`runpack::SignatureStatus`]),
//!   [`runpack::read_runpack`] is the strict reader; replay, diff, receipts,
//!   session chains (`gait.runpack.session_chain`, checkpoints over
//!   runpacks) and context envelopes live here too.
//! * [`pack`]: `pack_<pack_id>.zip` (PackSpec v1): a `pack_manifest.json`
//!   declaring every entry by path and SHA-256, a `pack_id` that is the
//!   digest of the canonical manifest, optional signatures and
//!   `proof_records.jsonl` (a hash chain, one record per entry).
//!   [`pack::build_run_pack`] wraps a runpack, [`pack::build_job_pack`] a
//!   durable job; [`pack::verify_pack`] gives a [`pack::PackReport`];
//!   [`pack::inspect_pack`], [`pack::diff_packs`] and
//!   [`pack::build_export_record`] (OTEL JSONL, PostgreSQL SQL) are
//!   read-only views. Legacy guard packs and legacy runpacks verify too.
//! * [`session`]: session journals (`gait run session …`): an append-only
//!   JSONL journal per agent session, read strictly on every operation,
//!   under a lock file; checkpoints turn the new events into runpacks
//!   linked into a session chain ([`session::SessionJournal`]).
//!
//! Everything written is byte-stable: the same input, version and key give
//! the same bytes (zip times are fixed, entries sorted, JSON canonical).
//!
//! # Errors
//!
//! Each namespace has one error type whose variant is its exit-code class,
//! mapped to exit codes by the CLI:
//!
//! * [`runpack::RunpackError`]: `Invalid` (bad input, exit 6),
//!   `Verification` (the evidence does not verify, exit 2), `Io` and
//!   `Internal` (exit 1), `Unsafe` (an unsafe replay refused, exit 8), and
//!   `Archive`, which keeps the zip layer's error as its source and takes
//!   its class from it.
//! * [`pack::PackError`]: `Invalid` (6), `Verification` (2), `Io` (1), and
//!   `Archive` and `Runpack`, which keep the zip layer's or the runpack
//!   reader's error as their source and take its class.
//!
//! Ask an error for its class with `is_verification_failure`, `is_io`
//! (and, for runpacks, `is_internal`, `is_unsafe`): the CLI maps those to
//! exit codes in one place.
//! * [`pack::ContractError`]: why a payload entry, job record or guard
//!   manifest breaks its contract, with the JSON error as its source; the
//!   verifier reports it as a verification failure.
//! * [`archive::ArchiveError`]: `NotAnArchive`, `Missing`, `Io`, `Unsafe`.
//! * [`session::SessionError`]: `Contention`, `Io` and `Write` (exit 1),
//!   `Runpack` (the runpack error's class), everything else invalid input
//!   (exit 6): refused paths and values, a missing or corrupt journal, an
//!   identity conflict, nothing to checkpoint.
//!
//! A runpack or pack that is readable but does not verify is a report
//! ([`runpack::VerifyReport`], [`pack::PackReport`]) rather than an error,
//! so that every problem is listed.
//!
//! # Example
//!
//! Record the demo run in memory, verify it, wrap it in a pack and verify
//! the pack; then change one byte of the pack.
//!
//! ```
//! use std::io::Cursor;
//!
//! use gait_pack::pack::{self, build_run_pack_bytes, verify_pack_bytes};
//! use gait_pack::runpack::{self, RunRecorder, SignatureStatus, demo_input, verify_runpack};
//!
//! let recorded = RunRecorder::new(demo_input("0.0.0-dev")).record()?;
//! let report = verify_runpack(Cursor::new(&recorded.zip), &runpack::VerifyOptions::default())?;
//! assert_eq!(report.run_id, "run_demo");
//! assert!(report.is_ok(false));
//! assert_eq!(report.signature_status, SignatureStatus::Missing);
//!
//! let built = build_run_pack_bytes(&recorded.zip, "0.0.0-dev", None)?;
//! let options = pack::VerifyOptions::default();
//! let report = verify_pack_bytes(&built.bytes, &options)?;
//! assert_eq!(report.pack_type, "run");
//! assert_eq!(report.pack_id, built.manifest.pack_id);
//! assert!(report.ok(false));
//!
//! // One changed byte: an error or a failing report, never a pass.
//! let mut tampered = built.bytes.clone();
//! let middle = tampered.len() / 2;
//! tampered[middle] ^= 0x01;
//! let verdict = verify_pack_bytes(&tampered, &options);
//! assert!(!matches!(verdict, Ok(ref r) if r.ok(false)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

pub mod archive;
pub mod pack;
pub mod runpack;
pub mod session;
