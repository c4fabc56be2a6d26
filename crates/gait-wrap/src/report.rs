//! Options, the run, and the report with its outcome.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gait_policy::Verdict;
use gait_sign::{Trace, VerifyingKey};
use gait_trace::{MAX_TRACE_BYTES, validate_trace_bytes};

use crate::child::{self, ChildRun, Spawn};
use crate::error::WrapError;

/// `boundary_contract` of every wrapper report: the child must name its
/// traces explicitly.
pub const BOUNDARY_CONTRACT: &str = "explicit_trace_reference";
/// The error when the child announced no trace.
pub const MISSING_TRACE_ERROR: &str = "child command did not emit a Gait trace reference; wrappers require an explicit Gait interception seam";
/// The error when `enforce` found an invalid trace.
pub const INVALID_TRACE_ERROR: &str =
    "child command emitted an invalid Gait trace artifact; enforce mode fails closed";

/// Which wrapper runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `gait test`: observe, the child's exit code decides.
    Test,
    /// `gait enforce`: verdicts decide, fail closed.
    Enforce,
    /// `gait trace`: observe, like `test`.
    Trace,
}

impl Mode {
    /// `test`, `enforce` or `trace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Enforce => "enforce",
            Mode::Trace => "trace",
        }
    }

    /// The mode named `name` (exactly).
    pub fn from_name(name: &str) -> Option<Mode> {
        [Mode::Test, Mode::Enforce, Mode::Trace]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// Why a wrapper run did not succeed, when the cause is the wrapper's
/// (a child that merely exited non-zero has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// The child could not be started (exit 1).
    ChildStartFailed,
    /// The child was still running at the deadline (exit 1).
    ChildTimedOut,
    /// Waiting for the child or reading its output failed (exit 1).
    ChildWaitFailed,
    /// The child announced no trace (exit 6).
    MissingTraceReference,
    /// `enforce`: an announced trace is invalid (exit 3).
    InvalidTraceArtifact,
}

impl FailureReason {
    /// The wire name (`child_start_failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::ChildStartFailed => "child_start_failed",
            FailureReason::ChildTimedOut => "child_timed_out",
            FailureReason::ChildWaitFailed => "child_wait_failed",
            FailureReason::MissingTraceReference => "missing_trace_reference",
            FailureReason::InvalidTraceArtifact => "invalid_trace_artifact",
        }
    }
}

/// The outcome of a run: what the `gait` process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Success (0).
    Ok,
    /// Timeout, start or wait failure, or a child killed by a signal (1).
    Internal,
    /// `enforce`: a `block` or `dry_run` verdict, or an invalid trace (3).
    PolicyBlocked,
    /// `enforce`: a `require_approval` verdict (4).
    ApprovalRequired,
    /// No trace reference (6).
    InvalidInput,
    /// The child's own non-zero exit code, passed through.
    ChildExit(u8),
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Internal => 1,
            Outcome::PolicyBlocked => 3,
            Outcome::ApprovalRequired => 4,
            Outcome::InvalidInput => 6,
            Outcome::ChildExit(c) => c,
        }
    }
}

/// How many valid traces had one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerdictCount {
    /// The verdict.
    pub verdict: Verdict,
    /// How many traces.
    pub count: u64,
}

/// What to run and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WrapOptions {
    /// The mode.
    pub mode: Mode,
    /// The child command (program and arguments, no shell).
    pub command: Vec<String>,
    /// The child's working directory, as given (also the base of relative
    /// trace paths).
    pub cwd: String,
    /// The deadline.
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL after the deadline.
    pub kill_grace: Duration,
    /// Bytes kept of each output stream (more is read and dropped; it is
    /// still scanned for references).
    pub max_output_bytes: usize,
    /// When set, every trace's signature must verify with this key.
    pub trace_key: Option<VerifyingKey<Trace>>,
}

impl WrapOptions {
    /// Options with the defaults: cwd `.`, 30 s, 2 s grace, 8 MiB per
    /// stream, no signature check.
    pub fn new(mode: Mode, command: Vec<String>) -> Self {
        Self {
            mode,
            command,
            cwd: ".".to_owned(),
            timeout: crate::DEFAULT_TIMEOUT,
            kill_grace: crate::DEFAULT_KILL_GRACE,
            max_output_bytes: crate::DEFAULT_MAX_OUTPUT_BYTES,
            trace_key: None,
        }
    }

