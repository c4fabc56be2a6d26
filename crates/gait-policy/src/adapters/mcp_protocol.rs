//! Intents for MCP protocol `tools/call` requests: the one mapping every
//! boundary uses (the MCP protocol proxy `gait mcp proxy … -- <server>`
//! through `gait_mcp`, and the decision service for decoded calls).
//!
//! A protocol proxy sees the server's `initialize` result, its
//! `tools/list` (with each tool's annotations) and then `tools/call`
//! requests `{"name": …, "arguments": {…}}`. [`intent_from_tools_call`]
//! (annotations only) and [`intent_from_tools_call_listed`] (hints and
//! the tool's pinned definition digest) turn one call into an intent so
//! that policies name MCP tools directly:
//!
//! * `tool_name` is the MCP tool's own name, trimmed and lowercased
//!   (`tool_names: [write_file]`);
//! * `args` are the call's `arguments` (absent or `null` is `{}`);
//! * targets are inferred from the top-level arguments, whose names are
//!   compared trimmed and lowercased: paths (`path`, `file_path`,
//!   `filepath`, `file`, `filename`, `directory`, `dir`, `source`,
//!   `destination`, and each string of `paths` and `files`; a value with
//!   `://` is a URL), URLs (`url`, `uri`) and commands (`command`, `cmd`,
//!   an `other` target with operation `exec`). They are listed in that
//!   key order (then by argument name), whatever the member order of the
//!   request; empty values and values over [`MAX_TARGET_VALUE`] bytes are
//!   skipped, and at most [`MAX_TARGETS`] are kept. A call with none gets
//!   one `other` target `mcp://<server>/<tool>`;
//! * path targets have operation `read` when the tool is read-only and
//!   `write` otherwise (an unannotated tool is not trusted to only read);
//!   URL targets of a read-only tool have operation `read`;
//! * every target carries the tool's annotation [`Hints`]
//!   (`readOnlyHint`, `destructiveHint`, `idempotentHint`,
//!   `openWorldHint`; a hint not stated is `false`) and, when the tool
//!   was listed by `tools/list`, the discovery method `mcp`;
//! * the server's identity goes into `context.auth_context`
//!   (`adapter: mcp_protocol`, `mcp_server_id` (the id, else the name,
//!   else `unknown`), `mcp_server_name`, `mcp_server_version`), with
//!   `mcp_tool_listed` and, for a pinned tool, `mcp_tool_digest` and
//!   `mcp_tool_definition_changed`; the server also goes into
//!   [`ToolCall::server`] for the trust check;
//! * the context defaults are those of every adapter (identity
//!   `mcp-proxy`, workspace `.`, risk class `high`, `created_at`
//!   1980-01-01Z), unless the caller supplies a [`CallContext`]; a
//!   `run_id` in it is kept in the intent by [`intent_of`].
//!
//! ```
//! use gait_policy::adapters::{CallContext, ServerInfo};
//! use gait_policy::adapters::mcp_protocol::intent_from_tools_call;
//! use serde_json::json;
//!
//! let params = json!({"name": "Write_File", "arguments": {"path": "/tmp/x", "content": "hi"}});
//! let annotations = json!({"destructiveHint": true});
//! let intent = intent_from_tools_call(
//!     &params,
//!     &ServerInfo::new("filesystem"),
//!     annotations.as_object(),
//!     &CallContext::default(),
//! )?;
//! assert_eq!(intent.tool_name(), "write_file");
//! assert_eq!(intent.targets()[0].value, "/tmp/x");
//! assert!(intent.targets()[0].destructive);
//! # Ok::<(), gait_policy::adapters::AdapterError>(())
//! ```

use serde_json::{Map, Value};

use super::{AdapterError, CallContext, CallTarget, ServerInfo, ToolCall, decode_err};
use crate::intent::{FieldPath, Intent};

/// The `auth_context.adapter` value of protocol calls.
pub const ADAPTER_NAME: &str = "mcp_protocol";

/// The most targets inferred from one call's arguments.
pub const MAX_TARGETS: usize = 32;
/// The longest argument value turned into a target (longer ones are
/// skipped).
pub const MAX_TARGET_VALUE: usize = 4096;

/// Argument names (trimmed, lowercased) whose string values are
/// file-system paths (or URLs when they contain `://`), in the order
/// their targets are listed.
const PATH_KEYS: &[&str] = &[
    "path",
    "file_path",
    "filepath",
    "file",
    "filename",
    "directory",
    "dir",
    "source",
    "destination",
];
/// Argument names holding lists of paths.
const PATH_LIST_KEYS: &[&str] = &["paths", "files"];
/// Argument names holding URLs.
const URL_KEYS: &[&str] = &["url", "uri"];
/// Argument names holding commands.
const COMMAND_KEYS: &[&str] = &["command", "cmd"];

