//! The canonical (RFC 8785) bytes of the digest projection, written
//! straight from the normalized structs.
//!
//! The output is byte-identical with
//! `canonical::to_vec(&projection::digest_projection(..))`: every field name
//! is ASCII without escapes, so each object's members are written in a fixed
//! order — the names sorted byte-wise, which for ASCII is the UTF-16 order
//! RFC 8785 prescribes — with the same omit-empty rules as
//! [`projection`](super::projection). Free-form objects (`args`,
//! `auth_context`) go through [`canonical::write_object`].
//!
//! The canonical `args` and `{"steps":[...]}` are sub-slices of the
//! projection's bytes, so `args_digest` and `script_hash` are hashed from
//! the same buffer without canonicalizing anything twice.

use std::cell::RefCell;

use gait_digest::{GoTime, Sha256Digest, canonical, sha256, write_es_number};
use serde_json::{Map, Value};

use super::model::{
    AgentIdentity, ArgProvenance, Context, Delegation, DelegationLink, Sandbox, Script, ScriptStep,
    SkillProvenance, Target,
};

/// The three digests of an intent.
pub(crate) struct Digests {
    pub(crate) args: Sha256Digest,
    pub(crate) script_hash: Option<Sha256Digest>,
    pub(crate) intent: Sha256Digest,
}

/// The parts of an intent that enter the digest projection.
pub(crate) struct Parts<'a> {
    pub(crate) tool_name: &'a str,
    pub(crate) args: &'a Map<String, Value>,
    pub(crate) script: Option<&'a Script>,
    pub(crate) targets: &'a [Target],
    pub(crate) arg_provenance: &'a [ArgProvenance],
    pub(crate) skill_provenance: Option<&'a SkillProvenance>,
    pub(crate) delegation: Option<&'a Delegation>,
    pub(crate) context: &'a Context,
}

thread_local! {
    /// A buffer reused across calls on one thread.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Computes the three digests.
pub(crate) fn digests(parts: &Parts<'_>) -> Digests {
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            digests_into(&mut buf, parts)
        }
        Err(_) => digests_into(&mut Vec::with_capacity(512), parts),
    })
}

/// Writes the canonical projection into `out` (appending) and hashes it.
fn digests_into(out: &mut Vec<u8>, parts: &Parts<'_>) -> Digests {
    let start = out.len();
    let args_range;
    let mut script_hash = None;
    {
        let mut o = Obj::open(out);
        if !parts.arg_provenance.is_empty() {
            o.key("arg_provenance");
            list(o.out, parts.arg_provenance, arg_provenance);
        }
        o.key("args");
        let args_start = o.out.len();
        canonical::write_object(o.out, parts.args);
        args_range = args_start..o.out.len();
        o.key("context");
        context(o.out, parts.context);
        if let Some(d) = parts.delegation {
            o.key("delegation");
            delegation(o.out, d);
        }
        if let Some(s) = parts.script {
            o.key("script");
            let script_start = o.out.len();
            script(o.out, s);
            let hash = sha256(o.out.get(script_start..).unwrap_or_default());
            o.key("script_hash");
            write_hex_string(o.out, Some(&hash));
            script_hash = Some(hash);
        }
        if let Some(s) = parts.skill_provenance {
            o.key("skill_provenance");
            skill_provenance(o.out, s);
        }
        o.key("targets");
        list(o.out, parts.targets, target);
        o.key("tool_name");
        canonical::write_string(o.out, parts.tool_name);
        o.close();
    }
    Digests {
        args: sha256(out.get(args_range).unwrap_or_default()),
        script_hash,
        intent: sha256(out.get(start..).unwrap_or_default()),
    }
}