    /// Sets the working directory.
    #[must_use]
    pub fn cwd(mut self, cwd: &str) -> Self {
        cwd.clone_into(&mut self.cwd);
        self
    }

    /// Sets the deadline.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the time between SIGTERM and SIGKILL.
    #[must_use]
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Sets the per-stream output budget.
    #[must_use]
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// Requires every trace to verify with `key`.
    #[must_use]
    pub fn trace_key(mut self, key: Option<VerifyingKey<Trace>>) -> Self {
        self.trace_key = key;
        self
    }
}

/// Parses a `--timeout` value: a Go duration (trimmed) greater than zero.
pub fn parse_timeout(text: &str) -> Result<Duration, WrapError> {
    let nanos =
        gait_digest::go_duration::parse_go_duration(text.trim()).map_err(WrapError::Timeout)?;
    if nanos <= 0 {
        return Err(WrapError::TimeoutNotPositive);
    }
    let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
    Ok(Duration::from_nanos(nanos))
}

/// What a wrapper run found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WrapReport {
    /// The mode.
    pub mode: Mode,
    /// The child command.
    pub command: Vec<String>,
    /// The working directory, as given.
    pub cwd: String,
    /// Whether the run succeeded ([`Outcome::Ok`]).
    pub ok: bool,
    /// What the process exits with.
    pub outcome: Outcome,
    /// Why it failed, when the cause is the wrapper's.
    pub failure_reason: Option<FailureReason>,
    /// The child's exit code: `None` when it exited 0 or never started,
    /// −1 when a signal ended it (or it never exited).
    pub child_exit_code: Option<i32>,
    /// The signal that ended the child.
    pub child_signal: Option<i32>,
    /// Whether the deadline passed.
    pub timed_out: bool,
    /// Wall time of the run.
    pub duration: Duration,
    /// Valid traces by verdict (allow, block, dry_run, require_approval;
    /// zero counts left out).
    pub verdict_counts: Vec<VerdictCount>,
    /// Announced trace paths, de-duplicated by text and sorted.
    pub trace_paths: Vec<String>,
    /// Announced runpack paths (listed, never opened).
    pub runpack_paths: Vec<String>,
    /// The child's standard output (up to the budget).
    pub stdout: String,
    /// The child's standard error (up to the budget).
    pub stderr: String,
    /// Invalid traces (`trace ignored: <path>: <why>`), references not
    /// taken in, truncated output.
    pub warnings: Vec<String>,
    /// The error, when there is one.
    pub error: Option<String>,
    /// Whether signatures were checked (a key was given): then every
    /// counted trace verified.
    pub signatures_checked: bool,
}

/// Runs the wrapper: the child, the references, the traces, the outcome.
pub fn run(options: &WrapOptions) -> WrapReport {
    let env = [(crate::MODE_ENV.to_owned(), options.mode.as_str().to_owned())];
    let cwd = Path::new(options.cwd.trim());
    let ran = child::run(&Spawn {
        argv: &options.command,
        cwd,
        env: &env,
        timeout: options.timeout,
        kill_grace: options.kill_grace,
        max_output_bytes: options.max_output_bytes,
    });
    evaluate(options, cwd, ran)
}

