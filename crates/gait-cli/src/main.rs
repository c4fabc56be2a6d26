//! The `gait` command.
//!
//! This binary parses arguments, calls the Gait libraries and prints their
//! results. It holds no rules of its own: every decision (what a key file
//! looks like, what verifies, what a policy allows) lives in a library
//! crate.

mod args;
mod broker_args;
mod cmd;
mod exit;
mod key_args;
mod output;
mod values;

use clap::Parser as _;

use crate::args::{Cli, Command, normalize_go_flags};
use crate::exit::{Exit, Status};
use crate::output::{Out, stderr_line, stdout_line};

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    run(&argv).into()
}

fn run(argv: &[String]) -> Status {
    let out = Out::new(argv);
    let rest = argv.get(1..).unwrap_or_default();
    let Some(first) = rest.first() else {
        return cmd::version::run(&out, false).into();
    };
    // Arguments after `--` belong to a wrapped command, not to gait.
    let own = || rest.iter().take_while(|a| a.as_str() != "--");
    let json = own().any(|a| matches!(a.trim(), "--json" | "-json"));
    match first.trim() {
        "--version" | "-v" => return cmd::version::run(&out, json).into(),
        "help" => {
            stdout_line(&render_help());
            return Exit::Ok.into();
        }
        _ => {}
    }
    // `gate eval --explain --json` decides and prints the explain document
    // (exit code of the verdict); every other `--explain` prints a sentence.
    let gate_eval = rest.first().map(|a| a.trim()) == Some("gate")
        && rest.get(1).map(|a| a.trim()) == Some("eval");
    if own().any(|a| a.trim() == "--explain" || a.trim() == "-explain") && !(gate_eval && json) {
        let path: Vec<&str> = rest
            .iter()
            .map(|a| a.trim())
            .take_while(|a| !a.starts_with('-'))
            .collect();
        stdout_line(args::explain_text(&path));
        return Exit::Ok.into();
    }
    if !first.starts_with('-') && !is_known_command(first.trim()) {
        let msg = format!("unknown command: {}", first.trim());
        if json {
            return out.json_error(&msg, Exit::InvalidInput).into();
        }
        stderr_line(&format!("error: {msg}"));
        stderr_line(&render_help());
        return Exit::InvalidInput.into();
    }
    let routed = route_verify_subcommands(rest);
    let mut full = vec![argv.first().cloned().unwrap_or_else(|| "gait".into())];
    full.extend(normalize_go_flags(routed.clone()));
    let cli = match Cli::try_parse_from(&full) {
        Ok(cli) => cli,
        Err(e) => {
            // A wrapper's usage errors name its mode (and the contract).
            let mode = routed.first().and_then(|w| wrap_mode(w.trim()));
            if let (Some(mode), false) = (mode, is_help(&e)) {
                let out = out.with_json(json);
                return cmd::wrap::usage_error(&out, mode, &first_error_line(&e));
            }
            return usage_error(&out, &e, json).into();
        }
    };
    let out = out.with_json(cli.json);
    let exit = match &cli.command {
        Command::Test(w) => return cmd::wrap::run(&out, gait_wrap::Mode::Test, w),
        Command::Enforce(w) => return cmd::wrap::run(&out, gait_wrap::Mode::Enforce, w),
        Command::TraceWrap(w) => return cmd::wrap::run(&out, gait_wrap::Mode::Trace, w),
        Command::Version(_) => cmd::version::run(&out, out.is_json()),
        Command::Keys(k) => cmd::keys::run(&out, k),
        Command::Trace(t) => cmd::trace::run(&out, t),
        Command::Approve(a) => cmd::approve::run(&out, a),
        Command::Delegate(d) => cmd::delegate::run(&out, d),
        Command::Policy(p) => cmd::policy::run(&out, p),
        Command::Gate(g) => cmd::gate::run(&out, g),
        Command::KillSwitch(k) => cmd::kill_switch::run(&out, k),
        Command::Job(j) => cmd::job::run(&out, j),
        Command::Pack(p) => cmd::pack::run(&out, p),
        Command::Voice(v) => cmd::pack::run_voice(&out, v),
        Command::Verify(v) => cmd::runpack::verify(&out, v),
        Command::Run(r) => cmd::runpack::run(&out, r),
        Command::Demo(d) => cmd::runpack::demo(&out, d),
        Command::VerifyChain(v) => cmd::verify_chain::chain(&out, v),
        Command::VerifySessionChain(v) => cmd::verify_chain::session_chain(&out, v),
        Command::McpProxy(m) => cmd::mcp_proxy::run(&out, m),
        Command::Release(r) => cmd::release::run(&out, r),
        Command::Regress(r) => cmd::regress::run(&out, r),
        Command::Capture(c) => cmd::regress::capture(&out, c),
        Command::Init(i) => cmd::onboard::init(&out, i),
        Command::Check(c) => cmd::onboard::check(&out, c),
        Command::Doctor(d) => cmd::onboard::doctor(&out, d),
        Command::Mcp(m) => cmd::mcp::run(&out, m),
        Command::Serve(s) => cmd::mcp::serve(&out, s, true),
        Command::Hook(h) => cmd::hook::run(&out, h),
        Command::ApproveScript(a) => cmd::scripts::approve(&out, a),
        Command::ListScripts(a) => cmd::scripts::list(&out, a),
        Command::Migrate(m) => cmd::migrate::run(&out, m),
        Command::Registry(r) => cmd::registry::run(&out, r),
    };
    exit.into()
}

/// The wrapper mode of a (routed) command word.
fn wrap_mode(word: &str) -> Option<gait_wrap::Mode> {
    match word {
        "test" => Some(gait_wrap::Mode::Test),
        "enforce" => Some(gait_wrap::Mode::Enforce),
        "trace-wrap" => Some(gait_wrap::Mode::Trace),
        _ => None,
    }
}

fn is_help(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
}

/// Routes command lines that share their first words with another
/// command to their own parsers: `gait verify chain …` and `gait verify
/// session-chain …` (not `gait verify <run>`), and `gait mcp proxy … --
/// <server command…>` (the protocol proxy, not the one-shot `--call`
/// decision).
fn route_verify_subcommands(rest: &[String]) -> Vec<String> {
    let mut args = rest.to_vec();
    let word = |i: usize| args.get(i).map(|a| a.trim().to_owned());
    match (word(0).as_deref(), word(1).as_deref()) {
        (Some("verify"), Some(name @ ("chain" | "session-chain"))) => {
            let routed = format!("verify-{name}");
            args.splice(0..2, [routed]);
        }
        // `gait trace verify …` is the verifier; any other `gait trace …`
        // with a literal `--` is the trace wrapper.
        (Some("trace"), second) if second != Some("verify") && args.iter().any(|a| a == "--") => {
            args.splice(0..1, ["trace-wrap".to_owned()]);
        }
        (Some("mcp"), Some("proxy")) => {
            let has_server = args
                .iter()
                .position(|a| a == "--")
                .is_some_and(|i| i + 1 < args.len());
            if has_server {
                args.splice(0..2, ["mcp-proxy".to_owned()]);
            }
        }
        _ => {}
    }
    args
}

/// Whether `name` is a command of this build: the top-level subcommands
/// of the clap definition (so the list cannot drift from it).
fn is_known_command(name: &str) -> bool {
    use clap::CommandFactory as _;
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == name)
}

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
