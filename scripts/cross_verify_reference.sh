#!/usr/bin/env bash
# cross_verify.sh - cross-implementation check: artifacts written by one gait
# binary ($GAIT, ours) are verified by another ($GAIT_REF, the reference), and
# a session chain written by the reference is verified by ours.
#
# Usage: GAIT=/path/to/ours GAIT_REF=/path/to/reference [SHARED=../shared] \
#        [KEEP=1] [VERBOSE=1] ./cross_verify.sh
# Prints one PASS/FAIL line per check (INFO lines are not counted) and ends
# with "N passed, M failed".
# Exit status: 0 when every check passed, 1 otherwise.
# Needs: bash, python3 (standard library only).
set -u

: "${GAIT:?set GAIT to the gait binary under test}"
: "${GAIT_REF:?set GAIT_REF to the reference gait binary}"
SHARED=${SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared}

abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
OURS=$(abs "$GAIT")
REF=$(abs "$GAIT_REF")
for bin in "$OURS" "$REF"; do
  [ -x "$bin" ] || { echo "not executable: $bin" >&2; exit 2; }
done

TCK_INPUT=$SHARED/reference/tck/run_record_input.json
APPROVAL_SCN=$SHARED/reference/scenarios/approval-token-valid
DELEGATION_SCN=$SHARED/reference/scenarios/delegation-chain-depth-3
BLOCK_SCN=$SHARED/reference/scenarios/policy-block-destructive
OTHER_PUB=$SHARED/interop/keys/other_public.key

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gait-cross.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  echo "work dir: $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

PASSED=0
FAILED=0
LAST_OUT=""
LAST_RC=0

# run LABEL CMD... : runs CMD in the current directory, keeps stdout in LAST_OUT
# and the exit code in LAST_RC (stderr is kept next to it for diagnostics).
run() {
  local label=$1; shift
  LAST_OUT=$("$@" 2>"$WORK/stderr.$label")
  LAST_RC=$?
  printf '%s\n' "$LAST_OUT" >"$WORK/stdout.$label"
}

# json_get EXPR : evaluates a Python expression over the JSON object `d`
# parsed from LAST_OUT (the last {...} block on stdout); prints the result.
json_get() {
  JSON_TEXT=$LAST_OUT python3 -c '
import json, os, sys
text = os.environ["JSON_TEXT"]
start, end = text.find("{"), text.rfind("}")
try:
    d = json.loads(text[start:end + 1]) if start >= 0 else {}
except ValueError:
    d = {}
r = eval(sys.argv[1], {"d": d})
print(json.dumps(r) if not isinstance(r, str) else r)
' "$1"
}

# check NAME WANT_RC PY_CONDITION CMD... : runs CMD, passes when the exit code
# is WANT_RC and PY_CONDITION (over the parsed JSON `d`) is true.
check() {
  local name=$1 want_rc=$2 cond=$3; shift 3
  run "$name" "$@"
  local ok
  ok=$(json_get "bool($cond)" 2>/dev/null || echo false)
  if [ "$LAST_RC" = "$want_rc" ] && [ "$ok" = "true" ]; then
    PASSED=$((PASSED + 1))
    echo "PASS $name"
    [ "${VERBOSE:-0}" = 1 ] && echo "     $LAST_OUT"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL $name: exit $LAST_RC (want $want_rc), condition [$cond] -> $ok"
    echo "     cmd: $*"
    echo "     out: $(printf '%s' "$LAST_OUT" | head -c 1200)"
    local err; err=$(head -c 400 "$WORK/stderr.$name")
    [ -n "$err" ] && echo "     err: $err"
  fi
  return 0
}

# assert NAME PY_CONDITION : a check with no command; the condition is plain
# Python (no `d`), typically comparing values captured earlier.
assert() {
  local name=$1 cond=$2 detail=${3:-}
  if python3 -c "import sys; sys.exit(0 if ($cond) else 1)"; then
    PASSED=$((PASSED + 1)); echo "PASS $name"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $name: [$cond] is false ${detail}"
  fi
}

# zip_sha ZIP MEMBER : sha256 of one member of a zip
zip_sha() {
  python3 -c '
import hashlib, sys, zipfile
print(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2])).hexdigest())' "$1" "$2"
}

# same_zip_contents A B : prints true when both zips hold the same names and bytes
same_zip_contents() {
  python3 -c '
import sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:3])
da = {n: a.read(n) for n in a.namelist()}
db = {n: b.read(n) for n in b.namelist()}
print("true" if da == db else "false")' "$1" "$2"
}

