//! The `--credential-*` flags, one definition for every boundary that
//! decides (`gate eval`, `mcp proxy|bridge|serve`, `serve`, the hooks and
//! the MCP protocol proxy).

use std::sync::Arc;

use gait_policy::broker::{
    BrokerOverrides, BrokerSettings, COMMAND_ALLOWLIST_ENV, CredentialBroker,
};

use crate::exit::{Failure, failure};

/// Credential broker flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BrokerArgs {
    /// Credential broker for rules with `require_broker_credential`: off
    /// (the default), none, stub, env or command.
    #[arg(long, value_name = "NAME")]
    pub credential_broker: Option<String>,
    /// Env broker: prefix of the variable names (default GAIT_BROKER_TOKEN_).
    #[arg(long, value_name = "PREFIX")]
    pub credential_env_prefix: Option<String>,
    /// Overrides the rules' broker reference.
    #[arg(long, value_name = "REF")]
    pub credential_ref: Option<String>,
    /// Extra scopes, merged with the rules' broker scopes.
    #[arg(long, value_name = "CSV")]
    pub credential_scopes: Option<String>,
    /// Command broker: the program (run without a shell, 5 s timeout).
    #[arg(long, value_name = "PATH")]
    pub credential_command: Option<String>,
    /// Command broker: its arguments.
    #[arg(long, value_name = "CSV")]
    pub credential_command_args: Option<String>,
}

impl BrokerArgs {
    /// Resolves the flags before anything is decided: an unknown name,
    /// `command` without a program, or a program off
    /// `GAIT_CREDENTIAL_COMMAND_ALLOWLIST` is invalid input (exit 6), even
    /// when no rule needs a broker.
    pub fn resolve(&self) -> Result<(Option<Arc<dyn CredentialBroker>>, BrokerOverrides), Failure> {
        let text = |o: &Option<String>| o.as_deref().unwrap_or_default().to_owned();
        let mut settings = BrokerSettings::default();
        settings.broker = text(&self.credential_broker);
        settings.env_prefix = text(&self.credential_env_prefix);
        settings.reference = text(&self.credential_ref);
        settings.scopes = text(&self.credential_scopes);
        settings.command = text(&self.credential_command);
        settings.command_args = text(&self.credential_command_args);
        let allowlist = std::env::var(COMMAND_ALLOWLIST_ENV).unwrap_or_default();
        settings.resolve(&allowlist).map_err(failure)
    }
}
