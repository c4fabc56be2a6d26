//! Digest and signing benchmarks.
//!
//! Run with
//! `cargo bench -p gait-benches -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md`.
//!
//! * `canonical_sha256`: RFC 8785 canonicalization plus SHA-256 of a gate
//!   trace record (the signable part of a real trace, without its
//!   signature), from a `serde_json::Value` (`digest_json`) and from raw
//!   bytes (`canonical::from_slice` + `sha256`), at about 1 KiB and at the
//!   full 1.6 KiB;
//! * `ed25519`: signing a digest, verifying it, and `sign_value` of the
//!   trace;
//! * `stream`: streaming SHA-256 and BLAKE3 over 64 MiB in 64 KiB chunks.

// Benchmark setup may panic on impossible failures (a literal that does not
// parse), and reports document sizes on stderr; clippy.toml only relaxes
// these lints for `#[test]` code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gait_digest::{Blake3Hasher, Sha256Hasher, canonical, digest_json, sha256};
use gait_sign::{SigningKey, Trace};
use serde_json::Value;

/// A gate trace record as the reference writes it (pretty-printed), minus
/// its `signature` member: exactly what a trace signer canonicalizes.
const TRACE: &str = r#"{
  "schema_id": "gait.gate.trace",
  "schema_version": "1.0.0",
  "created_at": "2026-02-18T00:00:00Z",
  "observed_at": "2026-11-25T17:18:34.205147612Z",
  "producer_version": "0.0.0-dev",
  "trace_id": "7a6c4b6348b5c72e7cd46b0b",
  "event_id": "a99f77787f4298cd4829e92e",
  "correlation_id": "2b7209f0a31c8190cff081d3",
  "tool_name": "tool.read",
  "args_digest": "7c37d3563ca7337565db355fd9f493bac1591e6c65760cef3167077dc9da5729",
  "intent_digest": "721f37433d40a10b7583e798d3d3f878cb7efc9a006a03efa60ef4891ae74005",
  "policy_digest": "c60b7653feb2bdc36e5864198e9f03548cf3b052c9561a67317f6272b8b427e6",
  "policy_id": "gait.gate.policy",
  "policy_version": "1.0.0",
  "verdict": "allow",
  "latency_ms": 0.146567,
  "relationship": {
    "parent_ref": {
      "kind": "session",
      "id": "sess-tier11"
    },
    "entity_refs": [
      {
        "kind": "agent",
        "id": "agent.scenario"
      },
      {
        "kind": "policy",
        "id": "c60b7653feb2bdc36e5864198e9f03548cf3b052c9561a67317f6272b8b427e6"
      },
      {
        "kind": "tool",
        "id": "tool.read"
      },
      {
        "kind": "trace",
        "id": "7a6c4b6348b5c72e7cd46b0b"
      }
    ],
    "policy_ref": {
      "policy_id": "gait.gate.policy",
      "policy_version": "1.0.0",
      "policy_digest": "c60b7653feb2bdc36e5864198e9f03548cf3b052c9561a67317f6272b8b427e6"
    },
    "agent_chain": [
      {
        "identity": "agent.scenario",
        "role": "requester"
      }
    ],
    "edges": [
      {
        "kind": "calls",
        "from": {
          "kind": "agent",
          "id": "agent.scenario"
        },
        "to": {
          "kind": "tool",
          "id": "tool.read"
        }
      },
      {
        "kind": "governed_by",
        "from": {
          "kind": "tool",
          "id": "tool.read"
        },
        "to": {
          "kind": "policy",
          "id": "c60b7653feb2bdc36e5864198e9f03548cf3b052c9561a67317f6272b8b427e6"
        }
      }
    ],
    "related_entity_ids": [
      "7a6c4b6348b5c72e7cd46b0b",
      "agent.scenario",
      "c60b7653feb2bdc36e5864198e9f03548cf3b052c9561a67317f6272b8b427e6",
      "tool.read"
    ]
  }
}"#;

/// A benchmark document: its value, its raw (pretty-printed) text, and the
/// size of its canonical form.
struct Doc {
    name: &'static str,
    value: Value,
    raw: Vec<u8>,
    canonical_len: usize,
}

