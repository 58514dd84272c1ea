"""The realtime protocol (docs/realtime.md) against the real server: resume,
replay cap, idempotency, ordering, private notes, typing and receipts, the
inbox stream, bad input, and the WebSocket limits (sizes, UTF-8, binary,
Origin, auth time-out, dead peers, slow readers)."""
import asyncio
import base64
import collections
import hashlib
import hmac
import json
import os
import socket
import struct
import threading
import time

from harness import Server, WS, main, run, ws_frame

N_RESUME = 50


# ---------------------------------------------------------------- raw frames

class Closed(Exception):
    def __init__(self, code, reason=b""):
        super().__init__("closed: code %r %r" % (code, reason))
        self.code = code
        self.reason = reason


class RawWS:
    """A minimal blocking WebSocket client on a plain socket (bounded waits)."""

    def __init__(self, port, path, origin=None, rcvbuf=None, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if origin:
            lines.append("Origin: " + origin)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf and time.monotonic() < deadline:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode(errors="replace")
        parts = self.head.split(" ")
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                    .digest()).decode()
            assert "Sec-WebSocket-Accept: " + want in self.head, self.head

    def send_frame(self, opcode, payload, fin=True):
        self.sock.sendall(ws_frame(opcode, payload, fin))

    def send_json(self, obj):
        self.send_frame(1, json.dumps(obj))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("raw ws: nothing within the time limit")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def recv_frame(self, timeout=10):
        """(fin, opcode, payload), or None at the end of the stream."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            if not self._fill(4, deadline):
                return None
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            if not self._fill(10, deadline):
                return None
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        assert not b1 & 0x80, "server frames must not be masked"
        if not self._fill(off + n, deadline):
            return None
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_json(self, timeout=10, pong=True):
        """The next text message (answers pings when pong); Closed on close/EOF."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                raise Closed(None)
            _, op, payload = f
            if op == 1:
                return json.loads(payload)
            if op == 8:
                raise Closed(struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None, payload[2:])
            if op == 9 and pong:
                self.send_frame(10, payload)

    def close_code(self, timeout=10):
        """Reads until a close frame (its code) or the end of the stream (None)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.recv_json(max(0.0, deadline - time.monotonic()))
            except Closed as e:
                return e.code

    def request(self, frame, fid, timeout=10):
        self.send_json(dict(frame, id=fid))
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_json(max(0.0, deadline - time.monotonic()))
            if f.get("id") == fid and f.get("type") in ("ack", "error"):
                return f

    def abort(self):
        """Closes abruptly: RST, no close frame."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- helpers

def is_event(cid):
    return lambda f: f.get("type") == "event" and f.get("conversation_id") == cid


async def events_through(ws, cid, seq, timeout=15):
    """Event frames of cid, in arrival order, up to and including seq."""
    out = []
    deadline = time.monotonic() + timeout
    while not out or out[-1]["seq"] < seq:
        out.append(await ws.wait_for(is_event(cid), max(0.1, deadline - time.monotonic())))
    return out


def take_pending_events(ws, cid):
    """Removes and returns the event frames of cid that arrived before the last ack."""
    evs = [f for f in ws.pending if is_event(cid)(f)]
    ws.pending = [f for f in ws.pending if not is_event(cid)(f)]
    return evs


async def subscribe(ws, cid, after):
    """subscribe; returns (ack, replayed events)."""
    ack = await ws.request({"type": "subscribe", "conversation_id": cid, "after_seq": after})
    assert ack["type"] == "ack", ack
    return ack, take_pending_events(ws, cid)


async def send_burst(ws, cid, prefix, n, private_every=0, text=None):
    """Pipelines n sends; returns the acks in client_id order as {client_id: ack}."""
    ids = {}
    for i in range(n):
        fid = "%s-req-%d" % (prefix, i)
        frame = {"type": "send", "id": fid, "conversation_id": cid, "client_id": "%s-%d" % (prefix, i),
                 "text": text or "%s message %d" % (prefix, i)}
        if private_every and i % private_every == private_every - 1:
            frame["private"] = True
        ids[fid] = frame
        await ws.send(frame)
    return ids


async def collect_acks(ws, ids, timeout=20):
    acks = {}
    deadline = time.monotonic() + timeout
    while len(acks) < len(ids):
        f = await ws.wait_for(lambda f: f.get("id") in ids and f["type"] in ("ack", "error"),
                              max(0.1, deadline - time.monotonic()))
        assert f["type"] == "ack", f
        assert f["id"] not in acks, f
        acks[f["id"]] = f
    return {ids[k]["client_id"]: a for k, a in acks.items()}


def rest_events(s, cid, token, widget=False):
    """Every stored event of a conversation over REST (follows next_cursor)."""
    base = "/v1/widget/conversations/%s/messages" % cid if widget else "/v1/conversations/%s/messages" % cid
    out, after = [], 0
    for _ in range(100):
        st, b, _ = s.request("GET", "%s?after=%d&limit=500" % (base, after), token=token)
        assert st == 200, (st, b)
        out += b["data"]
        if b["next_cursor"] is None:
            return out
        after = int(b["next_cursor"])
    raise AssertionError("pagination did not end")


def new_agent(s, email, password="agent-password-1", name="Agent"):
    rc, out, err = s.cli("user", "create", "--tenant", "demo", "--email", email, "--password", password,
                         "--role", "agent", "--name", name)
    assert rc == 0, (out, err)
    return s.login(email, password)


def check_sanitizers(s, stop=True):
    """Stops the server (sanitizers report leaks at exit), then checks its whole
    stderr for sanitizer reports and its exit code."""
    rc = s.stop() if stop else None
    with open(s.stderr_path, "rb") as f:
        err = f.read().decode(errors="replace")
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer"):
        assert marker not in err, err[-6000:]
    assert rc in (None, 0), (rc, err[-3000:])


# ---------------------------------------------------------------- resume

