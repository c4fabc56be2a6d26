//! Gait's own tool-call shape (the `mcp` adapter) and its intent.

use serde_json::{Map, Value, json};

use super::{AdapterError, decode_err, string_field};
use crate::intent::Intent;

/// The identity a call without `context.identity` gets.
pub const DEFAULT_IDENTITY: &str = "mcp-proxy";
/// The workspace a call without `context.workspace` gets.
pub const DEFAULT_WORKSPACE: &str = ".";
/// The risk class a call without `context.risk_class` gets.
pub const DEFAULT_RISK_CLASS: &str = "high";
/// The `created_at` of a call without one (deterministic digests).
pub const DEFAULT_CREATED_AT: &str = "1980-01-01T00:00:00Z";

/// An MCP server's description (`server` of a call, `gait mcp verify
/// --server`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// `server_id`.
    pub server_id: String,
    /// `server_name`.
    pub server_name: String,
    /// `publisher`.
    pub publisher: String,
    /// `source`.
    pub source: String,
    /// `endpoint`.
    pub endpoint: String,
    /// The `serverInfo.version` of an MCP `initialize` result (set by the
    /// MCP protocol proxy; not read from tool-call payloads).
    pub server_version: String,
}

impl ServerInfo {
    /// A server known by its id.
    pub fn new(server_id: &str) -> Self {
        Self {
            server_id: server_id.to_owned(),
            ..Self::default()
        }
    }

    /// Decodes a server description object.
    ///
    /// # Errors
    ///
    /// [`AdapterError::Decode`] when a member is not a string.
    pub fn from_value(value: &Value, path: &str) -> Result<Self, AdapterError> {
        let obj = value
            .as_object()
            .ok_or_else(|| decode_err(format!("{path}: expected an object")))?;
        Ok(Self {
            server_id: string_field(obj, "server_id", &format!("{path}.server_id"))?,
            server_name: string_field(obj, "server_name", &format!("{path}.server_name"))?,
            publisher: string_field(obj, "publisher", &format!("{path}.publisher"))?,
            source: string_field(obj, "source", &format!("{path}.source"))?,
            endpoint: string_field(obj, "endpoint", &format!("{path}.endpoint"))?,
            server_version: String::new(),
        })
    }
}

/// A target of a call, with MCP's annotation hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallTarget {
    /// `kind`.
    pub kind: String,
    /// `value`.
    pub value: String,
    /// `operation`.
    pub operation: String,
    /// `sensitivity`.
    pub sensitivity: String,
    /// `discovery_method` (resolved from its aliases and `annotations`).
    pub discovery_method: String,
    /// `read_only_hint`.
    pub read_only_hint: bool,
    /// `destructive_hint`.
    pub destructive_hint: bool,
    /// `idempotent_hint`.
    pub idempotent_hint: bool,
    /// `open_world_hint`.
    pub open_world_hint: bool,
}

