//! The relay: a client on one pair of streams, the server process it
//! spawns on the other, and the governed methods in between.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Error;
use crate::frame::{Frame, LineReader, sniff_id};
use crate::govern::{
    CallDecision, Governor, REASON_EVALUATION_TIMEOUT, REASON_TOOL_LIST_UNAVAILABLE,
};
use crate::mapping::ServerIdentity;
use crate::pins::ToolPins;
use crate::visibility::always_blocked;

/// JSON-RPC: invalid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC: internal error.
pub const INTERNAL_ERROR: i64 = -32603;
/// The error code of requests the server can no longer answer (it exited).
pub const SERVER_EXITED: i64 = -32000;
/// The error code of a message over the size limit.
pub const MESSAGE_TOO_LARGE: i64 = -32001;

/// The default largest message, either way: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;

/// The most evaluation threads alive at once; calls beyond it are refused
/// (`gate_evaluation_timeout`) until stuck evaluations finish.
const MAX_EVALUATIONS: usize = 16;

/// A sink for the proxy's own diagnostics (one line each).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// How the proxy runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// The server command: program and arguments.
    pub command: Vec<String>,
    /// The server id used in intents (else `serverInfo.name`).
    pub server_id: Option<String>,
    /// Remove tools the policy always blocks from `tools/list` results.
    pub hide_blocked_tools: bool,
    /// The largest message accepted from either side, in bytes.
    pub max_message_bytes: usize,
    /// How long one evaluation may take before the call is refused.
    pub eval_timeout: Duration,
    /// How long to wait for the other side to finish once one side closed.
    pub shutdown_grace: Duration,
    /// A pin file: pins are loaded from it at start (a missing file is
    /// empty) and every newly pinned tool is saved to it, so a definition
    /// changed between sessions is caught too.
    pub pin_file: Option<std::path::PathBuf>,
}

impl ProxyConfig {
    /// The defaults for this server command: 16 MiB messages, a 10 s
    /// evaluation deadline, a 2 s shutdown grace, nothing hidden.
    pub fn new(command: Vec<String>) -> Self {
        Self {
            command,
            server_id: None,
            hide_blocked_tools: false,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            eval_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(2),
            pin_file: None,
        }
    }
}

/// How a proxy session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyReport {
    /// Whether the server exited (or closed its output) before the client
    /// was done.
    pub server_died: bool,
    /// The server's exit code, when it exited with one.
    pub server_exit_code: Option<i32>,
    /// `tools/call` requests forwarded.
    pub calls_forwarded: u64,
    /// `tools/call` requests refused by the proxy.
    pub calls_refused: u64,
    /// Tool definitions seen changed after they were pinned.
    pub pin_changes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Initialize,
    ToolsList,
}

#[derive(Debug, Default)]
struct State {
    /// Client requests sent to the server and not yet answered, by id key.
    pending: HashMap<String, Value>,
    /// Requests whose responses the proxy reads (initialize, tools/list).
    watch: HashMap<String, Watch>,
    server: ServerIdentity,
    /// Shared with evaluations in flight; changed copy-on-write.
    pins: Arc<ToolPins>,
    server_dead: bool,
    /// Whether the server declared the `tools` capability.
    server_has_tools: bool,
    /// The proxy's own `tools/list` requests in flight (id keys).
    own_lists: HashSet<String>,
    own_seq: u64,
}

struct Shared {
    governor: Arc<Governor>,
    config: ProxyConfig,
    log: Log,
    client_out: Mutex<Box<dyn Write + Send>>,
    server_in: Mutex<Option<ChildStdin>>,
    state: Mutex<State>,
    /// Signalled when the proxy's own tool listings complete.
    listed: Condvar,
    /// Evaluation threads alive (including ones past their deadline).
    evaluating: Arc<AtomicUsize>,
    forwarded: AtomicU64,
    refused: AtomicU64,
    pin_changes: AtomicU64,
}

