#!/usr/bin/env python3
"""Client driver for the mOTP proof scripts (issue 8). Standard library only.

  seed    create N verifications and write "id wrong_code" lines (bench check load)
  drive   run create -> read code (dev hook) -> [wrong check] -> right check flows,
          log every acknowledged create ("C id") and approval ("A id"), count outcomes
  verify  read a drive log and ask the server (GET) whether every acknowledged
          create is stored and every acknowledged approval is stored as approved

The code of a placed call comes from the development hook
`GET /v1/dev/calls/{id}` (secret key; needs telephony.dev_expose_calls = true,
the log provider and a loopback listener).
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


class Conn:
    """One keep-alive HTTP/1.1 connection that reconnects after any failure."""

    def __init__(self, url, timeout=10.0):
        u = urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.timeout = timeout
        self.c = None

    def request(self, method, path, key, body=None):
        """Returns (status, parsed JSON or None). Raises OSError/HTTPException on transport failure."""
        headers = {"Authorization": "Bearer " + key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.c.request(method, path, body=data, headers=headers)
            r = self.c.getresponse()
            raw = r.read()
        except Exception:
            self.close()
            raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, doc

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except Exception:
                pass
        self.c = None


PHONE_RE = re.compile(r"\+\d{6,15}")


def caller_number(doc):
    """The calling number from the dev hook's body, whatever its exact field name."""
    if isinstance(doc, dict):
        for k in ("caller", "calling_number", "caller_id", "number", "from"):
            v = doc.get(k)
            if isinstance(v, str) and PHONE_RE.fullmatch(v):
                return v
        for v in doc.values():
            if isinstance(v, str) and PHONE_RE.fullmatch(v):
                return v
    if isinstance(doc, str) and PHONE_RE.fullmatch(doc):
        return doc
    return None


def read_code(conn, sk, vid, prefix, deadline_s=10.0):
    """Polls the dev hook until the call for `vid` has been placed; returns the code digits."""
    end = time.monotonic() + deadline_s
    while True:
        status, doc = conn.request("GET", f"/v1/dev/calls/{vid}", sk)
        if status == 200:
            num = caller_number(doc)
            if num is None or not num.startswith(prefix):
                raise RuntimeError(f"dev hook body not understood: {doc!r}")
            return num[len(prefix):]
        if time.monotonic() > end:
            raise RuntimeError(f"dev hook: no call for {vid} (last status {status})")
        time.sleep(0.02)


def wrong_code(code):
    """A code of the same length that is certainly wrong."""
    n = len(code)
    return str((int(code) + 1) % (10 ** n)).zfill(n)


def phone_for(i):
    """Distinct valid UK mobile numbers: +44 7400 NNNNNN (every number of the block is GB mobile)."""
    return "+447400%06d" % (i % 1_000_000)


# ---------------------------------------------------------------- seed

def cmd_seed(a):
    base = random.randrange(1_000_000)
    local = threading.local()

    def one(i):
        c = getattr(local, "c", None) or Conn(a.url)
        local.c = c
        st, doc = c.request("POST", "/v1/verifications", a.pk, {"phone_number": phone_for(base + i)})
        if st != 201:
            raise RuntimeError(f"create: {st} {doc}")
        code = read_code(c, a.sk, doc["id"], doc["caller"]["prefix"])
        return f"{doc['id']} {wrong_code(code)}\n"

    with ThreadPoolExecutor(max_workers=a.threads) as ex:
        lines = list(ex.map(one, range(a.n)))
    with open(a.out, "w") as f:
        f.writelines(lines)
    print(f"seeded {len(lines)} verifications into {a.out}")


# ---------------------------------------------------------------- drive

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.samples = []

    def add(self, what, sample=None):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            if sample is not None and len(self.samples) < 20:
                self.samples.append(f"{what}: {sample}")


