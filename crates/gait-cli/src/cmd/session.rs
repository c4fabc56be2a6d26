//! `gait run session start|append|status|checkpoint|compact`: session
//! journals (the journal, its lock, cache, checkpoints and chain live in
//! `gait_pack::session`).

use clap::{Args, Subcommand};
use gait_pack::session::{
    EventInput, LockConfig, SessionJournal, SessionPath, SessionStatus, SessionVerdict,
};
use serde_json::{Map, Value};

use crate::cmd::{fail, parse_csv};
use crate::exit::{Exit, failure};
use crate::output::{Out, stdout_line};

/// `gait run session …`
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Create a session journal (idempotent for the same session and run).
    #[command(
        after_help = "Examples:\n  gait run session start --journal sess/s1.journal.jsonl --session-id s1 --run-id run_s1 --json"
    )]
    Start(SessionStartArgs),
    /// Append one decision event to a session journal.
    #[command(
        after_help = "Examples:\n  gait run session append --journal sess/s1.journal.jsonl --tool tool.read --verdict allow --trace-id t1 --json"
    )]
    Append(SessionAppendArgs),
    /// Show a session journal's counters.
    #[command(
        after_help = "Examples:\n  gait run session status --journal sess/s1.journal.jsonl --json"
    )]
    Status(SessionJournalArgs),
    /// Checkpoint the new events into a runpack and rewrite the session chain.
    #[command(
        after_help = "Examples:\n  gait run session checkpoint --journal sess/s1.journal.jsonl --out cps/cp1.zip --json\n  gait verify session-chain --chain sess/s1.journal_chain.json --json"
    )]
    Checkpoint(SessionCheckpointArgs),
    /// Drop the events already covered by checkpoints.
    #[command(
        after_help = "Examples:\n  gait run session compact --journal sess/s1.journal.jsonl --dry-run --json"
    )]
    Compact(SessionCompactArgs),
}

/// The journal flag and the refused positionals every command has.
#[derive(Debug, Args)]
pub struct SessionJournalArgs {
    /// The session journal (JSONL).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<String>,
    /// Not accepted; present so that a stray argument is reported clearly.
    #[arg(hide = true, num_args = 0..)]
    pub positional: Vec<String>,
}

/// `gait run session start`
#[derive(Debug, Args)]
pub struct SessionStartArgs {
    /// The journal.
    #[command(flatten)]
    pub common: SessionJournalArgs,
    /// The session id.
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// The session's run id.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
}

/// `gait run session append`
#[derive(Debug, Args)]
pub struct SessionAppendArgs {
    /// The journal.
    #[command(flatten)]
    pub common: SessionJournalArgs,
    /// The tool.
    #[arg(long, value_name = "NAME")]
    pub tool: Option<String>,
    /// allow, block, dry_run or require_approval (any case).
    #[arg(long, value_name = "VERDICT")]
    pub verdict: Option<String>,
    /// The intent id.
    #[arg(long, value_name = "ID")]
    pub intent_id: Option<String>,
    /// The trace id.
    #[arg(long, value_name = "ID")]
    pub trace_id: Option<String>,
    /// The trace file.
    #[arg(long, value_name = "PATH")]
    pub trace_path: Option<String>,
    /// The intent digest (64 hex).
    #[arg(long, value_name = "SHA256")]
    pub intent_digest: Option<String>,
    /// The policy digest (64 hex).
    #[arg(long, value_name = "SHA256")]
    pub policy_digest: Option<String>,
    /// Comma-separated reason codes.
    #[arg(long, value_name = "CSV")]
    pub reason_codes: Option<String>,
    /// Comma-separated violations.
    #[arg(long, value_name = "CSV")]
    pub violations: Option<String>,
}

/// `gait run session checkpoint`
#[derive(Debug, Args)]
pub struct SessionCheckpointArgs {
    /// The journal.
    #[command(flatten)]
    pub common: SessionJournalArgs,
    /// Where the checkpoint runpack goes.
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// A copy of the chain (reported as chain_path).
    #[arg(long, value_name = "PATH")]
    pub chain_out: Option<String>,
}