enum Event {
    ClientClosed,
    ServerClosed,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave these values half-updated
    // in a way that matters more than stopping would; keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

fn error_response(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Kills and reaps the server if the proxy stops early.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Runs one proxy session: spawns the server, relays until the client or
/// the server is done, and reports how it ended. Server standard error is
/// passed through to this process's standard error.
///
/// # Errors
///
/// [`Error::NoServerCommand`] for an empty command (and the other
/// configuration errors, [`Error::is_config`]), [`Error::Spawn`] when the
/// server cannot start, [`Error::RelayThread`] when a relay thread cannot
/// start.
pub fn run<R, W>(
    config: ProxyConfig,
    governor: Governor,
    client_in: R,
    client_out: W,
    log: Log,
) -> Result<ProxyReport, Error>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let Some((program, args)) = config.command.split_first() else {
        return Err(Error::NoServerCommand);
    };
    if config.max_message_bytes == 0 {
        return Err(Error::ZeroMessageLimit);
    }
    let pins = match config.pin_file.as_deref() {
        Some(path) => ToolPins::load(path)?,
        None => ToolPins::new(),
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| Error::Spawn {
            command: program.clone(),
            source,
        })?;
    let server_in = child.stdin.take();
    let server_out = child.stdout.take();
    let mut child = ChildGuard(child);
    let Some(server_out) = server_out else {
        return Err(Error::ServerOutputUnavailable);
    };
    let mut state = State {
        pins: Arc::new(pins),
        ..State::default()
    };
    if let Some(id) = config.server_id.as_deref() {
        state.server = ServerIdentity::with_id(id);
    }
    let shared = Arc::new(Shared {
        governor: Arc::new(governor),
        config,
        log,
        client_out: Mutex::new(Box::new(client_out)),
        server_in: Mutex::new(server_in),
        state: Mutex::new(state),
        listed: Condvar::new(),
        evaluating: Arc::new(AtomicUsize::new(0)),
        forwarded: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        pin_changes: AtomicU64::new(0),
    });
    let (tx, rx) = mpsc::channel::<Event>();

    let s = Arc::clone(&shared);
    let tx_server = tx.clone();
    std::thread::Builder::new()
        .name("gait-mcp-server".into())
        .spawn(move || {
            server_loop(&s, server_out);
            let _ = tx_server.send(Event::ServerClosed);
        })
        .map_err(Error::RelayThread)?;
    let c = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("gait-mcp-client".into())
        .spawn(move || {
            client_loop(&c, client_in);
            let _ = tx.send(Event::ClientClosed);
        })
        .map_err(Error::RelayThread)?;

    let grace = shared.config.shutdown_grace;
    let server_died = match rx.recv() {
        Ok(Event::ServerClosed) | Err(_) => {
            server_gone(&shared);
            // Later requests already read get errors from the client
            // thread; give the client a moment, then stop.
            let _ = rx.recv_timeout(grace);
            true
        }
        Ok(Event::ClientClosed) => {
            // Closing the server's input asks it to exit.
            drop(lock(&shared.server_in).take());
            let _ = rx.recv_timeout(grace);
            false
        }
    };
    let status = wait_child(&mut child.0, grace);
    if server_died {
        let code = status.and_then(|s| s.code());
        (shared.log)(&format!(
            "MCP server exited during the session{}",
            code.map(|c| format!(" (exit code {c})"))
                .unwrap_or_default()
        ));
    }
    fail_pending(&shared, "MCP server is no longer available");
    Ok(ProxyReport {
        server_died,
        server_exit_code: status.and_then(|s| s.code()),
        calls_forwarded: shared.forwarded.load(Ordering::Relaxed),
        calls_refused: shared.refused.load(Ordering::Relaxed),
        pin_changes: shared.pin_changes.load(Ordering::Relaxed),
    })
}

/// Waits up to `grace` for the server to exit, then kills it.
fn wait_child(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                return child.wait().ok();
            }
            Err(_) => return None,
        }
    }
}

fn server_gone(shared: &Shared) {
    {
        let mut st = lock(&shared.state);
        st.server_dead = true;
        st.own_lists.clear();
    }
    shared.listed.notify_all();
    drop(lock(&shared.server_in).take());
    fail_pending(shared, "MCP server exited before answering");
}

fn fail_pending(shared: &Shared, message: &str) {
    let pending: Vec<Value> = {
        let mut st = lock(&shared.state);
        st.watch.clear();
        st.pending.drain().map(|(_, id)| id).collect()
    };
    for id in pending {
        write_client(shared, &error_response(&id, SERVER_EXITED, message));
    }
}

fn write_line(out: &mut dyn Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.write_all(b"\n")?;
    out.flush()
}

fn write_client_raw(shared: &Shared, bytes: &[u8]) {
    let mut out = lock(&shared.client_out);
    if write_line(&mut **out, bytes).is_err() {
        drop(out);
        (shared.log)("cannot write to the client");
    }
}

