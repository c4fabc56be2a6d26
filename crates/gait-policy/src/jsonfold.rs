//! Go-style member-name matching for lenient documents (registry
//! manifests, approved-script entries): a member selects a known field
//! exactly or ignoring letter case (Go's folding), unknown members are
//! ignored, and two members that select the same field are refused as
//! ambiguous (a Go reader and an exact-key reader would disagree).

use serde_json::Value;

use crate::intent::gostr::json_key_matches;

/// Renames the members of `value` (an object; anything else is left
/// alone) that select one of `known` to the field's own spelling.
///
/// # Errors
///
/// The name of a field two members select.
pub(crate) fn fold_member_names(value: &mut Value, known: &[&str]) -> Result<(), String> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    let mut taken: Vec<&str> = Vec::new();
    for k in keys {
        let Some(field) = known
            .iter()
            .find(|f| **f == k)
            .or_else(|| known.iter().find(|f| json_key_matches(&k, f)))
        else {
            continue;
        };
        if taken.contains(field) {
            return Err((*field).to_owned());
        }
        taken.push(field);
        if k != *field {
            if let Some(v) = map.remove(&k) {
                map.insert((*field).to_owned(), v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::fold_member_names;

    #[test]
    fn folds_and_refuses_ambiguity() {
        let mut v = serde_json::json!({"Pack_Name": "x", "other": 1});
        fold_member_names(&mut v, &["pack_name"]).unwrap();
        assert_eq!(v, serde_json::json!({"pack_name": "x", "other": 1}));
        let mut v = serde_json::json!({"PACK_NAME": "a", "pack_name": "b"});
        assert_eq!(
            fold_member_names(&mut v, &["pack_name"]),
            Err("pack_name".to_owned())
        );
        let mut s = serde_json::json!("not an object");
        assert!(fold_member_names(&mut s, &["x"]).is_ok());
    }
}
