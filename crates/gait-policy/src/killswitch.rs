//! The kill switch: entries an operator sets to block matching calls at
//! once, without touching the policy.
//!
//! A state file (`gait.gate.kill_switch_state` 1.0.0) holds the entries.
//! Each entry names zero or more **selectors** (agent, identity, tool,
//! environment, target, path prefixes, workspace prefixes); every selector
//! it names must match the call, and an entry with none (an id only) is a
//! global switch that matches every call. Disabled entries and entries
//! whose `expires_at` is not after the evaluation time take no part.
//!
//! [`KillSwitchState::from_json_slice`] reads and normalizes a state file;
//! any defect makes the whole file unusable, never partly used.
//! [`KillSwitchState::evaluate`] matches it against a prepared intent and
//! gives a [`KillSwitchDecision`]; the gate turns an `active` decision into
//! a `block` ([`crate::gate`]). [`FileKillSwitchStore`] keeps the state in
//! a file, re-read whenever the file changes, and appends the audit
//! journal next to it.
//!
//! ```
//! use gait_digest::GoTime;
//! use gait_policy::killswitch::{KillSwitchState, KillSwitchStatus};
//! use gait_policy::Intent;
//!
//! let state = KillSwitchState::from_json_slice(br#"{
//!   "created_at": "2026-03-01T08:00:00Z", "updated_at": "2026-03-01T08:00:00Z",
//!   "entries": [{"entry_id": "freeze-exec", "enabled": true,
//!                "tool_name": "Tool.Exec", "created_at": "2026-03-01T08:00:00Z"}]
//! }"#).unwrap();
//! let intent = Intent::from_json_str(r#"{"tool_name":"tool.exec","args":{},
//!   "targets":[{"kind":"other","value":"ls"}],
//!   "context":{"identity":"alice","workspace":"/w","risk_class":"low"}}"#).unwrap();
//! let now = GoTime::parse("2026-03-01T10:00:00Z").unwrap();
//! let decision = state.evaluate(&intent, now);
//! assert_eq!(decision.status, KillSwitchStatus::Active);
//! assert_eq!(decision.reason_code, "kill_switch_tool_name_active");
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gait_digest::{GoTime, clean_path};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::intent::gostr::{lower, trim};
use crate::intent::{Intent, Target, TargetKind};

/// `schema_id` of the state file.
pub const STATE_SCHEMA_ID: &str = "gait.gate.kill_switch_state";
/// `schema_version` of the state file.
pub const STATE_SCHEMA_VERSION: &str = "1.0.0";
/// `schema_id` of a journal line.
pub const JOURNAL_SCHEMA_ID: &str = "gait.gate.kill_switch_journal";
/// The journal's file name, in the folder of the state file.
pub const JOURNAL_FILE_NAME: &str = "kill_switch_journal.jsonl";
/// Where `gait kill-switch` keeps the state unless told otherwise.
pub const DEFAULT_STATE_PATH: &str = "./.gait-out/kill_switch_state.json";
/// The largest state file read (a state is a short list of entries).
pub const MAX_STATE_BYTES: u64 = 4 << 20;
/// The most entries a state may hold.
pub const MAX_ENTRIES: usize = 10_000;

/// Reason code and violation of an active switch.
pub const REASON_KILL_SWITCH_ACTIVE: &str = "kill_switch_active";
/// Reason code and violation of a required state that cannot be read.
pub const REASON_KILL_SWITCH_STATE_UNAVAILABLE: &str = "kill_switch_state_unavailable";

