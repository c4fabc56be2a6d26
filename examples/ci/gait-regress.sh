#!/usr/bin/env bash
# Run the Gait regress fixtures of the current directory in any CI system.
#
#   GAIT=/path/to/gait bash examples/ci/gait-regress.sh
#
# Input:  $GAIT, the gait binary (default: `gait` on PATH); the current
#         directory holds gait.yaml and fixtures/ (from `gait regress init`).
# Output: gait's JSON result line, then where the reports are:
#           junit: ./gait-out/junit.xml
#           regress_result: ./regress_result.json
# Exit:   gait's exit code: 0 pass, 5 regression, 6 bad config or input,
#         127 when the gait binary cannot be found.
set -u

GAIT="${GAIT:-gait}"
JUNIT="./gait-out/junit.xml"
RESULT="./regress_result.json"

if ! command -v "$GAIT" >/dev/null 2>&1; then
  echo "gait-regress: gait binary not found: $GAIT (set GAIT=/path/to/gait)" >&2
  exit 127
fi

mkdir -p ./gait-out
"$GAIT" regress run --json --junit "$JUNIT"
status=$?

for report in "junit:$JUNIT" "regress_result:$RESULT"; do
  label="${report%%:*}"
  path="${report#*:}"
  if [ -f "$path" ]; then
    echo "$label: $path"
  else
    echo "$label: $path (not written)"
  fi
done

case "$status" in
  0) echo "gait-regress: pass" >&2 ;;
  5) echo "gait-regress: regression detected (exit 5); see $RESULT and $JUNIT" >&2 ;;
  *) echo "gait-regress: gait regress run failed with exit $status" >&2 ;;
esac
exit "$status"