async def _resume_once(s, cid, widget, tok, sender, abrupt, prefix, private_every=0):
    """The away party (visitor if widget, else agent) is up to date, drops
    (cleanly, or abruptly in the middle of a burst), misses the rest of a burst
    of N_RESUME sends by `sender`, then resumes from the last seq it saw."""
    if abrupt:
        raw = RawWS(s.port, "/v1/widget/ws?key=" + s.widget_key if widget else "/v1/ws")
        assert raw.status == 101, raw.head
        assert raw.request({"type": "auth", "token": tok}, "auth")["type"] == "ack"
        raw.send_json({"type": "subscribe", "conversation_id": cid, "after_seq": 0, "id": "sub"})
        seen = []
        while True:
            f = raw.recv_json()
            if f.get("id") == "sub":
                assert f["type"] == "ack", f
                break
            if f.get("type") == "event":
                seen.append(f["seq"])
        ids = await send_burst(sender, cid, prefix, N_RESUME, private_every)
        burst = 0
        while burst < 10:   # killed mid-stream, after 10 events of the burst
            f = raw.recv_json()
            if f.get("type") == "event":
                assert f["seq"] > seen[-1], (f, seen[-3:])
                seen.append(f["seq"])
                burst += 1
        raw.abort()
        last_seen = seen[-1]
        acks = await collect_acks(sender, ids)
    else:
        w = await WS.connect(s.ws_url(widget=widget), tok)
        ack, evs = await subscribe(w, cid, 0)
        assert evs and [e["seq"] for e in evs] == sorted({e["seq"] for e in evs}), evs
        last_seen = evs[-1]["seq"]
        await w.close()
        ids = await send_burst(sender, cid, prefix, N_RESUME, private_every)
        acks = await collect_acks(sender, ids)
    assert all(a["duplicate"] is False for a in acks.values()), acks
    top = max(a["seq"] for a in acks.values())
    notes = {acks[f["client_id"]]["seq"] for f in ids.values() if f.get("private")}
    assert len(notes) == (N_RESUME // private_every if private_every else 0)

    # reconnect and resume
    w = await WS.connect(s.ws_url(widget=widget), tok)
    ack, evs = await subscribe(w, cid, last_seen)
    assert ack["more"] is False and ack["last_seq"] == top, (ack, top)
    got = [e["seq"] for e in evs]
    want = [q for q in range(last_seen + 1, top + 1) if not (widget and q in notes)]
    assert got == want, (got, want)   # in order, no gap, no duplicate
    by_seq = {a["seq"]: c for c, a in acks.items()}
    for e in evs:
        if e["seq"] in by_seq:
            assert e["client_id"] == by_seq[e["seq"]], (e, by_seq[e["seq"]])
            assert e["kind"] == ("note" if e["seq"] in notes else "message"), e

    # live events follow at once, no gap, no duplicate
    live = await sender.request({"type": "send", "conversation_id": cid, "client_id": prefix + "-live",
                                 "text": "live after resume"})
    assert live["type"] == "ack" and live["seq"] == top + 1, live
    f = await w.wait_for(lambda f: f.get("type") == "event", 10)
    assert f["seq"] == top + 1 and f["client_id"] == prefix + "-live", f
    await w.close()
    return top + 1


def test_resume_after_disconnect():
    with Server() as s:
        agent = s.login()
        vis = s.visitor("Rita")
        cid = s.new_conversation(vis["visitor_token"], "hi", "v-0")["id"]
        at, vt = agent["access_token"], vis["visitor_token"]

        async def flow():
            v = await WS.connect(s.ws_url(widget=True), vt)
            a = await WS.connect(s.ws_url(), at)
            # agent away: clean close, then killed mid-stream
            await _resume_once(s, cid, False, at, v, False, "va")
            await _resume_once(s, cid, False, at, v, True, "vb")
            # visitor away (the agent's burst holds private notes the visitor must not get)
            await _resume_once(s, cid, True, vt, a, False, "aa", private_every=5)
            await _resume_once(s, cid, True, vt, a, True, "ab", private_every=5)
            await v.close()
            await a.close()
        run(flow())
        # the agent view of the whole conversation is gap-free
        evs = rest_events(s, cid, at)
        assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1)), [e["seq"] for e in evs]
        assert len(evs) == 2 + 4 * (N_RESUME + 1)
        check_sanitizers(s)


def test_resume_during_burst():
    """Subscribing while sends are in flight: replay and live join with no
    gap and no duplicate (the actor does both in one step)."""
    with Server() as s:
        at = s.login()["access_token"]
        vis = s.visitor("Bo")
        cid = s.new_conversation(vis["visitor_token"], "hi", "v-0")["id"]

        async def flow():
            v = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            for rnd in range(5):
                ids = await send_burst(v, cid, "r%d" % rnd, 200)
                # resume from a position in the past while the burst is being written
                a = await WS.connect(s.ws_url(), at, max_queue=None)
                after = 2 + rnd * 200
                ack, evs = await subscribe(a, cid, after)
                assert ack["more"] is False, ack
                acks = await collect_acks(v, ids)
                top = max(x["seq"] for x in acks.values())
                assert top == 2 + (rnd + 1) * 200
                evs += await events_through(a, cid, top) if not evs or evs[-1]["seq"] < top else []
                assert [e["seq"] for e in evs] == list(range(after + 1, top + 1)), \
                    (ack, [e["seq"] for e in evs][:3], len(evs))
                ping = await a.request({"type": "ping"})
                assert ping["type"] == "ack" and not [f for f in a.pending if is_event(cid)(f)], a.pending[:2]
                await a.close()
            await v.close()
        run(flow())
        check_sanitizers(s)


# ---------------------------------------------------------------- replay cap

def test_replay_over_the_cap():
    with Server() as s:
        agent = s.login()
        vis = s.visitor("Carl")
        cid = s.new_conversation(vis["visitor_token"], "hi", "v-0")["id"]

        async def flow():
            v = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            for b in range(6):   # 1,200 messages, 200 in flight at a time (mailbox bound 1,024)
                acks = await collect_acks(v, await send_burst(v, cid, "b%d" % b, 200))
                assert all(not a["duplicate"] for a in acks.values())
            top = 2 + 1200
            a = await WS.connect(s.ws_url(), agent["access_token"])
            ack, evs = await subscribe(a, cid, 2)
            assert ack["more"] is True and ack["last_seq"] == 1002, ack
            assert [e["seq"] for e in evs] == list(range(3, 1003)), [e["seq"] for e in evs][:5]
            # not subscribed yet: a message now must reach the agent once, via the replay
            extra = await v.request({"type": "send", "conversation_id": cid, "client_id": "extra", "text": "x"})
            assert extra["seq"] == top + 1, extra
            ack2, evs2 = await subscribe(a, cid, ack["last_seq"])
            assert ack2["more"] is False and ack2["last_seq"] == top + 1, ack2
            assert [e["seq"] for e in evs2] == list(range(1003, top + 2)), [e["seq"] for e in evs2][-5:]
            assert evs2[-1]["client_id"] == "extra"
            live = await v.request({"type": "send", "conversation_id": cid, "client_id": "live", "text": "y"})
            f = await a.wait_for(lambda f: f.get("type") == "event", 10)
            assert f["seq"] == live["seq"] == top + 2 and f["client_id"] == "live", f
            await a.close()
            await v.close()
        run(flow())
        check_sanitizers(s)


# ---------------------------------------------------------------- idempotency