file_sha() { python3 -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

echo "ours:      $OURS ($("$OURS" version 2>&1 | head -1))"
echo "reference: $REF ($("$REF" version 2>&1 | head -1))"

# ---------------------------------------------------------------- 1. demo runpack
mkdir -p "$WORK/s1" && cd "$WORK/s1"
check ours-demo 0 'd.get("ok") is True and d.get("run_id") == "run_demo"' \
  "$OURS" demo --json
DEMO_FOOTER=$(json_get 'd.get("ticket_footer", "")')
DEMO_MANIFEST=$(printf '%s' "$DEMO_FOOTER" | sed -n 's/.*manifest=sha256:\([0-9a-f]*\).*/\1/p')
check ref-verify-ours-demo-runpack 0 \
  "d.get('ok') is True and d.get('run_id') == 'run_demo' and d.get('signature_status') == 'missing' and d.get('manifest_digest') == '$DEMO_MANIFEST'" \
  "$REF" verify ./gait-out/runpack_run_demo.zip --json
check ref-verify-ours-demo-require-signature-refused 2 'd.get("ok") is False' \
  "$REF" verify ./gait-out/runpack_run_demo.zip --require-signature --public-key "$OTHER_PUB" --json

# ---------------------------------------------------------------- 2. signed runpack
mkdir -p "$WORK/s2" && cd "$WORK/s2"
check ours-keys-init 0 'd.get("ok") is True' "$OURS" keys init --out-dir k --json
KEY_ID=$(json_get 'd.get("key_id", "")')
check ref-keys-verify-ours-keypair 0 "d.get('ok') is True" \
  "$REF" keys verify --private-key k/gait_private.key --public-key k/gait_public.key --json
check ours-run-record-signed 0 'd.get("ok") is True and d.get("run_id") == "run_tck"' \
  "$OURS" run record --input "$TCK_INPUT" --out-dir ours --key-mode prod --private-key k/gait_private.key --json
OURS_TCK_MANIFEST=$(json_get 'd.get("manifest_digest", "")')
OURS_TCK=$WORK/s2/ours/runpack_run_tck.zip
check ref-verify-ours-signed-runpack 0 \
  "d.get('ok') is True and d.get('signature_status') == 'verified' and d.get('signatures_valid') == 1 and d.get('manifest_digest') == '$OURS_TCK_MANIFEST' and d.get('run_id') == 'run_tck'" \
  "$REF" verify "$OURS_TCK" --require-signature --public-key k/gait_public.key --json
check ref-verify-ours-signed-runpack-strict 0 "d.get('ok') is True and d.get('signature_status') == 'verified'" \
  "$REF" verify "$OURS_TCK" --profile strict --public-key k/gait_public.key --json
check ref-verify-ours-signed-runpack-wrong-key 2 "d.get('ok') is False and d.get('signature_status') == 'failed'" \
  "$REF" verify "$OURS_TCK" --require-signature --public-key "$OTHER_PUB" --json
check ref-run-record-same-input 0 "d.get('ok') is True" \
  "$REF" run record --input "$TCK_INPUT" --out-dir ref --key-mode prod --private-key k/gait_private.key --json
REF_TCK_MANIFEST=$(json_get 'd.get("manifest_digest", "")')
REF_TCK=$WORK/s2/ref/runpack_run_tck.zip
assert same-manifest-digest-as-reference-run-record "'$OURS_TCK_MANIFEST' == '$REF_TCK_MANIFEST' != ''" \
  "(ours $OURS_TCK_MANIFEST, reference $REF_TCK_MANIFEST)"
assert same-runpack-entries-as-reference-run-record "'$(same_zip_contents "$OURS_TCK" "$REF_TCK")' == 'true'"
check ours-verify-ref-signed-runpack 0 "d.get('ok') is True and d.get('signature_status') == 'verified'" \
  "$OURS" verify "$REF_TCK" --require-signature --public-key k/gait_public.key --json

# ---------------------------------------------------------------- 3. packs
mkdir -p "$WORK/s3" && cd "$WORK/s3"
check ours-pack-build-unsigned 0 "d.get('ok') is True and d.get('pack_type') == 'run'" \
  "$OURS" pack build --from "$OURS_TCK" --out pack_unsigned.zip --json
PACK_U=$(json_get 'd.get("pack_id", "")')
check ours-pack-build-signed 0 "d.get('ok') is True and d.get('pack_type') == 'run'" \
  "$OURS" pack build --from "$OURS_TCK" --out pack_signed.zip --key-mode prod --private-key "$WORK/s2/k/gait_private.key" --json
PACK_S=$(json_get 'd.get("pack_id", "")')
check ref-pack-verify-ours-unsigned 0 \
  "d.get('ok') is True and d.get('pack_id') == '$PACK_U' and d['verify'].get('signature_status') == 'missing' and d['verify'].get('files_checked', 0) > 0" \
  "$REF" pack verify pack_unsigned.zip --json
check ref-pack-verify-ours-signed 0 \
  "d.get('ok') is True and d.get('pack_id') == '$PACK_S' and d['verify'].get('signature_status') == 'verified' and d['verify'].get('signatures_valid') == 1" \
  "$REF" pack verify pack_signed.zip --require-signature --public-key "$WORK/s2/k/gait_public.key" --json
check ref-pack-verify-ours-signed-strict 0 "d.get('ok') is True and d['verify'].get('signature_status') == 'verified'" \
  "$REF" pack verify pack_signed.zip --profile strict --public-key "$WORK/s2/k/gait_public.key" --json
check ref-pack-verify-ours-signed-wrong-key 2 "d.get('ok') is False" \
  "$REF" pack verify pack_signed.zip --require-signature --public-key "$OTHER_PUB" --json
check ref-pack-verify-ours-unsigned-require-signature 2 "d.get('ok') is False" \
  "$REF" pack verify pack_unsigned.zip --require-signature --public-key "$WORK/s2/k/gait_public.key" --json
check ref-pack-inspect-ours-signed 0 \
  "d.get('ok') is True and d.get('pack_id') == '$PACK_S' and d['inspect']['manifest']['pack_type'] == 'run' and d['inspect']['manifest']['source_ref'] == 'run_tck'" \
  "$REF" pack inspect pack_signed.zip --json
# Both sides re-serialize the source runpack into source/runpack.zip with their
# own deterministic zip writer. Byte equality of that member (and so of pack
# ids) across implementations is reported as INFO only: verification does not
# depend on it.
check ours-pack-build-from-ref-runpack 0 "d.get('ok') is True" \
  "$OURS" pack build --from "$REF_TCK" --out pack_of_ref_runpack.zip --json
check ref-pack-build-from-ref-runpack 0 "d.get('ok') is True" \
  "$REF" pack build --from "$REF_TCK" --out ref_pack_of_ref_runpack.zip --json
check ref-pack-verify-ours-pack-of-ref-runpack 0 "d.get('ok') is True" \
  "$REF" pack verify pack_of_ref_runpack.zip --json
OURS_EMB=$(zip_sha pack_of_ref_runpack.zip source/runpack.zip 2>/dev/null)
REF_EMB=$(zip_sha ref_pack_of_ref_runpack.zip source/runpack.zip 2>/dev/null)
if [ -n "$OURS_EMB" ] && [ "$OURS_EMB" = "$REF_EMB" ]; then
  echo "INFO embedded source/runpack.zip bytes identical to the reference's ($OURS_EMB)"
else
  echo "INFO embedded source/runpack.zip bytes differ from the reference's (ours $OURS_EMB, reference $REF_EMB); entries identical: $(python3 -c '
import io, sys, zipfile
a, b = (zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(p).read("source/runpack.zip"))) for p in sys.argv[1:3])
print({n: a.read(n) for n in a.namelist()} == {n: b.read(n) for n in b.namelist()})' pack_of_ref_runpack.zip ref_pack_of_ref_runpack.zip)"
fi

