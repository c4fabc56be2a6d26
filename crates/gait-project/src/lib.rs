//! The project layer of Gait: what lives in a repository beside the agent.
//!
//! * [`ProjectConfig`] — `.gait/config.yaml`, the defaults `gate eval`
//!   applies to flags that were not given ([`load_project_config`]).
//! * [`init_policy`] and [`check_policy`] — `gait init` writes the repo
//!   policy `.gait.yaml` from a built-in template; `gait check` validates
//!   it and reports readiness findings and next commands.
//! * [`run_doctor`] — `gait doctor`: truthful checks of the local
//!   environment (writable directories, key configuration, policy found and
//!   valid) and, with production readiness, of the project config.
//!
//! Every path Gait expects in a project is in [`SurfaceContract`].

mod check;
mod config;
mod doctor;
mod error;

pub use check::{
    CheckReport, DEFAULT_INIT_TEMPLATE, Finding, InitReport, SurfaceContract, check_policy,
    init_policy,
};
pub use config::{
    DEFAULT_CONFIG_PATH, GateDefaults, LEGACY_POLICY_SCAFFOLD_PATH, McpServeDefaults,
    ProjectConfig, REGRESS_CONFIG_PATH, REPO_POLICY_PATH, RetentionDefaults, load_project_config,
};
pub use doctor::{DoctorCheck, DoctorOptions, DoctorReport, run_doctor};
pub use error::ProjectError;
