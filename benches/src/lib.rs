//! Criterion benchmarks for Gait; run with `cargo bench -p gait-benches`.
