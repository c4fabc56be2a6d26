//! The `gait` command.
//!
//! This binary parses arguments, calls the Gait libraries and prints their
//! results. It holds no rules of its own: every decision (what a key file
//! looks like, what verifies, what a policy allows) lives in a library
//! crate.

mod args;
mod cmd;
mod exit;
mod output;

use clap::Parser as _;

use crate::args::{Cli, Command, normalize_go_flags};
use crate::exit::Exit;
use crate::output::{Out, stderr_line, stdout_line};

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    run(&argv).into()
}

fn run(argv: &[String]) -> Exit {
    let out = Out::new(argv);
    let rest = argv.get(1..).unwrap_or_default();
    let Some(first) = rest.first() else {
        return cmd::version::run(&out, false);
    };
    let json = rest.iter().any(|a| matches!(a.trim(), "--json" | "-json"));
    match first.trim() {
        "--version" | "-v" => return cmd::version::run(&out, json),
        "help" => {
            stdout_line(&render_help());
            return Exit::Ok;
        }
        _ => {}
    }
    if rest
        .iter()
        .any(|a| a.trim() == "--explain" || a.trim() == "-explain")
    {
        let path: Vec<&str> = rest
            .iter()
            .map(|a| a.trim())
            .take_while(|a| !a.starts_with('-'))
            .collect();
        stdout_line(args::explain_text(&path));
        return Exit::Ok;
    }
    if !first.starts_with('-') && !KNOWN_COMMANDS.contains(&first.trim()) {
        let msg = format!("unknown command: {}", first.trim());
        if json {
            return out.json_error(&msg, Exit::InvalidInput);
        }
        stderr_line(&format!("error: {msg}"));
        stderr_line(&render_help());
        return Exit::InvalidInput;
    }
    let mut full = vec![argv.first().cloned().unwrap_or_else(|| "gait".into())];
    full.extend(normalize_go_flags(rest.to_vec()));
    let cli = match Cli::try_parse_from(&full) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&out, &e, json),
    };
    match &cli.command {
        Command::Version(a) => cmd::version::run(&out, a.json),
        Command::Keys(k) => cmd::keys::run(&out, k),
        Command::Trace(t) => cmd::trace::run(&out, t),
        Command::Approve(a) => cmd::approve::run(&out, a),
        Command::Delegate(d) => cmd::delegate::run(&out, d),
        Command::Policy(p) => cmd::policy::run(&out, p),
        Command::Gate(g) => cmd::gate::run(&out, g),
        Command::Pack(p) => cmd::pack::run(&out, p),
        Command::Verify(v) => cmd::runpack::verify(&out, v),
        Command::Run(r) => cmd::runpack::run(&out, r),
        Command::Demo(d) => cmd::runpack::demo(&out, d),
        Command::Mcp(m) => cmd::mcp::run(&out, m),
        Command::Serve(s) => cmd::mcp::serve(&out, s, true),
        Command::Hook(h) => cmd::hook::run(&out, h),
    }
}

/// The commands this build implements.
const KNOWN_COMMANDS: &[&str] = &[
    "version", "keys", "trace", "approve", "delegate", "policy", "gate", "pack", "verify", "run",
    "demo", "mcp", "serve", "hook",
];

fn render_help() -> String {
    use clap::CommandFactory as _;
    Cli::command().render_help().to_string()
}

/// Help and usage errors: help prints and exits 0; any other parse error is
/// invalid input (exit 6), with the JSON envelope when `--json` was given.
fn usage_error(out: &Out, e: &clap::Error, json: bool) -> Exit {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            stdout_line(e.render().to_string().trim_end());
            Exit::Ok
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            stderr_line(e.render().to_string().trim_end());
            Exit::InvalidInput
        }
        _ => {
            if json {
                out.json_error(&first_error_line(e), Exit::InvalidInput)
            } else {
                stderr_line(e.render().to_string().trim_end());
                Exit::InvalidInput
            }
        }
    }
}

fn first_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().next().unwrap_or("invalid arguments");
    line.trim_start_matches("error: ").trim().to_owned()
}
