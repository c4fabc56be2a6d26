//! Durable trace sinks side by side (issue 15): one file per trace
//! (`DirectorySink`: temporary file, fsync, rename, directory fsync) against
//! the group-commit journal (`JournalSink`: append to a preallocated
//! segment, one `fdatasync` per batch).
//!
//! Run with
//! `cargo bench -p gait-benches --bench trace_sink -- --warm-up-time 1 --measurement-time 5`;
//! results are recorded in `docs/PERFORMANCE.md`. The directories are
//! created under `GAIT_BENCH_DIR` when set, else the system temporary
//! directory: put it on the disk you want to measure (not tmpfs).
//!
//! * `trace_sink/sequential/{per_file,journal}`: one thread, one signed
//!   typical trace per iteration (the latency a decision waits for);
//! * `trace_sink/concurrent_16/{per_file,journal}`: 16 threads recording 8
//!   traces each per iteration (throughput: group commit batches them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gait_policy::{Gate, Intent, Policy};
use gait_sign::{SigningKey, Trace};
use gait_trace::{
    DirectorySink, Guard, Journal, JournalOptions, JournalSink, MemorySink, TraceRecord, TraceSink,
};

const POLICY: &str = include_str!("data/typical_policy.yaml");
const INTENT: &str = include_str!("data/typical_intent.json");

fn typical_trace(seed: [u8; 32]) -> TraceRecord {
    let gate = Gate::new(Policy::from_yaml_str(POLICY).unwrap());
    let intent = Intent::from_json_str(INTENT).unwrap();
    let memory = Arc::new(MemorySink::new());
    let guard = Guard::new(
        gate,
        SigningKey::from_seed(&seed),
        Box::new(Arc::clone(&memory)),
    );
    let _ = guard.guard(&intent, || ());
    memory.traces().pop().unwrap()
}

fn temp() -> tempfile::TempDir {
    match std::env::var_os("GAIT_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

/// A trace with a fresh event id (so per-file traces never overwrite).
fn next(base: &TraceRecord, n: &AtomicU64) -> TraceRecord {
    let mut t = base.clone();
    t.event_id = format!("{:024x}", n.fetch_add(1, Ordering::Relaxed));
    t
}

fn bench(c: &mut Criterion) {
    let seed = [5; 32];
    let key = || SigningKey::<Trace>::from_seed(&seed);
    let base = typical_trace(seed);
    let counter = AtomicU64::new(0);
    let options = JournalOptions::default().with_segment_bytes(16 << 20);

    let mut g = c.benchmark_group("trace_sink/sequential");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    {
        let dir = temp();
        let sink = DirectorySink::new(dir.path());
        g.bench_function("per_file", |b| {
            b.iter(|| sink.record(&next(&base, &counter)).unwrap());
        });
    }
    {
        let dir = temp();
        let journal = Arc::new(Journal::open(dir.path(), key(), options.clone()).unwrap());
        let sink = JournalSink::new(Arc::clone(&journal));
        g.bench_function("journal", |b| {
            b.iter(|| sink.record(&next(&base, &counter)).unwrap());
        });
        drop(sink);
        journal.close().unwrap();
    }
    g.finish();

    let threads = 16;
    let each = 8;
    let mut g = c.benchmark_group("trace_sink/concurrent_16");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements((threads * each) as u64));
    let run = |sink: &dyn TraceSink| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..each {
                        sink.record(&next(&base, &counter)).unwrap();
                    }
                });
            }
        });
    };
    {
        let dir = temp();
        let sink = DirectorySink::new(dir.path());
        g.bench_function("per_file", |b| b.iter(|| run(&sink)));
    }
    {
        let dir = temp();
        let journal = Arc::new(Journal::open(dir.path(), key(), options).unwrap());
        let sink = JournalSink::new(Arc::clone(&journal));
        let before = journal.flushes();
        let records = journal.record_count();
        g.bench_function("journal", |b| b.iter(|| run(&sink)));
        let flushes = journal.flushes() - before;
        let appended = journal.record_count() - records;
        eprintln!(
            "trace_sink/concurrent_16/journal: {appended} records in {flushes} flushes ({:.1} records per fdatasync)",
            appended as f64 / flushes.max(1) as f64
        );
        drop(sink);
        journal.close().unwrap();
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