impl CallTarget {
    /// A target of `kind` with `value` and `operation`.
    pub fn new(kind: &str, value: &str, operation: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            value: value.to_owned(),
            operation: operation.to_owned(),
            ..Self::default()
        }
    }

    /// The legacy single `target` string: `url` when it contains `://`,
    /// `path` when it contains `/`, otherwise `host`.
    pub fn from_legacy(raw: &str) -> Self {
        let value = raw.trim();
        let kind = if value.contains("://") {
            "url"
        } else if value.contains('/') {
            "path"
        } else if !value.is_empty() {
            "host"
        } else {
            "other"
        };
        Self::new(kind, value, "")
    }

    fn from_value(value: &Value, path: &str) -> Result<Self, AdapterError> {
        let obj = value
            .as_object()
            .ok_or_else(|| decode_err(format!("{path}: expected an object")))?;
        let s = |k: &str| string_field(obj, k, &format!("{path}.{k}"));
        let b = |k: &str| -> Result<bool, AdapterError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(v)) => Ok(*v),
                Some(_) => Err(decode_err(format!("{path}.{k}: expected a boolean"))),
            }
        };
        let mut t = CallTarget {
            kind: s("kind")?.trim().to_owned(),
            value: s("value")?.trim().to_owned(),
            operation: s("operation")?.trim().to_owned(),
            sensitivity: s("sensitivity")?.trim().to_owned(),
            discovery_method: s("discovery_method")?.trim().to_owned(),
            read_only_hint: b("read_only_hint")? || b("readOnlyHint")?,
            destructive_hint: b("destructive_hint")? || b("destructiveHint")?,
            idempotent_hint: b("idempotent_hint")? || b("idempotentHint")?,
            open_world_hint: b("open_world_hint")? || b("openWorldHint")?,
        };
        if t.discovery_method.is_empty() {
            t.discovery_method = s("discoveryMethod")?.trim().to_owned();
        }
        match obj.get("annotations") {
            None | Some(Value::Null) => {}
            Some(Value::Object(a)) => t.apply_annotations(a),
            Some(_) => {
                return Err(decode_err(format!(
                    "{path}.annotations: expected an object"
                )));
            }
        }
        Ok(t)
    }

    /// Applies an annotations map (snake_case or camelCase keys; booleans
    /// or the strings `true`/`false`): a present hint overrides the
    /// target's own.
    pub fn apply_annotations(&mut self, a: &Map<String, Value>) {
        if let Some(v) = annotation_str(a, &["discovery_method", "discoveryMethod"]) {
            v.trim().clone_into(&mut self.discovery_method);
        }
        if let Some(v) = annotation_bool(a, &["read_only_hint", "readOnlyHint"]) {
            self.read_only_hint = v;
        }
        if let Some(v) = annotation_bool(a, &["destructive_hint", "destructiveHint"]) {
            self.destructive_hint = v;
        }
        if let Some(v) = annotation_bool(a, &["idempotent_hint", "idempotentHint"]) {
            self.idempotent_hint = v;
        }
        if let Some(v) = annotation_bool(a, &["open_world_hint", "openWorldHint"]) {
            self.open_world_hint = v;
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), Value::String(self.kind.trim().to_owned()));
        m.insert("value".into(), Value::String(self.value.trim().to_owned()));
        for (k, v) in [
            ("operation", &self.operation),
            ("sensitivity", &self.sensitivity),
            ("discovery_method", &self.discovery_method),
        ] {
            if !v.trim().is_empty() {
                m.insert(k.into(), Value::String(v.trim().to_owned()));
            }
        }
        for (k, v) in [
            ("read_only_hint", self.read_only_hint),
            ("destructive_hint", self.destructive_hint),
            ("idempotent_hint", self.idempotent_hint),
            ("open_world_hint", self.open_world_hint),
        ] {
            if v {
                m.insert(k.into(), Value::Bool(true));
            }
        }
        Value::Object(m)
    }
}

fn annotation_bool(a: &Map<String, Value>, keys: &[&str]) -> Option<bool> {
    for k in keys {
        match a.get(*k) {
            Some(Value::Bool(b)) => return Some(*b),
            Some(Value::String(s)) => match s.trim().to_lowercase().as_str() {
                "true" => return Some(true),
                "false" => return Some(false),
                _ => {}
            },
            _ => {}
        }
    }
    None
}

fn annotation_str<'a>(a: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| a.get(*k).and_then(Value::as_str))
}

/// Where an argument came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallArgProvenance {
    /// `arg_path`.
    pub arg_path: String,
    /// `source`.
    pub source: String,
    /// `source_ref`.
    pub source_ref: String,
    /// `integrity_digest`.
    pub integrity_digest: String,
}

impl CallArgProvenance {
    fn from_value(value: &Value, path: &str) -> Result<Self, AdapterError> {
        let obj = value
            .as_object()
            .ok_or_else(|| decode_err(format!("{path}: expected an object")))?;
        let s = |k: &str| string_field(obj, k, &format!("{path}.{k}")).map(|v| v.trim().to_owned());
        Ok(Self {
            arg_path: s("arg_path")?,
            source: s("source")?,
            source_ref: s("source_ref")?,
            integrity_digest: s("integrity_digest")?,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("arg_path".into(), Value::String(self.arg_path.clone()));
        m.insert("source".into(), Value::String(self.source.clone()));
        if !self.source_ref.is_empty() {
            m.insert("source_ref".into(), Value::String(self.source_ref.clone()));
        }
        if !self.integrity_digest.is_empty() {
            m.insert(
                "integrity_digest".into(),
                Value::String(self.integrity_digest.clone()),
            );
        }
        Value::Object(m)
    }
}

/// One delegation link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallDelegationLink {
    /// `delegator_identity`.
    pub delegator_identity: String,
    /// `delegate_identity`.
    pub delegate_identity: String,
    /// `scope_class`.
    pub scope_class: String,
    /// `token_ref`.
    pub token_ref: String,
}

/// The delegation of a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallDelegation {
    /// `requester_identity`.
    pub requester_identity: String,
    /// `scope_class`.
    pub scope_class: String,
    /// `token_refs`.
    pub token_refs: Vec<String>,
    /// `chain`.
    pub chain: Vec<CallDelegationLink>,
}

