//! The in-process policy gate.
//!
//! **Status: skeleton.** Intents, policies, evaluation and tokens arrive with
//! the gate work (see `docs/architecture.md`). Until then this crate exposes
//! nothing, so nothing can mistake it for a working gate.
