//! Runpack verification benchmarks (issue 4).
//!
//! Run with
//! `cargo bench -p gait-benches --bench verify -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md` ("Verify (issue 4)").
//!
//! * `verify/typical`: `verify_runpack` of the reference's typical signed
//!   runpack (`runpack_run_tck_signed.zip`, embedded), with the trace
//!   public key (signature verified) and without a key (signature skipped);
//! * `run_diff`: diffing two typical runpacks, from their files
//!   (`diff_runpacks`: two strict reads and the diff) and of two runpacks
//!   already read (`diff_runpack_contents`);
//! * `verify_large`: throughput of verifying a generated raw-capture
//!   runpack (two 8 MB JSONL entries), from a file (`verify_runpack_file`,
//!   entries hashed on parallel threads) and from memory (`verify_runpack`
//!   over a `Cursor`, sequential), for text that deflates 4:1 and for
//!   repetitive text (15:1). The runpacks are generated once, outside the
//!   timed loops.

// Benchmark setup may panic on impossible failures; clippy.toml only
// relaxes these lints for `#[test]` code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gait_benches::{Payload, raw_runpack};
use gait_pack::runpack::{
    DiffPrivacy, SignatureStatus, VerifyOptions, diff_runpack_contents, diff_runpacks,
    read_runpack_from, verify_runpack, verify_runpack_file,
};
use gait_sign::{Trace, VerifyingKey};

/// The reference's typical signed runpack.
const TCK_SIGNED: &[u8] =
    include_bytes!("../crates/gait-pack/tests/data/runpack_run_tck_signed.zip");
/// The reference's demo runpack (the other side of the diff).
const DEMO: &[u8] = include_bytes!("../crates/gait-pack/tests/data/runpack_run_demo.zip");
/// The trace public key the TCK runpack is signed with.
const TRACE_PUBLIC_KEY: &str = include_str!("../crates/gait-sign/tests/data/trace_public.key");

fn key() -> VerifyingKey<Trace> {
    VerifyingKey::<Trace>::from_public_text(TRACE_PUBLIC_KEY.trim(), "trace_public.key").unwrap()
}

fn bench_typical(c: &mut Criterion) {
    let with_key = VerifyOptions::new(Some(key()), true);
    let without_key = VerifyOptions::default();
    // Outside timing: the case is what it claims to be.
    let report = verify_runpack(Cursor::new(TCK_SIGNED), &with_key).unwrap();
    assert!(report.is_ok(true));
    assert_eq!(report.signature_status, SignatureStatus::Verified);
    assert_eq!(report.files_checked, 4);
    let report = verify_runpack(Cursor::new(TCK_SIGNED), &without_key).unwrap();
    assert_eq!(report.signature_status, SignatureStatus::Skipped);

    let mut g = c.benchmark_group("verify");
    g.bench_function("typical/signed+key", |b| {
        b.iter(|| verify_runpack(Cursor::new(black_box(TCK_SIGNED)), &with_key).unwrap())
    });
    g.bench_function("typical/no_key", |b| {
        b.iter(|| verify_runpack(Cursor::new(black_box(TCK_SIGNED)), &without_key).unwrap())
    });
    g.finish();
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn bench_diff(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let left = write(dir.path(), "runpack_run_demo.zip", DEMO);
    let right = write(dir.path(), "runpack_run_tck.zip", TCK_SIGNED);
    let l = read_runpack_from(Cursor::new(DEMO)).unwrap();
    let r = read_runpack_from(Cursor::new(TCK_SIGNED)).unwrap();
    let d = diff_runpacks(&left, &right, "full").unwrap();
    assert_ne!(
        serde_json::to_value(&d.summary).unwrap(),
        serde_json::to_value(&diff_runpacks(&left, &left, "full").unwrap().summary).unwrap()
    );

    let mut g = c.benchmark_group("run_diff");
    g.bench_function("typical/files", |b| {
        b.iter(|| diff_runpacks(black_box(&left), black_box(&right), "full").unwrap())
    });
    g.bench_function("typical/read", |b| {
        b.iter(|| diff_runpack_contents(black_box(&l), black_box(&r), DiffPrivacy::Full))
    });
    g.finish();
}

fn bench_large(c: &mut Criterion) {
    const ENTRY_BYTES: usize = 8_000_000;
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("verify_large");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (label, kind) in [("text", Payload::Text), ("repetitive", Payload::Repetitive)] {
        // Generated once, outside timing.
        let zip = raw_runpack(ENTRY_BYTES, 400, kind).unwrap();
        let path = write(dir.path(), &format!("runpack_{label}.zip"), &zip);
        let opts = VerifyOptions::default();
        let report = verify_runpack_file(&path, &opts).unwrap();
        assert!(report.is_ok(false));
        let total: u64 = {
            let a = gait_pack::archive::Archive::open(Cursor::new(&zip)).unwrap();
            a.entries().iter().map(|e| e.size).sum()
        };
        eprintln!(
            "verify_large/{label}: {} zip bytes, {total} entry bytes",
            zip.len()
        );
        g.throughput(Throughput::Bytes(total));
        g.bench_with_input(BenchmarkId::new("file_parallel", label), &path, |b, p| {
            b.iter(|| verify_runpack_file(p, &opts).unwrap())
        });
        g.bench_with_input(
            BenchmarkId::new("memory_sequential", label),
            &zip,
            |b, z| b.iter(|| verify_runpack(Cursor::new(z.as_slice()), &opts).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, bench_typical, bench_diff, bench_large);
criterion_main!(benches);
