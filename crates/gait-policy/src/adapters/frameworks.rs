//! OpenAI, Anthropic and LangChain tool-call envelopes.

use serde_json::Value;

use super::{AdapterError, PAYLOAD_ROOT, ToolCall, arguments, decode_err, object, string_field};

/// `{"function": {"name", "arguments"}}`; `arguments` is a JSON string
/// holding an object, or an object.
pub(super) fn openai(value: &Value) -> Result<ToolCall, AdapterError> {
    let obj = object(value, "openai")?;
    let function = match obj.get("function") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(_) => {
            return Err(decode_err(
                "parse openai tool call: function: expected an object",
            ));
        }
    };
    let name = string_field(&function, "name", "function.name")?;
    let function_path = PAYLOAD_ROOT.key("function");
    let args = arguments(
        "openai arguments",
        function.get("arguments"),
        &function_path.key("arguments"),
    )?;
    Ok(ToolCall::new(&name, args))
}

/// `{"type": "tool_use", "name", "input"}`.
pub(super) fn anthropic(value: &Value) -> Result<ToolCall, AdapterError> {
    let obj = object(value, "anthropic")?;
    let name = string_field(obj, "name", "name")?;
    let args = match obj.get("input") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(decode_err(
                "parse anthropic tool call: input: expected an object",
            ));
        }
    };
    Ok(ToolCall::new(&name, args))
}

/// `{"tool", "tool_input"}`; `tool_input` is an object or a JSON string
/// holding one.
pub(super) fn langchain(value: &Value) -> Result<ToolCall, AdapterError> {
    let obj = object(value, "langchain")?;
    let name = string_field(obj, "tool", "tool")?;
    let args = arguments(
        "langchain tool_input",
        obj.get("tool_input"),
        &PAYLOAD_ROOT.key("tool_input"),
    )?;
    Ok(ToolCall::new(&name, args))
}
