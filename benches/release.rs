//! Release signing and verification benchmarks (issue 7).
//!
//! Run with
//! `cargo bench -p gait-benches --bench release -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md` ("Releases and fuzzing").
//!
//! A release directory of one 8 MiB pseudo-random file (a binary's size
//! class) and a 180 KiB JSON file (an SBOM's): `release_sign` hashes both,
//! writes the four generated files and signs twice; `release_verify`
//! re-hashes everything and checks both signatures and the provenance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gait_release::{BuildInfo, sign_release, verify_release};
use gait_sign::{Release, SigningKey};

fn release_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let binary: Vec<u8> = (0..8 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(dir.path().join("gait"), binary).unwrap();
    let sbom = format!(
        "{{\"components\":[{}]}}",
        (0..1500)
            .map(|i| format!("{{\"name\":\"crate-{i}\",\"version\":\"1.0.{i}\",\"purl\":\"pkg:cargo/crate-{i}@1.0.{i}\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    std::fs::write(dir.path().join("gait.cdx.json"), sbom).unwrap();
    dir
}

fn bench(c: &mut Criterion) {
    let dir = release_dir();
    let key = SigningKey::<Release>::from_seed(&[5; 32]);
    let mut build = BuildInfo::new("bench");
    build.build_command = "cargo build --release".into();
    let bytes = 8u64 << 20;
    let mut group = c.benchmark_group("release");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("release_sign", |b| {
        b.iter(|| sign_release(black_box(dir.path()), &key, &build).unwrap());
    });
    group.bench_function("release_verify", |b| {
        b.iter(|| {
            let report = verify_release(black_box(dir.path()), key.verifying_key()).unwrap();
            assert!(report.ok);
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = bench
}
criterion_main!(benches);
