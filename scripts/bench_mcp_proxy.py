#!/usr/bin/env python3
"""Whole-process latency of one tools/call through `gait mcp proxy`.

Drives N sequential `tools/call` round trips against the fake MCP server
(crates/gait-cli/tests/data/fake_mcp_server.py), directly and behind the
proxy (release build), and prints p50/p99/mean per call for both.

Usage: python3 scripts/bench_mcp_proxy.py [--gait target/release/gait] [--calls 2000]
       [--trace-out DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
server = os.path.join(root, "crates/gait-cli/tests/data/fake_mcp_server.py")
POLICY = """default_verdict: block
rules:
  - name: reads
    effect: allow
    match:
      tool_names: [echo]
"""


def session(cmd, calls, cwd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=cwd, text=True, bufsize=1)

    def rpc(i, method, params):
        p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n")
        p.stdin.flush()
        while True:
            m = json.loads(p.stdout.readline())
            if m.get("id") == i:
                return m

    rpc(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "bench", "version": "1"}})
    rpc(1, "tools/list", {})
    times = []
    for i in range(calls):
        t = time.perf_counter()
        r = rpc(100 + i, "tools/call", {"name": "echo", "arguments": {"path": "/tmp/x", "n": i}})
        times.append(time.perf_counter() - t)
        assert "result" in r and not r["result"].get("isError"), r
    p.stdin.close()
    p.wait(timeout=10)
    return times


def report(name, times):
    times = sorted(times)
    ms = lambda x: f"{x * 1000:.3f} ms"
    print(f"{name:>22}: p50 {ms(times[len(times) // 2])}  p99 {ms(times[int(len(times) * 0.99)])}"
          f"  mean {ms(statistics.mean(times))}  ({len(times)} calls)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gait", default=os.path.join(root, "target/release/gait"))
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--trace-out", default=None,
                    help="trace directory (default: in the temporary directory; try /dev/shm/... to leave the disk out)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "policy.yaml"), "w") as f:
            f.write(POLICY)
        log = os.path.join(d, "calls.log")
        direct = session([sys.executable, server, log], a.calls, d)
        traces = a.trace_out or os.path.join(d, "traces")
        proxied = session([a.gait, "mcp", "proxy", "--policy", "policy.yaml", "--trace-out", traces,
                           "--", sys.executable, server, log], a.calls, d)
        report("direct", direct)
        report("through gait mcp proxy", proxied)
        print(f"traces written: {len(os.listdir(traces))}")


if __name__ == "__main__":
    main()
