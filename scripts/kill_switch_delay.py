#!/usr/bin/env python3
"""How long a running `gait serve` takes to honour `gait kill-switch add`.

Starts `gait serve` on an ephemeral 127.0.0.1 port with a kill-switch
state holding no entry, drives it with CLIENTS threads posting the same
allowed call to /v1/evaluate (one connection per request) for WARMUP
seconds, then runs `gait kill-switch add` (tool selector matching the
call) in another process and keeps the load for AFTER seconds. Every
request records when it started and the verdict it got. Reports the
throughput, the time the add command returned, the last start time of a
request that was still allowed (relative to the add's return: negative
or zero means no request starting after the add was allowed) and the
first start time of a blocked one.

    scripts/kill_switch_delay.py --gait target/release/gait [--clients 8]

Loopback only; the server is stopped with SIGTERM at the end.
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

POLICY = """default_verdict: block
rules:
  - name: reads
    priority: 1
    effect: allow
    match:
      tool_names: [tool.read]
"""

BODY = json.dumps(
    {
        "call": {
            "name": "tool.read",
            "args": {"path": "/w/a"},
            "context": {"identity": "alice", "workspace": "/w", "risk_class": "low"},
        }
    }
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gait", required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--after", type=float, default=3.0)
    args = ap.parse_args()
    gait = os.path.abspath(args.gait)
    work = tempfile.mkdtemp(prefix="gait-ks-delay-")
    with open(os.path.join(work, "policy.yaml"), "w") as f:
        f.write(POLICY)
    with open(os.path.join(work, "ks.json"), "w") as f:
        f.write(
            '{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[]}'
        )
    server = subprocess.Popen(
        [gait, "serve", "--policy", "policy.yaml", "--listen", "127.0.0.1:0",
         "--trace-dir", "traces", "--kill-switch-state", "ks.json"],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        addr = line.split("listening=")[1].split()[0]
        host, port = addr.rsplit(":", 1)
        results = []  # (start, verdict)
        lock = threading.Lock()
        stop = threading.Event()

        def client() -> None:
            local = []
            while not stop.is_set():
                start = time.monotonic()
                try:
                    c = http.client.HTTPConnection(host, int(port), timeout=30)
                    c.request("POST", "/v1/evaluate", BODY, {"Content-Type": "application/json"})
                    r = c.getresponse()
                    verdict = json.loads(r.read() or b"{}").get("verdict", f"http{r.status}")
                    c.close()
                except OSError as e:
                    verdict = f"error:{e}"
                local.append((start, verdict))
            with lock:
                results.extend(local)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(args.warmup)
        add = subprocess.run(
            [gait, "kill-switch", "add", "--state", "ks.json", "--entry-id", "stop-read",
             "--tool-name", "tool.read", "--json"],
            cwd=work, capture_output=True, text=True,
        )
        added = time.monotonic()
        time.sleep(args.after)
        stop.set()
        for t in threads:
            t.join()
        end = time.monotonic()
        if add.returncode != 0:
            print("kill-switch add failed:", add.stdout, add.stderr)
            return 1
        allowed_after = [s - added for s, v in results if v == "allow" and s > added]
        blocked = [s - added for s, v in results if v == "block"]
        other = sorted({v for _, v in results if v not in ("allow", "block")})
        total = len(results)
        print(f"decisions: {total} in {end - t0:.1f} s = {total / (end - t0):.0f}/s "
              f"({args.clients} clients)")
        print(f"requests started after the add returned and still allowed: {len(allowed_after)}"
              + (f" (latest {max(allowed_after) * 1000:.1f} ms after)" if allowed_after else ""))
        if blocked:
            print(f"first blocked request started {min(blocked) * 1000:.1f} ms after the add returned")
        if other:
            print("other answers:", other)
        return 0 if not allowed_after or max(allowed_after) < 1.0 else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
