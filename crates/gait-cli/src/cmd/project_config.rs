//! `.gait/config.yaml` defaults for `gate eval`.

use std::path::Path;

use crate::cmd::gate::GateEvalArgs;
use crate::exit::Exit;

/// Fills every `gate eval` flag that was not given (or was empty) from
/// the project defaults, as the reference does. The default config path
/// may be missing; an explicit `--config` must exist.
pub fn apply_gate_defaults(a: &GateEvalArgs) -> Result<GateEvalArgs, (String, Exit)> {
    let mut a = a.clone();
    if a.no_config {
        return Ok(a);
    }
    let path = a.config.trim();
    let allow_missing =
        gait_digest::clean_path(path) == gait_digest::clean_path(gait_project::DEFAULT_CONFIG_PATH);
    let cfg = gait_project::load_project_config(Path::new(path), allow_missing)
        .map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    let g = &cfg.gate;
    let fill = |flag: &mut Option<String>, value: &str| {
        if flag.as_deref().is_none_or(|f| f.trim().is_empty()) && !value.is_empty() {
            *flag = Some(value.to_owned());
        }
    };
    fill(&mut a.policy, &g.policy);
    fill(&mut a.profile, &g.profile);
    fill(&mut a.keys.key_mode, &g.key_mode);
    fill(&mut a.keys.private.private_key, &g.private_key);
    fill(&mut a.keys.private.private_key_env, &g.private_key_env);
    fill(&mut a.approval_public_key, &g.approval_public_key);
    fill(&mut a.approval_public_key_env, &g.approval_public_key_env);
    fill(&mut a.approval_private_key, &g.approval_private_key);
    fill(&mut a.approval_private_key_env, &g.approval_private_key_env);
    fill(&mut a.rate_limit_state, &g.rate_limit_state);
    fill(&mut a.kill_switch_state, &g.kill_switch_state);
    fill(&mut a.trace_out, &g.trace_path);
    fill(&mut a.wrkr_inventory, &g.wrkr_inventory_path);
    fill(&mut a.broker.credential_broker, &g.credential_broker);
    fill(
        &mut a.broker.credential_env_prefix,
        &g.credential_env_prefix,
    );
    fill(&mut a.broker.credential_ref, &g.credential_ref);
    fill(&mut a.broker.credential_scopes, &g.credential_scopes);
    fill(&mut a.broker.credential_command, &g.credential_command);
    fill(
        &mut a.broker.credential_command_args,
        &g.credential_command_args,
    );
    fill(&mut a.credential_evidence_out, &g.credential_evidence_path);
    Ok(a)
}
