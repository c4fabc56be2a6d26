//! Arbitrary bytes as a `gait serve` request body.
//!
//! The body goes through what the HTTP and stdio front ends do with it:
//! the JSON value cap (`check_json_values`), then
//! `DecisionService::handle_request` with a small policy and a trace
//! directory under the system temp dir. Nothing may panic; a decision
//! must come with its written trace (removed again here, so long runs do
//! not fill the disk), and an error must be one of the two classes a
//! caller can see (6 invalid input, 1 internal).

#![no_main]

use std::sync::LazyLock;

use gait_policy::{Gate, Policy};
use gait_serve::{DEFAULT_MAX_REQUEST_VALUES, DecisionService, ServiceConfig, check_json_values};
use gait_sign::{SigningKey, Trace};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const POLICY: &str = "default_verdict: block\nrules:\n  - name: reads\n    priority: 1\n    effect: allow\n    match:\n      tool_names: [tool.read]\n  - name: writes\n    priority: 2\n    effect: require_approval\n    match:\n      tool_names: [tool.write]\n  - name: cel\n    priority: 3\n    effect: block\n    match:\n      when: \"size(intent.targets) > 2\"\n";

static SERVICE: LazyLock<DecisionService> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("gait-fuzz-serve-{}", std::process::id()));
    let gate = Gate::new(Policy::from_yaml_str(POLICY).expect("the fixed policy loads"));
    let key = SigningKey::<Trace>::generate().expect("a key");
    DecisionService::new(ServiceConfig::new(gate, key, dir)).expect("the service starts")
});

fuzz_target!(|data: &[u8]| {
    if check_json_values(data, DEFAULT_MAX_REQUEST_VALUES).is_err() {
        return;
    }
    match SERVICE.handle_request(data) {
        Ok(eval) => {
            assert!(eval.trace_path.exists(), "a decision without its trace");
            assert_eq!(
                eval.output.get("verdict").and_then(Value::as_str),
                Some(eval.verdict.as_str())
            );
            let _ = std::fs::remove_file(&eval.trace_path);
        }
        Err(e) => assert!(matches!(e.exit_code(), 1 | 6), "{e}"),
    }
});
