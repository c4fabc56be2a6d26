//! Intent requests (`gait.gate.intent_request` 1.0.0): decoding,
//! normalization and digests, byte-compatible with the reference.
//!
//! An [`Intent`] is a normalized tool call: it can only be obtained from
//! [`Intent::from_json_slice`] (or [`Intent::from_value`]), which decodes
//! the request the way the reference's typed JSON decoding does, applies
//! every normalization rule, and computes the three digests once:
//!
//! * [`Intent::args_digest`]: SHA-256 of the canonical normalized `args`;
//! * [`Intent::script_hash`]: SHA-256 of the canonical `{"steps":[...]}` of
//!   a script (scripts only);
//! * [`Intent::intent_digest`]: SHA-256 of the canonical
//!   [digest projection](Intent::digest_projection).
//!
//! `gate eval` reports, signs and binds approvals to the digest of the
//! *prepared* intent ([`Intent::prepared`]): the normalized intent without
//! the context-evidence claims, unless a verified context envelope re-sets
//! them ([`Intent::with_context_evidence`]). `policy test` reports the
//! normalized intent's own digest.
//!
//! ```
//! use gait_policy::intent::{EndpointClass, Intent};
//!
//! let intent = Intent::from_json_slice(br#"{
//!     "tool_name": " Tool.Write ",
//!     "args": {"path": "/tmp/approve-valid.txt"},
//!     "targets": [{"kind": "path", "value": "/tmp/approve-valid.txt", "operation": "write"}],
//!     "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
//!     "context": {"identity": "agent.scenario", "workspace": "/repo/gait",
//!                 "risk_class": "HIGH", "session_id": "sess-tier11"}
//! }"#)?;
//! assert_eq!(intent.tool_name(), "tool.write");
//! assert_eq!(intent.targets()[0].endpoint_class, EndpointClass::FsWrite);
//! assert_eq!(
//!     intent.intent_digest().to_hex(),
//!     "4b53bb79e35105ac9170963ac6f84ed0ed15530c68f06a46fc1233c5ec766913"
//! );
//! assert_eq!(
//!     intent.args_digest().to_hex(),
//!     "3ce5713f41f9b6812880cac570b0f8ce318c7afff371873f241884729e518370"
//! );
//! # Ok::<(), gait_policy::intent::IntentError>(())
//! ```
//!
//! # Differences from the reference, on purpose
//!
//! * Input must be strict JSON: duplicate member names, invalid UTF-8 and
//!   lone surrogates are errors (the reference keeps the last duplicate and
//!   replaces bad text with U+FFFD).
//! * Two object keys of `args` or `auth_context` that become equal after
//!   trimming are an error: the reference keeps one of them at random.
//! * Two member names of one object that are equal ignoring letter case
//!   (`tool_name` and `TOOL_NAME`), at any depth, are an error: the
//!   reference decodes one of them into the field case-insensitively,
//!   while an exact-key reader sees the other.
//! * Integer literals beyond ±(2^53 − 1) are an error naming their path:
//!   digests hold numbers as doubles, so two such integers could share
//!   one digest. Send such ids as strings.

pub(crate) mod ambiguity;
mod canon;
pub(crate) mod decode;
mod error;
pub(crate) mod gostr;
mod model;
mod normalize;
pub(crate) mod projection;
mod url;

use gait_digest::{GoTime, Sha256Digest, digest_json};
use serde_json::{Map, Value};

pub use ambiguity::MAX_SAFE_INTEGER;
pub use error::IntentError;
pub use model::{
    AgentIdentity, ArgProvenance, Context, ContextEvidenceMode, CredentialAccessType,
    CredentialSource, Delegation, DelegationLink, DiscoveryMethod, EndpointClass, EnvExposureMode,
    FilesystemIsolation, NetworkMode, Phase, ProvenanceSource, Relationship,
    RelationshipAgentLineage, RelationshipAgentLink, RelationshipEdge, RelationshipPolicyRef,
    RelationshipRef, Sandbox, Script, ScriptStep, SkillProvenance, Target, TargetKind, UserMode,
};
pub use normalize::MAX_SCRIPT_STEPS;

pub(crate) use error::FieldPath;

/// The intent request schema id.
pub const SCHEMA_ID: &str = "gait.gate.intent_request";
/// The intent request schema version.
pub const SCHEMA_VERSION: &str = "1.0.0";

/// The `auth_context` key a verified context envelope sets to the evidence
/// age in seconds.
pub const CONTEXT_AGE_SECONDS_KEY: &str = "context_age_seconds";

