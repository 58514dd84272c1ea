"""1,000 slow or stuck clients must not slow a normal one down, and a
request head that never completes is cut at the header deadline.

One asyncio driver holds 1,000 connections to a parleyd started with
--header-timeout-ms 3000:
- 400 send a request head one byte about every second (it never ends);
- 300 send a complete head with Content-Length: 100000 and then the body
  one byte about every second;
- 300 pipeline requests for the widget script (~38 KB each) on a socket
  with a small receive buffer and never read.
Meanwhile a normal client, on its own thread, makes 300 requests
(GET /healthz, a fresh connection each, one every 20 ms) and its p99
latency must stay under 200 ms. The trickling heads keep sending, yet each
must be closed (408 or EOF) within the header timeout plus a margin of its
first byte: the timeout is a deadline for the whole head, not an idle
timer that every byte restarts.
"""
import asyncio
import random
import resource
import socket
import threading
import time

from harness import Server, main

HEADER_TIMEOUT = 3.0
MARGIN = 2.0              # allowed lateness of the cut
TRICKLE_HEADS = 400
SLOW_BODIES = 300
NON_READERS = 300
PROBES = 300
PROBE_EVERY = 0.02
P99_LIMIT = 0.200
HOLD = HEADER_TIMEOUT + 5.0   # how long each slow client keeps going

HEAD = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 200
BODY_HEAD = (b"POST /v1/widget/session HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100000\r\n\r\n")
BODY = b'{"name":"' + b"b" * 99990
PIPELINED = b"GET /widget/widget.js HTTP/1.1\r\nHost: t\r\n\r\n" * 30


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(len(v) * p + 0.999999) - 1))] if v else None


def probe(port, out):
    """The normal client: PROBES requests on fresh connections, paced."""
    req = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    next_at = time.monotonic()
    for _ in range(PROBES):
        next_at += PROBE_EVERY
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.sendall(req)
                data = b""
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                out["lat"].append(time.monotonic() - t0)
            else:
                out["errors"].append(data[:60])
        except OSError as e:
            out["errors"].append(repr(e))
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)


