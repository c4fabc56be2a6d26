//! Command-line syntax (clap derive) and its compatibility shims.

use clap::{Args, Parser, Subcommand};

pub use crate::key_args::{SigningKeyArgs, VerifyKeyArgs};

/// The `gait` command line.
#[derive(Debug, Parser)]
#[command(
    name = "gait",
    after_help = "Examples:\n  gait demo\n  gait verify run_demo\n  gait regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml\n  gait doctor --json",
    about = "Policy gate and evidence layer for AI agents' tool calls",
    disable_version_flag = true,
    disable_help_subcommand = true,
    // Go's `flag` package lets a repeated flag override the earlier value.
    args_override_self = true
)]
pub struct Cli {
    // One flag for every command, accepted before or after the
    // subcommand. The MCP protocol proxy then writes its diagnostics as
    // JSON lines on standard error; `serve` prints its startup line as
    // JSON; hooks always print JSON.
    /// Emit JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prints the version of this gait binary.
    #[command(after_help = "Examples:\n  gait version\n  gait version --json")]
    Version(VersionArgs),
    /// Manage Ed25519 signing keys.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait keys init\n  gait keys verify --private-key gait-out/keys/gait_private.key"
    )]
    Keys(KeysCommand),
    /// Verify signed gate traces.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait trace verify trace_<id>.json --public-key gait-out/keys/gait_public.key"
    )]
    Trace(TraceCommand),
    /// Mint a signed approval token bound to an intent and a policy.
    #[command(
        after_help = "Examples:\n  gait approve --intent-digest <sha256> --policy-digest <sha256> --ttl 30m --scope tool:tool.write --approver alice --reason-code CHG-42 --json"
    )]
    Approve(ApproveArgs),
    /// Mint and verify signed delegation tokens.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait delegate mint --delegator alice --delegate agent-1 --scope tool:tool.write --ttl 1h"
    )]
    Delegate(DelegateCommand),
    /// Create and validate gate policies.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait policy init baseline-highrisk\n  gait policy validate gait.policy.yaml --json"
    )]
    Policy(PolicyCommand),
    /// Evaluate tool calls against a policy.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait gate eval --policy gait.policy.yaml --intent intent.json --json"
    )]
    Gate(crate::cmd::gate::GateCommand),
    #[command(subcommand, name = "kill-switch")]
    #[command(
        after_help = "Examples:\n  gait kill-switch add --state ks.json --tool-name tool.exec --reason incident-4711 --json\n  gait kill-switch list --state ks.json --json\n  gait kill-switch disable --state ks.json --entry-id <id>\n  gait gate eval --policy policy.yaml --intent intent.json --kill-switch-state ks.json --json"
    )]
    KillSwitch(crate::cmd::kill_switch::KillSwitchCommand),
    /// The durable job runtime: submit, checkpoint, pause, stop, approve, resume, inspect.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait job submit --id job_1 --env-fingerprint envfp:ci --json\n  gait job checkpoint add --id job_1 --type decision-needed --summary \"ship?\" --required-action \"approve deploy\" --json\n  gait job approve --id job_1 --actor reviewer --json\n  gait job resume --id job_1 --env-fingerprint envfp:ci --json\n  gait job stop --id job_1 --actor secops --json"
    )]
    Job(crate::cmd::job::JobCommand),
    /// Build, verify, inspect and diff PackSpec v1 evidence packs.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait pack build --type run --from run_demo\n  gait pack verify ./gait-out/pack_<id>.zip"
    )]
    Pack(crate::cmd::pack::PackCommand),
    /// Voice call packs: `gait voice pack build|verify|inspect|diff` (call packs).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait voice pack build --from call_record.json --json\n  gait voice pack verify pack_<id>.zip --json"
    )]
    Voice(crate::cmd::pack::VoiceCommand),
    /// Verify a runpack offline: file hashes, manifest digest, signatures.
    #[command(
        after_help = "Examples:\n  gait demo\n  gait verify run_demo --json\n  gait verify ./gait-out/runpack_run_demo.zip --require-signature --public-key gait-out/keys/gait_public.key\n  gait verify chain --run run_demo --json\n  gait verify session-chain --chain session_chain.json --json"
    )]
    Verify(crate::cmd::runpack::VerifyArgs),
    /// Record, inspect, replay and diff runpacks; print their ticket footers.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait run record --input run_record.json\n  gait run replay run_demo --json"
    )]
    Run(crate::cmd::runpack::RunCommand),
    /// Record, verify and print the offline demo runpack.
    #[command(after_help = "Examples:\n  gait demo\n  gait demo --json")]
    Demo(crate::cmd::runpack::DemoArgs),
    /// `gait verify chain` (reached through `verify chain`).
    #[command(
        name = "verify-chain",
        hide = true,
        after_help = "Examples:\n  gait verify chain --run run_demo --json\n  gait verify chain --run run_demo --trace trace.json --pack pack.zip --public-key gait_public.key --json",
        override_usage = "gait verify chain --run <RUN_ID|PATH> [--trace <PATH>] [--pack <PATH>] [OPTIONS]"
    )]
    VerifyChain(crate::cmd::verify_chain::VerifyChainArgs),
    /// `gait verify session-chain` (reached through `verify session-chain`).
    #[command(
        name = "verify-session-chain",
        hide = true,
        after_help = "Examples:\n  gait verify session-chain --chain sessions/session_chain.json --json\n  gait verify session-chain sessions/session_chain.json --profile strict --public-key gait_public.key",
        override_usage = "gait verify session-chain --chain <PATH> [OPTIONS]"
    )]
    VerifySessionChain(crate::cmd::verify_chain::VerifySessionChainArgs),
    /// MCP stdio proxy: relay a server, enforce the policy on tools/call (temporary name of `mcp proxy -- <cmd>`).
    #[command(
        name = "mcp-proxy",
        hide = true,
        after_help = "Examples:\n  gait mcp proxy --policy policy.yaml -- npx -y @modelcontextprotocol/server-filesystem .\n  gait mcp proxy --policy policy.yaml --key-mode prod --private-key k/gait_private.key --trace-out gait-out/traces --hide-blocked-tools -- python3 server.py",
        override_usage = "gait mcp proxy --policy <PATH> [OPTIONS] -- <SERVER_COMMAND>..."
    )]
    McpProxy(crate::cmd::mcp_proxy::McpProtocolProxyArgs),
    /// Sign and verify release directories (checksums, signatures, provenance).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait keys init --role release --out-dir release-keys --json\n  gait release sign --private-key release-keys/gait_private.key dist/ --json\n  gait release verify --public-key release-keys/gait_public.key dist/ --json"
    )]
    Release(crate::cmd::release::ReleaseCommand),
    /// Turn runpacks into regression fixtures and grade them in CI (exit 5 on regression).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml\n  gait regress run --json"
    )]
    Regress(crate::cmd::regress::RegressCommand),
    /// Write a capture receipt for a runpack or gate trace (input to regress add).
    #[command(
        after_help = "Examples:\n  gait demo\n  gait capture --from run_demo --json\n  gait regress add --from ./gait-out/capture.json"
    )]
    Capture(crate::cmd::regress::CaptureArgs),
    /// Write a starter repo policy (.gait.yaml) from a built-in template.
    #[command(
        after_help = "Examples:\n  gait init\n  gait init --template baseline-mediumrisk --json\n  gait init --out policies/gait.yaml --force"
    )]
    Init(crate::cmd::onboard::InitArgs),
    /// Validate the repo policy and print readiness findings and next commands.
    #[command(after_help = "Examples:\n  gait check --json\n  gait check --policy .gait.yaml")]
    Check(crate::cmd::onboard::CheckArgs),
    /// Check the local install and project: writable dirs, keys, policy, production readiness.
    #[command(
        after_help = "Examples:\n  gait doctor --json\n  gait doctor --production-readiness --json\n  gait doctor --key-mode prod --private-key gait-out/keys/gait_private.key"
    )]
    Doctor(crate::cmd::onboard::DoctorArgs),
    /// The MCP decision service (proxy, bridge, verify, serve) and the MCP protocol proxy.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait mcp proxy --policy policy.yaml --call tool_call.json --json\n  gait mcp proxy --policy policy.yaml --key-mode prod --private-key k/gait_private.key -- npx -y @modelcontextprotocol/server-filesystem .\n  gait mcp verify --policy policy.yaml --server server.json --json"
    )]
    Mcp(crate::cmd::mcp::McpCommand),
    /// Serve decisions over HTTP/1.1 (loopback by default) or JSON lines.
    #[command(
        after_help = "Examples:\n  gait serve --policy policy.yaml\n  gait serve --policy policy.yaml --listen 127.0.0.1:9000 --trace-dir gait-out/traces\n  gait serve --policy policy.yaml --stdio"
    )]
    Serve(Box<crate::cmd::mcp::ServeArgs>),
    /// Run a Gait-aware agent command and summarize the traces it announces (observe; exit = the child's).
    #[command(
        after_help = "The child must print `trace_path=<file>` for every trace it gets from `gait gate eval`.\n\nExamples:\n  gait test --json -- ./agent.sh\n  gait test --timeout 2m --cwd agent -- python3 run_agent.py",
        override_usage = "gait test [--cwd DIR] [--timeout DUR] [--public-key PATH] [--json] -- <COMMAND>..."
    )]
    Test(crate::cmd::wrap::WrapArgs),
    /// Run a Gait-aware agent command and fail unless every trace it announces is valid and allowed (3 block/dry_run, 4 approval).
    #[command(
        after_help = "The child must print `trace_path=<file>` for every trace it gets from `gait gate eval`; no trace, an invalid trace, or (with a key) an unverified trace fails closed.\n\nExamples:\n  gait enforce --json -- ./agent.sh\n  gait enforce --public-key gait-out/keys/gait_public.key -- ./agent.sh",
        override_usage = "gait enforce [--cwd DIR] [--timeout DUR] [--public-key PATH] [--json] -- <COMMAND>..."
    )]
    Enforce(crate::cmd::wrap::WrapArgs),
    /// `gait trace [flags] -- <command>` (reached through `trace … --`).
    #[command(
        name = "trace-wrap",
        hide = true,
        after_help = "Examples:\n  gait trace --json -- ./agent.sh",
        override_usage = "gait trace [--cwd DIR] [--timeout DUR] [--public-key PATH] [--json] -- <COMMAND>..."
    )]
    TraceWrap(crate::cmd::wrap::WrapArgs),
    /// Pre-tool-use hooks that fail closed (Claude Code, generic).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait hook claude-code --policy policy.yaml < pre_tool_use.json\n  gait hook pre-tool --policy policy.yaml < tool_call.json"
    )]
    Hook(crate::cmd::hook::HookCommand),
    /// Sign an approved-script entry into a registry (pre-approves an exact script).
    #[command(
        name = "approve-script",
        after_help = "Examples:\n  gait approve-script --policy policy.yaml --intent script_intent.json --registry approved_scripts.json --approver secops@example.com --ttl 168h --scope risk:high --key-mode prod --private-key approval_private.key --json"
    )]
    ApproveScript(crate::cmd::scripts::ApproveScriptArgs),
    /// List the entries of an approved-script registry (signatures are not checked).
    #[command(
        name = "list-scripts",
        after_help = "Examples:\n  gait list-scripts --registry approved_scripts.json --json"
    )]
    ListScripts(crate::cmd::scripts::ListScriptsArgs),
    /// Upgrade a runpack to the current encoding (re-recorded, unsigned, verified).
    #[command(
        after_help = "Examples:\n  gait migrate --input ./old/runpack_run_1.zip --out ./gait-out/runpack_run_1_v1.zip --json\n  gait migrate run_demo"
    )]
    Migrate(crate::cmd::migrate::MigrateArgs),
    /// Install, list and verify signed policy packs (gait.registry.pack).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  gait registry install --source pack.json --public-key registry_public.key --pin sha256:<digest> --json\n  gait registry list --json\n  gait registry verify --path ~/.gait/registry/<name>/<version>/<digest>/registry_pack.json --public-key registry_public.key"
    )]
    Registry(crate::cmd::registry::RegistryCommand),
}

