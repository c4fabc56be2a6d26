#!/usr/bin/env bash
# PackSpec TCK on our own vectors: the TCK classes of the reference
# (record, verify, wrong key, tampered payload, undeclared entry, schema-
# invalid manifest) for runpacks and packs as Rust tests, then every vector
# in crates/gait-pack/tests/data through the gait binary: each valid one
# verifies (exit 0), each tampered one fails (exit 2).
#
#   bash scripts/hooks/packspec_tck.sh          (GAIT=<binary> to test another build)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
echo "==> PackSpec TCK: runpack and pack classes (Rust)"
cargo_tests crates/gait-pack/tests/runpack_tck.rs -p gait-pack --test runpack_tck
cargo_tests crates/gait-pack/tests/pack_tck.rs -p gait-pack --test pack_tck
gait="$(gait_bin)"
data="$hook_root/crates/gait-pack/tests/data"
key="$hook_root/crates/gait-sign/tests/data/trace_public.key"
verify_cmd() { # runpacks: gait verify; packs: gait pack verify; both with the vectors' trace key
    case "$(basename "$1")" in
        runpack_*) echo "verify --public-key $key" ;;
        *) echo "pack verify --public-key $key" ;;
    esac
}
# The zip vectors are interoperability fixtures (made by the reference) and
# tampered copies of them; the Rust classes above build their own.
echo "==> PackSpec TCK: vectors through $gait"
for f in "$data"/*.zip; do
    # shellcheck disable=SC2046
    check "valid vector $(basename "$f") verifies" 0 "$gait" $(verify_cmd "$f") "$f" --json
done
for f in "$data"/tampered/*.zip; do
    # shellcheck disable=SC2046
    check "tampered vector $(basename "$f") is rejected" 2 "$gait" $(verify_cmd "$f") "$f" --json
done
hook_summary "PackSpec TCK"
