//! The runpack's records as the reference's Go structs hold them.
//!
//! Serializing a record gives the reference's JSON projection: fields in
//! the reference's set (unknown input members are dropped), `omitempty`
//! fields left out when empty, an absent `timeline` (or manifest `files`)
//! written as `null`, and times in Go's RFC 3339 form ([`GoTime`]).
//! Canonicalizing that projection ([`gait_digest::canonical`]) gives the
//! exact bytes the reference writes.

use gait_digest::{GoTime, is_go_empty};
use gait_sign::SignatureEnvelope;
use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::Obj;

/// `omitempty` for a `map[string]any`: nil or empty maps are left out.
fn map_is_empty(m: &Option<Map<String, Value>>) -> bool {
    m.as_ref().is_none_or(Map::is_empty)
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Run {
    /// `gait.runpack.run`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When the run was recorded.
    pub created_at: GoTime,
    /// The producing Gait's version.
    pub producer_version: String,
    /// The run id.
    pub run_id: String,
    /// Where the run happened.
    pub env: RunEnv,
    /// Timeline events; `None` is written as `null`.
    pub timeline: Option<Vec<TimelineEvent>>,
}

/// `run.env`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct RunEnv {
    /// Operating system (Go's `GOOS` names).
    pub os: String,
    /// Architecture (Go's `GOARCH` names).
    pub arch: String,
    /// Runtime.
    pub runtime: String,
}

/// One `run.timeline` event.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct TimelineEvent {
    /// What happened.
    pub event: String,
    /// When.
    pub ts: GoTime,
    /// What it refers to.
    #[serde(rename = "ref", skip_serializing_if = "is_go_empty")]
    pub reference: String,
    /// Its relationships.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<RelationshipEnvelope>,
}

/// The reference's relationship envelope (passed through as typed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct RelationshipEnvelope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_ref: Option<KindId>,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub entity_refs: Vec<KindId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_ref: Option<PolicyRef>,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub agent_chain: Vec<AgentLink>,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub edges: Vec<RelationshipEdge>,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub parent_record_id: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub related_record_ids: Vec<String>,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub related_entity_ids: Vec<String>,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub agent_lineage: Vec<AgentLineage>,
}

/// `{kind, id}` (node and entity references).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct KindId {
    pub kind: String,
    pub id: String,
}

/// A policy reference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct PolicyRef {
    #[serde(skip_serializing_if = "is_go_empty")]
    pub policy_id: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub policy_version: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub policy_digest: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub matched_rule_ids: Vec<String>,
}

/// One link of an agent chain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct AgentLink {
    pub identity: String,
    pub role: String,
}

/// A relationship edge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct RelationshipEdge {
    pub kind: String,
    pub from: KindId,
    pub to: KindId,
}

/// One agent lineage entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct AgentLineage {
    pub agent_id: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub delegated_by: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub delegation_record_id: String,
}

/// One line of `intents.jsonl`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct IntentRecord {
    /// `gait.runpack.intent`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When.
    pub created_at: GoTime,
    /// The producing Gait's version.
    pub producer_version: String,
    /// The run id.
    pub run_id: String,
    /// The intent id.
    pub intent_id: String,
    /// The tool called.
    pub tool_name: String,
    /// SHA-256 of the canonical arguments.
    pub args_digest: String,
    /// The raw arguments (raw capture only); `Some({})` is distinct from
    /// `None` when digesting, but neither is written.
    #[serde(skip_serializing_if = "map_is_empty")]
    pub args: Option<Map<String, Value>>,
}

/// One line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ResultRecord {
    /// `gait.runpack.result`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When.
    pub created_at: GoTime,
    /// The producing Gait's version.
    pub producer_version: String,
    /// The run id.
    pub run_id: String,
    /// The intent this result answers.
    pub intent_id: String,
    /// `ok` or `error` (not enforced, as in the reference).
    pub status: String,
    /// SHA-256 of the canonical result.
    pub result_digest: String,
    /// The raw result (raw capture only).
    #[serde(skip_serializing_if = "map_is_empty")]
    pub result: Option<Map<String, Value>>,
}

/// `refs.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Refs {
    /// `gait.runpack.refs`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When.
    pub created_at: GoTime,
    /// The producing Gait's version.
    pub producer_version: String,
    /// The run id.
    pub run_id: String,
    /// Digest of the context set, if any.
    #[serde(skip_serializing_if = "is_go_empty")]
    pub context_set_digest: String,
    /// `best_effort` or `required`.
    #[serde(skip_serializing_if = "is_go_empty")]
    pub context_evidence_mode: String,
    /// Number of context references.
    #[serde(skip_serializing_if = "is_go_empty")]
    pub context_ref_count: i64,
    /// Reference receipts.
    pub receipts: Vec<RefReceipt>,
}

