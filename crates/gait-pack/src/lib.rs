//! Runpacks, PackSpec v1 packs and regressions: Gait's offline evidence.
//!
//! * [`archive`]: a deterministic zip writer and a strict, bounded zip
//!   reader for hostile input.
//!
//! **Status: in progress.** Runpacks, packs and regress arrive with the
//! evidence work (see `docs/architecture.md`).

pub mod archive;
pub mod pack;
pub mod runpack;
