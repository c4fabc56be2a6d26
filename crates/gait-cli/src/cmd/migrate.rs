//! `gait migrate`: upgrades a runpack to the current encoding (the rules
//! live in [`gait_pack::runpack::migrate_runpack`]).

use std::path::Path;

use clap::Args;
use gait_pack::runpack::{MigrateTarget, migrate_runpack, resolve_runpack_path};
use serde::Serialize;
use serde_json::Map;

use crate::cmd::fail;
use crate::exit::{Exit, Failure, failure};
use crate::output::{Out, stderr_line, stdout_line};

/// `gait migrate` arguments.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The runpack (run id or path).
    #[arg(long, value_name = "RUN_ID|PATH")]
    pub input: Option<String>,
    /// The output runpack (default `<input dir>/runpack_<run_id>_migrated.zip`).
    #[arg(long, value_name = "PATH")]
    pub out: Option<String>,
    /// The target encoding (only `v1`).
    #[arg(long, value_name = "TARGET", default_value = "v1")]
    pub target: String,
    /// The runpack, instead of `--input`.
    #[arg(value_name = "RUN_ID|PATH")]
    pub positional: Vec<String>,
}

#[derive(Serialize)]
struct MigrateOutput<'a> {
    ok: bool,
    input: &'a str,
    output: String,
    artifact: &'static str,
    status: &'static str,
    run_id: &'a str,
}

/// Runs `gait migrate`.
pub fn run(out: &Out, a: &MigrateArgs) -> Exit {
    match migrate(a) {
        Ok((input, m)) => {
            for w in &m.warnings {
                stderr_line(&format!("warning: {w}"));
            }
            let output = m.output.to_string_lossy().into_owned();
            if out.is_json() {
                return out.json_typed(
                    &MigrateOutput {
                        ok: true,
                        input: &input,
                        output,
                        artifact: "runpack",
                        status: m.status.as_str(),
                        run_id: &m.run_id,
                    },
                    Exit::Ok,
                );
            }
            stdout_line(&format!(
                "migrate ok: {input} -> {output} ({})",
                m.status.as_str()
            ));
            Exit::Ok
        }
        Err((msg, exit)) => fail(out, "migrate", Map::new(), &msg, exit),
    }
}

fn migrate(a: &MigrateArgs) -> Result<(String, gait_pack::runpack::Migrated), Failure> {
    MigrateTarget::parse(&a.target).map_err(failure)?;
    let input = match (a.input.as_deref().map(str::trim), a.positional.as_slice()) {
        (Some(i), []) if !i.is_empty() => i.to_owned(),
        (None | Some(""), [p]) => p.trim().to_owned(),
        (None | Some(""), []) => {
            return Err(("missing --input <run_id|path>".into(), Exit::InvalidInput));
        }
        _ => {
            return Err(("unexpected positional arguments".into(), Exit::InvalidInput));
        }
    };
    let path = resolve_runpack_path(&input).map_err(failure)?;
    let out_path = a.out.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let migrated = migrate_runpack(&path, out_path.map(Path::new)).map_err(failure)?;
    Ok((path.to_string_lossy().into_owned(), migrated))
}