/// One reference receipt.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct RefReceipt {
    pub ref_id: String,
    pub source_type: String,
    pub source_locator: String,
    pub query_digest: String,
    pub content_digest: String,
    pub retrieved_at: GoTime,
    pub redaction_mode: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub immutability: String,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub freshness_sla_seconds: i64,
    #[serde(skip_serializing_if = "is_go_empty")]
    pub sensitivity_label: String,
    #[serde(skip_serializing_if = "map_is_empty")]
    pub retrieval_params: Option<Map<String, Value>>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Manifest {
    /// `gait.runpack.manifest`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// The run's `created_at`.
    pub created_at: GoTime,
    /// The run's producer version.
    pub producer_version: String,
    /// The run id.
    pub run_id: String,
    /// `reference` or `raw`.
    pub capture_mode: String,
    /// Declared files, sorted by path; `None` is written as `null`.
    pub files: Option<Vec<ManifestFile>>,
    /// SHA-256 of the canonical manifest without digest and signatures.
    pub manifest_digest: String,
    /// Signatures over the manifest.
    #[serde(skip_serializing_if = "is_go_empty")]
    pub signatures: Vec<SignatureEnvelope>,
}

/// One declared file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct ManifestFile {
    /// The entry name.
    pub path: String,
    /// SHA-256 of the entry's bytes (hex).
    pub sha256: String,
}

impl ManifestFile {
    /// A declared file.
    pub fn new(path: &str, sha256: &str) -> Self {
        Self {
            path: path.to_owned(),
            sha256: sha256.to_owned(),
        }
    }
}

impl Manifest {
    /// The manifest digest: SHA-256 of the canonical projection with an
    /// empty `manifest_digest` and no signatures.
    pub fn compute_digest(&self) -> String {
        let mut m = self.clone();
        m.manifest_digest = String::new();
        m.signatures = Vec::new();
        gait_digest::digest_serialize(&m)
            .map(|d| d.to_hex())
            .unwrap_or_default()
    }
}

/// Serializes a record as canonical JSON (its Go projection, RFC 8785).
pub fn canonical_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Records hold only strings, integers, times and JSON maps: they always
    // serialize.
    gait_digest::canonical::to_vec_from(value).unwrap_or_default()
}

// ---- decoding -------------------------------------------------------------

type R<T> = Result<T, String>;

fn each_obj<T: Default>(v: &Value, o: &Obj<'_>, f: impl Fn(Obj<'_>) -> R<T>) -> R<T> {
    match Obj::of(v, o.path(), o.keys())? {
        None => Ok(T::default()),
        Some(inner) => f(inner),
    }
}

fn kind_id(o: Obj<'_>) -> R<KindId> {
    Ok(KindId {
        kind: o.string("kind")?,
        id: o.string("id")?,
    })
}

fn relationship(o: Obj<'_>) -> R<RelationshipEnvelope> {
    Ok(RelationshipEnvelope {
        parent_ref: o.object("parent_ref")?.map(kind_id).transpose()?,
        entity_refs: o
            .list("entity_refs", |v| each_obj(v, &o, kind_id))?
            .unwrap_or_default(),
        policy_ref: o
            .object("policy_ref")?
            .map(|p| -> R<PolicyRef> {
                Ok(PolicyRef {
                    policy_id: p.string("policy_id")?,
                    policy_version: p.string("policy_version")?,
                    policy_digest: p.string("policy_digest")?,
                    matched_rule_ids: p.strings("matched_rule_ids")?,
                })
            })
            .transpose()?,
        agent_chain: o
            .list("agent_chain", |v| {
                each_obj(v, &o, |a| {
                    Ok(AgentLink {
                        identity: a.string("identity")?,
                        role: a.string("role")?,
                    })
                })
            })?
            .unwrap_or_default(),
        edges: o
            .list("edges", |v| {
                each_obj(v, &o, |e| {
                    Ok(RelationshipEdge {
                        kind: e.string("kind")?,
                        from: e
                            .object("from")?
                            .map(kind_id)
                            .transpose()?
                            .unwrap_or_default(),
                        to: e
                            .object("to")?
                            .map(kind_id)
                            .transpose()?
                            .unwrap_or_default(),
                    })
                })
            })?
            .unwrap_or_default(),
        parent_record_id: o.string("parent_record_id")?,
        related_record_ids: o.strings("related_record_ids")?,
        related_entity_ids: o.strings("related_entity_ids")?,
        agent_lineage: o
            .list("agent_lineage", |v| {
                each_obj(v, &o, |a| {
                    Ok(AgentLineage {
                        agent_id: a.string("agent_id")?,
                        delegated_by: a.string("delegated_by")?,
                        delegation_record_id: a.string("delegation_record_id")?,
                    })
                })
            })?
            .unwrap_or_default(),
    })
}

