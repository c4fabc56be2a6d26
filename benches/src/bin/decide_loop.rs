//! A fixed-count loop over one decision workload, for instruction counts
//! under valgrind (deterministic where wall-clock benches on a shared VM
//! are not): `valgrind --tool=callgrind target/release/decide_loop
//! normalize|parse|bare|guard N`. See `docs/PERFORMANCE.md`, "Decision core".
//!
//! * `normalize`: `Intent::from_value` of decoded JSON + `Gate::evaluate`
//!   (as `gate_eval/typical/normalize+evaluate`);
//! * `parse`: `Intent::from_json_slice` of the text + `Gate::evaluate`
//!   (as `gate_eval/typical/parse+evaluate`);
//! * `bare`: `Gate::evaluate` of a parsed intent (as `guard/bare_decision`);
//! * `guard`: `Guard::guard`, signing off, a sink that drops the record
//!   (as `guard/unsigned`);
//! * `guard_ks`: `guard` with a kill switch configured, its state in
//!   memory and empty (as `guard/unsigned_kill_switch_empty`);
//! * `guard_ks_file`: the same with the state in a file (looked at once per re-check interval).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::process::ExitCode;

use gait_policy::{Gate, Intent, Policy};
use gait_trace::{Guard, TraceError, TraceRecord, TraceSink};

const POLICY: &str = include_str!("../../data/typical_policy.yaml");
const INTENT: &str = include_str!("../../data/typical_intent.json");

struct DropSink;
impl TraceSink for DropSink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        black_box(trace);
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let (Ok(policy), Ok(intent), Ok(value)) = (
        Policy::from_yaml_str(POLICY),
        Intent::from_json_str(INTENT),
        serde_json::from_str::<serde_json::Value>(INTENT),
    ) else {
        eprintln!("the typical policy or intent does not load");
        return ExitCode::from(1);
    };
    let gate = Gate::new(policy);
    match args.first().map(String::as_str) {
        Some("normalize") => {
            for _ in 0..n {
                if let Ok(i) = Intent::from_value(black_box(&value)) {
                    black_box(gate.evaluate(&i));
                }
            }
        }
        Some("parse") => {
            for _ in 0..n {
                if let Ok(i) = Intent::from_json_slice(black_box(INTENT.as_bytes())) {
                    black_box(gate.evaluate(&i));
                }
            }
        }
        Some("bare") => {
            for _ in 0..n {
                black_box(gate.evaluate(black_box(&intent)));
            }
        }
        Some("guard") => {
            let guard = Guard::unsigned(gate, Box::new(DropSink));
            for _ in 0..n {
                let _ = black_box(guard.guard(black_box(&intent), || 1));
            }
        }
        Some("guard_ks") => {
            let guard = Guard::unsigned(gate, Box::new(DropSink)).with_kill_switch(
                std::sync::Arc::new(gait_benches::MemoryKillSwitch::empty()),
                false,
            );
            for _ in 0..n {
                let _ = black_box(guard.guard(black_box(&intent), || 1));
            }
        }
        Some("guard_ks_file") => {
            let dir = std::env::temp_dir().join(format!("gait-ks-loop-{}", std::process::id()));
            let path = dir.join("ks.json");
            let state = (*gait_benches::MemoryKillSwitch::empty().0).clone();
            if std::fs::create_dir_all(&dir).is_err()
                || gait_policy::killswitch::FileKillSwitchStore::write(&path, &state).is_err()
            {
                eprintln!("cannot write the kill-switch state");
                return ExitCode::from(1);
            }
            let guard = Guard::unsigned(gate, Box::new(DropSink)).with_kill_switch(
                std::sync::Arc::new(gait_policy::killswitch::FileKillSwitchStore::new(&path)),
                false,
            );
            for _ in 0..n {
                let _ = black_box(guard.guard(black_box(&intent), || 1));
            }
        }
        _ => {
            eprintln!("usage: decide_loop normalize|parse|bare|guard|guard_ks|guard_ks_file [N]");
            return ExitCode::from(6);
        }
    }
    ExitCode::SUCCESS
}