# ---------------------------------------------------------------- 4. job packs
mkdir -p "$WORK/s4" && cd "$WORK/s4"
check ref-demo-durable 0 "d.get('ok') is True and d.get('job_id') == 'job_demo_durable'" \
  "$REF" demo --durable --json
check ours-pack-build-job 0 "d.get('ok') is True and d.get('pack_type') == 'job'" \
  "$OURS" pack build --type job --from job_demo_durable --job-root ./gait-out/jobs --out ours_job_pack.zip --json
OURS_JOB_PACK=$(json_get 'd.get("pack_id", "")')
if [ -f ours_job_pack.zip ]; then
  check ref-pack-verify-ours-job-pack 0 "d.get('ok') is True and d.get('pack_type') == 'job' and d.get('pack_id') == '$OURS_JOB_PACK'" \
    "$REF" pack verify ours_job_pack.zip --json
else
  FAILED=$((FAILED + 1)); echo "FAIL ref-pack-verify-ours-job-pack: no job pack was built"
fi
check ours-pack-verify-ref-job-pack 0 "d.get('ok') is True and d.get('pack_type') == 'job'" \
  "$OURS" pack verify ./gait-out/pack_job_demo_durable.zip --json

# ---------------------------------------------------------------- 5. traces and tokens
mkdir -p "$WORK/s5" && cd "$WORK/s5"
K=$WORK/s2/k
check ours-gate-eval-signed-trace-require-approval 4 "d.get('verdict') == 'require_approval'" \
  "$OURS" gate eval --policy "$APPROVAL_SCN/policy.yaml" --intent "$APPROVAL_SCN/intent.json" \
  --key-mode prod --private-key "$K/gait_private.key" --trace-out trace_approval.json --json