/// `gait approve`
#[derive(Debug, Args)]
#[command(mut_arg("key_mode", |a| a.default_value("dev")))]
pub struct ApproveArgs {
    /// SHA-256 hex digest of the normalized intent being approved.
    #[arg(long, value_name = "SHA256")]
    pub intent_digest: Option<String>,
    /// SHA-256 hex digest of the policy the approval is bound to.
    #[arg(long, value_name = "SHA256")]
    pub policy_digest: Option<String>,
    /// Digest binding the approval to the intent's delegation, if delegated.
    #[arg(long, value_name = "SHA256")]
    pub delegation_binding_digest: Option<String>,
    /// How long the token is valid, as a Go duration (30m, 1h, 1h30m).
    #[arg(long, allow_hyphen_values = true, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Comma-separated scopes, such as tool:tool.write,phase:apply.
    #[arg(long, value_name = "CSV")]
    pub scope: Option<String>,
    /// Who approves.
    #[arg(long, value_name = "IDENTITY")]
    pub approver: Option<String>,
    /// Why (free text, for example a change ticket).
    #[arg(long, value_name = "CODE")]
    pub reason_code: Option<String>,
    /// Largest number of targets the approval covers (0: no bound).
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub max_targets: i64,
    /// Largest number of operations the approval covers (0: no bound).
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub max_ops: i64,
    /// Token file to write (default approval_<token_id>.json).
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// Signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
}

