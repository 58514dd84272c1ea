"""Durability: what was acknowledged survives kill -9; SIGTERM closes
WebSockets with 1001 and exits 0; a restart keeps tenants, users, tokens,
conversations, sequences and inbox cursors."""
import asyncio
import base64
import collections
import json
import os
import re
import signal
import socket
import struct
import time

from harness import Server, WS, main, run


# ---------------------------------------------------------------- a raw client

class RawWS:
    """A bare WebSocket client on a socket: it never answers pings or closes."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (path, port, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "closed during the handshake"
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_json(self, obj):
        payload = json.dumps(obj).encode()
        n, mask = len(payload), os.urandom(4)
        hdr = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + struct.pack(">H", n)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def recv(self, timeout=10):
        """(opcode, payload) of the next frame."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        n, off = self.buf[1] & 0x7F, 2
        if n >= 126:
            off = 4 if n == 126 else 10
            self._need(off, deadline)
            n = int.from_bytes(self.buf[2:off], "big")
        self._need(off + n, deadline)
        op, payload, self.buf = self.buf[0] & 0x0F, self.buf[off:off + n], self.buf[off + n:]
        return op, payload

    def request(self, frame, fid):
        self.send_json(dict(frame, id=fid))
        while True:
            op, payload = self.recv()
            f = json.loads(payload) if op == 1 else {}
            if f.get("id") == fid:
                return f


# ---------------------------------------------------------------- helpers

async def send_burst(ws, cid, prefix, n, private_every=0):
    """Pipelines n sends; returns {request id: frame}."""
    frames = {}
    for i in range(n):
        f = {"type": "send", "id": "%s-req-%d" % (prefix, i), "conversation_id": cid,
             "client_id": "%s-%d" % (prefix, i), "text": "%s · message %d ✓" % (prefix, i)}
        if private_every and i % private_every == 0:
            f["private"] = True
        frames[f["id"]] = f
        await ws.send(f)
    return frames


async def collect_acks(ws, frames, timeout=20, until_closed=False):
    """{client_id: ack} for the requests in frames. With until_closed, reads
    until the connection ends and returns whatever acks arrived."""
    import websockets
    acks = {}
    deadline = time.monotonic() + timeout
    while len(acks) < len(frames):
        try:
            f = await ws.wait_for(lambda f: f.get("id") in frames and f["type"] in ("ack", "error"),
                                  max(0.1, deadline - time.monotonic()))
        except websockets.ConnectionClosed:
            if until_closed:
                break
            raise
        assert f["type"] == "ack", f
        assert frames[f["id"]]["client_id"] not in acks, f
        acks[frames[f["id"]]["client_id"]] = f
    return acks


def rest_events(s, cid, token):
    out, after = [], 0
    for _ in range(100):
        st, b, _ = s.request("GET", "/v1/conversations/%s/messages?after=%d&limit=500" % (cid, after), token=token)
        assert st == 200, (st, b)
        out += b["data"]
        if b["next_cursor"] is None:
            return out
        after = int(b["next_cursor"])
    raise AssertionError("pagination did not end")


def finish(s):
    """Stops the server, checks its exit code and its stderr for sanitizer reports."""
    rc = s.stop()
    with open(s.stderr_path, "rb") as f:
        err = f.read().decode(errors="replace")
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer"):
        assert marker not in err, err[-6000:]
    assert rc in (None, 0), (rc, err[-3000:])


def check_stored(s, cid, token, frames, acks):
    """Every acknowledged send is stored with its seq and text; seqs are gap-free."""
    evs = rest_events(s, cid, token)
    seqs = [e["seq"] for e in evs]
    assert seqs == list(range(1, len(evs) + 1)), seqs
    by_cid = {e.get("client_id"): e for e in evs if e.get("client_id")}
    assert len(by_cid) == len([e for e in evs if e.get("client_id")]), "a client_id stored twice"
    texts = {f["client_id"]: f for f in frames.values()}
    for c, a in acks.items():
        e = by_cid.get(c)
        assert e is not None, ("acknowledged but lost", c, a)
        assert e["seq"] == a["seq"] and e["text"] == texts[c]["text"], (e, a)
        assert e["kind"] == ("note" if texts[c].get("private") else "message"), e
    return evs


# ---------------------------------------------------------------- kill -9

