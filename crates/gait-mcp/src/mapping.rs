//! From an MCP `tools/call` to a Gait intent, and the canonical digest of a
//! tool definition.

use gait_digest::Sha256Digest;
use gait_policy::Intent;
use serde_json::{Map, Value, json};

use crate::Error;

/// The identity defaults of intents built by the proxy (the reference's
/// defaults for MCP calls).
pub const DEFAULT_IDENTITY: &str = "mcp-proxy";
/// The default workspace.
pub const DEFAULT_WORKSPACE: &str = ".";
/// The default risk class.
pub const DEFAULT_RISK_CLASS: &str = "high";
/// `created_at` of every intent built here: fixed, so that the same call
/// always has the same intent digest.
pub const FIXED_CREATED_AT: &str = "1980-01-01T00:00:00Z";

/// The most targets inferred from one call's arguments.
const MAX_TARGETS: usize = 32;
/// The longest argument value turned into a target.
const MAX_TARGET_VALUE: usize = 4096;

/// Argument names whose string values are file-system paths (or URLs when
/// they contain `://`).
const PATH_KEYS: [&str; 9] = [
    "path",
    "file",
    "file_path",
    "filepath",
    "filename",
    "directory",
    "dir",
    "source",
    "destination",
];
/// Argument names holding lists of paths.
const PATH_LIST_KEYS: [&str; 2] = ["paths", "files"];
/// Argument names holding URLs.
const URL_KEYS: [&str; 2] = ["url", "uri"];
/// Argument names holding commands.
const COMMAND_KEYS: [&str; 2] = ["command", "cmd"];

/// Who the MCP server is: from the `initialize` result's `serverInfo`, or
/// set by the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerIdentity {
    /// The id policies and traces name the server by (`--server-id`, else
    /// `serverInfo.name`).
    pub server_id: String,
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
}

impl ServerIdentity {
    /// An identity with only an id.
    pub fn with_id(id: &str) -> Self {
        Self {
            server_id: id.trim().to_owned(),
            ..Self::default()
        }
    }

    /// Fills name and version from an `initialize` result; the id follows
    /// the name unless it was set.
    pub fn learn(&mut self, initialize_result: &Value) {
        let info = initialize_result.get("serverInfo");
        let text = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        self.name = text("name");
        self.version = text("version");
        if self.server_id.is_empty() {
            self.server_id.clone_from(&self.name);
        }
    }
}

/// MCP tool annotations: the hints a server declares in `tools/list`.
///
/// A hint the server does not state is `false`, as in the reference's MCP
/// mapping. (The MCP specification's defaults would make every
/// unannotated tool destructive, and the gate turns a destructive `allow`
/// into `require_approval`, so no unannotated tool could ever run.) Hints
/// are claims of the server, pinned on first sight; a policy that trusts
/// them says so with `match.tool_annotations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Hints {
    /// `readOnlyHint`.
    pub read_only: bool,
    /// `destructiveHint`.
    pub destructive: bool,
    /// `idempotentHint`.
    pub idempotent: bool,
    /// `openWorldHint`.
    pub open_world: bool,
}

impl Hints {
    /// The hints of a tool definition's `annotations` object (only JSON
    /// `true` counts as set).
    pub fn from_annotations(annotations: Option<&Value>) -> Self {
        let get = |k: &str| {
            annotations
                .and_then(|a| a.get(k))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        Self {
            read_only: get("readOnlyHint"),
            destructive: get("destructiveHint"),
            idempotent: get("idempotentHint"),
            open_world: get("openWorldHint"),
        }
    }
}

/// What the proxy knows about a tool from `tools/list`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolInfo {
    /// Its hints.
    pub hints: Hints,
    /// The digest of its definition as first seen (the pin).
    pub pinned: Sha256Digest,
    /// The digest of its definition as last seen.
    pub current: Sha256Digest,
}

impl ToolInfo {
    /// Whether the definition changed since it was pinned.
    pub fn changed(&self) -> bool {
        self.pinned != self.current
    }
}

/// The canonical digest of a tool definition: SHA-256 of the RFC 8785
/// canonical JSON of the definition without its `_meta` member (so name,
/// title, description, input and output schemas and annotations are all
/// covered).
pub fn tool_definition_digest(tool: &Value) -> Sha256Digest {
    match tool {
        Value::Object(m) if m.contains_key("_meta") => {
            let mut copy = m.clone();
            copy.remove("_meta");
            gait_digest::digest_json(&Value::Object(copy))
        }
        other => gait_digest::digest_json(other),
    }
}