def test_idempotent_send():
    with Server() as s:
        agent = s.login()
        vis = s.visitor("Ida")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]
        path = "/v1/widget/conversations/%s/messages" % cid

        async def flow():
            obs = await WS.connect(s.ws_url(), agent["access_token"])
            ack, _ = await subscribe(obs, cid, 0)
            v1 = await WS.connect(s.ws_url(widget=True), vt)
            v2 = await WS.connect(s.ws_url(widget=True), vt)
            msg = {"type": "send", "conversation_id": cid, "text": "once"}
            # WS then WS
            r1 = await v1.request(dict(msg, client_id="ws-ws"))
            r2 = await v1.request(dict(msg, client_id="ws-ws", text="changed"))
            assert r1["type"] == r2["type"] == "ack" and r1["seq"] == r2["seq"], (r1, r2)
            assert (r1["duplicate"], r2["duplicate"]) == (False, True)
            # WS then REST, REST then WS
            r1 = await v1.request(dict(msg, client_id="ws-rest"))
            st, b, _ = s.request("POST", path, {"client_id": "ws-rest", "text": "once"}, token=vt)
            assert st == 200 and b["duplicate"] is True and b["seq"] == r1["seq"], (st, b, r1)
            st, b, _ = s.request("POST", path, {"client_id": "rest-ws", "text": "once"}, token=vt)
            assert st == 201 and b["duplicate"] is False, (st, b)
            r2 = await v2.request(dict(msg, client_id="rest-ws"))
            assert r2["duplicate"] is True and r2["seq"] == b["seq"], (r2, b)
            # concurrently from two connections (and WS against REST)
            pairs = ["conc-%d" % i for i in range(30)]
            for c in pairs:
                await v1.send(dict(msg, client_id=c, id="a-" + c))
                await v2.send(dict(msg, client_id=c, id="b-" + c))
            wr = {"wr-req-%d" % i: dict(msg, client_id="wr-%d" % i, id="wr-req-%d" % i) for i in range(10)}

            async def ws_side():
                for f in wr.values():
                    await v1.send(f)
                return await collect_acks(v1, wr)
            res = await asyncio.gather(ws_side(), *[asyncio.to_thread(
                s.request, "POST", path, {"client_id": "wr-%d" % i, "text": "once"}, vt) for i in range(10)])
            for i in range(10):
                (st, b, _), w = res[1 + i], res[0]["wr-%d" % i]
                assert st in (200, 201) and b["seq"] == w["seq"], (st, b, w)
                assert [b["duplicate"], w["duplicate"]].count(True) == 1, (b, w)
            a1 = await collect_acks(v1, {"a-" + c: {"client_id": c} for c in pairs})
            a2 = await collect_acks(v2, {"b-" + c: {"client_id": c} for c in pairs})
            for c in pairs:
                assert a1[c]["seq"] == a2[c]["seq"], (a1[c], a2[c])
                assert [a1[c]["duplicate"], a2[c]["duplicate"]].count(True) == 1, (a1[c], a2[c])
            end = await v1.request(dict(msg, client_id="end"))
            evs = await events_through(obs, cid, end["seq"])
            ids = collections.Counter(e.get("client_id") for e in evs)
            for c in ["ws-ws", "ws-rest", "rest-ws", "end"] + pairs + ["wr-%d" % i for i in range(10)]:
                assert ids[c] == 1, (c, ids[c])
            assert [e["seq"] for e in evs] == list(range(3, end["seq"] + 1))
            for w in (obs, v1, v2):
                await w.close()
            return end["seq"]
        last = run(flow())
        evs = rest_events(s, cid, agent["access_token"])
        ids = collections.Counter(e.get("client_id") for e in evs)
        assert all(n == 1 for c, n in ids.items() if c), ids
        assert len(evs) == last and [e["seq"] for e in evs] == list(range(1, last + 1))
        assert next(e for e in evs if e.get("client_id") == "ws-ws")["text"] == "once"
        check_sanitizers(s)


# ---------------------------------------------------------------- ordering

def test_concurrent_ordering():
    with Server() as s:
        a1 = s.login()
        a2 = new_agent(s, "second@demo.parley", name="Second")
        vis = s.visitor("Olga")
        cid = s.new_conversation(vis["visitor_token"], "hi", "v-0")["id"]
        n = 100

        async def party(ws, name, base):
            sender = asyncio.ensure_future(send_burst(ws, cid, name, n))
            acks, evs = {}, []
            deadline = time.monotonic() + 30
            while len(acks) < n or len(evs) < 3 * n:
                f = await ws.recv(max(0.1, deadline - time.monotonic()))
                if f["type"] == "ack":
                    acks[f["id"]] = f
                elif f["type"] == "event" and f["conversation_id"] == cid and f["seq"] > base:
                    evs.append(f)
                else:
                    assert f["type"] not in ("error",), f
            ids = await sender
            return {ids[k]["client_id"]: a for k, a in acks.items()}, evs

        async def flow():
            conns = [await WS.connect(s.ws_url(widget=True), vis["visitor_token"]),
                     await WS.connect(s.ws_url(), a1["access_token"]),
                     await WS.connect(s.ws_url(), a2["access_token"])]
            base = None
            for w in conns:
                ack, _ = await subscribe(w, cid, 0)
                base = ack["last_seq"]
            res = await asyncio.gather(*[party(w, name, base) for w, name in zip(conns, ["vis", "ag1", "ag2"])])
            acks = {}
            for a, _ in res:
                acks.update(a)
            assert len(acks) == 3 * n and all(not a["duplicate"] for a in acks.values())
            assert sorted(a["seq"] for a in acks.values()) == list(range(base + 1, base + 3 * n + 1))
            views = [[(e["seq"], e["client_id"]) for e in evs] for _, evs in res]
            for v in views:
                assert [q for q, _ in v] == list(range(base + 1, base + 3 * n + 1)), [q for q, _ in v][:10]
                assert v == views[0]
            for c, a in acks.items():
                assert dict(views[0])[a["seq"]] == c, (c, a)
            # each sender's own messages are in the order it sent them
            for name in ("vis", "ag1", "ag2"):
                mine = [q for q, c in views[0] if c.startswith(name + "-")]
                assert mine == sorted(mine) and [c for q, c in views[0] if c.startswith(name + "-")] == \
                    ["%s-%d" % (name, i) for i in range(n)]
            for w in conns:
                await w.close()
        run(flow())
        check_sanitizers(s)


# ---------------------------------------------------------------- private notes

