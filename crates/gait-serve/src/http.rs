//! The HTTP/1.1 front end (`gait serve`, `gait mcp serve`) on hyper 1 and
//! tokio.
//!
//! Endpoints: `GET /healthz`; `POST /v1/evaluate` (JSON), and the
//! reference's `POST /v1/evaluate/sse` (one `event: evaluate` frame) and
//! `POST /v1/evaluate/stream` (one NDJSON line). Each evaluation runs in
//! place on its worker (`block_in_place`: it writes and fsyncs the
//! trace), and its answer is sent only after the trace is written; once
//! the evaluation has started, a client that goes away does not stop the
//! decision or its trace (a client that leaves while its body is still
//! being read gets no decision at all).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ServeError;
use crate::limits::{DEFAULT_MAX_REQUEST_VALUES, check_json_values};
use crate::service::DecisionService;
use crate::slots::{Slot, Slots};

/// HTTP status of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VerdictStatus {
    /// Always 200 (the reference's default).
    #[default]
    Compat,
    /// 403 for block, 409 for require_approval and dry_run.
    Strict,
}

impl VerdictStatus {
    /// Parses `compat` or `strict`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Config`].
    pub fn parse(s: &str) -> Result<Self, ServeError> {
        match s.trim().to_lowercase().as_str() {
            "compat" => Ok(Self::Compat),
            "strict" => Ok(Self::Strict),
            _ => Err(ServeError::Config(
                "unsupported --http-verdict-status value (expected compat or strict)".into(),
            )),
        }
    }
}

/// HTTP settings.
///
/// The defaults bound what one client, or many, can take from the server
/// (see the crate docs and `docs/architecture.md`):
///
/// | Setting | Default | Bounds |
/// |---|---|---|
/// | `max_request_bytes` | 1 MiB | one body |
/// | `max_request_values` | 16,384 | JSON values of one body (memory of one decision) |
/// | `max_inflight_body_bytes` | 64 MiB | buffer space of all bodies being read, waiting or decided |
/// | `max_concurrent_evaluations` | 8 | decisions running at once (the rest wait up to `eval_queue_timeout`, 10 s, then 503) |
/// | `header_timeout` | 5 s | time to send the request headers, and idle time between keep-alive requests |
/// | `min_body_rate` / `body_grace` | 8 KiB/s after 5 s | a body trickling in slower is cut off (408) |
/// | `body_timeout` | 30 s | time to send a whole body |
/// | `max_connections` | 1,024 | connections served at once |
/// | `evict_after` | 1 s | when every slot is taken, a new client takes the slot of the connection that has kept the server waiting longest, if for at least this long |
/// | `queue_timeout` / `max_queued` | 2 s / 256 | a client that finds no slot waits this long (at most this many at once), then gets 503 with `Retry-After: 1` |
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// The body size cap.
    pub max_request_bytes: usize,
    /// The most JSON values (scalars, arrays, objects, member names) one
    /// request may hold ([`crate::check_json_values`]).
    pub max_request_values: usize,
    /// The buffer space, in bytes, of all request bodies being received,
    /// waiting for or in evaluation together (never less than
    /// `max_request_bytes`). A body that would exceed it is answered 503
    /// with `Retry-After`.
    pub max_inflight_body_bytes: usize,
    /// The most evaluations running at once.
    pub max_concurrent_evaluations: usize,
    /// How long a request whose body has been read may wait for an
    /// evaluation slot before it is answered 503.
    pub eval_queue_timeout: Duration,
    /// Status codes of decisions.
    pub verdict_status: VerdictStatus,
    /// A bearer token every evaluate request must carry.
    pub auth_token: Option<String>,
    /// The `service` of `/healthz`.
    pub service_name: String,
    /// How long a client may take to send its request headers (and may
    /// stay idle between keep-alive requests).
    pub header_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// The slowest body accepted, in bytes per second, once `body_grace`
    /// has passed (0: no minimum, only `body_timeout`).
    pub min_body_rate: u64,
    /// The time a body may take before `min_body_rate` applies.
    pub body_grace: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// When every connection slot is taken, a new client takes the slot
    /// of the connection that has kept the server waiting longest (idle
    /// keep-alive, slow headers or a slow body; never one being decided),
    /// if it has done so for at least this long; that connection is
    /// closed.
    pub evict_after: Duration,
    /// How long a client that finds no slot waits for one before it is
    /// answered 503 with `Retry-After`.
    pub queue_timeout: Duration,
    /// The most clients waiting for a slot at once; further ones are
    /// answered 503 at once.
    pub max_queued: usize,
    /// Evaluate on the connection's worker thread instead of handing the
    /// worker's other work away first: fastest when the trace directory's
    /// fsync is cheap (tmpfs, a disk with a write cache); with a slow disk
    /// every fsync then stalls one worker.
    pub eval_inline: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_request_bytes: 1 << 20,
            max_request_values: DEFAULT_MAX_REQUEST_VALUES,
            max_inflight_body_bytes: 64 << 20,
            max_concurrent_evaluations: 8,
            eval_queue_timeout: Duration::from_secs(10),
            verdict_status: VerdictStatus::Compat,
            auth_token: None,
            service_name: "gait.serve".into(),
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(30),
            min_body_rate: 8 << 10,
            body_grace: Duration::from_secs(5),
            max_connections: 1024,
            evict_after: Duration::from_secs(1),
            queue_timeout: Duration::from_secs(2),
            max_queued: 256,
            eval_inline: false,
        }
    }
}

