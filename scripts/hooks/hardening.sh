#!/usr/bin/env bash
# Hardening acceptance: every control of docs/threat_model.md exercised end
# to end through the real gait binary (crates/gait-cli/tests/hardening.rs),
# plus the release signing CLI tests (crates/gait-cli/tests/cli_release.rs).
#
#   bash scripts/hooks/hardening.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
echo "==> hardening acceptance: threat model controls, end to end"
cargo_tests crates/gait-cli/tests/hardening.rs -p gait-cli --test hardening
echo "==> hardening acceptance: release signing and verification"
cargo_tests "" -p gait-cli --test cli_release
hook_summary "hardening acceptance"