/// The context of the intents the proxy builds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallContext {
    /// `context.identity`.
    pub identity: String,
    /// `context.workspace`.
    pub workspace: String,
    /// `context.risk_class`.
    pub risk_class: String,
    /// `context.session_id` (omitted when empty).
    pub session_id: String,
    /// `context.run_id` (omitted when empty).
    pub run_id: String,
}

impl Default for CallContext {
    fn default() -> Self {
        Self {
            identity: DEFAULT_IDENTITY.to_owned(),
            workspace: DEFAULT_WORKSPACE.to_owned(),
            risk_class: DEFAULT_RISK_CLASS.to_owned(),
            session_id: String::new(),
            run_id: String::new(),
        }
    }
}

/// Builds the intent of a `tools/call` with these `params`.
///
/// * `tool_name`: the MCP tool's name, trimmed and lowercased.
/// * `args`: `params.arguments` (absent or `null` is `{}`; anything but an
///   object is an error).
/// * `targets`: one per path, URL or command found in the top-level
///   arguments (`path`, `paths`, `source`, `destination`, `url`,
///   `command`, …), else one `other` target `mcp://<server>/<tool>`. Each
///   carries the tool's hints; paths of read-only tools have operation
///   `read`, other paths `write`; `discovery_method` is `mcp` when the tool
///   was listed.
/// * `context`: identity, workspace, risk class and session from `ctx`,
///   and an `auth_context` naming the adapter (`mcp_proxy`), the server
///   (`mcp_server_id`, `mcp_server_name`, `mcp_server_version`), the
///   pinned tool digest (`mcp_tool_digest`), whether the tool was listed
///   (`mcp_tool_listed`) and whether its definition changed
///   (`mcp_tool_definition_changed`).
/// * `created_at` is fixed ([`FIXED_CREATED_AT`]) for stable digests.
///
/// # Errors
///
/// [`Error::Call`] when `params.name` is missing or empty, `arguments` is
/// not an object, or the intent does not normalize.
pub fn intent_for_call(
    params: &Value,
    server: &ServerIdentity,
    tool: Option<&ToolInfo>,
    ctx: &CallContext,
) -> Result<Intent, Error> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Call("params.name must be a non-empty string".into()))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(Error::Call("params.arguments must be an object".into())),
    };
    let tool_name = name.to_lowercase();
    let hints = tool.map(|t| t.hints).unwrap_or_default();
    let listed = tool.is_some();
    let mut targets = infer_targets(&args, hints, listed);
    if targets.is_empty() {
        let server_id = if server.server_id.is_empty() {
            "unknown"
        } else {
            server.server_id.as_str()
        };
        targets.push(target(
            "other",
            &format!("mcp://{server_id}/{tool_name}"),
            "",
            hints,
            listed,
        ));
    }
    let mut auth = Map::new();
    auth.insert("adapter".into(), json!("mcp_proxy"));
    for (key, value) in [
        ("mcp_server_id", &server.server_id),
        ("mcp_server_name", &server.name),
        ("mcp_server_version", &server.version),
    ] {
        if !value.is_empty() {
            auth.insert(key.into(), json!(value));
        }
    }
    auth.insert("mcp_tool_listed".into(), json!(listed));
    if let Some(t) = tool {
        auth.insert("mcp_tool_digest".into(), json!(t.pinned.to_hex()));
        auth.insert("mcp_tool_definition_changed".into(), json!(t.changed()));
    }
    let mut context = Map::new();
    context.insert("identity".into(), json!(ctx.identity));
    context.insert("workspace".into(), json!(ctx.workspace));
    context.insert("risk_class".into(), json!(ctx.risk_class));
    if !ctx.session_id.is_empty() {
        context.insert("session_id".into(), json!(ctx.session_id));
    }
    if !ctx.run_id.is_empty() {
        context.insert("run_id".into(), json!(ctx.run_id));
    }
    context.insert("auth_context".into(), Value::Object(auth));
    let request = json!({
        "schema_id": gait_policy::intent::SCHEMA_ID,
        "schema_version": gait_policy::intent::SCHEMA_VERSION,
        "created_at": FIXED_CREATED_AT,
        "producer_version": "0.0.0-dev",
        "tool_name": tool_name,
        "args": args,
        "targets": targets,
        "context": context,
    });
    Intent::from_value(&request).map_err(|e| Error::Call(format!("build intent: {e}")))
}

fn target(kind: &str, value: &str, operation: &str, hints: Hints, listed: bool) -> Value {
    let mut t = Map::new();
    t.insert("kind".into(), json!(kind));
    t.insert("value".into(), json!(value));
    if !operation.is_empty() {
        t.insert("operation".into(), json!(operation));
    }
    if listed {
        t.insert("discovery_method".into(), json!("mcp"));
    }
    t.insert("read_only_hint".into(), json!(hints.read_only));
    t.insert("destructive_hint".into(), json!(hints.destructive));
    t.insert("idempotent_hint".into(), json!(hints.idempotent));
    t.insert("open_world_hint".into(), json!(hints.open_world));
    Value::Object(t)
}

