#!/usr/bin/env bash
# Acceptance checks of the incident-to-CI loop with third-party tools:
# Python jsonschema validates regress_result.json against the reference
# schema, junitparser reads the JUnit report; plus tamper -> exit 5,
# doctor/check next commands, and 1,000 fixtures under 10 s.
#
#   scripts/accept_regress.sh            # builds target/release/gait
#   GAIT=/path/to/gait scripts/accept_regress.sh
#
# Python packages go into a venv under ~/.cache (network needed once;
# GAIT_ACCEPT_VENV overrides the location).
# Prints "N passed, M failed"; exits 1 if anything failed.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${GAIT:-}" ]; then
  (cd "$root" && cargo build --release --locked -p gait-cli >/dev/null 2>&1) || {
    echo "cargo build failed" >&2
    exit 1
  }
  GAIT="$root/target/release/gait"
fi
# The checks run in temporary directories: make a relative path absolute.
case "$GAIT" in
  /*) ;;
  */*) GAIT="$PWD/$GAIT" ;;
esac
export GAIT

venv="${GAIT_ACCEPT_VENV:-$HOME/.cache/gait-accept-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || exit 1
fi
"$venv/bin/python" -c 'import jsonschema, junitparser' 2>/dev/null ||
  "$venv/bin/pip" install --quiet 'jsonschema>=4' 'junitparser>=3' || exit 1
py="$venv/bin/python"

schema="$root/crates/gait-cli/tests/data/regress/regress_result.schema.json"
reference_dir="$root/crates/gait-cli/tests/data/regress"
shared="$root/../shared"
if [ -f "$shared/reference/schemas/regress/regress_result.schema.json" ]; then
  schema="$shared/reference/schemas/regress/regress_result.schema.json"
  reference_dir="$shared/interop/regress"
fi

passed=0
failed=0
check() { # name, command...
  local name="$1"
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
  fi
}
expect_exit() { # code, command...
  local want="$1"
  shift
  "$@" >/dev/null 2>&1
  local got=$?
  [ "$got" -eq "$want" ] || {
    echo "  expected exit $want, got $got: $*" >&2
    return 1
  }
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. README quick start from an empty directory.
qs="$work/quickstart"
mkdir -p "$qs"
cd "$qs" || exit 1
check "gait demo exits 0" expect_exit 0 "$GAIT" demo
check "gait verify run_demo exits 0" expect_exit 0 "$GAIT" verify run_demo
check "gait regress bootstrap exits 0" expect_exit 0 "$GAIT" regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml

validate_schema() {
  "$py" - "$schema" "$1" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
PY
}
check "regress_result.json validates (jsonschema)" validate_schema regress_result.json

same_as_reference() {
  "$py" - "$reference_dir" <<'PY'
import json, sys, pathlib
ref = pathlib.Path(sys.argv[1])
ours = json.load(open("regress_result.json"))
theirs = json.load(open(ref / "regress_result.json"))
ours["producer_version"] = theirs["producer_version"]
assert ours == theirs, "regress_result.json differs from the reference"
assert json.load(open("gait.yaml")) == json.load(open(ref / "gait.yaml")), "gait.yaml differs"
assert open("gait-out/junit.xml").read() == open(ref / "junit.xml").read(), "junit.xml differs"
PY
}
check "outputs equal the reference's (field by field)" same_as_reference

junit_cases() { # file, expected failures
  "$py" - "$1" "$2" <<'PY'
import json, sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
result = json.load(open("regress_result.json"))
cases = [(case.classname, case.name, any(isinstance(r, Failure) for r in case.result))
         for suite in xml for case in suite]
graders = [tuple(g["name"].split("/", 1)) for g in result["graders"]]
assert [(c, n) for c, n, _ in cases] == graders, (cases, graders)
assert sum(1 for *_, f in cases if f) == int(sys.argv[2]), cases
PY
}
check "junitparser: one test case per grader" junit_cases gait-out/junit.xml 0

# 2. Tampering with the recorded runpack's results -> exit 5.
tamper() {
  "$py" - <<'PY'
import zipfile
p = "fixtures/run_demo/runpack.zip"
with zipfile.ZipFile(p) as z:
    items = [(i, z.read(i.filename)) for i in z.infolist()]
with zipfile.ZipFile(p, "w") as z:
    for i, data in items:
        if i.filename == "results.jsonl":
            data = data.replace(b'"status":"ok"', b'"status":"error"', 1)
        z.writestr(i, data)
PY
}
check "tamper the fixture runpack's results" tamper
check "gait regress run exits 5 after tampering" expect_exit 5 "$GAIT" regress run --json --junit ./gait-out/junit.xml
check "tampered regress_result.json still validates" validate_schema regress_result.json
check "junitparser: failures reported per grader" junit_cases gait-out/junit.xml 4

# 3. doctor and check: valid JSON; every next command runs in a fresh directory.
run_next() { # dir, json-file
  local dir="$1" file="$2"
  "$py" -c 'import json,sys; [print(c) for c in json.load(open(sys.argv[1]))["next_commands"]]' "$file" >"$file.cmds" || return 1
  [ -s "$file.cmds" ] || return 1
  local line
  while IFS= read -r line; do
    # shellcheck disable=SC2086
    (cd "$dir" && set -- $line && shift && "$GAIT" "$@" >/dev/null 2>&1) || {
      echo "  next command failed: $line" >&2
      return 1
    }
  done <"$file.cmds"
}
is_json() { "$py" -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"; }
d1="$work/doctor"
d2="$work/doctor-next"
mkdir -p "$d1" "$d2"
(cd "$d1" && "$GAIT" doctor --json >"$work/doctor.json")
check "gait doctor --json is JSON" is_json "$work/doctor.json"
check "doctor next_commands run in a fresh directory" run_next "$d2" "$work/doctor.json"
c1="$work/check"
c2="$work/check-next"
mkdir -p "$c1" "$c2"
(cd "$c1" && "$GAIT" init >/dev/null && "$GAIT" check --json >"$work/check.json")
check "gait check --json is JSON" is_json "$work/check.json"
(cd "$c2" && "$GAIT" init >/dev/null)
check "check next_commands run in a fresh (initialized) directory" run_next "$c2" "$work/check.json"

# 4. 1,000 fixtures under 10 s (whole process).
bash "$root/scripts/gen_regress_fixtures.sh" "$work/perf" 1000 "$GAIT" >/dev/null
timed() {
  local start end
  start=$(date +%s.%N)
  (cd "$work/perf" && "$GAIT" regress run --json --junit junit.xml >/dev/null) || return 1
  end=$(date +%s.%N)
  "$py" -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'  1000 fixtures: {t:.2f} s'); sys.exit(0 if t < 10 else 1)" "$start" "$end"
}
check "regress run over 1,000 fixtures < 10 s" timed

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
