//! Command-line syntax (clap derive) and its compatibility shims.

use clap::{Args, Parser, Subcommand};

/// The `gait` command line.
#[derive(Debug, Parser)]
#[command(
    name = "gait",
    about = "Policy gate and evidence layer for AI agents' tool calls",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CLI version.
    Version(VersionArgs),
    /// Manage Ed25519 signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify signed gate traces.
    #[command(subcommand)]
    Trace(TraceCommand),
}

/// Key source flags shared by verifying commands.
#[derive(Debug, Args, Clone, Default)]
pub struct VerifyKeyArgs {
    /// Path to a base64 public key file.
    #[arg(long, value_name = "PATH")]
    pub public_key: Option<String>,
    /// Environment variable holding a base64 public key.
    #[arg(long, value_name = "VAR")]
    pub public_key_env: Option<String>,
    /// Path to a base64 private key file (its public half is used).
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<String>,
    /// Environment variable holding a base64 private key (its public half is used).
    #[arg(long, value_name = "VAR")]
    pub private_key_env: Option<String>,
}

/// `gait trace …`
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Verify a trace record's signature.
    Verify(TraceVerifyArgs),
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
    /// Key sources.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
    /// Emit JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `gait version`
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Emit JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `gait keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair and write it as base64 key files.
    Init(KeysInitArgs),
    /// Generate a timestamped key pair beside the existing ones.
    Rotate(KeysRotateArgs),
    /// Check that key sources decode and that the public key matches the private key.
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
    /// Emit JSON output.
    #[arg(long)]
    pub json: bool,
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
    /// Emit JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `gait keys verify`
#[derive(Debug, Args)]
pub struct KeysVerifyArgs {
    /// Path to a base64 private key file.
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<String>,
    /// Environment variable holding a base64 private key.
    #[arg(long, value_name = "VAR")]
    pub private_key_env: Option<String>,
    /// Path to a base64 public key file.
    #[arg(long, value_name = "PATH")]
    pub public_key: Option<String>,
    /// Environment variable holding a base64 public key.
    #[arg(long, value_name = "VAR")]
    pub public_key_env: Option<String>,
    /// Emit JSON output.
    #[arg(long)]
    pub json: bool,
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
        ["keys"] => "Creates, rotates and checks the local Ed25519 keys that sign traces, tokens and artifacts.",
        ["keys", "init"] => "Generates an Ed25519 key pair and writes it as base64 key files (mode 0600).",
        ["keys", "rotate"] => "Generates a new key pair under a timestamped prefix and keeps the old keys.",
        ["trace"] => "Verifies the signatures of gate trace records offline.",
        ["trace", "verify"] => "Checks a gate trace record's Ed25519 signature with a public key and reports the result.",
        ["keys", "verify"] => "Checks that the configured key sources decode and that the public key belongs to the private key.",
        _ => "Gait is an offline-first policy gate and evidence layer for AI agents' tool calls: signed traces, verifiable run artifacts, and CI regressions.",
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
    fn go_single_dash_flags() {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            normalize_go_flags(v(&["keys", "init", "-json", "-out-dir=x", "-h", "-unknown", "--", "-json"])),
            v(&["keys", "init", "--json", "--out-dir=x", "-h", "-unknown", "--", "-json"])
        );
    }
}
