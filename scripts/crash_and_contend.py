#!/usr/bin/env python3
"""Crash and concurrency acceptance for the job runtime and session journals.

Crash: each of `job checkpoint add`, `job resume`, `run session append` and
`run session compact` is killed with SIGKILL at a random moment (0 to 1.5
times its measured duration) until ROUNDS kills landed while it was still
running (at most 5 x ROUNDS attempts). After each kill, the next
commands must see the state before or after the interrupted one, never
anything else: `job status` / `job checkpoint list` read and report one of
the two checkpoint counts or statuses; `run session status` reads the
journal strictly and reports one of the two event counts; the session chain
verifies. No temporary or half-written file may be left that a read trips
over.

Concurrency: PROCS processes append APPENDS events each to one session
journal at the same time, with the `swarm` lock profile; afterwards the journal holds exactly PROCS x
APPENDS events with sequences 1..N, a checkpoint covers them all and the
chain verifies.

    python3 scripts/crash_and_contend.py --gait target/release/gait [--rounds 20] [--procs 8] [--appends 500]

Ends with "N passed, M failed" and exits 1 on any failure.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def run(gait, args, cwd):
    p = subprocess.run([gait, *args, "--json"], cwd=cwd, capture_output=True, text=True)
    try:
        doc = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else {}
    except (json.JSONDecodeError, IndexError):
        doc = {}
    return p.returncode, doc


def killed_run(gait, args, cwd, delay):
    """Runs gait and SIGKILLs it after `delay` seconds; True when it was killed."""
    p = subprocess.Popen([gait, *args, "--json"], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(delay)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.wait()
    return p.returncode == -signal.SIGKILL


def duration(gait, args, cwd):
    t = time.perf_counter()
    subprocess.run([gait, *args, "--json"], cwd=cwd, capture_output=True)
    return time.perf_counter() - t


def job_state(gait, cwd, job):
    code, doc = run(gait, ["job", "status", "--id", job], cwd)
    if code != 0:
        return None
    j = doc.get("job", {})
    return j.get("status"), len(j.get("checkpoints") or [])


def crash_checkpoint_add(gait, cwd, rounds):
    run(gait, ["job", "submit", "--id", "c1", "--env-fingerprint", "fp"], cwd)
    typical = duration(gait, ["job", "checkpoint", "add", "--id", "c1", "--summary", "warm"], cwd)
    kills = 0
    i = -1
    while kills < rounds and i < 5 * rounds:
        i += 1
        before = job_state(gait, cwd, "c1")
        kills += killed_run(gait, ["job", "checkpoint", "add", "--id", "c1", "--summary", f"s{i}"],
                            cwd, random.uniform(0, 1.5 * typical))
        after = job_state(gait, cwd, "c1")
        ok = before is not None and after is not None and after[1] in (before[1], before[1] + 1)
        code, doc = run(gait, ["job", "checkpoint", "list", "--id", "c1"], cwd)
        ok = ok and code == 0 and len(doc.get("checkpoints") or []) == after[1]
        check(f"job checkpoint add round {i}", ok, f"before={before} after={after}")
    print(f"job checkpoint add: {i + 1} rounds, {kills} killed before finishing")


def crash_resume(gait, cwd, rounds):
    run(gait, ["job", "submit", "--id", "r1", "--env-fingerprint", "fp"], cwd)
    run(gait, ["job", "pause", "--id", "r1"], cwd)
    typical = duration(gait, ["job", "resume", "--id", "r1", "--env-fingerprint", "fp"], cwd)
    kills = 0
    i = -1
    while kills < rounds and i < 5 * rounds:
        i += 1
        run(gait, ["job", "pause", "--id", "r1"], cwd)
        before = job_state(gait, cwd, "r1")
        kills += killed_run(gait, ["job", "resume", "--id", "r1", "--env-fingerprint", "fp"],
                            cwd, random.uniform(0, 1.5 * typical))
        after = job_state(gait, cwd, "r1")
        ok = before is not None and before[0] == "paused" and after is not None \
            and after[0] in ("paused", "running")
        code, _ = run(gait, ["job", "inspect", "--id", "r1"], cwd)
        check(f"job resume round {i}", ok and code == 0, f"before={before} after={after}")
    print(f"job resume: {i + 1} rounds, {kills} killed before finishing")


LAST_ERROR = {}


def session_status(gait, cwd, journal):
    code, doc = run(gait, ["run", "session", "status", "--journal", journal], cwd)
    if code != 0:
        LAST_ERROR["status"] = doc.get("error", "")
        return None
    s = doc.get("status", {})
    return s.get("event_count"), s.get("checkpoint_count"), s.get("last_sequence")


def crash_append(gait, cwd, rounds):
    j = "sa/j.jsonl"
    run(gait, ["run", "session", "start", "--journal", j, "--session-id", "sa", "--run-id", "run_sa"], cwd)
    typical = duration(gait, ["run", "session", "append", "--journal", j, "--tool", "t", "--verdict", "allow"], cwd)
    kills = 0
    i = -1
    while kills < rounds and i < 5 * rounds:
        i += 1
        before = session_status(gait, cwd, j)
        kills += killed_run(gait, ["run", "session", "append", "--journal", j, "--tool", f"t{i}",
                                   "--verdict", "allow"], cwd, random.uniform(0, 1.5 * typical))
        after = session_status(gait, cwd, j)
        ok = before is not None and after is not None and after[0] in (before[0], before[0] + 1)
        # The next append continues the numbering.
        code, doc = run(gait, ["run", "session", "append", "--journal", j, "--tool", "next",
                               "--verdict", "allow"], cwd)
        ok = ok and code == 0 and doc.get("event", {}).get("sequence") == after[2] + 1
        check(f"session append round {i}", ok, f"before={before} after={after} code={code}")
    code, _ = run(gait, ["run", "session", "checkpoint", "--journal", j, "--out", "sa/cp.zip"], cwd)
    check("session append: checkpoint after the crashes", code == 0)
    print(f"run session append: {i + 1} rounds, {kills} killed before finishing")


def crash_compact(gait, cwd, rounds):
    kills = 0
    i = -1
    while kills < rounds and i < 5 * rounds:
        i += 1
        j = f"sc{i}/j.jsonl"
        run(gait, ["run", "session", "start", "--journal", j, "--session-id", f"sc{i}", "--run-id", f"run_sc{i}"], cwd)
        for k in range(20):
            run(gait, ["run", "session", "append", "--journal", j, "--tool", f"t{k}", "--verdict", "allow"], cwd)
        run(gait, ["run", "session", "checkpoint", "--journal", j, "--out", f"sc{i}/cp1.zip"], cwd)
        run(gait, ["run", "session", "append", "--journal", j, "--tool", "after", "--verdict", "allow"], cwd)
        before = session_status(gait, cwd, j)
        typical = 0.02 if i == 0 else typical
        if i == 0:
            typical = duration(gait, ["run", "session", "compact", "--journal", j, "--dry-run"], cwd)
        kills += killed_run(gait, ["run", "session", "compact", "--journal", j], cwd,
                            random.uniform(0, 1.5 * typical))
        after = session_status(gait, cwd, j)
        # Before compaction: 21 events; after: the one after the checkpoint.
        ok = before is not None and after is not None and after[0] in (before[0], 1) \
            and after[1] == before[1] and after[2] == before[2]
        code, _ = run(gait, ["run", "session", "append", "--journal", j, "--tool", "next", "--verdict", "allow"], cwd)
        code2, _ = run(gait, ["run", "session", "checkpoint", "--journal", j, "--out", f"sc{i}/cp2.zip"], cwd)
        check(f"session compact round {i}", ok and code == 0 and code2 == 0,
              f"before={before} after={after} append={code} checkpoint={code2} "
              f"error={LAST_ERROR.get('status', '') if after is None else ''}")
    print(f"run session compact: {i + 1} rounds, {kills} killed before finishing")


def contend(gait, cwd, procs, appends):
    j = "cc/j.jsonl"
    run(gait, ["run", "session", "start", "--journal", j, "--session-id", "cc", "--run-id", "run_cc"], cwd)
    script = (
        "import subprocess,sys\n"
        "g,j,w,n=sys.argv[1],sys.argv[2],sys.argv[3],int(sys.argv[4])\n"
        "bad=0\n"
        "for i in range(n):\n"
        "    r=subprocess.run([g,'run','session','append','--journal',j,'--tool',f'w{w}_{i}','--verdict','allow','--json'],capture_output=True)\n"
        "    bad+=r.returncode!=0\n"
        "sys.exit(1 if bad else 0)\n"
    )
    # Many writers on one journal: the reference's `swarm` lock profile
    # (10 s lock timeout, 20 ms retry) rather than the standard one (2 s),
    # under which an append that waits too long gives up with a contention
    # error (exit 1, nothing written).
    env = dict(os.environ, GAIT_SESSION_LOCK_PROFILE="swarm")
    t = time.perf_counter()
    ps = [subprocess.Popen([sys.executable, "-c", script, gait, j, str(w), str(appends)], cwd=cwd,
                           env=env)
          for w in range(procs)]
    codes = [p.wait() for p in ps]
    elapsed = time.perf_counter() - t
    check("concurrent appends: every append succeeded", codes == [0] * procs, str(codes))
    st = session_status(gait, cwd, j)
    total = procs * appends
    check("concurrent appends: nothing lost", st is not None and st[0] == total and st[2] == total, str(st))
    with open(os.path.join(cwd, j)) as f:
        seqs = [json.loads(l).get("event", {}).get("sequence") for l in f
                if json.loads(l).get("record_type") == "event"]
    check("concurrent appends: sequences are 1..N once each", sorted(seqs) == list(range(1, total + 1)))
    code, doc = run(gait, ["run", "session", "checkpoint", "--journal", j, "--out", "cc/cp.zip"], cwd)
    check("concurrent appends: one checkpoint covers them", code == 0, str(doc)[:200])
    chain = doc.get("chain_path", "cc/j_chain.json")
    code, doc = run(gait, ["verify", "session-chain", "--chain", chain], cwd)
    check("concurrent appends: the chain verifies", code == 0, str(doc)[:200])
    print(f"concurrency: {procs} processes x {appends} appends in {elapsed:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gait", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--appends", type=int, default=500)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", default="", help="comma-separated: add,resume,append,compact,contend")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    random.seed(seed)
    print(f"seed {seed}")
    gait = os.path.abspath(a.gait)
    with tempfile.TemporaryDirectory(prefix="gait-crash-") as cwd:
        only = set(filter(None, a.only.split(",")))
        want = lambda name: not only or name in only
        if want("add"):
            crash_checkpoint_add(gait, cwd, a.rounds)
        if want("resume"):
            crash_resume(gait, cwd, a.rounds)
        if want("append"):
            crash_append(gait, cwd, a.rounds)
        if want("compact"):
            crash_compact(gait, cwd, a.rounds)
        if want("contend"):
            contend(gait, cwd, a.procs, a.appends)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
