//! Regress benchmarks: `run_regress` over 10 and 100 demo fixtures
//! (load, verify, strict read, the four graders, regress_result.json and
//! JUnit written), and `init_fixture` of the demo runpack.
//!
//! Run with
//! `cargo bench -p gait-benches --bench regress -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md` (the 1,000-fixture
//! whole-process figure is measured with hyperfine).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gait_pack::runpack::{RunRecorder, demo_input};
use gait_regress::{InitOptions, RunOptions, init_fixture, run_regress};

/// A directory with `n` demo fixtures and its gait.yaml.
fn fixtures(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let written = RunRecorder::new(demo_input("0.0.0-dev"))
        .write_to_dir(&d.join("gait-out"))
        .unwrap();
    for i in 0..n {
        let opts = InitOptions::new(&written.path, d).with_name(Some(format!("fx-{i:05}")));
        init_fixture(&opts).unwrap();
    }
    dir
}

fn options(d: &Path) -> RunOptions {
    let mut o = RunOptions::default();
    o.config_path = d.join("gait.yaml").to_string_lossy().into_owned();
    o.output_path = d.join("regress_result.json").to_string_lossy().into_owned();
    o.junit_path = Some(d.join("junit.xml").to_string_lossy().into_owned());
    o
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("regress_run");
    for n in [10usize, 100] {
        let dir = fixtures(n);
        let opts = options(dir.path());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &opts, |b, o| {
            b.iter(|| {
                let r = run_regress(o, &mut |_, _| {}).unwrap();
                assert!(r.passed());
            });
        });
    }
    g.finish();
    let dir = tempfile::tempdir().unwrap();
    let written = RunRecorder::new(demo_input("0.0.0-dev"))
        .write_to_dir(&dir.path().join("gait-out"))
        .unwrap();
    c.bench_function("regress_init_fixture", |b| {
        b.iter(|| init_fixture(&InitOptions::new(&written.path, dir.path())).unwrap());
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
