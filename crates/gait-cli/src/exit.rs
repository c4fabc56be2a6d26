//! The exit-code contract (0–8), shared with the reference implementation.

/// A process exit status of the `gait` command.
///
/// The numbers are a public contract: CI pipelines branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success, `allow`, or `dry_run`.
    Ok = 0,
    /// Internal, I/O, lock contention or network failure.
    Internal = 1,
    /// Verification failed (also a diff with changes, a missing replay).
    VerifyFailed = 2,
    /// The policy blocked the call.
    PolicyBlocked = 3,
    /// The policy requires an approval.
    ApprovalRequired = 4,
    /// A regression failed.
    RegressFailed = 5,
    /// Invalid input or usage.
    InvalidInput = 6,
    /// A required dependency is missing.
    MissingDependency = 7,
    /// An unsafe operation was blocked.
    UnsafeOperation = 8,
}

impl Exit {
    /// The status of a final gate verdict: `block` 3, `require_approval`
    /// 4, `allow` and `dry_run` 0.
    pub fn for_verdict(verdict: gait_policy::Verdict) -> Exit {
        match verdict {
            gait_policy::Verdict::Block => Exit::PolicyBlocked,
            gait_policy::Verdict::RequireApproval => Exit::ApprovalRequired,
            gait_policy::Verdict::Allow | gait_policy::Verdict::DryRun => Exit::Ok,
        }
    }

    /// The status of a numeric `gait` exit code (a code outside the
    /// contract is internal).
    pub fn from_code(code: u8) -> Exit {
        match code {
            0 => Exit::Ok,
            2 => Exit::VerifyFailed,
            3 => Exit::PolicyBlocked,
            4 => Exit::ApprovalRequired,
            5 => Exit::RegressFailed,
            6 => Exit::InvalidInput,
            7 => Exit::MissingDependency,
            8 => Exit::UnsafeOperation,
            _ => Exit::Internal,
        }
    }

    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The default `error_code` of the JSON error envelope.
    pub fn error_code(self) -> &'static str {
        match self {
            Exit::InvalidInput => "invalid_input",
            Exit::VerifyFailed => "verification_failed",
            Exit::PolicyBlocked => "policy_blocked",
            Exit::ApprovalRequired => "approval_required",
            Exit::MissingDependency => "dependency_missing",
            Exit::UnsafeOperation => "unsafe_operation",
            Exit::RegressFailed => "regress_failed",
            Exit::Ok | Exit::Internal => "internal_failure",
        }
    }

    /// The default `error_category` of the JSON error envelope.
    pub fn error_category(self) -> &'static str {
        match self {
            Exit::InvalidInput => "invalid_input",
            Exit::VerifyFailed => "verification_failed",
            Exit::PolicyBlocked => "policy_blocked",
            Exit::ApprovalRequired => "approval_required",
            Exit::MissingDependency => "dependency_missing",
            Exit::Ok | Exit::Internal | Exit::RegressFailed | Exit::UnsafeOperation => {
                "internal_failure"
            }
        }
    }

    /// The default `hint` of the JSON error envelope.
    pub fn hint(self) -> &'static str {
        match self {
            Exit::InvalidInput => "check command usage and input schema",
            Exit::VerifyFailed => "re-run verify after checking artifact integrity",
            Exit::PolicyBlocked => "inspect reason_codes and adjust policy or intent",
            Exit::ApprovalRequired => "provide a valid approval token and retry",
            Exit::MissingDependency => "install or configure the missing dependency and retry",
            Exit::UnsafeOperation => "pass explicit unsafe flags only for approved replay paths",
            Exit::Ok | Exit::Internal | Exit::RegressFailed => {
                "retry after checking local environment and logs"
            }
        }
    }
}

/// A failure on its way to the terminal: the message and the exit status.
pub type Failure = (String, Exit);

/// The CLI's one error mapping: the exit status of each library error
/// type the commands see. Every command turns a library error into a
/// [`Failure`] through [`failure`], so a class of error has one exit code
/// wherever it surfaces. A new library error type gets its `impl` here.
pub trait ExitClass: std::fmt::Display {
    /// The exit status of this error.
    fn exit(&self) -> Exit;
}

/// The [`Failure`] of a library error: its message and its class's exit
/// status (for `map_err(failure)`).
pub fn failure<E: ExitClass>(e: E) -> Failure {
    let exit = e.exit();
    (e.to_string(), exit)
}

/// Verification failures are 2, I/O 1, anything else invalid input (6).
macro_rules! verify_io_input {
    ($($t:ty),* $(,)?) => {$(
        impl ExitClass for $t {
            fn exit(&self) -> Exit {
                if self.is_verification_failure() {
                    Exit::VerifyFailed
                } else if self.is_io() {
                    Exit::Internal
                } else {
                    Exit::InvalidInput
                }
            }
        }
    )*};
}

