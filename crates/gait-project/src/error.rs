//! The one error type of this crate.

use std::path::PathBuf;

/// Why a project file could not be read or written.
///
/// Every variant names the file or value concerned. [`is_io`](Self::is_io)
/// tells a failure of the local environment (exit 1) from bad input
/// (exit 6).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// `gait init` was given a template name it does not know.
    #[error("unknown template: {name} (one of: {known})")]
    UnknownTemplate {
        /// The name given (as looked up).
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// `gait init` was given an empty output path.
    #[error("output path must not be empty")]
    EmptyOutputPath,
    /// The output file exists and overwriting was not asked for.
    #[error("output path already exists (use --force to overwrite): {path}")]
    OutputExists {
        /// The output path.
        path: String,
    },
    /// The output directory could not be created.
    #[error("create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: gait_sign::Error,
    },
    /// The output file could not be written.
    #[error("{0}")]
    Write(#[source] gait_sign::Error),
    /// `gait check` was given an empty policy path.
    #[error("policy path must not be empty")]
    EmptyPolicyPath,
    /// The policy does not load.
    #[error("{path}: {source}")]
    Policy {
        /// The policy path.
        path: String,
        /// Why it does not load.
        #[source]
        source: Box<gait_policy::PolicyError>,
    },
    /// The project config could not be read.
    #[error("read project config {}: {source}", path.display())]
    ReadConfig {
        /// The config path.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The project config is larger than the limit.
    #[error("read project config {}: larger than {limit} bytes", path.display())]
    ConfigTooLarge {
        /// The config path.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The project config is not UTF-8.
    #[error("parse project config {}: not UTF-8", path.display())]
    ConfigNotUtf8 {
        /// The config path.
        path: PathBuf,
    },
    /// The project config is not valid YAML for its schema.
    #[error("parse project config {}: {source}", path.display())]
    ParseConfig {
        /// The config path.
        path: PathBuf,
        /// The parser's reason.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
}

impl ProjectError {
    /// Whether this is an I/O failure of the local environment (exit 1).
    pub fn is_io(&self) -> bool {
        match self {
            ProjectError::CreateDir { .. } => true,
            ProjectError::Write(e) => e.is_io(),
            _ => false,
        }
    }
}