const LOCK_RETRY: Duration = Duration::from_millis(10);
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a kill-switch state or journal could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KillSwitchError {
    /// The state file does not exist.
    #[error("kill switch state not found: {}", .0.display())]
    NotFound(PathBuf),
    /// The state file could not be read.
    #[error("read kill switch state {}: {source}", .path.display())]
    Read {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The state is not valid (syntax, types, schema, a field).
    #[error("invalid kill switch state: {0}")]
    Invalid(String),
    /// An entry cannot be added or changed as asked.
    #[error("{0}")]
    Entry(String),
    /// No entry has the given id.
    #[error("kill switch entry not found: {0}")]
    EntryNotFound(String),
    /// The state path climbs out of the working folder (`..`): refused
    /// before anything is decided, since the journal goes beside it.
    #[error("kill switch state path must be a local filesystem path")]
    NotLocal,
    /// The state or the journal could not be written.
    #[error("write kill switch {what}: {reason}")]
    Write {
        /// `state` or `journal`.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl KillSwitchError {
    fn invalid(msg: impl Into<String>) -> Self {
        KillSwitchError::Invalid(msg.into())
    }
}

/// One kill-switch entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KillSwitchEntry {
    /// The entry's id (not necessarily unique).
    pub entry_id: String,
    /// Whether the entry takes part.
    pub enabled: bool,
    /// Selector: `context.agent_id`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub agent_id: String,
    /// Selector: `context.identity`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// Selector: the tool name (lowercased).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tool_name: String,
    /// Selector: a target kind (lowercased).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_kind: String,
    /// Selector: a target value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_value: String,
    /// Selector: `context.environment` (lowercased).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment: String,
    /// Selector: path targets under one of these prefixes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path_prefixes: Vec<String>,
    /// Selector: a workspace under one of these prefixes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workspace_prefixes: Vec<String>,
    /// Why (free text).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Who (free text).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// When the entry was made.
    pub created_at: GoTime,
    /// When it stops taking part; the zero time means never.
    pub expires_at: GoTime,
}

impl KillSwitchEntry {
    /// A new enabled entry made at `now`, before normalization.
    pub fn new(now: GoTime) -> Self {
        Self {
            entry_id: String::new(),
            enabled: true,
            agent_id: String::new(),
            identity: String::new(),
            tool_name: String::new(),
            target_kind: String::new(),
            target_value: String::new(),
            environment: String::new(),
            path_prefixes: Vec::new(),
            workspace_prefixes: Vec::new(),
            reason: String::new(),
            actor: String::new(),
            created_at: now.to_utc(),
            expires_at: GoTime::ZERO,
        }
    }

    fn has_selector(&self) -> bool {
        !(self.agent_id.is_empty()
            && self.identity.is_empty()
            && self.tool_name.is_empty()
            && self.target_kind.is_empty()
            && self.target_value.is_empty()
            && self.environment.is_empty()
            && self.path_prefixes.is_empty()
            && self.workspace_prefixes.is_empty())
    }

    /// Normalizes the entry in place (trims, lowercases, cleans prefixes).
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::Entry`] for a zero `created_at`, an unsupported
    /// `target_kind`, or an entry with neither an id nor a selector.
    pub fn normalize(&mut self) -> Result<(), KillSwitchError> {
        for s in [
            &mut self.entry_id,
            &mut self.agent_id,
            &mut self.identity,
            &mut self.target_value,
            &mut self.reason,
            &mut self.actor,
        ] {
            *s = trim(s).to_owned();
        }
        for s in [
            &mut self.tool_name,
            &mut self.target_kind,
            &mut self.environment,
        ] {
            *s = lower(trim(s));
        }
        if self.created_at.is_zero() {
            return Err(KillSwitchError::Entry(
                "kill switch entry created_at is required".to_owned(),
            ));
        }
        self.created_at = self.created_at.to_utc();
        self.expires_at = self.expires_at.to_utc();
        if !self.target_kind.is_empty() && TargetKind::from_wire(&self.target_kind).is_none() {
            return Err(KillSwitchError::Entry(format!(
                "unsupported kill switch target_kind: {}",
                self.target_kind
            )));
        }
        self.path_prefixes = clean_prefixes(&self.path_prefixes);
        self.workspace_prefixes = clean_prefixes(&self.workspace_prefixes);
        if self.entry_id.is_empty() && !self.has_selector() {
            return Err(KillSwitchError::Entry(
                "kill switch entry requires entry_id or at least one selector".to_owned(),
            ));
        }
        Ok(())
    }

    /// The id `gait kill-switch add` derives for an entry made without
    /// one: 24 hex characters of SHA-256 over the normalized selectors,
    /// the reason and the creation time.
    pub fn derived_id(&self) -> String {
        let created = self.created_at.to_utc().format();
        let paths = self.path_prefixes.join(",");
        let workspaces = self.workspace_prefixes.join(",");
        let parts: [&str; 10] = [
            &self.agent_id,
            &self.identity,
            &self.tool_name,
            &self.target_kind,
            &self.target_value,
            &self.environment,
            &paths,
            &workspaces,
            &self.reason,
            &created,
        ];
        let digest = gait_digest::sha256(parts.join("\0").as_bytes());
        gait_digest::hex(&digest.as_bytes()[..12])
    }

    fn is_active_at(&self, now: &GoTime) -> bool {
        self.enabled && (self.expires_at.is_zero() || self.expires_at.is_after(now))
    }

    /// The selector reason codes of this entry if it matches `intent`.
    fn matches(&self, intent: &Intent) -> Option<Vec<&'static str>> {
        let ctx = intent.context();
        let mut codes = Vec::new();
        if !self.agent_id.is_empty() {
            if trim(&ctx.agent_id) != self.agent_id {
                return None;
            }
            codes.push("kill_switch_agent_id_active");
        }
        if !self.identity.is_empty() {
            if trim(&ctx.identity) != self.identity {
                return None;
            }
            codes.push("kill_switch_identity_active");
        }
        if !self.tool_name.is_empty() {
            // Stricter than the reference: a script's steps are matched
            // too, so wrapping a killed tool in a script does not pass.
            let step_match = intent.script().is_some_and(|s| {
                s.steps
                    .iter()
                    .any(|st| lower(trim(&st.tool_name)) == self.tool_name)
            });
            if lower(trim(intent.tool_name())) != self.tool_name && !step_match {
                return None;
            }
            codes.push("kill_switch_tool_name_active");
        }
        if !self.environment.is_empty() {
            if lower(trim(&ctx.environment)) != self.environment {
                return None;
            }
            codes.push("kill_switch_environment_active");
        }
        if !self.target_kind.is_empty() || !self.target_value.is_empty() {
            let hit = any_target(intent, |t| {
                (self.target_kind.is_empty() || t.kind.as_str() == self.target_kind)
                    && (self.target_value.is_empty() || trim(&t.value) == self.target_value)
            });
            if !hit {
                return None;
            }
            codes.push("kill_switch_target_active");
        }
        if !self.path_prefixes.is_empty() {
            let hit = any_target(intent, |t| {
                t.kind == TargetKind::Path
                    && under_any_prefix(&clean_path(trim(&t.value)), &self.path_prefixes)
            });
            if !hit {
                return None;
            }
            codes.push("kill_switch_path_active");
        }
        if !self.workspace_prefixes.is_empty() {
            let ws = clean_path(trim(&ctx.workspace));
            if !under_any_prefix(&ws, &self.workspace_prefixes) {
                return None;
            }
            codes.push("kill_switch_workspace_active");
        }
        Some(codes)
    }
}

fn any_target(intent: &Intent, f: impl Fn(&Target) -> bool) -> bool {
    intent.targets().iter().any(&f)
        || intent
            .script()
            .is_some_and(|s| s.steps.iter().any(|st| st.targets.iter().any(&f)))
}

fn under_any_prefix(path: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| {
        path == p
            || (p == "/" && path.starts_with('/'))
            || path
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn clean_prefixes(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|p| trim(p))
        .filter(|p| !p.is_empty())
        .map(clean_path)
        .filter(|p| !p.is_empty() && p != ".")
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A kill-switch state (`gait.gate.kill_switch_state` 1.0.0), normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KillSwitchState {
    /// Always [`STATE_SCHEMA_ID`].
    pub schema_id: String,
    /// Always [`STATE_SCHEMA_VERSION`].
    pub schema_version: String,
    /// When the state was first written.
    pub created_at: GoTime,
    /// When it was last changed.
    pub updated_at: GoTime,
    /// The writer's version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub producer_version: String,
    /// The entries, sorted by `entry_id`.
    pub entries: Vec<KillSwitchEntry>,
}

impl KillSwitchState {
    /// A fresh state with no entries, made at `now`.
    pub fn new(now: GoTime, producer_version: &str) -> Self {
        let now = now.to_utc();
        Self {
            schema_id: STATE_SCHEMA_ID.to_owned(),
            schema_version: STATE_SCHEMA_VERSION.to_owned(),
            created_at: now,
            updated_at: now,
            producer_version: producer_version.to_owned(),
            entries: Vec::new(),
        }
    }

    /// Reads and normalizes a state file's bytes.
    ///
    /// Unknown members are ignored, as in the reference; member names
    /// equal to a known one but for ASCII case, duplicate members and any
    /// wrongly typed field are errors, as is every normalization failure.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::Invalid`] for any defect.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, KillSwitchError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(KillSwitchError::invalid("empty state file"));
        }
        let value = gait_digest::canonical::parse_strict(bytes)
            .map_err(|e| KillSwitchError::invalid(e.to_string()))?;
        let Value::Object(top) = value else {
            return Err(KillSwitchError::invalid("state must be a JSON object"));
        };
        let top = Fields::new(&top, "", STATE_FIELDS)?;
        let mut state = KillSwitchState {
            schema_id: top.string("schema_id")?,
            schema_version: top.string("schema_version")?,
            created_at: top.time("created_at")?,
            updated_at: top.time("updated_at")?,
            producer_version: top.string("producer_version")?,
            entries: Vec::new(),
        };
        match top.get("entries") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if items.len() > MAX_ENTRIES {
                    return Err(KillSwitchError::invalid(format!(
                        "too many entries (more than {MAX_ENTRIES})"
                    )));
                }
                for (i, item) in items.iter().enumerate() {
                    state.entries.push(entry_from_value(item, i)?);
                }
            }
            Some(_) => return Err(KillSwitchError::invalid("entries must be an array")),
        }
        state.normalize()?;
        Ok(state)
    }

    /// Normalizes the state in place: schema defaults, UTC times, every
    /// entry normalized, entries sorted by id.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::Invalid`] for a foreign schema, a zero time or an
    /// invalid entry.
    pub fn normalize(&mut self) -> Result<(), KillSwitchError> {
        if self.schema_id.is_empty() {
            STATE_SCHEMA_ID.clone_into(&mut self.schema_id);
        }
        if self.schema_version.is_empty() {
            STATE_SCHEMA_VERSION.clone_into(&mut self.schema_version);
        }
        if self.schema_id != STATE_SCHEMA_ID {
            return Err(KillSwitchError::invalid(format!(
                "unsupported schema_id: {}",
                self.schema_id
            )));
        }
        if self.schema_version != STATE_SCHEMA_VERSION {
            return Err(KillSwitchError::invalid(format!(
                "unsupported schema_version: {}",
                self.schema_version
            )));
        }
        if self.created_at.is_zero() {
            return Err(KillSwitchError::invalid("created_at is required"));
        }
        if self.updated_at.is_zero() {
            return Err(KillSwitchError::invalid("updated_at is required"));
        }
        self.created_at = self.created_at.to_utc();
        self.updated_at = self.updated_at.to_utc();
        if self.producer_version.trim().is_empty() {
            "0.0.0-dev".clone_into(&mut self.producer_version);
        }
        for (i, e) in self.entries.iter_mut().enumerate() {
            e.normalize()
                .map_err(|err| KillSwitchError::invalid(format!("entries[{i}]: {err}")))?;
        }
        self.entries.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
        Ok(())
    }

    /// The state as written: pretty JSON, two-space indent, a trailing
    /// newline.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::Write`] if serialization fails.
    pub fn to_pretty_json(&self) -> Result<Vec<u8>, KillSwitchError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| KillSwitchError::Write {
            what: "state",
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Matches the state against a prepared intent at `now`.
    pub fn evaluate(&self, intent: &Intent, now: GoTime) -> KillSwitchDecision {
        let now = now.to_utc();
        let mut codes: Vec<String> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for entry in self.entries.iter().filter(|e| e.is_active_at(&now)) {
            if let Some(selector_codes) = entry.matches(intent) {
                codes.extend(selector_codes.into_iter().map(str::to_owned));
                ids.push(entry.entry_id.clone());
            }
        }
        if ids.is_empty() {
            return KillSwitchDecision::inactive(now);
        }
        codes.push(REASON_KILL_SWITCH_ACTIVE.to_owned());
        codes.sort();
        codes.dedup();
        ids.retain(|id| !id.is_empty());
        ids.sort();
        ids.dedup();
        let reason_code = codes
            .iter()
            .find(|c| c.as_str() != REASON_KILL_SWITCH_ACTIVE)
            .cloned()
            .unwrap_or_else(|| REASON_KILL_SWITCH_ACTIVE.to_owned());
        KillSwitchDecision {
            status: KillSwitchStatus::Active,
            reason_code,
            reason_codes: codes,
            matched_entry_ids: ids,
            evaluated_at: now,
        }
    }
}