class Slow:
    """One slow connection; notes when (and how) the server closed it."""

    def __init__(self, kind):
        self.kind = kind
        self.sock = None
        self.started = False    # has sent its first bytes
        self.t0 = None          # first trickled byte
        self.closed_after = None
        self.how = None

    async def connect(self, loop, port, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await asyncio.wait_for(loop.sock_connect(s, ("127.0.0.1", port)), 10)
        self.sock = s

    async def trickle(self, loop, first, payload):
        """Sends `first` at once, then payload one byte about every second,
        until the server closes the connection or HOLD passes."""
        recv = asyncio.ensure_future(loop.sock_recv(self.sock, 4096))
        await asyncio.sleep(random.random())     # spread the ticks
        self.t0 = time.monotonic()
        end = self.t0 + HOLD
        i = 0
        try:
            if first:
                await loop.sock_sendall(self.sock, first)
            while time.monotonic() < end:
                await loop.sock_sendall(self.sock, payload[i:i + 1])
                self.started = True
                i += 1
                await asyncio.wait({recv}, timeout=min(1.0, max(0.0, end - time.monotonic())))
                if recv.done():
                    break
        except OSError as e:
            self.closed_after = time.monotonic() - self.t0
            self.how = "send: " + type(e).__name__
        self.started = True
        if recv.done() and self.closed_after is None:
            self.closed_after = time.monotonic() - self.t0
            try:
                data = recv.result()
                self.how = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "EOF"
            except OSError as e:
                self.how = "recv: " + type(e).__name__
        if not recv.done():
            recv.cancel()
            await asyncio.gather(recv, return_exceptions=True)

    async def stuck(self, loop):
        """Asks for much more than its receive buffer holds; never reads."""
        await loop.sock_sendall(self.sock, PIPELINED)
        self.started = True
        await asyncio.sleep(HOLD)


async def drive(port):
    loop = asyncio.get_running_loop()
    clients = ([Slow("head") for _ in range(TRICKLE_HEADS)] + [Slow("body") for _ in range(SLOW_BODIES)] +
               [Slow("stuck") for _ in range(NON_READERS)])
    random.shuffle(clients)
    gate = asyncio.Semaphore(64)

    async def one(c):
        async with gate:
            await c.connect(loop, port, rcvbuf=4096 if c.kind == "stuck" else None)
        if c.kind == "head":
            await c.trickle(loop, b"", HEAD)
        elif c.kind == "body":
            await c.trickle(loop, BODY_HEAD, BODY)
        else:
            await c.stuck(loop)

    t_start = time.monotonic()
    tasks = [asyncio.ensure_future(one(c)) for c in clients]
    # the normal client starts once every slow connection is open and has
    # sent its first bytes
    while not all(c.started for c in clients) and time.monotonic() - t_start < 15:
        if any(t.done() and t.exception() for t in tasks):
            break
        await asyncio.sleep(0.05)
    sending_after = time.monotonic() - t_start
    probes = {"lat": [], "errors": []}
    th = threading.Thread(target=probe, args=(port, probes), daemon=True)
    th.start()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await loop.run_in_executor(None, th.join, 30)
    for c in clients:
        if c.sock:
            c.sock.close()
    return clients, results, probes, sending_after


def test_slow_clients():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:   # 1,000 sockets here, and parleyd inherits the limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = TRICKLE_HEADS + SLOW_BODIES + NON_READERS + 200
    assert hard >= need, "RLIMIT_NOFILE hard limit %d < %d" % (hard, need)

    with Server("--header-timeout-ms", str(int(HEADER_TIMEOUT * 1000))) as s:
        t0 = time.monotonic()
        clients, results, probes, sending_after = asyncio.run(asyncio.wait_for(drive(s.port), 45))
        took = time.monotonic() - t0
        errors = [r for r in results if isinstance(r, BaseException)]
        connected = sum(1 for c in clients if c.sock)

        lat = probes["lat"]
        heads = [c for c in clients if c.kind == "head"]
        cut = [c.closed_after for c in heads if c.closed_after is not None]
        late = [c for c in heads if c.closed_after is None or c.closed_after > HEADER_TIMEOUT + MARGIN]
        hows = {}
        for c in heads:
            hows[c.how or "still open"] = hows.get(c.how or "still open", 0) + 1
        bodies = [c for c in clients if c.kind == "body"]
        body_cut = [c.closed_after for c in bodies if c.closed_after is not None]

        report = ("%d/%d connected, all sending %.2f s after the first connect, driver errors %d; "
                  "normal client: %d ok, %d failed, p50 %s ms, p99 %s ms, max %s ms; "
                  "trickling heads closed: %d/%d (%s), after s: min %s, median %s, max %s; "
                  "still open or late: %d; slow bodies closed: %d/%d (median after %s s); whole run %.1f s"
                  % (connected, len(clients), sending_after, len(errors), len(lat), len(probes["errors"]),
                     ms(pct(lat, 0.5)), ms(pct(lat, 0.99)), ms(max(lat) if lat else None),
                     len(cut), len(heads), ", ".join("%s: %d" % kv for kv in sorted(hows.items())),
                     sec(min(cut) if cut else None), sec(pct(cut, 0.5)), sec(max(cut) if cut else None),
                     len(late), len(body_cut), len(bodies), sec(pct(body_cut, 0.5)), took))
        print(report, flush=True)

        problems = []
        if errors:
            problems.append("driver errors, e.g. %r" % errors[0])
        if connected < len(clients):
            problems.append("only %d of %d slow connections opened" % (connected, len(clients)))
        if probes["errors"]:
            problems.append("%d normal requests failed, e.g. %r" % (len(probes["errors"]), probes["errors"][0]))
        if len(lat) + len(probes["errors"]) < PROBES:
            problems.append("the normal client did not finish (%d of %d)" % (len(lat), PROBES))
        if lat and pct(lat, 0.99) >= P99_LIMIT:
            problems.append("normal client p99 %.0f ms >= %.0f ms" % (pct(lat, 0.99) * 1000, P99_LIMIT * 1000))
        if late:
            problems.append("%d of %d trickling heads not closed within %.0f s of their first byte "
                            "(header timeout %.0f s + %.0f s)" % (len(late), len(heads), HEADER_TIMEOUT + MARGIN,
                                                                 HEADER_TIMEOUT, MARGIN))
        assert not problems, "; ".join(problems)
        st, b, _ = s.request("GET", "/healthz", timeout=5)
        assert st == 200, (st, b)
        rc = s.stop()
        assert rc == 0, (rc, s.stderr_text()[-1000:])


def ms(v):
    return "-" if v is None else "%.1f" % (v * 1000)


def sec(v):
    return "-" if v is None else "%.2f" % v


if __name__ == "__main__":
    main([test_slow_clients])
