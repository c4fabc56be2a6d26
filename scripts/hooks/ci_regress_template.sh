#!/usr/bin/env bash
# CI regress template: the steps of examples/ci/github-actions.yml run
# locally. A fixture is made the way the template's users make theirs
# (`gait demo`, then `gait regress bootstrap`), then
# examples/ci/gait-regress.sh runs in it with GAIT pointing at the binary,
# and must pass and write its JUnit report. The script must also hand
# gait's own exit code back to CI (checked with a stand-in that exits 5).
#
#   bash scripts/hooks/ci_regress_template.sh    (GAIT=<binary> to test another build)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
script="$hook_root/examples/ci/gait-regress.sh"
workflow="$hook_root/examples/ci/github-actions.yml"
echo "==> CI regress template: examples/ci steps, locally"
missing=0
for f in "$script" "$workflow"; do
    if [ ! -f "$f" ]; then
        fail "${f#"$hook_root"/} not found: the CI regress template (issue 5: regress, capture, examples/ci) is not in this tree"
        missing=1
    fi
done
if [ "$missing" = 1 ]; then
    hook_summary "CI regress template"
    exit 1
fi
if grep -q "gait-regress.sh" "$workflow"; then
    pass "examples/ci/github-actions.yml runs examples/ci/gait-regress.sh"
else
    fail "examples/ci/github-actions.yml does not run gait-regress.sh"
fi
gait="$(gait_bin)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
check "fixture: gait demo" 0 "$gait" demo --json
check "fixture: gait regress bootstrap --from run_demo" 0 \
    "$gait" regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml
rm -f ./gait-out/junit.xml
check "examples/ci/gait-regress.sh passes on the fixture" 0 env GAIT="$gait" bash "$script"
if [ -s ./gait-out/junit.xml ] && grep -q "<testsuite" ./gait-out/junit.xml; then
    pass "gait-out/junit.xml written (JUnit XML)"
else
    fail "gait-out/junit.xml missing or not JUnit XML"
fi
# The script hands gait's exit code to CI unchanged.
cat > fake-gait <<'SH'
#!/bin/sh
echo '{"ok":false,"status":"fail"}'
exit 5
SH
chmod +x fake-gait
check "gait-regress.sh exits with gait's exit code (regression: 5)" 5 env GAIT="$work/fake-gait" bash "$script"
hook_summary "CI regress template"
