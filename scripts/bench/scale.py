#!/usr/bin/env python3
"""Client of the scale benchmark (scripts/bench/scale.sh, issue 19 item 4).
Standard library only.

  run   create N verifications at R per second (one paced schedule shared by
        the threads), then follow each with GET until `delivered` or
        `failed`; print one JSON line: placed, create errors, delivered,
        failed by reason, unsettled, create latency p50/p99 (ms).
"""

import argparse
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


class Conn:
    """One keep-alive HTTP/1.1 connection that reconnects after any failure."""

    def __init__(self, url):
        u = urlsplit(url)
        self.host, self.port, self.c = u.hostname, u.port or 80, None

    def request(self, method, path, key, body=None):
        headers = {"Authorization": "Bearer " + key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (OSError, http.client.HTTPException):
                self.c = None
                if attempt:
                    raise
        raise AssertionError


def phone_for(i):
    """Distinct valid UK mobile numbers: +44 7400 NNNNNN."""
    return "+447400%06d" % (i % 1_000_000)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def cmd_run(a):
    lock = threading.Lock()
    nxt = [0]
    ids, latencies, errors = [], [], {}
    t0 = time.monotonic() + 0.2

    def creator():
        conn = Conn(a.url)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= a.n:
                return
            due = t0 + i / a.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            start = time.monotonic()
            try:
                status, body = conn.request("POST", "/v1/verifications", a.pk, {"phone_number": phone_for(a.first + i)})
            except (OSError, http.client.HTTPException) as e:
                status, body = "io:" + type(e).__name__, None
            took = (time.monotonic() - start) * 1000
            with lock:
                if status == 201:
                    ids.append(body["id"])
                    latencies.append(took)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

    with ThreadPoolExecutor(a.threads) as pool:
        for _ in range(a.threads):
            pool.submit(creator)
    create_secs = time.monotonic() - t0

    outcome = {}
    pending = list(ids)
    deadline = time.monotonic() + a.settle_secs
    while pending and time.monotonic() < deadline:
        time.sleep(1.0)
        still = []
        slock = threading.Lock()

        def follow(chunk):
            conn = Conn(a.url)
            for vid in chunk:
                try:
                    status, body = conn.request("GET", "/v1/verifications/" + vid, a.pk)
                except (OSError, http.client.HTTPException):
                    status, body = 0, None
                st = body.get("status") if status == 200 and body else None
                with slock:
                    if st == "delivered":
                        outcome["delivered"] = outcome.get("delivered", 0) + 1
                    elif st == "failed":
                        key = "failed:" + str(body.get("failure_reason"))
                        outcome[key] = outcome.get(key, 0) + 1
                    else:
                        still.append(vid)

        chunks = [pending[k::a.threads] for k in range(a.threads)]
        with ThreadPoolExecutor(a.threads) as pool:
            list(pool.map(follow, chunks))
        pending = still

    latencies.sort()
    print(json.dumps({
        "n": a.n,
        "rate": a.rate,
        "create_secs": round(create_secs, 2),
        "placed": len(ids),
        "create_errors": errors,
        "delivered": outcome.get("delivered", 0),
        "failed": {k[7:]: v for k, v in outcome.items() if k.startswith("failed:")},
        "unsettled": len(pending),
        "create_p50_ms": round(percentile(latencies, 50) or 0, 1),
        "create_p99_ms": round(percentile(latencies, 99) or 0, 1),
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--pk", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--n", type=int, default=2000)
    r.add_argument("--rate", type=float, default=400)
    r.add_argument("--threads", type=int, default=32)
    r.add_argument("--first", type=int, default=0, help="number of the first phone (+44 7400 NNNNNN)")
    r.add_argument("--settle-secs", type=float, default=120)
    a = p.parse_args()
    if a.cmd == "run":
        cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
