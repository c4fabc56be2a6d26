//! Journal records: the header, events, the state cache, and how an
//! appended event is normalized.

use std::collections::BTreeSet;

use gait_digest::GoTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    SESSION_EVENT_SCHEMA_ID, SESSION_JOURNAL_SCHEMA_ID, SESSION_STATE_SCHEMA_ID, SessionError,
};
use crate::runpack::{
    AgentLink, KindId, PolicyRef, RelationshipEdge, RelationshipEnvelope, SESSION_SCHEMA_VERSION,
};

/// A decision verdict as journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionVerdict {
    /// The call may run.
    Allow,
    /// The call was blocked.
    Block,
    /// A simulation: the call did not run.
    DryRun,
    /// The call needs an approval.
    RequireApproval,
}

impl SessionVerdict {
    /// `allow`, `block`, `dry_run` or `require_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionVerdict::Allow => "allow",
            SessionVerdict::Block => "block",
            SessionVerdict::DryRun => "dry_run",
            SessionVerdict::RequireApproval => "require_approval",
        }
    }

    /// Parses a verdict, trimmed and case-insensitively (the reference's
    /// `--verdict` rule).
    pub fn parse(text: &str) -> Result<Self, SessionError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "allow" => Ok(SessionVerdict::Allow),
            "block" => Ok(SessionVerdict::Block),
            "dry_run" => Ok(SessionVerdict::DryRun),
            "require_approval" => Ok(SessionVerdict::RequireApproval),
            _ => Err(SessionError::Invalid(
                "unsupported --verdict value (expected allow|block|dry_run|require_approval)"
                    .to_owned(),
            )),
        }
    }

    /// The exact stored form (no trimming, lowercase only): what a journal
    /// line must hold.
    pub(crate) fn from_stored(text: &str) -> Option<Self> {
        [
            SessionVerdict::Allow,
            SessionVerdict::Block,
            SessionVerdict::DryRun,
            SessionVerdict::RequireApproval,
        ]
        .into_iter()
        .find(|v| v.as_str() == text)
    }
}

/// The runpack result status of a verdict: `error` for block and
/// require_approval, `ok` for allow and dry_run.
pub fn checkpoint_status(verdict: SessionVerdict) -> &'static str {
    match verdict {
        SessionVerdict::Block | SessionVerdict::RequireApproval => "error",
        SessionVerdict::Allow | SessionVerdict::DryRun => "ok",
    }
}

/// The journal's first record (`gait.runpack.session_journal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JournalHeader {
    /// `gait.runpack.session_journal`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When the journal was created.
    pub created_at: GoTime,
    /// The producing binary's version.
    #[serde(default)]
    pub producer_version: String,
    /// The session.
    pub session_id: String,
    /// The session's run.
    pub run_id: String,
    /// When the session started.
    pub started_at: GoTime,
    /// `[]` when written by start, `null` after a reference compaction;
    /// ignored when read.
    #[serde(default)]
    pub events: Option<Vec<Value>>,
    /// Ignored when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<Vec<Value>>,
}

impl JournalHeader {
    pub(crate) fn new(session_id: &str, run_id: &str, producer: &str, now: GoTime) -> Self {
        Self {
            schema_id: SESSION_JOURNAL_SCHEMA_ID.to_owned(),
            schema_version: SESSION_SCHEMA_VERSION.to_owned(),
            created_at: now,
            producer_version: producer.to_owned(),
            session_id: session_id.to_owned(),
            run_id: run_id.to_owned(),
            started_at: now,
            events: Some(Vec::new()),
            checkpoints: None,
        }
    }
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// One journaled decision (`gait.runpack.session_event`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionEvent {
    /// `gait.runpack.session_event`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When the event was appended.
    pub created_at: GoTime,
    /// The producing binary's version.
    #[serde(default)]
    pub producer_version: String,
    /// The session.
    pub session_id: String,
    /// The session's run.
    pub run_id: String,
    /// 1-based, consecutive across the journal (and across compactions).
    pub sequence: i64,
    /// The intent id, when known.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub intent_id: String,
    /// The tool.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tool_name: String,
    /// The intent digest (64 lowercase hex), when known.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub intent_digest: String,
    /// The policy digest (64 lowercase hex), when known.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub policy_digest: String,
    /// The policy id.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub policy_id: String,
    /// The policy version.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub policy_version: String,
    /// The matched rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_rule_ids: Vec<String>,
    /// The trace id.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub trace_id: String,
    /// The trace file.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub trace_path: String,
    /// `allow`, `block`, `dry_run` or `require_approval`.
    #[serde(default)]
    pub verdict: String,
    /// Reason codes (sorted, unique).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
    /// Violations (sorted, unique).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// The relationship envelope (passed through when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<Value>,
    /// The job's safety invariant version.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub safety_invariant_version: String,
    /// The job's safety invariant hash.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub safety_invariant_hash: String,
}

