//! Approval and delegation tokens presented on the command line: one
//! loader for every command that takes token files.

use clap::Args;
use gait_policy::token::{ApprovalToken, DelegationToken, MAX_TOKEN_BYTES};

use gait_sign::{KeyMode, Role, SigningKey};
use serde::Serialize;
use serde_json::Map;

use crate::cmd::{fail, parse_csv, parse_ttl, read_input, write_token_file};
use crate::exit::{Exit, ExitClass, Failure, failure};
use crate::key_args::{ModeDefault, SigningKeyArgs};
use crate::output::{Out, stderr_line, stdout_line};

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

/// A token file written by `gait approve` or `gait delegate mint`.
pub trait TokenFile {
    /// The file name prefix of the default output path (`approval`,
    /// `delegation`).
    const KIND: &'static str;
    /// The token's id.
    fn token_id(&self) -> &str;
    /// The file bytes (pretty JSON and a newline).
    fn file_bytes(&self) -> Vec<u8>;
}

impl TokenFile for ApprovalToken {
    const KIND: &'static str = "approval";
    fn token_id(&self) -> &str {
        &self.token_id
    }
    fn file_bytes(&self) -> Vec<u8> {
        self.to_pretty_json()
    }
}

impl TokenFile for DelegationToken {
    const KIND: &'static str = "delegation";
    fn token_id(&self) -> &str {
        &self.token_id
    }
    fn file_bytes(&self) -> Vec<u8> {
        self.to_pretty_json()
    }
}

/// The flags every minting command shares.
pub struct MintFlags<'a> {
    /// `--ttl`.
    pub ttl: Option<&'a str>,
    /// `--scope`.
    pub scope: Option<&'a str>,
    /// `--out`.
    pub out: Option<&'a str>,
    /// The signing key flags.
    pub keys: &'a SigningKeyArgs,
}

/// A token signed and written.
pub struct Minted<T> {
    /// The token.
    pub token: T,
    /// Where it was written.
    pub path: String,
    /// Warnings (the dev-mode key warning).
    pub warnings: Vec<String>,
}

/// Mints and writes a token, checking in the reference's order: ttl,
/// scope, key, the token's own fields (in `sign`, given the ttl in
/// nanoseconds, the scopes and the key), then the file (`--out`, else
/// `<kind>_<token_id>.json`).
pub fn mint_token<R: Role, T: TokenFile, E: ExitClass>(
    flags: &MintFlags<'_>,
    sign: impl FnOnce(i128, Vec<String>, &SigningKey<R>) -> Result<T, E>,
) -> Result<Minted<T>, Failure> {
    let ttl_nanos = parse_ttl(flags.ttl)?;
    let scope = parse_csv(flags.scope);
    if scope.is_empty() {
        return Err(("scope is required".into(), Exit::InvalidInput));
    }
    let loaded = flags
        .keys
        .load::<R>(flags.keys.mode(ModeDefault::Strict(KeyMode::Dev))?)?;
    let token = sign(ttl_nanos, scope, &loaded.key).map_err(failure)?;
    let path = flags
        .out
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map_or_else(
            || format!("{}_{}.json", T::KIND, token.token_id()),
            str::to_owned,
        );
    write_token_file(&path, &token.file_bytes())?;
    Ok(Minted {
        token,
        path,
        warnings: loaded.warning.iter().map(|w| (*w).to_owned()).collect(),
    })
}

/// What a minting command prints: its JSON object (a typed output
/// record), its warnings and its text line.
pub struct MintReport<T> {
    /// The `--json` object.
    pub output: T,
    /// Printed as `warning: …` lines in text mode.
    pub warnings: Vec<String>,
    /// The text-mode line.
    pub line: String,
}

/// Prints the result of a minting command: under `--json` the object;
/// otherwise the warnings on standard error and the line.
pub fn report_minted<T: Serialize>(
    out: &Out,
    label: &str,
    result: Result<MintReport<T>, Failure>,
) -> Exit {
    match result {
        Ok(r) => {
            if out.is_json() {
                return out.json_typed(&r.output, Exit::Ok);
            }
            for w in &r.warnings {
                stderr_line(&format!("warning: {w}"));
            }
            stdout_line(&r.line);
            Exit::Ok
        }
        Err((msg, exit)) => fail(out, label, Map::new(), &msg, exit),
    }
}
