//! The error type of this crate.

/// Why the proxy could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable (no server command, a policy the proxy
    /// cannot enforce, a bad limit).
    #[error("invalid proxy configuration: {0}")]
    Config(String),
    /// The MCP server process could not be started.
    #[error("start MCP server {command}: {message}")]
    Spawn {
        /// The program that failed to start.
        command: String,
        /// What the operating system said.
        message: String,
    },
    /// Reading from or writing to the client or the server failed.
    #[error("{0}")]
    Io(String),
    /// A `tools/call` could not be turned into an intent.
    #[error("tools/call: {0}")]
    Call(String),
}
