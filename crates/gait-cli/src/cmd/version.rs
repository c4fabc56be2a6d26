//! `gait version`

use serde_json::{Map, Value};

use crate::exit::Exit;
use crate::output::{Out, stdout_line};

/// The version this binary records in artifacts it produces.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Prints `gait <version>` or `{"ok":true,"version":…}`.
pub fn run(out: &Out, json: bool) -> Exit {
    if json {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(true));
        m.insert("version".into(), Value::String(VERSION.into()));
        return out.json(m, Exit::Ok);
    }
    stdout_line(&format!("gait {VERSION}"));
    Exit::Ok
}