def test_private_notes():
    with Server() as s:
        agent = s.login()
        at = agent["access_token"]
        vis = s.visitor("Nora")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), at)
            b = await WS.connect(s.ws_url(), at)
            v = await WS.connect(s.ws_url(widget=True), vt)
            for w in (a, b, v):
                await subscribe(w, cid, 0)
            n1 = await a.request({"type": "send", "conversation_id": cid, "client_id": "n1",
                                  "text": "secret one", "private": True})
            assert n1["type"] == "ack", n1
            st, r, _ = s.request("POST", "/v1/conversations/%s/messages" % cid,
                                 {"client_id": "n2", "text": "secret two", "private": True}, token=at)
            assert st == 201 and r["event"]["kind"] == "note" and r["event"]["private"] is True, (st, r)
            m = await a.request({"type": "send", "conversation_id": cid, "client_id": "m", "text": "public"})
            n3 = await a.request({"type": "send", "conversation_id": cid, "client_id": "n3",
                                  "text": "secret three", "private": True})
            notes = {n1["seq"], r["seq"], n3["seq"]}
            # live: the visitor gets the public message and nothing of the notes
            ve = await events_through(v, cid, m["seq"])
            assert [e["seq"] for e in ve] == [m["seq"]] and ve[0]["text"] == "public", ve
            ping = await v.request({"type": "ping"})   # n3 would have arrived before this ack
            assert ping["type"] == "ack"
            assert not [f for f in v.pending if f.get("type") == "event"], v.pending
            # the other agent gets everything, notes marked
            be = await events_through(b, cid, n3["seq"])
            assert [e["seq"] for e in be] == [3, 4, 5, 6], be
            for e in be:
                assert (e["kind"], e["private"]) == (("note", True) if e["seq"] in notes else ("message", False)), e
            # replay
            v2 = await WS.connect(s.ws_url(widget=True), vt)
            ack, evs = await subscribe(v2, cid, 0)
            assert [e["seq"] for e in evs] == [1, 2, m["seq"]], evs
            assert ack["last_seq"] >= m["seq"]
            a2 = await WS.connect(s.ws_url(), at)
            ack, evs = await subscribe(a2, cid, 0)
            assert [e["seq"] for e in evs] == [1, 2, 3, 4, 5, 6] and ack["last_seq"] == 6, evs
            for w in (a, b, v, v2, a2):
                await w.close()
            return notes
        notes = run(flow())
        # REST: the widget list has no notes (even page by page), the agent list has them
        wl = rest_events(s, cid, vt, widget=True)
        assert [e["seq"] for e in wl] == [1, 2, 5] and not any("secret" in (e.get("text") or "") for e in wl), wl
        seen, after = [], 0
        for _ in range(10):
            st, b, _ = s.request("GET", "/v1/widget/conversations/%s/messages?after=%d&limit=1" % (cid, after),
                                 token=vt)
            assert st == 200, (st, b)
            seen += [e["seq"] for e in b["data"]]
            if b["next_cursor"] is None:
                break
            after = int(b["next_cursor"])
        assert seen == [1, 2, 5], seen
        al = rest_events(s, cid, agent["access_token"])
        assert [e["seq"] for e in al] == [1, 2, 3, 4, 5, 6]
        assert {e["seq"] for e in al if e["kind"] == "note"} == notes
        st, b, _ = s.request("GET", "/v1/widget/conversations", token=vt)
        assert st == 200 and "secret" not in json.dumps(b), b
        assert b["data"][0]["last_message"]["seq"] == 5, b
        check_sanitizers(s)


# ---------------------------------------------------------------- text round trip

AWKWARD = ['quote " backslash \\ slash /', "tab\tnewline\ncr\r", "ctl \x01\x1f\x7f", "é ü 中文 🙂",
           "line sep \u2028 para \u2029", "<script>alert(1)</script>", "{\"type\":\"ack\"}", " ", "€" * 2666]


def test_text_round_trip():
    """Event frames are written by hand (no JSON library): every text and
    request id comes back byte for byte, live, in replay and over REST."""
    with Server() as s:
        at = s.login()["access_token"]
        vis = s.visitor("Zoë \"Q\" \\")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), at)
            v = await WS.connect(s.ws_url(widget=True), vt)
            await subscribe(a, cid, 0)
            sent = {}
            for i, text in enumerate(AWKWARD):
                fid = 'id "%d" \\ é\t' % i
                await v.send({"type": "send", "conversation_id": cid, "client_id": "c\"%d\\é" % i,
                              "text": text, "id": fid})
                ack = await v.wait_for(lambda f: f.get("id") == fid, 10)
                assert ack["type"] == "ack" and ack["id"] == fid, ack
                sent[ack["seq"]] = ("c\"%d\\é" % i, text)
            live = await events_through(a, cid, max(sent))
            a2 = await WS.connect(s.ws_url(), at)
            _, replay = await subscribe(a2, cid, 2)
            for evs in (live, replay):
                got = {e["seq"]: (e["client_id"], e["text"]) for e in evs if e["seq"] in sent}
                assert got == sent, (got, sent)
                assert all(e["sender"]["name"] == vis["visitor"]["name"] for e in evs), evs[0]
            for w in (a, v, a2):
                await w.close()
            return sent
        sent = run(flow())
        got = {e["seq"]: (e["client_id"], e["text"]) for e in rest_events(s, cid, at) if e["seq"] in sent}
        assert got == sent
        check_sanitizers(s)


# ---------------------------------------------------------------- typing and receipts

def test_typing_and_receipts():
    with Server() as s:
        agent = s.login()
        at = agent["access_token"]
        vis = s.visitor("Tom")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), at)
            v = await WS.connect(s.ws_url(widget=True), vt)
            for w in (a, v):
                await subscribe(w, cid, 0)
            r = await v.request({"type": "typing", "conversation_id": cid, "state": True})
            assert r["type"] == "ack", r
            t = await a.wait_for(lambda f: f.get("type") == "typing", 10)
            assert t["conversation_id"] == cid and t["state"] is True, t
            assert t["sender"]["type"] == "visitor" and t["sender"]["id"] == vis["visitor"]["id"], t
            r = await a.request({"type": "typing", "conversation_id": cid, "state": False})
            assert r["type"] == "ack", r
            t = await v.wait_for(lambda f: f.get("type") == "typing", 10)
            assert t["state"] is False and t["sender"]["type"] == "agent", t
            # typing is not stored
            st, c, _ = s.request("GET", "/v1/conversations/" + cid, token=at)
            assert c["last_seq"] == 2, c
            assert len(rest_events(s, cid, at)) == 2

            # agent delivered/read the visitor's message
            r = await a.request({"type": "delivered", "conversation_id": cid, "seq": 2})
            assert r["type"] == "ack", r
            rc = await v.wait_for(lambda f: f.get("type") == "receipt", 10)
            assert (rc["conversation_id"], rc["side"], rc["delivered_seq"], rc["read_seq"]) == (cid, "agent", 2, 0), rc
            r = await a.request({"type": "read", "conversation_id": cid, "seq": 2})
            rc = await v.wait_for(lambda f: f.get("type") == "receipt", 10)
            assert (rc["side"], rc["delivered_seq"], rc["read_seq"]) == ("agent", 2, 2), rc
            # the visitor delivered/read the agent's answer
            m = await a.request({"type": "send", "conversation_id": cid, "client_id": "a-1", "text": "hello"})
            await v.wait_for(lambda f: f.get("type") == "event" and f["seq"] == m["seq"], 10)
            r = await v.request({"type": "delivered", "conversation_id": cid, "seq": m["seq"]})
            assert r["type"] == "ack", r
            rc = await a.wait_for(lambda f: f.get("type") == "receipt" and f["side"] == "visitor", 10)
            assert (rc["delivered_seq"], rc["read_seq"]) == (m["seq"], 0), rc
            st, c, _ = s.request("GET", "/v1/conversations/" + cid, token=at)
            assert (c["visitor_delivered_seq"], c["visitor_read_seq"]) == (m["seq"], 0), c
            r = await v.request({"type": "read", "conversation_id": cid, "seq": m["seq"]})
            rc = await a.wait_for(lambda f: f.get("type") == "receipt" and f["side"] == "visitor", 10)
            assert (rc["delivered_seq"], rc["read_seq"]) == (m["seq"], m["seq"]), rc
            st, c, _ = s.request("GET", "/v1/conversations/" + cid, token=at)
            assert (c["visitor_delivered_seq"], c["visitor_read_seq"]) == (m["seq"], m["seq"]), c
            assert (c["agent_delivered_seq"], c["agent_read_seq"]) == (2, 2), c
            assert c["last_seq"] == m["seq"], c   # receipts are not events
            st, w, _ = s.request("GET", "/v1/widget/conversations", token=vt)
            assert w["data"][0]["visitor_read_seq"] == m["seq"], w
            # receipts and typing are not replayed
            v2 = await WS.connect(s.ws_url(widget=True), vt)
            ack, evs = await subscribe(v2, cid, 0)
            assert [e["seq"] for e in evs] == [1, 2, 3] and not v2.pending, (evs, v2.pending)
            for w_ in (a, v, v2):
                await w_.close()
        run(flow())
        check_sanitizers(s)