/// MCP tool annotations: the hints a server declares for a tool in
/// `tools/list`.
///
/// A hint the server does not state is `false`, as in the reference's MCP
/// mapping (the MCP specification's defaults would make every
/// unannotated tool destructive, and the gate turns a destructive `allow`
/// into `require_approval`). Only JSON booleans count. Hints are claims
/// of the server; a policy that trusts them says so with
/// `match.tool_annotations`.
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
    /// Hints with these values.
    pub fn new(read_only: bool, destructive: bool, idempotent: bool, open_world: bool) -> Self {
        Self {
            read_only,
            destructive,
            idempotent,
            open_world,
        }
    }

    /// The hints of a tool definition's `annotations` (a JSON object;
    /// only JSON `true` sets a hint).
    pub fn from_annotations(annotations: Option<&Value>) -> Self {
        Self::from_annotation_map(annotations.and_then(Value::as_object))
    }

    /// [`Hints::from_annotations`] for an annotations object.
    pub fn from_annotation_map(annotations: Option<&Map<String, Value>>) -> Self {
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

/// What `tools/list` said about the called tool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedTool {
    /// Its annotation hints.
    pub hints: Hints,
    /// The digest (hex) of its definition as first seen, when pinned
    /// (`auth_context.mcp_tool_digest`).
    pub pinned_digest: String,
    /// Whether its definition changed since it was pinned
    /// (`auth_context.mcp_tool_definition_changed`, set with a digest).
    pub definition_changed: bool,
}

impl ListedTool {
    /// A listed tool with these hints and no pin.
    pub fn new(hints: Hints) -> Self {
        Self {
            hints,
            ..Self::default()
        }
    }

    /// Adds the pin: the definition digest (hex) first seen and whether
    /// the definition changed since.
    #[must_use]
    pub fn with_pin(mut self, pinned_digest: &str, changed: bool) -> Self {
        pinned_digest.trim().clone_into(&mut self.pinned_digest);
        self.definition_changed = changed;
        self
    }
}

/// The server's identity as the intent names it: the id, else the name,
/// else `unknown`.
pub fn server_key(server: &ServerInfo) -> String {
    let id = server.server_id.trim();
    if !id.is_empty() {
        return id.to_owned();
    }
    let name = server.server_name.trim();
    if name.is_empty() {
        "unknown".to_owned()
    } else {
        name.to_owned()
    }
}

/// The [`ToolCall`] of a `tools/call` request: `tool` and `arguments`
/// from the request, the server's identity, the tool's `annotations` (from
/// `tools/list`; `None` when the tool was not listed) and the caller's
/// context. See [`tool_call_listed`].
///
/// # Errors
///
/// [`AdapterError::Decode`] when the tool name is empty.
pub fn tool_call(
    tool: &str,
    arguments: &Map<String, Value>,
    server: &ServerInfo,
    annotations: Option<&Map<String, Value>>,
    context: &CallContext,
) -> Result<ToolCall, AdapterError> {
    let listed = annotations.map(|a| ListedTool::new(Hints::from_annotation_map(Some(a))));
    tool_call_listed(tool, arguments, server, listed.as_ref(), context)
}

/// The [`ToolCall`] of a `tools/call` request, knowing what `tools/list`
/// said about the tool (`None`: not listed), see the
/// [module docs](self).
///
/// # Errors
///
/// [`AdapterError::Decode`] when the tool name is empty.
pub fn tool_call_listed(
    tool: &str,
    arguments: &Map<String, Value>,
    server: &ServerInfo,
    listed: Option<&ListedTool>,
    context: &CallContext,
) -> Result<ToolCall, AdapterError> {
    let name = tool.trim().to_lowercase();
    if name.is_empty() {
        return Err(decode_err("tools/call params.name is required"));
    }
    let hints = listed.map(|t| t.hints).unwrap_or_default();
    let mut call = ToolCall::new(&name, arguments.clone());
    let mut targets = infer_targets(arguments, hints);
    let key = server_key(server);
    if targets.is_empty() {
        targets.push(CallTarget::new("other", &format!("mcp://{key}/{name}"), ""));
    }
    for t in &mut targets {
        if listed.is_some() {
            "mcp".clone_into(&mut t.discovery_method);
        }
        t.read_only_hint = hints.read_only;
        t.destructive_hint = hints.destructive;
        t.idempotent_hint = hints.idempotent;
        t.open_world_hint = hints.open_world;
    }
    call.targets = targets;
    call.context = context.clone();
    let auth = &mut call.context.auth_context;
    auth.insert("adapter".into(), Value::String(ADAPTER_NAME.into()));
    auth.insert("mcp_server_id".into(), Value::String(key));
    for (k, v) in [
        ("mcp_server_name", &server.server_name),
        ("mcp_server_version", &server.server_version),
    ] {
        if !v.trim().is_empty() {
            auth.insert(k.into(), Value::String(v.trim().to_owned()));
        }
    }
    auth.insert("mcp_tool_listed".into(), Value::Bool(listed.is_some()));
    if let Some(t) = listed.filter(|t| !t.pinned_digest.is_empty()) {
        auth.insert(
            "mcp_tool_digest".into(),
            Value::String(t.pinned_digest.clone()),
        );
        auth.insert(
            "mcp_tool_definition_changed".into(),
            Value::Bool(t.definition_changed),
        );
    }
    call.server = Some(server.clone());
    Ok(call)
}

