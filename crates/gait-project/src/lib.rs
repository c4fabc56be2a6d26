//! The project layer of Gait: what lives in a repository beside the agent.
//!
//! A project has three files Gait reads ([`SurfaceContract`] names them):
//!
//! * `.gait.yaml`, the repo policy. [`init_policy`] (`gait init`) writes it
//!   from a built-in template ([`DEFAULT_INIT_TEMPLATE`] when none is
//!   named); [`check_policy`] (`gait check`) loads it strictly and reports
//!   its default verdict, rule count, digest, readiness [`Finding`]s and
//!   the commands to run next ([`CheckReport`]).
//! * `.gait/config.yaml`, the project defaults ([`ProjectConfig`]): YAML
//!   with `gate:` ([`GateDefaults`], applied by `gate eval` to flags that
//!   were not given), `mcp_serve:` ([`McpServeDefaults`]) and `retention:`
//!   ([`RetentionDefaults`]). [`load_project_config`] reads it; unknown
//!   keys are refused so that a misspelt default is an error, not a
//!   default that silently does not apply.
//! * `gait.yaml`, the regress config (read by `gait-regress`).
//!
//! [`run_doctor`] (`gait doctor`) runs truthful checks of the local
//! environment (writable directories, key configuration, policy found and
//! valid) and, with production readiness, of the project config. Each
//! [`DoctorCheck`] has a [`CheckStatus`] and a [`CheckScope`]; a check this
//! build cannot perform is left out, never reported as passing. The doctor
//! never fails: problems are checks with status `fail`.
//!
//! # Errors
//!
//! [`ProjectError`] names the file or value concerned, keeps the
//! underlying error as its [`source`](std::error::Error::source), and
//! tells a failure of the local environment ([`ProjectError::is_io`],
//! exit 1) from bad input (exit 6).
//!
//! # Example
//!
//! ```
//! use gait_project::{ProjectError, check_policy, init_policy, load_project_config};
//!
//! let dir = tempfile::tempdir()?;
//!
//! // `gait init`, then `gait check`.
//! let policy = dir.path().join(".gait.yaml");
//! let policy = policy.to_str().ok_or("path")?;
//! let init = init_policy("baseline-highrisk", policy, false)?;
//! assert_eq!(init.template, "baseline-highrisk");
//! let report = check_policy(policy)?;
//! assert!(report.rule_count > 0);
//! // An existing policy is kept unless forced.
//! assert!(matches!(
//!     init_policy("baseline-highrisk", policy, false),
//!     Err(ProjectError::OutputExists { .. })
//! ));
//!
//! // The project defaults: a missing file may count as empty.
//! let config = dir.path().join(".gait/config.yaml");
//! assert_eq!(load_project_config(&config, true)?.gate.profile, "");
//! std::fs::create_dir_all(dir.path().join(".gait"))?;
//! std::fs::write(&config, "gate:\n  profile: oss-prod\n  key_mode: prod\n")?;
//! let loaded = load_project_config(&config, false)?;
//! assert_eq!(loaded.gate.profile, "oss-prod");
//! // A misspelt key is refused, naming the file.
//! std::fs::write(&config, "gate:\n  profil: oss-prod\n")?;
//! let err = load_project_config(&config, false).unwrap_err();
//! assert!(err.to_string().starts_with("parse project config"));
//! assert!(!err.is_io());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

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
pub use doctor::{CheckScope, CheckStatus, DoctorCheck, DoctorOptions, DoctorReport, run_doctor};
pub use error::ProjectError;
