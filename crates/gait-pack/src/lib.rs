//! Runpacks, PackSpec v1 packs and regressions.
//!
//! **Status: skeleton.** The zip reader and writer, runpacks and packs arrive
//! with the evidence work (see `docs/architecture.md`).