impl SessionEvent {
    /// The verdict (journals hold only the four stored forms).
    pub fn verdict(&self) -> Option<SessionVerdict> {
        SessionVerdict::from_stored(&self.verdict)
    }
}

/// What `append` journals: the normalization rules of the reference
/// (trimmed values, lowercased digests, sorted unique lists) are applied
/// when the event is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventInput {
    /// The tool (required).
    pub tool_name: String,
    /// The verdict.
    pub verdict: SessionVerdict,
    /// The intent id.
    pub intent_id: String,
    /// The trace id.
    pub trace_id: String,
    /// The trace file.
    pub trace_path: String,
    /// The intent digest (64 hex, any case).
    pub intent_digest: String,
    /// The policy digest (64 hex, any case).
    pub policy_digest: String,
    /// The policy id.
    pub policy_id: String,
    /// The policy version.
    pub policy_version: String,
    /// The matched rules.
    pub matched_rule_ids: Vec<String>,
    /// Reason codes.
    pub reason_codes: Vec<String>,
    /// Violations.
    pub violations: Vec<String>,
    /// The delegation chain of the calling agent.
    pub agent_chain: Vec<AgentLink>,
    /// The calling agent (a `calls` edge to the tool).
    pub actor: Option<KindId>,
    /// The job's safety invariant version.
    pub safety_invariant_version: String,
    /// The job's safety invariant hash.
    pub safety_invariant_hash: String,
}

impl EventInput {
    /// An event for `tool_name` with `verdict` and nothing else.
    pub fn new(tool_name: &str, verdict: SessionVerdict) -> Self {
        Self {
            tool_name: tool_name.to_owned(),
            verdict,
            intent_id: String::new(),
            trace_id: String::new(),
            trace_path: String::new(),
            intent_digest: String::new(),
            policy_digest: String::new(),
            policy_id: String::new(),
            policy_version: String::new(),
            matched_rule_ids: Vec::new(),
            reason_codes: Vec::new(),
            violations: Vec::new(),
            agent_chain: Vec::new(),
            actor: None,
            safety_invariant_version: String::new(),
            safety_invariant_hash: String::new(),
        }
    }

    /// Sets the intent id, trace id and trace path.
    #[must_use]
    pub fn with_trace(mut self, intent_id: &str, trace_id: &str, trace_path: &str) -> Self {
        intent_id.clone_into(&mut self.intent_id);
        trace_id.clone_into(&mut self.trace_id);
        trace_path.clone_into(&mut self.trace_path);
        self
    }

    /// Sets the intent and policy digests.
    #[must_use]
    pub fn with_digests(mut self, intent_digest: &str, policy_digest: &str) -> Self {
        intent_digest.clone_into(&mut self.intent_digest);
        policy_digest.clone_into(&mut self.policy_digest);
        self
    }

    /// Sets the policy id, version and matched rules.
    #[must_use]
    pub fn with_policy(mut self, id: &str, version: &str, matched_rule_ids: Vec<String>) -> Self {
        id.clone_into(&mut self.policy_id);
        version.clone_into(&mut self.policy_version);
        self.matched_rule_ids = matched_rule_ids;
        self
    }

    /// Sets the reason codes and violations.
    #[must_use]
    pub fn with_reasons(mut self, reason_codes: Vec<String>, violations: Vec<String>) -> Self {
        self.reason_codes = reason_codes;
        self.violations = violations;
        self
    }

    /// Sets the agent chain and the calling agent.
    #[must_use]
    pub fn with_agents(mut self, agent_chain: Vec<AgentLink>, actor: Option<KindId>) -> Self {
        self.agent_chain = agent_chain;
        self.actor = actor;
        self
    }

    /// Takes the agent chain and the calling agent (the `from` of the
    /// `calls` edge) from a decision's relationship envelope (a trace's
    /// `relationship`); members that are not strings are ignored.
    #[must_use]
    pub fn with_decision_relationship(mut self, relationship: Option<&Value>) -> Self {
        let Some(rel) = relationship.and_then(Value::as_object) else {
            return self;
        };
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        if let Some(chain) = rel.get("agent_chain").and_then(Value::as_array) {
            self.agent_chain = chain
                .iter()
                .map(|a| AgentLink {
                    identity: text(a, "identity"),
                    role: text(a, "role"),
                })
                .filter(|a| !a.identity.is_empty())
                .collect();
        }
        self.actor = rel
            .get("edges")
            .and_then(Value::as_array)
            .and_then(|edges| {
                edges
                    .iter()
                    .find(|e| e.get("kind").and_then(Value::as_str) == Some("calls"))
            })
            .and_then(|e| e.get("from"))
            .map(|f| kind_id(&text(f, "kind"), &text(f, "id")))
            .filter(|k| !k.id.is_empty());
        self
    }

