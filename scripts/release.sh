#!/usr/bin/env bash
# Builds, documents, signs and verifies a Gait release directory.
#
#   scripts/release.sh [OUT_DIR]        (default: target/dist)
#
# Steps:
#   1. cargo build --release --locked -p gait-cli
#   2. CycloneDX JSON SBOM with cargo-cyclonedx (installed with
#      `cargo install --locked` into ~/.cargo/bin only when absent)
#   3. scripts/check_sbom.py: the SBOM lists every crate of Cargo.lock
#   4. gait release sign (SHA256SUMS, SHA256SUMS.sig.json, provenance.json,
#      provenance.sig.json)
#   5. gait release verify
#   6. self-check on a copy: a flipped byte in every file, an added file and
#      a signature by another key each fail with exit 2 naming the file, and
#      a trace-role key is refused by `release sign` with exit 6.
#
# The release key: GAIT_RELEASE_KEY names a private key file made with
# `gait keys init --role release` (its public half GAIT_RELEASE_PUBLIC_KEY,
# default: the same path with _private.key replaced by _public.key). Unset,
# a throwaway test key is generated for this run; the release key is never
# in the repository.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
out="${1:-target/dist}"
cyclonedx_version="0.5.9"
sbom_name="gait-release-sbom"

say() { echo "==> $*"; }

# 1. The release binary.
build_command="cargo build --release --locked -p gait-cli"
say "$build_command"
$build_command
gait="$root/target/release/gait"

# 2. The SBOM tool, installed once per machine.
export PATH="$HOME/.cargo/bin:$PATH"
if command -v cargo-cyclonedx >/dev/null 2>&1; then
    say "cargo-cyclonedx present: $(cargo cyclonedx --version 2>/dev/null || echo "version unknown")"
else
    say "installing cargo-cyclonedx $cyclonedx_version (cargo install --locked)"
    start=$(date +%s)
    cargo install --locked "cargo-cyclonedx@$cyclonedx_version"
    say "cargo-cyclonedx installed in $(( $(date +%s) - start )) s"
fi

rm -rf "$out"
mkdir -p "$out"
cp "$gait" "$out/gait"

say "SBOM: cargo cyclonedx (CycloneDX 1.5 JSON, all targets)"
# cargo-cyclonedx writes one file beside every workspace member's manifest;
# keep the binary crate's, remove the others (the name is unique to this script).
cargo cyclonedx --format json --target all --spec-version 1.5 \
    --override-filename "$sbom_name" -q
mv "crates/gait-cli/$sbom_name.json" "$out/gait.cdx.json"
find . -path ./target -prune -o -name "$sbom_name.json" -type f -print0 | xargs -0 rm -f
# Crates of Cargo.lock that are not linked into the binary (tests,
# benchmarks, examples) are added with scope "excluded", so the SBOM
# accounts for every locked crate.
python3 scripts/check_sbom.py --complete "$out/gait.cdx.json" Cargo.lock

# 3. The SBOM lists every crate of Cargo.lock with its version.
python3 scripts/check_sbom.py "$out/gait.cdx.json" Cargo.lock

# 4. The key, then the signature.
keydir=""
cleanup() { if [ -n "$keydir" ]; then rm -rf "$keydir"; fi; }
trap cleanup EXIT
if [ -n "${GAIT_RELEASE_KEY:-}" ]; then
    private="$GAIT_RELEASE_KEY"
    public="${GAIT_RELEASE_PUBLIC_KEY:-${private%_private.key}_public.key}"
    say "release key: $private"
else
    keydir="$(mktemp -d)"
    "$gait" keys init --role release --out-dir "$keydir" --prefix release-test >/dev/null
    private="$keydir/release-test_private.key"
    public="$keydir/release-test_public.key"
    say "release key: a test key generated for this run ($keydir)"
fi
commit="$(git rev-parse HEAD 2>/dev/null || true)"
if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    echo "warning: the work tree has uncommitted changes; the provenance names commit $commit" >&2
fi
say "gait release sign $out"
"$gait" release sign "$out" --private-key "$private" \
    --builder-id "${GAIT_BUILDER_ID:-scripts/release.sh}" \
    ${commit:+--source-commit "$commit"} \
    --cargo-lock Cargo.lock \
    --toolchain "$(rustc -V)" \
    --build-command "$build_command"

# 5. Verify what was made.
say "gait release verify $out"
"$gait" release verify "$out" --public-key "$public"
cp "$public" "$out.public.key"
say "public key for this release: $out.public.key (published apart from the directory)"

# 6. Tampering self-check on copies.
say "self-check: tampered copies are rejected"
scratch="$(mktemp -d)"
keydir_extra="$scratch/keys"
trap 'cleanup; rm -rf "$scratch"' EXIT
passed=0
failed=0
expect() { # expect <exit> <name that must appear in the report> <label> <command...>
    local want="$1" name="$2" label="$3"; shift 3
    local rc=0 report
    report="$("$@" 2>&1)" || rc=$?
    if [ "$rc" = "$want" ] && { [ -z "$name" ] || grep -qF -- "$name" <<<"$report"; }; then
        passed=$((passed + 1)); echo "  ok   $label (exit $rc)"
    else
        failed=$((failed + 1)); echo "  FAIL $label: exit $rc, want $want naming ${name:-?}"; echo "$report" | head -5
    fi
}
for f in "$out"/*; do
    name="$(basename "$f")"
    copy="$scratch/flip-$name"
    cp -r "$out" "$copy"
    size=$(stat -c %s "$copy/$name")
    python3 - "$copy/$name" $((size / 2)) <<'PY'
import sys
p, at = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[at] ^= 0x01
open(p, "wb").write(bytes(b))
PY
    expect 2 "\"file\":\"$name\"" "flipped byte in $name" \
        "$gait" release verify "$copy" --public-key "$public" --json
done
cp -r "$out" "$scratch/added"
echo extra > "$scratch/added/extra.txt"
expect 2 '"file":"extra.txt"' "added file extra.txt" \
    "$gait" release verify "$scratch/added" --public-key "$public" --json
"$gait" keys init --role release --out-dir "$keydir_extra" --prefix other >/dev/null
cp -r "$out" "$scratch/other"
"$gait" release sign "$scratch/other" --private-key "$keydir_extra/other_private.key" >/dev/null
expect 2 '"file":"SHA256SUMS.sig.json"' "signature by another key" \
    "$gait" release verify "$scratch/other" --public-key "$public" --json
"$gait" keys init --role trace --out-dir "$keydir_extra" --prefix trace >/dev/null
cp -r "$out" "$scratch/trace"
expect 6 'role trace' "trace-role key refused by release sign" \
    "$gait" release sign "$scratch/trace" --private-key "$keydir_extra/trace_private.key" --json
echo "release self-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
say "release in $out verified"
