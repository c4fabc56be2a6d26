#!/usr/bin/env bash
# Acceptance test of the MCP protocol proxy against a real MCP server.
#
# Installs @modelcontextprotocol/server-filesystem and @modelcontextprotocol/sdk
# from the npm registry into a cache outside the repository (default
# ~/.cache/gait-mcp-accept; reused when already installed), then drives the
# server through the proxy with the SDK's client (scripts/accept_mcp_client.mjs).
# The policy allows reads and blocks writes. Checks: a read returns the file,
# a write returns isError with the block reason and creates nothing, the
# session keeps working, every call left a signed trace `gait trace verify`
# accepts.
#
# Usage: bash scripts/accept_mcp.sh
# Environment: GAIT (gait binary; default: build target/debug/gait),
#   GAIT_MCP_PROXY_CMD (proxy subcommand words; default "mcp proxy"),
#   GAIT_MCP_ACCEPT_CACHE (npm cache dir).
# Prints "N passed, M failed"; exits 1 on any failure. Skips (exit 0, with a
# notice) only when node/npm is missing or the npm registry is unreachable
# and nothing is cached.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GAIT_MCP_ACCEPT_CACHE:-$HOME/.cache/gait-mcp-accept}"
proxy_cmd="${GAIT_MCP_PROXY_CMD:-mcp proxy}"
server_pkg="@modelcontextprotocol/server-filesystem@2026.8.31"
sdk_pkg="@modelcontextprotocol/sdk@1.32.2"

pass=0
fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "SKIP: node/npm not installed; MCP acceptance test not run"
    exit 0
fi

# Install (or reuse) the Node packages.
mkdir -p "$cache"
installed() {
    [ -f "$cache/node_modules/@modelcontextprotocol/server-filesystem/package.json" ] &&
        [ -f "$cache/node_modules/@modelcontextprotocol/sdk/package.json" ] &&
        grep -q '"version": "2026.8.31"' "$cache/node_modules/@modelcontextprotocol/server-filesystem/package.json" &&
        grep -q '"version": "1.32.2"' "$cache/node_modules/@modelcontextprotocol/sdk/package.json"
}
if ! installed; then
    [ -f "$cache/package.json" ] || echo '{"name":"gait-mcp-accept","private":true,"version":"0.0.0"}' >"$cache/package.json"
    echo "==> npm install $server_pkg $sdk_pkg into $cache"
    if ! (cd "$cache" && timeout 300 npm install --no-audit --no-fund --loglevel=error "$server_pkg" "$sdk_pkg"); then
        if ! (cd "$cache" && timeout 30 npm ping >/dev/null 2>&1); then
            echo "SKIP: npm registry unreachable; MCP acceptance test not run"
            exit 0
        fi
        ko "npm install"
        finish
    fi
fi
server_js="$cache/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"

# The gait binary.
gait="${GAIT:-}"
if [ -z "$gait" ]; then
    (cd "$root" && cargo build --quiet -p gait-cli) || { ko "cargo build"; finish; }
    gait="$root/target/debug/gait"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$work/data"
mkdir -p "$data"
printf 'hello from gait\n' >"$data/readme.txt"
cat >"$work/policy.yaml" <<'EOF'
default_verdict: block
rules:
  - name: reads
    priority: 10
    effect: allow
    match:
      tool_names: [read_file, read_text_file, list_directory, list_allowed_directories, get_file_info]
  - name: no-writes
    priority: 1
    effect: block
    reason_codes: [writes_forbidden]
    match:
      tool_names: [write_file, edit_file, move_file, create_directory]
EOF
"$gait" keys init --out-dir "$work/keys" --json >/dev/null || { ko "gait keys init"; finish; }
private_key="$(ls "$work"/keys/*private* | head -n1)"
public_key="$(ls "$work"/keys/*public* | head -n1)"
traces="$work/traces"

cp "$root/scripts/accept_mcp_client.mjs" "$cache/accept_mcp_client.mjs"
client_out="$work/client.out"
GAIT="$gait" PROXY_CMD="$proxy_cmd" POLICY="$work/policy.yaml" PRIVATE_KEY="$private_key" \
    TRACE_DIR="$traces" DATA_DIR="$data" SERVER_JS="$server_js" \
    timeout 120 node "$cache/accept_mcp_client.mjs" >"$client_out" 2>"$work/client.err"
rc=$?
[ "$rc" -eq 0 ] || ko "node client exited with $rc: $(head -c 500 "$work/client.err")"
while IFS= read -r line; do
    case "$line" in
    PASS\ *) ok "${line#PASS }" ;;
    FAIL\ *) ko "${line#FAIL }" ;;
    esac
done <"$client_out"
calls="$(sed -n 's/^RESULT .*"calls":\([0-9]*\).*/\1/p' "$client_out")"

# Every tools/call left a signed trace that verifies.
count=0
bad=0
for t in "$traces"/trace_*.json; do
    [ -e "$t" ] || continue
    count=$((count + 1))
    if ! "$gait" trace verify --public-key "$public_key" --json "$t" >/dev/null; then
        bad=$((bad + 1))
        echo "trace failed verification: $t"
    fi
done
if [ -n "$calls" ] && [ "$count" -eq "$calls" ]; then
    ok "one trace per tools/call ($count)"
else
    ko "one trace per tools/call (calls=${calls:-?}, traces=$count)"
fi
if [ "$count" -gt 0 ] && [ "$bad" -eq 0 ]; then
    ok "gait trace verify accepts every trace"
else
    ko "gait trace verify accepts every trace ($bad of $count failed)"
fi
blocked="$(grep -l '"verdict": "block"' "$traces"/trace_*.json 2>/dev/null | wc -l)"
if [ "$blocked" -ge 2 ]; then
    ok "block verdicts are in the signed traces ($blocked)"
else
    ko "block verdicts are in the signed traces ($blocked)"
fi
finish
