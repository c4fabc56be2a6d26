//! PackSpec v1 evidence packs (`pack_<pack_id>.zip`).
//!
//! A pack is a deterministic zip holding a `pack_manifest.json` that
//! declares every other entry by path and SHA-256, a `pack_id` that is the
//! SHA-256 of the canonical manifest (with `pack_id` blank and no
//! signatures), optional Ed25519 signatures, and `proof_records.jsonl`, a
//! hash chain with one record per entry.
//!
//! * [`PackManifest`]: the manifest model, its strict decoding
//!   ([`PackManifest::parse`]) and [`PackManifest::compute_pack_id`].
//! * [`verify_pack`] / [`verify_pack_bytes`]: the verify algorithm, giving a
//!   [`PackReport`] (or a [`PackError`] classified for exit codes).
//! * [`build_run_pack`]: a run pack from a runpack.
//! * [`inspect_pack`] and [`diff_packs`]: read-only views.
//! * [`build_export_record`], [`otel_jsonl`] and [`postgres_index_sql`]
//!   (`gait pack export`): index records as OTEL-style JSONL or PostgreSQL
//!   SQL.
//!
//! * [`build_call_pack`] (`call`, from a voice call record) and
//!   [`build_authorization_pack`] (`authorization`, from an authorization
//!   bundle and its evidence files), with their payload contracts
//!   [`check_call_contract`] and [`check_authorization_contract`].
//!
//! Every pack type (`run`, `job`, `call`, `authorization`) has its payload
//! contract checked by [`verify_pack`]. Legacy guard packs (`gait.guard.pack_manifest`) are
//! verified by declared hashes and signatures over the guard manifest
//! projection ([`GuardManifest`]).

mod authorization;
mod build;
mod call;
mod error;
mod export;
mod guard;
mod job;
mod legacy;
mod manifest;
mod payload;
mod proof;
mod verify;
mod view;

pub use authorization::{
    AUTHORIZATION_BUNDLE_FILE, AUTHORIZATION_BUNDLE_SCHEMA_ID, AUTHORIZATION_PAYLOAD_SCHEMA_ID,
    AuthorizationBundle, AuthorizationPayload, EVIDENCE_DIR, FreezeWindowDecision,
    KillSwitchDecision, OUTCOME_STATUSES, SandboxDecision, build_authorization_pack,
    build_authorization_pack_bytes, check_authorization_contract, evidence_digest,
};
pub use build::{
    BuildOptions, BuildResult, BuiltPack, DEFAULT_PRODUCER_VERSION, build_run_pack,
    build_run_pack_bytes,
};
pub use call::{
    CALL_EVENTS_FILE, CALL_PAYLOAD_FILE, CALL_PAYLOAD_SCHEMA_ID, CALL_RECORD_SCHEMA_ID,
    CALLPACK_MANIFEST_FILE, CALLPACK_MANIFEST_SCHEMA_ID, COMMITMENT_CLASSES, COMMITMENTS_FILE,
    CallPayload, CallpackManifest, GATE_DECISIONS_FILE, MAX_CALL_LINE_BYTES, MAX_CALL_RECORD_BYTES,
    REFERENCE_DIGESTS_FILE, REQUIRED_CALL_EVENT_TYPES, ReadEntry, SPEAK_RECEIPTS_FILE,
    build_call_pack, build_call_pack_bytes, check_call_contract,
};
pub use error::{ContractError, PackError};
pub use export::{
    DEFAULT_POSTGRES_TABLE, ExportMetrics, ExportRecord, PostgresSqlOptions, build_export_record,
    otel_jsonl, postgres_index_sql, write_otel_jsonl, write_output,
};
pub use guard::{
    GUARD_MANIFEST_SCHEMA_ID, GuardControl, GuardEvidence, GuardManifest, GuardRendered,
    GuardWindow,
};
pub use job::{
    DEMO_JOB_ID, JOB_EVENTS_FILE, JOB_PAYLOAD_FILE, JOB_PAYLOAD_SCHEMA_ID, JOB_STATE_FILE,
    JOB_STATUSES, JobApproval, JobCheckpoint, JobCheckpointRef, JobEvent, JobLineage, JobPayload,
    JobState, MAX_JOB_EVENT_LINE_BYTES, MAX_JOB_FILE_BYTES, build_job_pack, build_job_pack_bytes,
    check_job_contract, demo_durable_job, is_valid_job_id, job_dir, job_lineage, parse_job_events,
    read_job_dir, resolve_job_source, safety_invariant_hash, validate_job_state, write_job_dir,
};
pub use manifest::{
    DETERMINISTIC_TIMESTAMP, MANIFEST_FILE, MANIFEST_SCHEMA_ID, MANIFEST_SCHEMA_VERSION,
    ManifestError, PACK_TYPES, PackEntry, PackManifest, PackSignature, deterministic_time,
    entry_type, is_sha256_hex,
};
pub use payload::{
    CONTEXT_ENVELOPE_FILE, ContextReceipt, ContextRefs, RUN_PAYLOAD_FILE, RUN_PAYLOAD_SCHEMA_ID,
    RunPayload, SOURCE_RUNPACK_FILE, context_envelope, context_privacy_mode,
};
pub use proof::{MAX_PROOF_LINE_BYTES, PROOF_RECORDS_FILE};
pub use verify::{
    HashMismatch, MAX_PACK_ENTRY_BYTES, PackReport, VerifyOptions, verify_pack, verify_pack_bytes,
};
pub use view::{
    DiffResult, DiffSummary, InspectReport, IntentResultLink, RunLineage, diff_packs, inspect_pack,
};
