//! Sign a document with a trace key and verify it offline.
//!
//! Run with `cargo run -p gait-examples --example sign_and_verify`.

use gait_sign::{SigningKey, Trace, VerifyingKey};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::<Trace>::generate()?;
    let document = json!({"tool_name": "tool.read", "verdict": "allow"});
    let canonical = gait_digest::canonical::to_vec(&document);
    let envelope = key.sign_value(&document);

    let public_text = key.verifying_key().to_public_text();
    let verifier = VerifyingKey::<Trace>::from_public_text(&public_text, "example")?;
    verifier.verify_value(&document, &envelope)?;

    let out = json!({
        "canonical": String::from_utf8(canonical)?,
        "key_id": envelope.key_id,
        "signed_digest": envelope.signed_digest,
        "verified": true,
    });
    std::io::Write::write_all(&mut std::io::stdout(), format!("{out}\n").as_bytes())?;
    Ok(())
}
