//! `gait run receipt`: the ticket footer of a runpack that verifies.

use std::path::Path;

use super::RunpackError;
use super::record::{ticket_footer, ticket_footer_matches};
use super::verify::{VerifyOptions, verify_runpack_file};

/// A verified runpack's identity and ticket footer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReceipt {
    /// The run id (from the manifest).
    pub run_id: String,
    /// The manifest digest.
    pub manifest_digest: String,
    /// `GAIT run_id=… manifest=sha256:… verify="gait verify …"`.
    pub ticket_footer: String,
}

/// Verifies the runpack at `path` (no signature required, no key: a
/// signature that is present but cannot be checked is not a failure) and
/// returns its ticket footer.
///
/// Missing or undeclared files, hash mismatches or a failed signature are
/// `runpack verification failed` ([`RunpackError::Verification`]); a
/// footer that breaks the contract (a run id outside `[A-Za-z0-9_-]`, a
/// digest that is not 64 lowercase hex) is [`RunpackError::Internal`].
pub fn runpack_receipt(path: &Path) -> Result<RunReceipt, RunpackError> {
    let report = verify_runpack_file(path, &VerifyOptions::new(None, false))?;
    if !report.is_ok(false) {
        return Err(RunpackError::Verification(
            "runpack verification failed".to_owned(),
        ));
    }
    let footer = ticket_footer(&report.run_id, &report.manifest_digest);
    if !ticket_footer_matches(&footer) {
        return Err(RunpackError::Internal(
            "ticket footer contract validation failed".to_owned(),
        ));
    }
    Ok(RunReceipt {
        run_id: report.run_id,
        manifest_digest: report.manifest_digest,
        ticket_footer: footer,
    })
}
