//! One module per command family: each turns parsed arguments into library
//! calls and prints the result.

pub mod keys;
pub mod version;

use crate::exit::Exit;

/// The exit status for an error from `gait-sign`.
pub fn sign_error_exit(e: &gait_sign::Error) -> Exit {
    if e.is_verification_failure() {
        Exit::VerifyFailed
    } else if e.is_io() {
        Exit::Internal
    } else {
        Exit::InvalidInput
    }
}
