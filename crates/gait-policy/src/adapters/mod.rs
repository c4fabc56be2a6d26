//! Adapters: tool-call payloads from agent frameworks, turned into intents.
//!
//! Every boundary (the in-process guard, `gait mcp proxy`, `gait serve`,
//! the hooks and the MCP protocol proxy) decodes its payload into a
//! [`ToolCall`] with one of the [`Adapter`]s and then into an [`Intent`]
//! with [`ToolCall::to_intent`], so the same call gives the same intent
//! digest everywhere. The mapping follows the reference's decision
//! service:
//!
//! * [`Adapter::Mcp`]: Gait's own tool-call shape (`name`, `args`,
//!   `script.steps[]`, legacy `target`, `targets[]`, `arg_provenance[]`,
//!   `server`, `context`, `delegation`, `created_at`);
//! * [`Adapter::OpenAi`]: `function.{name, arguments}` (arguments as a
//!   JSON string or an object);
//! * [`Adapter::Anthropic`]: `{name, input}`;
//! * [`Adapter::LangChain`]: `{tool, tool_input}`;
//! * [`Adapter::ClaudeCode`]: a Claude Code hook payload
//!   (`tool_name`, `tool_input`, `session_id`, `hook_event_name`), with
//!   tool names mapped onto Gait's (`Bash` → `tool.exec`, …) and targets
//!   inferred from the arguments;
//! * [`mcp_protocol`]: an MCP protocol `tools/call` request with the
//!   server's identity and the tool's annotations from `tools/list`.
//!
//! Missing context defaults to identity `mcp-proxy`, workspace `.` and
//! risk class `high`; a missing `created_at` becomes 1980-01-01Z, so
//! digests are deterministic.
//!
//! ```
//! use gait_policy::adapters::{Adapter, decode_tool_call};
//!
//! let call = decode_tool_call(
//!     Adapter::OpenAi,
//!     br#"{"function":{"name":"tool.read","arguments":"{\"path\":\"/tmp/a\"}"}}"#,
//! )?;
//! let intent = call.to_intent()?;
//! assert_eq!(intent.tool_name(), "tool.read");
//! assert_eq!(intent.context().identity, "mcp-proxy");
//! assert_eq!(intent.context().risk_class, "high");
//! # Ok::<(), gait_policy::adapters::AdapterError>(())
//! ```

mod claude_code;
mod frameworks;
pub mod mcp_protocol;
mod tool_call;

use serde_json::Value;

use crate::intent::{FieldPath, Intent, IntentError, ambiguity, decode};

pub use claude_code::claude_code_tool_name;
pub use tool_call::{
    CallArgProvenance, CallContext, CallDelegation, CallDelegationLink, CallTarget,
    DEFAULT_CREATED_AT, DEFAULT_IDENTITY, DEFAULT_RISK_CLASS, DEFAULT_WORKSPACE, ServerInfo,
    ToolCall,
};

/// The largest payload an adapter decodes (1 MiB, the serve default).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// Why a payload could not become an intent. Always invalid input (exit
/// 6); never a decision.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The adapter name is unknown.
    #[error("unsupported adapter: {0}")]
    UnsupportedAdapter(String),
    /// The payload is not valid for the adapter (names the field).
    #[error("{0}")]
    Decode(String),
    /// The resulting intent is invalid, or the payload is ambiguous
    /// ([`IntentError::CaseVariantMembers`],
    /// [`IntentError::ImpreciseInteger`]; paths relative to the payload).
    #[error(transparent)]
    Intent(#[from] IntentError),
}

/// A payload shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Adapter {
    /// Gait's own tool-call shape (`mcp`).
    Mcp,
    /// OpenAI function calls.
    OpenAi,
    /// Anthropic `tool_use` blocks.
    Anthropic,
    /// LangChain tool invocations.
    LangChain,
    /// Claude Code hook payloads.
    ClaudeCode,
}

impl Adapter {
    /// Parses an adapter name as the reference does: trimmed,
    /// case-insensitive, empty meaning `mcp`; `claude-code` and
    /// `claudecode` are aliases of `claude_code`.
    ///
    /// # Errors
    ///
    /// [`AdapterError::UnsupportedAdapter`].
    pub fn parse(name: &str) -> Result<Adapter, AdapterError> {
        match name.trim().to_lowercase().as_str() {
            "" | "mcp" => Ok(Adapter::Mcp),
            "openai" => Ok(Adapter::OpenAi),
            "anthropic" => Ok(Adapter::Anthropic),
            "langchain" => Ok(Adapter::LangChain),
            "claude_code" | "claude-code" | "claudecode" => Ok(Adapter::ClaudeCode),
            _ => Err(AdapterError::UnsupportedAdapter(name.trim().to_owned())),
        }
    }

    /// The canonical name (`mcp`, `openai`, `anthropic`, `langchain`,
    /// `claude_code`).
    pub fn as_str(self) -> &'static str {
        match self {
            Adapter::Mcp => "mcp",
            Adapter::OpenAi => "openai",
            Adapter::Anthropic => "anthropic",
            Adapter::LangChain => "langchain",
            Adapter::ClaudeCode => "claude_code",
        }
    }
}

