//! Call packs (`pack_type: call`): the evidence of one voice call, built
//! from a call record (`gait.voice.call_record` 1.0.0).
//!
//! | entry | content |
//! |---|---|
//! | `call_payload.json` | [`CallPayload`] (canonical JSON) |
//! | `callpack_manifest.json` | [`CallpackManifest`] (canonical JSON) |
//! | `call_events.jsonl` | normalized events sorted by (`call_seq`, `event_type`) |
//! | `commitments.jsonl` | normalized commitment intents |
//! | `gate_decisions.jsonl` | normalized gate decisions |
//! | `speak_receipts.jsonl` | normalized speak receipts |
//! | `reference_digests.json` | `[{ref_id, sha256}]`, or `null` when there are none |
//! | `source/runpack.zip` | the source runpack, byte for byte |
//!
//! JSONL entries are one canonical object plus `\n` per record (an empty
//! list is an empty file). [`build_call_pack_bytes`] normalizes and checks
//! a record (speak boundary, allow before speak, source runpack integrity)
//! and [`check_call_contract`] is the payload contract `pack verify`
//! applies to the entries of a call pack.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use gait_digest::{GoTime, null_as_default};
use gait_sign::{SigningKey, Trace};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::build::{
    BuildOptions, BuildResult, BuiltPack, assemble, local_or_absolute, write_built,
};
use super::error::{ContractError, PackError, parse_strict};
use super::manifest::is_sha256_hex;
use super::payload::SOURCE_RUNPACK_FILE;
use super::verify::MAX_PACK_ENTRY_BYTES;

/// `call_payload.json`.
pub const CALL_PAYLOAD_FILE: &str = "call_payload.json";
/// `callpack_manifest.json`.
pub const CALLPACK_MANIFEST_FILE: &str = "callpack_manifest.json";
/// `call_events.jsonl`.
pub const CALL_EVENTS_FILE: &str = "call_events.jsonl";
/// `commitments.jsonl`.
pub const COMMITMENTS_FILE: &str = "commitments.jsonl";
/// `gate_decisions.jsonl`.
pub const GATE_DECISIONS_FILE: &str = "gate_decisions.jsonl";
/// `speak_receipts.jsonl`.
pub const SPEAK_RECEIPTS_FILE: &str = "speak_receipts.jsonl";
/// `reference_digests.json`.
pub const REFERENCE_DIGESTS_FILE: &str = "reference_digests.json";
/// `schema_id` of a call payload.
pub const CALL_PAYLOAD_SCHEMA_ID: &str = "gait.pack.call";
/// `schema_id` of a call record.
pub const CALL_RECORD_SCHEMA_ID: &str = "gait.voice.call_record";
/// `schema_id` of a callpack manifest.
pub const CALLPACK_MANIFEST_SCHEMA_ID: &str = "gait.voice.callpack_manifest";
/// Largest call record (and source runpack) read (64 MiB).
pub const MAX_CALL_RECORD_BYTES: u64 = 64 << 20;
/// Longest JSONL line of a call pack entry (10 MiB, as the reference).
pub const MAX_CALL_LINE_BYTES: usize = 10 << 20;

const EVENT_SCHEMA_ID: &str = "gait.voice.call_event";
const COMMITMENT_SCHEMA_ID: &str = "gait.voice.commitment_intent";
const DEFAULT_VERSION: &str = "0.0.0-dev";

/// The commitment classes a call may declare.
pub const COMMITMENT_CLASSES: [&str; 6] = [
    "refund",
    "quote",
    "eligibility",
    "schedule",
    "cancel",
    "account_change",
];

/// The event types every call must contain.
pub const REQUIRED_CALL_EVENT_TYPES: [&str; 7] = [
    "asr.final",
    "commitment.declared",
    "gate.decision",
    "tts.request",
    "tts.emitted",
    "tool.intent",
    "tool.result",
];

/// The privacy modes of a call.
const PRIVACY_MODES: [&str; 2] = ["hash_only", "dispute_encrypted"];

const VERDICTS: [&str; 4] = ["allow", "block", "dry_run", "require_approval"];

/// `call_payload.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CallPayload {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub call_id: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub run_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub privacy_mode: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub commitment_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub decision_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub speak_receipt_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub reference_digest_count: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub environment_fingerprint: String,
}

