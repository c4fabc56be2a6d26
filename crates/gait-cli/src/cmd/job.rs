//! `gait job submit|status|checkpoint add|list|show|pause|stop|cancel|
//! approve|resume|inspect`: the durable job runtime. The state machine, the
//! resume gates and the commit protocol live in `gait_job`; this file
//! parses, calls and prints (`gait.job.output` 1.0.0).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gait_job::{
    CheckpointRequest, DEFAULT_JOB_ROOT, JobCheckpoint, JobError, JobEvent, JobRuntime, JobState,
    Operation, PolicyInput, ResumeRequest, SubmitRequest,
};
use serde::Serialize;

use crate::exit::{Exit, ExitClass as _};
use crate::output::{Out, stderr_line, stdout_line};

/// `gait job …`
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Submit a new job (running, revision 1).
    #[command(
        after_help = "Examples:\n  gait job submit --id job_1 --identity worker_1 --policy ./policy.yaml --env-fingerprint envfp:ci --json"
    )]
    Submit(SubmitArgs),
    /// Print a job's state.
    #[command(after_help = "Examples:\n  gait job status --id job_1 --json")]
    Status(JobArgs),
    /// Add, list and show checkpoints.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait job checkpoint add --id job_1 --type decision-needed --summary \"ship?\" --required-action \"approve deploy\" --json\n  gait job checkpoint list --id job_1 --json"
    )]
    Checkpoint(CheckpointCommand),
    /// Pause a running job (or one waiting for a decision).
    #[command(after_help = "Examples:\n  gait job pause --id job_1 --actor ops --json")]
    Pause(ActorArgs),
    /// Emergency-stop a job: final, only `cancel` is accepted afterwards.
    #[command(after_help = "Examples:\n  gait job stop --id job_1 --actor secops --json")]
    Stop(ActorArgs),
    /// Cancel a job (also an emergency-stopped one).
    #[command(after_help = "Examples:\n  gait job cancel --id job_1 --actor ops --json")]
    Cancel(ActorArgs),
    /// Record an approval (one per decision-needed checkpoint, given after it).
    #[command(
        after_help = "Examples:\n  gait job approve --id job_1 --actor reviewer --reason lgtm --json"
    )]
    Approve(ApproveArgs),
    /// Resume a paused, blocked or decision-needed job through the resume gates.
    #[command(
        after_help = "Examples:\n  gait job resume --id job_1 --env-fingerprint envfp:ci --policy ./policy.yaml --json"
    )]
    Resume(Box<ResumeArgs>),
    /// Print a job's state and every event.
    #[command(after_help = "Examples:\n  gait job inspect --id job_1 --json")]
    Inspect(JobArgs),
}

/// `gait job checkpoint …`
#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Add a checkpoint (plan, progress, decision-needed, blocked, completed).
    #[command(
        after_help = "Examples:\n  gait job checkpoint add --id job_1 --type progress --summary \"tests pass\" --json"
    )]
    Add(CheckpointAddArgs),
    /// List the checkpoints, sorted by id.
    #[command(after_help = "Examples:\n  gait job checkpoint list --id job_1 --json")]
    List(JobArgs),
    /// Show one checkpoint.
    #[command(
        after_help = "Examples:\n  gait job checkpoint show --id job_1 --checkpoint cp_0001 --json"
    )]
    Show(ShowArgs),
}

/// The flags of every job command.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// The job id.
    #[arg(long, allow_hyphen_values = true, value_name = "ID")]
    pub id: Option<String>,
    /// The job root.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_JOB_ROOT)]
    pub root: String,
    /// Refused: job commands take no positional arguments.
    #[arg(hide = true)]
    pub positional: Vec<String>,
}

/// A job command with an actor.
#[derive(Debug, Clone, Args)]
pub struct ActorArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Who (recorded on the event).
    #[arg(long, allow_hyphen_values = true, value_name = "NAME")]
    pub actor: Option<String>,
}

/// `gait job submit`
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Who submits.
    #[arg(long, allow_hyphen_values = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// The identity bound to the job (default: the actor).
    #[arg(long, allow_hyphen_values = true, value_name = "IDENTITY")]
    pub identity: Option<String>,
    /// The environment fingerprint (default: this machine's).
    #[arg(long, allow_hyphen_values = true, value_name = "FP")]
    pub env_fingerprint: Option<String>,
    /// A policy file to bind (its digest and path).
    #[arg(long, value_name = "YAML")]
    pub policy: Option<String>,
    /// A policy digest (64 hex, optional sha256: prefix; must match --policy).
    #[arg(long, value_name = "SHA256")]
    pub policy_digest: Option<String>,
    /// A policy reference (default: the cleaned --policy path).
    #[arg(long, allow_hyphen_values = true, value_name = "REF")]
    pub policy_ref: Option<String>,
}

