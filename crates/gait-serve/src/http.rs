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
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::error::ServeError;
use crate::service::DecisionService;
use crate::stdio::error_response;

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
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// The body size cap.
    pub max_request_bytes: usize,
    /// Status codes of decisions.
    pub verdict_status: VerdictStatus,
    /// A bearer token every evaluate request must carry.
    pub auth_token: Option<String>,
    /// The `service` of `/healthz`.
    pub service_name: String,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// The most connections served at once; further clients wait in the
    /// listen backlog.
    pub max_connections: usize,
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
            verdict_status: VerdictStatus::Compat,
            auth_token: None,
            service_name: "gait.serve".into(),
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            eval_inline: false,
        }
    }
}

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

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(false));
    m.insert("error".into(), Value::String(message.to_owned()));
    json_response(status, &m)
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone, Copy)]
enum Framing {
    Json,
    Sse,
    Ndjson,
}

async fn evaluate(
    service: Arc<DecisionService>,
    cfg: Arc<HttpConfig>,
    req: Request<Incoming>,
    framing: Framing,
) -> Response<Full<Bytes>> {
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
        if !constant_time_eq(given.trim().as_bytes(), token.trim().as_bytes()) {
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
    let collected = tokio::time::timeout(
        cfg.body_timeout,
        Limited::new(req.into_body(), max).collect(),
    )
    .await;
    let Ok(collected) = collected else {
        return error(
            StatusCode::REQUEST_TIMEOUT,
            "request body not received in time",
        );
    };
    let body = match collected {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &ServeError::TooLarge(max).to_string(),
                );
            }
            return error(StatusCode::BAD_REQUEST, &format!("read request: {e}"));
        }
    };
    // The evaluation blocks (it writes and fsyncs the trace). By default
    // it runs in place, tokio moving this worker's other tasks elsewhere
    // (no per-request thread handoff as with `spawn_blocking`); with
    // `eval_inline` it simply runs on the worker (fastest when fsync is
    // cheap). Being synchronous, a started decision completes, trace
    // included, even if the client has gone.
    let run = move || service.handle_request(&body);
    let result = if cfg.eval_inline {
        run()
    } else {
        tokio::task::block_in_place(run)
    };
    let eval = match result {
        Ok(eval) => eval,
        Err(e) => return json_response(status_of(e.http_status()), &error_response(&e)),
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

async fn route(
    service: Arc<DecisionService>,
    cfg: Arc<HttpConfig>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let framing = match path.as_str() {
        "/healthz" => {
            if method != Method::GET {
                return Ok(error(StatusCode::METHOD_NOT_ALLOWED, "expected GET"));
            }
            let body = json!({"ok": true, "service": cfg.service_name});
            let m = body.as_object().cloned().unwrap_or_default();
            return Ok(json_response(StatusCode::OK, &m));
        }
        "/v1/evaluate" => Framing::Json,
        "/v1/evaluate/sse" => Framing::Sse,
        "/v1/evaluate/stream" => Framing::Ndjson,
        _ => return Ok(error(StatusCode::NOT_FOUND, "not found")),
    };
    if method != Method::POST {
        return Ok(error(StatusCode::METHOD_NOT_ALLOWED, "expected POST"));
    }
    Ok(evaluate(service, cfg, req, framing).await)
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops
/// accepting, lets open connections finish their in-flight requests (at
/// most `drain` long) and returns.
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
    let cfg = Arc::new(cfg);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
        let svc_service = Arc::clone(&service);
        let svc_cfg = Arc::clone(&cfg);
        let svc = service_fn(move |req| route(Arc::clone(&svc_service), Arc::clone(&svc_cfg), req));
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(cfg.header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that disconnects or sends garbage only ends its own
            // connection.
            let _ = conn.await;
            drop(permit);
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
