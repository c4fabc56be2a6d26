#!/bin/sh
# A minimal agent for `gait enforce -- ./agent.sh TOOL...`: before each tool
# call it asks the gate (`gait gate eval`), prints the trace reference the
# wrapper collects (`trace_path=...`), and runs the tool only when the
# gate's exit code is 0 (allow). Tools: `read` prints a file, `write`
# writes one. GAIT is the gait binary; traces are signed with
# keys/trace_private.key (`gait keys init --role trace`).
set -u
gait="${GAIT:-gait}"
mkdir -p traces out
for tool in "$@"; do
    intent="out/intent_$tool.json"
    cat > "$intent" <<JSON
{"tool_name":"tool.$tool","args":{"path":"/workspace/notes.txt"},
 "targets":[{"kind":"path","value":"/workspace/notes.txt","operation":"$tool"}],
 "context":{"identity":"example-agent","workspace":"/workspace","risk_class":"low"}}
JSON
    trace="traces/trace_$tool.json"
    "$gait" gate eval --policy policy.yaml --intent "$intent" --trace-out "$trace" \
        --key-mode prod --private-key keys/trace_private.key --json > "out/decision_$tool.json"
    code=$?
    echo "trace_path=$trace"
    if [ "$code" -eq 0 ]; then
        case "$tool" in
            read) echo "read: ran" ;;
            write) echo "written by the agent" > out/side_effect_write.txt; echo "write: ran" ;;
        esac
    else
        echo "$tool: not run (gate exit $code)"
    fi
done