# ---------------------------------------------------------------- inbox

def test_inbox_stream_and_resume():
    with Server() as s:
        agent = s.login()
        at = agent["access_token"]
        vis = s.visitor("Ines")
        vt = vis["visitor_token"]
        first = s.new_conversation(vt, "hi", "v-0")["id"]
        inbox = lambda f: f.get("type") == "inbox" and "cursor" in f

        async def flow():
            a = await WS.connect(s.ws_url(), at)
            ack = await a.request({"type": "subscribe_inbox", "after": 0})
            assert ack["type"] == "ack" and ack["more"] is False and ack["last"] == 1, ack
            rep = [f for f in a.pending if inbox(f)]
            a.pending = []
            assert [(f["cursor"], f["event"], f["conversation"]["id"]) for f in rep] == \
                [(1, "conversation.created", first)], rep
            # live: created, then updated (status, assignment)
            second = s.new_conversation(vt, "again", "v-1")["id"]
            f = await a.wait_for(inbox, 10)
            assert (f["cursor"], f["event"], f["conversation"]["id"]) == (2, "conversation.created", second), f
            st, c, _ = s.request("PATCH", "/v1/conversations/" + second, {"status": "pending"}, token=at)
            assert st == 200, (st, c)
            f = await a.wait_for(inbox, 10)
            assert (f["cursor"], f["event"], f["conversation"]["status"]) == (3, "conversation.updated", "pending"), f
            st, c, _ = s.request("POST", "/v1/conversations/%s/assign" % first, {}, token=at)
            f = await a.wait_for(inbox, 10)
            assert (f["cursor"], f["event"], f["conversation"]["id"]) == (4, "conversation.updated", first), f
            assert f["conversation"]["assignee"]["id"] == agent["user"]["id"], f
            # resolved, then reopened by the visitor writing again
            st, c, _ = s.request("PATCH", "/v1/conversations/" + first, {"status": "resolved"}, token=at)
            f = await a.wait_for(inbox, 10)
            assert (f["cursor"], f["event"], f["conversation"]["status"]) == (5, "conversation.updated", "resolved"), f
            st, r, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % first,
                                 {"client_id": "v-again", "text": "one more thing"}, token=vt)
            assert st == 201, (st, r)
            f = await a.wait_for(inbox, 10)
            assert (f["cursor"], f["event"], f["conversation"]["status"]) == (6, "conversation.updated", "open"), f
            # messages alone are live notices without a cursor
            st, r, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % first,
                                 {"client_id": "v-again-2", "text": "and another"}, token=vt)
            f = await a.wait_for(lambda f: f.get("type") == "inbox" and f.get("event") == "conversation.message"
                                 and f.get("seq") == r["seq"], 10)
            assert "cursor" not in f and f["preview"] == "and another", f
            ping = await a.request({"type": "ping"})
            assert not [f for f in a.pending if inbox(f)], a.pending
            await a.close()
            last = 6

            # a burst of 100 creations; the agent drops in the middle and resumes
            made, errors = [], []
            half = threading.Event()
            away = threading.Event()

            def creator():
                try:
                    for i in range(100):
                        if i == 50:
                            half.set()
                            away.wait(15)
                        made.append(s.new_conversation(vt, "burst %d" % i, "b-%d" % i)["id"])
                except Exception as e:   # reported below
                    errors.append(e)
                    half.set()
            th = threading.Thread(target=creator)
            a = await WS.connect(s.ws_url(), at, max_queue=None)   # closes while frames flow
            ack = await a.request({"type": "subscribe_inbox", "after": last})
            assert ack["type"] == "ack" and ack["last"] == last and ack["more"] is False, ack
            th.start()
            frames1 = []
            try:
                while len(frames1) < 20:
                    frames1.append(await a.wait_for(inbox, 15))
            finally:
                await asyncio.to_thread(half.wait, 15)
                await a.close()
                away.set()
            # resume with the last cursor seen, while creations go on
            b = await WS.connect(s.ws_url(), at)
            ack = await b.request({"type": "subscribe_inbox", "after": frames1[-1]["cursor"]})
            assert ack["type"] == "ack" and ack["more"] is False, ack
            frames2 = [f for f in b.pending if inbox(f)]
            b.pending = []
            seen = {f["conversation"]["id"] for f in frames1 + frames2}
            deadline = time.monotonic() + 20
            while len(seen) < 100:
                f = await b.wait_for(inbox, max(0.1, deadline - time.monotonic()))
                frames2.append(f)
                seen.add(f["conversation"]["id"])
            await asyncio.to_thread(th.join, 20)
            assert not errors and len(made) == 100, errors
            allf = frames1 + frames2
            ids = collections.Counter(f["conversation"]["id"] for f in allf)
            assert set(ids) == set(made) and all(n == 1 for n in ids.values()), ids.most_common(3)
            assert [f["cursor"] for f in allf] == list(range(last + 1, last + 101)), [f["cursor"] for f in allf]
            assert all(f["event"] == "conversation.created" for f in allf)
            # nothing more, nothing twice
            ping = await b.request({"type": "ping"})
            assert ping["type"] == "ack" and not [f for f in b.pending if inbox(f)], b.pending
            await b.close()
        run(flow())
        check_sanitizers(s)


# ---------------------------------------------------------------- bad input