INTENT_DIGEST=$(json_get 'd.get("intent_digest", "")')
POLICY_DIGEST=$(json_get 'd.get("policy_digest", "")')
TRACE_ID=$(json_get 'd.get("trace_id", "")')
check ref-trace-verify-ours-require-approval 0 \
  "d.get('ok') is True and d.get('signature_status') == 'verified' and d.get('verdict') == 'require_approval' and d.get('trace_id') == '$TRACE_ID'" \
  "$REF" trace verify trace_approval.json --public-key "$K/gait_public.key" --json
check ref-trace-verify-ours-wrong-key 2 "d.get('ok') is False" \
  "$REF" trace verify trace_approval.json --public-key "$OTHER_PUB" --json
head -n 4 "$BLOCK_SCN/intents.jsonl" | tail -n 1 >intent_block.json
check ours-gate-eval-signed-trace-block 3 "d.get('verdict') == 'block'" \
  "$OURS" gate eval --policy "$BLOCK_SCN/policy.yaml" --intent intent_block.json \
  --key-mode prod --private-key "$K/gait_private.key" --trace-out trace_block.json --json
check ref-trace-verify-ours-block 0 "d.get('ok') is True and d.get('signature_status') == 'verified' and d.get('verdict') == 'block'" \
  "$REF" trace verify trace_block.json --public-key "$K/gait_public.key" --json
head -n 1 "$BLOCK_SCN/intents.jsonl" >intent_allow.json
check ours-gate-eval-signed-trace-allow 0 "d.get('verdict') == 'allow'" \
  "$OURS" gate eval --policy "$BLOCK_SCN/policy.yaml" --intent intent_allow.json \
  --key-mode prod --private-key "$K/gait_private.key" --trace-out trace_allow.json --json
check ref-trace-verify-ours-allow 0 "d.get('ok') is True and d.get('signature_status') == 'verified' and d.get('verdict') == 'allow'" \
  "$REF" trace verify trace_allow.json --public-key "$K/gait_public.key" --json

# approval token minted by ours, consumed by the reference gate
check ours-approve 0 "d.get('ok') is True" \
  "$OURS" approve --intent-digest "$INTENT_DIGEST" --policy-digest "$POLICY_DIGEST" --ttl 1h \
  --scope tool:tool.write --approver human.reviewer --reason-code change_ticket_42 \
  --out approval_token.json --key-mode prod --private-key "$K/gait_private.key" --json
APPROVAL_ID=$(json_get 'd.get("token_id", "")')
mkdir -p ref_gate && cd ref_gate
check ref-gate-eval-ours-approval-token 0 \
  "d.get('verdict') == 'allow' and 'approval_granted' in d.get('reason_codes', []) and d.get('approval_ref') == '$APPROVAL_ID'" \
  "$REF" gate eval --policy "$APPROVAL_SCN/policy.yaml" --intent "$APPROVAL_SCN/intent.json" \
  --approval-token ../approval_token.json --approval-public-key "$K/gait_public.key" \
  --key-mode prod --private-key "$K/gait_private.key" --trace-out ref_trace.json --json
check ours-trace-verify-ref-trace 0 "d.get('ok') is True and d.get('signature_status') == 'verified' and d.get('verdict') == 'allow'" \
  "$OURS" trace verify ref_trace.json --public-key "$K/gait_public.key" --json
check ref-gate-eval-ours-approval-token-wrong-key 4 \
  "d.get('verdict') == 'require_approval' and 'approval_token_signature_invalid' in d.get('reason_codes', [])" \
  "$REF" gate eval --policy "$APPROVAL_SCN/policy.yaml" --intent "$APPROVAL_SCN/intent.json" \
  --approval-token ../approval_token.json --approval-public-key "$OTHER_PUB" --trace-out wrong_key_trace.json --json
cd ..

# delegation token minted by ours, checked by the reference
check ours-delegate-mint 0 "d.get('ok') is True" \
  "$OURS" delegate mint --delegator agent.lead --delegate agent.worker --scope tool:tool.write \
  --scope-class write --ttl 1h --out delegation_token.json --key-mode prod --private-key "$K/gait_private.key" --json