/// The context of a call.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CallContext {
    /// `identity` (default `mcp-proxy`).
    pub identity: String,
    /// `workspace` (default `.`).
    pub workspace: String,
    /// `risk_class` (default `high`).
    pub risk_class: String,
    /// `phase`.
    pub phase: String,
    /// `job_id`.
    pub job_id: String,
    /// `session_id`.
    pub session_id: String,
    /// `request_id`.
    pub request_id: String,
    /// `run_id` (names the run; not part of the intent).
    pub run_id: String,
    /// `auth_mode` (moved into `auth_context`).
    pub auth_mode: String,
    /// `oauth_evidence` (moved into `auth_context`; empty members dropped).
    pub oauth_evidence: Option<Map<String, Value>>,
    /// `auth_context`.
    pub auth_context: Map<String, Value>,
    /// `credential_scopes`.
    pub credential_scopes: Vec<String>,
    /// `environment_fingerprint`.
    pub environment_fingerprint: String,
    /// `context_envelope_path` (refused at every boundary: only the
    /// boundary's own flag counts).
    pub context_envelope_path: String,
}

/// A decoded tool call, before it becomes an intent.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ToolCall {
    /// The tool name.
    pub name: String,
    /// The arguments.
    pub args: Map<String, Value>,
    /// Script steps, each a call without server, context or delegation.
    pub script: Vec<ToolCall>,
    /// The legacy single target.
    pub target: String,
    /// The targets.
    pub targets: Vec<CallTarget>,
    /// Argument provenance.
    pub arg_provenance: Vec<CallArgProvenance>,
    /// The MCP server the call goes to (trust checks).
    pub server: Option<ServerInfo>,
    /// The context.
    pub context: CallContext,
    /// The delegation.
    pub delegation: Option<CallDelegation>,
    /// `created_at` (RFC 3339), empty when absent.
    pub created_at: String,
}

fn strings(value: Option<&Value>, path: &str) -> Result<Vec<String>, AdapterError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| decode_err(format!("{path}[{i}]: expected a string")))
            })
            .collect(),
        Some(_) => Err(decode_err(format!("{path}: expected an array"))),
    }
}

fn array<'a>(value: Option<&'a Value>, path: &str) -> Result<&'a [Value], AdapterError> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(decode_err(format!("{path}: expected an array"))),
    }
}

fn opt_object<'a>(
    value: Option<&'a Value>,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, AdapterError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(decode_err(format!("{path}: expected an object"))),
    }
}

impl ToolCall {
    /// A call of `name` with `args`.
    pub fn new(name: &str, args: Map<String, Value>) -> Self {
        Self {
            name: name.to_owned(),
            args,
            ..Self::default()
        }
    }

    /// Decodes Gait's own tool-call shape (the `mcp` adapter).
    ///
    /// # Errors
    ///
    /// [`AdapterError::Decode`] naming the offending field.
    pub fn from_value(value: &Value) -> Result<Self, AdapterError> {
        let obj = super::object(value, "mcp")?;
        let mut call = Self::step_from(obj, "call")?;
        call.target = string_field(obj, "target", "target")?;
        if let Some(script) = opt_object(obj.get("script"), "script")? {
            for (i, step) in array(script.get("steps"), "script.steps")?
                .iter()
                .enumerate()
            {
                let path = format!("script.steps[{i}]");
                let step_obj = step
                    .as_object()
                    .ok_or_else(|| decode_err(format!("{path}: expected an object")))?;
                call.script.push(Self::step_from(step_obj, &path)?);
            }
        }
        if let Some(server) = obj.get("server").filter(|v| !v.is_null()) {
            call.server = Some(ServerInfo::from_value(server, "server")?);
        }
        if let Some(ctx) = opt_object(obj.get("context"), "context")? {
            call.context = context_from(ctx)?;
        }
        if let Some(d) = opt_object(obj.get("delegation"), "delegation")? {
            let mut del = CallDelegation {
                requester_identity: string_field(
                    d,
                    "requester_identity",
                    "delegation.requester_identity",
                )?,
                scope_class: string_field(d, "scope_class", "delegation.scope_class")?,
                token_refs: strings(d.get("token_refs"), "delegation.token_refs")?,
                chain: Vec::new(),
            };
            for (i, link) in array(d.get("chain"), "delegation.chain")?
                .iter()
                .enumerate()
            {
                let path = format!("delegation.chain[{i}]");
                let l = link
                    .as_object()
                    .ok_or_else(|| decode_err(format!("{path}: expected an object")))?;
                let s = |k: &str| string_field(l, k, &format!("{path}.{k}"));
                del.chain.push(CallDelegationLink {
                    delegator_identity: s("delegator_identity")?,
                    delegate_identity: s("delegate_identity")?,
                    scope_class: s("scope_class")?,
                    token_ref: s("token_ref")?,
                });
            }
            call.delegation = Some(del);
        }
        call.created_at = string_field(obj, "created_at", "created_at")?;
        Ok(call)
    }

