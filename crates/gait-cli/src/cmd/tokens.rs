//! Approval and delegation tokens presented on the command line: one
//! loader for every command that takes token files.

use clap::Args;
use gait_policy::token::{ApprovalToken, DelegationToken, MAX_TOKEN_BYTES};

use crate::cmd::read_input;
use crate::exit::Exit;

/// Token files presented with a call (`mcp proxy --call`, the hooks, the
/// MCP protocol proxy): each is checked against the call's intent and
/// policy digests, so a token only counts for the call it was minted for.
#[derive(Debug, Clone, Default, Args)]
pub struct TokenFlags {
    /// Approval token files presented with the call (comma-separated).
    #[arg(long, value_name = "PATHS")]
    pub approval_token: Option<String>,
    /// Delegation token files presented with the call (comma-separated).
    #[arg(long, value_name = "PATHS")]
    pub delegation_token: Option<String>,
}

/// Paths from a primary flag (one path) and a comma-separated chain flag:
/// trimmed, empty items dropped, sorted and de-duplicated.
pub fn token_paths(primary: Option<&str>, chain: Option<&str>) -> Vec<String> {
    let mut paths: Vec<String> = primary
        .into_iter()
        .chain(chain.into_iter().flat_map(|c| c.split(',')))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Reads and parses approval token files.
pub fn approval_tokens(paths: &[String]) -> Result<Vec<ApprovalToken>, (String, Exit)> {
    paths
        .iter()
        .map(|p| {
            let bytes = read_input(p, "approval token", MAX_TOKEN_BYTES as u64)?;
            ApprovalToken::from_json_slice(&bytes)
                .map_err(|e| (format!("{p}: {e}"), Exit::InvalidInput))
        })
        .collect()
}

/// Reads and parses delegation token files.
pub fn delegation_tokens(paths: &[String]) -> Result<Vec<DelegationToken>, (String, Exit)> {
    paths
        .iter()
        .map(|p| {
            let bytes = read_input(p, "delegation token", MAX_TOKEN_BYTES as u64)?;
            DelegationToken::from_json_slice(&bytes)
                .map_err(|e| (format!("{p}: {e}"), Exit::InvalidInput))
        })
        .collect()
}

impl TokenFlags {
    /// Loads both kinds of token.
    pub fn load(&self) -> Result<(Vec<ApprovalToken>, Vec<DelegationToken>), (String, Exit)> {
        Ok((
            approval_tokens(&token_paths(None, self.approval_token.as_deref()))?,
            delegation_tokens(&token_paths(None, self.delegation_token.as_deref()))?,
        ))
    }
}
