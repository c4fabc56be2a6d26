//! Claude Code hook payloads (`PreToolUse`).

use serde_json::{Map, Value};

use super::{
    AdapterError, CallTarget, PAYLOAD_ROOT, ToolCall, arguments, decode_err, object, string_field,
};

/// Maps a Claude Code tool name onto Gait's: `Read`, `Grep`, `Glob`,
/// `WebFetch`, `WebSearch` → `tool.read`; `Write`, `Edit`, `NotebookEdit`
/// → `tool.write`; `Bash` → `tool.exec`; `Task` → `tool.delegate` (case,
/// spaces, `_` and `-` ignored); a dotted name is lowercased; anything
/// else becomes `tool.<snake_case>`. Empty stays empty.
pub fn claude_code_tool_name(raw: &str) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    let canonical: String = trimmed
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .collect();
    let mapped = match canonical.as_str() {
        "read" | "grep" | "glob" | "webfetch" | "websearch" => Some("tool.read"),
        "write" | "edit" | "notebookedit" => Some("tool.write"),
        "bash" => Some("tool.exec"),
        "task" => Some("tool.delegate"),
        _ => None,
    };
    if let Some(m) = mapped {
        return m.to_owned();
    }
    if trimmed.contains('.') {
        return trimmed.to_lowercase();
    }
    format!("tool.{}", trimmed.to_lowercase().replace([' ', '-'], "_"))
}

fn first_string(args: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        args.get(*k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

/// The targets the reference infers from a mapped Claude Code call.
fn infer_targets(tool: &str, args: &Map<String, Value>) -> Vec<CallTarget> {
    const PATH_KEYS: &[&str] = &["path", "file_path", "filepath", "file"];
    let mut out = Vec::new();
    match tool {
        "tool.read" => {
            if let Some(p) = first_string(args, PATH_KEYS) {
                out.push(CallTarget::new("path", &p, "read"));
            }
            if let Some(u) = first_string(args, &["url", "uri"]) {
                out.push(CallTarget::new("url", &u, "read"));
            }
        }
        "tool.write" => {
            if let Some(p) = first_string(args, PATH_KEYS) {
                out.push(CallTarget::new("path", &p, "write"));
            }
        }
        "tool.exec" => {
            if let Some(c) = first_string(args, &["command", "cmd", "script"]) {
                out.push(CallTarget::new("other", &c, "execute"));
            }
        }
        "tool.delegate" => {
            if let Some(t) = first_string(args, &["task", "prompt", "description"]) {
                out.push(CallTarget::new("other", &t, "delegate"));
            }
        }
        _ => {}
    }
    out
}

/// Decodes a hook payload: `tool_name` (or `name`), `tool_input` (or
/// `input`; an object or a JSON string holding one), `session_id`,
/// `hook_event_name`.
pub(super) fn decode(value: &Value) -> Result<ToolCall, AdapterError> {
    let obj = object(value, "claude code")?;
    let mut raw_name = string_field(obj, "tool_name", "tool_name")?
        .trim()
        .to_owned();
    if raw_name.is_empty() {
        raw_name = string_field(obj, "name", "name")?.trim().to_owned();
    }
    let name = claude_code_tool_name(&raw_name);
    if name.is_empty() {
        return Err(decode_err("claude code tool call name is required"));
    }
    let (raw_args, key) = match obj.get("tool_input") {
        None | Some(Value::Null) => (obj.get("input"), "input"),
        some => (some, "tool_input"),
    };
    let args = arguments("claude code tool_input", raw_args, &PAYLOAD_ROOT.key(key))?;
    let mut call = ToolCall::new(&name, args);
    let session = string_field(obj, "session_id", "session_id")?;
    session.trim().clone_into(&mut call.context.session_id);
    let event = string_field(obj, "hook_event_name", "hook_event_name")?;
    if !event.trim().is_empty() {
        let mut m = Map::new();
        m.insert(
            "hook_event_name".into(),
            Value::String(event.trim().to_owned()),
        );
        m.insert("adapter".into(), Value::String("claude_code".into()));
        call.context.auth_context = m;
    }
    call.targets = infer_targets(&name, &call.args);
    Ok(call)
}