    /// The members a script step shares with a call: `name`, `args`,
    /// `targets`, `arg_provenance`.
    fn step_from(obj: &Map<String, Value>, path: &str) -> Result<Self, AdapterError> {
        let mut call = ToolCall {
            name: string_field(obj, "name", &format!("{path}.name"))?,
            ..ToolCall::default()
        };
        if let Some(args) = opt_object(obj.get("args"), &format!("{path}.args"))? {
            call.args = args.clone();
        }
        for (i, t) in array(obj.get("targets"), &format!("{path}.targets"))?
            .iter()
            .enumerate()
        {
            call.targets
                .push(CallTarget::from_value(t, &format!("{path}.targets[{i}]"))?);
        }
        for (i, p) in array(obj.get("arg_provenance"), &format!("{path}.arg_provenance"))?
            .iter()
            .enumerate()
        {
            call.arg_provenance.push(CallArgProvenance::from_value(
                p,
                &format!("{path}.arg_provenance[{i}]"),
            )?);
        }
        Ok(call)
    }

    /// The intent request (JSON) the call maps to, before normalization.
    ///
    /// # Errors
    ///
    /// [`AdapterError::Decode`] when the call has no name (and no script)
    /// or a script step has none.
    pub fn to_intent_request(&self) -> Result<Value, AdapterError> {
        let mut name = self.name.trim().to_owned();
        let has_script = !self.script.is_empty();
        if name.is_empty() && !has_script {
            return Err(decode_err("tool call name is required"));
        }
        let mut targets = self.targets.clone();
        if targets.is_empty() && !self.target.trim().is_empty() {
            targets.push(CallTarget::from_legacy(&self.target));
        }
        let mut args = Value::Object(self.args.clone());
        let mut script = Value::Null;
        if has_script {
            let mut steps = Vec::with_capacity(self.script.len());
            for (i, step) in self.script.iter().enumerate() {
                let step_name = step.name.trim();
                if step_name.is_empty() {
                    return Err(decode_err(format!("script.steps[{i}].name is required")));
                }
                steps.push(json!({
                    "tool_name": step_name,
                    "args": Value::Object(step.args.clone()),
                    "targets": step.targets.iter().map(CallTarget::to_json).collect::<Vec<_>>(),
                    "arg_provenance": step.arg_provenance.iter().map(CallArgProvenance::to_json).collect::<Vec<_>>(),
                }));
            }
            script = json!({ "steps": steps });
            "script".clone_into(&mut name);
            args = Value::Object(Map::new());
        }
        let created_at = if self.created_at.trim().is_empty() {
            DEFAULT_CREATED_AT.to_owned()
        } else {
            self.created_at.clone()
        };
        let ctx = &self.context;
        let or = |v: &str, d: &str| {
            let t = v.trim();
            if t.is_empty() {
                d.to_owned()
            } else {
                t.to_owned()
            }
        };
        let mut auth_context = ctx.auth_context.clone();
        if !ctx.auth_mode.trim().is_empty() {
            auth_context.insert(
                "auth_mode".into(),
                Value::String(ctx.auth_mode.trim().to_owned()),
            );
        }
        if let Some(ev) = &ctx.oauth_evidence {
            auth_context.insert("oauth_evidence".into(), Value::Object(ev.clone()));
        }
        let mut context = Map::new();
        context.insert(
            "identity".into(),
            Value::String(or(&ctx.identity, DEFAULT_IDENTITY)),
        );
        context.insert(
            "workspace".into(),
            Value::String(or(&ctx.workspace, DEFAULT_WORKSPACE)),
        );
        context.insert(
            "risk_class".into(),
            Value::String(or(&ctx.risk_class, DEFAULT_RISK_CLASS)),
        );
        for (k, v) in [
            ("phase", &ctx.phase),
            ("job_id", &ctx.job_id),
            ("session_id", &ctx.session_id),
            ("request_id", &ctx.request_id),
            ("environment_fingerprint", &ctx.environment_fingerprint),
        ] {
            if !v.trim().is_empty() {
                context.insert(k.into(), Value::String(v.trim().to_owned()));
            }
        }
        if !auth_context.is_empty() {
            context.insert("auth_context".into(), Value::Object(auth_context));
        }
        if !ctx.credential_scopes.is_empty() {
            context.insert("credential_scopes".into(), json!(ctx.credential_scopes));
        }
        let mut req = Map::new();
        req.insert("schema_id".into(), json!(crate::intent::SCHEMA_ID));
        req.insert(
            "schema_version".into(),
            json!(crate::intent::SCHEMA_VERSION),
        );
        req.insert("created_at".into(), Value::String(created_at));
        req.insert("producer_version".into(), json!("0.0.0-dev"));
        req.insert("tool_name".into(), Value::String(name));
        req.insert("args".into(), args);
        if !script.is_null() {
            req.insert("script".into(), script);
        }
        req.insert(
            "targets".into(),
            Value::Array(targets.iter().map(CallTarget::to_json).collect()),
        );
        if !self.arg_provenance.is_empty() {
            req.insert(
                "arg_provenance".into(),
                Value::Array(
                    self.arg_provenance
                        .iter()
                        .map(CallArgProvenance::to_json)
                        .collect(),
                ),
            );
        }
        if let Some(d) = &self.delegation {
            let chain: Vec<Value> = d
                .chain
                .iter()
                .map(|l| {
                    let mut m = Map::new();
                    m.insert(
                        "delegator_identity".into(),
                        json!(l.delegator_identity.trim()),
                    );
                    m.insert(
                        "delegate_identity".into(),
                        json!(l.delegate_identity.trim()),
                    );
                    if !l.scope_class.trim().is_empty() {
                        m.insert("scope_class".into(), json!(l.scope_class.trim()));
                    }
                    if !l.token_ref.trim().is_empty() {
                        m.insert("token_ref".into(), json!(l.token_ref.trim()));
                    }
                    Value::Object(m)
                })
                .collect();
            let mut m = Map::new();
            m.insert(
                "requester_identity".into(),
                json!(d.requester_identity.trim()),
            );
            if !d.scope_class.trim().is_empty() {
                m.insert("scope_class".into(), json!(d.scope_class.trim()));
            }
            if !d.token_refs.is_empty() {
                m.insert("token_refs".into(), json!(d.token_refs));
            }
            if !chain.is_empty() {
                m.insert("chain".into(), Value::Array(chain));
            }
            req.insert("delegation".into(), Value::Object(m));
        }
        req.insert("context".into(), Value::Object(context));
        Ok(Value::Object(req))
    }