fn write_client(shared: &Shared, value: &Value) {
    write_client_raw(shared, value.to_string().as_bytes());
}

/// Sends bytes to the server. `false` when the server is gone.
fn write_server(shared: &Shared, bytes: &[u8]) -> bool {
    let mut guard = lock(&shared.server_in);
    match guard.as_mut() {
        Some(stdin) => {
            if write_line(stdin, bytes).is_ok() {
                true
            } else {
                guard.take();
                false
            }
        }
        None => false,
    }
}

// ---- client to server ----

/// What to do with one client message.
enum Action {
    /// Send it to the server unchanged.
    Forward(Value),
    /// Answer the client with this response.
    Respond(Value),
    /// Neither (a refused notification).
    Drop,
}

fn client_loop<R: Read>(shared: &Arc<Shared>, input: R) {
    let mut reader = LineReader::new(
        BufReader::with_capacity(64 << 10, input),
        shared.config.max_message_bytes,
    );
    loop {
        let frame = match reader.next_frame() {
            Ok(f) => f,
            Err(e) => {
                (shared.log)(&format!("read from client: {e}"));
                return;
            }
        };
        match frame {
            Frame::Eof => return,
            Frame::TooLong { prefix, len } => {
                let id = sniff_id(&prefix).unwrap_or(Value::Null);
                (shared.log)(&format!(
                    "client message of {len} bytes exceeds the limit of {} bytes; not forwarded",
                    shared.config.max_message_bytes
                ));
                write_client(
                    shared,
                    &error_response(
                        &id,
                        MESSAGE_TOO_LARGE,
                        &format!(
                            "message exceeds the proxy limit of {} bytes",
                            shared.config.max_message_bytes
                        ),
                    ),
                );
            }
            Frame::Line(line) => client_line(shared, &line),
        }
    }
}

fn client_line(shared: &Arc<Shared>, line: &[u8]) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    // Strict parsing (duplicate members are errors): what the proxy
    // evaluates must be what the server executes.
    let value = match gait_digest::canonical::parse_strict(line) {
        Ok(v) => v,
        Err(e) => {
            (shared.log)(&format!("malformed client message not forwarded: {e}"));
            write_client(
                shared,
                &error_response(&Value::Null, PARSE_ERROR, &format!("parse error: {e}")),
            );
            return;
        }
    };
    // An integer literal beyond the 64-bit range reaches the decision as a
    // double that other literals share: refused here, where the text is.
    if let Err(e) = gait_policy::adapters::refuse_wide_integer_literals(line) {
        (shared.log)(&format!("ambiguous client message not forwarded: {e}"));
        let id = value.get("id").cloned().unwrap_or(Value::Null);
        write_client(shared, &error_response(&id, INVALID_PARAMS, &e.to_string()));
        return;
    }
    let initialized = match &value {
        Value::Object(_) => is_initialized(&value),
        Value::Array(items) => items.iter().any(is_initialized),
        _ => false,
    };
    match value {
        Value::Array(items) if !items.is_empty() => client_batch(shared, line, items),
        Value::Object(_) => match client_message(shared, value) {
            Action::Forward(msg) => forward_or_fail(shared, line, &[msg]),
            Action::Respond(resp) => write_client(shared, &resp),
            Action::Drop => {}
        },
        _ => write_client(
            shared,
            &error_response(&Value::Null, INVALID_REQUEST, "invalid request"),
        ),
    }
    if initialized && lock(&shared.state).server_has_tools {
        request_tool_list(shared, None);
    }
}

fn is_initialized(msg: &Value) -> bool {
    msg.get("method").and_then(Value::as_str) == Some("notifications/initialized")
        && msg.get("id").is_none()
}

/// The id prefix of the proxy's own requests to the server.
const OWN_ID_PREFIX: &str = "gait-mcp-proxy:";