/// `gait delegate …`
#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// Mint a signed delegation token.
    #[command(
        after_help = "Examples:\n  gait delegate mint --delegator alice --delegate agent-1 --scope tool:tool.write --ttl 1h --json"
    )]
    Mint(DelegateMintArgs),
    /// Verify a delegation token's signature, expiry and expectations.
    #[command(
        after_help = "Examples:\n  gait delegate verify --token delegation_<id>.json --public-key gait-out/keys/gait_public.key --json"
    )]
    Verify(DelegateVerifyArgs),
}

/// `gait delegate mint`
#[derive(Debug, Args)]
#[command(mut_arg("key_mode", |a| a.default_value("dev")))]
pub struct DelegateMintArgs {
    /// Who delegates.
    #[arg(long, value_name = "IDENTITY")]
    pub delegator: Option<String>,
    /// Who receives the delegated authority.
    #[arg(long, value_name = "IDENTITY")]
    pub delegate: Option<String>,
    /// Comma-separated delegated scopes.
    #[arg(long, value_name = "CSV")]
    pub scope: Option<String>,
    /// A scope class that also counts as a scope.
    #[arg(long, value_name = "CLASS")]
    pub scope_class: Option<String>,
    /// How long the token is valid, as a Go duration (30m, 1h, 1h30m).
    #[arg(long, allow_hyphen_values = true, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Bind the delegation to this intent digest.
    #[arg(long, value_name = "SHA256")]
    pub intent_digest: Option<String>,
    /// Bind the delegation to this policy digest.
    #[arg(long, value_name = "SHA256")]
    pub policy_digest: Option<String>,
    /// Token file to write (default delegation_<token_id>.json).
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// Signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
}