/// The shortest bearer token `gait serve` accepts, in characters.
pub const MIN_AUTH_TOKEN_CHARS: usize = 16;

/// Whether `addr` (`host:port`) names a loopback interface.
///
/// # Errors
///
/// [`ServeError::Config`] for an address without a port.
pub fn is_loopback_listen(addr: &str) -> Result<bool, ServeError> {
    let t = addr.trim();
    let (host, port) = t
        .rsplit_once(':')
        .ok_or_else(|| ServeError::Config(format!("invalid --listen address: {t}")))?;
    if port.parse::<u16>().is_err() {
        return Err(ServeError::Config(format!("invalid --listen address: {t}")));
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(true);
    }
    Ok(host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback()))
}

fn json_response(status: StatusCode, body: &Map<String, Value>) -> Response<Full<Bytes>> {
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(b'\n');
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The body of an error answer: `{"ok":false,"error":…}`, as the
/// reference's `mcp serve` answers (the HTTP status carries the class; the
/// stdio line, which has no status, adds `exit_code`).
fn error_body(e: &ServeError) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(false));
    m.insert("error".into(), Value::String(e.to_string()));
    m
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(false));
    m.insert("error".into(), Value::String(message.to_owned()));
    json_response(status, &m)
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Compares a presented token with the configured one in constant time:
/// both are hashed first, so neither their contents nor their lengths
/// show in the timing.
fn token_matches(given: &str, expected: &str) -> bool {
    let a = gait_digest::blake3(given.as_bytes());
    let b = gait_digest::blake3(expected.as_bytes());
    a.as_bytes()
        .iter()
        .zip(b.as_bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// 503 with `Retry-After: 1`: the server is at one of its limits.
fn unavailable(message: &str) -> Response<Full<Bytes>> {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// The answer to a client that found no connection slot (written on the
/// raw socket: no connection is served for it).
const SHED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 68\r\n\r\n{\"ok\":false,\"error\":\"server busy: every connection slot is in use\"}\n";

#[derive(Clone, Copy)]
enum Framing {
    Json,
    Sse,
    Ndjson,
}

/// What every connection shares.
struct Shared {
    service: Arc<DecisionService>,
    cfg: HttpConfig,
    /// Bytes of body buffer space left.
    body_budget: Arc<Semaphore>,
    /// Evaluation slots.
    evals: Semaphore,
}

/// `t + d`, or a day after `t` for a `d` too large to add.
fn after(t: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(t)
}

/// Reads the body into one buffer, growing it (by doubling, at most to
/// the declared length or the cap) only with space taken from the
/// in-flight budget, and cutting off a body that arrives slower than the
/// minimum rate or after the body timeout.
async fn read_body(
    shared: &Shared,
    mut body: Incoming,
    declared: Option<usize>,
) -> Result<(Vec<u8>, Option<OwnedSemaphorePermit>), Response<Full<Bytes>>> {
    let cfg = &shared.cfg;
    let max = cfg.max_request_bytes;
    let limit = declared.map_or(max, |d| d.min(max));
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &ServeError::TooLarge(max).to_string(),
        )
    };
    let started = tokio::time::Instant::now();
    let hard = after(started, cfg.body_timeout);
    let mut buf: Vec<u8> = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        // The body must keep up `min_body_rate` once `body_grace` is
        // over: the next bytes are due when the rate would fall below it.
        let deadline = if cfg.min_body_rate == 0 {
            hard
        } else {
            let secs = buf.len() as f64 / cfg.min_body_rate as f64;
            let due = started
                .checked_add(cfg.body_grace)
                .and_then(|t| t.checked_add(Duration::try_from_secs_f64(secs).ok()?))
                .unwrap_or(hard);
            due.min(hard)
        };
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(error(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body not received in time",
                ));
            }
            Ok(None) => return Ok((buf, held)),
            Ok(Some(Err(e))) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!("read request: {e}"),
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let need = buf.len().saturating_add(data.len());
        if need > max {
            return Err(too_large());
        }
        if need > buf.capacity() {
            let target = need
                .max(buf.capacity().saturating_mul(2))
                .max(16 << 10)
                .min(limit.max(need));
            let grow = target - buf.capacity();
            let permit = u32::try_from(grow).ok().and_then(|n| {
                Arc::clone(&shared.body_budget)
                    .try_acquire_many_owned(n)
                    .ok()
            });
            let Some(permit) = permit else {
                return Err(unavailable(
                    "server busy: request bodies in flight are at their limit",
                ));
            };
            match &mut held {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
            buf.reserve_exact(target - buf.len());
        }
        buf.extend_from_slice(&data);
    }
}

async fn evaluate(
    shared: &Shared,
    slot: &Slot,
    req: Request<Incoming>,
    framing: Framing,
) -> Response<Full<Bytes>> {
    let cfg = &shared.cfg;
    if let Some(token) = &cfg.auth_token {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim();
        let Some(given) = header.strip_prefix("Bearer ") else {
            return error(StatusCode::UNAUTHORIZED, "missing bearer authorization");
        };
        if !token_matches(given.trim(), token.trim()) {
            return error(StatusCode::UNAUTHORIZED, "invalid bearer authorization");
        }
    }
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        let media = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type must be application/json",
            );
        }
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let max = cfg.max_request_bytes;
    if declared.is_some_and(|n| n > max as u64) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &ServeError::TooLarge(max).to_string(),
        );
    }
    let declared = declared.and_then(|n| usize::try_from(n).ok());
    let (body, budget) = match read_body(shared, req.into_body(), declared).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // The request is in: from here on the connection is not evicted.
    slot.busy();
    if let Err(e) = check_json_values(&body, cfg.max_request_values) {
        return json_response(status_of(e.http_status()), &error_body(&e));
    }
    let Ok(Ok(_eval_permit)) =
        tokio::time::timeout(cfg.eval_queue_timeout, shared.evals.acquire()).await
    else {
        return unavailable("server busy: every evaluation slot is in use");
    };
    // The evaluation blocks (it writes and fsyncs the trace). By default
    // it runs in place, tokio moving this worker's other tasks elsewhere
    // (no per-request thread handoff as with `spawn_blocking`); with
    // `eval_inline` it simply runs on the worker (fastest when fsync is
    // cheap). Being synchronous, a started decision completes, trace
    // included, even if the client has gone.
    let service = &shared.service;
    let run = || service.handle_request(&body);
    let result = if cfg.eval_inline {
        run()
    } else {
        tokio::task::block_in_place(run)
    };
    drop(body);
    drop(budget);
    let eval = match result {
        Ok(eval) => eval,
        Err(e) => return json_response(status_of(e.http_status()), &error_body(&e)),
    };
    let status = match (cfg.verdict_status, eval.verdict) {
        (VerdictStatus::Strict, gait_policy::Verdict::Block) => StatusCode::FORBIDDEN,
        (
            VerdictStatus::Strict,
            gait_policy::Verdict::RequireApproval | gait_policy::Verdict::DryRun,
        ) => StatusCode::CONFLICT,
        _ => StatusCode::OK,
    };
    let body = eval.response();
    match framing {
        Framing::Json => json_response(status, &body),
        Framing::Ndjson => {
            let mut r = json_response(status, &body);
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            r
        }
        Framing::Sse => {
            let data = serde_json::to_string(&body).unwrap_or_default();
            let mut r = Response::new(Full::new(Bytes::from(format!(
                "event: evaluate\ndata: {data}\n\n"
            ))));
            *r.status_mut() = status;
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            r.headers_mut()
                .insert("cache-control", HeaderValue::from_static("no-cache"));
            r
        }
    }
}

