//! In-process guard overhead (issue 6).
//!
//! Run with
//! `cargo bench -p gait-benches --bench guard -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md`.
//!
//! The typical policy and intent (`benches/data/`, copies of the
//! reference's benchmark case), intent parsed once outside the loop:
//!
//! * `guard/bare_decision`: `Gate::evaluate` (the decision alone);
//! * `guard/unsigned`: `Guard::guard` with signing off and a sink that
//!   drops the record: full gate run, trace record built, tool closure
//!   run — the guard's own overhead over the bare decision;
//! * `guard/signed_memory`: the same with Ed25519 signing and an
//!   in-memory sink (cleared every 10,000 records);
//! * `guard/unsigned_kill_switch_empty` (issue 12): `guard/unsigned` with a
//!   kill switch configured whose state (in memory) has no entry;
//! * `guard/unsigned_kill_switch_file`: the same with the state in a file
//!   (`FileKillSwitchStore`: one `stat` per re-check interval, re-read on change).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Mutex;

use criterion::{Criterion, criterion_group, criterion_main};
use gait_policy::{Gate, Intent, Policy};
use gait_sign::{SigningKey, Trace};
use gait_trace::{Guard, TraceError, TraceRecord, TraceSink};

const POLICY: &str = include_str!("data/typical_policy.yaml");
const INTENT: &str = include_str!("data/typical_intent.json");

/// Drops every record (benchmark only: a real sink must persist).
struct DropSink;
impl TraceSink for DropSink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        black_box(trace);
        Ok(())
    }
}

/// Keeps records in memory, bounded.
#[derive(Default)]
struct BoundedSink(Mutex<Vec<TraceRecord>>);
impl TraceSink for BoundedSink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        let mut v = self.0.lock().unwrap();
        if v.len() >= 10_000 {
            v.clear();
        }
        v.push(trace.clone());
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());
    let intent = Intent::from_json_str(INTENT).unwrap();
    assert!(gate.evaluate(&intent).permits_execution());
    let mut g = c.benchmark_group("guard");
    g.bench_function("bare_decision", |b| {
        b.iter(|| black_box(gate.evaluate(black_box(&intent))));
    });
    let unsigned = Guard::unsigned(gate.clone(), Box::new(DropSink));
    g.bench_function("unsigned", |b| {
        b.iter(|| black_box(unsigned.guard(black_box(&intent), || 1u32)).unwrap());
    });
    let ks = Guard::unsigned(gate.clone(), Box::new(DropSink)).with_kill_switch(
        std::sync::Arc::new(gait_benches::MemoryKillSwitch::empty()),
        false,
    );
    g.bench_function("unsigned_kill_switch_empty", |b| {
        b.iter(|| black_box(ks.guard(black_box(&intent), || 1u32)).unwrap());
    });
    let dir = std::env::temp_dir().join(format!("gait-bench-ks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ks.json");
    let state = (*gait_benches::MemoryKillSwitch::empty().0).clone();
    gait_policy::killswitch::FileKillSwitchStore::write(&path, &state).unwrap();
    let ks_file = Guard::unsigned(gate.clone(), Box::new(DropSink)).with_kill_switch(
        std::sync::Arc::new(gait_policy::killswitch::FileKillSwitchStore::new(&path)),
        false,
    );
    g.bench_function("unsigned_kill_switch_file", |b| {
        b.iter(|| black_box(ks_file.guard(black_box(&intent), || 1u32)).unwrap());
    });
    let signed = Guard::new(
        gate.clone(),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(BoundedSink::default()),
    );
    g.bench_function("signed_memory", |b| {
        b.iter(|| black_box(signed.guard(black_box(&intent), || 1u32)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