const STATE_FIELDS: &[&str] = &[
    "schema_id",
    "schema_version",
    "created_at",
    "updated_at",
    "producer_version",
    "entries",
];
const ENTRY_FIELDS: &[&str] = &[
    "entry_id",
    "enabled",
    "agent_id",
    "identity",
    "tool_name",
    "target_kind",
    "target_value",
    "environment",
    "path_prefixes",
    "workspace_prefixes",
    "reason",
    "actor",
    "created_at",
    "expires_at",
];

/// The members of one object, checked against the known names: a member
/// equal to a known name but for ASCII case is refused (Go would read it
/// as that field; we do not guess), other unknown members are ignored.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, at: &str, known: &[&str]) -> Result<Self, KillSwitchError> {
        for key in map.keys() {
            if let Some(k) = known
                .iter()
                .find(|k| **k != key.as_str() && k.eq_ignore_ascii_case(key))
            {
                return Err(KillSwitchError::invalid(format!(
                    "{at}{key}: member name differs from {k} only in case"
                )));
            }
        }
        Ok(Self {
            map,
            at: at.to_owned(),
        })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn string(&self, key: &str) -> Result<String, KillSwitchError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(KillSwitchError::invalid(format!(
                "{}{key} must be a string",
                self.at
            ))),
        }
    }

    fn bool(&self, key: &str) -> Result<bool, KillSwitchError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(KillSwitchError::invalid(format!(
                "{}{key} must be a boolean",
                self.at
            ))),
        }
    }

    fn time(&self, key: &str) -> Result<GoTime, KillSwitchError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(GoTime::ZERO),
            Some(Value::String(s)) => GoTime::parse(s)
                .map_err(|e| KillSwitchError::invalid(format!("{}{key}: {e}", self.at))),
            Some(_) => Err(KillSwitchError::invalid(format!(
                "{}{key} must be an RFC 3339 time",
                self.at
            ))),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, KillSwitchError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(KillSwitchError::invalid(format!(
                        "{}{key} must be an array of strings",
                        self.at
                    ))),
                })
                .collect(),
            Some(_) => Err(KillSwitchError::invalid(format!(
                "{}{key} must be an array of strings",
                self.at
            ))),
        }
    }
}

