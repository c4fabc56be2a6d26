//! The in-process policy gate.
//!
//! **Status: in progress.** The intent model and the policy model are being
//! built (see `docs/architecture.md`); evaluation, tokens and the `Gate`
//! facade follow. Until evaluation exists nothing here can produce a
//! verdict, so nothing can mistake this crate for a working gate.

pub mod cel;
pub mod eval;
pub mod gate;
pub mod intent;
pub mod policy;
pub mod ratelimit;
pub mod registry;
pub mod templates;
pub mod token;
pub mod wrkr;