class Tally:
    """A WebSocket whose every received frame is recorded, to count replies per id."""

    def __init__(self, ws):
        self.ws = ws
        self.frames = []
        self.sent_ids = []
        self.n = 0

    async def expect(self, frame, code, field=None, with_id=True, after_auth=True):
        """Sends frame (a dict gets an id unless with_id is False; a str/bytes is sent as
        is), then a ping with an id; checks the error and that the ping is answered."""
        self.n += 1
        fid = None
        if isinstance(frame, dict) and with_id and "id" not in frame:
            fid = "bad-%d" % self.n
            frame = dict(frame, id=fid)
        if isinstance(frame, dict) and with_id and isinstance(frame.get("id"), str):
            fid = frame["id"]
        if fid:
            self.sent_ids.append(fid)
        await self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))
        pid = "ping-%d" % self.n
        self.sent_ids.append(pid)
        await self.ws.send(json.dumps({"type": "ping", "id": pid}))
        got = []
        deadline = time.monotonic() + 10
        while True:
            f = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic())))
            self.frames.append(f)
            got.append(f)
            if f.get("id") == pid:
                break
        errs = [f for f in got if f["type"] == "error" and f.get("id") == fid]
        assert len(errs) == 1, (frame if len(str(frame)) < 300 else str(frame)[:300], got)
        e = errs[0]["error"]
        assert e["code"] == code and isinstance(e.get("message"), str), (frame if len(str(frame)) < 300 else "…", e)
        if field:
            assert e.get("field") == field, (frame, e)
        ping = got[-1]
        if after_auth:
            assert ping["type"] == "ack", ping
        else:
            assert ping["type"] == "error" and ping["error"]["code"] == "unauthenticated", ping
        return errs[0]

    async def ok(self, frame):
        self.n += 1
        fid = "ok-%d" % self.n
        self.sent_ids.append(fid)
        await self.ws.send(json.dumps(dict(frame, id=fid)))
        deadline = time.monotonic() + 10
        while True:
            f = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic())))
            self.frames.append(f)
            if f.get("id") == fid:
                return f

    async def finish(self):
        """Every id sent got exactly one reply; no reply names an id never sent."""
        await self.ok({"type": "ping"})
        replies = collections.Counter(f["id"] for f in self.frames if f["type"] in ("ack", "error") and "id" in f)
        for fid in self.sent_ids:
            assert replies[fid] == 1, (fid, replies[fid])
        assert set(replies) <= set(self.sent_ids), set(replies) - set(self.sent_ids)


def forge(token, **changes):
    h, p, sig = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)
    body = json.loads(base64.urlsafe_b64decode(pad(p)))
    body.update(changes)
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return h + "." + enc(body) + "." + sig


def resign(token, key=b"not-the-server-key", alg="HS256"):
    h, p, _ = token.split(".")
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = enc(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    if alg == "none":
        return head + "." + p + "."
    return head + "." + p + "." + enc(hmac.new(key, (head + "." + p).encode(), hashlib.sha256).digest())


def test_bad_input():
    with Server() as s:
        agent = s.login()
        at = agent["access_token"]
        vis = s.visitor("Bea")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]
        other = s.visitor("Otto")
        other_cid = s.new_conversation(other["visitor_token"], "mine", "o-0")["id"]
        _, key_b = s.new_tenant("bravo")
        vis_b = s.visitor("Bob", widget_key=key_b)
        cid_b = s.new_conversation(vis_b["visitor_token"], "other tenant", "b-0")["id"]

        async def flow():
            # before auth
            u = Tally((await WS.connect(s.ws_url())).ws)
            for t in ({"type": "subscribe", "conversation_id": cid}, {"type": "send", "conversation_id": cid,
                      "client_id": "x", "text": "x"}, {"type": "subscribe_inbox"}, {"type": "typing",
                      "conversation_id": cid, "state": True}, {"type": "read", "conversation_id": cid, "seq": 1},
                      {"type": "unsubscribe", "conversation_id": cid}, {"type": "ping"}):
                await u.expect(t, "unauthenticated", after_auth=False)
            # forged, foreign and wrong-audience tokens; the connection stays usable
            for tok in (forge(at, role="owner"), forge(at, sub="1"), resign(at), resign(at, alg="none"),
                        "not.a.token", at + "x", vt, vis_b["visitor_token"]):
                await u.expect({"type": "auth", "token": tok}, "unauthenticated", after_auth=False)
            await u.expect({"type": "auth", "token": 42}, "invalid_field", "token", after_auth=False)
            ok = await u.ok({"type": "auth", "token": at})
            assert ok["type"] == "ack" and ok["user"]["id"] == agent["user"]["id"], ok
            await u.expect({"type": "auth", "token": at}, "invalid_frame")   # already authenticated
            await u.finish()

            w = Tally((await WS.connect(s.ws_url(widget=True))).ws)
            for tok in (at, forge(vt, tid="1"), resign(vt), vis_b["visitor_token"]):
                await w.expect({"type": "auth", "token": tok}, "unauthenticated", after_auth=False)
            ok = await w.ok({"type": "auth", "token": vt})
            assert ok["type"] == "ack" and ok["visitor"]["id"] == vis["visitor"]["id"], ok
            await w.finish()

            # malformed frames on an authenticated agent connection
            a = Tally((await WS.connect(s.ws_url(), at)).ws)
            e = await a.expect("{not json", "invalid_json", with_id=False)
            assert "id" not in e
            await a.expect(b"{\"type\": \"ping\", \"id\": \"bin-as-text\"".decode(), "invalid_json", with_id=False)
            for raw in ("[1, 2]", "\"ping\"", "42", "null"):
                await a.expect(raw, "invalid_frame", with_id=False)
            await a.expect({"id": "no-type"}, "invalid_frame", "type")
            await a.expect({"type": 7}, "invalid_frame", "type")
            await a.expect({"type": "nope"}, "unknown_type", "type")
            await a.expect({"type": "ping\u0000x"}, "unknown_type", "type")
            await a.expect({"type": "ping", "id": "a\u0000b"}, "invalid_field", "id", with_id=False)
            await a.expect({"type": "ping", "id": 5}, "invalid_field", "id", with_id=False)
            await a.expect({"type": "ping", "id": "x" * 65}, "invalid_field", "id", with_id=False)
            assert (await a.ok({"type": "ping", "id": "y" * 64}))["type"] == "ack"
            sub = {"type": "subscribe", "conversation_id": cid}
            await a.expect({"type": "subscribe", "conversation_id": int(cid)}, "invalid_field", "conversation_id")
            await a.expect({"type": "subscribe"}, "invalid_field", "conversation_id")
            await a.expect(dict(sub, after_seq=-1), "invalid_field", "after_seq")
            await a.expect(dict(sub, after_seq="3"), "invalid_field", "after_seq")
            await a.expect(dict(sub, after_seq=1.5), "invalid_field", "after_seq")
            send = {"type": "send", "conversation_id": cid, "client_id": "c-1", "text": "hello"}
            await a.expect(dict(send, text=5), "invalid_field", "text")
            await a.expect(dict(send, text=""), "invalid_field", "text")
            await a.expect(dict(send, text="x" * 8001), "invalid_field", "text")
            await a.expect(dict(send, text="é" * 4001), "invalid_field", "text")   # 8,002 bytes
            await a.expect(dict(send, client_id="c" * 65), "invalid_field", "client_id")
            await a.expect(dict(send, client_id=""), "invalid_field", "client_id")
            await a.expect(dict(send, client_id=7), "invalid_field", "client_id")
            await a.expect(dict(send, text="a\u0000b"), "invalid_field", "text")
            await a.expect(dict(send, client_id="a\u0000b"), "invalid_field", "client_id")
            await a.expect(dict(send, private="yes"), "invalid_field", "private")
            await a.expect(dict(send, private=1), "invalid_field", "private")
            await a.expect({"type": "typing", "conversation_id": cid, "state": "on"}, "invalid_field", "state")
            await a.expect({"type": "read", "conversation_id": cid, "seq": -2}, "invalid_field", "seq")
            await a.expect({"type": "delivered", "conversation_id": cid}, "invalid_field", "seq")
            await a.expect({"type": "subscribe_inbox", "after": -1}, "invalid_field", "after")
            # none of those stored anything; the limits themselves are accepted
            r = await a.ok(dict(send, client_id="c" * 64, text="é" * 4000))
            assert r["type"] == "ack" and r["seq"] == 3, r
            r = await a.ok(dict(send, client_id="c-max", text="x" * 8000))
            assert r["type"] == "ack" and r["seq"] == 4, r
            # another tenant's conversation, an unknown one: the same not_found
            errs = []
            for c in (cid_b, "123456789", cid_b):
                for t in ({"type": "subscribe", "conversation_id": c},
                          {"type": "send", "conversation_id": c, "client_id": "z", "text": "z"},
                          {"type": "typing", "conversation_id": c, "state": True},
                          {"type": "read", "conversation_id": c, "seq": 1}):
                    errs.append((await a.expect(t, "not_found", "conversation_id"))["error"])
            assert all(e == errs[0] for e in errs), errs
            await a.finish()

            v = Tally((await WS.connect(s.ws_url(widget=True), vt)).ws)
            for t in ({"type": "subscribe", "conversation_id": other_cid},
                      {"type": "send", "conversation_id": other_cid, "client_id": "z", "text": "z"},
                      {"type": "delivered", "conversation_id": other_cid, "seq": 1},
                      {"type": "subscribe", "conversation_id": cid_b}):
                await v.expect(t, "not_found", "conversation_id")
            await v.expect(dict(send, private=True), "forbidden")
            await v.expect({"type": "subscribe_inbox", "after": 0}, "forbidden")
            r = await v.ok(dict(send, client_id="v-ok", private=False))
            assert r["type"] == "ack" and r["seq"] == 5, r
            await v.finish()
            for t in (u, w, a, v):
                await t.ws.close()
        run(flow())
        # nothing of the rejected frames was stored
        evs = rest_events(s, cid, at)
        assert [e.get("client_id") for e in evs] == [None, "v-0", "c" * 64, "c-max", "v-ok"], evs
        assert rest_events(s, other_cid, s.login()["access_token"])[-1]["seq"] == 2

        # expired tokens (a server issuing tokens that live 0 s)
        with Server("--access-ttl", "0", "--visitor-ttl", "0") as s2:
            tok = s2.login()["access_token"]
            vtok = s2.visitor("Eve")["visitor_token"]

            async def expired():
                t = Tally((await WS.connect(s2.ws_url())).ws)
                await t.expect({"type": "auth", "token": tok}, "unauthenticated", after_auth=False)
                await t.finish()
                t2 = Tally((await WS.connect(s2.ws_url(widget=True))).ws)
                await t2.expect({"type": "auth", "token": vtok}, "unauthenticated", after_auth=False)
                await t2.finish()
                await t.ws.close()
                await t2.ws.close()
            run(expired())
            check_sanitizers(s2)
        check_sanitizers(s)


