//! Tool definition pins: trust on first use, per proxy session.

use std::collections::BTreeMap;
use std::path::Path;

use gait_digest::Sha256Digest;
use serde_json::{Map, Value, json};

use crate::mapping::{Hints, ToolInfo, tool_definition_digest};
use crate::{Error, PinFileError};

/// The schema id of a pin file.
pub const PINS_SCHEMA_ID: &str = "gait.mcp.tool_pins";
/// The schema version of a pin file.
pub const PINS_SCHEMA_VERSION: &str = "1.0.0";
/// The largest pin file read.
pub const MAX_PIN_FILE_BYTES: u64 = 4 << 20;

/// A change of a pinned tool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PinChange {
    /// The tool's name.
    pub name: String,
    /// The pinned digest.
    pub pinned: Sha256Digest,
    /// The digest now listed.
    pub current: Sha256Digest,
}

/// The tools seen in `tools/list` results, by name.
///
/// The first definition seen for a name is pinned, with its hints; later
/// listings only update the current digest. Hints always come from the
/// pinned definition, so a server cannot relabel a tool as read-only after
/// it was first listed.
#[derive(Debug, Clone, Default)]
pub struct ToolPins {
    tools: BTreeMap<String, ToolInfo>,
}

impl ToolPins {
    /// No pins.
    pub fn new() -> Self {
        Self::default()
    }

    /// What is known about the tool called `name` (exact name).
    pub fn get(&self, name: &str) -> Option<&ToolInfo> {
        self.tools.get(name)
    }

    /// Whether two or more pinned tools have names equal to `name` once
    /// lowercased. Policies name tools lowercased, so they cannot tell
    /// such tools apart; the proxy refuses calls to them
    /// (`mcp_tool_name_ambiguous`).
    pub fn is_ambiguous(&self, name: &str) -> bool {
        let lower = name.trim().to_lowercase();
        self.tools
            .keys()
            .filter(|k| k.trim().to_lowercase() == lower)
            .take(2)
            .count()
            > 1
    }

