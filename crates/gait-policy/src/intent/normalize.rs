//! Normalization of a decoded intent request (rules 1–10 of the intent
//! specification), producing the typed model or the first violation.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::mem::take;

use gait_digest::{GoTime, Sha256Digest};
use serde_json::{Map, Value};

use super::decode::{
    RawAgentIdentity, RawArgProvenance, RawContext, RawDelegation, RawIntent, RawMap,
    RawRelationship, RawSandbox, RawScript, RawSkillProvenance, RawTarget,
};
use super::error::{FieldPath, IntentError};
use super::gostr::{
    base_name, clean_path, is_env_assignment, is_hex64, key_suggests_credential,
    looks_like_credential_value, lower, lower_trim, lower_trim_cow, lower_trim_owned, trim,
    trim_owned,
};
use super::model::{
    AgentIdentity, ArgProvenance, Context, ContextEvidenceMode, CredentialAccessType,
    CredentialSource, Delegation, DelegationLink, DiscoveryMethod, EndpointClass, EnvExposureMode,
    FilesystemIsolation, NetworkMode, Phase, ProvenanceSource, Relationship,
    RelationshipAgentLineage, RelationshipAgentLink, RelationshipEdge, RelationshipPolicyRef,
    RelationshipRef, Sandbox, Script, ScriptStep, SkillProvenance, Target, TargetKind, UserMode,
};
use super::url::url_hostname;

/// The most steps a script may have.
pub const MAX_SCRIPT_STEPS: usize = 64;

/// The normalized parts of an intent, before digests are attached.
#[derive(Debug)]
pub(crate) struct Normalized {
    pub(crate) tool_name: String,
    pub(crate) args: Map<String, Value>,
    pub(crate) script: Option<Script>,
    pub(crate) targets: Vec<Target>,
    pub(crate) arg_provenance: Vec<ArgProvenance>,
    pub(crate) skill_provenance: Option<SkillProvenance>,
    pub(crate) delegation: Option<Delegation>,
    pub(crate) relationship: Option<Relationship>,
    pub(crate) context: Context,
}

const CREDENTIAL_MATERIAL: &str =
    "must not contain raw credential material; use credential references or digests instead";
const NOT_SHA256: &str = "must be a sha256 digest (64 hex characters)";

/// Applies every normalization rule, in the reference's order (so the first
/// violation reported is the one the reference reports first).
pub(crate) fn normalize(raw: &mut RawIntent) -> Result<Normalized, IntentError> {
    let root = FieldPath::ROOT;

    // Rule 1: script steps.
    let script = normalize_script(take(&mut raw.script), &root.key("script"))?;

    // Rule 2: tool_name.
    let tool_name = if script.is_some() {
        "script".to_owned()
    } else {
        lower_trim_owned(take(&mut raw.tool_name))
    };
    if tool_name.is_empty() {
        return Err(IntentError::missing(&root.key("tool_name")));
    }

    // Rules 3 and 4: args, then raw-credential rejection.
    let args_path = root.key("args");
    let args = normalize_object(take(&mut raw.args), &args_path)?;
    reject_credential_material(&args, &args_path)?;

    // Rule 5: targets (a script without top-level targets collects the
    // steps' normalized targets).
    let targets = match &script {
        Some(s) if raw.targets.is_empty() => dedup_sort_targets(
            s.steps
                .iter()
                .flat_map(|st| st.targets.iter().cloned())
                .collect(),
        ),
        _ => normalize_targets(&tool_name, take(&mut raw.targets), &root.key("targets"))?,
    };

    // Rule 6: arg_provenance (same collection rule for scripts).
    let arg_provenance = match &script {
        Some(s) if raw.arg_provenance.is_empty() => dedup_sort_provenance(
            s.steps
                .iter()
                .flat_map(|st| st.arg_provenance.iter().cloned())
                .collect(),
        ),
        _ => normalize_provenance(take(&mut raw.arg_provenance), &root.key("arg_provenance"))?,
    };

    // Rule 7: skill_provenance.
    let skill_provenance = raw
        .skill_provenance
        .take()
        .map(|s| normalize_skill(s, &root.key("skill_provenance")))
        .transpose()?;

    // Rule 8: context.
    let context = normalize_context(&mut raw.context, &root.key("context"))?;

    // Rule 9: delegation.
    let delegation = raw
        .delegation
        .take()
        .map(|d| normalize_delegation(d, &root.key("delegation")))
        .transpose()?;

    // Rule 10: relationship (normalized, never digested, never an error).
    let relationship = raw.relationship.take().and_then(normalize_relationship);

    Ok(Normalized {
        tool_name,
        args,
        script,
        targets,
        arg_provenance,
        skill_provenance,
        delegation,
        relationship,
        context,
    })
}

