//! Errors of the wrapper's arguments (everything after them is an
//! [`Outcome`](crate::Outcome), not an error).

/// Arguments a wrapper refuses before anything runs (exit 6).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// No child command after `--`.
    #[error("expected child command after --")]
    NoChildCommand,
    /// `--timeout` is not a Go duration.
    #[error("parse --timeout: {0}")]
    Timeout(#[source] gait_digest::Error),
    /// `--timeout` is zero or negative.
    #[error("--timeout must be > 0")]
    TimeoutNotPositive,
}
