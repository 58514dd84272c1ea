#!/usr/bin/python3
"""The routing benchmark: conversations arriving at a set rate for a pool
of agents with capacities, resolved at a set rate; prints assignments per
second and arrival→assignment latency (p50/p99/p99.9) as JSON.

    bench/routing.py --parleyd build/parleyd --cli build/parley \
        [--data DIR] [--rate 1000] [--duration 10] [--agents 50] \
        [--capacity 20] [--resolve-rate 1000] [--out result.json]

It starts its own parleyd (--sync=none, like the other benchmarks) on a
free port over --data (a fresh temporary directory when not given; give
one made by parley-gen-history to measure over a stored history), makes
the agents with the CLI, puts them in the default department, sets their
capacity and keeps them online with heartbeats. Visitors' sessions are
made before the measured phase. Then, open loop: arrival k is due at
t0 + k/rate (a new conversation, POST /v1/widget/conversations over a pool
of keep-alive connections); latency is measured from that intended time,
so a stalled server shows as latency, not as a lower offered rate
(no coordinated omission). The assignment is seen on a supervisor's
inbox subscription (`conversation.updated` with an assignee). A resolver
resolves assigned conversations at --resolve-rate (PATCH status), which
frees capacity and routes the next waiting one at once.
"""
import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/integration"))
from harness import WS  # noqa: E402  (python3-websockets client with bounded waits)

PASSWORD = "bench-password-1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Conn:
    """One keep-alive HTTP/1.1 connection (requests in sequence)."""

    def __init__(self, port):
        self.port = port
        self.r = self.w = None

    async def req(self, method, path, body=None, token=None):
        if not self.w:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % (method, path, len(data))
        if body is not None:
            head += "Content-Type: application/json\r\n"
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        self.w.write(head.encode() + b"\r\n" + data)
        line = await self.r.readline()
        status = int(line.split()[1])
        n = 0
        while True:
            h = await self.r.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.decode().partition(":")
            if k.lower() == "content-length":
                n = int(v)
        payload = await self.r.readexactly(n) if n else b""
        return status, (json.loads(payload) if payload else None)


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