/// `callpack_manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CallpackManifest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub call_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub privacy_mode: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub commitment_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub decision_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub speak_receipt_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub reference_digest_count: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub environment_fingerprint: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRecord {
    #[serde(default, deserialize_with = "null_as_default")]
    schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    producer_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    call_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    runpack_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    privacy_mode: String,
    #[serde(default, deserialize_with = "null_as_default")]
    environment_fingerprint: String,
    #[serde(default, deserialize_with = "null_as_default")]
    events: Vec<CallEvent>,
    #[serde(default, deserialize_with = "null_as_default")]
    commitments: Vec<CommitmentIntent>,
    #[serde(default, deserialize_with = "null_as_default")]
    gate_decisions: Vec<CallGateDecision>,
    #[serde(default, deserialize_with = "null_as_default")]
    speak_receipts: Vec<SpeakReceipt>,
    #[serde(default, deserialize_with = "null_as_default")]
    reference_digests: Vec<ReferenceDigest>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallEvent {
    #[serde(default, deserialize_with = "null_as_default")]
    schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    call_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    call_seq: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    turn_index: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    event_type: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    commitment_class: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    intent_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    policy_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    say_token_id: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    payload_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    attributes: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentContext {
    #[serde(default, deserialize_with = "null_as_default")]
    identity: String,
    #[serde(default, deserialize_with = "null_as_default")]
    workspace: String,
    #[serde(default, deserialize_with = "null_as_default")]
    risk_class: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    session_id: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    request_id: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    environment_fingerprint: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentIntent {
    #[serde(default, deserialize_with = "null_as_default")]
    schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    producer_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    call_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    turn_index: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    call_seq: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    commitment_class: String,
    #[serde(default, deserialize_with = "null_as_default")]
    context: CommitmentContext,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    currency: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    quote_min_cents: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    quote_max_cents: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    refund_ceiling_cents: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_false"
    )]
    approval_required: bool,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    approval_artifact_refs: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    evidence_reference_digests: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    utterance_digest: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallGateDecision {
    #[serde(default, deserialize_with = "null_as_default")]
    call_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    call_seq: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    turn_index: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    commitment_class: String,
    #[serde(default, deserialize_with = "null_as_default")]
    verdict: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    reason_codes: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    intent_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    policy_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    approval_ref: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeakReceipt {
    #[serde(default, deserialize_with = "null_as_default")]
    call_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    call_seq: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    turn_index: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    commitment_class: String,
    #[serde(default, deserialize_with = "null_as_default")]
    say_token_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    spoken_digest: String,
    #[serde(default, deserialize_with = "null_as_default")]
    emitted_at: GoTime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceDigest {
    #[serde(default, deserialize_with = "null_as_default")]
    ref_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    sha256: String,
}

/// A rule with a message that names the value (internal to this module).
type Check<T> = Result<T, String>;

fn fail<T>(m: impl Into<String>) -> Check<T> {
    Err(m.into())
}

fn lower_trim(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// Lowercased, trimmed digest that must be 64 hex when set.
fn opt_digest(value: &str, what: &str) -> Check<String> {
    let v = lower_trim(value);
    if !v.is_empty() && !is_sha256_hex(&v) {
        return fail(format!("{what} must be sha256 hex"));
    }
    Ok(v)
}

fn class(value: &str, what: &str, required: bool) -> Check<String> {
    let c = lower_trim(value);
    if c.is_empty() && !required {
        return Ok(c);
    }
    if !COMMITMENT_CLASSES.contains(&c.as_str()) {
        return fail(format!("{what} commitment_class is invalid: {c:?}"));
    }
    Ok(c)
}

fn coordinates(call_seq: i64, turn_index: i64, what: &str) -> Check<()> {
    if call_seq < 1 {
        return fail(format!("{what} call_seq must be >= 1"));
    }
    if turn_index < 0 {
        return fail(format!("{what} turn_index must be >= 0"));
    }
    Ok(())
}

fn same_call(value: &str, call_id: &str, what: &str) -> Check<String> {
    let v = value.trim().to_owned();
    if v != call_id {
        return fail(format!(
            "{what} call_id mismatch: expected {call_id:?}, got {v:?}"
        ));
    }
    Ok(v)
}

fn schema(id: &mut String, version: &mut String, want: &str, what: &str) -> Check<()> {
    if id.trim().is_empty() {
        *id = want.to_owned();
    }
    if version.trim().is_empty() {
        *version = "1.0.0".to_owned();
    }
    if id.trim() != want {
        return fail(format!("{what} schema_id must be {want}"));
    }
    if version.trim() != "1.0.0" {
        return fail(format!("{what} schema_version must be 1.0.0"));
    }
    *id = want.to_owned();
    *version = "1.0.0".to_owned();
    Ok(())
}

fn normalize_event(mut e: CallEvent, call_id: &str) -> Check<CallEvent> {
    schema(
        &mut e.schema_id,
        &mut e.schema_version,
        EVENT_SCHEMA_ID,
        "call event",
    )?;
    if e.created_at.is_zero() {
        return fail("call event created_at is required");
    }
    e.created_at = e.created_at.to_utc();
    e.call_id = same_call(&e.call_id, call_id, "call event")?;
    coordinates(e.call_seq, e.turn_index, "call event")?;
    e.event_type = e.event_type.trim().to_owned();
    if e.event_type.is_empty() {
        return fail("call event event_type is required");
    }
    e.commitment_class = class(&e.commitment_class, "call event", false)?;
    e.intent_digest = opt_digest(&e.intent_digest, "call event intent_digest")?;
    e.policy_digest = opt_digest(&e.policy_digest, "call event policy_digest")?;
    e.payload_digest = opt_digest(&e.payload_digest, "call event payload_digest")?;
    e.say_token_id = e.say_token_id.trim().to_owned();
    Ok(e)
}

fn sorted_unique(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn normalize_commitment(mut c: CommitmentIntent, call_id: &str) -> Check<CommitmentIntent> {
    schema(
        &mut c.schema_id,
        &mut c.schema_version,
        COMMITMENT_SCHEMA_ID,
        "commitment intent",
    )?;
    if c.created_at.is_zero() {
        return fail("commitment intent created_at is required");
    }
    c.created_at = c.created_at.to_utc();
    c.producer_version = c.producer_version.trim().to_owned();
    if c.producer_version.is_empty() {
        c.producer_version = DEFAULT_VERSION.to_owned();
    }
    c.call_id = c.call_id.trim().to_owned();
    if c.call_id.is_empty() {
        return fail("commitment intent call_id is required");
    }
    c.call_id = same_call(&c.call_id, call_id, "commitment intent")?;
    coordinates(c.call_seq, c.turn_index, "commitment intent")?;
    c.commitment_class = class(&c.commitment_class, "commitment intent", true)?;
    c.utterance_digest = opt_digest(&c.utterance_digest, "commitment intent utterance_digest")?;
    let ctx = &mut c.context;
    ctx.identity = ctx.identity.trim().to_owned();
    ctx.workspace = ctx.workspace.trim().to_owned();
    ctx.risk_class = lower_trim(&ctx.risk_class);
    if ctx.identity.is_empty() || ctx.workspace.is_empty() || ctx.risk_class.is_empty() {
        return fail("commitment intent context requires identity, workspace and risk_class");
    }
    ctx.session_id = ctx.session_id.trim().to_owned();
    ctx.request_id = ctx.request_id.trim().to_owned();
    ctx.environment_fingerprint = ctx.environment_fingerprint.trim().to_owned();
    c.currency = c.currency.trim().to_ascii_uppercase();
    if c.quote_min_cents < 0 || c.quote_max_cents < 0 || c.refund_ceiling_cents < 0 {
        return fail("commitment intent cents values must be >= 0");
    }
    if c.quote_max_cents > 0 && c.quote_min_cents > c.quote_max_cents {
        return fail("commitment intent quote_min_cents must be <= quote_max_cents");
    }
    c.approval_artifact_refs = sorted_unique(
        c.approval_artifact_refs
            .iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect(),
    );
    c.evidence_reference_digests = sorted_unique(
        c.evidence_reference_digests
            .iter()
            .map(|d| lower_trim(d))
            .filter(|d| is_sha256_hex(d))
            .collect(),
    );
    Ok(c)
}

fn normalize_decision(mut d: CallGateDecision, call_id: &str) -> Check<CallGateDecision> {
    d.call_id = same_call(&d.call_id, call_id, "gate decision")?;
    coordinates(d.call_seq, d.turn_index, "gate decision")?;
    d.commitment_class = class(&d.commitment_class, "gate decision", true)?;
    d.verdict = lower_trim(&d.verdict);
    if !VERDICTS.contains(&d.verdict.as_str()) {
        return fail(format!("gate decision verdict is invalid: {:?}", d.verdict));
    }
    d.reason_codes = sorted_unique(
        d.reason_codes
            .iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect(),
    );
    d.intent_digest = opt_digest(&d.intent_digest, "gate decision intent_digest")?;
    d.policy_digest = opt_digest(&d.policy_digest, "gate decision policy_digest")?;
    d.approval_ref = d.approval_ref.trim().to_owned();
    Ok(d)
}

fn normalize_receipt(mut r: SpeakReceipt, call_id: &str) -> Check<SpeakReceipt> {
    r.call_id = same_call(&r.call_id, call_id, "speak receipt")?;
    coordinates(r.call_seq, r.turn_index, "speak receipt")?;
    r.commitment_class = class(&r.commitment_class, "speak receipt", true)?;
    r.say_token_id = r.say_token_id.trim().to_owned();
    if r.say_token_id.is_empty() {
        return fail("speak receipt say_token_id is required");
    }
    r.spoken_digest = lower_trim(&r.spoken_digest);
    if !is_sha256_hex(&r.spoken_digest) {
        return fail("speak receipt spoken_digest must be sha256 hex");
    }
    if r.emitted_at.is_zero() {
        return fail("speak receipt emitted_at is required");
    }
    r.emitted_at = r.emitted_at.to_utc();
    Ok(r)
}

fn normalize_references(refs: Vec<ReferenceDigest>) -> Vec<ReferenceDigest> {
    let mut out: Vec<ReferenceDigest> = refs
        .into_iter()
        .map(|r| ReferenceDigest {
            ref_id: r.ref_id.trim().to_owned(),
            sha256: lower_trim(&r.sha256),
        })
        .filter(|r| !r.ref_id.is_empty() && is_sha256_hex(&r.sha256))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn check_event_types(events: &[CallEvent]) -> Check<()> {
    if events.is_empty() {
        return fail("call events are required");
    }
    for t in REQUIRED_CALL_EVENT_TYPES {
        if !events.iter().any(|e| e.event_type == t) {
            return fail(format!("call events missing required type: {t}"));
        }
    }
    Ok(())
}

/// Every gated `tts.emitted` event needs a say token and a speak receipt
/// at the same coordinates with the same token.
fn check_speak_boundary(events: &[CallEvent], receipts: &[SpeakReceipt]) -> Check<()> {
    for e in events {
        if e.event_type != "tts.emitted" || e.commitment_class.is_empty() {
            continue;
        }
        if e.say_token_id.is_empty() {
            return fail(format!(
                "gated tts.emitted at call_seq {} requires say_token_id",
                e.call_seq
            ));
        }
        let Some(r) = receipts.iter().find(|r| {
            r.call_seq == e.call_seq
                && r.turn_index == e.turn_index
                && r.commitment_class == e.commitment_class
        }) else {
            return fail(format!(
                "gated tts.emitted at call_seq {} has no speak receipt",
                e.call_seq
            ));
        };
        if r.say_token_id != e.say_token_id {
            return fail(format!(
                "speak receipt say_token_id mismatch at call_seq {}",
                e.call_seq
            ));
        }
    }
    Ok(())
}

/// Every speak receipt needs a latest prior gate decision (same class and
/// turn, `call_seq` not after the receipt's) whose verdict is `allow`.
fn check_allow_before_speak(
    decisions: &[CallGateDecision],
    receipts: &[SpeakReceipt],
) -> Check<()> {
    for r in receipts {
        let latest = decisions
            .iter()
            .filter(|d| {
                d.commitment_class == r.commitment_class
                    && d.turn_index == r.turn_index
                    && d.call_seq <= r.call_seq
            })
            .max_by_key(|d| d.call_seq);
        match latest {
            None => {
                return fail(format!(
                    "speak receipt at call_seq {} has no prior gate decision",
                    r.call_seq
                ));
            }
            Some(d) if d.verdict != "allow" => {
                return fail(format!(
                    "speak receipt at call_seq {}: latest prior gate verdict is {}",
                    r.call_seq, d.verdict
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Debug)]
struct Normalized {
    record: CallRecord,
}

fn normalize_record(mut rec: CallRecord) -> Check<Normalized> {
    schema(
        &mut rec.schema_id,
        &mut rec.schema_version,
        CALL_RECORD_SCHEMA_ID,
        "call record",
    )?;
    if rec.created_at.is_zero() {
        return fail("call record created_at is required");
    }
    rec.created_at = rec.created_at.to_utc();
    rec.producer_version = rec.producer_version.trim().to_owned();
    if rec.producer_version.is_empty() {
        rec.producer_version = DEFAULT_VERSION.to_owned();
    }
    rec.call_id = rec.call_id.trim().to_owned();
    if rec.call_id.is_empty() {
        return fail("call record call_id is required");
    }
    rec.runpack_path = rec.runpack_path.trim().to_owned();
    if rec.runpack_path.is_empty() {
        return fail("call record runpack_path is required");
    }
    rec.privacy_mode = lower_trim(&rec.privacy_mode);
    if rec.privacy_mode.is_empty() {
        rec.privacy_mode = "hash_only".to_owned();
    }
    if !PRIVACY_MODES.contains(&rec.privacy_mode.as_str()) {
        return fail(format!(
            "call record privacy_mode must be hash_only or dispute_encrypted, got {:?}",
            rec.privacy_mode
        ));
    }
    rec.environment_fingerprint = rec.environment_fingerprint.trim().to_owned();
    let call_id = rec.call_id.clone();

    let mut events = std::mem::take(&mut rec.events)
        .into_iter()
        .map(|e| normalize_event(e, &call_id))
        .collect::<Check<Vec<_>>>()?;
    events.sort_by(|a, b| {
        a.call_seq
            .cmp(&b.call_seq)
            .then_with(|| a.event_type.cmp(&b.event_type))
    });
    check_event_types(&events)?;
    let mut commitments = std::mem::take(&mut rec.commitments)
        .into_iter()
        .map(|c| normalize_commitment(c, &call_id))
        .collect::<Check<Vec<_>>>()?;
    commitments.sort_by(|a, b| {
        a.call_seq
            .cmp(&b.call_seq)
            .then_with(|| a.commitment_class.cmp(&b.commitment_class))
    });
    let mut decisions = std::mem::take(&mut rec.gate_decisions)
        .into_iter()
        .map(|d| normalize_decision(d, &call_id))
        .collect::<Check<Vec<_>>>()?;
    decisions.sort_by(|a, b| {
        a.call_seq
            .cmp(&b.call_seq)
            .then_with(|| a.commitment_class.cmp(&b.commitment_class))
    });
    let mut receipts = std::mem::take(&mut rec.speak_receipts)
        .into_iter()
        .map(|r| normalize_receipt(r, &call_id))
        .collect::<Check<Vec<_>>>()?;
    receipts.sort_by(|a, b| {
        a.call_seq
            .cmp(&b.call_seq)
            .then_with(|| a.commitment_class.cmp(&b.commitment_class))
    });
    check_speak_boundary(&events, &receipts)?;
    check_allow_before_speak(&decisions, &receipts)?;
    rec.reference_digests = normalize_references(std::mem::take(&mut rec.reference_digests));
    rec.events = events;
    rec.commitments = commitments;
    rec.gate_decisions = decisions;
    rec.speak_receipts = receipts;
    Ok(Normalized { record: rec })
}

fn canonical<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, PackError> {
    gait_digest::canonical::to_vec_from(value)
        .map_err(|e| PackError::invalid(format!("encode {what}: {e}")))
}

fn jsonl<T: Serialize>(what: &str, items: &[T]) -> Result<Vec<u8>, PackError> {
    let mut out = Vec::new();
    for item in items {
        out.extend(canonical(what, item)?);
        out.push(b'\n');
    }
    Ok(out)
}

fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>, PackError> {
    let file = gait_sign::open_regular_file(path)
        .map_err(|e| PackError::invalid(format!("read {what} {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_CALL_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| PackError::invalid(format!("read {what} {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_CALL_RECORD_BYTES {
        return Err(PackError::invalid(format!(
            "{what} {} exceeds {MAX_CALL_RECORD_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Builds a call pack in memory from the bytes of a call record. The
/// record's `runpack_path` is resolved against `record_dir` when relative;
/// the runpack must verify (unsigned mode: missing files and hash
/// mismatches fail) and is embedded byte for byte. The same record,
/// runpack, version and key always give the same bytes.
pub fn build_call_pack_bytes(
    record: &[u8],
    record_dir: &Path,
    producer_version: &str,
    signing_key: Option<&SigningKey<Trace>>,
) -> Result<BuiltPack, PackError> {
    let rec: CallRecord =
        parse_strict(record).map_err(|e| PackError::invalid(format!("parse call record: {e}")))?;
    let Normalized { record: rec } = normalize_record(rec).map_err(PackError::invalid)?;

    let runpack_path = {
        let p = Path::new(&rec.runpack_path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            record_dir.join(p)
        }
    };
    let runpack = read_bounded(&runpack_path, "source runpack")?;
    let report = crate::runpack::verify_runpack(
        std::io::Cursor::new(runpack.as_slice()),
        &crate::runpack::VerifyOptions::default(),
    )
    .map_err(|e| PackError::Runpack {
        context: "verify source runpack".to_owned(),
        source: e,
    })?;
    if !report.missing_files.is_empty()
        || !report.hash_mismatches.is_empty()
        || !report.undeclared_files.is_empty()
    {
        return Err(PackError::invalid("source runpack failed integrity checks"));
    }

    let payload = CallPayload {
        schema_id: CALL_PAYLOAD_SCHEMA_ID.into(),
        schema_version: "1.0.0".into(),
        created_at: rec.created_at,
        call_id: rec.call_id.clone(),
        run_id: report.run_id.trim().to_owned(),
        privacy_mode: rec.privacy_mode.clone(),
        event_count: count(rec.events.len()),
        commitment_count: count(rec.commitments.len()),
        decision_count: count(rec.gate_decisions.len()),
        speak_receipt_count: count(rec.speak_receipts.len()),
        reference_digest_count: count(rec.reference_digests.len()),
        environment_fingerprint: rec.environment_fingerprint.clone(),
    };
    let manifest = CallpackManifest {
        schema_id: CALLPACK_MANIFEST_SCHEMA_ID.into(),
        schema_version: "1.0.0".into(),
        created_at: rec.created_at,
        producer_version: rec.producer_version.clone(),
        call_id: rec.call_id.clone(),
        privacy_mode: rec.privacy_mode.clone(),
        event_count: payload.event_count,
        commitment_count: payload.commitment_count,
        decision_count: payload.decision_count,
        speak_receipt_count: payload.speak_receipt_count,
        reference_digest_count: payload.reference_digest_count,
        environment_fingerprint: rec.environment_fingerprint.clone(),
    };
    let references = if rec.reference_digests.is_empty() {
        b"null".to_vec()
    } else {
        canonical("reference digests", &rec.reference_digests)?
    };
    let files = vec![
        (
            CALL_PAYLOAD_FILE.to_owned(),
            canonical("call payload", &payload)?,
        ),
        (
            CALLPACK_MANIFEST_FILE.to_owned(),
            canonical("callpack manifest", &manifest)?,
        ),
        (
            CALL_EVENTS_FILE.to_owned(),
            jsonl("call event", &rec.events)?,
        ),
        (
            COMMITMENTS_FILE.to_owned(),
            jsonl("commitment", &rec.commitments)?,
        ),
        (
            GATE_DECISIONS_FILE.to_owned(),
            jsonl("gate decision", &rec.gate_decisions)?,
        ),
        (
            SPEAK_RECEIPTS_FILE.to_owned(),
            jsonl("speak receipt", &rec.speak_receipts)?,
        ),
        (REFERENCE_DIGESTS_FILE.to_owned(), references),
        (SOURCE_RUNPACK_FILE.to_owned(), runpack),
    ];
    assemble("call", &rec.call_id, producer_version, files, signing_key)
}

/// Builds a call pack from the call record at `record` and writes it
/// atomically (mode 0600, parent directories 0750) to
/// `options.output_path` or `pack_<pack_id>.zip` next to the record.
pub fn build_call_pack(record: &Path, options: &BuildOptions) -> Result<BuildResult, PackError> {
    let record = local_or_absolute(record)
        .map_err(|e| PackError::invalid(format!("call record path: {e}")))?;
    let bytes = read_bounded(&record, "call record")?;
    let dir = record.parent().unwrap_or(Path::new(".")).to_path_buf();
    let built = build_call_pack_bytes(
        &bytes,
        &dir,
        &options.producer_version,
        options.signing_key.as_ref(),
    )?;
    let out = match &options.output_path {
        Some(p) => p.clone(),
        None => default_out(&dir, &built),
    };
    write_built(&out, built)
}

pub(crate) fn default_out(dir: &Path, built: &BuiltPack) -> PathBuf {
    dir.join(format!("pack_{}.zip", built.manifest.pack_id))
}

impl CallPayload {
    /// Parses a payload strictly (one JSON value, unknown and repeated
    /// members rejected).
    pub fn parse(bytes: &[u8]) -> Result<Self, ContractError> {
        parse_strict(bytes)
    }

    /// The contract every call payload must meet.
    pub fn validate(&self) -> Result<(), ContractError> {
        let fail = |m: &'static str| Err(ContractError::Rule(m));
        if self.schema_id != CALL_PAYLOAD_SCHEMA_ID {
            return fail("call payload schema_id must be gait.pack.call");
        }
        if self.schema_version != "1.0.0" {
            return fail("call payload schema_version must be 1.0.0");
        }
        if self.created_at.is_zero() {
            return fail("call payload created_at is required");
        }
        if self.call_id.trim().is_empty() {
            return fail("call payload call_id is required");
        }
        if !PRIVACY_MODES.contains(&self.privacy_mode.as_str()) {
            return fail("call payload privacy_mode must be hash_only or dispute_encrypted");
        }
        if [
            self.event_count,
            self.commitment_count,
            self.decision_count,
            self.speak_receipt_count,
            self.reference_digest_count,
        ]
        .iter()
        .any(|n| *n < 0)
        {
            return fail("call payload counts must be >= 0");
        }
        Ok(())
    }
}

impl CallpackManifest {
    /// Parses a callpack manifest strictly.
    pub fn parse(bytes: &[u8]) -> Result<Self, ContractError> {
        parse_strict(bytes)
    }

    /// The contract every callpack manifest must meet.
    pub fn validate(&self) -> Result<(), ContractError> {
        let fail = |m: &'static str| Err(ContractError::Rule(m));
        if self.schema_id != CALLPACK_MANIFEST_SCHEMA_ID {
            return fail("callpack manifest schema_id must be gait.voice.callpack_manifest");
        }
        if self.schema_version != "1.0.0" {
            return fail("callpack manifest schema_version must be 1.0.0");
        }
        if self.created_at.is_zero() {
            return fail("callpack manifest created_at is required");
        }
        if self.producer_version.trim().is_empty() {
            return fail("callpack manifest producer_version is required");
        }
        if self.call_id.trim().is_empty() {
            return fail("callpack manifest call_id is required");
        }
        if !PRIVACY_MODES.contains(&self.privacy_mode.as_str()) {
            return fail("callpack manifest privacy_mode must be hash_only or dispute_encrypted");
        }
        if [
            self.event_count,
            self.commitment_count,
            self.decision_count,
            self.speak_receipt_count,
            self.reference_digest_count,
        ]
        .iter()
        .any(|n| *n < 0)
        {
            return fail("callpack manifest counts must be >= 0");
        }
        Ok(())
    }
}

/// Parses a JSONL entry: blank lines skipped, every other line at most
/// [`MAX_CALL_LINE_BYTES`] and one strict value, normalized by `norm`.
fn parse_lines<T: serde::de::DeserializeOwned>(
    entry: &'static str,
    bytes: &[u8],
    norm: impl Fn(T) -> Check<T>,
) -> Result<Vec<T>, ContractError> {
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let n = i.saturating_add(1);
        if line.len() > MAX_CALL_LINE_BYTES {
            return Err(ContractError::Detail(format!(
                "parse {entry} line {n}: line too long"
            )));
        }
        let item: T = parse_strict(line)
            .map_err(|e| ContractError::Detail(format!("parse {entry} line {n}: {e}")))?;
        let item =
            norm(item).map_err(|e| ContractError::Detail(format!("{entry} line {n}: {e}")))?;
        out.push(item);
    }
    Ok(out)
}

fn detail(e: String) -> ContractError {
    ContractError::Detail(e)
}

/// Reads a pack entry for a payload contract: its bytes, or `None` when
/// the entry is absent.
pub type ReadEntry<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>, ContractError> + 'a;

/// The payload contract of a call pack. `read` returns an entry's bytes
/// (`None` when absent).
pub fn check_call_contract(
    source_ref: &str,
    read: &mut ReadEntry<'_>,
) -> Result<(), ContractError> {
    let mut need = |name: &'static str| -> Result<Vec<u8>, ContractError> {
        read(name)?.ok_or(ContractError::MissingEntry(name))
    };
    let payload_bytes = need(CALL_PAYLOAD_FILE)?;
    let manifest_bytes = need(CALLPACK_MANIFEST_FILE)?;
    let events = need(CALL_EVENTS_FILE)?;
    let commitments = need(COMMITMENTS_FILE)?;
    let decisions = need(GATE_DECISIONS_FILE)?;
    let receipts = need(SPEAK_RECEIPTS_FILE)?;
    let references = need(REFERENCE_DIGESTS_FILE)?;
    need(SOURCE_RUNPACK_FILE)?;

    let payload = CallPayload::parse(&payload_bytes)
        .map_err(|e| ContractError::parse(CALL_PAYLOAD_FILE, e))?;
    payload.validate()?;
    if payload.call_id != source_ref.trim() {
        return Err(ContractError::Rule(
            "call payload call_id does not match manifest source_ref",
        ));
    }
    let manifest = CallpackManifest::parse(&manifest_bytes)
        .map_err(|e| ContractError::parse(CALLPACK_MANIFEST_FILE, e))?;
    manifest.validate()?;
    if manifest.call_id != payload.call_id {
        return Err(ContractError::Rule(
            "callpack manifest call_id does not match call payload",
        ));
    }
    let call_id = payload.call_id.trim().to_owned();
    let events = parse_lines(CALL_EVENTS_FILE, &events, |e| normalize_event(e, &call_id))?;
    check_event_types(&events).map_err(detail)?;
    if events
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.call_seq > b.call_seq))
    {
        return Err(ContractError::Rule(
            "call_events.jsonl must be sorted by call_seq",
        ));
    }
    let commitments = parse_lines(COMMITMENTS_FILE, &commitments, |c| {
        normalize_commitment(c, &call_id)
    })?;
    let decisions = parse_lines(GATE_DECISIONS_FILE, &decisions, |d| {
        normalize_decision(d, &call_id)
    })?;
    let receipts = parse_lines(SPEAK_RECEIPTS_FILE, &receipts, |r| {
        normalize_receipt(r, &call_id)
    })?;
    check_speak_boundary(&events, &receipts).map_err(detail)?;
    let refs: Option<Vec<ReferenceDigest>> =
        parse_strict(&references).map_err(|e| ContractError::parse(REFERENCE_DIGESTS_FILE, e))?;
    let refs = normalize_references(refs.unwrap_or_default());
    check_allow_before_speak(&decisions, &receipts).map_err(detail)?;

    let counts = [
        (payload.event_count, events.len(), "event_count"),
        (
            payload.commitment_count,
            commitments.len(),
            "commitment_count",
        ),
        (payload.decision_count, decisions.len(), "decision_count"),
        (
            payload.speak_receipt_count,
            receipts.len(),
            "speak_receipt_count",
        ),
        (
            payload.reference_digest_count,
            refs.len(),
            "reference_digest_count",
        ),
    ];
    for (declared, actual, name) in counts {
        if usize::try_from(declared).ok() != Some(actual) {
            return Err(ContractError::Detail(format!(
                "call payload {name} does not match entries ({declared} != {actual})"
            )));
        }
    }
    if manifest.event_count != payload.event_count
        || manifest.commitment_count != payload.commitment_count
        || manifest.decision_count != payload.decision_count
        || manifest.speak_receipt_count != payload.speak_receipt_count
        || manifest.reference_digest_count != payload.reference_digest_count
    {
        return Err(ContractError::Rule(
            "callpack manifest counts do not match call payload",
        ));
    }
    if manifest.privacy_mode != payload.privacy_mode {
        return Err(ContractError::Rule(
            "callpack manifest privacy_mode does not match call payload",
        ));
    }
    if manifest.environment_fingerprint.trim() != payload.environment_fingerprint.trim() {
        return Err(ContractError::Rule(
            "callpack manifest environment_fingerprint does not match call payload",
        ));
    }
    if manifest.created_at.unix_nanos() != payload.created_at.unix_nanos() {
        return Err(ContractError::Rule(
            "callpack manifest created_at does not match call payload",
        ));
    }
    Ok(())
}

/// Reads a call pack entry from an archive for [`check_call_contract`].
pub(crate) fn bounded_entry<R: std::io::Read + std::io::Seek>(
    archive: &mut crate::archive::Archive<R>,
    name: &str,
) -> Result<Option<Vec<u8>>, ContractError> {
    if archive.entry(name).is_none() {
        return Ok(None);
    }
    archive
        .read(name, MAX_PACK_ENTRY_BYTES)
        .map(Some)
        .map_err(|source| ContractError::Read {
            entry: name.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, t: &str) -> CallEvent {
        CallEvent {
            created_at: GoTime::from_unix(1_770_000_000, 0),
            call_id: "c1".into(),
            call_seq: seq,
            event_type: t.into(),
            ..CallEvent::default()
        }
    }

    fn record() -> CallRecord {
        CallRecord {
            created_at: GoTime::from_unix(1_770_000_000, 0),
            call_id: "c1".into(),
            runpack_path: "runpack.zip".into(),
            events: REQUIRED_CALL_EVENT_TYPES
                .iter()
                .enumerate()
                .rev()
                .map(|(i, t)| event(i as i64 + 1, t))
                .collect(),
            ..CallRecord::default()
        }
    }

    #[test]
    fn record_defaults_and_sorts_events() {
        let n = normalize_record(record()).unwrap();
        assert_eq!(n.record.schema_id, CALL_RECORD_SCHEMA_ID);
        assert_eq!(n.record.privacy_mode, "hash_only");
        assert_eq!(n.record.producer_version, "0.0.0-dev");
        let seqs: Vec<i64> = n.record.events.iter().map(|e| e.call_seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6, 7]);
        assert!(n.record.reference_digests.is_empty());
    }

    #[test]
    fn missing_event_type_is_named() {
        let mut r = record();
        r.events.retain(|e| e.event_type != "tool.result");
        let e = normalize_record(r).err().unwrap();
        assert_eq!(e, "call events missing required type: tool.result");
    }

    #[test]
    fn record_rules_fail_closed() {
        let mut r = record();
        r.privacy_mode = "plain".into();
        assert!(normalize_record(r).is_err());
        let mut r = record();
        r.events[0].call_id = "other".into();
        assert!(
            normalize_record(r)
                .unwrap_err()
                .contains("call_id mismatch")
        );
        let mut r = record();
        r.schema_id = "gait.other".into();
        assert!(normalize_record(r).is_err());
        let mut r = record();
        r.created_at = GoTime::default();
        assert!(normalize_record(r).is_err());
        let mut r = record();
        r.events[0].commitment_class = "gift".into();
        assert!(normalize_record(r).is_err());
        let mut r = record();
        r.events[0].payload_digest = "abc".into();
        assert!(normalize_record(r).is_err());
        let mut r = record();
        r.events[0].call_seq = 0;
        assert!(normalize_record(r).is_err());
    }

    fn gated(mut r: CallRecord, verdict: &str, token: &str) -> CallRecord {
        for e in &mut r.events {
            if e.event_type == "tts.emitted" {
                e.commitment_class = "quote".into();
                e.say_token_id = "tok".into();
                e.turn_index = 1;
            }
        }
        let seq = r
            .events
            .iter()
            .find(|e| e.event_type == "tts.emitted")
            .map(|e| e.call_seq)
            .unwrap();
        r.gate_decisions = vec![CallGateDecision {
            call_id: "c1".into(),
            call_seq: 1,
            turn_index: 1,
            commitment_class: "quote".into(),
            verdict: verdict.into(),
            ..CallGateDecision::default()
        }];
        r.speak_receipts = vec![SpeakReceipt {
            call_id: "c1".into(),
            call_seq: seq,
            turn_index: 1,
            commitment_class: "quote".into(),
            say_token_id: token.into(),
            spoken_digest: "A".repeat(64),
            emitted_at: GoTime::from_unix(1_770_000_000, 0),
        }];
        r
    }

    #[test]
    fn speak_boundary_and_allow_before_speak() {
        assert!(normalize_record(gated(record(), "ALLOW", "tok")).is_ok());
        let e = normalize_record(gated(record(), "allow", "other")).unwrap_err();
        assert!(e.contains("say_token_id mismatch"), "{e}");
        let e = normalize_record(gated(record(), "block", "tok")).unwrap_err();
        assert!(e.contains("latest prior gate verdict is block"), "{e}");
        let mut r = gated(record(), "allow", "tok");
        r.speak_receipts.clear();
        assert!(
            normalize_record(r)
                .unwrap_err()
                .contains("no speak receipt")
        );
        let mut r = gated(record(), "allow", "tok");
        r.gate_decisions.clear();
        assert!(
            normalize_record(r)
                .unwrap_err()
                .contains("no prior gate decision")
        );
    }

    #[test]
    fn references_drop_invalid_and_duplicates() {
        let refs = normalize_references(vec![
            ReferenceDigest {
                ref_id: " b ".into(),
                sha256: "A".repeat(64),
            },
            ReferenceDigest {
                ref_id: "b".into(),
                sha256: "a".repeat(64),
            },
            ReferenceDigest {
                ref_id: "x".into(),
                sha256: "nothex".into(),
            },
            ReferenceDigest {
                ref_id: " ".into(),
                sha256: "a".repeat(64),
            },
            ReferenceDigest {
                ref_id: "a".into(),
                sha256: "b".repeat(64),
            },
        ]);
        let ids: Vec<&str> = refs.iter().map(|r| r.ref_id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
    }

    #[test]
    fn commitment_normalization() {
        let c = CommitmentIntent {
            created_at: GoTime::from_unix(1_770_000_000, 0),
            call_id: "c1".into(),
            call_seq: 2,
            commitment_class: " Quote ".into(),
            currency: "usd".into(),
            context: CommitmentContext {
                identity: "a".into(),
                workspace: "w".into(),
                risk_class: "HIGH".into(),
                ..CommitmentContext::default()
            },
            approval_artifact_refs: vec![" b".into(), "a".into(), "b".into(), " ".into()],
            evidence_reference_digests: vec!["X".into(), "C".repeat(64)],
            ..CommitmentIntent::default()
        };
        let n = normalize_commitment(c.clone(), "c1").unwrap();
        assert_eq!(n.commitment_class, "quote");
        assert_eq!(n.currency, "USD");
        assert_eq!(n.context.risk_class, "high");
        assert_eq!(n.approval_artifact_refs, vec!["a", "b"]);
        assert_eq!(n.evidence_reference_digests, vec!["c".repeat(64)]);
        let mut bad = c.clone();
        bad.quote_min_cents = 10;
        bad.quote_max_cents = 5;
        assert!(normalize_commitment(bad, "c1").is_err());
        let mut bad = c;
        bad.context.identity = " ".into();
        assert!(normalize_commitment(bad, "c1").is_err());
    }
}
