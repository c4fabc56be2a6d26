//! The JSON forms of a normalized intent, with the reference's Go
//! `omitempty` rules: which keys are present decides every digest.
//!
//! * Strings, lists and integers tagged `omitempty` are left out when
//!   empty or zero; booleans when false.
//! * Times are never left out: an unset time inside a present object is
//!   written as `0001-01-01T00:00:00Z`.
//! * `targets` is always present (`[]` allowed); in a target `kind`,
//!   `value`, `endpoint_class` and `discovery_method` are always present;
//!   in the context `identity`, `workspace`, `risk_class` and `phase` are.

use gait_digest::GoTime;
use serde_json::{Map, Value};

use super::model::{
    AgentIdentity, ArgProvenance, Context, Delegation, DelegationLink, Relationship,
    RelationshipRef, Sandbox, Script, ScriptStep, SkillProvenance, Target,
};

/// Builds a JSON object with Go's omit-empty rules.
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Self {
        Obj(Map::new())
    }
    /// Always present.
    fn put(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }
    /// `omitempty` string.
    fn str(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.put(key, value)
        }
    }
    /// `omitempty` bool.
    fn flag(self, key: &str, value: bool) -> Self {
        if value { self.put(key, true) } else { self }
    }
    /// `omitempty` integer.
    fn int(self, key: &str, value: i64) -> Self {
        if value == 0 {
            self
        } else {
            self.put(key, value)
        }
    }
    /// `omitempty` list of strings.
    fn strings(self, key: &str, values: &[String]) -> Self {
        if values.is_empty() {
            self
        } else {
            self.put(key, values.to_vec())
        }
    }
    /// `omitempty` list of objects.
    fn list<T>(self, key: &str, items: &[T], f: fn(&T) -> Value) -> Self {
        if items.is_empty() {
            self
        } else {
            self.put(key, Value::Array(items.iter().map(f).collect()))
        }
    }
    /// `omitempty` pointer.
    fn opt(self, key: &str, value: Option<Value>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }
    /// A `time.Time` (never omitted).
    fn time(self, key: &str, value: Option<&GoTime>) -> Self {
        let text = value.copied().unwrap_or(GoTime::ZERO).format();
        self.put(key, text)
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

pub(crate) fn target(t: &Target) -> Value {
    Obj::new()
        .put("kind", t.kind.as_str())
        .put("value", t.value.as_str())
        .str("operation", &t.operation)
        .str("sensitivity", &t.sensitivity)
        .put("endpoint_class", t.endpoint_class.as_str())
        .str("endpoint_domain", &t.endpoint_domain)
        .flag("destructive", t.destructive)
        .put("discovery_method", t.discovery_method.as_str())
        .flag("read_only_hint", t.read_only_hint)
        .flag("destructive_hint", t.destructive_hint)
        .flag("idempotent_hint", t.idempotent_hint)
        .flag("open_world_hint", t.open_world_hint)
        .done()
}

pub(crate) fn arg_provenance(p: &ArgProvenance) -> Value {
    let digest = p.integrity_digest.map(|d| d.to_hex()).unwrap_or_default();
    Obj::new()
        .put("arg_path", p.arg_path.as_str())
        .put("source", p.source.as_str())
        .str("source_ref", &p.source_ref)
        .str("integrity_digest", &digest)
        .done()
}

fn script_step(s: &ScriptStep) -> Value {
    Obj::new()
        .put("tool_name", s.tool_name.as_str())
        .put("args", Value::Object(s.args.clone()))
        .list("targets", &s.targets, target)
        .list("arg_provenance", &s.arg_provenance, arg_provenance)
        .done()
}

/// `{"steps":[...]}`, the value `script_hash` digests.
pub(crate) fn script(s: &Script) -> Value {
    Obj::new()
        .put(
            "steps",
            Value::Array(s.steps.iter().map(script_step).collect()),
        )
        .done()
}

fn skill_provenance(s: &SkillProvenance) -> Value {
    let digest = s.digest.map(|d| d.to_hex()).unwrap_or_default();
    Obj::new()
        .put("skill_name", s.skill_name.as_str())
        .str("skill_version", &s.skill_version)
        .put("source", s.source.as_str())
        .put("publisher", s.publisher.as_str())
        .str("digest", &digest)
        .str("signature_key_id", &s.signature_key_id)
        .done()
}

fn delegation_link(l: &DelegationLink) -> Value {
    Obj::new()
        .put("delegator_identity", l.delegator_identity.as_str())
        .put("delegate_identity", l.delegate_identity.as_str())
        .str("scope_class", &l.scope_class)
        .str("token_ref", &l.token_ref)
        .time("issued_at", l.issued_at.as_ref())
        .time("expires_at", l.expires_at.as_ref())
        .done()
}

/// The delegation as the reference marshals it (also what a trace's
/// `delegation_ref.chain_digest` digests).
pub(crate) fn delegation(d: &Delegation) -> Value {
    Obj::new()
        .put("requester_identity", d.requester_identity.as_str())
        .str("scope_class", &d.scope_class)
        .strings("token_refs", &d.token_refs)
        .list("chain", &d.chain, delegation_link)
        .time("issued_at", d.issued_at.as_ref())
        .time("expires_at", d.expires_at.as_ref())
        .done()
}

fn agent_identity(a: &AgentIdentity) -> Value {
    let digest = a.manifest_digest.map(|d| d.to_hex()).unwrap_or_default();
    Obj::new()
        .strings("lifecycle_states", &a.lifecycle_states)
        .str("owner", &a.owner)
        .str("manifest_digest", &digest)
        .str("publisher", &a.publisher)
        .str("source", &a.source)
        .time("issued_at", a.issued_at.as_ref())
        .time("approved_at", a.approved_at.as_ref())
        .time("expires_at", a.expires_at.as_ref())
        .flag("revoked", a.revoked)
        .done()
}

fn sandbox(s: &Sandbox) -> Value {
    let digest = s.evidence_digest.map(|d| d.to_hex()).unwrap_or_default();
    Obj::new()
        .str(
            "network_mode",
            s.network_mode.map(|m| m.as_str()).unwrap_or_default(),
        )
        .strings("writable_paths", &s.writable_paths)
        .strings("read_only_roots", &s.read_only_roots)
        .str(
            "env_exposure_mode",
            s.env_exposure_mode.map(|m| m.as_str()).unwrap_or_default(),
        )
        .int("timeout_seconds", s.timeout_seconds)
        .str(
            "filesystem_isolation",
            s.filesystem_isolation
                .map(|m| m.as_str())
                .unwrap_or_default(),
        )
        .str(
            "user_mode",
            s.user_mode.map(|m| m.as_str()).unwrap_or_default(),
        )
        .str("evidence_ref", &s.evidence_ref)
        .str("evidence_digest", &digest)
        .done()
}

pub(crate) fn context(c: &Context) -> Value {
    let set_digest = c.context_set_digest.map(|d| d.to_hex()).unwrap_or_default();
    let auth = c
        .auth_context
        .as_ref()
        .filter(|m| !m.is_empty())
        .map(|m| Value::Object(m.clone()));
    Obj::new()
        .put("identity", c.identity.as_str())
        .put("workspace", c.workspace.as_str())
        .put("risk_class", c.risk_class.as_str())
        .put("phase", c.phase.as_str())
        .str("agent_id", &c.agent_id)
        .opt(
            "agent_identity",
            c.agent_identity.as_ref().map(agent_identity),
        )
        .str("run_id", &c.run_id)
        .str("workflow_id", &c.workflow_id)
        .str("repo", &c.repo)
        .str("environment", &c.environment)
        .str("job_id", &c.job_id)
        .str("session_id", &c.session_id)
        .str("request_id", &c.request_id)
        .str("credential_ref", &c.credential_ref)
        .str(
            "credential_source",
            c.credential_source.map(|s| s.as_str()).unwrap_or_default(),
        )
        .str(
            "credential_access_type",
            c.credential_access_type
                .map(|s| s.as_str())
                .unwrap_or_default(),
        )
        .str("credential_issuer", &c.credential_issuer)
        .str("credential_subject", &c.credential_subject)
        .str("credential_owner", &c.credential_owner)
        .str("credential_target_binding", &c.credential_target_binding)
        .str("credential_run_binding", &c.credential_run_binding)
        .str("credential_job_binding", &c.credential_job_binding)
        .int("credential_ttl_seconds", c.credential_ttl_seconds)
        .str("approval_ref", &c.approval_ref)
        .str("wrkr_inventory_ref", &c.wrkr_inventory_ref)
        .str("agent_action_bom_ref", &c.agent_action_bom_ref)
        .opt("auth_context", auth)
        .opt("sandbox", c.sandbox.as_ref().map(sandbox))
        .strings("credential_scopes", &c.credential_scopes)
        .str("environment_fingerprint", &c.environment_fingerprint)
        .str("context_set_digest", &set_digest)
        .str(
            "context_evidence_mode",
            c.context_evidence_mode
                .map(|m| m.as_str())
                .unwrap_or_default(),
        )
        .strings("context_refs", &c.context_refs)
        .done()
}

fn node_ref(r: &RelationshipRef) -> Value {
    Obj::new()
        .put("kind", r.kind.as_str())
        .put("id", r.id.as_str())
        .done()
}

pub(crate) fn relationship(r: &Relationship) -> Value {
    let policy_ref = r.policy_ref.as_ref().map(|p| {
        Obj::new()
            .str("policy_id", &p.policy_id)
            .str("policy_version", &p.policy_version)
            .str("policy_digest", &p.policy_digest)
            .strings("matched_rule_ids", &p.matched_rule_ids)
            .done()
    });
    Obj::new()
        .opt("parent_ref", r.parent_ref.as_ref().map(node_ref))
        .list("entity_refs", &r.entity_refs, node_ref)
        .opt("policy_ref", policy_ref)
        .list("agent_chain", &r.agent_chain, |l| {
            Obj::new()
                .put("identity", l.identity.as_str())
                .put("role", l.role.as_str())
                .done()
        })
        .list("edges", &r.edges, |e| {
            Obj::new()
                .put("kind", e.kind.as_str())
                .put("from", node_ref(&e.from))
                .put("to", node_ref(&e.to))
                .done()
        })
        .str("parent_record_id", &r.parent_record_id)
        .strings("related_record_ids", &r.related_record_ids)
        .strings("related_entity_ids", &r.related_entity_ids)
        .list("agent_lineage", &r.agent_lineage, |l| {
            Obj::new()
                .put("agent_id", l.agent_id.as_str())
                .str("delegated_by", &l.delegated_by)
                .str("delegation_record_id", &l.delegation_record_id)
                .done()
        })
        .done()
}

/// The parts of an intent that enter the digest projection.
pub(crate) struct DigestParts<'a> {
    pub(crate) tool_name: &'a str,
    pub(crate) args: &'a Map<String, Value>,
    pub(crate) script: Option<(Value, String)>,
    pub(crate) targets: &'a [Target],
    pub(crate) arg_provenance: &'a [ArgProvenance],
    pub(crate) skill_provenance: Option<&'a SkillProvenance>,
    pub(crate) delegation: Option<&'a Delegation>,
    pub(crate) context: &'a Context,
}

/// The object `intent_digest` is computed over: exactly `tool_name`,
/// `args`, `targets`, `context`, plus `arg_provenance` when non-empty,
/// `script_hash` and `script` for scripts, and `skill_provenance` and
/// `delegation` when present.
pub(crate) fn digest_projection(parts: DigestParts<'_>) -> Value {
    let (script_value, script_hash) = match parts.script {
        Some((value, hash)) => (Some(value), hash),
        None => (None, String::new()),
    };
    Obj::new()
        .put("tool_name", parts.tool_name)
        .put("args", Value::Object(parts.args.clone()))
        .str("script_hash", &script_hash)
        .opt("script", script_value)
        .put(
            "targets",
            Value::Array(parts.targets.iter().map(target).collect()),
        )
        .list("arg_provenance", parts.arg_provenance, arg_provenance)
        .opt(
            "skill_provenance",
            parts.skill_provenance.map(skill_provenance),
        )
        .opt("delegation", parts.delegation.map(delegation))
        .put("context", context(parts.context))
        .done()
}