fn entry_from_value(value: &Value, index: usize) -> Result<KillSwitchEntry, KillSwitchError> {
    let at = format!("entries[{index}].");
    let Value::Object(map) = value else {
        return Err(KillSwitchError::invalid(format!(
            "entries[{index}] must be an object"
        )));
    };
    let f = Fields::new(map, &at, ENTRY_FIELDS)?;
    Ok(KillSwitchEntry {
        entry_id: f.string("entry_id")?,
        enabled: f.bool("enabled")?,
        agent_id: f.string("agent_id")?,
        identity: f.string("identity")?,
        tool_name: f.string("tool_name")?,
        target_kind: f.string("target_kind")?,
        target_value: f.string("target_value")?,
        environment: f.string("environment")?,
        path_prefixes: f.strings("path_prefixes")?,
        workspace_prefixes: f.strings("workspace_prefixes")?,
        reason: f.string("reason")?,
        actor: f.string("actor")?,
        created_at: f.time("created_at")?,
        expires_at: f.time("expires_at")?,
    })
}

/// Whether a kill switch applied to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KillSwitchStatus {
    /// At least one entry matched: the call is blocked.
    Active,
    /// No entry matched.
    Inactive,
    /// The configured state could not be read and was required.
    Unavailable,
}

/// The kill switch's part of a decision (`kill_switch` in outputs and
/// traces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KillSwitchDecision {
    /// The status.
    pub status: KillSwitchStatus,
    /// The most specific code (empty when inactive).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason_code: String,
    /// Every code, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
    /// The ids of the matching entries, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched_entry_ids: Vec<String>,
    /// The evaluation time.
    pub evaluated_at: GoTime,
}

impl KillSwitchDecision {
    /// No entry matched at `now`.
    pub fn inactive(now: GoTime) -> Self {
        Self {
            status: KillSwitchStatus::Inactive,
            reason_code: String::new(),
            reason_codes: Vec::new(),
            matched_entry_ids: Vec::new(),
            evaluated_at: now.to_utc(),
        }
    }

