//! Intents for MCP protocol `tools/call` requests.
//!
//! A protocol proxy sees the server's `initialize` result, its
//! `tools/list` (with each tool's annotations) and then `tools/call`
//! requests `{"name": …, "arguments": {…}}`. [`intent_from_tools_call`]
//! turns one call into an intent so that policies name MCP tools
//! directly:
//!
//! * `tool_name` is the MCP tool's own name, trimmed and lowercased
//!   (`tool_names: [write_file]`);
//! * `args` are the call's `arguments`;
//! * targets are inferred from path-like arguments (`path`, `file_path`,
//!   `filepath`, `file`, `directory`, `source`, `destination`, and each
//!   string of `paths`) and URL arguments (`url`, `uri`); a call with
//!   none gets one `other` target `mcp://<server>/<tool>`. Every target
//!   carries the tool's annotation hints (`readOnlyHint`,
//!   `destructiveHint`, `idempotentHint`, `openWorldHint`) and the
//!   discovery method `mcp`; a read-only tool's targets get the operation
//!   `read`;
//! * the server's identity goes into `context.auth_context`
//!   (`adapter: mcp_protocol`, `mcp_server_id`, `mcp_server_name`), and
//!   into [`ToolCall::server`] for the trust check;
//! * the context defaults are those of every adapter (identity
//!   `mcp-proxy`, workspace `.`, risk class `high`), unless the caller
//!   supplies a [`CallContext`].
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
use crate::intent::Intent;

/// The `auth_context.adapter` value of protocol calls.
pub const ADAPTER_NAME: &str = "mcp_protocol";

const PATH_KEYS: &[&str] = &[
    "path",
    "file_path",
    "filepath",
    "file",
    "directory",
    "source",
    "destination",
];

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
/// from the request, the server's identity, the tool's annotations (from
/// `tools/list`, when known) and the caller's context.
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
    let name = tool.trim().to_lowercase();
    if name.is_empty() {
        return Err(decode_err("tools/call params.name is required"));
    }
    let mut call = ToolCall::new(&name, arguments.clone());
    let mut targets = Vec::new();
    for key in PATH_KEYS {
        if let Some(v) = arguments.get(*key).and_then(Value::as_str) {
            if !v.trim().is_empty() {
                targets.push(CallTarget::new("path", v, ""));
            }
        }
    }
    if let Some(Value::Array(paths)) = arguments.get("paths") {
        for v in paths.iter().filter_map(Value::as_str) {
            if !v.trim().is_empty() {
                targets.push(CallTarget::new("path", v, ""));
            }
        }
    }
    for key in ["url", "uri"] {
        if let Some(v) = arguments.get(key).and_then(Value::as_str) {
            if !v.trim().is_empty() {
                targets.push(CallTarget::new("url", v, ""));
            }
        }
    }
    let key = server_key(server);
    if targets.is_empty() {
        targets.push(CallTarget::new("other", &format!("mcp://{key}/{name}"), ""));
    }
    for t in &mut targets {
        "mcp".clone_into(&mut t.discovery_method);
        if let Some(a) = annotations {
            t.apply_annotations(a);
        }
        if t.read_only_hint && t.operation.is_empty() && t.kind == "path" {
            "read".clone_into(&mut t.operation);
        }
    }
    call.targets = targets;
    call.context = context.clone();
    let auth = &mut call.context.auth_context;
    auth.insert("adapter".into(), Value::String(ADAPTER_NAME.into()));
    auth.insert("mcp_server_id".into(), Value::String(key));
    if !server.server_name.trim().is_empty() {
        auth.insert(
            "mcp_server_name".into(),
            Value::String(server.server_name.trim().to_owned()),
        );
    }
    call.server = Some(server.clone());
    Ok(call)
}

/// The intent of a `tools/call` request's `params` (`{"name",
/// "arguments"}`), see the [module docs](self).
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
    let obj = params
        .as_object()
        .ok_or_else(|| decode_err("tools/call params: expected an object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| decode_err("tools/call params.name: expected a string"))?;
    let empty = Map::new();
    let arguments = match obj.get("arguments") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(decode_err(
                "tools/call params.arguments: expected an object",
            ));
        }
    };
    tool_call(name, arguments, server, annotations, context)?.to_intent()
}