DELEGATION_ID=$(json_get 'd.get("token_id", "")')
check ref-delegate-verify-ours-token 0 \
  "d.get('ok') is True and d.get('token_id') == '$DELEGATION_ID' and d.get('delegator_identity') == 'agent.lead' and d.get('delegate_identity') == 'agent.worker'" \
  "$REF" delegate verify --token delegation_token.json --public-key "$K/gait_public.key" \
  --delegator agent.lead --delegate agent.worker --scope tool:tool.write --json
check ref-delegate-verify-ours-token-wrong-key 2 "d.get('ok') is False" \
  "$REF" delegate verify --token delegation_token.json --public-key "$OTHER_PUB" --json
python3 - "$DELEGATION_SCN/intent.json" "$DELEGATION_ID" >intent_delegated.json <<'PY'
import json, sys
intent = json.load(open(sys.argv[1]))
token = sys.argv[2]
intent["delegation"] = {
    "requester_identity": "agent.worker",
    "scope_class": "write",
    "token_refs": [token],
    "chain": [{"delegator_identity": "agent.lead", "delegate_identity": "agent.worker",
               "scope_class": "write", "token_ref": token}],
}
json.dump(intent, sys.stdout)
PY
mkdir -p ref_deleg && cd ref_deleg
check ref-gate-eval-ours-delegation-token 0 \
  "d.get('verdict') == 'allow' and 'delegation_granted' in d.get('reason_codes', []) and d.get('valid_delegations') == 1" \
  "$REF" gate eval --policy "$DELEGATION_SCN/policy.yaml" --intent ../intent_delegated.json \
  --delegation-token ../delegation_token.json --delegation-public-key "$K/gait_public.key" --json
cd ..
check ours-gate-eval-delegated-signed-trace 0 "d.get('verdict') == 'allow'" \
  "$OURS" gate eval --policy "$DELEGATION_SCN/policy.yaml" --intent intent_delegated.json \
  --delegation-token delegation_token.json --delegation-public-key "$K/gait_public.key" \
  --key-mode prod --private-key "$K/gait_private.key" --trace-out trace_delegated.json --json
check ref-trace-verify-ours-delegated 0 "d.get('ok') is True and d.get('signature_status') == 'verified' and d.get('verdict') == 'allow'" \
  "$REF" trace verify trace_delegated.json --public-key "$K/gait_public.key" --json

# ---------------------------------------------------------------- 6. session chain
mkdir -p "$WORK/s6" && cd "$WORK/s6"
check ref-session-start 0 "d.get('ok') is True" \
  "$REF" run session start --journal journal.jsonl --session-id sess_cross --run-id run_cross --json
check ref-session-append-1 0 "d.get('ok') is True" \
  "$REF" run session append --journal journal.jsonl --tool tool.read --verdict allow --intent-id intent_1 --trace-id trace_1 --json
check ref-session-append-2 0 "d.get('ok') is True" \
  "$REF" run session append --journal journal.jsonl --tool tool.delete --verdict block --intent-id intent_2 \
  --reason-codes blocked_by_rule --violations destructive_tool --json
check ref-session-checkpoint-1 0 "d.get('ok') is True" \
  "$REF" run session checkpoint --journal journal.jsonl --out checkpoint_1.zip --chain-out chain.json --json
check ref-session-append-3 0 "d.get('ok') is True" \
  "$REF" run session append --journal journal.jsonl --tool tool.write --verdict require_approval --intent-id intent_3 --json
check ref-session-checkpoint-2 0 "d.get('ok') is True" \
  "$REF" run session checkpoint --journal journal.jsonl --out checkpoint_2.zip --chain-out chain.json --json
check ours-verify-ref-session-chain 0 \
  "d.get('ok') is True and d.get('checkpoints_checked') == 2 and d.get('session_id') == 'sess_cross' and d.get('run_id') == 'run_cross'" \
  "$OURS" verify session-chain --chain chain.json --json
check ours-verify-ref-checkpoint-runpack 0 "d.get('ok') is True" \
  "$OURS" verify checkpoint_1.zip --json
# a broken link must be refused by both sides
python3 - chain.json >chain_broken.json <<'PY'
import json, sys
chain = json.load(open(sys.argv[1]))
chain["checkpoints"][1]["prev_checkpoint_digest"] = "0" * 64
json.dump(chain, sys.stdout, indent=2)
PY
check ref-verify-broken-session-chain 2 "d.get('ok') is False" \
  "$REF" verify session-chain --chain chain_broken.json --json
REF_BROKEN_RC=$LAST_RC
check ours-verify-broken-session-chain "$REF_BROKEN_RC" "d.get('ok') is False" \
  "$OURS" verify session-chain --chain chain_broken.json --json

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