fn docs() -> Vec<Doc> {
    let full: Value = serde_json::from_str(TRACE).expect("TRACE parses");

    // The same record with a smaller relationship block: 1 KiB canonical,
    // the size of a typical trace without edges.
    let mut small = full.clone();
    let relationship = small
        .get_mut("relationship")
        .and_then(Value::as_object_mut)
        .expect("relationship is an object");
    for member in ["edges", "related_entity_ids", "policy_ref"] {
        relationship.remove(member);
    }

    [("trace_1k", small), ("trace_full", full)]
        .into_iter()
        .map(|(name, value)| {
            let raw = serde_json::to_vec_pretty(&value).expect("serializes");
            let canonical_len = canonical::to_vec(&value).len();
            Doc {
                name,
                value,
                raw,
                canonical_len,
            }
        })
        .collect()
}

fn canonical_sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("canonical_sha256");
    for doc in docs() {
        eprintln!(
            "{}: {} bytes canonical, {} bytes raw",
            doc.name,
            doc.canonical_len,
            doc.raw.len()
        );
        group.throughput(Throughput::Bytes(doc.canonical_len as u64));
        group.bench_with_input(
            BenchmarkId::new("digest_json", doc.name),
            &doc.value,
            |b, value| b.iter(|| digest_json(black_box(value))),
        );
        group.bench_with_input(
            BenchmarkId::new("from_slice+sha256", doc.name),
            &doc.raw,
            |b, raw| {
                b.iter(|| {
                    let canon = canonical::from_slice(black_box(raw)).expect("valid JSON");
                    sha256(&canon)
                })
            },
        );
        // Breakdown: canonicalization alone, and hashing alone.
        group.bench_with_input(
            BenchmarkId::new("to_vec", doc.name),
            &doc.value,
            |b, value| b.iter(|| canonical::to_vec(black_box(value))),
        );
        let canon = canonical::to_vec(&doc.value);
        group.bench_with_input(BenchmarkId::new("sha256", doc.name), &canon, |b, canon| {
            b.iter(|| sha256(black_box(canon)))
        });
    }
    group.finish();
}

fn ed25519(c: &mut Criterion) {
    let key = SigningKey::<Trace>::from_seed(&[7; 32]);
    let doc: Value = serde_json::from_str(TRACE).expect("TRACE parses");
    let digest = digest_json(&doc);
    let envelope = key.sign_digest(&digest);
    let verifying = key.verifying_key();
    verifying
        .verify_digest(&digest, &envelope)
        .expect("signature verifies");

    let mut group = c.benchmark_group("ed25519");
    group.bench_function("sign_digest", |b| {
        b.iter(|| key.sign_digest(black_box(&digest)))
    });
    group.bench_function("verify_digest", |b| {
        b.iter(|| verifying.verify_digest(black_box(&digest), black_box(&envelope)))
    });
    group.bench_function("sign_value/trace_full", |b| {
        b.iter(|| key.sign_value(black_box(&doc)))
    });
    group.finish();
}

const STREAM_TOTAL: usize = 64 << 20;
const STREAM_CHUNK: usize = 64 << 10;

fn stream(c: &mut Criterion) {
    let chunk: Vec<u8> = (0..STREAM_CHUNK)
        .map(|i| u8::try_from(i % 251).expect("below 256"))
        .collect();
    let chunks = STREAM_TOTAL / STREAM_CHUNK;

    let mut group = c.benchmark_group("stream");
    // One iteration hashes 64 MiB (tens of milliseconds): ten samples are
    // plenty and keep the run short.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(STREAM_TOTAL as u64));
    group.bench_function("sha256/64MiB", |b| {
        b.iter(|| {
            let mut h = Sha256Hasher::new();
            for _ in 0..chunks {
                h.update(black_box(&chunk));
            }
            h.finalize()
        })
    });
    group.bench_function("blake3/64MiB", |b| {
        b.iter(|| {
            let mut h = Blake3Hasher::new();
            for _ in 0..chunks {
                h.update(black_box(&chunk));
            }
            h.finalize()
        })
    });
    group.finish();
}

criterion_group!(benches, canonical_sha256, ed25519, stream);
criterion_main!(benches);