def test_kill9_keeps_every_acknowledged_message():
    with Server() as s:
        at = s.login()["access_token"]
        vis = s.visitor("Kai")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]

        async def burst():
            v = await WS.connect(s.ws_url(widget=True), vt)
            a = await WS.connect(s.ws_url(), at)
            fv = await send_burst(v, cid, "vis", 100)
            fa = await send_burst(a, cid, "agt", 100, private_every=10)
            acks = await collect_acks(v, fv)
            acks.update(await collect_acks(a, fa))
            await v.close()
            await a.close()
            return dict(fv, **fa), acks
        frames, acks = run(burst())
        assert len(acks) == 200 and all(not a["duplicate"] for a in acks.values())
        assert sorted(a["seq"] for a in acks.values()) == list(range(3, 203))
        rc = s.kill9()   # right after the last ack
        assert rc == -signal.SIGKILL, rc
        s.start()
        at = s.login()["access_token"]
        evs = check_stored(s, cid, at, frames, acks)
        assert len(evs) == 202, len(evs)

        async def resend():
            v = await WS.connect(s.ws_url(widget=True), vt)
            a = await WS.connect(s.ws_url(), at)
            # the same client_ids again: nothing new, the original seqs
            rv = {k: f for k, f in frames.items() if f["client_id"].startswith("vis")}
            ra = {k: f for k, f in frames.items() if f["client_id"].startswith("agt")}
            for k, f in rv.items():
                await v.send(f)
            for k, f in ra.items():
                await a.send(f)
            again = await collect_acks(v, rv)
            again.update(await collect_acks(a, ra))
            for c, a_ in again.items():
                assert a_["duplicate"] is True and a_["seq"] == acks[c]["seq"], (c, a_, acks[c])
            new = await v.request({"type": "send", "conversation_id": cid, "client_id": "after", "text": "new"})
            assert new["seq"] == 203 and new["duplicate"] is False, new
            await v.close()
            await a.close()
        run(resend())
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                             {"client_id": "vis-7", "text": "again"}, token=vt)
        assert st == 200 and b == {"seq": acks["vis-7"]["seq"], "duplicate": True}, (st, b)
        assert len(rest_events(s, cid, at)) == 203
        finish(s)


def test_kill9_mid_burst():
    with Server() as s:
        at = s.login()["access_token"]
        vis = s.visitor("Mia")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]
        state = {}

        async def burst():
            v = await WS.connect(s.ws_url(widget=True), vt, max_queue=None)
            frames = await send_burst(v, cid, "m", 800)
            first = {}
            while len(first) < 10:   # some are acknowledged: kill now, the rest are in flight
                f = await v.wait_for(lambda f: f.get("id") in frames, 20)
                assert f["type"] == "ack", f
                first[frames[f["id"]]["client_id"]] = f
            state["rc"] = s.kill9()
            # acks that reached the socket before the kill count too
            rest = {k: f for k, f in frames.items() if f["client_id"] not in first}
            first.update(await collect_acks(v, rest, 10, until_closed=True))
            return frames, first
        frames, acks = run(burst())
        assert state["rc"] == -signal.SIGKILL
        assert len(acks) >= 10
        s.start()
        at = s.login()["access_token"]
        evs = check_stored(s, cid, at, frames, acks)
        stored = {e["client_id"]: e["seq"] for e in evs if e.get("client_id", "").startswith("m-")}
        assert set(acks) <= set(stored)

        async def resend():
            # resending everything completes the burst exactly once
            v = await WS.connect(s.ws_url(widget=True), vt)
            for f in frames.values():
                await v.send(f)
            again = await collect_acks(v, frames)
            for c, a in again.items():
                if c in stored:
                    assert a["duplicate"] is True and a["seq"] == stored[c], (c, a)
                else:
                    assert a["duplicate"] is False, (c, a)
            await v.close()
        run(resend())
        evs = rest_events(s, cid, at)
        assert [e["seq"] for e in evs] == list(range(1, 803))
        assert collections.Counter(e.get("client_id") for e in evs if e.get("client_id", "").startswith("m-")) \
            == collections.Counter("m-%d" % i for i in range(800))
        finish(s)


# ---------------------------------------------------------------- SIGTERM