impl Run {
    pub(crate) fn decode(o: Obj<'_>) -> R<Self> {
        let env = match o.object("env")? {
            None => RunEnv::default(),
            Some(e) => RunEnv {
                os: e.string("os")?,
                arch: e.string("arch")?,
                runtime: e.string("runtime")?,
            },
        };
        Ok(Self {
            schema_id: o.string("schema_id")?,
            schema_version: o.string("schema_version")?,
            created_at: o.time("created_at")?,
            producer_version: o.string("producer_version")?,
            run_id: o.string("run_id")?,
            env,
            timeline: o.list("timeline", |v| {
                each_obj(v, &o, |t| {
                    Ok(TimelineEvent {
                        event: t.string("event")?,
                        ts: t.time("ts")?,
                        reference: t.string("ref")?,
                        relationship: t.object("relationship")?.map(relationship).transpose()?,
                    })
                })
            })?,
        })
    }
}

impl IntentRecord {
    pub(crate) fn decode(o: Obj<'_>) -> R<Self> {
        Ok(Self {
            schema_id: o.string("schema_id")?,
            schema_version: o.string("schema_version")?,
            created_at: o.time("created_at")?,
            producer_version: o.string("producer_version")?,
            run_id: o.string("run_id")?,
            intent_id: o.string("intent_id")?,
            tool_name: o.string("tool_name")?,
            args_digest: o.string("args_digest")?,
            args: o.map("args")?,
        })
    }
}

impl ResultRecord {
    pub(crate) fn decode(o: Obj<'_>) -> R<Self> {
        Ok(Self {
            schema_id: o.string("schema_id")?,
            schema_version: o.string("schema_version")?,
            created_at: o.time("created_at")?,
            producer_version: o.string("producer_version")?,
            run_id: o.string("run_id")?,
            intent_id: o.string("intent_id")?,
            status: o.string("status")?,
            result_digest: o.string("result_digest")?,
            result: o.map("result")?,
        })
    }
}

impl RefReceipt {
    pub(crate) fn decode(o: Obj<'_>) -> R<Self> {
        Ok(Self {
            ref_id: o.string("ref_id")?,
            source_type: o.string("source_type")?,
            source_locator: o.string("source_locator")?,
            query_digest: o.string("query_digest")?,
            content_digest: o.string("content_digest")?,
            retrieved_at: o.time("retrieved_at")?,
            redaction_mode: o.string("redaction_mode")?,
            immutability: o.string("immutability")?,
            freshness_sla_seconds: o.int("freshness_sla_seconds")?,
            sensitivity_label: o.string("sensitivity_label")?,
            retrieval_params: o.map("retrieval_params")?,
        })
    }
}

impl Refs {
    pub(crate) fn decode(o: Obj<'_>) -> R<Self> {
        Ok(Self {
            schema_id: o.string("schema_id")?,
            schema_version: o.string("schema_version")?,
            created_at: o.time("created_at")?,
            producer_version: o.string("producer_version")?,
            run_id: o.string("run_id")?,
            context_set_digest: o.string("context_set_digest")?,
            context_evidence_mode: o.string("context_evidence_mode")?,
            context_ref_count: o.int("context_ref_count")?,
            receipts: o
                .list("receipts", |v| each_obj(v, &o, RefReceipt::decode))?
                .unwrap_or_default(),
        })
    }
}

pub(crate) fn decode_signature(o: Obj<'_>) -> R<SignatureEnvelope> {
    let mut env = SignatureEnvelope::default();
    env.alg = o.string("alg")?;
    env.key_id = o.string("key_id")?;
    env.sig = o.string("sig")?;
    env.signed_digest = o.string("signed_digest")?;
    Ok(env)
}

impl Manifest {
    pub(crate) fn decode(o: Obj<'_>) -> R<Self> {
        Ok(Self {
            schema_id: o.string("schema_id")?,
            schema_version: o.string("schema_version")?,
            created_at: o.time("created_at")?,
            producer_version: o.string("producer_version")?,
            run_id: o.string("run_id")?,
            capture_mode: o.string("capture_mode")?,
            files: o.list("files", |v| {
                each_obj(v, &o, |f| {
                    Ok(ManifestFile {
                        path: f.string("path")?,
                        sha256: f.string("sha256")?,
                    })
                })
            })?,
            manifest_digest: o.string("manifest_digest")?,
            signatures: o
                .list("signatures", |v| each_obj(v, &o, decode_signature))?
                .unwrap_or_default(),
        })
    }
}