    /// A required state could not be read.
    pub fn unavailable(now: GoTime) -> Self {
        Self {
            status: KillSwitchStatus::Unavailable,
            reason_code: REASON_KILL_SWITCH_STATE_UNAVAILABLE.to_owned(),
            reason_codes: vec![REASON_KILL_SWITCH_STATE_UNAVAILABLE.to_owned()],
            matched_entry_ids: Vec::new(),
            evaluated_at: now.to_utc(),
        }
    }

    /// Whether the call is blocked by it.
    pub fn is_active(&self) -> bool {
        self.status == KillSwitchStatus::Active
    }

    /// As JSON (for traces and outputs): the members of the `Serialize`
    /// form, built directly (this runs on every decision with a kill
    /// switch configured).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let status = match self.status {
            KillSwitchStatus::Active => "active",
            KillSwitchStatus::Inactive => "inactive",
            KillSwitchStatus::Unavailable => "unavailable",
        };
        m.insert("status".to_owned(), Value::String(status.to_owned()));
        if !self.reason_code.is_empty() {
            m.insert(
                "reason_code".to_owned(),
                Value::String(self.reason_code.clone()),
            );
        }
        let list = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        if !self.reason_codes.is_empty() {
            m.insert("reason_codes".to_owned(), list(&self.reason_codes));
        }
        if !self.matched_entry_ids.is_empty() {
            m.insert(
                "matched_entry_ids".to_owned(),
                list(&self.matched_entry_ids),
            );
        }
        m.insert(
            "evaluated_at".to_owned(),
            Value::String(self.evaluated_at.format()),
        );
        Value::Object(m)
    }
}

/// What the gate is told about the kill switch for one decision.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KillSwitchCheck {
    /// The state, loaded.
    State(Arc<KillSwitchState>),
    /// The state is configured, could not be read, and is required for
    /// this call: the call is blocked before any rule is evaluated.
    Unavailable,
}

/// One line of `kill_switch_journal.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KillSwitchJournalEntry {
    /// Always [`JOURNAL_SCHEMA_ID`].
    pub schema_id: &'static str,
    /// Always `1.0.0`.
    pub schema_version: &'static str,
    /// The decision's `created_at`.
    pub created_at: GoTime,
    /// The writer's version.
    pub producer_version: String,
    /// `gate_eval` or `mcp_proxy`.
    pub source: String,
    /// The trace id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trace_id: String,
    /// `context.job_id`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub job_id: String,
    /// The tool.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tool_name: String,
    /// `context.agent_id`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub agent_id: String,
    /// `context.identity`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// The decision's codes.
    pub reason_codes: Vec<String>,
    /// The matching entries.
    pub matched_entry_ids: Vec<String>,
}

impl KillSwitchJournalEntry {
    /// The journal line for an active decision on `intent`.
    pub fn new(
        decision: &KillSwitchDecision,
        intent: &Intent,
        created_at: GoTime,
        producer_version: &str,
        source: &str,
        trace_id: &str,
    ) -> Self {
        let ctx = intent.context();
        Self {
            schema_id: JOURNAL_SCHEMA_ID,
            schema_version: STATE_SCHEMA_VERSION,
            created_at: created_at.to_utc(),
            producer_version: if producer_version.is_empty() {
                "0.0.0-dev".to_owned()
            } else {
                producer_version.to_owned()
            },
            source: source.to_owned(),
            trace_id: trace_id.to_owned(),
            job_id: trim(&ctx.job_id).to_owned(),
            tool_name: intent.tool_name().to_owned(),
            agent_id: trim(&ctx.agent_id).to_owned(),
            identity: trim(&ctx.identity).to_owned(),
            reason_codes: decision.reason_codes.clone(),
            matched_entry_ids: decision.matched_entry_ids.clone(),
        }
    }
}

/// Where the kill-switch state lives, and its audit journal.
///
/// [`FileKillSwitchStore`] is the reference's file; a shared store (a
/// database, a service) can implement this trait instead.
pub trait KillSwitchStore: Send + Sync + std::fmt::Debug {
    /// The current state.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError`] when the state cannot be read or is invalid.
    fn load(&self) -> Result<Arc<KillSwitchState>, KillSwitchError>;

    /// Appends one line to the audit journal, durably.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::Write`] when the line could not be written.
    fn journal(&self, entry: &KillSwitchJournalEntry) -> Result<(), KillSwitchError>;
}

/// The state in a file, re-read whenever the file changes, and the journal
/// `kill_switch_journal.jsonl` beside it.
///
/// A long-running server sees an operator's `gait kill-switch add` within
/// the store's re-check interval ([`DEFAULT_KILL_SWITCH_RECHECK`], 50 ms,
/// or [`FileKillSwitchStore::with_recheck_interval`]): the file is
/// `stat`ed at most once per interval, and re-read only when its identity,
/// size or times changed. Errors are never cached: a missing or invalid
/// state is looked at again on every decision.
#[derive(Debug)]
pub struct FileKillSwitchStore {
    path: PathBuf,
    recheck: Duration,
    cache: Mutex<Option<CachedState>>,
}

/// How long a [`FileKillSwitchStore`] trusts its last look at the file
/// before it `stat`s it again.
pub const DEFAULT_KILL_SWITCH_RECHECK: Duration = Duration::from_millis(50);

/// The last version of the state read, and when the file was last looked at.
#[derive(Debug)]
struct CachedState {
    stamp: FileStamp,
    checked: Instant,
    state: Arc<KillSwitchState>,
}