    /// Sets the job's safety invariant version and hash.
    #[must_use]
    pub fn with_safety_invariant(mut self, version: &str, hash: &str) -> Self {
        version.clone_into(&mut self.safety_invariant_version);
        hash.clone_into(&mut self.safety_invariant_hash);
        self
    }

    /// The event as journaled, with `sequence` and the session's ids.
    ///
    /// Digests must be 64 hex characters when given (stored lowercase);
    /// the tool is required; text values are trimmed and may not hold
    /// control characters.
    pub(crate) fn normalize(
        &self,
        session_id: &str,
        run_id: &str,
        sequence: i64,
        producer: &str,
        now: GoTime,
    ) -> Result<SessionEvent, SessionError> {
        let text = |field: &str, v: &str| -> Result<String, SessionError> {
            let v = v.trim();
            gait_digest::check_identifier(field, v)
                .map_err(|e| SessionError::Invalid(e.to_string()))?;
            Ok(v.to_owned())
        };
        let digest = |field: &str, v: &str| -> Result<String, SessionError> {
            let v = v.trim().to_ascii_lowercase();
            if !v.is_empty() && !is_hex64(&v) {
                return Err(SessionError::Invalid(format!(
                    "{field} must be 64 hex characters"
                )));
            }
            Ok(v)
        };
        let tool_name = text("tool", &self.tool_name)?;
        if tool_name.is_empty() {
            return Err(SessionError::Invalid("tool is required".to_owned()));
        }
        let list = |field: &str, items: &[String]| -> Result<Vec<String>, SessionError> {
            let mut set = BTreeSet::new();
            for i in items {
                let i = text(field, i)?;
                if !i.is_empty() {
                    set.insert(i);
                }
            }
            Ok(set.into_iter().collect())
        };
        let mut event = SessionEvent {
            schema_id: SESSION_EVENT_SCHEMA_ID.to_owned(),
            schema_version: SESSION_SCHEMA_VERSION.to_owned(),
            created_at: now,
            producer_version: producer.to_owned(),
            session_id: session_id.to_owned(),
            run_id: run_id.to_owned(),
            sequence,
            intent_id: text("intent_id", &self.intent_id)?,
            tool_name,
            intent_digest: digest("intent_digest", &self.intent_digest)?,
            policy_digest: digest("policy_digest", &self.policy_digest)?,
            policy_id: text("policy_id", &self.policy_id)?,
            policy_version: text("policy_version", &self.policy_version)?,
            matched_rule_ids: list("matched_rule_ids", &self.matched_rule_ids)?,
            trace_id: text("trace_id", &self.trace_id)?,
            trace_path: text("trace_path", &self.trace_path)?,
            verdict: self.verdict.as_str().to_owned(),
            reason_codes: list("reason_codes", &self.reason_codes)?,
            violations: list("violations", &self.violations)?,
            relationship: None,
            safety_invariant_version: text(
                "safety_invariant_version",
                &self.safety_invariant_version,
            )?,
            safety_invariant_hash: digest("safety_invariant_hash", &self.safety_invariant_hash)?,
        };
        let rel = event_relationship(&event, &self.agent_chain, self.actor.as_ref());
        event.relationship = Some(to_value(&rel)?);
        Ok(event)
    }
}

pub(crate) fn to_value<T: Serialize>(v: &T) -> Result<Value, SessionError> {
    serde_json::to_value(v)
        .map_err(|e| SessionError::Invalid(format!("encode session record: {e}")))
}

pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn kind_id(kind: &str, id: &str) -> KindId {
    KindId {
        kind: kind.to_owned(),
        id: id.to_owned(),
    }
}

/// Entity refs sorted by kind then id, empty ids dropped, duplicates
/// removed; and their sorted unique ids.
pub(crate) fn entity_refs(refs: &[(&str, &str)]) -> (Vec<KindId>, Vec<String>) {
    let set: BTreeSet<(String, String)> = refs
        .iter()
        .filter(|(_, id)| !id.is_empty())
        .map(|(k, id)| ((*k).to_owned(), (*id).to_owned()))
        .collect();
    let ids: BTreeSet<String> = set.iter().map(|(_, id)| id.clone()).collect();
    (
        set.into_iter().map(|(k, id)| kind_id(&k, &id)).collect(),
        ids.into_iter().collect(),
    )
}