/// `gait job checkpoint add`
#[derive(Debug, Clone, Args)]
pub struct CheckpointAddArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// plan, progress, decision-needed, blocked or completed.
    #[arg(
        long = "type",
        allow_hyphen_values = true,
        value_name = "TYPE",
        default_value = "progress"
    )]
    pub checkpoint_type: String,
    /// What happened (at most 512 bytes).
    #[arg(long, allow_hyphen_values = true, value_name = "TEXT")]
    pub summary: Option<String>,
    /// What must be decided (decision-needed only, required there).
    #[arg(long, allow_hyphen_values = true, value_name = "TEXT")]
    pub required_action: Option<String>,
    /// Who.
    #[arg(long, allow_hyphen_values = true, value_name = "NAME")]
    pub actor: Option<String>,
}

/// `gait job checkpoint show`
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// The checkpoint id (cp_NNNN).
    #[arg(long, allow_hyphen_values = true, value_name = "ID")]
    pub checkpoint: Option<String>,
}

/// `gait job approve`
#[derive(Debug, Clone, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// The approver (required).
    #[arg(long, allow_hyphen_values = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Why.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "TEXT",
        default_value = "approved"
    )]
    pub reason: String,
}

/// `gait job resume`
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Who resumes.
    #[arg(long, allow_hyphen_values = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// The identity resuming (must match the bound identity).
    #[arg(long, allow_hyphen_values = true, value_name = "IDENTITY")]
    pub identity: Option<String>,
    /// Why.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "TEXT",
        default_value = "resume"
    )]
    pub reason: String,
    /// The current environment fingerprint (default: this machine's).
    #[arg(long, allow_hyphen_values = true, value_name = "FP")]
    pub env_fingerprint: Option<String>,
    /// Resume although the fingerprint changed (recorded).
    #[arg(long)]
    pub allow_env_mismatch: bool,
    /// The policy to evaluate (required for a policy-bound job, or --policy-digest).
    #[arg(long, value_name = "YAML")]
    pub policy: Option<String>,
    /// A policy digest (64 hex, optional sha256: prefix).
    #[arg(long, value_name = "SHA256")]
    pub policy_digest: Option<String>,
    /// A policy reference.
    #[arg(long, allow_hyphen_values = true, value_name = "REF")]
    pub policy_ref: Option<String>,
    /// Where the identity was validated (recorded; default revocation_list with a list).
    #[arg(long, allow_hyphen_values = true, value_name = "SOURCE")]
    pub identity_validation_source: Option<String>,
    /// A revocation list (JSON array, {revoked_identities|identities}, or lines).
    #[arg(long, value_name = "FILE")]
    pub identity_revocations: Option<String>,
    /// The identity is revoked.
    #[arg(long)]
    pub identity_revoked: bool,
}

/// `gait.job.output` 1.0.0.
#[derive(Debug, Serialize)]
struct JobOutput<'a> {
    schema_id: &'static str,
    schema_version: &'static str,
    ok: bool,
    operation: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    job_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<&'a JobState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<&'a JobCheckpoint>,
    #[serde(skip_serializing_if = "<[JobCheckpoint]>::is_empty")]
    checkpoints: &'a [JobCheckpoint],
    #[serde(skip_serializing_if = "<[JobEvent]>::is_empty")]
    events: &'a [JobEvent],
    #[serde(skip_serializing_if = "str::is_empty")]
    error: &'a str,
}

/// What a command produced.
#[derive(Debug, Default)]
struct Done {
    job: Option<JobState>,
    checkpoint: Option<JobCheckpoint>,
    checkpoints: Vec<JobCheckpoint>,
    events: Vec<JobEvent>,
}

enum Failed {
    Usage(&'static str),
    Job(JobError),
}

impl From<JobError> for Failed {
    fn from(e: JobError) -> Self {
        Failed::Job(e)
    }
}

fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or_default().trim().to_owned()
}

fn runtime(a: &JobArgs) -> Result<JobRuntime, Failed> {
    if !a.positional.is_empty() {
        return Err(Failed::Usage("unexpected positional arguments"));
    }
    Ok(JobRuntime::new(a.root.trim()))
}

fn policy_input(path: &Option<String>, digest: &Option<String>, r: &Option<String>) -> PolicyInput {
    PolicyInput {
        path: Some(text(path))
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        digest: Some(text(digest)).filter(|d| !d.is_empty()),
        reference: Some(text(r)).filter(|d| !d.is_empty()),
    }
}

fn mutated(applied: gait_job::Applied) -> Done {
    Done {
        job: Some(applied.state),
        checkpoint: applied.checkpoint,
        ..Done::default()
    }
}

