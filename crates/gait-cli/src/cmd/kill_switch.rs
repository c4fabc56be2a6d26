//! `gait kill-switch add|list|disable|expire`, and the `--kill-switch-state`
//! flag of the deciding commands. The state, its rules and its matching
//! live in `gait_policy::killswitch`; this file parses, calls and prints.

use std::path::Path;
use std::sync::Arc;

use clap::{Args, Subcommand};
use gait_digest::GoTime;
use gait_policy::killswitch::{
    DEFAULT_STATE_PATH, FileKillSwitchStore, KillSwitchEntry, KillSwitchError, KillSwitchState,
    KillSwitchStore,
};
use serde::Serialize;

use crate::exit::Exit;
use crate::output::{Out, stderr_line, stdout_line};

/// `gait kill-switch …`
#[derive(Debug, Subcommand)]
pub enum KillSwitchCommand {
    /// Add an enabled entry (selectors AND-ed; an id alone blocks every call).
    #[command(
        after_help = "Examples:\n  gait kill-switch add --state ks.json --tool-name tool.exec --reason incident-4711 --actor secops --json\n  gait kill-switch add --state ks.json --entry-id stop-all --reason freeze"
    )]
    Add(Box<AddArgs>),
    /// List every entry (a missing state lists none and writes nothing).
    #[command(after_help = "Examples:\n  gait kill-switch list --state ks.json --json")]
    List(StateArgs),
    /// Disable an entry (the first with this id).
    #[command(
        after_help = "Examples:\n  gait kill-switch disable --state ks.json --entry-id stop-all --json"
    )]
    Disable(EntryArgs),
    /// Set an entry's expiry (default now).
    #[command(
        after_help = "Examples:\n  gait kill-switch expire --state ks.json --entry-id stop-all --expires-at 2026-12-31T00:00:00Z"
    )]
    Expire(ExpireArgs),
}

/// The state file.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The kill-switch state file.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_STATE_PATH)]
    pub state: String,
}

/// `gait kill-switch add`
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The entry's id (default: derived from its selectors and time).
    #[arg(long, value_name = "ID")]
    pub entry_id: Option<String>,
    /// Selector: `context.agent_id`.
    #[arg(long, value_name = "ID")]
    pub agent_id: Option<String>,
    /// Selector: `context.identity`.
    #[arg(long, value_name = "IDENTITY")]
    pub identity: Option<String>,
    /// Selector: the tool name (also matched against script steps).
    #[arg(long, value_name = "NAME")]
    pub tool_name: Option<String>,
    /// Selector: a target kind (path url host repo bucket table queue topic other).
    #[arg(long, value_name = "KIND")]
    pub target_kind: Option<String>,
    /// Selector: a target value.
    #[arg(long, value_name = "VALUE")]
    pub target_value: Option<String>,
    /// Selector: `context.environment`.
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Selector: path targets under these prefixes (comma-separated).
    #[arg(long, value_name = "CSV")]
    pub path_prefixes: Option<String>,
    /// Selector: workspaces under these prefixes (comma-separated).
    #[arg(long, value_name = "CSV")]
    pub workspace_prefixes: Option<String>,
    /// Why (recorded).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Who (recorded).
    #[arg(long, value_name = "TEXT")]
    pub actor: Option<String>,
    /// When the entry stops applying (RFC 3339; default never).
    #[arg(long, value_name = "RFC3339")]
    pub expires_at: Option<String>,
}

/// `gait kill-switch disable`
#[derive(Debug, Clone, Args)]
pub struct EntryArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The entry's id.
    #[arg(long, value_name = "ID")]
    pub entry_id: Option<String>,
}

/// `gait kill-switch expire`
#[derive(Debug, Clone, Args)]
pub struct ExpireArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The entry's id.
    #[arg(long, value_name = "ID")]
    pub entry_id: Option<String>,
    /// The expiry (RFC 3339; default now).
    #[arg(long, value_name = "RFC3339")]
    pub expires_at: Option<String>,
}

/// The output document `{ok, action, state, entry, entries}`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    action: &'static str,
    state: &'a KillSwitchState,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<&'a KillSwitchEntry>,
    #[serde(skip_serializing_if = "<[KillSwitchEntry]>::is_empty")]
    entries: &'a [KillSwitchEntry],
}

/// Runs a `kill-switch` subcommand. Every failure is invalid input (6).
pub fn run(out: &Out, cmd: &KillSwitchCommand) -> Exit {
    let json = out.is_json();
    let result = match cmd {
        KillSwitchCommand::Add(a) => add(a),
        KillSwitchCommand::List(a) => list(a),
        KillSwitchCommand::Disable(a) => disable(a),
        KillSwitchCommand::Expire(a) => expire(a),
    };
    match result {
        Ok(done) => {
            if json {
                out.json_typed(&done.report(), Exit::Ok)
            } else {
                match done.action {
                    "list" => stdout_line(&format!("list: {} entries", done.state.entries.len())),
                    action => stdout_line(&format!(
                        "{action}: {}",
                        done.entry
                            .as_ref()
                            .map(|e| e.entry_id.as_str())
                            .unwrap_or("")
                    )),
                }
                Exit::Ok
            }
        }
        Err(msg) => {
            if json {
                out.json_error(&msg, Exit::InvalidInput)
            } else {
                stderr_line(&format!("kill-switch error: {msg}"));
                Exit::InvalidInput
            }
        }
    }
}