def test_sigterm_closes_with_1001_and_exits_0():
    import websockets
    with Server() as s:
        agent = s.login()
        at = agent["access_token"]
        vis = s.visitor("Gus")
        vt = vis["visitor_token"]
        cid = s.new_conversation(vt, "hi", "v-0")["id"]

        async def flow():
            v = await WS.connect(s.ws_url(widget=True), vt, max_queue=None)
            a = await WS.connect(s.ws_url(), at, max_queue=None)
            idle = await WS.connect(s.ws_url())   # never authenticated
            ack = await a.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack", ack
            ack = await a.request({"type": "subscribe_inbox", "after": 0})
            assert ack["type"] == "ack", ack
            ack = await v.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            # a subscribed client that will not answer the close frame (the server
            # must still stop cleanly: its subscriptions outlive the actors)
            raw = RawWS(s.port, "/v1/ws")
            assert raw.request({"type": "auth", "token": at}, "a")["type"] == "ack"
            assert raw.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0}, "s")["type"] == "ack"
            assert raw.request({"type": "subscribe_inbox", "after": 0}, "i")["type"] == "ack"
            frames = await send_burst(v, cid, "t", 100)
            acks = await collect_acks(v, frames)
            # a second burst still in flight when the signal arrives
            frames2 = await send_burst(v, cid, "u", 100)
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            codes = {}
            for name, w in (("visitor", v), ("agent", a), ("unauthenticated", idle)):
                try:
                    while True:
                        f = await w.recv(10)
                        if name == "visitor" and f.get("id") in frames2 and f["type"] == "ack":
                            acks[frames2[f["id"]]["client_id"]] = f
                except websockets.ConnectionClosed as e:
                    codes[name] = e.rcvd.code if e.rcvd else None
            assert codes == {"visitor": 1001, "agent": 1001, "unauthenticated": 1001}, codes

            def raw_close_code():
                while True:
                    op, payload = raw.recv()
                    if op == 8:
                        return struct.unpack(">H", payload[:2])[0]
            assert await asyncio.to_thread(raw_close_code) == 1001
            rc = await asyncio.to_thread(s.stop)
            assert rc == 0, (rc, s.stderr_text())
            assert time.monotonic() - t0 < 10
            raw.sock.close()
            return dict(frames, **frames2), acks
        frames, acks = run(flow())
        assert len(acks) >= 100
        s.start()
        at = s.login()["access_token"]
        evs = check_stored(s, cid, at, frames, acks)
        assert len(evs) >= 102
        # the stop is two-phase (stop reading, drain, then close 1001): every
        # send the server took before the signal was answered before the close
        stored = {e["client_id"] for e in evs if e.get("client_id", "").startswith("u-")}
        assert stored <= set(acks), ("stored but never acknowledged", sorted(stored - set(acks))[:5])
        # the server is fully usable again
        st, b, _ = s.request("GET", "/readyz")
        assert st == 200, (st, b)

        async def again():
            v = await WS.connect(s.ws_url(widget=True), vt)
            ack = await v.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["last_seq"] == len(evs), (ack, len(evs))
            await v.close()
        run(again())
        finish(s)


# ---------------------------------------------------------------- restart