/// The tool name and arguments of a `tools/call` request's `params`
/// (`{"name", "arguments"}`; absent or null arguments are `{}`).
///
/// # Errors
///
/// [`AdapterError::Decode`] when `params` is not an object with a
/// non-empty string `name` and an object (or absent) `arguments`;
/// [`AdapterError::Intent`] when `params` is ambiguous (two member names of
/// one object differ only in letter case, or an integer is beyond
/// ±(2^53 − 1)), see [`crate::intent`].
pub fn split_params(params: &Value) -> Result<(&str, Map<String, Value>), AdapterError> {
    let root = FieldPath::root("tools/call");
    super::refuse_ambiguous(params, None, &root.key("params"))?;
    let obj = params
        .as_object()
        .ok_or_else(|| decode_err("tools/call params: expected an object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| decode_err("tools/call params.name: expected a string"))?;
    if name.trim().is_empty() {
        return Err(decode_err("tools/call params.name is required"));
    }
    let arguments = match obj.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(decode_err(
                "tools/call params.arguments: expected an object",
            ));
        }
    };
    Ok((name, arguments))
}

/// The intent of a protocol call: [`ToolCall::to_intent`], keeping the
/// context's `run_id` (the protocol proxy's `--run-id`) in the intent.
///
/// # Errors
///
/// [`AdapterError`] when the intent is invalid.
pub fn intent_of(call: &ToolCall) -> Result<Intent, AdapterError> {
    let mut request = call.to_intent_request()?;
    let run_id = call.context.run_id.trim();
    if !run_id.is_empty() {
        if let Some(Value::Object(ctx)) = request.get_mut("context") {
            ctx.insert("run_id".into(), Value::String(run_id.to_owned()));
        }
    }
    Ok(Intent::from_value(&request)?)
}

/// The intent of a `tools/call` request's `params` (`{"name",
/// "arguments"}`), with the tool's annotations from `tools/list` (`None`:
/// not listed), see the [module docs](self).
///
/// # Errors
///
/// [`AdapterError`] when `params` is not an object with a string `name`
/// and an object (or absent) `arguments`, or the intent is invalid.
pub fn intent_from_tools_call(
    params: &Value,
    server: &ServerInfo,
    annotations: Option<&Map<String, Value>>,
    context: &CallContext,
) -> Result<Intent, AdapterError> {
    let (name, arguments) = split_params(params)?;
    intent_of(&tool_call(name, &arguments, server, annotations, context)?)
}

/// [`intent_from_tools_call`] knowing what `tools/list` said about the
/// tool (hints and pin), as the MCP protocol proxy does.
///
/// # Errors
///
/// As [`intent_from_tools_call`].
pub fn intent_from_tools_call_listed(
    params: &Value,
    server: &ServerInfo,
    listed: Option<&ListedTool>,
    context: &CallContext,
) -> Result<Intent, AdapterError> {
    let (name, arguments) = split_params(params)?;
    intent_of(&tool_call_listed(
        name, &arguments, server, listed, context,
    )?)
}

fn usable(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty() && v.len() <= MAX_TARGET_VALUE).then_some(v)
}

/// Targets from the top-level arguments, in a fixed order (by argument
/// kind and key list, then by the argument's own name), whatever the
/// order of the members in the request.
fn infer_targets(args: &Map<String, Value>, hints: Hints) -> Vec<CallTarget> {
    let path_op = if hints.read_only { "read" } else { "write" };
    let url_op = if hints.read_only { "read" } else { "" };
    let rank = |key: &str| -> Option<usize> {
        [PATH_KEYS, PATH_LIST_KEYS, URL_KEYS, COMMAND_KEYS]
            .iter()
            .flat_map(|keys| keys.iter())
            .position(|k| *k == key)
    };
    let mut found: Vec<(usize, &String, &Value)> = args
        .iter()
        .filter_map(|(k, v)| rank(k.trim().to_lowercase().as_str()).map(|r| (r, k, v)))
        .collect();
    found.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut out = Vec::new();
    let path = |v: &str| {
        if v.contains("://") {
            CallTarget::new("url", v, url_op)
        } else {
            CallTarget::new("path", v, path_op)
        }
    };
    for (_, key, value) in found {
        let key = key.trim().to_lowercase();
        let key = key.as_str();
        if PATH_KEYS.contains(&key) {
            if let Some(v) = value.as_str().and_then(usable) {
                out.push(path(v));
            }
        } else if PATH_LIST_KEYS.contains(&key) {
            for v in value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(usable)
            {
                out.push(path(v));
            }
        } else if URL_KEYS.contains(&key) {
            if let Some(v) = value.as_str().and_then(usable) {
                out.push(CallTarget::new("url", v, url_op));
            }
        } else if let Some(v) = value.as_str().and_then(usable) {
            out.push(CallTarget::new("other", v, "exec"));
        }
    }
    out.truncate(MAX_TARGETS);
    out
}