/// Writes the members of one object; names must come in sorted order.
struct Obj<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Obj<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Writes `"name":` (with the separating comma). `name` is plain ASCII.
    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// Always present string.
    fn put(&mut self, name: &str, value: &str) {
        self.key(name);
        canonical::write_string(self.out, value);
    }

    /// `omitempty` string.
    fn str(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.put(name, value);
        }
    }

    /// `omitempty` bool.
    fn flag(&mut self, name: &str, value: bool) {
        if value {
            self.key(name);
            self.out.extend_from_slice(b"true");
        }
    }

    /// `omitempty` integer (through a double, as every canonical number).
    #[expect(
        clippy::cast_precision_loss,
        reason = "RFC 8785: every number is a double"
    )]
    fn int(&mut self, name: &str, value: i64) {
        if value != 0 {
            self.key(name);
            write_es_number(self.out, value as f64);
        }
    }

    /// `omitempty` digest (lowercase hex).
    fn digest(&mut self, name: &str, value: Option<&Sha256Digest>) {
        if value.is_some() {
            self.key(name);
            write_hex_string(self.out, value);
        }
    }

    /// `omitempty` list of strings.
    fn strings(&mut self, name: &str, values: &[String]) {
        if !values.is_empty() {
            self.key(name);
            list(self.out, values, |out, s| canonical::write_string(out, s));
        }
    }

    /// `omitempty` list of objects.
    fn list<T>(&mut self, name: &str, items: &[T], f: fn(&mut Vec<u8>, &T)) {
        if !items.is_empty() {
            self.key(name);
            list(self.out, items, f);
        }
    }

    /// A `time.Time` (never omitted).
    fn time(&mut self, name: &str, value: Option<&GoTime>) {
        self.key(name);
        let text = value.copied().unwrap_or(GoTime::ZERO).format();
        canonical::write_string(self.out, &text);
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

fn list<T>(out: &mut Vec<u8>, items: &[T], f: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

/// A digest as a JSON string of 64 lowercase hex digits (`""` for `None`).
fn write_hex_string(out: &mut Vec<u8>, digest: Option<&Sha256Digest>) {
    fn hex_digit(n: u8) -> u8 {
        if n < 10 { b'0' + n } else { b'a' + n - 10 }
    }
    out.push(b'"');
    if let Some(d) = digest {
        for &b in d.as_bytes() {
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    out.push(b'"');
}

fn target(out: &mut Vec<u8>, t: &Target) {
    let mut o = Obj::open(out);
    o.flag("destructive", t.destructive);
    o.flag("destructive_hint", t.destructive_hint);
    o.put("discovery_method", t.discovery_method.as_str());
    o.put("endpoint_class", t.endpoint_class.as_str());
    o.str("endpoint_domain", &t.endpoint_domain);
    o.flag("idempotent_hint", t.idempotent_hint);
    o.put("kind", t.kind.as_str());
    o.flag("open_world_hint", t.open_world_hint);
    o.str("operation", &t.operation);
    o.flag("read_only_hint", t.read_only_hint);
    o.str("sensitivity", &t.sensitivity);
    o.put("value", &t.value);
    o.close();
}

fn arg_provenance(out: &mut Vec<u8>, p: &ArgProvenance) {
    let mut o = Obj::open(out);
    o.put("arg_path", &p.arg_path);
    o.digest("integrity_digest", p.integrity_digest.as_ref());
    o.put("source", p.source.as_str());
    o.str("source_ref", &p.source_ref);
    o.close();
}

fn script_step(out: &mut Vec<u8>, s: &ScriptStep) {
    let mut o = Obj::open(out);
    o.list("arg_provenance", &s.arg_provenance, arg_provenance);
    o.key("args");
    canonical::write_object(o.out, &s.args);
    o.list("targets", &s.targets, target);
    o.put("tool_name", &s.tool_name);
    o.close();
}

fn script(out: &mut Vec<u8>, s: &Script) {
    let mut o = Obj::open(out);
    o.key("steps");
    list(o.out, &s.steps, script_step);
    o.close();
}

fn skill_provenance(out: &mut Vec<u8>, s: &SkillProvenance) {
    let mut o = Obj::open(out);
    o.digest("digest", s.digest.as_ref());
    o.put("publisher", &s.publisher);
    o.str("signature_key_id", &s.signature_key_id);
    o.put("skill_name", &s.skill_name);
    o.str("skill_version", &s.skill_version);
    o.put("source", &s.source);
    o.close();
}

fn delegation_link(out: &mut Vec<u8>, l: &DelegationLink) {
    let mut o = Obj::open(out);
    o.put("delegate_identity", &l.delegate_identity);
    o.put("delegator_identity", &l.delegator_identity);
    o.time("expires_at", l.expires_at.as_ref());
    o.time("issued_at", l.issued_at.as_ref());
    o.str("scope_class", &l.scope_class);
    o.str("token_ref", &l.token_ref);
    o.close();
}

fn delegation(out: &mut Vec<u8>, d: &Delegation) {
    let mut o = Obj::open(out);
    o.list("chain", &d.chain, delegation_link);
    o.time("expires_at", d.expires_at.as_ref());
    o.time("issued_at", d.issued_at.as_ref());
    o.put("requester_identity", &d.requester_identity);
    o.str("scope_class", &d.scope_class);
    o.strings("token_refs", &d.token_refs);
    o.close();
}

fn agent_identity(out: &mut Vec<u8>, a: &AgentIdentity) {
    let mut o = Obj::open(out);
    o.time("approved_at", a.approved_at.as_ref());
    o.time("expires_at", a.expires_at.as_ref());
    o.time("issued_at", a.issued_at.as_ref());
    o.strings("lifecycle_states", &a.lifecycle_states);
    o.digest("manifest_digest", a.manifest_digest.as_ref());
    o.str("owner", &a.owner);
    o.str("publisher", &a.publisher);
    o.flag("revoked", a.revoked);
    o.str("source", &a.source);
    o.close();
}

fn sandbox(out: &mut Vec<u8>, s: &Sandbox) {
    let mut o = Obj::open(out);
    if let Some(m) = s.env_exposure_mode {
        o.str("env_exposure_mode", m.as_str());
    }
    o.digest("evidence_digest", s.evidence_digest.as_ref());
    o.str("evidence_ref", &s.evidence_ref);
    if let Some(m) = s.filesystem_isolation {
        o.str("filesystem_isolation", m.as_str());
    }
    if let Some(m) = s.network_mode {
        o.str("network_mode", m.as_str());
    }
    o.strings("read_only_roots", &s.read_only_roots);
    o.int("timeout_seconds", s.timeout_seconds);
    if let Some(m) = s.user_mode {
        o.str("user_mode", m.as_str());
    }
    o.strings("writable_paths", &s.writable_paths);
    o.close();
}

fn context(out: &mut Vec<u8>, c: &Context) {
    let mut o = Obj::open(out);
    o.str("agent_action_bom_ref", &c.agent_action_bom_ref);
    o.str("agent_id", &c.agent_id);
    if let Some(a) = &c.agent_identity {
        o.key("agent_identity");
        agent_identity(o.out, a);
    }
    o.str("approval_ref", &c.approval_ref);
    if let Some(auth) = c.auth_context.as_ref().filter(|m| !m.is_empty()) {
        o.key("auth_context");
        canonical::write_object(o.out, auth);
    }
    if let Some(m) = c.context_evidence_mode {
        o.str("context_evidence_mode", m.as_str());
    }
    o.strings("context_refs", &c.context_refs);
    o.digest("context_set_digest", c.context_set_digest.as_ref());
    if let Some(t) = c.credential_access_type {
        o.str("credential_access_type", t.as_str());
    }
    o.str("credential_issuer", &c.credential_issuer);
    o.str("credential_job_binding", &c.credential_job_binding);
    o.str("credential_owner", &c.credential_owner);
    o.str("credential_ref", &c.credential_ref);
    o.str("credential_run_binding", &c.credential_run_binding);
    o.strings("credential_scopes", &c.credential_scopes);
    if let Some(s) = c.credential_source {
        o.str("credential_source", s.as_str());
    }
    o.str("credential_subject", &c.credential_subject);
    o.str("credential_target_binding", &c.credential_target_binding);
    o.int("credential_ttl_seconds", c.credential_ttl_seconds);
    o.str("environment", &c.environment);
    o.str("environment_fingerprint", &c.environment_fingerprint);
    o.put("identity", &c.identity);
    o.str("job_id", &c.job_id);
    o.put("phase", c.phase.as_str());
    o.str("repo", &c.repo);
    o.str("request_id", &c.request_id);
    o.put("risk_class", &c.risk_class);
    o.str("run_id", &c.run_id);
    if let Some(s) = &c.sandbox {
        o.key("sandbox");
        sandbox(o.out, s);
    }
    o.str("session_id", &c.session_id);
    o.str("workflow_id", &c.workflow_id);
    o.put("workspace", &c.workspace);
    o.str("wrkr_inventory_ref", &c.wrkr_inventory_ref);
    o.close();
}