/// A normalized intent request with its digests.
///
/// Immutable: every way to derive a changed intent ([`Intent::prepared`],
/// [`Intent::with_context_evidence`],
/// [`Intent::with_auth_context_entries`]) returns a new value with its
/// digests recomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    schema_id: String,
    schema_version: String,
    created_at: GoTime,
    producer_version: String,
    tool_name: String,
    args: Map<String, Value>,
    script: Option<Script>,
    targets: Vec<Target>,
    arg_provenance: Vec<ArgProvenance>,
    skill_provenance: Option<SkillProvenance>,
    delegation: Option<Delegation>,
    relationship: Option<Relationship>,
    context: Context,
    args_digest: Sha256Digest,
    script_hash: Option<Sha256Digest>,
    intent_digest: Sha256Digest,
}

impl Intent {
    /// Parses and normalizes an intent request from JSON bytes.
    ///
    /// The bytes are parsed strictly (see
    /// [`gait_digest::canonical::parse_strict`]), decoded like the
    /// reference's typed decoding (unknown members ignored, member names
    /// matched case-insensitively, `null` or missing `args` as `{}`), then
    /// normalized. Ambiguous input is refused first: two member names of
    /// one object that differ only in letter case
    /// ([`IntentError::CaseVariantMembers`]) and integer literals beyond
    /// ±[`MAX_SAFE_INTEGER`] ([`IntentError::ImpreciseInteger`]), anywhere
    /// in the document.
    ///
    /// # Errors
    ///
    /// [`IntentError`] naming the first offending field.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Intent, IntentError> {
        let screen = ambiguity::Screen::default();
        let json = decode::parse_screened(bytes, &screen)?;
        let decoded = decode::decode_intent(json, &screen);
        let mut raw = screen.confirm(decoded, || {
            ambiguity::check(&decode::parse(bytes)?, Some(bytes), &FieldPath::ROOT)
        })?;
        Self::from_raw(&mut raw)
    }

    /// [`Intent::from_json_slice`] for text.
    ///
    /// # Errors
    ///
    /// As [`Intent::from_json_slice`].
    pub fn from_json_str(text: &str) -> Result<Intent, IntentError> {
        Self::from_json_slice(text.as_bytes())
    }

    /// Normalizes an intent request already held as a JSON value.
    ///
    /// Identical to [`Intent::from_json_slice`] on the value's text, except
    /// that an integer the value holds as a double (serde_json parses
    /// integer literals beyond the `u64` and `i64` ranges so) counts as a
    /// floating-point number, since its literal is gone.
    ///
    /// # Errors
    ///
    /// [`IntentError`] naming the first offending field.
    pub fn from_value(value: &Value) -> Result<Intent, IntentError> {
        let screen = ambiguity::Screen::default();
        let json = decode::Json::from_value_screened(value, &screen);
        let decoded = decode::decode_intent(json, &screen);
        let mut raw = screen.confirm(decoded, || {
            ambiguity::check(&decode::Json::from_value(value), None, &FieldPath::ROOT)
        })?;
        Self::from_raw(&mut raw)
    }

    fn from_raw(raw: &mut decode::RawIntent) -> Result<Intent, IntentError> {
        let schema_id = if raw.schema_id.is_empty() {
            SCHEMA_ID.to_owned()
        } else {
            std::mem::take(&mut raw.schema_id)
        };
        let schema_version = if raw.schema_version.is_empty() {
            SCHEMA_VERSION.to_owned()
        } else {
            std::mem::take(&mut raw.schema_version)
        };
        let created_at = raw.created_at.unwrap_or(GoTime::ZERO);
        let producer_version = std::mem::take(&mut raw.producer_version);
        let n = normalize::normalize(raw)?;
        let mut intent = Intent {
            schema_id,
            schema_version,
            created_at,
            producer_version,
            tool_name: n.tool_name,
            args: n.args,
            script: n.script,
            targets: n.targets,
            arg_provenance: n.arg_provenance,
            skill_provenance: n.skill_provenance,
            delegation: n.delegation,
            relationship: n.relationship,
            context: n.context,
            args_digest: Sha256Digest::default(),
            script_hash: None,
            intent_digest: Sha256Digest::default(),
        };
        intent.compute_digests();
        Ok(intent)
    }

    /// Computes the three digests from the normalized fields, writing the
    /// canonical projection directly (see [`canon`]).
    fn compute_digests(&mut self) {
        let digests = canon::digests(&canon::Parts {
            tool_name: &self.tool_name,
            args: &self.args,
            script: self.script.as_ref(),
            targets: &self.targets,
            arg_provenance: &self.arg_provenance,
            skill_provenance: self.skill_provenance.as_ref(),
            delegation: self.delegation.as_ref(),
            context: &self.context,
        });
        self.args_digest = digests.args;
        self.script_hash = digests.script_hash;
        self.intent_digest = digests.intent;
    }

    /// The former digest computation (the projection as a `Value`, then
    /// canonicalized), kept as the reference the direct writer is tested
    /// against.
    #[cfg(test)]
    fn digests_via_projection(&self) -> (Sha256Digest, Option<Sha256Digest>, Sha256Digest) {
        let (projection, script_hash) = self.projection_with_script_hash();
        let args_digest = projection.get("args").map(digest_json).unwrap_or_default();
        (args_digest, script_hash, digest_json(&projection))
    }

    fn projection_with_script_hash(&self) -> (Value, Option<Sha256Digest>) {
        let script = self.script.as_ref().map(|s| {
            let value = projection::script(s);
            let hash = digest_json(&value);
            (value, hash)
        });
        let script_hash = script.as_ref().map(|(_, h)| *h);
        let value = projection::digest_projection(projection::DigestParts {
            tool_name: &self.tool_name,
            args: &self.args,
            script: script.map(|(v, h)| (v, h.to_hex())),
            targets: &self.targets,
            arg_provenance: &self.arg_provenance,
            skill_provenance: self.skill_provenance.as_ref(),
            delegation: self.delegation.as_ref(),
            context: &self.context,
        });
        (value, script_hash)
    }

    /// The object [`Intent::intent_digest`] is the canonical SHA-256 of.
    ///
    /// It holds exactly `tool_name`, `args`, `targets` and `context`, plus
    /// `arg_provenance` when non-empty, `script_hash` and `script` for
    /// scripts, and `skill_provenance` and `delegation` when present, with
    /// the reference's omit-empty rules inside. `schema_*`, `created_at`,
    /// `producer_version` and `relationship` are not part of it.
    pub fn digest_projection(&self) -> Value {
        self.projection_with_script_hash().0
    }

    /// The normalized request as the reference writes it: the digest
    /// projection plus `schema_id`, `schema_version`, `created_at`,
    /// `producer_version`, `args_digest`, `intent_digest` and
    /// `relationship`. Parsing this JSON again gives the same intent.
    pub fn to_json(&self) -> Value {
        let mut value = self.digest_projection();
        if let Value::Object(map) = &mut value {
            map.insert("schema_id".into(), self.schema_id.clone().into());
            map.insert("schema_version".into(), self.schema_version.clone().into());
            map.insert("created_at".into(), self.created_at.format().into());
            map.insert(
                "producer_version".into(),
                self.producer_version.clone().into(),
            );
            map.insert("args_digest".into(), self.args_digest.to_hex().into());
            map.insert("intent_digest".into(), self.intent_digest.to_hex().into());
            if let Some(r) = &self.relationship {
                map.insert("relationship".into(), projection::relationship(r));
            }
        }
        value
    }

    /// SHA-256 of the canonical normalized `args` (`44136fa3…aff8a` for
    /// `{}`).
    pub fn args_digest(&self) -> Sha256Digest {
        self.args_digest
    }

    /// SHA-256 of the canonical [digest projection](Intent::digest_projection).
    pub fn intent_digest(&self) -> Sha256Digest {
        self.intent_digest
    }

    /// SHA-256 of the canonical `{"steps":[...]}` of a script; `None` for a
    /// single tool call.
    pub fn script_hash(&self) -> Option<Sha256Digest> {
        self.script_hash
    }

    /// The SHA-256 of the canonical normalized delegation, when there is
    /// one (a trace's `delegation_ref.chain_digest`).
    pub fn delegation_digest(&self) -> Option<Sha256Digest> {
        self.delegation
            .as_ref()
            .map(|d| digest_json(&projection::delegation(d)))
    }

    /// The intent as `gate eval` evaluates and digests it without a verified
    /// context envelope: `context_set_digest`, `context_evidence_mode`,
    /// `context_refs` and `auth_context.context_age_seconds` are removed
    /// (an `auth_context` left empty is removed too).
    pub fn prepared(&self) -> Intent {
        let mut out = self.clone();
        out.strip_context_evidence();
        out.compute_digests();
        out
    }

    /// Whether the intent carries context-evidence claims that
    /// [`Intent::prepared`] would strip. When it does not, the prepared
    /// intent equals this one.
    pub fn has_context_evidence_claims(&self) -> bool {
        let ctx = &self.context;
        ctx.context_set_digest.is_some()
            || ctx.context_evidence_mode.is_some()
            || !ctx.context_refs.is_empty()
            || ctx
                .auth_context
                .as_ref()
                .is_some_and(|a| a.contains_key(CONTEXT_AGE_SECONDS_KEY))
    }

    fn strip_context_evidence(&mut self) {
        let ctx = &mut self.context;
        ctx.context_set_digest = None;
        ctx.context_evidence_mode = None;
        ctx.context_refs.clear();
        if let Some(auth) = &mut ctx.auth_context {
            auth.remove(CONTEXT_AGE_SECONDS_KEY);
            if auth.is_empty() {
                ctx.auth_context = None;
            }
        }
    }

    /// The intent bound to a verified context envelope: the claims are
    /// stripped as in [`Intent::prepared`], then set from the envelope, and
    /// `auth_context.context_age_seconds` is set to `age_seconds`.
    ///
    /// Checking that the intent's own claims match the envelope is the
    /// caller's job (before calling this).
    pub fn with_context_evidence(
        &self,
        context_set_digest: Sha256Digest,
        mode: ContextEvidenceMode,
        context_refs: impl IntoIterator<Item = String>,
        age_seconds: i64,
    ) -> Intent {
        let mut out = self.clone();
        out.strip_context_evidence();
        let ctx = &mut out.context;
        ctx.context_set_digest = Some(context_set_digest);
        ctx.context_evidence_mode = Some(mode);
        ctx.context_refs = normalize::unique_sorted(context_refs.into_iter().collect());
        ctx.auth_context
            .get_or_insert_with(Map::new)
            .insert(CONTEXT_AGE_SECONDS_KEY.to_owned(), Value::from(age_seconds));
        out.compute_digests();
        out
    }

    /// The intent with extra `auth_context` members (for example Wrkr's
    /// `wrkr.*` enrichment), normalized like the rest of `auth_context`.
    ///
    /// # Errors
    ///
    /// [`IntentError`] when a key is empty after trimming or a value looks
    /// like raw credential material.
    pub fn with_auth_context_entries(
        &self,
        entries: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<Intent, IntentError> {
        let mut out = self.clone();
        let mut auth = out.context.auth_context.take().unwrap_or_default();
        auth.extend(entries);
        let root = FieldPath::ROOT;
        let ctx_path = root.key("context");
        out.context.auth_context =
            normalize::normalize_auth_context(Some(auth), &ctx_path.key("auth_context"))?;
        out.compute_digests();
        Ok(out)
    }

    /// `schema_id` (defaulted to [`SCHEMA_ID`]; never validated).
    pub fn schema_id(&self) -> &str {
        &self.schema_id
    }

    /// `schema_version` (defaulted to [`SCHEMA_VERSION`]; never validated).
    pub fn schema_version(&self) -> &str {
        &self.schema_version
    }

    /// `created_at` as given (with its offset), or the zero time.
    pub fn created_at(&self) -> GoTime {
        self.created_at
    }

    /// `producer_version` as given.
    pub fn producer_version(&self) -> &str {
        &self.producer_version
    }

    /// The normalized tool name (`script` for scripts).
    pub fn tool_name(&self) -> &str {
        &self.tool_name
    }

    /// The normalized arguments.
    pub fn args(&self) -> &Map<String, Value> {
        &self.args
    }

    /// The script, for script intents.
    pub fn script(&self) -> Option<&Script> {
        self.script.as_ref()
    }

    /// Whether this is a script intent.
    pub fn is_script(&self) -> bool {
        self.script.is_some()
    }

    /// The normalized targets, de-duplicated and sorted (for a script
    /// without top-level targets: all steps' targets).
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The normalized argument provenance, de-duplicated and sorted.
    pub fn arg_provenance(&self) -> &[ArgProvenance] {
        &self.arg_provenance
    }

    /// The skill provenance.
    pub fn skill_provenance(&self) -> Option<&SkillProvenance> {
        self.skill_provenance.as_ref()
    }

    /// The delegation.
    pub fn delegation(&self) -> Option<&Delegation> {
        self.delegation.as_ref()
    }

    /// The relationship envelope (never digested).
    pub fn relationship(&self) -> Option<&Relationship> {
        self.relationship.as_ref()
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

#[cfg(test)]
mod tests;
