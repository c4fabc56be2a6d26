#!/usr/bin/env bash
# Creates N regress fixtures (copies of the demo fixture) in DIR, for
# whole-process measurements of `gait regress run`.
#
#   scripts/gen_regress_fixtures.sh DIR N [GAIT]
set -euo pipefail
dir="$1"
n="$2"
gait="${3:-${GAIT:-gait}}"
mkdir -p "$dir"
cd "$dir"
"$gait" demo >/dev/null
"$gait" regress init --from run_demo --name fx-00000 >/dev/null
for i in $(seq 1 $((n - 1))); do
  name=$(printf 'fx-%05d' "$i")
  mkdir -p "fixtures/$name"
  cp fixtures/fx-00000/runpack.zip "fixtures/$name/runpack.zip"
  sed "s/\"fx-00000\"/\"$name\"/" fixtures/fx-00000/fixture.json >"fixtures/$name/fixture.json"
done
# init rescans fixtures/ and rewrites gait.yaml with all of them.
"$gait" regress init --from run_demo --name fx-00000 >/dev/null
echo "$(grep -c '"name"' gait.yaml) fixtures in $dir"
