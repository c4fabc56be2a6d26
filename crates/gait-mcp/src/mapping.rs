//! The proxy's view of the server and its tools, the canonical digest of a
//! tool definition, and [`intent_for_call`]: a thin wrapper over the one
//! `tools/call` mapping in [`gait_policy::adapters::mcp_protocol`].

use gait_digest::Sha256Digest;
use gait_policy::Intent;
use gait_policy::adapters::mcp_protocol::{self, ListedTool};
use gait_policy::adapters::{CallContext, ServerInfo};
use serde_json::Value;

use crate::Error;

pub use gait_policy::adapters::mcp_protocol::Hints;

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

/// Builds the intent of a `tools/call` with these `params`: the one
/// mapping of [`gait_policy::adapters::mcp_protocol`] (see there for the
/// intent's fields), given the server's identity and what `tools/list`
/// said about the tool (`None`: not listed).
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
    let mut info = ServerInfo::new(&server.server_id);
    server.name.clone_into(&mut info.server_name);
    server.version.clone_into(&mut info.server_version);
    let listed = tool.map(|t| ListedTool::new(t.hints).with_pin(&t.pinned.to_hex(), t.changed()));
    mcp_protocol::intent_from_tools_call_listed(params, &info, listed.as_ref(), ctx)
        .map_err(Error::Call)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use gait_policy::intent::{EndpointClass, TargetKind};
    use serde_json::json;

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