fn usable(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty() && v.len() <= MAX_TARGET_VALUE).then_some(v)
}

fn infer_targets(args: &Map<String, Value>, hints: Hints, listed: bool) -> Vec<Value> {
    let path_op = if hints.read_only { "read" } else { "write" };
    let url_op = if hints.read_only { "read" } else { "" };
    let mut out = Vec::new();
    let push_path = |out: &mut Vec<Value>, v: &str| {
        if v.contains("://") {
            out.push(target("url", v, url_op, hints, listed));
        } else {
            out.push(target("path", v, path_op, hints, listed));
        }
    };
    // Map iteration is in key order, so the targets are deterministic.
    for (key, value) in args {
        let key = key.trim().to_lowercase();
        let key = key.as_str();
        if PATH_KEYS.contains(&key) {
            if let Some(v) = value.as_str().and_then(usable) {
                push_path(&mut out, v);
            }
        } else if PATH_LIST_KEYS.contains(&key) {
            for v in value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(usable)
            {
                push_path(&mut out, v);
            }
        } else if URL_KEYS.contains(&key) {
            if let Some(v) = value.as_str().and_then(usable) {
                out.push(target("url", v, url_op, hints, listed));
            }
        } else if COMMAND_KEYS.contains(&key) {
            if let Some(v) = value.as_str().and_then(usable) {
                out.push(target("other", v, "exec", hints, listed));
            }
        }
    }
    out.truncate(MAX_TARGETS);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use gait_policy::intent::{EndpointClass, TargetKind};

    fn info(annotations: Value) -> ToolInfo {
        let d = tool_definition_digest(&json!({"name":"t","annotations":annotations}));
        ToolInfo {
            hints: Hints::from_annotations(Some(&annotations)),
            pinned: d,
            current: d,
        }
    }

    #[test]
    fn read_tool_maps_to_read_target() {
        let server = ServerIdentity::with_id("fs");
        let t = info(json!({"readOnlyHint": true, "openWorldHint": false}));
        let intent = intent_for_call(
            &json!({"name":"Read_File","arguments":{"path":"/tmp/a.txt"}}),
            &server,
            Some(&t),
            &CallContext::default(),
        )
        .unwrap();
        assert_eq!(intent.tool_name(), "read_file");
        let target = &intent.targets()[0];
        assert_eq!(target.kind, TargetKind::Path);
        assert_eq!(target.endpoint_class, EndpointClass::FsRead);
        assert!(target.read_only_hint && !target.destructive_hint && !target.open_world_hint);
        assert_eq!(intent.context().identity, "mcp-proxy");
        assert_eq!(intent.context().risk_class, "high");
        let auth = intent.context().auth_context.as_ref().unwrap();
        assert_eq!(auth["mcp_server_id"], "fs");
        assert_eq!(auth["mcp_tool_listed"], true);
    }

    #[test]
    fn unlisted_tool_has_no_hints() {
        let intent = intent_for_call(
            &json!({"name":"frobnicate"}),
            &ServerIdentity::default(),
            None,
            &CallContext::default(),
        )
        .unwrap();
        let target = &intent.targets()[0];
        assert_eq!(target.kind, TargetKind::Other);
        assert_eq!(target.value, "mcp://unknown/frobnicate");
        assert!(!target.destructive_hint && !target.destructive && !target.read_only_hint);
    }

    #[test]
    fn bad_params_are_errors() {
        let s = ServerIdentity::default();
        let c = CallContext::default();
        assert!(intent_for_call(&json!({}), &s, None, &c).is_err());
        assert!(intent_for_call(&json!({"name":" "}), &s, None, &c).is_err());
        assert!(intent_for_call(&json!({"name":"x","arguments":[1]}), &s, None, &c).is_err());
    }

    #[test]
    fn same_call_same_digest() {
        let s = ServerIdentity::with_id("fs");
        let c = CallContext::default();
        let p = json!({"name":"write_file","arguments":{"path":"/a","content":"x"}});
        let a = intent_for_call(&p, &s, None, &c).unwrap();
        let b = intent_for_call(&p, &s, None, &c).unwrap();
        assert_eq!(a.intent_digest(), b.intent_digest());
    }

    #[test]
    fn digest_ignores_meta_only() {
        let a = tool_definition_digest(&json!({"name":"t","description":"d"}));
        let b = tool_definition_digest(&json!({"description":"d","name":"t","_meta":{"x":1}}));
        let c = tool_definition_digest(&json!({"name":"t","description":"d2"}));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