async fn route(shared: &Shared, slot: &Slot, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let framing = match path.as_str() {
        "/healthz" => {
            if method != Method::GET {
                return error(StatusCode::METHOD_NOT_ALLOWED, "expected GET");
            }
            let body = json!({"ok": true, "service": shared.cfg.service_name});
            let m = body.as_object().cloned().unwrap_or_default();
            return json_response(StatusCode::OK, &m);
        }
        "/v1/evaluate" => Framing::Json,
        "/v1/evaluate/sse" => Framing::Sse,
        "/v1/evaluate/stream" => Framing::Ndjson,
        _ => return error(StatusCode::NOT_FOUND, "not found"),
    };
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, "expected POST");
    }
    evaluate(shared, slot, req, framing).await
}

/// Serves one connection in its slot until it ends, is evicted, or the
/// server shuts down.
async fn serve_connection(
    stream: TcpStream,
    slot: Slot,
    shared: Arc<Shared>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let slot = Arc::new(slot);
    let conn_slot = Arc::clone(&slot);
    let header_timeout = shared.cfg.header_timeout;
    let svc = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let slot = Arc::clone(&conn_slot);
        async move {
            let response = route(&shared, &slot, req).await;
            slot.waiting();
            Ok::<_, Infallible>(response)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(CONNECTION_BUFFER_BYTES)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    let conn = watcher.watch(conn);
    // A client that disconnects or sends garbage only ends its own
    // connection; one that is evicted is closed here.
    tokio::select! {
        _ = conn => {}
        () = slot.evicted() => {}
    }
}

/// The read buffer of one connection (hyper's default is about 400 KB):
/// headers must fit in it.
const CONNECTION_BUFFER_BYTES: usize = 64 << 10;

/// Waits up to `wait` for a connection slot.
async fn wait_for_slot(slots: &Arc<Slots>, wait: Duration) -> Option<Slot> {
    let deadline = after(tokio::time::Instant::now(), wait);
    loop {
        if let Some(slot) = slots.admit() {
            return Some(slot);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return None;
        }
        // Re-checked when a slot is released, and every 50 ms (a waiting
        // connection may become evictable).
        let step = (deadline - now).min(Duration::from_millis(50));
        tokio::select! {
            () = slots.released() => {}
            () = tokio::time::sleep(step) => {}
        }
    }
}

/// Answers 503 on a connection that got no slot, then closes it after
/// reading what the client sent (so the answer is not lost to a reset).
async fn shed(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        if stream.write_all(SHED_RESPONSE).await.is_err() {
            return;
        }
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < (64 << 10) {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops
/// accepting, lets open connections finish their in-flight requests (at
/// most `drain` long) and returns.
///
/// Connections, bodies and evaluations are bounded as [`HttpConfig`]
/// describes: a client that finds every slot taken by connections that
/// keep the server waiting takes the slot of the one that has waited
/// longest; when none has waited `evict_after`, it waits `queue_timeout`
/// and is then answered 503 with `Retry-After: 1`.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve(
    listener: TcpListener,
    service: Arc<DecisionService>,
    cfg: HttpConfig,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Slots::new(cfg.max_connections, cfg.evict_after);
    let queued = Arc::new(Semaphore::new(cfg.max_queued.max(1)));
    let budget = cfg
        .max_inflight_body_bytes
        .max(cfg.max_request_bytes)
        .min(Semaphore::MAX_PERMITS);
    let queue_timeout = cfg.queue_timeout;
    let shared = Arc::new(Shared {
        service,
        body_budget: Arc::new(Semaphore::new(budget)),
        evals: Semaphore::new(cfg.max_concurrent_evaluations.max(1)),
        cfg,
    });
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let shared = Arc::clone(&shared);
        if let Some(slot) = slots.admit() {
            tokio::spawn(serve_connection(stream, slot, shared, watcher));
            continue;
        }
        let Ok(place) = Arc::clone(&queued).try_acquire_owned() else {
            // Too many clients already waiting: answer without waiting.
            let _ = stream.try_write(SHED_RESPONSE);
            continue;
        };
        let slots = Arc::clone(&slots);
        tokio::spawn(async move {
            let slot = wait_for_slot(&slots, queue_timeout).await;
            match slot {
                Some(slot) => {
                    drop(place);
                    serve_connection(stream, slot, shared, watcher).await;
                }
                None => {
                    shed(stream).await;
                    drop(place);
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {}
    }
    Ok(())
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock
    ) || e.raw_os_error() == Some(24) // EMFILE: out of descriptors, retry later
}

/// Runs [`serve`] on a new multi-threaded tokio runtime bound to
/// `listen`, until SIGINT or SIGTERM (then drains for up to 5 s).
/// `on_ready` is called with the bound address once accepting.
///
/// # Errors
///
/// [`ServeError::Config`] when the address cannot be bound,
/// [`ServeError::Internal`] for a runtime or listener failure.
pub fn run_blocking(
    listen: &str,
    service: Arc<DecisionService>,
    cfg: HttpConfig,
    worker_threads: usize,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| ServeError::Internal(format!("start runtime: {e}")))?;
    rt.block_on(async move {
        let listener = TcpListener::bind(listen.trim())
            .await
            .map_err(|e| ServeError::Config(format!("listen {}: {e}", listen.trim())))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Internal(format!("listen: {e}")))?;
        on_ready(addr);
        serve(
            listener,
            service,
            cfg,
            shutdown_signal(),
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| ServeError::Internal(format!("serve: {e}")))
    })
}

/// Completes on SIGINT or SIGTERM (SIGINT only off Unix).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