/// Asks the server for its tools on the proxy's own account (after
/// `notifications/initialized` and on `notifications/tools/list_changed`),
/// so pins and hints do not depend on the client listing tools. Calls wait
/// for these listings (see [`wait_for_listing`]).
fn request_tool_list(shared: &Arc<Shared>, cursor: Option<Value>) {
    let id = {
        let mut st = lock(&shared.state);
        st.own_seq += 1;
        let id = Value::String(format!("{OWN_ID_PREFIX}{}", st.own_seq));
        st.own_lists.insert(id_key(&id));
        id
    };
    let mut params = serde_json::Map::new();
    if let Some(c) = cursor {
        params.insert("cursor".into(), c);
    }
    let req = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params});
    // Written from its own thread: the server thread must never block on
    // the server's input while the server blocks on its output.
    let s = Arc::clone(shared);
    let write = move || {
        if !write_server(&s, req.to_string().as_bytes()) {
            lock(&s.state).own_lists.remove(&id_key(&id));
            s.listed.notify_all();
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("gait-mcp-list".into())
        .spawn(write)
    {
        (shared.log)(&format!("cannot start the tool listing: {e}"));
        let mut st = lock(&shared.state);
        st.own_lists.clear();
        drop(st);
        shared.listed.notify_all();
    }
}

/// Waits until no proxy listing is in flight. `false` when the deadline
/// passed first.
fn wait_for_listing(shared: &Shared) -> bool {
    let deadline = Instant::now() + shared.config.eval_timeout;
    let mut st = lock(&shared.state);
    while !st.own_lists.is_empty() && !st.server_dead {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        st = match shared.listed.wait_timeout(st, left) {
            Ok((guard, _)) => guard,
            Err(p) => p.into_inner().0,
        };
    }
    true
}

fn client_batch(shared: &Shared, line: &[u8], items: Vec<Value>) {
    let count = items.len();
    let mut forward = Vec::with_capacity(count);
    let mut answers = Vec::new();
    for item in items {
        match client_message(shared, item) {
            Action::Forward(m) => forward.push(m),
            Action::Respond(r) => answers.push(r),
            Action::Drop => {}
        }
    }
    if forward.len() == count {
        forward_or_fail(shared, line, &forward);
        return;
    }
    if !forward.is_empty() {
        let text = Value::Array(forward.clone()).to_string();
        forward_or_fail(shared, text.as_bytes(), &forward);
    }
    if !answers.is_empty() {
        write_client(shared, &Value::Array(answers));
    }
}

/// Sends `bytes` (which carry `messages`) to the server; when it is gone,
/// the requests among them get errors instead.
fn forward_or_fail(shared: &Shared, bytes: &[u8], messages: &[Value]) {
    if write_server(shared, bytes) {
        return;
    }
    let mut st = lock(&shared.state);
    let mut failed = Vec::new();
    for m in messages {
        if let (Some(id), Some(_)) = (m.get("id"), m.get("method")) {
            st.pending.remove(&id_key(id));
            st.watch.remove(&id_key(id));
            failed.push(error_response(
                id,
                SERVER_EXITED,
                "MCP server is not running",
            ));
        }
    }
    drop(st);
    for f in failed {
        write_client(shared, &f);
    }
}

fn client_message(shared: &Shared, msg: Value) -> Action {
    let Some(obj) = msg.as_object() else {
        return Action::Respond(error_response(
            &Value::Null,
            INVALID_REQUEST,
            "invalid request",
        ));
    };
    let id = obj.get("id").cloned();
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // A response to a server request, or something the server should
        // judge: forward unchanged.
        return Action::Forward(msg);
    };
    let dead = lock(&shared.state).server_dead;
    if dead {
        return match id {
            Some(id) => Action::Respond(error_response(
                &id,
                SERVER_EXITED,
                "MCP server is no longer available",
            )),
            None => Action::Drop,
        };
    }
    // Governed whatever its case or padding: a lenient server must not run
    // an unevaluated call.
    if method.trim().eq_ignore_ascii_case("tools/call") {
        return govern_call(shared, msg);
    }
    if let Some(id) = id {
        let mut st = lock(&shared.state);
        let key = id_key(&id);
        match method {
            "initialize" => {
                st.watch.insert(key.clone(), Watch::Initialize);
            }
            "tools/list" => {
                st.watch.insert(key.clone(), Watch::ToolsList);
            }
            _ => {}
        }
        st.pending.insert(key, id);
    }
    Action::Forward(msg)
}

