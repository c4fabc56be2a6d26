#!/usr/bin/env bash
# Skill supply chain: a skill bundle (SKILL.md and the policy that governs
# it) is signed by its publisher with `gait release sign` and verified with
# `gait release verify` before anything in it is used; intents carry
# `skill_provenance` (publisher, source, digest and signing key id of the
# verified bundle) and the bundle's policy decides on skill publishers and
# sources. See docs/release.md, "Signed skill and policy bundles".
#
#   bash scripts/hooks/skill_supply_chain.sh     (GAIT=<binary> to test another build)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
echo "==> skill supply chain: policy hooks on skill_provenance (Rust)"
cargo_tests crates/gait-policy/tests/eval_selectors.rs -p gait-policy --test eval_selectors skill_publishers_and_sources
gait="$(gait_bin)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "==> skill supply chain: signed bundle, verified before use ($gait)"
"$gait" keys init --role release --out-dir keys --prefix acme --json > acme.json
"$gait" keys init --role trace --out-dir keys --prefix tracer > /dev/null
key_id="$(sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p' acme.json)"
mkdir bundle
cat > bundle/SKILL.md <<'MD'
# report-writer
Writes weekly reports from the team's tracker. Reads only.
MD
cat > bundle/policy.yaml <<'YAML'
default_verdict: require_approval
rules:
  - name: block-untrusted-source
    effect: block
    match:
      skill_sources: [mirror.untrusted.example]
  - name: allow-trusted-publisher
    effect: allow
    match:
      skill_publishers: [acme]
      skill_sources: [registry.acme.example]
YAML
check "publisher signs the bundle with a release-role key" 0 \
    "$gait" release sign bundle --private-key keys/acme_private.key --builder-id publisher:acme
check "a trace-role key cannot sign the bundle" 6 \
    "$gait" release sign bundle --private-key keys/tracer_private.key --json
check "the bundle verifies against the publisher's public key" 0 \
    "$gait" release verify bundle --public-key keys/acme_public.key --json
skill_digest="$(awk '$2 == "SKILL.md" { print $1 }' bundle/SHA256SUMS)"

intent() { # intent <file> <source> <publisher>
    cat > "$1" <<JSON
{"schema_id":"gait.gate.intent_request","schema_version":"1.0.0","created_at":"2026-02-06T00:00:00Z",
 "producer_version":"hook","tool_name":"tracker.read","args":{"project":"ops"},
 "targets":[{"kind":"other","value":"tracker:ops"}],"arg_provenance":[{"arg_path":"\$.project","source":"user"}],
 "context":{"identity":"agent","workspace":"/w","risk_class":"low"},
 "skill_provenance":{"skill_name":"report-writer","skill_version":"1.2.0","source":"$2","publisher":"$3",
   "digest":"$skill_digest","signature_key_id":"$key_id"}}
JSON
}
intent trusted.json Registry.ACME.example acme
intent mirror.json mirror.untrusted.example acme
intent stranger.json registry.acme.example unknown-publisher
intent empty.json "" acme

# Use the bundle's policy only after the bundle verifies.
gate_with_bundle() { # gate_with_bundle <intent>
    "$gait" release verify bundle --public-key keys/acme_public.key --json > verify.json || return $?
    "$gait" gate eval --policy bundle/policy.yaml --intent "$1" --trace-out "trace_$1" --json
}
check "trusted publisher and source (source case-normalized): allow" 0 gate_with_bundle trusted.json
if grep -q "\"digest\": *\"$skill_digest\"" trace_trusted.json && grep -q "\"signature_key_id\": *\"$key_id\"" trace_trusted.json; then
    pass "the trace records the skill's digest and signing key id"
else
    fail "the trace does not record skill_provenance"
fi
check "untrusted source: block" 3 gate_with_bundle mirror.json
check "unknown publisher: require_approval" 4 gate_with_bundle stranger.json
check "skill_provenance without a source is invalid input" 6 gate_with_bundle empty.json

# A bundle changed after signing is refused before use.
sed -i 's/skill_publishers: \[acme\]/skill_publishers: [acme, unknown-publisher]/' bundle/policy.yaml
check "a tampered bundle policy fails verification" 2 \
    "$gait" release verify bundle --public-key keys/acme_public.key --json
rm -f trace_stranger.json
check "and is never used" 2 gate_with_bundle stranger.json
if grep -q '"file":"policy.yaml"' verify.json && [ ! -e trace_stranger.json ]; then
    pass "the verify report names policy.yaml and no gate evaluation ran"
else
    fail "tampered bundle: report or evaluation not as expected"
fi
# A bundle re-signed by another publisher key is refused.
"$gait" keys init --role release --out-dir keys --prefix mallory > /dev/null
"$gait" release sign bundle --private-key keys/mallory_private.key > /dev/null
check "a bundle re-signed by another key fails verification" 2 \
    "$gait" release verify bundle --public-key keys/acme_public.key --json
hook_summary "skill supply chain"