/// I/O is 1, anything else invalid input (6).
macro_rules! io_input {
    ($($t:ty),* $(,)?) => {$(
        impl ExitClass for $t {
            fn exit(&self) -> Exit {
                if self.is_io() {
                    Exit::Internal
                } else {
                    Exit::InvalidInput
                }
            }
        }
    )*};
}

verify_io_input!(gait_sign::Error, gait_pack::pack::PackError);
io_input!(
    gait_release::Error,
    gait_regress::RegressError,
    gait_project::ProjectError,
);

impl ExitClass for gait_pack::runpack::RunpackError {
    fn exit(&self) -> Exit {
        if self.is_verification_failure() {
            Exit::VerifyFailed
        } else if self.is_unsafe() {
            Exit::UnsafeOperation
        } else if self.is_io() || self.is_internal() {
            Exit::Internal
        } else {
            Exit::InvalidInput
        }
    }
}

impl ExitClass for gait_pack::session::SessionError {
    fn exit(&self) -> Exit {
        if self.is_contention() || self.is_io() {
            Exit::Internal
        } else if self.is_verification_failure() {
            Exit::VerifyFailed
        } else {
            Exit::InvalidInput
        }
    }
}

impl ExitClass for gait_mcp::Error {
    fn exit(&self) -> Exit {
        match self {
            gait_mcp::Error::Spawn { .. } => Exit::MissingDependency,
            e if e.is_config() => Exit::InvalidInput,
            _ => Exit::Internal,
        }
    }
}

/// Job runtime: I/O and lock contention are 1, every refusal and invalid
/// input 6 (classified by cause, not by the words in the message).
impl ExitClass for gait_job::JobError {
    fn exit(&self) -> Exit {
        if self.is_internal() {
            Exit::Internal
        } else {
            Exit::InvalidInput
        }
    }
}

impl ExitClass for gait_trace::DecideError {
    fn exit(&self) -> Exit {
        if self.is_invalid_input() {
            Exit::InvalidInput
        } else {
            Exit::Internal
        }
    }
}

/// Every error of these types is invalid input (6).
macro_rules! input {
    ($($t:ty),* $(,)?) => {$(
        impl ExitClass for $t {
            fn exit(&self) -> Exit {
                Exit::InvalidInput
            }
        }
    )*};
}

input!(
    gait_policy::token::TokenError,
    gait_policy::PolicyError,
    gait_policy::profile::ProfileError,
    gait_policy::adapters::AdapterError,
    gait_policy::broker::BrokerConfigError,
);

/// Registry manifests: failed checks are 2, unusable input 6.
impl ExitClass for gait_policy::pack_registry::PackRegistryError {
    fn exit(&self) -> Exit {
        if self.is_verification_failure() {
            Exit::VerifyFailed
        } else {
            Exit::InvalidInput
        }
    }
}

impl ExitClass for gait_serve::ServeError {
    fn exit(&self) -> Exit {
        Exit::from_code(self.exit_code())
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// What the process exits with: a code of the contract, or the code of a
/// wrapped child passed through (`gait test|enforce|trace -- <child>`
/// return the child's own non-zero exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A code of the 0–8 contract.
    Exit(Exit),
    /// A code decided by a wrapper (its outcome, or the child's code).
    Passthrough(u8),
}

impl Status {
    /// The numeric status.
    pub fn code(self) -> u8 {
        match self {
            Status::Exit(e) => e.code(),
            Status::Passthrough(c) => c,
        }
    }
}

impl From<Exit> for Status {
    fn from(e: Exit) -> Self {
        Status::Exit(e)
    }
}

impl From<Status> for std::process::ExitCode {
    fn from(s: Status) -> Self {
        std::process::ExitCode::from(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::{Exit, failure};

    #[test]
    fn library_errors_map_to_their_class() {
        let config = gait_sign::Error::EmptyOutDir;
        let text = config.to_string();
        assert_eq!(failure(config), (text, Exit::InvalidInput));
        assert_eq!(
            failure(gait_mcp::Error::NoServerCommand).1,
            Exit::InvalidInput
        );
    }

    #[test]
    fn numbers_are_the_contract() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Internal, 1),
            (Exit::VerifyFailed, 2),
            (Exit::PolicyBlocked, 3),
            (Exit::ApprovalRequired, 4),
            (Exit::RegressFailed, 5),
            (Exit::InvalidInput, 6),
            (Exit::MissingDependency, 7),
            (Exit::UnsafeOperation, 8),
        ];
        for (e, n) in all {
            assert_eq!(e.code(), n);
        }
        assert_eq!(Exit::RegressFailed.error_category(), "internal_failure");
        for (e, n) in all {
            assert_eq!(Exit::from_code(n), e);
        }
        assert_eq!(Exit::from_code(1), Exit::Internal);
        assert_eq!(Exit::from_code(9), Exit::Internal);
        assert_eq!(Exit::UnsafeOperation.error_code(), "unsafe_operation");
    }
}