/// `gait delegate verify`
#[derive(Debug, Args)]
pub struct DelegateVerifyArgs {
    /// The delegation token file.
    #[arg(long, value_name = "PATH")]
    pub token: Option<String>,
    /// Expected delegator.
    #[arg(long, value_name = "IDENTITY")]
    pub delegator: Option<String>,
    /// Expected delegate.
    #[arg(long, value_name = "IDENTITY")]
    pub delegate: Option<String>,
    /// Comma-separated scopes of which the token must cover at least one.
    #[arg(long, value_name = "CSV")]
    pub scope: Option<String>,
    /// Expected intent digest (checked when the token carries one).
    #[arg(long, value_name = "SHA256")]
    pub intent_digest: Option<String>,
    /// Expected policy digest (checked when the token carries one).
    #[arg(long, value_name = "SHA256")]
    pub policy_digest: Option<String>,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// `gait policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a starter policy (baseline-lowrisk, baseline-mediumrisk, baseline-highrisk).
    #[command(
        after_help = "Examples:\n  gait policy init baseline-highrisk\n  gait policy init medium --out policies/gait.policy.yaml --force --json"
    )]
    Init(PolicyInitArgs),
    /// Load a policy strictly and report its digest.
    #[command(after_help = "Examples:\n  gait policy validate gait.policy.yaml --json")]
    Validate(PolicyValidateArgs),
    /// Evaluate one intent against one policy (no trace, no tokens).
    #[command(after_help = "Examples:\n  gait policy test gait.policy.yaml intent.json --json")]
    Test(PolicyTestArgs),
    /// Print a policy as normalized YAML, or rewrite the file with --write.
    #[command(
        after_help = "Examples:\n  gait policy fmt gait.policy.yaml\n  gait policy fmt gait.policy.yaml --write --json"
    )]
    Fmt(PolicyFmtArgs),
    /// Compare a candidate policy with a baseline over intent fixtures.
    #[command(
        after_help = "Examples:\n  gait policy simulate --policy candidate.yaml --baseline gait.policy.yaml --fixtures intents/ --json"
    )]
    Simulate(PolicySimulateArgs),
}

/// `gait policy fmt`
#[derive(Debug, Args)]
pub struct PolicyFmtArgs {
    /// The policy file.
    #[arg(value_name = "POLICY")]
    pub policy: Vec<String>,
    /// Write the formatted YAML back to the file (only when it changes).
    #[arg(long)]
    pub write: bool,
}

/// `gait policy simulate`
#[derive(Debug, Args)]
pub struct PolicySimulateArgs {
    /// The candidate policy.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// The baseline policy (usually the one enforced now).
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<String>,
    /// Comma-separated intent fixture files (.json) and directories (searched recursively).
    #[arg(long, value_name = "CSV")]
    pub fixtures: Option<String>,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

/// `gait policy test`
#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    /// The policy file and the intent file.
    #[arg(value_name = "POLICY INTENT", num_args = 0..)]
    pub files: Vec<String>,
}

