#!/usr/bin/env python3
"""How long a normal client waits for a decision while slow clients stall.

Starts `gait serve` on an ephemeral 127.0.0.1 port (default limits),
opens SLOW connections that send their headers and one byte of a
1,000-byte body and then nothing, waits 1.5 s, and times one normal
POST /v1/evaluate (60 s timeout). Prints the normal client's status and
latency and the server's thread count. Loopback only; the server is
stopped with SIGTERM at the end.

    scripts/serve_slow_clients.py --gait target/release/gait --slow 1100
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

POLICY = "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n"
CALL = b'{"call":{"name":"tool.read","args":{"path":"/tmp/a"}}}'


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gait", required=True)
    ap.add_argument("--slow", type=int, default=1100)
    a = ap.parse_args()
    if not 1 <= a.slow <= 5000:
        raise SystemExit("--slow must be 1..5000")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "policy.yaml"), "w") as f:
            f.write(POLICY)
        server = subprocess.Popen(
            [a.gait, "serve", "--policy", "policy.yaml", "--listen", "127.0.0.1:0",
             "--trace-dir", "traces", "--json"],
            cwd=d, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        slow = []
        try:
            port = int(json.loads(server.stdout.readline())["listen"].rsplit(":", 1)[1])
            refused = 0
            for _ in range(a.slow):
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=2)
                    s.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 1000\r\n\r\n{")
                    slow.append(s)
                except OSError:
                    refused += 1
            time.sleep(1.5)
            t0 = time.monotonic()
            status = "timeout"
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=60)
                c.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(CALL), CALL))
                first = c.recv(64)
                status = first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"
                c.close()
            except OSError as e:
                status = type(e).__name__
            took = time.monotonic() - t0
            print(json.dumps({"slow_clients": len(slow), "slow_refused": refused,
                              "normal_status": status, "normal_latency_s": round(took, 3)}))
        finally:
            for s in slow:
                s.close()
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
