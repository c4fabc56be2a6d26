//! An MCP stdio proxy that puts the Gait gate in front of every tool call.
//!
//! The proxy sits between an MCP client (on its standard input and output)
//! and an MCP server process it spawns, relaying newline-delimited
//! JSON-RPC 2.0 both ways. Every message it does not govern passes
//! through unchanged, byte for byte: requests, responses and notifications
//! of both sides, server-initiated requests and the client's answers,
//! batches. The server's standard error is passed through.
//!
//! What it governs:
//!
//! * **`initialize`**: the result's `serverInfo` names the server (unless
//!   the operator set a server id).
//! * **`tools/list`**: the proxy lists the server's tools itself after the
//!   client's `notifications/initialized` and on every
//!   `notifications/tools/list_changed` (these requests and their answers
//!   never reach the client; `tools/call` waits for them, and is refused
//!   with `mcp_tool_list_unavailable` when they do not complete within the
//!   evaluation deadline), and reads the client's own listings too. Each
//!   tool's definition is pinned on first sight
//!   (SHA-256 of its RFC 8785 canonical JSON, `_meta` left out) with its
//!   annotations. A later listing with a different definition is reported
//!   (reason `mcp_tool_definition_changed`) and, in
//!   [`PinChangeMode::Block`], calls to that tool are blocked. Tools whose
//!   names are equal once lowercased cannot be told apart by a policy, so
//!   calls to them are blocked (`mcp_tool_name_ambiguous`). Optionally,
//!   tools the policy blocks whatever the arguments
//!   ([`always_blocked`]) are removed from the listing.
//! * **`tools/call`**: the call becomes an intent ([`intent_for_call`],
//!   the one mapping of [`gait_policy::adapters::mcp_protocol`]:
//!   the tool's own name lowercased, the arguments, targets inferred from
//!   the arguments and carrying the tool's annotations, the server's
//!   identity), the gate decides, a signed trace is recorded, and only on
//!   `allow` is the call forwarded. Otherwise the proxy answers the
//!   client itself with a `CallToolResult` whose `isError` is true and
//!   whose text and `_meta["gait/decision"]` carry the verdict, reason
//!   codes and trace id, so the session goes on. Evaluation errors,
//!   timeouts and trace write failures answer the same way (fail closed).
//!
//! Limits: messages above [`ProxyConfig::max_message_bytes`] are not
//! relayed (the sender gets a JSON-RPC error when its id can be read);
//! client lines that are not strict JSON (duplicate members included) are
//! answered with a parse error and never forwarded. When the server dies,
//! pending and later requests get JSON-RPC errors and [`run`] returns.
//!
//! # Example
//!
//! ```
//! use gait_mcp::{Governor, ServerIdentity, ToolPins};
//! use gait_policy::{Gate, Policy, Verdict};
//! use gait_sign::{SigningKey, Trace};
//! use gait_trace::MemorySink;
//! use serde_json::json;
//!
//! let policy = Policy::from_yaml_str(
//!     "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [read_file]\n",
//! )?;
//! let governor = Governor::new(
//!     Gate::new(policy),
//!     SigningKey::<Trace>::generate()?,
//!     Box::new(MemorySink::new()),
//! )?;
//! let server = ServerIdentity::with_id("filesystem");
//! // What `tools/list` said about the tool.
//! let mut pins = ToolPins::new();
//! pins.observe(&[json!({"name": "read_file", "annotations": {"readOnlyHint": true}})]);
//! let read = governor.decide(
//!     &json!({"name": "read_file", "arguments": {"path": "/tmp/a"}}),
//!     &server,
//!     &pins,
//! )?;
//! assert!(read.forward);
//! let write = governor.decide(&json!({"name": "write_file", "arguments": {"path": "/tmp/a"}}), &server, &pins)?;
//! assert!(!write.forward);
//! assert_eq!(write.verdict, Verdict::Block);
//! assert_eq!(write.refusal_result()["isError"], true);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

mod error;
pub mod frame;
mod govern;
mod mapping;
mod pins;
mod proxy;
mod visibility;

pub use error::{Error, PinFileError};
pub use gait_policy::adapters::{
    CallContext, DEFAULT_CREATED_AT as FIXED_CREATED_AT, DEFAULT_IDENTITY, DEFAULT_RISK_CLASS,
    DEFAULT_WORKSPACE,
};
pub use govern::{
    CallDecision, Governor, PinChangeMode, REASON_EVALUATION_ERROR, REASON_EVALUATION_TIMEOUT,
    REASON_TOOL_CHANGED, REASON_TOOL_LIST_UNAVAILABLE, REASON_TOOL_NAME_AMBIGUOUS,
    REASON_TRACE_WRITE_FAILED,
};
pub use mapping::{Hints, ServerIdentity, ToolInfo, intent_for_call, tool_definition_digest};
pub use pins::{MAX_PIN_FILE_BYTES, PINS_SCHEMA_ID, PINS_SCHEMA_VERSION, PinChange, ToolPins};
pub use proxy::{
    DEFAULT_MAX_MESSAGE_BYTES, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, Log,
    MESSAGE_TOO_LARGE, PARSE_ERROR, ProxyConfig, ProxyReport, SERVER_EXITED, run,
};
pub use visibility::always_blocked;