async def bench(a, port, owner_tok, agent_toks, default_dept):
    pool = [Conn(port) for _ in range(16)]
    free = asyncio.Queue()
    for c in pool:
        free.put_nowait(c)

    async def call(method, path, body=None, token=None):
        c = await free.get()
        try:
            return await c.req(method, path, body, token)
        finally:
            free.put_nowait(c)

    total = int(a.rate * a.duration)
    # visitors' sessions, before the measured phase
    key = (await call("GET", "/v1/tenant", token=owner_tok))[1]["widget_key"]
    sess = await asyncio.gather(*[call("POST", "/v1/widget/session", {"widget_key": key, "name": "V%d" % i})
                                  for i in range(total)])
    vtoks = [b["visitor_token"] for st, b in sess]
    # the watcher: a supervisor's view of the inbox (the owner's token)
    watch = await WS.connect("ws://127.0.0.1:%d/v1/ws" % port, owner_tok, max_size=None)
    ack = await watch.request({"type": "subscribe_inbox", "after": 0})
    assert ack["type"] == "ack", ack
    intended = {}        # cid -> intended arrival (monotonic)
    early = {}           # cid -> assignment seen before the creation answer
    lat = []
    assigned = []        # (time seen, cid)
    open_assigned = []   # cids to resolve
    done = asyncio.Event()
    failures = {"create": 0, "resolve": 0}

    async def reader():
        while not done.is_set():
            try:
                f = json.loads(await asyncio.wait_for(watch.ws.recv(), 0.5))
            except asyncio.TimeoutError:
                continue
            if f.get("type") != "inbox" or f.get("event") != "conversation.updated":
                continue
            c = f["conversation"]
            if not c.get("assignee") or c.get("status") != "open":
                continue
            now = time.monotonic()
            cid = c["id"]
            if cid in intended:
                lat.append(now - intended.pop(cid))
                assigned.append(now)
                open_assigned.append(cid)
            elif cid not in early and cid not in resolved:
                early[cid] = now

    resolved = set()

    async def arrive(k, due):
        st, b = await call("POST", "/v1/widget/conversations", {"text": "hi", "client_id": "k%d" % k},
                           token=vtoks[k])
        if st != 201:
            failures["create"] += 1
            return
        cid = b["id"]
        if cid in early:
            lat.append(early.pop(cid) - due)
            assigned.append(time.monotonic())
            open_assigned.append(cid)
        else:
            intended[cid] = due

    async def resolver(t0):
        k = 0
        while not done.is_set():
            due = t0 + k / a.resolve_rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            if open_assigned:
                cid = open_assigned.pop(0)
                resolved.add(cid)
                st, _ = await call("PATCH", "/v1/conversations/%s" % cid, {"status": "resolved"}, token=owner_tok)
                if st != 200:
                    failures["resolve"] += 1
            k += 1

    async def heartbeats():
        while not done.is_set():
            await asyncio.gather(*[call("POST", "/v1/presence/heartbeat", token=t) for t in agent_toks])
            try:
                await asyncio.wait_for(done.wait(), 30)
            except asyncio.TimeoutError:
                pass

    rd = asyncio.create_task(reader())
    hb = asyncio.create_task(heartbeats())
    t0 = time.monotonic() + 0.2
    rs = asyncio.create_task(resolver(t0))
    tasks = []
    for k in range(total):
        due = t0 + k / a.rate
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        tasks.append(asyncio.create_task(arrive(k, due)))
    await asyncio.gather(*tasks)
    t_end = t0 + a.duration
    # drain: what the pool can take within a grace period
    deadline = time.monotonic() + a.grace
    while time.monotonic() < deadline and intended and len(lat) < total:
        await asyncio.sleep(0.05)
    done.set()
    await asyncio.gather(rd, hb, rs)
    await watch.close()
    in_window = [t for t in assigned if t <= t_end]
    ms = [x * 1000 for x in lat]
    return {
        "offered_rate": a.rate, "duration_s": a.duration, "arrivals": total, "agents": a.agents,
        "capacity": a.capacity, "resolve_rate": a.resolve_rate,
        "assigned": len(lat), "never_assigned": len(intended), "create_failures": failures["create"],
        "resolve_failures": failures["resolve"],
        "assignments_per_s": round(len(in_window) / a.duration, 1),
        "latency_ms": {"p50": pct(ms, 50), "p99": pct(ms, 99), "p999": pct(ms, 99.9), "max": max(ms) if ms else None},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parleyd", default="build/parleyd")
    ap.add_argument("--cli", default="build/parley")
    ap.add_argument("--data")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--capacity", type=int, default=20)
    ap.add_argument("--resolve-rate", type=float, default=1000)
    ap.add_argument("--grace", type=float, default=5)
    ap.add_argument("--out")
    ap.add_argument("--server-log", help="parleyd's log (warnings: slow commits) goes here")
    a = ap.parse_args()
    tmp = None
    data = a.data
    if not data:
        tmp = tempfile.mkdtemp(prefix="parley-routing-")
        data = os.path.join(tmp, "data")
    port = free_port()
    env = dict(os.environ)
    proc = subprocess.Popen([a.parleyd, "--data", data, "--port", str(port), "--sync", "none", "--web", "/nonexistent",
                             "--demo-password", PASSWORD, "--argon2-m-kib", "64", "--argon2-t", "1",
                             "--log-level", "warn", "--conv-idle-ms", "0"],
                            stdout=subprocess.PIPE, env=env, text=True,
                            stderr=open(a.server_log, "w") if a.server_log else subprocess.DEVNULL)
    try:
        line = ""
        t_start = time.monotonic()
        while "listening" not in line:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("parleyd did not start")
        start_s = time.monotonic() - t_start

        def http(method, path, body=None, token=None):
            return asyncio.run(Conn(port).req(method, path, body, token))

        st, b = http("POST", "/v1/auth/login", {"email": "admin@demo.parley", "password": PASSWORD})
        assert st == 200, (st, b)
        owner = b["access_token"]
        st, b = http("GET", "/v1/departments", token=owner)
        default = [d for d in b["data"] if d["is_default"]][0]["id"]
        toks, ids = [], []
        for i in range(a.agents):
            email = "bench-agent-%d-%d@bench.test" % (port, i)
            out = subprocess.run([a.cli, "--data", data, "user", "create", "--tenant", "demo", "--email", email,
                                  "--password", PASSWORD, "--role", "agent"], capture_output=True, text=True)
            uid = re.search(r"user id: (\d+)", out.stdout).group(1)
            ids.append(uid)
            st, b = http("PUT", "/v1/agents/%s/capacity" % uid, {"max_chats": a.capacity}, token=owner)
            assert st == 200, (st, b)
            st, b = http("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
            toks.append(b["access_token"])
        st, b = http("PUT", "/v1/departments/%s/members" % default, {"agent_ids": ids}, token=owner)
        assert st == 200, (st, b)
        res = asyncio.run(bench(a, port, owner, toks, default))
        res["start_s"] = round(start_s, 2)
        res["data_dir_bytes"] = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(data) for f in fs)
        print(json.dumps(res, indent=1))
        if a.out:
            with open(a.out, "w") as f:
                json.dump(res, f, indent=1)
    finally:
        proc.terminate()
        proc.wait(30)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
