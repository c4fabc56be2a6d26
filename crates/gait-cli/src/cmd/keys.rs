//! `gait keys init|rotate|verify`

use std::path::Path;

use gait_sign::{KeySource, RoleKind, SigningKey, Trace};
use serde_json::{Map, Value};

use crate::args::{KeysCommand, KeysInitArgs, KeysRotateArgs, KeysVerifyArgs};
use crate::exit::{Exit, failure};
use crate::key_args::KeySources;
use crate::output::{Out, stderr_line, stdout_line};

/// Runs a `keys` subcommand.
pub fn run(out: &Out, cmd: &KeysCommand) -> Exit {
    match cmd {
        KeysCommand::Init(a) => init(out, a),
        KeysCommand::Rotate(a) => rotate(out, a),
        KeysCommand::Verify(a) => verify(out, a),
    }
}

fn init(out: &Out, a: &KeysInitArgs) -> Exit {
    let result = parse_role(a.role.as_deref())
        .and_then(|role| create_pair(&a.out_dir, &a.prefix, a.force, role));
    report_pair(out, "keys init", result)
}

/// The `--role` flag: absent, or one of the four roles.
fn parse_role(text: Option<&str>) -> Result<Option<RoleKind>, (String, Exit)> {
    match text {
        None => Ok(None),
        Some(text) => RoleKind::parse(text).map(Some).ok_or_else(|| {
            (
                format!(
                    "unknown --role {text:?} (expected trace, approval, delegation or release)"
                ),
                Exit::InvalidInput,
            )
        }),
    }
}

fn rotate(out: &Out, a: &KeysRotateArgs) -> Exit {
    let stamp = rotation_stamp(&gait_digest::GoTime::now_utc());
    let prefix = format!("{}_{stamp}", a.prefix.trim());
    // Rotation never overwrites: the previous keys stay where they are.
    let result = parse_role(a.role.as_deref())
        .and_then(|role| create_pair(&a.out_dir, &prefix, false, role));
    report_pair(out, "keys rotate", result)
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn rotation_stamp(now: &gait_digest::GoTime) -> String {
    let text = now.to_utc().format();
    let mut stamp: String = text
        .chars()
        .take(19)
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    stamp.push('Z');
    stamp
}

struct PairCreated {
    prefix: String,
    key_id: String,
    private_path: String,
    public_path: String,
    role: Option<(RoleKind, String)>,
}

fn create_pair(
    out_dir: &str,
    prefix: &str,
    force: bool,
    role: Option<RoleKind>,
) -> Result<PairCreated, (String, Exit)> {
    let dir = out_dir.trim();
    if dir.is_empty() {
        return Err(("out-dir must not be empty".into(), Exit::InvalidInput));
    }
    let prefix = prefix.trim();
    if prefix.is_empty() {
        return Err(("prefix must not be empty".into(), Exit::InvalidInput));
    }
    let key = SigningKey::<Trace>::generate().map_err(failure)?;
    let dir = gait_digest::clean_path(dir);
    if role.is_some() && !force {
        let record =
            gait_sign::role_record_path(&Path::new(&dir).join(format!("{prefix}_private.key")));
        if std::fs::symlink_metadata(&record).is_ok() {
            return Err((
                format!(
                    "role record path already exists (use --force): {}",
                    record.display()
                ),
                Exit::InvalidInput,
            ));
        }
    }
    let files = gait_sign::write_key_pair(Path::new(&dir), prefix, &key, force).map_err(failure)?;
    let role = match role {
        None => None,
        Some(role) => {
            let record = gait_sign::KeyRoleRecord::new(role, &key.key_id());
            let path = gait_sign::write_role_record(&files.private_key_path, &record, force)
                .map_err(failure)?;
            Some((role, path.display().to_string()))
        }
    };
    Ok(PairCreated {
        prefix: prefix.to_owned(),
        key_id: key.key_id().to_hex(),
        private_path: files.private_key_path.display().to_string(),
        public_path: files.public_key_path.display().to_string(),
        role,
    })
}

fn report_pair(out: &Out, what: &str, result: Result<PairCreated, (String, Exit)>) -> Exit {
    match (result, out.is_json()) {
        (Ok(p), true) => {
            let mut m = Map::new();
            m.insert("ok".into(), Value::Bool(true));
            m.insert("prefix".into(), Value::String(p.prefix));
            m.insert("key_id".into(), Value::String(p.key_id));
            m.insert("public_key_path".into(), Value::String(p.public_path));
            m.insert("private_key_path".into(), Value::String(p.private_path));
            if let Some((role, path)) = p.role {
                m.insert("role".into(), Value::String(role.as_str().to_owned()));
                m.insert("role_record_path".into(), Value::String(path));
            }
            out.json(m, Exit::Ok)
        }
        (Ok(p), false) => {
            let role = p
                .role
                .map(|(role, path)| format!(" role={role} role_record={path}"))
                .unwrap_or_default();
            stdout_line(&format!(
                "{what} ok: key_id={} public={} private={}{role}",
                p.key_id, p.public_path, p.private_path
            ));
            Exit::Ok
        }
        (Err((msg, exit)), true) => out.json_error(&msg, exit),
        (Err((msg, exit)), false) => {
            stderr_line(&format!("{what} error: {msg}"));
            exit
        }
    }
}

fn verify(out: &Out, a: &KeysVerifyArgs) -> Exit {
    match verify_inner(a) {
        Ok((key_id, private_label, public_label)) => {
            if out.is_json() {
                let mut m = Map::new();
                m.insert("ok".into(), Value::Bool(true));
                m.insert("key_id".into(), Value::String(key_id));
                m.insert("private_key_source".into(), Value::String(private_label));
                m.insert("public_key_source".into(), Value::String(public_label));
                out.json(m, Exit::Ok)
            } else {
                stdout_line(&format!("keys verify ok: key_id={key_id}"));
                Exit::Ok
            }
        }
        Err((msg, exit)) => {
            if out.is_json() {
                out.json_error(&msg, exit)
            } else {
                stderr_line(&format!("keys verify error: {msg}"));
                exit
            }
        }
    }
}

fn verify_inner(a: &KeysVerifyArgs) -> Result<(String, String, String), (String, Exit)> {
    let KeySources { private, public } = a.keys.sources()?;
    let Some(private) = private else {
        return Err((
            "private key source is required (--private-key or --private-key-env)".into(),
            Exit::InvalidInput,
        ));
    };
    // `keys verify` signs nothing: it checks the pair, whatever role the
    // key was made for. A key file that group or others can access is
    // reported (signing commands refuse it).
    let derived = private.load_public_half::<Trace>().map_err(failure)?;
    if let KeySource::Path(path) = &private {
        if let Err(e) = gait_sign::check_private_key_mode(path) {
            stderr_line(&format!("warning: {e}"));
        }
    }
    if let Some(public) = &public {
        let declared = public.load_verifying::<Trace>().map_err(failure)?;
        if declared != derived {
            return Err((
                "public key does not match private key".into(),
                Exit::InvalidInput,
            ));
        }
    }
    Ok((
        derived.key_id().to_hex(),
        private.label(),
        public.map_or_else(|| "derived".to_owned(), |p| p.label()),
    ))
}

#[cfg(test)]
mod tests {
    use super::rotation_stamp;

    #[test]
    fn stamp_format() {
        let t = gait_digest::GoTime::parse("2026-11-25T17:38:01.123+02:00").unwrap();
        assert_eq!(rotation_stamp(&t), "20261125T153801Z");
    }
}