/// What identifies one version of the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
            #[cfg(unix)]
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl FileKillSwitchStore {
    /// A store for the state file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            recheck: DEFAULT_KILL_SWITCH_RECHECK,
            cache: Mutex::new(None),
        }
    }

    /// The same store, looking at the file at most once per `interval`
    /// (zero: on every decision, one `stat` each).
    #[must_use]
    pub fn with_recheck_interval(mut self, interval: Duration) -> Self {
        self.recheck = interval;
        self
    }

    /// A store for the state at `path` as a boundary accepts it: trimmed
    /// and cleaned, absolute or inside the working folder.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::NotLocal`] for a path that climbs out with `..`.
    pub fn local(path: &str) -> Result<Self, KillSwitchError> {
        gait_digest::local_path(path.trim())
            .map(Self::new)
            .ok_or(KillSwitchError::NotLocal)
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal file, in the state file's folder.
    pub fn journal_path(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(JOURNAL_FILE_NAME),
            _ => PathBuf::from(JOURNAL_FILE_NAME),
        }
    }

    /// Reads the state file, without the cache.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError::NotFound`] for a missing file, other variants
    /// for an unreadable or invalid one.
    pub fn read(path: &Path) -> Result<KillSwitchState, KillSwitchError> {
        read_state(path).map(|(_, s)| s)
    }

    /// Writes `state` (a normalized copy: entries sorted) atomically, mode 0600, creating
    /// the folder (0750) if needed.
    ///
    /// # Errors
    ///
    /// [`KillSwitchError`] if the state is invalid or cannot be written.
    pub fn write(path: &Path, state: &KillSwitchState) -> Result<(), KillSwitchError> {
        let mut normalized = state.clone();
        normalized.normalize()?;
        let bytes = normalized.to_pretty_json()?;
        let werr = |reason: String| KillSwitchError::Write {
            what: "state",
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            gait_sign::create_private_dir(dir).map_err(|e| werr(e.to_string()))?;
        }
        gait_sign::write_file_atomic(path, &bytes, gait_sign::PRIVATE_FILE_MODE, true)
            .map_err(|e| werr(e.to_string()))
    }

    /// Runs `change` on the state under the state's lock (a missing file
    /// gives `missing()`, or an error when that is `None`), then writes
    /// the result. Returns the state as changed, before the write sorts
    /// it (new entries last, as the reference reports them).
    ///
    /// # Errors
    ///
    /// [`KillSwitchError`] from loading, `change` or writing.
    pub fn update<T>(
        path: &Path,
        missing: Option<&dyn Fn() -> KillSwitchState>,
        change: impl FnOnce(&mut KillSwitchState) -> Result<T, KillSwitchError>,
    ) -> Result<(KillSwitchState, T), KillSwitchError> {
        let _lock = FileLock::acquire(&sibling(path, ".lock"), "state")?;
        let mut state = match Self::read(path) {
            Ok(s) => s,
            Err(KillSwitchError::NotFound(p)) => match missing {
                Some(fresh) => fresh(),
                None => return Err(KillSwitchError::NotFound(p)),
            },
            Err(e) => return Err(e),
        };
        let out = change(&mut state)?;
        Self::write(path, &state)?;
        Ok((state, out))
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read_state(path: &Path) -> Result<(FileStamp, KillSwitchState), KillSwitchError> {
    use std::io::Read as _;
    let file = gait_sign::open_regular_file(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            KillSwitchError::NotFound(path.to_path_buf())
        } else {
            KillSwitchError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let meta = file.metadata().map_err(|source| KillSwitchError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| KillSwitchError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(KillSwitchError::invalid(format!(
            "state file exceeds {MAX_STATE_BYTES} bytes"
        )));
    }
    let state = KillSwitchState::from_json_slice(&bytes)?;
    Ok((FileStamp::of(&meta), state))
}

impl KillSwitchStore for FileKillSwitchStore {
    fn load(&self) -> Result<Arc<KillSwitchState>, KillSwitchError> {
        // A poisoned cache is only a cache: fall back to reading the file.
        let mut cache = self.cache.lock().ok();
        if let Some(Some(cached)) = cache.as_deref_mut() {
            let now = Instant::now();
            if now.saturating_duration_since(cached.checked) < self.recheck {
                return Ok(cached.state.clone());
            }
            let stamp = std::fs::metadata(&self.path).map(|m| FileStamp::of(&m));
            if stamp.as_ref().is_ok_and(|s| *s == cached.stamp) {
                cached.checked = now;
                return Ok(cached.state.clone());
            }
        }
        let checked = Instant::now();
        let (stamp, state) = match read_state(&self.path) {
            Ok(read) => read,
            Err(e) => {
                if let Some(cache) = cache.as_deref_mut() {
                    *cache = None;
                }
                return Err(e);
            }
        };
        let state = Arc::new(state);
        if let Some(cache) = cache.as_deref_mut() {
            *cache = Some(CachedState {
                stamp,
                checked,
                state: state.clone(),
            });
        }
        Ok(state)
    }

    fn journal(&self, entry: &KillSwitchJournalEntry) -> Result<(), KillSwitchError> {
        use std::io::Write as _;
        let path = self.journal_path();
        let werr = |reason: String| KillSwitchError::Write {
            what: "journal",
            reason,
        };
        let mut line = serde_json::to_vec(entry).map_err(|e| werr(e.to_string()))?;
        line.push(b'\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            gait_sign::create_private_dir(dir).map_err(|e| werr(e.to_string()))?;
        }
        let _lock = FileLock::acquire(&sibling(&path, ".lock"), "journal")?;
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(gait_sign::PRIVATE_FILE_MODE);
        }
        let mut file = options.open(&path).map_err(|e| werr(e.to_string()))?;
        file.write_all(&line).map_err(|e| werr(e.to_string()))?;
        file.sync_all().map_err(|e| werr(e.to_string()))
    }
}

/// An exclusive OS lock on a lock file, released when dropped (also when
/// the process dies, so a killed writer never blocks the next one).
struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    fn acquire(path: &Path, what: &'static str) -> Result<FileLock, KillSwitchError> {
        let werr = |reason: String| KillSwitchError::Write { what, reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            gait_sign::create_private_dir(dir).map_err(|e| werr(e.to_string()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(gait_sign::PRIVATE_FILE_MODE);
        }
        let file = options
            .open(path)
            .map_err(|e| werr(format!("open lock {}: {e}", path.display())))?;
        let deadline = Instant::now() + LOCK_TIMEOUT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(werr(format!("timed out waiting for {}", path.display())));
                    }
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(werr(format!("lock {}: {e}", path.display())));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn state(entries: &str) -> KillSwitchState {
        KillSwitchState::from_json_slice(
            format!(
                r#"{{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{entries}]}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn intent(extra_ctx: &str, targets: &str) -> Intent {
        Intent::from_json_str(&format!(
            r#"{{"tool_name":"fs.write_file","args":{{}},"targets":[{targets}],
            "context":{{"identity":"alice","workspace":"/srv/ws/main/x","risk_class":"low"{extra_ctx}}}}}"#
        ))
        .unwrap()
    }

    fn now() -> GoTime {
        GoTime::parse("2026-03-01T10:00:00Z").unwrap()
    }

    const C: &str = r#""created_at":"2026-01-01T00:00:00Z""#;

    #[test]
    fn id_only_entry_is_global() {
        let s = state(&format!(r#"{{"entry_id":"all","enabled":true,{C}}}"#));
        let d = s.evaluate(&intent("", ""), now());
        assert!(d.is_active());
        assert_eq!(d.reason_code, "kill_switch_active");
        assert_eq!(d.reason_codes, ["kill_switch_active"]);
        assert_eq!(d.matched_entry_ids, ["all"]);
    }

    #[test]
    fn selectors_are_anded() {
        let s = state(&format!(
            r#"{{"entry_id":"e","enabled":true,"identity":"alice","tool_name":"FS.Write_File",{C}}}"#
        ));
        let d = s.evaluate(&intent("", ""), now());
        assert_eq!(
            d.reason_codes,
            [
                "kill_switch_active",
                "kill_switch_identity_active",
                "kill_switch_tool_name_active"
            ]
        );
        assert_eq!(d.reason_code, "kill_switch_identity_active");
        let s = state(&format!(
            r#"{{"entry_id":"e","enabled":true,"identity":"bob","tool_name":"fs.write_file",{C}}}"#
        ));
        assert!(!s.evaluate(&intent("", ""), now()).is_active());
    }

    #[test]
    fn disabled_and_expired_entries_never_match() {
        let s = state(&format!(
            r#"{{"entry_id":"off","enabled":false,{C}}},
               {{"entry_id":"exp","enabled":true,"expires_at":"2026-03-01T10:00:00Z",{C}}}"#
        ));
        let d = s.evaluate(&intent("", ""), now());
        assert_eq!(d.status, KillSwitchStatus::Inactive);
        assert!(d.reason_codes.is_empty());
        // One nanosecond later than now: still active.
        let s = state(&format!(
            r#"{{"entry_id":"exp","enabled":true,"expires_at":"2026-03-01T10:00:00.000000001Z",{C}}}"#
        ));
        assert!(s.evaluate(&intent("", ""), now()).is_active());
    }

    #[test]
    fn path_prefixes_match_whole_elements_after_cleaning() {
        let s = state(&format!(
            r#"{{"entry_id":"p","enabled":true,"path_prefixes":["/srv/data/"],{C}}}"#
        ));
        let t = |v: &str| format!(r#"{{"kind":"path","value":"{v}","operation":"write"}}"#);
        assert!(s.evaluate(&intent("", &t("/srv/data")), now()).is_active());
        assert!(
            s.evaluate(&intent("", &t("/srv/data/x")), now())
                .is_active()
        );
        assert!(
            s.evaluate(&intent("", &t("/a/../srv/data/f")), now())
                .is_active()
        );
        assert!(
            !s.evaluate(&intent("", &t("/srv/database")), now())
                .is_active()
        );
        let root = state(&format!(
            r#"{{"entry_id":"p","enabled":true,"path_prefixes":["/"],{C}}}"#
        ));
        assert!(root.evaluate(&intent("", &t("/x")), now()).is_active());
        assert!(!root.evaluate(&intent("", &t("rel/x")), now()).is_active());
    }

    #[test]
    fn workspace_prefixes_match() {
        let s = state(&format!(
            r#"{{"entry_id":"w","enabled":true,"workspace_prefixes":["/srv/ws/main"],{C}}}"#
        ));
        let d = s.evaluate(&intent("", ""), now());
        assert_eq!(d.reason_code, "kill_switch_workspace_active");
    }

    #[test]
    fn tool_selector_matches_script_steps() {
        let s = state(&format!(
            r#"{{"entry_id":"t","enabled":true,"tool_name":"tool.exec",{C}}}"#
        ));
        let script = Intent::from_json_str(
            r#"{"tool_name":"script","args":{},"script":{"steps":[
                {"tool_name":"tool.read","args":{},"targets":[{"kind":"path","value":"/a","operation":"read"}]},
                {"tool_name":"Tool.Exec","args":{},"targets":[{"kind":"other","value":"ls","operation":"execute"}]}]},
              "context":{"identity":"alice","workspace":"/w","risk_class":"low"}}"#,
        )
        .unwrap();
        assert!(s.evaluate(&script, now()).is_active());
    }

    #[test]
    fn load_errors() {
        let bad: &[&str] = &[
            "",
            "[]",
            "{",
            r#"{"created_at":"2026-01-01T00:00:00Z"}"#,
            r#"{"schema_id":"x","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"entry_id":"x","enabled":true}]}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"enabled":true,"created_at":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"entry_id":"x","target_kind":"ip","created_at":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":{}}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"entry_id":1,"created_at":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","ENTRIES":[]}"#,
            r#"{"created_at":"2026-01-01T00:00:00Z","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#,
        ];
        for b in bad {
            assert!(
                KillSwitchState::from_json_slice(b.as_bytes()).is_err(),
                "accepted {b}"
            );
        }
        // Unknown members are ignored; null entries are none.
        let s = KillSwitchState::from_json_slice(
            br#"{"created_at":"2026-01-01T01:00:00+01:00","updated_at":"2026-01-01T00:00:00Z","entries":null,"x":1}"#,
        )
        .unwrap();
        assert!(s.entries.is_empty());
        assert_eq!(s.created_at.format(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn prefixes_are_cleaned_sorted_and_deduplicated() {
        let s = state(&format!(
            r#"{{"entry_id":"p","path_prefixes":[" /repo/src/ ","./tmp/x/../y","/repo/src",".","","/b//c/"],{C}}}"#
        ));
        assert_eq!(s.entries[0].path_prefixes, ["/b/c", "/repo/src", "tmp/y"]);
    }

    #[test]
    fn to_json_equals_the_serialize_form() {
        let s = state(&format!(r#"{{"entry_id":"all","enabled":true,{C}}}"#));
        for d in [
            s.evaluate(&intent("", ""), now()),
            KillSwitchDecision::inactive(now()),
            KillSwitchDecision::unavailable(now()),
        ] {
            assert_eq!(d.to_json(), serde_json::to_value(&d).unwrap());
        }
    }

    #[test]
    fn derived_id_shape() {
        let mut e = KillSwitchEntry::new(now());
        "fs.write_file".clone_into(&mut e.tool_name);
        e.normalize().unwrap();
        let id = e.derived_id();
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn file_store_rereads_on_change_and_journals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.json");
        let store = FileKillSwitchStore::new(&path).with_recheck_interval(Duration::ZERO);
        assert!(matches!(store.load(), Err(KillSwitchError::NotFound(_))));
        let st = KillSwitchState::new(now(), "t");
        FileKillSwitchStore::write(&path, &st).unwrap();
        assert!(store.load().unwrap().entries.is_empty());
        FileKillSwitchStore::update(&path, None, |s| {
            let mut e = KillSwitchEntry::new(now());
            "g".clone_into(&mut e.entry_id);
            s.entries.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(store.load().unwrap().entries.len(), 1);
        let d = store.load().unwrap().evaluate(&intent("", ""), now());
        let line = KillSwitchJournalEntry::new(&d, &intent("", ""), now(), "", "gate_eval", "t1");
        store.journal(&line).unwrap();
        store.journal(&line).unwrap();
        let text = std::fs::read_to_string(store.journal_path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains(r#""source":"gate_eval""#));
    }

    #[test]
    fn file_store_trusts_its_last_look_for_the_recheck_interval_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.json");
        FileKillSwitchStore::write(&path, &KillSwitchState::new(now(), "t")).unwrap();
        let add = || {
            FileKillSwitchStore::update(&path, None, |s| {
                let mut e = KillSwitchEntry::new(now());
                e.entry_id = format!("e{}", s.entries.len());
                s.entries.push(e);
                Ok(())
            })
            .unwrap();
        };
        // Within the interval the cached state answers, without a look.
        let slow = FileKillSwitchStore::new(&path).with_recheck_interval(Duration::from_secs(3600));
        assert!(slow.load().unwrap().entries.is_empty());
        add();
        assert!(slow.load().unwrap().entries.is_empty());
        // With a zero interval every load looks, and sees the change.
        let eager = FileKillSwitchStore::new(&path).with_recheck_interval(Duration::ZERO);
        assert_eq!(eager.load().unwrap().entries.len(), 1);
        add();
        assert_eq!(eager.load().unwrap().entries.len(), 2);
        // An error is never cached: a corrupt file fails every load, and
        // the repaired file is read again.
        std::fs::write(&path, b"{").unwrap();
        assert!(eager.load().is_err());
        assert!(eager.load().is_err());
        FileKillSwitchStore::write(&path, &KillSwitchState::new(now(), "t")).unwrap();
        assert!(eager.load().unwrap().entries.is_empty());
        // The default interval is short enough for the 1 s bound.
        assert!(DEFAULT_KILL_SWITCH_RECHECK <= Duration::from_millis(100));
    }
}