/// `gait run session compact`
#[derive(Debug, Args)]
pub struct SessionCompactArgs {
    /// The journal.
    #[command(flatten)]
    pub common: SessionJournalArgs,
    /// Write the compacted journal here instead of in place.
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// Report without writing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The lock configuration from `GAIT_SESSION_LOCK_*`.
pub fn lock_config() -> LockConfig {
    LockConfig::from_vars(|k| std::env::var(k).ok())
}

fn trimmed(v: Option<&String>) -> &str {
    v.map_or("", |s| s.trim())
}

fn journal(path: &SessionPath) -> SessionJournal {
    SessionJournal::new(path.clone())
        .with_lock_config(lock_config())
        .with_producer_version(crate::cmd::version::VERSION)
}

fn status_json(s: &SessionStatus) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

/// Runs `gait run session …`.
pub fn run(out: &Out, cmd: &SessionCommand) -> Exit {
    let (op, common) = match cmd {
        SessionCommand::Start(a) => ("start", &a.common),
        SessionCommand::Append(a) => ("append", &a.common),
        SessionCommand::Status(a) => ("status", a),
        SessionCommand::Checkpoint(a) => ("checkpoint", &a.common),
        SessionCommand::Compact(a) => ("compact", &a.common),
    };
    let result = if common.positional.is_empty() {
        run_op(cmd, trimmed(common.journal.as_ref()))
    } else {
        Err((
            "unexpected positional arguments".to_owned(),
            Exit::InvalidInput,
        ))
    };
    match result {
        Ok((fields, text)) => {
            if out.is_json() {
                let mut m = Map::new();
                m.insert("ok".into(), Value::Bool(true));
                m.insert("operation".into(), Value::String(op.to_owned()));
                m.extend(fields);
                return out.json(m, Exit::Ok);
            }
            for line in text {
                stdout_line(&line);
            }
            Exit::Ok
        }
        Err((msg, exit)) => {
            let mut m = Map::new();
            m.insert("operation".into(), Value::String(op.to_owned()));
            fail(out, &format!("run session {op}"), m, &msg, exit)
        }
    }
}

type OpResult = Result<(Map<String, Value>, Vec<String>), (String, Exit)>;

fn path(text: &str) -> Result<SessionPath, (String, Exit)> {
    SessionPath::new(text).map_err(failure)
}

fn status_lines(label: &str, s: &SessionStatus, journal: &str) -> Vec<String> {
    vec![
        format!(
            "session {label}: session_id={} run_id={} events={} checkpoints={} last_sequence={}",
            s.session_id, s.run_id, s.event_count, s.checkpoint_count, s.last_sequence
        ),
        format!("journal: {journal}"),
    ]
}

fn run_op(cmd: &SessionCommand, journal_text: &str) -> OpResult {
    let mut m = Map::new();
    match cmd {
        SessionCommand::Start(a) => {
            let (sid, rid) = (trimmed(a.session_id.as_ref()), trimmed(a.run_id.as_ref()));
            if journal_text.is_empty() || sid.is_empty() || rid.is_empty() {
                return Err((
                    "--journal, --session-id, and --run-id are required".into(),
                    Exit::InvalidInput,
                ));
            }
            let p = path(journal_text)?;
            let status = journal(&p).start(sid, rid).map_err(failure)?;
            m.insert("journal".into(), Value::String(p.as_str().to_owned()));
            m.insert("status".into(), status_json(&status));
            Ok((m, status_lines("start", &status, p.as_str())))
        }
        SessionCommand::Status(_) => {
            if journal_text.is_empty() {
                return Err(("--journal is required".into(), Exit::InvalidInput));
            }
            let p = path(journal_text)?;
            let status = journal(&p).status().map_err(failure)?;
            m.insert("journal".into(), Value::String(p.as_str().to_owned()));
            m.insert("status".into(), status_json(&status));
            Ok((m, status_lines("status", &status, p.as_str())))
        }
        SessionCommand::Append(a) => {
            let (tool, verdict) = (trimmed(a.tool.as_ref()), trimmed(a.verdict.as_ref()));
            if journal_text.is_empty() || tool.is_empty() || verdict.is_empty() {
                return Err((
                    "--journal, --tool, and --verdict are required".into(),
                    Exit::InvalidInput,
                ));
            }
            let verdict = SessionVerdict::parse(verdict).map_err(failure)?;
            let p = path(journal_text)?;
            let input = EventInput::new(tool, verdict)
                .with_trace(
                    trimmed(a.intent_id.as_ref()),
                    trimmed(a.trace_id.as_ref()),
                    trimmed(a.trace_path.as_ref()),
                )
                .with_digests(
                    trimmed(a.intent_digest.as_ref()),
                    trimmed(a.policy_digest.as_ref()),
                )
                .with_reasons(
                    parse_csv(a.reason_codes.as_deref()),
                    parse_csv(a.violations.as_deref()),
                );
            let event = journal(&p).append(&input).map_err(failure)?;
            m.insert("journal".into(), Value::String(p.as_str().to_owned()));
            m.insert(
                "event".into(),
                serde_json::to_value(&event).unwrap_or(Value::Null),
            );
            Ok((
                m,
                vec![format!(
                    "session append: sequence={} tool=redacted verdict={}",
                    event.sequence, event.verdict
                )],
            ))
        }
        SessionCommand::Checkpoint(a) => {
            let out_text = trimmed(a.out.as_ref());
            if journal_text.is_empty() || out_text.is_empty() {
                return Err((
                    "--journal and --out are required".into(),
                    Exit::InvalidInput,
                ));
            }
            let p = path(journal_text)?;
            let out_path = path(out_text)?;
            let chain_out = match trimmed(a.chain_out.as_ref()) {
                "" => None,
                c => Some(path(c)?),
            };
            let done = journal(&p)
                .checkpoint(&out_path, chain_out.as_ref())
                .map_err(failure)?;
            let chain = done.chain_path.to_string_lossy().into_owned();
            let cp = &done.checkpoint;
            let lines = vec![
                format!(
                    "session checkpoint: index={} runpack=redacted range={}..{}",
                    cp.checkpoint_index, cp.sequence_start, cp.sequence_end
                ),
                format!("session chain: {chain}"),
            ];
            m.insert("journal".into(), Value::String(p.as_str().to_owned()));
            m.insert("chain_path".into(), Value::String(chain));
            m.insert(
                "checkpoint".into(),
                serde_json::to_value(cp).unwrap_or(Value::Null),
            );
            Ok((m, lines))
        }
        SessionCommand::Compact(a) => {
            if journal_text.is_empty() {
                return Err(("--journal is required".into(), Exit::InvalidInput));
            }
            let p = path(journal_text)?;
            let out_path = match trimmed(a.out.as_ref()) {
                "" => None,
                o => Some(path(o)?),
            };
            let c = journal(&p)
                .compact(out_path.as_ref(), a.dry_run)
                .map_err(failure)?;
            let lines = vec![
                format!(
                    "session compact: compacted={} dry_run={} events={}->{} checkpoints={} bytes={}->{}",
                    c.compacted,
                    c.dry_run,
                    c.events_before,
                    c.events_after,
                    c.checkpoints,
                    c.bytes_before,
                    c.bytes_after
                ),
                format!("journal: {}", c.journal_path),
                format!("output: {}", c.output_path),
            ];
            m.insert("journal".into(), Value::String(p.as_str().to_owned()));
            m.insert(
                "compaction".into(),
                serde_json::to_value(&c).unwrap_or(Value::Null),
            );
            Ok((m, lines))
        }
    }
}
