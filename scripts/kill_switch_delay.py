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

With `--boundary mcp` it drives the MCP protocol proxy instead:
`gait mcp proxy --kill-switch-state ks.json -- <fake MCP server>` over
stdio, with up to CLIENTS `tools/call` requests in flight at once (the
start time of a request is when it was written to the proxy's stdin).
Pass `--trace-dir /dev/shm/...` to leave the disk's fsync out.

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

TOOL = "tool.read"

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
    ap.add_argument("--boundary", choices=["serve", "mcp"], default="serve")
    ap.add_argument("--trace-dir", default="traces")
    args = ap.parse_args()
    gait = os.path.abspath(args.gait)
    work = tempfile.mkdtemp(prefix="gait-ks-delay-")
    with open(os.path.join(work, "policy.yaml"), "w") as f:
        f.write(POLICY)
    with open(os.path.join(work, "ks.json"), "w") as f:
        f.write(
            '{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[]}'
        )
    if args.boundary == "mcp":
        return mcp_delay(args, gait, work)
    server = subprocess.Popen(
        [gait, "serve", "--policy", "policy.yaml", "--listen", "127.0.0.1:0",
         "--trace-dir", args.trace_dir, "--kill-switch-state", "ks.json"],
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
        add = add_entry(gait, work)
        added = time.monotonic()
        time.sleep(args.after)
        stop.set()
        for t in threads:
            t.join()
        end = time.monotonic()
        return summarize(args, add, added, results, end - t0)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def add_entry(gait, work):
    return subprocess.run(
        [gait, "kill-switch", "add", "--state", "ks.json", "--entry-id", "stop-read",
         "--tool-name", TOOL, "--json"],
        cwd=work, capture_output=True, text=True,
    )


def summarize(args, add, added, results, elapsed):
    """Prints the figures; fails when an allow started 1 s or more after the add."""
    if add.returncode != 0:
        print("kill-switch add failed:", add.stdout, add.stderr)
        return 1
    allowed_after = [s - added for s, v in results if v == "allow" and s > added]
    blocked = [s - added for s, v in results if v == "block"]
    other = sorted({v for _, v in results if v not in ("allow", "block")})
    total = len(results)
    print(f"decisions: {total} in {elapsed:.1f} s = {total / elapsed:.0f}/s "
          f"({args.clients} clients)")
    print(f"requests started after the add returned and still allowed: {len(allowed_after)}"
          + (f" (latest {max(allowed_after) * 1000:.1f} ms after)" if allowed_after else ""))
    if blocked:
        print(f"first blocked request started {min(blocked) * 1000:.1f} ms after the add returned")
    if other:
        print("other answers:", other)
    return 0 if not allowed_after or max(allowed_after) < 1.0 else 1


MCP_POLICY = """default_verdict: block
rules:
  - name: reads
    priority: 1
    effect: allow
    match:
      tool_names: [echo]
"""


def mcp_delay(args, gait, work):
    """The same measurement through the MCP protocol proxy (stdio)."""
    global TOOL
    TOOL = "echo"
    with open(os.path.join(work, "policy.yaml"), "w") as f:
        f.write(MCP_POLICY)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fake = os.path.join(root, "crates/gait-cli/tests/data/fake_mcp_server.py")
    proxy = subprocess.Popen(
        [gait, "mcp", "proxy", "--policy", "policy.yaml", "--trace-out", args.trace_dir,
         "--kill-switch-state", "ks.json", "--", sys.executable, fake,
         os.path.join(work, "calls.log")],
        cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, bufsize=1,
    )
    try:
        def send(i, method, params):
            proxy.stdin.write(json.dumps(
                {"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n")
            proxy.stdin.flush()

        def wait_for(i):
            while True:
                m = json.loads(proxy.stdout.readline())
                if m.get("id") == i:
                    return m

        send(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                               "clientInfo": {"name": "ks-delay", "version": "1"}})
        wait_for(0)
        send(1, "tools/list", {})
        wait_for(1)
        started = {}
        results = []
        window = threading.Semaphore(args.clients)
        stop = threading.Event()
        lock = threading.Lock()

        def reader():
            while True:
                line = proxy.stdout.readline()
                if not line:
                    return
                m = json.loads(line)
                i = m.get("id")
                with lock:
                    start = started.pop(i, None)
                if start is None:
                    continue
                res = m.get("result") or {}
                if res.get("isError"):
                    decision = (res.get("_meta") or {}).get("gait/decision") or {}
                    verdict = decision.get("verdict") or "error"
                elif "result" in m:
                    verdict = "allow"
                else:
                    verdict = "error:" + json.dumps(m.get("error"))
                results.append((start, verdict))
                window.release()

        rt = threading.Thread(target=reader)
        rt.start()
        t0 = time.monotonic()
        next_id = 100
        add = None
        added = None
        warm_end = t0 + args.warmup
        while True:
            now = time.monotonic()
            if add is None and now >= warm_end:
                add = add_entry(gait, work)
                added = time.monotonic()
            if added is not None and now >= added + args.after:
                break
            if not window.acquire(timeout=0.01):
                continue
            with lock:
                started[next_id] = time.monotonic()
            send(next_id, "tools/call", {"name": "echo", "arguments": {"path": "/w/a", "n": next_id}})
            next_id += 1
        for _ in range(args.clients):
            window.acquire(timeout=10)
        end = time.monotonic()
        proxy.stdin.close()
        rt.join(timeout=10)
        print("boundary: gait mcp proxy (stdio), trace dir", args.trace_dir)
        return summarize(args, add, added, results, end - t0)
    finally:
        if proxy.poll() is None:
            proxy.send_signal(signal.SIGTERM)
            try:
                proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proxy.kill()


if __name__ == "__main__":
    sys.exit(main())