/// `gait policy init`
#[derive(Debug, Args)]
pub struct PolicyInitArgs {
    /// The template: baseline-lowrisk, baseline-mediumrisk or baseline-highrisk (aliases: low, medium, high).
    #[arg(value_name = "TEMPLATE")]
    pub template: Vec<String>,
    /// The policy file to write.
    #[arg(long, default_value = "gait.policy.yaml", value_name = "PATH")]
    pub out: String,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `gait policy validate`
#[derive(Debug, Args)]
pub struct PolicyValidateArgs {
    /// The policy file.
    #[arg(value_name = "POLICY")]
    pub policy: Vec<String>,
}

/// `gait trace …`
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Verify a trace record's signature.
    #[command(
        after_help = "Examples:\n  gait trace verify trace_<id>.json --public-key gait-out/keys/gait_public.key --json"
    )]
    Verify(TraceVerifyArgs),
    /// Verify a trace journal directory offline: every record's signature,
    /// the hash chain, the signed checkpoints (exit 2 on any problem).
    #[command(
        name = "verify-journal",
        after_help = "Examples:\n  gait trace verify-journal gait-out/journal --public-key gait-out/keys/gait_public.key --json"
    )]
    VerifyJournal(TraceVerifyJournalArgs),
}

/// `gait trace verify-journal`
#[derive(Debug, Args)]
pub struct TraceVerifyJournalArgs {
    /// The journal directory.
    #[arg(value_name = "DIR")]
    pub dir: String,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// `gait trace verify`
#[derive(Debug, Args)]
pub struct TraceVerifyArgs {
    /// The trace file (or use --path).
    #[arg(value_name = "TRACE")]
    pub trace: Option<String>,
    /// The trace file.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Verify a trace journal directory instead (as `gait trace verify-journal DIR`).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["trace", "path"])]
    pub journal: Option<String>,
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// `gait version`
#[derive(Debug, Args)]
pub struct VersionArgs {}

/// `gait keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair and write it as base64 key files.
    #[command(
        after_help = "Examples:\n  gait keys init\n  gait keys init --out-dir gait-out/keys --prefix ci --json"
    )]
    Init(KeysInitArgs),
    /// Generate a timestamped key pair beside the existing ones.
    #[command(after_help = "Examples:\n  gait keys rotate --out-dir gait-out/keys --json")]
    Rotate(KeysRotateArgs),
    /// Check that key sources decode and that the public key matches the private key.
    #[command(
        after_help = "Examples:\n  gait keys verify --private-key gait-out/keys/gait_private.key --public-key gait-out/keys/gait_public.key --json"
    )]
    Verify(KeysVerifyArgs),
}

/// `gait keys init`
#[derive(Debug, Args)]
pub struct KeysInitArgs {
    /// Directory for the key files (created with mode 0750).
    #[arg(long, default_value = "gait-out/keys", value_name = "DIR")]
    pub out_dir: String,
    /// File name prefix: writes <prefix>_private.key and <prefix>_public.key.
    #[arg(long, default_value = "gait", value_name = "PREFIX")]
    pub prefix: String,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
    /// Record the key's role (trace, approval, delegation, release) in
    /// <prefix>_private.key.role.json beside the key.
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
}

/// `gait keys rotate`
#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    /// Directory for the key files.
    #[arg(long, default_value = "gait-out/keys", value_name = "DIR")]
    pub out_dir: String,
    /// Base prefix; the new files are <prefix>_<UTC timestamp>_{private,public}.key.
    #[arg(long, default_value = "gait", value_name = "PREFIX")]
    pub prefix: String,
    /// Record the new key's role (trace, approval, delegation, release)
    /// beside it, as `keys init --role` does.
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
}