def test_restart_keeps_everything():
    with Server() as s:
        rc, out, err = s.cli("tenant", "create", "--name", "Acme", "--slug", "acme")
        assert rc == 0, err
        acme_key = re.search(r"widget key: (\S+)", out).group(1)
        rc, out, err = s.cli("user", "create", "--tenant", "acme", "--email", "boss@acme.example",
                             "--password", "acme-password-1", "--role", "owner", "--name", "Boss")
        assert rc == 0, err
        boss = s.login("boss@acme.example", "acme-password-1")
        admin = s.login()
        at = admin["access_token"]
        vis = s.visitor("Vic")
        vt = vis["visitor_token"]
        cids = [s.new_conversation(vt, "conv %d" % i, "c-%d" % i)["id"] for i in range(3)]
        st, c, _ = s.request("PATCH", "/v1/conversations/" + cids[0], {"status": "resolved"}, token=at)
        assert st == 200
        acme_vis = s.visitor("Ann", widget_key=acme_key)
        acme_cid = s.new_conversation(acme_vis["visitor_token"], "acme hello", "a-0")["id"]

        async def before():
            a = await WS.connect(s.ws_url(), at)
            ack = await a.request({"type": "subscribe_inbox", "after": 0})
            inbox = [f for f in a.pending if f.get("type") == "inbox" and "cursor" in f]
            m = await a.request({"type": "send", "conversation_id": cids[1], "client_id": "a-1", "text": "answer"})
            assert m["type"] == "ack" and m["seq"] == 3, m
            await a.close()
            return ack, inbox
        ack, inbox_before = run(before())
        last = ack["last"]
        assert last == 4 and [f["cursor"] for f in inbox_before] == [1, 2, 3, 4], (ack, inbox_before)
        st, convs_before, _ = s.request("GET", "/v1/conversations?limit=100", token=at)
        assert st == 200 and len(convs_before["data"]) == 3

        assert s.stop() == 0
        s.start()
        assert s.widget_key is not None   # (kept from the first start; not printed again)
        assert not any("demo tenant created" in l for l in s.lines[-3:]), s.lines

        # users log in; tokens issued before the restart still work
        s.login()
        s.login("boss@acme.example", "acme-password-1")
        st, me, _ = s.request("GET", "/v1/auth/me", token=at)
        me = me.get("user", me)   # (the server answers the bare user object)
        assert st == 200 and me["id"] == admin["user"]["id"], (st, me)
        st, me, _ = s.request("GET", "/v1/auth/me", token=boss["access_token"])
        me = me.get("user", me)
        assert st == 200 and me["email"] == "boss@acme.example", (st, me)
        st, b, _ = s.request("POST", "/v1/auth/refresh", {"refresh_token": admin["refresh_token"]})
        assert st == 200 and b["access_token"], (st, b)
        # tenants and widget keys
        rc, out, err = s.cli("tenant", "key", "--tenant", "acme")
        assert rc == 0 and out.strip() == acme_key, (out, err)
        st, b, _ = s.request("POST", "/v1/widget/session", {"widget_key": acme_key, "visitor_token":
                                                             acme_vis["visitor_token"]})
        assert st == 200 and b["visitor"]["id"] == acme_vis["visitor"]["id"], (st, b)
        st, b, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key, "visitor_token": vt})
        assert st == 200 and b["visitor"]["id"] == vis["visitor"]["id"], (st, b)
        # the visitor token from before the restart
        st, mine, _ = s.request("GET", "/v1/widget/conversations", token=vt)
        assert st == 200 and sorted(c["id"] for c in mine["data"]) == sorted(cids), (st, mine)
        # conversations, tenant isolation
        st, convs, _ = s.request("GET", "/v1/conversations?limit=100", token=at)
        assert st == 200 and convs["data"] == convs_before["data"], convs
        st, c, _ = s.request("GET", "/v1/conversations/" + cids[0], token=at)
        assert c["status"] == "resolved" and c["last_seq"] == 3, c
        st, c, _ = s.request("GET", "/v1/conversations/" + acme_cid, token=at)
        assert st == 404, (st, c)
        st, c, _ = s.request("GET", "/v1/conversations/" + acme_cid, token=boss["access_token"])
        assert st == 200 and c["last_message"]["text"] == "acme hello", (st, c)

        async def after():
            v = await WS.connect(s.ws_url(widget=True), vt)   # the old visitor token
            ack = await v.request({"type": "subscribe", "conversation_id": cids[1], "after_seq": 0})
            assert ack["last_seq"] == 3, ack
            evs = [f for f in v.pending if f.get("type") == "event"]
            assert [(e["seq"], e.get("text")) for e in evs] == [(1, None), (2, "conv 1"), (3, "answer")], evs
            a = await WS.connect(s.ws_url(), at)   # the old access token
            ack = await a.request({"type": "subscribe_inbox", "after": 0})
            assert ack["last"] == last and ack["more"] is False, ack
            replay = [f for f in a.pending if f.get("type") == "inbox" and "cursor" in f]
            a.pending = []
            assert [(f["cursor"], f["event"], f["conversation"]["id"]) for f in replay] == \
                [(f["cursor"], f["event"], f["conversation"]["id"]) for f in inbox_before]
            # sequences and cursors continue
            m = await v.request({"type": "send", "conversation_id": cids[1], "client_id": "v-2", "text": "more"})
            assert m["seq"] == 4 and m["duplicate"] is False, m
            d = await v.request({"type": "send", "conversation_id": cids[1], "client_id": "a-1", "text": "dup"})
            assert d["seq"] == 3 and d["duplicate"] is True, d
            new = await asyncio.to_thread(s.new_conversation, vt, "after restart", "n-0")
            f = await a.wait_for(lambda f: f.get("type") == "inbox" and "cursor" in f, 10)
            assert f["cursor"] == last + 1 and f["conversation"]["id"] == new["id"], f
            st, c, _ = await asyncio.to_thread(lambda: s.request("PATCH", "/v1/conversations/" + cids[2],
                                                                 {"status": "pending"}, token=at))
            assert st == 200, (st, c)
            f = await a.wait_for(lambda f: f.get("type") == "inbox" and "cursor" in f, 10)
            assert f["cursor"] == last + 2 and f["event"] == "conversation.updated", f
            await v.close()
            await a.close()
        run(after())

        # and once more, after a kill -9 this time
        s.kill9()
        s.start()
        st, c, _ = s.request("GET", "/v1/conversations/" + cids[1], token=at)
        assert st == 200 and c["last_seq"] == 4, (st, c)

        async def after_kill():
            a = await WS.connect(s.ws_url(), at)
            ack = await a.request({"type": "subscribe_inbox", "after": last})
            assert ack["last"] == last + 2 and len([f for f in a.pending if "cursor" in f]) == 2, ack
            await a.close()
        run(after_kill())
        finish(s)


if __name__ == "__main__":
    main([test_kill9_keeps_every_acknowledged_message, test_kill9_mid_burst,
          test_sigterm_closes_with_1001_and_exits_0, test_restart_keeps_everything])