fn normalize_script(
    raw: Option<RawScript>,
    path: &FieldPath<'_>,
) -> Result<Option<Script>, IntentError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let steps_path = path.key("steps");
    let count = raw.steps.len();
    if count == 0 {
        return Err(IntentError::invalid(&steps_path, "must not be empty"));
    }
    if count > MAX_SCRIPT_STEPS {
        return Err(IntentError::invalid(
            &steps_path,
            format!("has {count} steps; at most {MAX_SCRIPT_STEPS} are supported"),
        ));
    }
    let mut steps = Vec::with_capacity(count);
    for (i, step) in raw.steps.into_iter().enumerate() {
        let step_path = steps_path.index(i);
        let tool_name = lower_trim(&step.tool_name);
        if tool_name.is_empty() {
            return Err(IntentError::missing(&step_path.key("tool_name")));
        }
        // Step args are normalized but, as in the reference, not checked for
        // raw credential material.
        let args = normalize_object(step.args, &step_path.key("args"))?;
        let targets = normalize_targets(&tool_name, step.targets, &step_path.key("targets"))?;
        let arg_provenance =
            normalize_provenance(step.arg_provenance, &step_path.key("arg_provenance"))?;
        steps.push(ScriptStep {
            tool_name,
            args,
            targets,
            arg_provenance,
        });
    }
    Ok(Some(Script { steps }))
}

/// Normalizes a free-form object (`args`, `auth_context`): a missing or
/// `null` one becomes `{}`.
pub(crate) fn normalize_object(
    raw: RawMap,
    path: &FieldPath<'_>,
) -> Result<Map<String, Value>, IntentError> {
    match raw {
        None => Ok(Map::new()),
        Some(map) => normalize_map(map, path),
    }
}

/// Rule 3: string values and object keys are trimmed (an empty key is an
/// error), everything else is kept.
fn normalize_map(
    mut map: Map<String, Value>,
    path: &FieldPath<'_>,
) -> Result<Map<String, Value>, IntentError> {
    // When every key is already trimmed and non-empty, no key changes and
    // none can collide: normalize the values in place, in the same order.
    if map
        .keys()
        .all(|k| !k.is_empty() && trim(k).len() == k.len())
    {
        for (key, value) in &mut map {
            normalize_value_in_place(value, &path.key(key))?;
        }
        return Ok(map);
    }
    let mut out = Map::new();
    for (key, value) in map {
        let trimmed = trim(&key);
        let child_path = path.key(&key);
        if trimmed.is_empty() {
            return Err(IntentError::invalid(path, "contains an empty key"));
        }
        let normalized = normalize_value(value, &child_path)?;
        if out.contains_key(trimmed) {
            // The reference keeps whichever of the colliding members its
            // randomized map iteration visits last; refuse the ambiguity.
            return Err(IntentError::invalid(
                &child_path,
                format!("key collides with another key after trimming to {trimmed:?}"),
            ));
        }
        out.insert(trimmed.to_owned(), normalized);
    }
    Ok(out)
}

pub(crate) fn normalize_value(
    mut value: Value,
    path: &FieldPath<'_>,
) -> Result<Value, IntentError> {
    normalize_value_in_place(&mut value, path)?;
    Ok(value)
}