fn govern_call(shared: &Shared, msg: Value) -> Action {
    let id = msg.get("id").cloned();
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !wait_for_listing(shared) {
        let policy_digest = shared.governor.policy_digest();
        let decision = CallDecision::refused(&name, &policy_digest, REASON_TOOL_LIST_UNAVAILABLE);
        shared.refused.fetch_add(1, Ordering::Relaxed);
        (shared.log)(&format!(
            "refused tools/call {}: the server did not answer the proxy's tools/list in time",
            decision.tool_name
        ));
        return match id {
            Some(id) => Action::Respond(
                json!({"jsonrpc": "2.0", "id": id, "result": decision.refusal_result()}),
            ),
            None => Action::Drop,
        };
    }
    let (server, pins) = {
        let st = lock(&shared.state);
        (st.server.clone(), Arc::clone(&st.pins))
    };
    let governor = Arc::clone(&shared.governor);
    let (tx, rx) = mpsc::channel();
    // Evaluations that overran their deadline keep running on their own
    // threads; past a bound, refuse new calls instead of piling up more.
    let decided = if shared.evaluating.fetch_add(1, Ordering::SeqCst) >= MAX_EVALUATIONS {
        shared.evaluating.fetch_sub(1, Ordering::SeqCst);
        None
    } else {
        let counter = Arc::clone(&shared.evaluating);
        let spawned = std::thread::Builder::new()
            .name("gait-mcp-eval".into())
            .spawn(move || {
                let _ = tx.send(governor.decide(&params, &server, &pins));
                counter.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(_) => rx.recv_timeout(shared.config.eval_timeout).ok(),
            Err(_) => {
                shared.evaluating.fetch_sub(1, Ordering::SeqCst);
                None
            }
        }
    };
    let policy_digest = shared.governor.policy_digest();
    let decision = match decided {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            (shared.log)(&format!("refused tools/call: {e}"));
            shared.refused.fetch_add(1, Ordering::Relaxed);
            return match id {
                Some(id) => Action::Respond(error_response(&id, INVALID_PARAMS, &e.to_string())),
                None => Action::Drop,
            };
        }
        None => CallDecision::refused(&name, &policy_digest, REASON_EVALUATION_TIMEOUT),
    };
    if decision.forward {
        shared.forwarded.fetch_add(1, Ordering::Relaxed);
        if let Some(id) = id {
            lock(&shared.state).pending.insert(id_key(&id), id);
        }
        return Action::Forward(msg);
    }
    shared.refused.fetch_add(1, Ordering::Relaxed);
    (shared.log)(&format!(
        "refused tools/call {}: verdict={} reasons={} trace={}",
        decision.tool_name,
        decision.verdict.as_str(),
        decision.reason_codes.join(","),
        decision.trace_id
    ));
    match id {
        Some(id) => Action::Respond(json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": decision.refusal_result(),
        })),
        None => Action::Drop,
    }
}

// ---- server to client ----

fn server_loop(shared: &Arc<Shared>, output: impl Read) {
    let mut reader = LineReader::new(
        BufReader::with_capacity(64 << 10, output),
        shared.config.max_message_bytes,
    );
    loop {
        let frame = match reader.next_frame() {
            Ok(f) => f,
            Err(e) => {
                (shared.log)(&format!("read from server: {e}"));
                return;
            }
        };
        match frame {
            Frame::Eof => return,
            Frame::TooLong { prefix, len } => {
                (shared.log)(&format!(
                    "server message of {len} bytes exceeds the limit of {} bytes; not relayed",
                    shared.config.max_message_bytes
                ));
                let Some(id) = sniff_id(&prefix) else {
                    continue;
                };
                let known = {
                    let mut st = lock(&shared.state);
                    st.watch.remove(&id_key(&id));
                    st.pending.remove(&id_key(&id)).is_some()
                };
                if known {
                    write_client(
                        shared,
                        &error_response(
                            &id,
                            MESSAGE_TOO_LARGE,
                            &format!(
                                "the server's response exceeds the proxy limit of {} bytes",
                                shared.config.max_message_bytes
                            ),
                        ),
                    );
                }
            }
            Frame::Line(line) => server_line(shared, &line),
        }
    }
}

fn server_line(shared: &Arc<Shared>, line: &[u8]) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    // Parsed as the client will parse it (last duplicate wins); what does
    // not parse is relayed as is for the client to reject.
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        write_client_raw(shared, line);
        return;
    };
    match value {
        Value::Object(_) => match server_message(shared, value) {
            Relay::Changed(changed) => write_client(shared, &changed),
            Relay::Unchanged => write_client_raw(shared, line),
            Relay::Drop => {}
        },
        Value::Array(items) => {
            let mut modified = false;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match server_message(shared, item.clone()) {
                    Relay::Changed(changed) => {
                        modified = true;
                        out.push(changed);
                    }
                    Relay::Unchanged => out.push(item),
                    Relay::Drop => modified = true,
                }
            }
            if !modified {
                write_client_raw(shared, line);
            } else if !out.is_empty() {
                write_client(shared, &Value::Array(out));
            }
        }
        _ => write_client_raw(shared, line),
    }
}