struct Done {
    action: &'static str,
    state: KillSwitchState,
    entry: Option<KillSwitchEntry>,
}

impl Done {
    fn report(&self) -> Report<'_> {
        Report {
            ok: true,
            action: self.action,
            state: &self.state,
            entry: self.entry.as_ref(),
            entries: if self.action == "list" {
                &self.state.entries
            } else {
                &[]
            },
        }
    }
}

fn state_path(a: &StateArgs) -> Result<&Path, String> {
    let p = a.state.trim();
    if p.is_empty() {
        return Err("--state is required".to_owned());
    }
    Ok(Path::new(p))
}

fn parse_time(flag: &str, value: &str) -> Result<GoTime, String> {
    GoTime::parse(value.trim())
        .map(GoTime::to_utc)
        .map_err(|e| format!("{flag}: {e}"))
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn add(a: &AddArgs) -> Result<Done, String> {
    let path = state_path(&a.state)?;
    let now = GoTime::now_utc();
    let mut entry = KillSwitchEntry::new(now);
    entry.entry_id = text(&a.entry_id);
    entry.agent_id = text(&a.agent_id);
    entry.identity = text(&a.identity);
    entry.tool_name = text(&a.tool_name);
    entry.target_kind = text(&a.target_kind);
    entry.target_value = text(&a.target_value);
    entry.environment = text(&a.environment);
    entry.path_prefixes = crate::cmd::parse_csv(a.path_prefixes.as_deref());
    entry.workspace_prefixes = crate::cmd::parse_csv(a.workspace_prefixes.as_deref());
    entry.reason = text(&a.reason);
    entry.actor = text(&a.actor);
    if let Some(t) = a.expires_at.as_deref() {
        entry.expires_at = parse_time("--expires-at", t)?;
    }
    entry.normalize().map_err(|e| e.to_string())?;
    if entry.entry_id.is_empty() {
        entry.entry_id = entry.derived_id();
    }
    let fresh = move || KillSwitchState::new(now, crate::cmd::version::VERSION);
    let added = entry.clone();
    let (state, ()) = FileKillSwitchStore::update(path, Some(&fresh), move |s| {
        s.entries.push(entry);
        s.updated_at = now;
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(Done {
        action: "add",
        state,
        entry: Some(added),
    })
}

fn list(a: &StateArgs) -> Result<Done, String> {
    let path = state_path(a)?;
    let state = match FileKillSwitchStore::read(path) {
        Ok(s) => s,
        Err(KillSwitchError::NotFound(_)) => {
            KillSwitchState::new(GoTime::now_utc(), crate::cmd::version::VERSION)
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(Done {
        action: "list",
        state,
        entry: None,
    })
}

fn required_id(v: &Option<String>) -> Result<String, String> {
    let id = v.as_deref().unwrap_or_default().trim();
    if id.is_empty() {
        return Err("--entry-id is required".to_owned());
    }
    Ok(id.to_owned())
}

/// Changes the first entry (in sorted order) with `id`.
fn change_entry(
    path: &Path,
    action: &'static str,
    id: &str,
    change: impl FnOnce(&mut KillSwitchEntry),
) -> Result<Done, String> {
    let now = GoTime::now_utc();
    let (state, entry) = FileKillSwitchStore::update(path, None, |s| {
        let Some(e) = s.entries.iter_mut().find(|e| e.entry_id == id) else {
            return Err(KillSwitchError::EntryNotFound(id.to_owned()));
        };
        change(e);
        let changed = e.clone();
        s.updated_at = now;
        Ok(changed)
    })
    .map_err(|e| e.to_string())?;
    Ok(Done {
        action,
        state,
        entry: Some(entry),
    })
}

fn disable(a: &EntryArgs) -> Result<Done, String> {
    let path = state_path(&a.state)?;
    let id = required_id(&a.entry_id)?;
    change_entry(path, "disable", &id, |e| e.enabled = false)
}

fn expire(a: &ExpireArgs) -> Result<Done, String> {
    let path = state_path(&a.state)?;
    let id = required_id(&a.entry_id)?;
    let at = match a.expires_at.as_deref() {
        Some(t) => parse_time("--expires-at", t)?,
        None => GoTime::now_utc(),
    };
    change_entry(path, "expire", &id, |e| e.expires_at = at)
}

/// The kill-switch store of a deciding command's `--kill-switch-state`
/// (a path outside the working folder is refused before anything is
/// decided: `FileKillSwitchStore::local`).
pub fn store(path: Option<&str>) -> Result<Option<Arc<dyn KillSwitchStore>>, (String, Exit)> {
    let Some(path) = path.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    FileKillSwitchStore::local(path)
        .map(|s| Some(Arc::new(s) as Arc<dyn KillSwitchStore>))
        .map_err(|e| (e.to_string(), Exit::InvalidInput))
}

/// The verified context evidence of a deciding command's
/// `--context-envelope` (exit 6 for a path outside the working folder or
/// an unreadable or invalid envelope).
pub fn context_evidence(
    path: Option<&str>,
) -> Result<Option<gait_policy::context_evidence::ContextEvidence>, (String, Exit)> {
    let Some(path) = path.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    gait_serve::load_context_evidence(path)
        .map(Some)
        .map_err(|e| (e.to_string(), Exit::InvalidInput))
}