fn normalize_value_in_place(value: &mut Value, path: &FieldPath<'_>) -> Result<(), IntentError> {
    match value {
        Value::String(s) => {
            let t = trim(s);
            if t.len() != s.len() {
                *s = t.to_owned();
            }
        }
        Value::Object(map) => {
            let taken = std::mem::take(map);
            *map = normalize_map(taken, path)?;
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                normalize_value_in_place(v, &path.index(i))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Rule 4: walks keys in byte order, depth first, and rejects a string that
/// looks like a secret under a key that names credential material.
pub(crate) fn reject_credential_material(
    map: &Map<String, Value>,
    path: &FieldPath<'_>,
) -> Result<(), IntentError> {
    // A `serde_json::Map` iterates in byte order already (unless the
    // `preserve_order` feature is on somewhere in the build): sort only then.
    if map.keys().is_sorted() {
        for (key, child) in map {
            reject_credential_member(key, child, path)?;
        }
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_by(|a, b| a.0.cmp(b.0));
        for (key, child) in members {
            reject_credential_member(key, child, path)?;
        }
    }
    Ok(())
}

fn reject_credential_member(
    key: &str,
    child: &Value,
    path: &FieldPath<'_>,
) -> Result<(), IntentError> {
    let child_path = path.key(key);
    if let Value::String(text) = child
        && key_suggests_credential(key)
        && looks_like_credential_value(text)
    {
        return Err(IntentError::invalid(&child_path, CREDENTIAL_MATERIAL));
    }
    reject_credential_value(child, &child_path)
}

fn reject_credential_value(value: &Value, path: &FieldPath<'_>) -> Result<(), IntentError> {
    match value {
        Value::Object(map) => reject_credential_material(map, path),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                reject_credential_value(item, &path.index(i))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn normalize_targets(
    tool_name: &str,
    raw: Vec<RawTarget>,
    path: &FieldPath<'_>,
) -> Result<Vec<Target>, IntentError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, target) in raw.into_iter().enumerate() {
        out.push(normalize_target(tool_name, target, &path.index(i))?);
    }
    Ok(dedup_sort_targets(out))
}

fn normalize_target(
    tool_name: &str,
    mut raw: RawTarget,
    path: &FieldPath<'_>,
) -> Result<Target, IntentError> {
    let value = trim_owned(std::mem::take(&mut raw.value));
    let kind = lower_trim_cow(&raw.kind);
    let operation = lower_trim(&raw.operation);
    let sensitivity = lower_trim(&raw.sensitivity);
    let endpoint_class = lower_trim_cow(&raw.endpoint_class);
    let endpoint_domain = lower_trim(&raw.endpoint_domain);
    let discovery_method = normalize_discovery_method(&raw.discovery_method);

    if kind.is_empty() {
        return Err(IntentError::missing(&path.key("kind")));
    }
    if value.is_empty() {
        return Err(IntentError::missing(&path.key("value")));
    }
    let kind = TargetKind::from_wire(&kind)
        .ok_or_else(|| IntentError::unsupported(&path.key("kind"), &kind))?;
    let endpoint_class = if endpoint_class.is_empty() {
        infer_endpoint_class(kind, &operation, tool_name)
    } else {
        EndpointClass::from_wire(&endpoint_class)
            .ok_or_else(|| IntentError::unsupported(&path.key("endpoint_class"), &endpoint_class))?
    };
    let endpoint_domain = if endpoint_domain.is_empty() {
        infer_endpoint_domain(kind, &value)
    } else {
        endpoint_domain
    };
    let discovery_method = DiscoveryMethod::from_wire(&discovery_method).ok_or_else(|| {
        IntentError::unsupported(&path.key("discovery_method"), &discovery_method)
    })?;
    let destructive =
        raw.destructive || raw.destructive_hint || infer_destructive(endpoint_class, &operation);
    Ok(Target {
        kind,
        value,
        operation,
        sensitivity,
        endpoint_class,
        endpoint_domain,
        destructive,
        discovery_method,
        read_only_hint: raw.read_only_hint,
        destructive_hint: raw.destructive_hint,
        idempotent_hint: raw.idempotent_hint,
        open_world_hint: raw.open_world_hint,
    })
}

/// Lowercased, `-` and spaces turned into `_`, empty meaning `unknown`.
fn normalize_discovery_method(raw: &str) -> Cow<'_, str> {
    let method = lower_trim_cow(raw);
    if method.is_empty() {
        return Cow::Borrowed(DiscoveryMethod::Unknown.as_str());
    }
    if method.contains(['-', ' ']) {
        Cow::Owned(method.replace(['-', ' '], "_"))
    } else {
        method
    }
}

const READ_OPS: [&str; 8] = [
    "read", "get", "list", "open", "cat", "head", "download", "stat",
];
const WRITE_OPS: [&str; 9] = [
    "write", "append", "put", "create", "update", "save", "copy", "move", "rename",
];
const DELETE_OPS: [&str; 7] = [
    "delete", "remove", "rm", "unlink", "rmdir", "drop", "truncate",
];
const EXEC_OPS: [&str; 5] = ["exec", "spawn", "run", "shell", "command"];
const DNS_OPS: [&str; 3] = ["dns", "resolve", "lookup"];

/// Whether the last `/`-separated element of the tool name contains one of
/// the hints (plain substring tests: `tool.transform` contains `rm`).
fn has_tool_hint(tool_name: &str, hints: &[&str]) -> bool {
    let lowered = lower_trim_cow(tool_name);
    let base = base_name(&lowered);
    hints.iter().any(|h| base.contains(h))
}

fn infer_endpoint_class(kind: TargetKind, operation: &str, tool_name: &str) -> EndpointClass {
    match kind {
        TargetKind::Path => {
            if READ_OPS.contains(&operation) {
                EndpointClass::FsRead
            } else if WRITE_OPS.contains(&operation) {
                EndpointClass::FsWrite
            } else if DELETE_OPS.contains(&operation) {
                EndpointClass::FsDelete
            } else if has_tool_hint(tool_name, &["read", "list", "fetch", "search"]) {
                EndpointClass::FsRead
            } else if has_tool_hint(tool_name, &["write", "update", "save", "create"]) {
                EndpointClass::FsWrite
            } else if has_tool_hint(tool_name, &["delete", "remove", "rm", "drop"]) {
                EndpointClass::FsDelete
            } else {
                EndpointClass::Other
            }
        }
        TargetKind::Host | TargetKind::Url => {
            if DNS_OPS.contains(&operation) {
                EndpointClass::NetDns
            } else {
                EndpointClass::NetHttp
            }
        }
        TargetKind::Other => {
            if EXEC_OPS.contains(&operation)
                || has_tool_hint(tool_name, &["exec", "shell", "command", "spawn", "run"])
            {
                EndpointClass::ProcExec
            } else {
                EndpointClass::Other
            }
        }
        _ => EndpointClass::Other,
    }
}

fn infer_endpoint_domain(kind: TargetKind, value: &str) -> String {
    match kind {
        TargetKind::Host => {
            let mut host = value.trim();
            host = host.strip_prefix("http://").unwrap_or(host);
            host = host.strip_prefix("https://").unwrap_or(host);
            if let Some(i) = host.find('/') {
                host = host.get(..i).unwrap_or_default();
            }
            if let Some(i) = host.find(':') {
                host = host.get(..i).unwrap_or_default();
            }
            lower_trim(host)
        }
        TargetKind::Url => url_hostname(value),
        _ => String::new(),
    }
}

fn infer_destructive(class: EndpointClass, operation: &str) -> bool {
    matches!(class, EndpointClass::FsDelete | EndpointClass::ProcExec)
        || DELETE_OPS.contains(&operation)
        || operation == "exec"
        || operation == "spawn"
}

/// The reference's target order: kind, value, operation, sensitivity,
/// endpoint class, endpoint domain, destructive, discovery method, then the
/// four hints (strings byte-wise, `false` before `true`).
pub(crate) fn compare_targets(a: &Target, b: &Target) -> Ordering {
    a.kind
        .as_str()
        .cmp(b.kind.as_str())
        .then_with(|| a.value.cmp(&b.value))
        .then_with(|| a.operation.cmp(&b.operation))
        .then_with(|| a.sensitivity.cmp(&b.sensitivity))
        .then_with(|| a.endpoint_class.as_str().cmp(b.endpoint_class.as_str()))
        .then_with(|| a.endpoint_domain.cmp(&b.endpoint_domain))
        .then_with(|| a.destructive.cmp(&b.destructive))
        .then_with(|| a.discovery_method.as_str().cmp(b.discovery_method.as_str()))
        .then_with(|| a.read_only_hint.cmp(&b.read_only_hint))
        .then_with(|| a.destructive_hint.cmp(&b.destructive_hint))
        .then_with(|| a.idempotent_hint.cmp(&b.idempotent_hint))
        .then_with(|| a.open_world_hint.cmp(&b.open_world_hint))
}

/// Sorts and removes duplicates (the order covers all twelve fields, so
/// equal neighbours are exact duplicates).
fn dedup_sort_targets(mut targets: Vec<Target>) -> Vec<Target> {
    targets.sort_by(compare_targets);
    targets.dedup();
    targets
}

fn normalize_provenance(
    raw: Vec<RawArgProvenance>,
    path: &FieldPath<'_>,
) -> Result<Vec<ArgProvenance>, IntentError> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.into_iter().enumerate() {
        let entry_path = path.index(i);
        let arg_path = trim_owned(entry.arg_path);
        let source = lower_trim_cow(&entry.source);
        let source_ref = trim_owned(entry.source_ref);
        if arg_path.is_empty() {
            return Err(IntentError::missing(&entry_path.key("arg_path")));
        }
        if source.is_empty() {
            return Err(IntentError::missing(&entry_path.key("source")));
        }
        let source = ProvenanceSource::from_wire(&source)
            .ok_or_else(|| IntentError::unsupported(&entry_path.key("source"), &source))?;
        let integrity_digest =
            optional_digest(&entry.integrity_digest, &entry_path.key("integrity_digest"))?;
        out.push(ArgProvenance {
            arg_path,
            source,
            source_ref,
            integrity_digest,
        });
    }
    Ok(dedup_sort_provenance(out))
}

fn dedup_sort_provenance(mut entries: Vec<ArgProvenance>) -> Vec<ArgProvenance> {
    // Lowercase hex order equals byte order, and "" (None) sorts first.
    entries.sort_by(|a, b| {
        a.arg_path
            .cmp(&b.arg_path)
            .then_with(|| a.source.as_str().cmp(b.source.as_str()))
            .then_with(|| a.source_ref.cmp(&b.source_ref))
            .then_with(|| a.integrity_digest.cmp(&b.integrity_digest))
    });
    entries.dedup();
    entries
}

/// A lowercased, trimmed digest field: empty is `None`, otherwise it must
/// be 64 hex characters.
fn optional_digest(raw: &str, path: &FieldPath<'_>) -> Result<Option<Sha256Digest>, IntentError> {
    let text = lower_trim(raw);
    if text.is_empty() {
        return Ok(None);
    }
    if !is_hex64(&text) {
        return Err(IntentError::invalid(path, NOT_SHA256));
    }
    Sha256Digest::parse_hex(&text)
        .map(Some)
        .map_err(|_| IntentError::invalid(path, NOT_SHA256))
}

fn normalize_skill(
    raw: RawSkillProvenance,
    path: &FieldPath<'_>,
) -> Result<SkillProvenance, IntentError> {
    let skill_name = raw.skill_name.trim();
    let source = lower_trim(&raw.source);
    let publisher = raw.publisher.trim();
    for (name, value) in [
        ("skill_name", skill_name),
        ("source", source.as_str()),
        ("publisher", publisher),
    ] {
        if value.is_empty() {
            return Err(IntentError::missing(&path.key(name)));
        }
    }
    let digest = optional_digest(&raw.digest, &path.key("digest"))?;
    Ok(SkillProvenance {
        skill_name: skill_name.to_owned(),
        skill_version: raw.skill_version.trim().to_owned(),
        source,
        publisher: publisher.to_owned(),
        digest,
        signature_key_id: raw.signature_key_id.trim().to_owned(),
    })
}

/// Trimmed, empty entries dropped, de-duplicated, sorted byte-wise.
pub(crate) fn unique_sorted(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = values
        .into_iter()
        .filter_map(|v| {
            let t = v.trim();
            if t.is_empty() {
                None
            } else if t.len() == v.len() {
                Some(v)
            } else {
                Some(t.to_owned())
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Parses a closed-set field: empty is `None`, anything outside the set is
/// an error.
fn optional_enum<T>(
    raw: &str,
    path: &FieldPath<'_>,
    from_wire: fn(&str) -> Option<T>,
) -> Result<Option<T>, IntentError> {
    let text = lower_trim_cow(raw);
    if text.is_empty() {
        return Ok(None);
    }
    from_wire(&text)
        .map(Some)
        .ok_or_else(|| IntentError::unsupported(path, &text))
}

/// The first instant of year 0 and of year 10000 (UTC): Go refuses to
/// marshal times outside `[0, 9999]`, which makes the digest fail.
const MIN_MARSHAL_UNIX: i64 = -62_167_219_200;
const MAX_MARSHAL_UNIX: i64 = 253_402_300_800;

/// A time converted to UTC; the zero time is `None`.
fn utc_time(raw: Option<GoTime>, path: &FieldPath<'_>) -> Result<Option<GoTime>, IntentError> {
    let Some(t) = raw.map(GoTime::to_utc) else {
        return Ok(None);
    };
    if t.is_zero() {
        return Ok(None);
    }
    if !(MIN_MARSHAL_UNIX..MAX_MARSHAL_UNIX).contains(&t.unix_seconds()) {
        return Err(IntentError::invalid(
            path,
            "year outside of range [0,9999] in UTC",
        ));
    }
    Ok(Some(t))
}

fn normalize_context(raw: &mut RawContext, path: &FieldPath<'_>) -> Result<Context, IntentError> {
    let identity = trim_owned(take(&mut raw.identity));
    let workspace = trim_owned(take(&mut raw.workspace));
    let risk_class = lower_trim_owned(take(&mut raw.risk_class));
    if identity.is_empty() {
        return Err(IntentError::missing(&path.key("identity")));
    }
    if workspace.is_empty() {
        return Err(IntentError::missing(&path.key("workspace")));
    }
    if risk_class.is_empty() {
        return Err(IntentError::missing(&path.key("risk_class")));
    }

    let auth_context =
        normalize_auth_context(take(&mut raw.auth_context), &path.key("auth_context"))?;
    let sandbox = raw
        .sandbox
        .take()
        .map(|s| normalize_sandbox(s, &path.key("sandbox")))
        .transpose()?
        .flatten();
    let agent_identity = raw
        .agent_identity
        .take()
        .map(|a| normalize_agent_identity(a, &path.key("agent_identity")))
        .transpose()?;
    let credential_scopes = unique_sorted(take(&mut raw.credential_scopes));
    let context_set_digest =
        optional_digest(&raw.context_set_digest, &path.key("context_set_digest"))?;
    if raw.credential_ttl_seconds < 0 {
        return Err(IntentError::invalid(
            &path.key("credential_ttl_seconds"),
            "must be >= 0",
        ));
    }
    let credential_source = optional_enum(
        &raw.credential_source,
        &path.key("credential_source"),
        CredentialSource::from_wire,
    )?;
    let credential_access_type = optional_enum(
        &raw.credential_access_type,
        &path.key("credential_access_type"),
        CredentialAccessType::from_wire,
    )?;
    let context_evidence_mode = optional_enum(
        &raw.context_evidence_mode,
        &path.key("context_evidence_mode"),
        ContextEvidenceMode::from_wire,
    )?;
    let phase =
        optional_enum(&raw.phase, &path.key("phase"), Phase::from_wire)?.unwrap_or(Phase::Apply);

    let trimmed = |s: String| {
        let t = trim(&s);
        if t.len() == s.len() { s } else { t.to_owned() }
    };
    let context = Context {
        identity,
        workspace: if workspace.contains('\\') {
            workspace.replace('\\', "/")
        } else {
            workspace
        },
        risk_class,
        phase,
        agent_id: trimmed(take(&mut raw.agent_id)),
        agent_identity,
        run_id: trimmed(take(&mut raw.run_id)),
        workflow_id: trimmed(take(&mut raw.workflow_id)),
        repo: trimmed(take(&mut raw.repo)),
        environment: trimmed(take(&mut raw.environment)),
        job_id: trimmed(take(&mut raw.job_id)),
        session_id: trimmed(take(&mut raw.session_id)),
        request_id: trimmed(take(&mut raw.request_id)),
        credential_ref: trimmed(take(&mut raw.credential_ref)),
        credential_source,
        credential_access_type,
        credential_issuer: trimmed(take(&mut raw.credential_issuer)),
        credential_subject: trimmed(take(&mut raw.credential_subject)),
        credential_owner: trimmed(take(&mut raw.credential_owner)),
        credential_target_binding: trimmed(take(&mut raw.credential_target_binding)),
        credential_run_binding: trimmed(take(&mut raw.credential_run_binding)),
        credential_job_binding: trimmed(take(&mut raw.credential_job_binding)),
        credential_ttl_seconds: raw.credential_ttl_seconds,
        approval_ref: trimmed(take(&mut raw.approval_ref)),
        wrkr_inventory_ref: trimmed(take(&mut raw.wrkr_inventory_ref)),
        agent_action_bom_ref: trimmed(take(&mut raw.agent_action_bom_ref)),
        auth_context,
        sandbox,
        credential_scopes,
        environment_fingerprint: trimmed(take(&mut raw.environment_fingerprint)),
        context_set_digest,
        context_evidence_mode,
        context_refs: unique_sorted(take(&mut raw.context_refs)),
    };
    // Identifiers name files, journal entries and log lines: a newline or
    // other control character in one could forge a line or hide a name.
    for (name, value) in [
        ("identity", &context.identity),
        ("agent_id", &context.agent_id),
        ("run_id", &context.run_id),
        ("workflow_id", &context.workflow_id),
        ("job_id", &context.job_id),
        ("session_id", &context.session_id),
        ("request_id", &context.request_id),
    ] {
        if let Some(c) = gait_digest::identifier_control_char(value) {
            return Err(IntentError::Invalid {
                path: path.key(name).to_string(),
                reason: format!(
                    "contains a control character (U+{:04X}); identifiers must be one line of visible text",
                    u32::from(c)
                ),
            });
        }
    }
    Ok(context)
}

/// `auth_context` is normalized like `args`, checked for raw credential
/// material, and an empty one becomes `None`.
pub(crate) fn normalize_auth_context(
    raw: RawMap,
    path: &FieldPath<'_>,
) -> Result<Option<Map<String, Value>>, IntentError> {
    let Some(map) = raw else {
        return Ok(None);
    };
    if map.is_empty() {
        return Ok(None);
    }
    let normalized = normalize_map(map, path)?;
    if normalized.is_empty() {
        return Ok(None);
    }
    reject_credential_material(&normalized, path)?;
    Ok(Some(normalized))
}

fn normalize_sandbox(
    raw: RawSandbox,
    path: &FieldPath<'_>,
) -> Result<Option<Sandbox>, IntentError> {
    let network_mode = optional_enum(
        &raw.network_mode,
        &path.key("network_mode"),
        NetworkMode::from_wire,
    )?;
    let env_exposure_mode = optional_enum(
        &raw.env_exposure_mode,
        &path.key("env_exposure_mode"),
        EnvExposureMode::from_wire,
    )?;
    let filesystem_isolation = optional_enum(
        &raw.filesystem_isolation,
        &path.key("filesystem_isolation"),
        FilesystemIsolation::from_wire,
    )?;
    let user_mode = optional_enum(&raw.user_mode, &path.key("user_mode"), UserMode::from_wire)?;
    if raw.timeout_seconds < 0 {
        return Err(IntentError::invalid(
            &path.key("timeout_seconds"),
            "must be >= 0",
        ));
    }
    let writable_paths = sandbox_paths(raw.writable_paths, &path.key("writable_paths"))?;
    let read_only_roots = sandbox_paths(raw.read_only_roots, &path.key("read_only_roots"))?;
    let evidence_ref = raw.evidence_ref.trim().to_owned();
    let evidence_digest = optional_digest(&raw.evidence_digest, &path.key("evidence_digest"))?;
    reject_sandbox_string(&evidence_ref, true, &path.key("evidence_ref"))?;

    let sandbox = Sandbox {
        network_mode,
        writable_paths,
        read_only_roots,
        env_exposure_mode,
        timeout_seconds: raw.timeout_seconds,
        filesystem_isolation,
        user_mode,
        evidence_ref,
        evidence_digest,
    };
    let empty = sandbox.network_mode.is_none()
        && sandbox.writable_paths.is_empty()
        && sandbox.read_only_roots.is_empty()
        && sandbox.env_exposure_mode.is_none()
        && sandbox.timeout_seconds == 0
        && sandbox.filesystem_isolation.is_none()
        && sandbox.user_mode.is_none()
        && sandbox.evidence_ref.is_empty()
        && sandbox.evidence_digest.is_none();
    Ok(if empty { None } else { Some(sandbox) })
}

/// Sandbox path lists: trimmed, cleaned (`path.Clean`), `.` dropped,
/// environment assignments rejected, de-duplicated and sorted.
fn sandbox_paths(values: Vec<String>, path: &FieldPath<'_>) -> Result<Vec<String>, IntentError> {
    let mut seen = HashSet::with_capacity(values.len());
    let mut out = Vec::with_capacity(values.len());
    for (i, raw) in values.iter().enumerate() {
        let cleaned = clean_path(raw.trim());
        if cleaned == "." || cleaned.is_empty() {
            continue;
        }
        reject_sandbox_string(&cleaned, false, &path.index(i))?;
        if seen.insert(cleaned.clone()) {
            out.push(cleaned);
        }
    }
    out.sort();
    Ok(out)
}

fn reject_sandbox_string(
    value: &str,
    is_evidence_ref: bool,
    path: &FieldPath<'_>,
) -> Result<(), IntentError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(());
    }
    if is_env_assignment(trimmed) {
        return Err(IntentError::invalid(
            path,
            "must not contain raw environment variable assignments",
        ));
    }
    if is_evidence_ref {
        let lowered = lower(trimmed);
        if ["ref:", "receipt:", "proof:", "sandbox:", "sha256:"]
            .iter()
            .any(|p| lowered.starts_with(p))
        {
            return Ok(());
        }
        if looks_like_credential_value(trimmed) {
            return Err(IntentError::invalid(
                path,
                "must not contain secret-like sandbox material; use sandbox evidence refs or digests instead",
            ));
        }
    }
    Ok(())
}

fn normalize_agent_identity(
    raw: RawAgentIdentity,
    path: &FieldPath<'_>,
) -> Result<AgentIdentity, IntentError> {
    let manifest_digest = optional_digest(&raw.manifest_digest, &path.key("manifest_digest"))?;
    let issued_at = utc_time(raw.issued_at, &path.key("issued_at"))?;
    let approved_at = utc_time(raw.approved_at, &path.key("approved_at"))?;
    let expires_at = utc_time(raw.expires_at, &path.key("expires_at"))?;
    if let (Some(issued), Some(approved)) = (&issued_at, &approved_at)
        && approved.is_before(issued)
    {
        return Err(IntentError::invalid(
            &path.key("approved_at"),
            "must be on or after issued_at",
        ));
    }
    if let Some(expires) = &expires_at {
        if let Some(issued) = &issued_at
            && !expires.is_after(issued)
        {
            return Err(IntentError::invalid(
                &path.key("expires_at"),
                "must be after issued_at",
            ));
        }
        if let Some(approved) = &approved_at
            && !expires.is_after(approved)
        {
            return Err(IntentError::invalid(
                &path.key("expires_at"),
                "must be after approved_at",
            ));
        }
    }
    Ok(AgentIdentity {
        lifecycle_states: unique_sorted(raw.lifecycle_states),
        owner: raw.owner.trim().to_owned(),
        manifest_digest,
        publisher: raw.publisher.trim().to_owned(),
        source: lower_trim(&raw.source),
        issued_at,
        approved_at,
        expires_at,
        revoked: raw.revoked,
    })
}

fn normalize_delegation(
    raw: RawDelegation,
    path: &FieldPath<'_>,
) -> Result<Delegation, IntentError> {
    let requester_identity = raw.requester_identity.trim();
    if requester_identity.is_empty() {
        return Err(IntentError::missing(&path.key("requester_identity")));
    }
    let chain_path = path.key("chain");
    let mut chain: Vec<DelegationLink> = Vec::with_capacity(raw.chain.len());
    for (i, link) in raw.chain.into_iter().enumerate() {
        let link_path = chain_path.index(i);
        let delegator = link.delegator_identity.trim();
        let delegate = link.delegate_identity.trim();
        if delegator.is_empty() {
            return Err(IntentError::missing(&link_path.key("delegator_identity")));
        }
        if delegate.is_empty() {
            return Err(IntentError::missing(&link_path.key("delegate_identity")));
        }
        if let Some(previous) = chain.last()
            && previous.delegate_identity != delegator
        {
            return Err(IntentError::invalid(
                &link_path.key("delegator_identity"),
                format!("must match delegation.chain[{}].delegate_identity", i - 1),
            ));
        }
        let issued_at = utc_time(link.issued_at, &link_path.key("issued_at"))?;
        let expires_at = utc_time(link.expires_at, &link_path.key("expires_at"))?;
        check_expiry(
            issued_at.as_ref(),
            expires_at.as_ref(),
            &link_path.key("expires_at"),
        )?;
        chain.push(DelegationLink {
            delegator_identity: delegator.to_owned(),
            delegate_identity: delegate.to_owned(),
            scope_class: lower_trim(&link.scope_class),
            token_ref: link.token_ref.trim().to_owned(),
            issued_at,
            expires_at,
        });
    }
    let issued_at = utc_time(raw.issued_at, &path.key("issued_at"))?;
    let expires_at = utc_time(raw.expires_at, &path.key("expires_at"))?;
    check_expiry(
        issued_at.as_ref(),
        expires_at.as_ref(),
        &path.key("expires_at"),
    )?;
    if let Some(last) = chain.last()
        && last.delegate_identity != requester_identity
    {
        let last_path = chain_path.index(chain.len() - 1);
        return Err(IntentError::invalid(
            &last_path.key("delegate_identity"),
            "must match delegation.requester_identity",
        ));
    }
    Ok(Delegation {
        requester_identity: requester_identity.to_owned(),
        scope_class: lower_trim(&raw.scope_class),
        token_refs: unique_sorted(raw.token_refs),
        chain,
        issued_at,
        expires_at,
    })
}

fn check_expiry(
    issued: Option<&GoTime>,
    expires: Option<&GoTime>,
    path: &FieldPath<'_>,
) -> Result<(), IntentError> {
    match (issued, expires) {
        (Some(i), Some(e)) if !e.is_after(i) => {
            Err(IntentError::invalid(path, "must be after issued_at"))
        }
        _ => Ok(()),
    }
}

const PARENT_KINDS: [&str; 7] = [
    "trace", "run", "session", "intent", "policy", "agent", "evidence",
];
const ENTITY_KINDS: [&str; 8] = [
    "agent",
    "tool",
    "resource",
    "policy",
    "run",
    "trace",
    "delegation",
    "evidence",
];
const AGENT_ROLES: [&str; 3] = ["requester", "delegator", "delegate"];
const EDGE_KINDS: [&str; 6] = [
    "delegates_to",
    "calls",
    "governed_by",
    "targets",
    "derived_from",
    "emits_evidence",
];

/// Rule 10: entries with missing parts or kinds outside the allowed sets are
/// dropped (never an error); lists are de-duplicated and sorted; an empty
/// envelope is `None`.
fn normalize_relationship(raw: RawRelationship) -> Option<Relationship> {
    let parent_ref = raw.parent_ref.and_then(|r| {
        let kind = lower_trim(&r.kind);
        let id = r.id.trim();
        (!id.is_empty() && PARENT_KINDS.contains(&kind.as_str())).then(|| RelationshipRef {
            kind,
            id: id.to_owned(),
        })
    });

    let mut entity_refs: Vec<RelationshipRef> = raw
        .entity_refs
        .into_iter()
        .filter_map(|r| {
            let kind = lower_trim(&r.kind);
            let id = r.id.trim();
            (!id.is_empty() && ENTITY_KINDS.contains(&kind.as_str())).then(|| RelationshipRef {
                kind,
                id: id.to_owned(),
            })
        })
        .collect();
    entity_refs.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.id.cmp(&b.id)));
    entity_refs.dedup();

    let policy_ref = raw.policy_ref.and_then(|p| {
        let policy_ref = RelationshipPolicyRef {
            policy_id: p.policy_id.trim().to_owned(),
            policy_version: p.policy_version.trim().to_owned(),
            policy_digest: lower_trim(&p.policy_digest),
            matched_rule_ids: unique_sorted(p.matched_rule_ids),
        };
        let empty = policy_ref.policy_id.is_empty()
            && policy_ref.policy_version.is_empty()
            && policy_ref.policy_digest.is_empty()
            && policy_ref.matched_rule_ids.is_empty();
        (!empty).then_some(policy_ref)
    });

    let mut agent_chain: Vec<RelationshipAgentLink> = raw
        .agent_chain
        .into_iter()
        .filter_map(|l| {
            let role = lower_trim(&l.role);
            let identity = l.identity.trim();
            (!identity.is_empty() && AGENT_ROLES.contains(&role.as_str())).then(|| {
                RelationshipAgentLink {
                    identity: identity.to_owned(),
                    role,
                }
            })
        })
        .collect();
    agent_chain.sort_by(|a, b| {
        a.role
            .cmp(&b.role)
            .then_with(|| a.identity.cmp(&b.identity))
    });
    agent_chain.dedup();

    let mut edges: Vec<RelationshipEdge> = raw
        .edges
        .into_iter()
        .filter_map(|e| {
            let kind = lower_trim(&e.kind);
            let from = RelationshipRef {
                kind: lower_trim(&e.from.kind),
                id: e.from.id.trim().to_owned(),
            };
            let to = RelationshipRef {
                kind: lower_trim(&e.to.kind),
                id: e.to.id.trim().to_owned(),
            };
            let complete = !from.kind.is_empty()
                && !from.id.is_empty()
                && !to.kind.is_empty()
                && !to.id.is_empty();
            (complete && EDGE_KINDS.contains(&kind.as_str())).then_some(RelationshipEdge {
                kind,
                from,
                to,
            })
        })
        .collect();
    edges.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| a.from.kind.cmp(&b.from.kind))
            .then_with(|| a.from.id.cmp(&b.from.id))
            .then_with(|| a.to.kind.cmp(&b.to.kind))
            .then_with(|| a.to.id.cmp(&b.to.id))
    });
    edges.dedup();

    let mut agent_lineage: Vec<RelationshipAgentLineage> = raw
        .agent_lineage
        .into_iter()
        .filter_map(|l| {
            let agent_id = l.agent_id.trim();
            (!agent_id.is_empty()).then(|| RelationshipAgentLineage {
                agent_id: agent_id.to_owned(),
                delegated_by: l.delegated_by.trim().to_owned(),
                delegation_record_id: l.delegation_record_id.trim().to_owned(),
            })
        })
        .collect();
    agent_lineage.sort_by(|a, b| {
        a.agent_id
            .cmp(&b.agent_id)
            .then_with(|| a.delegated_by.cmp(&b.delegated_by))
            .then_with(|| a.delegation_record_id.cmp(&b.delegation_record_id))
    });
    agent_lineage.dedup();

    let mut related_entity_ids = unique_sorted(raw.related_entity_ids);
    if related_entity_ids.is_empty() {
        related_entity_ids = unique_sorted(entity_refs.iter().map(|r| r.id.clone()).collect());
    }
    let relationship = Relationship {
        parent_ref,
        entity_refs,
        policy_ref,
        agent_chain,
        edges,
        parent_record_id: raw.parent_record_id.trim().to_owned(),
        related_record_ids: unique_sorted(raw.related_record_ids),
        related_entity_ids,
        agent_lineage,
    };
    let empty = relationship.parent_ref.is_none()
        && relationship.entity_refs.is_empty()
        && relationship.policy_ref.is_none()
        && relationship.agent_chain.is_empty()
        && relationship.edges.is_empty()
        && relationship.parent_record_id.is_empty()
        && relationship.related_record_ids.is_empty()
        && relationship.related_entity_ids.is_empty()
        && relationship.agent_lineage.is_empty();
    (!empty).then_some(relationship)
}