/// Decodes a payload (JSON bytes) with `adapter`.
///
/// The bytes are parsed strictly (duplicate member names, invalid UTF-8
/// and lone surrogates are errors); unknown members are ignored. Ambiguous
/// payloads are refused: two member names of one object that differ only
/// in letter case, and integer literals beyond ±(2^53 − 1), anywhere in
/// the payload (see [`crate::intent`]).
///
/// # Errors
///
/// [`AdapterError::Decode`] naming the offending field;
/// [`AdapterError::Intent`] for an ambiguous payload.
pub fn decode_tool_call(adapter: Adapter, payload: &[u8]) -> Result<ToolCall, AdapterError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(AdapterError::Decode(format!(
            "tool call payload larger than {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    let value = gait_digest::canonical::parse_strict(payload)
        .map_err(|e| AdapterError::Decode(format!("parse {} tool call: {e}", adapter.as_str())))?;
    refuse_ambiguous(&value, Some(payload), &PAYLOAD_ROOT)?;
    decode_checked(adapter, &value)
}

/// [`decode_tool_call`] for a payload already parsed.
///
/// Without the text, an integer that `value` holds as a double (beyond the
/// `u64` and `i64` ranges) counts as a floating-point number.
///
/// # Errors
///
/// [`AdapterError::Decode`] naming the offending field;
/// [`AdapterError::Intent`] for an ambiguous payload.
pub fn decode_tool_call_value(adapter: Adapter, value: &Value) -> Result<ToolCall, AdapterError> {
    refuse_ambiguous(value, None, &PAYLOAD_ROOT)?;
    decode_checked(adapter, value)
}

/// Refuses integer literals in JSON `text` beyond ±(2^53 − 1), naming
/// their path from the document root (`call.args.n`). Only text holding 19
/// or more digits in a row is parsed again: shorter literals fit in 64 bits,
/// and the value check finds them.
///
/// A boundary that parses a request itself and decodes the parsed value
/// ([`decode_tool_call_value`], [`Intent::from_value`]) calls this on the
/// text first: the value holds such a literal as a double, which those
/// functions cannot tell from a floating-point number. Everything else
/// ambiguous is found in the value. Text that is not valid JSON passes
/// (the caller's own parse reports it).
///
/// # Errors
///
/// [`AdapterError::Intent`] with [`IntentError::ImpreciseInteger`].
pub fn refuse_wide_integer_literals(text: &[u8]) -> Result<(), AdapterError> {
    if !ambiguity::may_hold_wide_integer(text) {
        return Ok(());
    }
    match decode::parse(text) {
        Ok(json) => Ok(ambiguity::check_integers(
            &json,
            text,
            &FieldPath::root("request"),
        )?),
        Err(_) => Ok(()),
    }
}

/// The root of a payload in error paths.
const PAYLOAD_ROOT: FieldPath<'static> = FieldPath::root("tool call");

/// Refuses an ambiguous payload: case-variant member names and integers a
/// double cannot hold (from `text`, when given, also the literals the
/// parser held as doubles).
fn refuse_ambiguous(
    value: &Value,
    text: Option<&[u8]>,
    root: &FieldPath<'_>,
) -> Result<(), AdapterError> {
    let wide_double = ambiguity::check_tree(&decode::Json::from_value(value), root)?;
    if let Some(text) = text.filter(|_| wide_double) {
        // Rare: re-read the text in document order to see the literal.
        ambiguity::check(&decode::parse(text)?, Some(text), root)?;
    }
    Ok(())
}

fn decode_checked(adapter: Adapter, value: &Value) -> Result<ToolCall, AdapterError> {
    match adapter {
        Adapter::Mcp => ToolCall::from_value(value),
        Adapter::OpenAi => frameworks::openai(value),
        Adapter::Anthropic => frameworks::anthropic(value),
        Adapter::LangChain => frameworks::langchain(value),
        Adapter::ClaudeCode => claude_code::decode(value),
    }
}

/// Decodes `payload` with `adapter` and builds its intent.
///
/// # Errors
///
/// As [`decode_tool_call`] and [`ToolCall::to_intent`].
pub fn intent_from_payload(adapter: Adapter, payload: &[u8]) -> Result<Intent, AdapterError> {
    decode_tool_call(adapter, payload)?.to_intent()
}

fn decode_err(msg: impl Into<String>) -> AdapterError {
    AdapterError::Decode(msg.into())
}

/// Arguments given as an object, a JSON string holding an object, or
/// null/empty (→ `{}`); anything else is an error. A string's document is
/// refused when ambiguous (errors name `path`).
fn arguments(
    what: &str,
    raw: Option<&Value>,
    path: &FieldPath<'_>,
) -> Result<serde_json::Map<String, Value>, AdapterError> {
    match raw {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => {
            if s.trim().is_empty() {
                return Ok(serde_json::Map::new());
            }
            let parsed = gait_digest::canonical::parse_strict(s.as_bytes());
            if let Ok(v) = &parsed {
                refuse_ambiguous(v, Some(s.as_bytes()), path)?;
            }
            match parsed {
                Ok(Value::Object(m)) => Ok(m),
                Ok(Value::Null) => Ok(serde_json::Map::new()),
                Ok(_) => Err(decode_err(format!("decode {what}: not a JSON object"))),
                Err(e) => Err(decode_err(format!("decode {what}: {e}"))),
            }
        }
        Some(_) => Err(decode_err(format!("decode {what}: not a JSON object"))),
    }
}

/// A string member (absent or null → empty); another type is an error.
fn string_field(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<String, AdapterError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(decode_err(format!("{path}: expected a string"))),
    }
}

/// The payload as an object.
fn object<'a>(
    value: &'a Value,
    what: &str,
) -> Result<&'a serde_json::Map<String, Value>, AdapterError> {
    value
        .as_object()
        .ok_or_else(|| decode_err(format!("parse {what} tool call: expected a JSON object")))
}

#[cfg(test)]
mod tests;
