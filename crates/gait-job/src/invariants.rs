//! The safety-invariant ledger (§2.8) and the environment fingerprint
//! (§2.7).

use crate::JobState;

/// `safety_invariant_version`.
pub const SAFETY_INVARIANT_VERSION: &str = "1";

/// The sorted invariant list of a state's bindings. The strings are the
/// reference's, `control_boundary=runtime_go` included: the hash appears in
/// job packs and session events and must agree across implementations.
pub fn safety_invariants(state: &JobState) -> Vec<String> {
    let mut values = vec![
        "control_boundary=runtime_go".to_owned(),
        "default_privacy=reference_receipts".to_owned(),
        "fail_closed=true".to_owned(),
    ];
    for (name, value) in [
        ("policy_digest", &state.policy_digest),
        ("policy_ref", &state.policy_ref),
        ("identity", &state.identity),
    ] {
        if !value.trim().is_empty() {
            values.push(format!("{name}={}", value.trim()));
        }
    }
    values.sort();
    values
}

/// Hex SHA-256 of the trimmed, non-empty invariants, sorted and joined by
/// `|`.
pub fn safety_invariant_hash(values: &[String]) -> String {
    let mut v: Vec<&str> = values
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort_unstable();
    gait_digest::sha256(v.join("|").as_bytes()).to_hex()
}

/// The default environment fingerprint of this build on this machine:
/// `envfp:` and the hex SHA-256 of the sorted strings `os=…`, `arch=…`,
/// `runtime=gait-rs/<version>` and `shell=$SHELL`, joined by `|`.
///
/// It cannot equal the reference's (which hashes the Go toolchain
/// version), so a job moved between implementations needs
/// `--env-fingerprint` or `--allow-env-mismatch` to resume (fail closed).
pub fn default_environment_fingerprint() -> String {
    let shell = std::env::var("SHELL").unwrap_or_default();
    let mut parts = [
        format!("os={}", std::env::consts::OS),
        format!("arch={}", std::env::consts::ARCH),
        format!("runtime=gait-rs/{}", env!("CARGO_PKG_VERSION")),
        format!("shell={shell}"),
    ];
    parts.sort();
    format!(
        "envfp:{}",
        gait_digest::sha256(parts.join("|").as_bytes()).to_hex()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_without_bindings_is_the_references() {
        let s = JobState::default();
        assert_eq!(
            safety_invariant_hash(&safety_invariants(&s)),
            "075f96bf56c92d7a413eafe9b15fc5f7f7d814b83af4ef377e28951eac59aa88"
        );
        let s = JobState {
            identity: "alice".into(),
            ..JobState::default()
        };
        assert_eq!(
            safety_invariant_hash(&safety_invariants(&s)),
            "cd3ea32a49ae78e7a7d5970ac28d89266422a320d761f169e39fad9268e4ce5d"
        );
    }

    #[test]
    fn the_default_fingerprint_is_stable_and_prefixed() {
        let a = default_environment_fingerprint();
        assert!(a.starts_with("envfp:") && a.len() == 6 + 64, "{a}");
        assert_eq!(a, default_environment_fingerprint());
    }
}