def cmd_drive(a):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stats = Stats()
    log = open(a.log, "a", buffering=1) if a.log else None
    log_lock = threading.Lock()
    end = time.monotonic() + a.seconds if a.seconds else None
    counter = [random.randrange(1_000_000)]
    counter_lock = threading.Lock()
    # Pacing: each worker runs one flow every `interval` seconds (moderate load).
    interval = a.threads / a.rate if a.rate else 0.0

    def record(kind, vid):
        if log:
            with log_lock:
                log.write(f"{kind} {vid}\n")

    def flow(c):
        with counter_lock:
            counter[0] += 1
            i = counter[0]
        st, doc = c.request("POST", "/v1/verifications", a.pk, {"phone_number": phone_for(i)})
        if st != 201:
            stats.add(f"create_{st}", doc)
            return
        vid = doc["id"]
        record("C", vid)
        stats.add("create_201")
        if a.no_hook:
            # Shipped configuration (no dev hook): the code stays unknown.
            st2, doc2 = c.request("POST", f"/v1/verifications/{vid}/check", a.pk,
                                  {"code": "0" * doc["caller"]["code_length"]})
            # 200 only if all zeros happened to be the code (p = 10^-code_length)
            ok = st2 in (422, 200)
            stats.add("wrong_check_422" if ok else f"wrong_check_{st2}", None if ok else doc2)
            st, doc3 = c.request("GET", f"/v1/verifications/{vid}", a.pk)
            stats.add("get_200" if st == 200 else f"get_{st}", None if st == 200 else doc3)
            st, doc4 = c.request("DELETE", f"/v1/verifications/{vid}", a.pk)
            lucky = st2 == 200  # an approved verification may refuse cancellation
            ok = st == 204 or (lucky and st == 409)
            stats.add("delete_204" if ok else f"delete_{st}", None if ok else doc4)
            return
        code = read_code(c, a.sk, vid, doc["caller"]["prefix"])
        if a.wrong_every and i % a.wrong_every == 0:
            st, doc2 = c.request("POST", f"/v1/verifications/{vid}/check", a.pk, {"code": wrong_code(code)})
            stats.add(f"wrong_check_{st}", None if st == 422 else doc2)
        st, doc2 = c.request("POST", f"/v1/verifications/{vid}/check", a.pk, {"code": code})
        if st == 200 and isinstance(doc2, dict) and doc2.get("status") == "approved":
            record("A", vid)
            stats.add("check_200")
        else:
            stats.add(f"check_{st}", doc2)
        if a.get_after:
            st, doc3 = c.request("GET", f"/v1/verifications/{vid}", a.pk)
            ok = st == 200 and doc3.get("status") == "approved"
            stats.add("get_200" if ok else f"get_{st}", None if ok else doc3)

    def worker():
        c = Conn(a.url, timeout=a.timeout)
        nxt = time.monotonic()
        while not stop.is_set() and (end is None or time.monotonic() < end):
            try:
                flow(c)
            except (OSError, http.client.HTTPException) as e:
                stats.add("transport_error", repr(e))
                time.sleep(0.05)
            except RuntimeError as e:
                stats.add("flow_error", str(e))
            if interval:
                nxt += interval
                delay = nxt - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                else:
                    nxt = time.monotonic()
        c.close()

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(a.threads)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        for t in ts:
            t.join(0.2)
    if log:
        log.close()
    expected = {"create_201", "check_200", "wrong_check_422", "get_200", "delete_204"}
    unexpected = {k: v for k, v in stats.counts.items() if k not in expected}
    out = {"counts": stats.counts, "unexpected": sum(unexpected.values()), "samples": stats.samples}
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps(out["counts"], sort_keys=True))
    if a.strict and out["unexpected"]:
        for s in stats.samples:
            print("  " + s, file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------- verify

def cmd_verify(a):
    created, approved = [], []
    with open(a.log) as f:
        for line in f:
            kind, vid = line.split()
            (created if kind == "C" else approved).append(vid)
    approved_set = set(approved)
    local = threading.local()

    def get(vid):
        c = getattr(local, "c", None) or Conn(a.url)
        local.c = c
        for _ in range(5):
            try:
                st, doc = c.request("GET", f"/v1/verifications/{vid}", a.pk)
                return vid, st, (doc or {}).get("status")
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
        return vid, -1, None

    if a.dump:
        # "id|status" lines straight from the database file (sqlite3 CLI)
        rows = {}
        with open(a.dump) as f:
            for line in f:
                if "|" in line:
                    vid, st = line.strip().split("|", 1)
                    rows[vid] = st
        res = [(vid, 200 if vid in rows else 404, rows.get(vid)) for vid in created]
        source = f"database file ({len(rows)} rows)"
    else:
        with ThreadPoolExecutor(max_workers=4) as ex:
            res = list(ex.map(get, created))
        source = "GET /v1/verifications/{id}"
    print(f"source: {source}")
    stored = sum(1 for _, st, _ in res if st == 200)
    stored_approved = sum(1 for vid, st, s in res if st == 200 and s == "approved" and vid in approved_set)
    lost_creates = [vid for vid, st, _ in res if st != 200]
    lost_approvals = [vid for vid, st, s in res if vid in approved_set and not (st == 200 and s == "approved")]
    missing_created = approved_set - set(created)  # approvals always follow a logged create
    lost = len(lost_creates) + len(lost_approvals) + len(missing_created)
    print(f"acknowledged creates:   {len(created)}   stored: {stored}")
    print(f"acknowledged approvals: {len(approved_set)}   stored as approved: {stored_approved}")
    print(f"lost={lost}")
    for vid in (lost_creates + lost_approvals)[:10]:
        print(f"  lost: {vid}")
    sys.exit(1 if lost else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=os.environ.get("MOTP_URL", "http://127.0.0.1:8080"))
    p.add_argument("--pk", default=os.environ.get("MOTP_PK"))
    p.add_argument("--sk", default=os.environ.get("MOTP_SK"))
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_seed)
    d = sub.add_parser("drive")
    d.add_argument("--threads", type=int, default=8)
    d.add_argument("--seconds", type=float, default=0, help="0: until SIGTERM")
    d.add_argument("--rate", type=float, default=0, help="flows per second in total; 0: as fast as possible")
    d.add_argument("--wrong-every", type=int, default=4, help="every Nth flow checks a wrong code first")
    d.add_argument("--get-after", action="store_true", help="GET the verification after approval")
    d.add_argument("--no-hook", action="store_true",
                   help="no dev hook: create -> wrong code -> GET -> DELETE (shipped configuration)")
    d.add_argument("--timeout", type=float, default=10.0)
    d.add_argument("--log", help="append acknowledged creates/approvals here")
    d.add_argument("--summary", help="write the JSON summary here")
    d.add_argument("--strict", action="store_true", help="exit 1 on any unexpected outcome")
    d.set_defaults(fn=cmd_drive)
    v = sub.add_parser("verify")
    v.add_argument("--log", required=True)
    v.add_argument("--dump", help='compare with "id|status" lines (sqlite3 dump) instead of GET')
    v.set_defaults(fn=cmd_verify)
    a = p.parse_args()
    if not a.pk or (a.cmd == "seed" or (a.cmd == "drive" and not a.no_hook)) and not a.sk:
        p.error("--pk and --sk (or MOTP_PK / MOTP_SK) are required")
    a.fn(a)


if __name__ == "__main__":
    main()