    /// The number of pinned tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is pinned.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Pins read from a pin file (see [`ToolPins::to_json`]).
    ///
    /// # Errors
    ///
    /// [`Error::PinFile`] naming the file and field when the file is not a
    /// pin file.
    pub fn from_json_slice(bytes: &[u8], file: &str) -> Result<Self, Error> {
        let bad = |problem: PinFileError| Error::PinFile {
            file: file.to_owned(),
            problem,
        };
        let v =
            gait_digest::canonical::parse_strict(bytes).map_err(|e| bad(PinFileError::Json(e)))?;
        if v.get("schema_id").and_then(Value::as_str) != Some(PINS_SCHEMA_ID) {
            return Err(bad(PinFileError::SchemaId));
        }
        if v.get("schema_version").and_then(Value::as_str) != Some(PINS_SCHEMA_VERSION) {
            return Err(bad(PinFileError::SchemaVersion));
        }
        let tools = v
            .get("tools")
            .and_then(Value::as_object)
            .ok_or_else(|| bad(PinFileError::ToolsNotObject))?;
        let mut out = Self::new();
        for (name, entry) in tools {
            let digest = entry
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| Sha256Digest::parse_hex(d).ok())
                .ok_or_else(|| bad(PinFileError::BadDigest(name.clone())))?;
            let flag = |k: &str| {
                entry
                    .get("hints")
                    .and_then(|h| h.get(k))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            };
            let hints = Hints::new(
                flag("read_only_hint"),
                flag("destructive_hint"),
                flag("idempotent_hint"),
                flag("open_world_hint"),
            );
            out.tools.insert(
                name.clone(),
                ToolInfo {
                    hints,
                    pinned: digest,
                    current: digest,
                },
            );
        }
        Ok(out)
    }

    /// Reads a pin file; a missing file gives no pins.
    ///
    /// # Errors
    ///
    /// [`Error::PinFile`] when the file cannot be read or is invalid.
    pub fn load(path: &Path) -> Result<Self, Error> {
        use std::io::Read as _;
        let bad = |problem: PinFileError| Error::PinFile {
            file: path.display().to_string(),
            problem,
        };
        let file = match gait_sign::open_regular_file(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(e) => return Err(bad(PinFileError::Read(e))),
        };
        let mut bytes = Vec::new();
        file.take(MAX_PIN_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(PinFileError::Read(e)))?;
        if bytes.len() as u64 > MAX_PIN_FILE_BYTES {
            return Err(bad(PinFileError::TooLarge));
        }
        Self::from_json_slice(&bytes, &path.display().to_string())
    }

    /// The pins as a pin file: `{schema_id, schema_version, tools: {name:
    /// {digest, hints}}}` (the pinned digests and hints, sorted by name).
    pub fn to_json(&self) -> Value {
        let mut tools = Map::new();
        for (name, info) in &self.tools {
            tools.insert(
                name.clone(),
                json!({
                    "digest": info.pinned.to_hex(),
                    "hints": {
                        "read_only_hint": info.hints.read_only,
                        "destructive_hint": info.hints.destructive,
                        "idempotent_hint": info.hints.idempotent,
                        "open_world_hint": info.hints.open_world,
                    },
                }),
            );
        }
        json!({
            "schema_id": PINS_SCHEMA_ID,
            "schema_version": PINS_SCHEMA_VERSION,
            "tools": tools,
        })
    }

    /// Writes the pins to `path` atomically (pretty JSON, mode 0600).
    ///
    /// # Errors
    ///
    /// [`Error::EncodePins`] or [`Error::WritePins`] when the file cannot
    /// be written.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let mut bytes = serde_json::to_vec_pretty(&self.to_json()).map_err(Error::EncodePins)?;
        bytes.push(b'\n');
        let write = |source: gait_sign::Error| Error::WritePins {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            gait_sign::create_private_dir(dir).map_err(write)?;
        }
        gait_sign::write_file_atomic(path, &bytes, gait_sign::PRIVATE_FILE_MODE, true)
            .map_err(write)
    }

    /// Records the tools of one `tools/list` result (`result.tools`),
    /// returning the definitions that differ from their pins (and were not
    /// already reported as such).
    pub fn observe(&mut self, tools: &[Value]) -> Vec<PinChange> {
        let mut changes = Vec::new();
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            let digest = tool_definition_digest(tool);
            match self.tools.get_mut(name) {
                None => {
                    self.tools.insert(
                        name.to_owned(),
                        ToolInfo {
                            hints: Hints::from_annotations(tool.get("annotations")),
                            pinned: digest,
                            current: digest,
                        },
                    );
                }
                Some(info) => {
                    let newly = digest != info.current && digest != info.pinned;
                    info.current = digest;
                    if newly {
                        changes.push(PinChange {
                            name: name.to_owned(),
                            pinned: info.pinned,
                            current: digest,
                        });
                    }
                }
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use serde_json::json;

    #[test]
    fn first_use_pins_and_changes_are_reported_once() {
        let mut pins = ToolPins::new();
        let v1 = json!({"name":"w","description":"writes","annotations":{"readOnlyHint":false}});
        let v2 =
            json!({"name":"w","description":"reads, honest","annotations":{"readOnlyHint":true}});
        assert!(pins.observe(std::slice::from_ref(&v1)).is_empty());
        assert!(!pins.get("w").unwrap().changed());
        let c = pins.observe(std::slice::from_ref(&v2));
        assert_eq!(c.len(), 1);
        let info = pins.get("w").unwrap();
        assert!(info.changed());
        // Hints stay those of the pinned definition.
        assert!(!info.hints.read_only);
        assert!(pins.observe(std::slice::from_ref(&v2)).is_empty());
        // Back to the pinned definition: no longer changed.
        assert!(pins.observe(std::slice::from_ref(&v1)).is_empty());
        assert!(!pins.get("w").unwrap().changed());
    }

    #[test]
    fn names_equal_after_lowercasing_are_ambiguous() {
        let mut pins = ToolPins::new();
        pins.observe(&[json!({"name":"echo"}), json!({"name":"run"})]);
        assert!(!pins.is_ambiguous("echo") && !pins.is_ambiguous("ECHO"));
        pins.observe(&[json!({"name":"Echo"})]);
        assert!(pins.is_ambiguous("echo") && pins.is_ambiguous("ECHO"));
        assert!(!pins.is_ambiguous("run"));
    }

    #[test]
    fn pin_files_round_trip_and_keep_detecting_changes() {
        let mut pins = ToolPins::new();
        let v1 = json!({"name":"w","annotations":{"destructiveHint":true}});
        pins.observe(std::slice::from_ref(&v1));
        let bytes = serde_json::to_vec(&pins.to_json()).unwrap();
        let mut loaded = ToolPins::from_json_slice(&bytes, "p.json").unwrap();
        assert_eq!(loaded.to_json(), pins.to_json());
        assert!(loaded.get("w").unwrap().hints.destructive);
        let v2 = json!({"name":"w","annotations":{"destructiveHint":false}});
        assert_eq!(loaded.observe(&[v2]).len(), 1);
        assert!(ToolPins::from_json_slice(b"{}", "p.json").is_err());
        assert!(
            ToolPins::from_json_slice(
                br#"{"schema_id":"gait.mcp.tool_pins","schema_version":"1.0.0","tools":{"w":{"digest":"zz"}}}"#,
                "p.json"
            )
            .is_err()
        );
    }
}