/// `gait keys verify`
#[derive(Debug, Args)]
#[command(
    mut_arg("private_key", |a| a.help("Path to a base64 private key file")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding a base64 private key")),
)]
pub struct KeysVerifyArgs {
    /// The key pair's sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// Rewrites Go `flag` syntax that clap does not accept: a single-dash long
/// flag (`-json`, `-out-dir=x`) becomes its double-dash form when it names a
/// long flag of the command line. Everything after a bare `--` is left alone.
pub fn normalize_go_flags(args: Vec<String>) -> Vec<String> {
    let longs = long_flag_names();
    let mut out = Vec::with_capacity(args.len());
    let mut passthrough = false;
    for arg in args {
        if passthrough {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        let rewritten = arg
            .strip_prefix('-')
            .filter(|rest| !rest.starts_with('-') && rest.len() > 1)
            .and_then(|rest| {
                let name = rest.split('=').next().unwrap_or(rest);
                longs.iter().any(|l| l == name).then(|| format!("-{arg}"))
            });
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

fn long_flag_names() -> Vec<String> {
    use clap::CommandFactory as _;
    fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            if let Some(l) = a.get_long() {
                out.push(l.to_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut names = vec!["help".to_owned(), "explain".to_owned()];
    walk(&Cli::command(), &mut names);
    names
}

/// One-line descriptions printed by `--explain`, by command path.
pub fn explain_text(path: &[&str]) -> &'static str {
    match path {
        ["version"] => "Prints the version of this gait binary.",
        ["approve-script", ..] => {
            "Signs an approved-script entry (policy digest, script hash, tool sequence, scope, expiry) with an approval key and adds it to a registry file that gate eval verifies."
        }
        ["list-scripts", ..] => {
            "Lists the entries of an approved-script registry with their expiry; signatures are not checked (gate eval verifies them)."
        }
        ["registry", ..] => {
            "Installs signed policy-pack manifests into a local cache after checking signature, pin and publisher, lists the cache, and verifies cached manifests offline."
        }
        ["migrate", ..] => {
            "Re-records a 1.0.0 runpack in the current encoding (unsigned), refuses tampered input, and verifies the result."
        }
        ["kill-switch", ..] => {
            "Adds, lists, disables and expires kill-switch entries: operator switches that block matching tool calls at every gate boundary without a policy change."
        }
        ["release"] => {
            "Signs release directories (checksums, provenance) with a release key and verifies them offline."
        }
        ["release", "sign", ..] => {
            "Writes SHA256SUMS for every file of a release directory, signs it with a release-role key, and writes a signed in-toto provenance statement."
        }
        ["release", "verify", ..] => {
            "Checks a release directory against a public key: every listed digest, both signatures, the provenance subjects and no unlisted file; exit 2 names each failing file."
        }
        ["keys"] => {
            "Creates, rotates and checks the local Ed25519 keys that sign traces, tokens and artifacts."
        }
        ["keys", "init"] => {
            "Generates an Ed25519 key pair and writes it as base64 key files (mode 0600)."
        }
        ["keys", "rotate"] => {
            "Generates a new key pair under a timestamped prefix and keeps the old keys."
        }
        ["trace"] => {
            "Verifies the signatures of gate trace records offline (trace verify), or runs a Gait-aware command and summarizes the traces it announces (trace -- <command>)."
        }
        ["test", ..] => {
            "Runs a Gait-aware agent command, reads and checks every trace it announces with trace_path=, and reports verdict counts; the exit code is the child's."
        }
        ["enforce", ..] => {
            "Runs a Gait-aware agent command and fails closed unless it announced traces that are all valid and allowed: exit 3 for block or dry_run or an invalid trace, 4 for require_approval, 6 for no trace."
        }
        ["trace", "verify"] => {
            "Checks a gate trace record's Ed25519 signature with a public key and reports the result."
        }
        ["keys", "verify"] => {
            "Checks that the configured key sources decode and that the public key belongs to the private key."
        }
        ["approve", ..] => {
            "Signs an approval token that lets one exact tool call (intent digest and policy digest) pass a require_approval verdict, limited by scope and lifetime."
        }
        ["delegate"] => {
            "Signs and checks delegation tokens: a delegator hands a delegate authority over a scope, optionally bound to an intent and a policy."
        }
        ["delegate", "mint", ..] => {
            "Signs a delegation token from a delegator to a delegate for the given scopes and lifetime."
        }
        ["delegate", "verify", ..] => {
            "Checks a delegation token's signature and expiry, and any expected delegator, delegate, scope and digests; exit 2 names the failing check."
        }
        ["gate"] => "Evaluates proposed tool calls against a policy; only allow executes.",
        ["gate", "eval", ..] => {
            "Evaluates one intent against a policy, applies tokens, limits and simulation, and writes a signed trace."
        }
        ["policy"] => "Creates and checks gate policies offline, before they enforce anything.",
        ["policy", "init", ..] => {
            "Writes a starter policy (low, medium or high risk) to edit and validate."
        }
        ["policy", "validate", ..] => {
            "Loads one policy with strict YAML rules and prints its digest, default verdict and rule count."
        }
        ["policy", "test", ..] => {
            "Evaluates one intent fixture against one policy and exits 0, 3 or 4 by verdict, without writing a trace."
        }
        ["policy", "fmt", ..] => {
            "Prints a policy as normalized YAML (canonical keys in a fixed order, sorted lists, explicit defaults) with the same digest; --write rewrites the file when it changes."
        }
        ["policy", "simulate", ..] => {
            "Evaluates intent fixtures under a baseline and a candidate policy, lists the fixtures whose verdict, reasons, violations or matched rule change, and recommends a rollout stage (observe, require_approval or enforce)."
        }
        ["verify", "chain", ..] => {
            "Checks a runpack, and optionally a signed trace and a pack, in one pass; the result is ok only when every part verifies."
        }
        ["verify", "session-chain", ..] => {
            "Checks a session's checkpoint chain: indexes, hash links, sequence ranges, recomputed checkpoint digests, and each checkpoint's runpack."
        }
        ["verify", ..] => {
            "Checks a runpack offline: every declared file hash, the manifest digest, no undeclared entries, and signatures when present or required."
        }
        ["run"] => {
            "Records, inspects, replays and compares runpacks: the signed zip evidence of an agent run."
        }
        ["run", "record", ..] => {
            "Writes a deterministic runpack zip (optionally signed) from run, intent, result and receipt records."
        }
        ["run", "inspect", ..] => {
            "Shows a runpack's run, timeline, intents and results after checking it."
        }
        ["run", "replay", ..] => {
            "Replays a runpack from its recorded results (stubs where none); running real tools needs explicit unsafe flags and never includes a shell."
        }
        ["run", "diff", ..] => {
            "Compares two runpacks record by record and reports what changed (exit 2 when anything did)."
        }
        ["run", "reduce", ..] => {
            "Keeps the first failing intent of a runpack (missing_result or non_ok_status) with its result, receipts and timeline events, writes the reduced runpack and a reduce report, and checks it still fails."
        }
        ["run", "session"] => {
            "Keeps an append-only journal of one agent session's decisions and checkpoints it into a hash-linked chain of verifiable runpacks."
        }
        ["run", "session", "start", ..] => {
            "Creates a session journal with its header and state cache (idempotent for the same session and run)."
        }
        ["run", "session", "append", ..] => {
            "Appends one decision event with the next sequence number to a session journal, after reading the journal strictly."
        }
        ["run", "session", "status", ..] => {
            "Reads a session journal strictly and prints its counters: events, checkpoints, last sequence."
        }
        ["run", "session", "checkpoint", ..] => {
            "Writes the events since the last checkpoint as a runpack, appends a linked checkpoint record and rewrites the session chain."
        }
        ["run", "session", "compact", ..] => {
            "Rewrites a session journal without the events its checkpoints already cover; sequence numbers and checkpoint links continue."
        }
        ["run", "receipt", ..] => {
            "Verifies a runpack and prints its one-line ticket footer (run id, manifest digest, verify command)."
        }
        ["regress"] => {
            "Turns runpacks into deterministic regression fixtures and grades them; CI fails with exit 5 on a regression."
        }
        ["regress", "init", ..] => {
            "Copies a verified runpack into fixtures/<name>/ with its expected tool and verdict sequences and rewrites gait.yaml."
        }
        ["regress", "add", ..] => {
            "Adds a fixture from a capture receipt, run id or runpack, like regress init."
        }
        ["regress", "run", ..] => {
            "Runs every fixture through the deterministic graders, writes regress_result.json (and JUnit with --junit), exits 5 on a regression."
        }
        ["regress", "bootstrap", ..] => {
            "Creates a fixture from a runpack and runs the graders in one step."
        }
        ["capture", ..] => {
            "Resolves a run id, runpack or gate trace and writes a capture receipt that regress add accepts."
        }
        ["init", ..] => {
            "Writes a starter repo policy (.gait.yaml) from a built-in template and prints the next commands."
        }
        ["check", ..] => {
            "Validates the repo policy and lists readiness findings, the project paths Gait uses, and next commands."
        }
        ["doctor", ..] => {
            "Checks the local environment and project (writable dirs, keys, policy) and, with --production-readiness, the production settings."
        }
        ["demo", ..] => {
            "Writes the offline demo runpack and prints its ticket footer; no network, no keys needed."
        }
        ["mcp"] => {
            "Decides tool-call payloads from MCP clients and agent frameworks against a policy, leaving a signed trace for each; never runs the tool."
        }
        ["mcp", "proxy" | "bridge"] => {
            "Turns one tool-call payload (Gait, OpenAI, Anthropic, LangChain or Claude Code shape) into an intent, decides it and writes its signed trace; with -- <server command>, the MCP protocol proxy."
        }
        ["mcp", "verify"] => {
            "Checks an MCP server description against the policy's local trust snapshot, without any tool call or network lookup."
        }
        ["mcp", "serve"] | ["serve", ..] => {
            "Runs the decision service on loopback HTTP (or JSON lines with --stdio): one request per tool call, answered only after its signed trace is written."
        }
        ["hook", ..] => {
            "Pre-tool-use hooks for coding agents: read the pending tool call on stdin and answer allow, deny or ask, denying on every error."
        }
        ["job"] => {
            "Runs durable jobs: submit, checkpoints, pause, emergency stop, cancel, approvals and gated resume, with every change journaled and crash-safe."
        }
        ["job", "submit", ..] => {
            "Creates a job (running, revision 1) bound to an environment fingerprint and optionally a policy digest and an identity."
        }
        ["job", "status", ..] => "Prints a job's current state, settling a crashed mutation first.",
        ["job", "checkpoint", ..] => {
            "Adds, lists or shows job checkpoints; decision-needed, blocked and completed checkpoints change the job's status."
        }
        ["job", "pause", ..] => "Pauses a running job or one waiting for a decision.",
        ["job", "stop", ..] => {
            "Emergency-stops a job: every tool call for it is blocked at the MCP boundary, and only cancel is accepted afterwards."
        }
        ["job", "cancel", ..] => "Cancels a job, including an emergency-stopped one.",
        ["job", "approve", ..] => {
            "Records an approval; each decision-needed checkpoint needs one recorded after it before the job can resume."
        }
        ["job", "resume", ..] => {
            "Resumes a paused, blocked or decision-needed job after checking approvals, the policy digest, the identity binding and revocations, and the environment fingerprint."
        }
        ["job", "inspect", ..] => "Prints a job's state and its full event log.",
        ["job", ..] => "Runs durable jobs with journaled, crash-safe state changes.",
        ["pack", ..] => {
            "Builds, verifies, inspects, compares and exports PackSpec v1 evidence packs; legacy runpacks verify too."
        }
        _ => {
            "Gait is an offline-first policy gate and evidence layer for AI agents' tool calls: signed traces, verifiable run artifacts, and CI regressions."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_help_shows_an_example() {
        use clap::CommandFactory as _;
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let shows = cmd
                .get_after_help()
                .is_some_and(|h| h.to_string().contains("Examples:\n  gait "));
            if !shows {
                missing.push(path.to_owned());
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "gait", &mut missing);
        assert!(missing.is_empty(), "no example in --help: {missing:?}");
    }

    fn parse(args: &[&str]) -> Cli {
        let mut argv = vec!["gait"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn one_global_json_in_every_position() {
        assert!(parse(&["gate", "eval", "--json"]).json);
        assert!(parse(&["--json", "gate", "eval"]).json);
        assert!(parse(&["keys", "init", "--json"]).json);
        assert!(parse(&["verify", "run_demo", "--json"]).json);
        assert!(!parse(&["keys", "init"]).json);
    }

    #[test]
    fn signing_key_flags_keep_each_commands_default() {
        let mode = |cli: Cli| -> Option<String> {
            match cli.command {
                Command::Approve(a) => a.keys.key_mode,
                Command::Delegate(DelegateCommand::Mint(a)) => a.keys.key_mode,
                Command::Gate(crate::cmd::gate::GateCommand::Eval(a)) => a.keys.key_mode,
                Command::Pack(crate::cmd::pack::PackCommand::Build(a)) => a.keys.key_mode,
                Command::Run(crate::cmd::runpack::RunCommand::Record(a)) => a.keys.key_mode,
                Command::Doctor(a) => a.keys.key_mode,
                Command::Mcp(crate::cmd::mcp::McpCommand::Proxy(a)) => a.flags.keys.key_mode,
                other => panic!("unexpected {other:?}"),
            }
        };
        let dev = Some("dev".to_owned());
        assert_eq!(mode(parse(&["approve"])), dev);
        assert_eq!(mode(parse(&["delegate", "mint"])), dev);
        assert_eq!(mode(parse(&["doctor"])), dev);
        assert_eq!(mode(parse(&["mcp", "proxy"])), dev);
        assert_eq!(mode(parse(&["pack", "build"])), Some("none".to_owned()));
        // No clap default: project defaults (gate) and "any signing flag
        // means prod" (run record) need to see an absent flag.
        assert_eq!(mode(parse(&["gate", "eval"])), None);
        assert_eq!(mode(parse(&["run", "record"])), None);
        let Command::Approve(a) =
            parse(&["approve", "--key-mode", "prod", "--private-key", "k"]).command
        else {
            panic!("approve");
        };
        assert_eq!(a.keys.key_mode.as_deref(), Some("prod"));
        assert_eq!(a.keys.private.private_key.as_deref(), Some("k"));
    }

    #[test]
    fn go_single_dash_flags() {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            normalize_go_flags(v(&[
                "keys",
                "init",
                "-json",
                "-out-dir=x",
                "-h",
                "-unknown",
                "--",
                "-json"
            ])),
            v(&[
                "keys",
                "init",
                "--json",
                "--out-dir=x",
                "-h",
                "-unknown",
                "--",
                "-json"
            ])
        );
    }
}