    /// The normalized intent of the call.
    ///
    /// # Errors
    ///
    /// [`AdapterError`] when the call has no name or the intent is
    /// invalid.
    pub fn to_intent(&self) -> Result<Intent, AdapterError> {
        Ok(Intent::from_value(&self.to_intent_request()?)?)
    }
}

fn context_from(ctx: &Map<String, Value>) -> Result<CallContext, AdapterError> {
    let s = |k: &str| string_field(ctx, k, &format!("context.{k}"));
    let oauth_evidence = match opt_object(ctx.get("oauth_evidence"), "context.oauth_evidence")? {
        None => None,
        Some(ev) => {
            // Only the evidence fields, empty ones dropped (as the
            // reference re-encodes its typed struct).
            let mut m = Map::new();
            for k in [
                "issuer",
                "subject",
                "client_id",
                "token_type",
                "dcr_client_id",
                "redirect_uri",
                "token_binding",
                "auth_time",
                "evidence_ref",
            ] {
                let v = string_field(ev, k, &format!("context.oauth_evidence.{k}"))?;
                if !v.is_empty() {
                    m.insert(k.into(), Value::String(v));
                }
            }
            for k in ["audience", "scopes"] {
                let v = strings(ev.get(k), &format!("context.oauth_evidence.{k}"))?;
                if !v.is_empty() {
                    m.insert(k.into(), json!(v));
                }
            }
            Some(m)
        }
    };
    Ok(CallContext {
        identity: s("identity")?,
        workspace: s("workspace")?,
        risk_class: s("risk_class")?,
        phase: s("phase")?,
        job_id: s("job_id")?,
        session_id: s("session_id")?,
        request_id: s("request_id")?,
        run_id: s("run_id")?,
        auth_mode: s("auth_mode")?,
        oauth_evidence,
        auth_context: opt_object(ctx.get("auth_context"), "context.auth_context")?
            .cloned()
            .unwrap_or_default(),
        credential_scopes: strings(ctx.get("credential_scopes"), "context.credential_scopes")?,
        environment_fingerprint: s("environment_fingerprint")?,
        context_envelope_path: s("context_envelope_path")?,
    })
}
