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

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

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
        assert_eq!(Exit::UnsafeOperation.error_code(), "unsafe_operation");
    }
}
