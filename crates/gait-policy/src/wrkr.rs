//! Wrkr tool inventories: per-tool metadata (data class, endpoint class,
//! autonomy level) that the gate adds to an intent's `auth_context` as
//! `wrkr.*` keys, for the `context_*` rule selectors.
//!
//! An inventory file is either `{"items": [...]}` or a bare array of
//! `{tool_name, data_class, endpoint_class, autonomy_level}`; values are
//! trimmed and lowercased, entries without a tool name are skipped.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::intent::gostr::lower;

/// `auth_context` key for the tool name.
pub const TOOL_NAME_KEY: &str = "wrkr.tool_name";
/// `auth_context` key for the data class.
pub const DATA_CLASS_KEY: &str = "wrkr.data_class";
/// `auth_context` key for the endpoint class.
pub const ENDPOINT_CLASS_KEY: &str = "wrkr.endpoint_class";
/// `auth_context` key for the autonomy level.
pub const AUTONOMY_LEVEL_KEY: &str = "wrkr.autonomy_level";

/// The largest inventory accepted.
pub const MAX_INVENTORY_BYTES: usize = 16 << 20;

/// One tool's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WrkrTool {
    /// The tool name (lowercase).
    pub tool_name: String,
    /// Its data class.
    pub data_class: String,
    /// Its endpoint class.
    pub endpoint_class: String,
    /// Its autonomy level.
    pub autonomy_level: String,
}

/// Why an inventory could not be parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WrkrError {
    /// The inventory is larger than [`MAX_INVENTORY_BYTES`].
    #[error("parse wrkr inventory: larger than {max} bytes", max = MAX_INVENTORY_BYTES)]
    TooLarge,
    /// The inventory is not strict JSON.
    #[error("parse wrkr inventory: {0}")]
    Json(#[source] gait_digest::Error),
    /// `items` is not an array.
    #[error("parse wrkr inventory: items must be an array")]
    ItemsNotArray,
    /// The document is neither an array nor `{"items": [...]}`.
    #[error("parse wrkr inventory: expected an array or {{\"items\": [...]}}")]
    NotInventory,
    /// An item does not decode.
    #[error("parse wrkr inventory: items[{index}]: {source}")]
    Item {
        /// The item's index.
        index: usize,
        /// The decoder's reason.
        #[source]
        source: serde_json::Error,
    },
}

/// A parsed inventory, keyed by lowercase tool name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WrkrInventory {
    tools: BTreeMap<String, WrkrTool>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    data_class: Option<String>,
    #[serde(default)]
    endpoint_class: Option<String>,
    #[serde(default)]
    autonomy_level: Option<String>,
}

impl WrkrInventory {
    /// Parses inventory JSON.
    ///
    /// # Errors
    ///
    /// [`WrkrError`] when the bytes are too many, not strict JSON, or not
    /// an inventory.
    pub fn from_json_slice(bytes: &[u8]) -> Result<WrkrInventory, WrkrError> {
        if bytes.len() > MAX_INVENTORY_BYTES {
            return Err(WrkrError::TooLarge);
        }
        let value = gait_digest::canonical::parse_strict(bytes).map_err(WrkrError::Json)?;
        let items = match &value {
            Value::Object(m) => match m.get("items") {
                Some(Value::Array(a)) => a.clone(),
                Some(_) => return Err(WrkrError::ItemsNotArray),
                None => return Err(WrkrError::NotInventory),
            },
            Value::Array(a) => a.clone(),
            _ => return Err(WrkrError::NotInventory),
        };
        let mut tools = BTreeMap::new();
        for (i, item) in items.into_iter().enumerate() {
            let item: Item = serde_json::from_value(item)
                .map_err(|source| WrkrError::Item { index: i, source })?;
            let norm = |s: Option<String>| lower(s.unwrap_or_default().trim());
            let name = norm(item.tool_name);
            if name.is_empty() {
                continue;
            }
            tools.insert(
                name.clone(),
                WrkrTool {
                    tool_name: name,
                    data_class: norm(item.data_class),
                    endpoint_class: norm(item.endpoint_class),
                    autonomy_level: norm(item.autonomy_level),
                },
            );
        }
        Ok(WrkrInventory { tools })
    }

    /// The metadata of a tool.
    pub fn tool(&self, tool_name: &str) -> Option<&WrkrTool> {
        self.tools.get(&lower(tool_name.trim()))
    }

    /// Whether the inventory lists no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The `wrkr.*` entries to add to `auth_context` for `tool_name`.
    pub fn auth_entries(&self, tool_name: &str) -> Option<Map<String, Value>> {
        let t = self.tool(tool_name)?;
        let mut m = Map::new();
        m.insert(TOOL_NAME_KEY.into(), Value::String(t.tool_name.clone()));
        m.insert(DATA_CLASS_KEY.into(), Value::String(t.data_class.clone()));
        m.insert(
            ENDPOINT_CLASS_KEY.into(),
            Value::String(t.endpoint_class.clone()),
        );
        m.insert(
            AUTONOMY_LEVEL_KEY.into(),
            Value::String(t.autonomy_level.clone()),
        );
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_parse() {
        let a = WrkrInventory::from_json_slice(
            br#"{"items":[{"tool_name":" Tool.Read ","data_class":"PII"}]}"#,
        )
        .unwrap();
        assert_eq!(a.tool("tool.read").unwrap().data_class, "pii");
        let b = WrkrInventory::from_json_slice(
            br#"[{"tool_name":"x","autonomy_level":"High"},{"data_class":"skip"}]"#,
        )
        .unwrap();
        assert_eq!(b.auth_entries("X").unwrap()[AUTONOMY_LEVEL_KEY], "high");
        assert!(WrkrInventory::from_json_slice(br#"{"items":{}}"#).is_err());
        assert!(WrkrInventory::from_json_slice(b"nope").is_err());
    }
}
