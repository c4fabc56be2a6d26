#!/usr/bin/env python3
"""Peak memory of `gait serve` under concurrent large request bodies.

Starts `gait serve` on an ephemeral 127.0.0.1 port, sends CLIENTS
concurrent POST /v1/evaluate requests of about BODY bytes each (all
connections open and all headers sent before any body byte), collects
the statuses, and reports the server's peak resident memory (VmHWM of
/proc/<pid>/status, Linux only). Loopback only; every socket has a 60 s
timeout and the server is stopped with SIGTERM at the end.

    scripts/serve_memory_load.py --gait target/release/gait \
        --clients 48 --shape string [-- extra serve flags]
"""

import argparse
import json
import os
import signal
import socket
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


def body(shape: str, size: int) -> bytes:
    head = b'{"call":{"name":"tool.read","args":{"x":'
    tail = b'},"context":{"identity":"alice","workspace":"/w","risk_class":"low"}}}'
    room = size - len(head) - len(tail) - 2
    if shape == "string":
        inner = b'"' + b"a" * (room - 2) + b'"'
    elif shape == "dense":  # [0,0,0,...]: one JSON value per 2 bytes
        inner = b"[" + b"0," * (room // 2 - 1) + b"0]"
    elif shape == "members":  # {"0":0,"1":0,...}
        parts, n, used = [], 0, 2
        while True:
            p = b'"%x":0' % n
            if used + len(p) + 1 > room:
                break
            parts.append(p)
            used += len(p) + 1
            n += 1
        inner = b"{" + b",".join(parts) + b"}"
    else:
        raise SystemExit(f"unknown shape {shape}")
    return head + inner + tail


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gait", required=True)
    ap.add_argument("--clients", type=int, default=48)
    ap.add_argument("--body", type=int, default=1 << 20)
    ap.add_argument("--shape", default="string", choices=["string", "dense", "members"])
    ap.add_argument("extra", nargs="*", help="extra `gait serve` flags (after --)")
    a = ap.parse_args()
    if not 1 <= a.clients <= 2000:
        raise SystemExit("--clients must be 1..2000")

    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "policy.yaml"), "w") as f:
            f.write(POLICY)
        server = subprocess.Popen(
            [a.gait, "serve", "--policy", "policy.yaml", "--listen", "127.0.0.1:0",
             "--trace-dir", "traces", "--max-request-bytes", str(a.body + 4096),
             "--json", *a.extra],
            cwd=d, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()
            host, port = json.loads(line)["listen"].rsplit(":", 1)
            port = int(port)
            time.sleep(0.3)
            base_kb = status_kb(server.pid, "VmRSS")
            payload = body(a.shape, a.body)
            head = (b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(payload))
            socks = []
            for _ in range(a.clients):
                s = socket.create_connection(("127.0.0.1", port), timeout=60)
                s.sendall(head)
                socks.append(s)
            statuses = {}
            lock = threading.Lock()
            go = threading.Barrier(a.clients)

            def client(s):
                st = "error"
                try:
                    go.wait(timeout=60)
                    s.sendall(payload)
                    first = s.recv(64)
                    st = first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"
                except OSError as e:
                    st = type(e).__name__
                finally:
                    s.close()
                with lock:
                    statuses[st] = statuses.get(st, 0) + 1

            t0 = time.monotonic()
            threads = [threading.Thread(target=client, args=(s,)) for s in socks]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            wall = time.monotonic() - t0
            peak_kb = status_kb(server.pid, "VmHWM")
            threads_n = status_kb(server.pid, "Threads")
            print(json.dumps({
                "shape": a.shape, "clients": a.clients, "body_bytes": len(payload),
                "statuses": statuses, "wall_s": round(wall, 2),
                "rss_before_mb": round(base_kb / 1024, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "threads_after": threads_n,
            }))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