/// What to relay of one server message.
enum Relay {
    /// The message as received.
    Unchanged,
    /// This changed message.
    Changed(Value),
    /// Nothing (an answer to the proxy's own request).
    Drop,
}

/// Handles one server message.
fn server_message(shared: &Arc<Shared>, msg: Value) -> Relay {
    match msg.get("method").and_then(Value::as_str) {
        Some("notifications/tools/list_changed") => {
            // Re-list before the client hears of the change, so that a
            // call it makes in response waits for the new pins.
            request_tool_list(shared, None);
            return Relay::Unchanged;
        }
        // Other server requests and notifications: relayed unchanged.
        Some(_) => return Relay::Unchanged,
        None => {}
    }
    let Some(id) = msg.get("id") else {
        return Relay::Unchanged;
    };
    let key = id_key(id);
    if lock(&shared.state).own_lists.contains(&key) {
        own_listing(shared, &key, &msg);
        return Relay::Drop;
    }
    match watched_response(shared, &key, msg) {
        Some(changed) => Relay::Changed(changed),
        None => Relay::Unchanged,
    }
}

/// The answer to one of the proxy's own `tools/list` requests.
fn own_listing(shared: &Arc<Shared>, key: &str, msg: &Value) {
    let result = msg.get("result");
    if let Some(tools) = result
        .and_then(|r| r.get("tools"))
        .and_then(Value::as_array)
    {
        observe_tools(shared, tools);
    }
    // Further pages are requested before this one is marked done, so that
    // waiting calls see the whole listing.
    if let Some(cursor) = result
        .and_then(|r| r.get("nextCursor"))
        .filter(|c| c.is_string())
    {
        request_tool_list(shared, Some(cursor.clone()));
    }
    lock(&shared.state).own_lists.remove(key);
    shared.listed.notify_all();
}

/// Pins a listing and reports changed definitions.
fn observe_tools(shared: &Shared, tools: &[Value]) {
    let (changes, saved) = {
        let mut st = lock(&shared.state);
        let before = st.pins.len();
        let changes = Arc::make_mut(&mut st.pins).observe(tools);
        let saved = match shared.config.pin_file.as_deref() {
            Some(path) if st.pins.len() > before => Some(st.pins.save(path)),
            _ => None,
        };
        (changes, saved)
    };
    if let Some(Err(e)) = saved {
        (shared.log)(&format!("new tool pins not saved: {e}"));
    }
    for c in &changes {
        shared.pin_changes.fetch_add(1, Ordering::Relaxed);
        (shared.log)(&format!(
            "tool definition changed: {} ({}): pinned {} now {}",
            c.name,
            crate::govern::REASON_TOOL_CHANGED,
            c.pinned.to_hex(),
            c.current.to_hex()
        ));
    }
}

/// Handles a response to a watched client request; `Some` when it must be
/// relayed changed.
fn watched_response(shared: &Shared, key: &str, mut msg: Value) -> Option<Value> {
    let watch = {
        let mut st = lock(&shared.state);
        st.pending.remove(key);
        st.watch.remove(key)
    }?;
    match watch {
        Watch::Initialize => {
            if let Some(result) = msg.get("result") {
                let mut st = lock(&shared.state);
                st.server.learn(result);
                st.server_has_tools = result
                    .get("capabilities")
                    .and_then(|c| c.get("tools"))
                    .is_some_and(Value::is_object);
                let id = st.server.server_id.clone();
                drop(st);
                (shared.log)(&format!("MCP server identified as {id:?}"));
            }
            None
        }
        Watch::ToolsList => {
            let tools = msg
                .get("result")
                .and_then(|r| r.get("tools"))
                .and_then(Value::as_array)?
                .clone();
            observe_tools(shared, &tools);
            if !shared.config.hide_blocked_tools {
                return None;
            }
            let policy = shared.governor.gate().policy();
            let keep: Vec<Value> = tools
                .iter()
                .filter(|t| {
                    t.get("name")
                        .and_then(Value::as_str)
                        .is_none_or(|n| !always_blocked(policy, n))
                })
                .cloned()
                .collect();
            if keep.len() == tools.len() {
                return None;
            }
            let slot = msg.get_mut("result")?.get_mut("tools")?;
            *slot = Value::Array(keep);
            Some(msg)
        }
    }
}