/// The relationship envelope of an event: parent session; run, tool,
/// trace and policy entities; the policy reference; the agent chain;
/// `governed_by` tool→policy and `calls` actor→tool edges.
fn event_relationship(
    e: &SessionEvent,
    agent_chain: &[AgentLink],
    actor: Option<&KindId>,
) -> RelationshipEnvelope {
    let (entity_refs, related_entity_ids) = entity_refs(&[
        ("run", &e.run_id),
        ("tool", &e.tool_name),
        ("trace", &e.trace_id),
        ("policy", &e.policy_digest),
    ]);
    let policy_ref = (!e.policy_id.is_empty()
        || !e.policy_version.is_empty()
        || !e.policy_digest.is_empty()
        || !e.matched_rule_ids.is_empty())
    .then(|| PolicyRef {
        policy_id: e.policy_id.clone(),
        policy_version: e.policy_version.clone(),
        policy_digest: e.policy_digest.clone(),
        matched_rule_ids: e.matched_rule_ids.clone(),
    });
    let mut edges = Vec::new();
    if !e.tool_name.is_empty() && !e.policy_digest.is_empty() {
        edges.push(RelationshipEdge {
            kind: "governed_by".to_owned(),
            from: kind_id("tool", &e.tool_name),
            to: kind_id("policy", &e.policy_digest),
        });
    }
    if let Some(actor) = actor.filter(|a| !a.id.is_empty()) {
        edges.push(RelationshipEdge {
            kind: "calls".to_owned(),
            from: actor.clone(),
            to: kind_id("tool", &e.tool_name),
        });
    }
    RelationshipEnvelope {
        parent_ref: Some(kind_id("session", &e.session_id)),
        entity_refs,
        policy_ref,
        agent_chain: agent_chain.to_vec(),
        edges,
        parent_record_id: e.session_id.clone(),
        related_entity_ids,
        ..RelationshipEnvelope::default()
    }
}

/// The relationship envelope of a checkpoint record.
pub(crate) fn checkpoint_relationship(
    session_id: &str,
    run_id: &str,
    cp_run_id: &str,
    checkpoint_digest: &str,
    manifest_digest: &str,
) -> RelationshipEnvelope {
    let (entity_refs, related_entity_ids) = entity_refs(&[
        ("run", run_id),
        ("run", cp_run_id),
        ("evidence", checkpoint_digest),
        ("evidence", manifest_digest),
    ]);
    RelationshipEnvelope {
        parent_ref: Some(kind_id("session", session_id)),
        entity_refs,
        edges: vec![RelationshipEdge {
            kind: "derived_from".to_owned(),
            from: kind_id("evidence", checkpoint_digest),
            to: kind_id("run", cp_run_id),
        }],
        parent_record_id: session_id.to_owned(),
        related_entity_ids,
        ..RelationshipEnvelope::default()
    }
}

/// The state cache, `J.state.json` (`gait.runpack.session_state`).
///
/// Only a cache: every operation reads the journal strictly and rewrites
/// the cache when it differs from what the journal says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionState {
    /// `gait.runpack.session_state`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// When the cache was written.
    pub updated_at: GoTime,
    /// The producing binary's version.
    #[serde(default)]
    pub producer_version: String,
    /// The session.
    pub session_id: String,
    /// The session's run.
    pub run_id: String,
    /// The journal's creation time.
    pub created_at: GoTime,
    /// The session's start time.
    pub started_at: GoTime,
    /// Events in the journal file.
    pub event_count: i64,
    /// The last sequence used (events or checkpoint ranges).
    pub last_sequence: i64,
    /// Checkpoints in the journal.
    pub checkpoint_count: i64,
    /// The last checkpoint's index (0 when none).
    pub last_checkpoint_index: i64,
    /// The last checkpoint's `sequence_end` (0 when none).
    pub last_checkpoint_sequence: i64,
    /// The last checkpoint's digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_checkpoint_digest: String,
    /// The journal's size when the cache was written.
    pub journal_size_bytes: i64,
}

impl SessionState {
    pub(crate) fn schema() -> (String, String) {
        (
            SESSION_STATE_SCHEMA_ID.to_owned(),
            SESSION_SCHEMA_VERSION.to_owned(),
        )
    }

    /// Whether two caches say the same about the journal (the write time
    /// and producer are not compared).
    pub fn same_counters(&self, other: &SessionState) -> bool {
        let strip = |s: &SessionState| SessionState {
            updated_at: GoTime::default(),
            producer_version: String::new(),
            ..s.clone()
        };
        strip(self) == strip(other)
    }
}