/// The trace path `text` as the wrapper opens it: relative paths are
/// relative to the child's working directory (where the child wrote them).
fn trace_location(cwd: &Path, text: &str) -> PathBuf {
    let p = Path::new(text);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

fn evaluate(options: &WrapOptions, cwd: &Path, ran: ChildRun) -> WrapReport {
    let mut warnings = Vec::new();
    let mut counts = [0u64; 4];
    let mut invalid = 0usize;
    let trace_paths: Vec<String> = ran.references.traces.iter().cloned().collect();
    for text in &trace_paths {
        let location = trace_location(cwd, text);
        let checked = gait_sign::read_regular_file_limited(&location, MAX_TRACE_BYTES as u64)
            .map_err(|e| format!("read {text}: {e}"))
            .and_then(|bytes| {
                validate_trace_bytes(&bytes, options.trace_key.as_ref())
                    .map_err(|e| format!("{text}: {e}"))
            });
        match checked {
            Ok(valid) => {
                if let Some(i) = Verdict::ALL.iter().position(|v| *v == valid.verdict) {
                    if let Some(c) = counts.get_mut(i) {
                        *c += 1;
                    }
                }
            }
            Err(why) => {
                invalid += 1;
                warnings.push(format!("trace ignored: {why}"));
            }
        }
    }
    for problem in &ran.references.problems {
        invalid += 1;
        warnings.push(format!("trace reference ignored: {problem}"));
    }
    for (name, captured) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        if captured.dropped > 0 {
            warnings.push(format!(
                "{name} truncated: {} bytes beyond the {}-byte budget were not kept",
                captured.dropped, options.max_output_bytes
            ));
        }
    }
    let verdict_counts: Vec<VerdictCount> = Verdict::ALL
        .iter()
        .zip(counts)
        .filter(|(_, c)| *c > 0)
        .map(|(v, c)| VerdictCount {
            verdict: *v,
            count: c,
        })
        .collect();
    let count = |v: Verdict| {
        verdict_counts
            .iter()
            .find(|c| c.verdict == v)
            .map_or(0, |c| c.count)
    };

    let (child_exit_code, child_signal) = exit_of(&ran);
    let enforce = options.mode == Mode::Enforce;
    let (outcome, failure_reason, error) = if let Some(e) = &ran.start_error {
        (
            Outcome::Internal,
            Some(FailureReason::ChildStartFailed),
            Some(e.clone()),
        )
    } else if ran.timed_out {
        let text = gait_digest::go_duration::format_go_duration(
            i128::try_from(options.timeout.as_nanos()).unwrap_or(i128::MAX),
        );
        (
            Outcome::Internal,
            Some(FailureReason::ChildTimedOut),
            Some(format!("child command timed out after {text}")),
        )
    } else if let Some(e) = ran.wait_error.as_ref().filter(|_| ran.status.is_none()) {
        (
            Outcome::Internal,
            Some(FailureReason::ChildWaitFailed),
            Some(e.clone()),
        )
    } else if trace_paths.is_empty() {
        (
            Outcome::InvalidInput,
            Some(FailureReason::MissingTraceReference),
            Some(MISSING_TRACE_ERROR.to_owned()),
        )
    } else if enforce && invalid > 0 {
        (
            Outcome::PolicyBlocked,
            Some(FailureReason::InvalidTraceArtifact),
            Some(INVALID_TRACE_ERROR.to_owned()),
        )
    } else if let Some(signal) = child_signal {
        (
            Outcome::Internal,
            None,
            Some(format!("child command terminated by signal {signal}")),
        )
    } else if let Some(code) = child_exit_code {
        // 1..=255 on Unix; anything else cannot pass through.
        let outcome = u8::try_from(code)
            .ok()
            .filter(|c| *c != 0)
            .map_or(Outcome::Internal, Outcome::ChildExit);
        (outcome, None, None)
    } else if enforce && (count(Verdict::Block) > 0 || count(Verdict::DryRun) > 0) {
        (Outcome::PolicyBlocked, None, None)
    } else if enforce && count(Verdict::RequireApproval) > 0 {
        (Outcome::ApprovalRequired, None, None)
    } else {
        (Outcome::Ok, None, None)
    };
    WrapReport {
        mode: options.mode,
        command: options.command.clone(),
        cwd: options.cwd.clone(),
        ok: outcome == Outcome::Ok,
        outcome,
        failure_reason,
        child_exit_code,
        child_signal,
        timed_out: ran.timed_out,
        duration: ran.elapsed,
        verdict_counts,
        trace_paths,
        runpack_paths: ran.references.runpacks.iter().cloned().collect(),
        stdout: ran.stdout.text,
        stderr: ran.stderr.text,
        warnings,
        error,
        signatures_checked: options.trace_key.is_some(),
    }
}

/// The child's exit code (`None` for 0 or no child) and signal.
fn exit_of(ran: &ChildRun) -> (Option<i32>, Option<i32>) {
    if ran.start_error.is_some() {
        return (None, None);
    }
    let Some(status) = ran.status else {
        return (Some(-1), None);
    };
    if let Some(code) = status.code() {
        return ((code != 0).then_some(code), None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        (Some(-1), status.signal())
    }
    #[cfg(not(unix))]
    {
        (Some(-1), None)
    }
}
