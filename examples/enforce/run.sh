#!/usr/bin/env bash
# `gait enforce` around an agent that asks the gate before each tool call.
# Run from anywhere: bash examples/enforce/run.sh [path/to/gait]
# Checks: an allowed call runs and the wrapper exits 0; a blocked call does
# not run, and the wrapper exits 3 (the contract's "blocked").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gait="$(cd "$(dirname "${1:-$here/../../target/release/gait}")" && pwd)/$(basename "${1:-gait}")"
[ -x "$gait" ] || { echo "gait binary not found: $gait" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/agent.sh" "$here/policy.yaml" "$work/"
chmod +x "$work/agent.sh"
cd "$work"
export GAIT="$gait"
"$gait" keys init --out-dir keys --prefix trace --role trace --json > /dev/null

pass=0
fail=0
check() { if eval "$2"; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }

set +e
"$gait" enforce --json -- ./agent.sh read > enforce_read.json
code=$?
set -e
check "allowed read: enforce exits 0" '[ "$code" -eq 0 ]'
check "allowed read: the tool ran" 'grep -q "read: ran" enforce_read.json'

set +e
"$gait" enforce --json -- ./agent.sh read write > enforce_write.json
code=$?
set -e
check "blocked write: enforce exits 3" '[ "$code" -eq 3 ]'
check "blocked write: the tool did not run" '[ ! -e out/side_effect_write.txt ]'
check "blocked write: one allow and one block counted" 'python3 -c "import json,sys; d=json.load(open(\"enforce_write.json\")); c={v[\"verdict\"]: v[\"count\"] for v in d[\"verdict_counts\"]}; sys.exit(0 if c == {\"allow\": 1, \"block\": 1} else 1)"'
check "every trace verifies with the trace key" 'for t in traces/*.json; do "$gait" trace verify "$t" --public-key keys/trace_public.key --json >/dev/null || exit 1; done'

set +e
"$gait" enforce --json -- sh -c 'echo no trace here' > enforce_none.json
code=$?
set -e
check "no trace: enforce fails closed (exit 6)" '[ "$code" -eq 6 ]'

# A trace the agent forged (the allowed read's record, re-pointed at the
# write tool) does not verify with the trace key: enforce refuses it.
sed 's/tool\.read/tool.write/g' traces/trace_read.json > forged.json
set +e
"$gait" enforce --public-key keys/trace_public.key --json -- sh -c 'echo trace_path=forged.json' > enforce_forged.json
code=$?
set -e
check "forged trace: it differs from the signed one" '! cmp -s forged.json traces/trace_read.json'
check "forged trace: enforce with the trace key refuses (exit 3)" '[ "$code" -eq 3 ]'
check "signed trace: enforce with the trace key accepts it" '"$gait" enforce --public-key keys/trace_public.key --json -- sh -c "echo trace_path=traces/trace_read.json" > /dev/null'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
