# Shared helpers of the validation hooks (sourced, not run).
# Each hook prints every check it makes as "ok   <what>" or "FAIL <what>",
# then "<hook>: N passed, M failed", and exits 1 when anything failed or
# nothing was checked.

hook_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
hook_passed=0
hook_failed=0

pass() { hook_passed=$((hook_passed + 1)); echo "  ok   $*"; }
fail() { hook_failed=$((hook_failed + 1)); echo "  FAIL $*"; }

# check <what> <expected exit> <command...>: runs the command, compares its
# exit status; the command's output is shown only on failure.
check() {
    local what="$1" want="$2"; shift 2
    local rc=0 output
    output="$("$@" 2>&1)" || rc=$?
    if [ "$rc" = "$want" ]; then
        pass "$what (exit $rc)"
    else
        fail "$what: exit $rc, expected $want"
        printf '%s\n' "$output" | tail -n 15 | sed 's/^/       /'
    fi
}

# cargo_tests <test file for doc lines> <cargo test args...>: runs Rust
# tests and reports each one with the first line of its doc comment, if
# the file has one.
cargo_tests() {
    local file="$1"; shift
    local log rc=0
    log="$(mktemp)"
    (cd "$hook_root" && cargo test --locked "$@" -- --test-threads=2) >"$log" 2>&1 || rc=$?
    while read -r name result; do
        local doc=""
        if [ -n "$file" ] && [ -f "$hook_root/$file" ]; then
            # The first sentence of the test's doc comment.
            doc="$(awk -v fn="fn ${name##*::}(" '
                /^[ \t]*\/\/\/ ?/ { line = $0; sub(/^[ \t]*\/\/\/ ?/, "", line); text = indoc ? text " " line : line; indoc = 1; next }
                index($0, fn) { if (indoc) { if (match(text, /[.]( |$)/)) text = substr(text, 1, RSTART); print text } exit }
                !/^[ \t]*#\[/ { indoc = 0; text = "" }' "$hook_root/$file")"
        fi
        if [ "$result" = "ok" ]; then
            pass "$name${doc:+ — $doc}"
        else
            fail "$name${doc:+ — $doc}"
        fi
    done < <(sed -n 's/^test \(.*\) \.\.\. \(ok\|FAILED\)$/\1 \2/p' "$log")
    if [ "$rc" != 0 ]; then
        fail "cargo test $* exited $rc"
        grep -E "^(error|thread|  left|  right)" "$log" | head -n 20 | sed 's/^/       /'
    fi
    rm -f "$log"
}

# gait_bin: the gait binary to test: $GAIT, else a fresh debug build.
gait_bin() {
    if [ -n "${GAIT:-}" ]; then
        echo "$GAIT"
        return
    fi
    (cd "$hook_root" && cargo build --locked -q -p gait-cli) >&2
    echo "$hook_root/target/debug/gait"
}

hook_summary() {
    echo "$1: $hook_passed passed, $hook_failed failed"
    [ "$hook_failed" = 0 ] && [ "$hook_passed" -gt 0 ]
}