# ---------------------------------------------------------------- protocol limits

def test_frame_limits():
    import websockets
    with Server("--ws-max-message", "4096") as s:
        at = s.login()["access_token"]

        async def flow():
            # at the limit: accepted; one byte over: 1009
            w = await WS.connect(s.ws_url(), at)
            frame = {"type": "ping", "id": "big", "pad": ""}
            frame["pad"] = "p" * (4096 - len(json.dumps(frame)))
            assert len(json.dumps(frame)) == 4096
            await w.send(frame)   # its own id: request() would put a longer one
            assert (await w.wait_for(lambda f: f.get("id") == "big"))["type"] == "ack"
            frame["pad"] += "p"
            await w.send(frame)
            try:
                f = await w.recv(10)
                raise AssertionError("still open after an oversized message: %r" % f)
            except websockets.ConnectionClosed as e:
                assert e.rcvd is not None and e.rcvd.code == 1009, e
        run(flow())
        # the same over fragments, on a raw socket
        r = RawWS(s.port, "/v1/ws")
        r.send_frame(1, b"{\"type\":\"ping\",\"pad\":\"" + b"q" * 3000, fin=False)
        r.send_frame(0, b"q" * 3000 + b"\"}", fin=True)
        assert r.close_code() == 1009
        r.close()
        # invalid UTF-8 in a text frame → 1007 (also split over fragments)
        for frames in ([(1, b'{"type":"ping","x":"\xff"}', True)],
                       [(1, b'{"type":"ping","x":"\xc3', False), (0, b'\x28"}', True)],
                       [(1, b'{"type":"ping","x":"\xed\xa0\x80"}', True)]):
            r = RawWS(s.port, "/v1/ws")
            assert r.request({"type": "auth", "token": at}, "a")["type"] == "ack"
            for op, payload, fin in frames:
                r.send_frame(op, payload, fin)
            assert r.close_code() == 1007, frames
            r.close()
        # binary frame → 1003
        r = RawWS(s.port, "/v1/ws")
        assert r.request({"type": "auth", "token": at}, "a")["type"] == "ack"
        r.send_frame(2, b'{"type":"ping","id":"b"}')
        assert r.close_code() == 1003
        r.close()
        # the server is fine afterwards
        r = RawWS(s.port, "/v1/ws")
        assert r.request({"type": "ping"}, "p")["type"] in ("ack", "error")
        r.close()
        check_sanitizers(s)


