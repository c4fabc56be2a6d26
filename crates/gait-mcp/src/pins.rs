//! Tool definition pins: trust on first use, per proxy session.

use std::collections::BTreeMap;

use gait_digest::Sha256Digest;
use serde_json::Value;

use crate::mapping::{Hints, ToolInfo, tool_definition_digest};

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

    /// The number of pinned tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is pinned.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
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
        assert!(pins.observe(&[v1]).is_empty());
        assert!(!pins.get("w").unwrap().changed());
    }
}