/// Runs a `job` subcommand.
pub fn run(out: &Out, cmd: &JobCommand) -> Exit {
    let (operation, args) = match cmd {
        JobCommand::Submit(a) => ("submit", &a.job),
        JobCommand::Status(a) => ("status", a),
        JobCommand::Checkpoint(CheckpointCommand::Add(a)) => ("checkpoint add", &a.job),
        JobCommand::Checkpoint(CheckpointCommand::List(a)) => ("checkpoint list", a),
        JobCommand::Checkpoint(CheckpointCommand::Show(a)) => ("checkpoint show", &a.job),
        JobCommand::Pause(a) => ("pause", &a.job),
        JobCommand::Stop(a) => ("stop", &a.job),
        JobCommand::Cancel(a) => ("cancel", &a.job),
        JobCommand::Approve(a) => ("approve", &a.job),
        JobCommand::Resume(a) => ("resume", &a.job),
        JobCommand::Inspect(a) => ("inspect", a),
    };
    let id = text(&args.id);
    match execute(cmd, args, &id) {
        Ok(done) => print_done(out, operation, &id, &done),
        Err(f) => {
            let (msg, exit) = match f {
                Failed::Usage(m) => (m.to_owned(), Exit::InvalidInput),
                Failed::Job(e) => (e.to_string(), e.exit()),
            };
            if out.is_json() {
                out.json_typed(
                    &JobOutput {
                        schema_id: "gait.job.output",
                        schema_version: "1.0.0",
                        ok: false,
                        operation,
                        job_id: &id,
                        job: None,
                        checkpoint: None,
                        checkpoints: &[],
                        events: &[],
                        error: &msg,
                    },
                    exit,
                )
            } else {
                stderr_line(&format!("job {operation} error: {msg}"));
                exit
            }
        }
    }
}

fn execute(cmd: &JobCommand, args: &JobArgs, id: &str) -> Result<Done, Failed> {
    let jobs = runtime(args)?;
    let actor_op = |a: &ActorArgs, op: fn(&str) -> Operation| -> Result<Done, Failed> {
        Ok(mutated(jobs.apply(id, &op(&text(&a.actor)))?))
    };
    Ok(match cmd {
        JobCommand::Submit(a) => {
            let state = jobs.submit(&SubmitRequest {
                job_id: id.to_owned(),
                actor: text(&a.actor),
                identity: text(&a.identity),
                environment_fingerprint: text(&a.env_fingerprint),
                policy: policy_input(&a.policy, &a.policy_digest, &a.policy_ref),
                producer_version: crate::cmd::version::VERSION.to_owned(),
            })?;
            Done {
                job: Some(state),
                ..Done::default()
            }
        }
        JobCommand::Status(_) => Done {
            job: Some(jobs.status(id)?),
            ..Done::default()
        },
        JobCommand::Checkpoint(CheckpointCommand::Add(a)) => {
            jobs.job_dir(id)?;
            mutated(jobs.add_checkpoint(
                id,
                &CheckpointRequest {
                    checkpoint_type: a.checkpoint_type.clone(),
                    summary: text(&a.summary),
                    required_action: text(&a.required_action),
                    actor: text(&a.actor),
                },
            )?)
        }
        JobCommand::Checkpoint(CheckpointCommand::List(_)) => Done {
            checkpoints: jobs.checkpoints(id)?,
            ..Done::default()
        },
        JobCommand::Checkpoint(CheckpointCommand::Show(a)) => Done {
            checkpoint: Some(jobs.checkpoint(id, &text(&a.checkpoint))?),
            ..Done::default()
        },
        JobCommand::Pause(a) => actor_op(a, Operation::pause)?,
        JobCommand::Stop(a) => actor_op(a, Operation::stop)?,
        JobCommand::Cancel(a) => actor_op(a, Operation::cancel)?,
        JobCommand::Approve(a) => {
            mutated(jobs.apply(id, &Operation::approve(&text(&a.actor), &a.reason))?)
        }
        JobCommand::Resume(a) => mutated(
            jobs.resume(
                id,
                &ResumeRequest {
                    actor: text(&a.actor),
                    identity: text(&a.identity),
                    reason: a.reason.clone(),
                    environment_fingerprint: text(&a.env_fingerprint),
                    allow_env_mismatch: a.allow_env_mismatch,
                    policy: policy_input(&a.policy, &a.policy_digest, &a.policy_ref),
                    identity_validation_source: text(&a.identity_validation_source),
                    identity_revocations: Some(text(&a.identity_revocations))
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from),
                    identity_revoked: a.identity_revoked,
                },
            )?,
        ),
        JobCommand::Inspect(_) => {
            let (state, events) = jobs.inspect(id)?;
            Done {
                job: Some(state),
                events,
                ..Done::default()
            }
        }
    })
}

fn print_done(out: &Out, operation: &'static str, id: &str, done: &Done) -> Exit {
    if out.is_json() {
        return out.json_typed(
            &JobOutput {
                schema_id: "gait.job.output",
                schema_version: "1.0.0",
                ok: true,
                operation,
                job_id: id,
                job: done.job.as_ref(),
                checkpoint: done.checkpoint.as_ref(),
                checkpoints: &done.checkpoints,
                events: &done.events,
                error: "",
            },
            Exit::Ok,
        );
    }
    if let Some(j) = &done.job {
        stdout_line(&format!(
            "job {operation}: id={} status={} stop_reason={} reason_code={}",
            j.job_id, j.status, j.stop_reason, j.status_reason_code
        ));
    }
    if let Some(c) = &done.checkpoint {
        stdout_line(&format!(
            "checkpoint: {} ({})",
            c.checkpoint_id, c.checkpoint_type
        ));
    }
    match operation {
        "checkpoint list" => stdout_line(&format!("checkpoints={}", done.checkpoints.len())),
        "inspect" => stdout_line(&format!("events={}", done.events.len())),
        _ => {}
    }
    Exit::Ok
}