def test_origins_and_keys():
    with Server("--allowed-origins", "https://console.example") as s:
        _, key = s.new_tenant("shop", origins="https://shop.example")
        widget = "/v1/widget/ws?key=" + key

        def upgrade(path, origin):
            r = RawWS(s.port, path, origin=origin)
            st = r.status
            r.close()
            return st
        assert upgrade(widget, "https://evil.example") == 403
        assert upgrade(widget, "https://shop.example.evil.example") == 403
        assert upgrade(widget, "https://shop.example") == 101
        assert upgrade(widget, None) == 101
        assert upgrade("/v1/ws", "https://evil.example") == 403
        assert upgrade("/v1/ws", "https://shop.example") == 403
        assert upgrade("/v1/ws", "https://console.example") == 101
        assert upgrade("/v1/ws", "http://127.0.0.1:%d" % s.port) == 101
        assert upgrade("/v1/ws", None) == 101
        assert upgrade("/v1/widget/ws?key=no-such-key", None) == 404
        assert upgrade("/v1/widget/ws?key=no-such-key", "https://shop.example") == 404
        assert upgrade("/v1/widget/ws", None) == 404
        # the demo tenant allows any origin
        assert upgrade("/v1/widget/ws?key=" + s.widget_key, "https://anywhere.example") == 101
        # the accepted widget connection works end to end
        vis = s.visitor("Sam", widget_key=key)
        r = RawWS(s.port, widget, origin="https://shop.example")
        assert r.request({"type": "auth", "token": vis["visitor_token"]}, "a")["type"] == "ack"
        r.close()
        check_sanitizers(s)


def test_auth_timeout_and_dead_peer():
    with Server("--ws-auth-timeout-ms", "300", "--ws-ping-ms", "300") as s:
        at = s.login()["access_token"]

        async def flow():
            good = await WS.connect(s.ws_url(), at)   # answers pings (python websockets does)
            # never authenticates → 1008
            t0 = time.monotonic()
            r = await asyncio.to_thread(RawWS, s.port, "/v1/ws")
            code = await asyncio.to_thread(r.close_code, 10)
            dt = time.monotonic() - t0
            r.close()
            assert code == 1008 and 0.25 <= dt < 3, (code, dt)
            # authenticates, then never answers pings → dropped
            r = await asyncio.to_thread(RawWS, s.port, "/v1/ws")
            ack = await asyncio.to_thread(r.request, {"type": "auth", "token": at}, "a")
            assert ack["type"] == "ack", ack
            t0 = time.monotonic()

            def wait_dead():
                pings = 0
                while True:
                    f = r.recv_frame(max(0.0, t0 + 10 - time.monotonic()))
                    if f is None or f[1] == 8:
                        return pings
                    pings += f[1] == 9
            pings = await asyncio.to_thread(wait_dead)
            dt = time.monotonic() - t0
            r.close()
            assert pings >= 1 and dt < 3, (pings, dt)
            # the live client has been up for several ping intervals and is still served
            assert (await good.request({"type": "ping"}))["type"] == "ack"
            await good.close()
        run(flow())
        check_sanitizers(s)


def test_slow_reader_is_dropped_and_resumes():
    with Server("--ws-send-queue", "65536") as s:
        agent = s.login()
        at = agent["access_token"]
        vis = s.visitor("Sid")
        cid = s.new_conversation(vis["visitor_token"], "hi", "v-0")["id"]
        slow = RawWS(s.port, "/v1/ws", rcvbuf=4096)
        assert slow.request({"type": "auth", "token": at}, "a")["type"] == "ack"
        ack = slow.request({"type": "subscribe", "conversation_id": cid, "after_seq": 2}, "s")
        assert ack["type"] == "ack" and ack["last_seq"] == 2, ack
        text = "s" * 8000

        async def flow():
            v = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            good = await WS.connect(s.ws_url(), at)
            await subscribe(good, cid, 2)
            got = []

            async def reader():
                while True:
                    f = await good.wait_for(is_event(cid), 20)
                    got.append(f["seq"])
            task = asyncio.ensure_future(reader())
            sent = 0
            while s.metric("parley_ws_slow_dropped_total") < 1:
                assert sent < 2000, "the slow reader was never dropped"
                acks = await collect_acks(v, await send_burst(v, cid, "s%d" % sent, 20, text=text))
                assert sorted(a["seq"] for a in acks.values()) == list(range(3 + sent, 23 + sent)), acks
                sent += 20
            top = 2 + sent
            deadline = time.monotonic() + 20
            while (not got or got[-1] < top) and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.01)   # bounded poll on the good reader's progress
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            assert got == list(range(3, top + 1)), (len(got), top)
            assert (await good.request({"type": "ping"}))["type"] == "ack"
            # the slow client reads what reached it, then resumes from there
            first = []
            while True:
                try:
                    f = await asyncio.to_thread(slow.recv_json, 10)
                except Closed:
                    break
                if f.get("type") == "event":
                    first.append(f["seq"])
            slow.close()
            assert first == list(range(3, 3 + len(first))) and len(first) < sent, (first[:3], len(first), sent)
            after = first[-1] if first else 2
            back = await WS.connect(s.ws_url(), at)
            ack, evs = await subscribe(back, cid, after)
            assert ack["more"] is False and ack["last_seq"] == top, ack
            assert [e["seq"] for e in evs] == list(range(after + 1, top + 1)), [e["seq"] for e in evs][:5]
            live = await v.request({"type": "send", "conversation_id": cid, "client_id": "live", "text": "x"})
            f = await back.wait_for(is_event(cid), 10)
            assert f["seq"] == live["seq"] == top + 1, f
            for w in (v, good, back):
                await w.close()
        run(flow())
        assert s.metric("parley_ws_slow_dropped_total") == 1
        check_sanitizers(s)


def test_noop_receipt_waits_for_the_write_in_flight():
    """A receipt that changes nothing because an identical one is still
    being stored is acknowledged after that one, never before: an ack
    promises a durable state."""
    with Server() as s:
        agent = s.login()["access_token"]
        vis = s.visitor("Ned")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "n-0")["id"]

        async def flow():
            a = await WS.connect(s.ws_url(), agent)
            for k in range(1, 9):
                st, ev, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                                      {"client_id": "n-%d" % k, "text": "more"}, token=vis)
                assert st in (200, 201), (st, ev)
                seq = ev.get("seq") or ev.get("event", {}).get("seq")
                # both frames in one write: the second reaches the actor
                # while the first is still on its way to the disk
                frames = [json.dumps({"type": "read", "conversation_id": cid, "seq": seq,
                                      "id": "k%d-%d" % (k, i)}) for i in (1, 2)]
                await a.ws.send(frames[0])
                await a.ws.send(frames[1])
                order = []
                while len(order) < 2:
                    f = await a.wait_for(lambda f: str(f.get("id", "")).startswith("k%d-" % k))
                    assert f["type"] == "ack", f
                    order.append(f["id"])
                assert order == ["k%d-1" % k, "k%d-2" % k], order
            await a.close()
        run(flow())


if __name__ == "__main__":
    main([test_noop_receipt_waits_for_the_write_in_flight, test_resume_after_disconnect, test_resume_during_burst, test_replay_over_the_cap, test_idempotent_send,
          test_concurrent_ordering, test_private_notes, test_text_round_trip, test_typing_and_receipts,
          test_inbox_stream_and_resume, test_bad_input, test_frame_limits, test_origins_and_keys,
          test_auth_timeout_and_dead_peer, test_slow_reader_is_dropped_and_resumes])
