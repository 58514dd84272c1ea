"""Webhooks and the durable outbox (docs/webhooks.md), against real
receivers: small HTTP servers on loopback in this process, on random ports,
reached through the allow-list (--outbound-allow 127.0.0.1/32).

- every event is delivered, signed (the verification of docs/webhooks.md),
  with its headers and body;
- per conversation, deliveries leave in order, also while a receiver fails
  first attempts with 500: never two of one conversation at once, the next
  only after the previous succeeded;
- a slow receiver (time-out), an unreachable one and a redirecting one
  (302 is not followed) count as failures, are retried and parked past the
  horizon, and a parked delivery releases the next;
- with the receiver down across a restart, a graceful one and kill -9 with
  deliveries in flight, every entry arrives at least once afterwards;
- a full outbox drops new entries with a counter and one alert row while
  chat goes on;
- forbidden targets (127.0.0.2 when only 127.0.0.1/32 is allowed,
  localhost without an allow-list) receive nothing, not even a connection,
  and the log shows the refusal;
- endpoints: create (the secret shown once), change, deactivate, rotate the
  secret, delete with what was waiting; the delivery log with its filters,
  pages and redelivery; bad input on every route.
"""
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, err, main, ok, wait_until

ALLOW = ("--outbound-allow", "127.0.0.1/32")
ALL_EVENTS = ["conversation.created", "conversation.updated", "conversation.assigned", "conversation.resolved",
              "message.created", "visitor.created", "user.updated", "conversation.transferred",
              "rating.created"]
PW = "a-good-password-1"


# ------------------------------------------------------------------ receivers

def verify(secret, headers, body, now=None, tolerance=300):
    """The receiver's check of docs/webhooks.md: the signature over
    "<timestamp>.<body>" with the endpoint's secret, and a timestamp within
    the replay window."""
    ts = headers["Parley-Timestamp"]
    sig = headers["Parley-Signature"]
    want = "v1=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return False
    return abs((now or time.time()) - int(ts)) <= tolerance


class Receiver:
    """An HTTP receiver on loopback. answer(request) gives the reply: a
    status, or (status, headers), or ("sleep", seconds) to answer 200 that
    much later. Every request is kept (in arrival order) with its headers,
    body, parsed JSON, the time it arrived and the time it was answered."""

    def __init__(self, answer=None, host="127.0.0.1", port=0):
        self.reqs = []
        self.conns = 0
        self.cv = threading.Condition()
        self.answer = answer or (lambda r: 200)
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with outer.cv:
                    outer.conns += 1
                    outer.cv.notify_all()

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                r = {"path": self.path, "headers": dict(self.headers), "body": body, "t": time.monotonic()}
                try:
                    r["json"] = json.loads(body)
                except ValueError:
                    r["json"] = None
                r["id"] = (r["json"] or {}).get("id")
                a = outer.answer(r)
                hdrs = {}
                if isinstance(a, tuple) and a[0] == "sleep":
                    time.sleep(a[1])
                    a = 200
                elif isinstance(a, tuple):
                    a, hdrs = a
                r["status"] = a
                r["done"] = time.monotonic()
                with outer.cv:
                    outer.reqs.append(r)
                    outer.cv.notify_all()
                try:
                    self.send_response(a)
                    for k, v in hdrs.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        class S(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass

        self.srv = S((host, port), H)
        self.port = self.srv.server_address[1]
        self.url = "http://%s:%d/hook" % (host, self.port)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait(self, pred, timeout=30, what="requests"):
        with self.cv:
            if not self.cv.wait_for(lambda: pred(self.reqs), timeout):
                raise AssertionError("receiver: timed out waiting for %s; got %r" %
                                     (what, [(r["id"], r.get("status")) for r in self.reqs][-10:]))
            return list(self.reqs)

    def ok_ids(self):
        with self.cv:
            return {r["id"] for r in self.reqs if 200 <= r["status"] < 300}

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Listener:
    """A TCP listener on host:port (0: any free one) that hands each
    accepted connection to on_conn on its own thread and counts them (for
    targets that must get none, the count is all there is to it)."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.on_conn, args=(c,), daemon=True).start()

    def on_conn(self, c):
        c.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)   # wakes the accept (a close alone does not)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


class Hang(Listener):
    """A receiver that reads each request and never answers: it keeps the
    connections open until closed."""

    def __init__(self, port=0):
        self.ids = []
        self.cv = threading.Condition()
        super().__init__("127.0.0.1", port)

    def on_conn(self, c):
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            while len(body) < n:
                chunk = c.recv(65536)
                if not chunk:
                    return
                body += chunk
            with self.cv:
                self.ids.append(json.loads(body)["id"])
                self.cv.notify_all()
        except OSError:
            pass

    def wait(self, n, timeout=20):
        with self.cv:
            assert self.cv.wait_for(lambda: len(self.ids) >= n, timeout), self.ids
            return list(self.ids)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ helpers

def hook(s, tok, url, events=("message.created",), **extra):
    st, b, _ = s.request("POST", "/v1/webhooks", dict({"url": url, "events": list(events)}, **extra), token=tok)
    return ok(st, b, 201)


def deliveries(s, tok, query=""):
    st, b, _ = s.request("GET", "/v1/webhooks/deliveries" + query, token=tok)
    return ok(st, b)


def send(s, vtok, cid, text, client_id):
    st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid, {"text": text, "client_id": client_id},
                         token=vtok)
    assert st in (200, 201), (st, b)
    return b


def log_rows(s, tok, query="", pred=None, timeout=30, what="log rows"):
    """Waits until the delivery log (first page of 100) has a row matching pred."""
    found = []

    def poll():
        found[:] = [r for r in deliveries(s, tok, "?limit=100" + query)["data"] if pred is None or pred(r)]
        return bool(found)
    wait_until(poll, timeout, what)
    return found


# ------------------------------------------------------------------ tests

def test_signed_deliveries():
    rx = Receiver()
    with Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        h = hook(s, tok, rx.url, ALL_EVENTS, description="CRM")
        secret = h["secret"]
        assert secret.startswith("whsec_") and len(secret) >= 30, h
        assert h["events"] == ALL_EVENTS and h["active"] is True and h["description"] == "CRM", h
        v = s.visitor("Ann")
        c = s.new_conversation(v["visitor_token"], "hello", "c1")
        cid = c["id"]
        me = s.login()
        st, b, _ = s.request("POST", "/v1/conversations/%s/messages" % cid, {"client_id": "a1", "text": "hi Ann"},
                             token=tok)
        assert st == 201, (st, b)
        ok(*s.request("POST", "/v1/conversations/%s/assign" % cid, token=tok)[:2])
        ok(*s.request("PATCH", "/v1/conversations/%s" % cid, {"status": "pending"}, token=tok)[:2])
        ok(*s.request("PATCH", "/v1/conversations/%s" % cid, {"status": "resolved"}, token=tok)[:2])
        send(s, v["visitor_token"], cid, "one more thing", "c2")   # reopens it
        ok(*s.request("PATCH", "/v1/auth/me", {"title": "Boss"}, token=tok)[:2])
        want = ["visitor.created", "conversation.created", "message.created", "message.created",
                "conversation.assigned", "conversation.updated", "conversation.resolved", "message.created",
                "conversation.updated", "user.updated"]
        got = rx.wait(lambda rs: len(rs) >= len(want), what="%d deliveries" % len(want))
        assert sorted(r["json"]["event"] for r in got) == sorted(want), [r["json"]["event"] for r in got]
        now = time.time()
        for r in got:
            hd, body, d = r["headers"], r["body"], r["json"]
            assert verify(secret, hd, body), (hd, body)
            assert not verify("whsec_other", hd, body)
            assert not verify(secret, hd, body + b" "), "a changed body must not verify"
            assert hd["Content-Type"] == "application/json", hd
            assert hd["Parley-Delivery"] == d["id"] and hd["Parley-Event"] == d["event"], (hd, d)
            assert abs(int(hd["Parley-Timestamp"]) - now) < 60, hd
            assert set(d) == {"id", "event", "created_at", "tenant_id", "data"}, d
            assert d["tenant_id"] == me["user"]["tenant_id"], d
            assert d["created_at"].endswith("Z"), d
            if d["event"].startswith(("conversation.", "message.")):
                conv = d["data"]["conversation"]
                assert conv["id"] == cid and isinstance(conv["seq"], int) and conv["seq"] >= 1, d
            if d["event"] == "message.created":
                m = d["data"]["message"]
                assert m["seq"] == d["data"]["conversation"]["seq"] and m["conversation_id"] == cid, d
                assert m["text"] in ("hello", "hi Ann", "one more thing"), m
        # the seqs of one conversation's deliveries are its events' seqs, once each
        # (the visitor's last message reopened it: that message.created and
        # that conversation.updated share seq 7)
        seqs = sorted(r["json"]["data"]["conversation"]["seq"] for r in got if "conversation" in r["json"]["data"])
        assert seqs == [1, 2, 3, 4, 5, 6, 7, 7], seqs
        by_event = {r["json"]["event"]: r["json"] for r in got}
        assert by_event["visitor.created"]["data"]["visitor"]["name"] == "Ann"
        assert by_event["user.updated"]["data"]["user"]["title"] == "Boss"
        assert "pw_hash" not in by_event["user.updated"]["data"]["user"]
        assert by_event["conversation.assigned"]["data"]["conversation"]["assignee"]["id"] == me["user"]["id"]
        assert by_event["conversation.resolved"]["data"]["conversation"]["status"] == "resolved"
        # each delivery id once; the log says ok for each with its status code
        assert len({r["id"] for r in got}) == len(got)
        rows = log_rows(s, tok, "&status=ok", lambda r: True)
        wait_until(lambda: len(deliveries(s, tok, "?status=ok&limit=100")["data"]) == len(want), 10, "ok rows")
        rows = deliveries(s, tok, "?status=ok&limit=100")["data"]
        assert {r["delivery_id"] for r in rows} == {r["id"] for r in got}
        for r in rows:
            assert r["status_code"] == 200 and r["attempt"] == 1 and r["final"] and r["error"] is None, r
            assert r["endpoint_id"] == h["id"] and isinstance(r["latency_ms"], int), r
        assert s.metric("parley_webhook_delivered_total") == len(want)
        assert s.metric("parley_outbox_pending") == 0
    rx.close()


def test_order_per_conversation_under_retries():
    """The receiver fails the first attempt of every delivery with 500:
    each conversation's deliveries still arrive in seq order, one at a
    time, each after the one before it succeeded."""
    seen = {}
    lock = threading.Lock()

    def answer(r):
        with lock:
            seen[r["id"]] = seen.get(r["id"], 0) + 1
            return 500 if seen[r["id"]] == 1 else 200
    rx = Receiver(answer)
    with Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        hook(s, tok, rx.url, ["message.created", "conversation.created"])
        convs = []
        for i in range(2):
            v = s.visitor("V%d" % i)
            c = s.new_conversation(v["visitor_token"], "m0", "v%d-0" % i)
            convs.append(c["id"])
            for j in range(1, 5):
                send(s, v["visitor_token"], c["id"], "m%d" % j, "v%d-%d" % (i, j))
        total = 2 * 6   # per conversation: created, and 5 messages
        got = rx.wait(lambda rs: len({r["id"] for r in rs if r["status"] == 200}) >= total, timeout=60,
                      what="%d deliveries" % total)
        for cid in convs:
            mine = [r for r in got if r["json"]["data"]["conversation"]["id"] == cid]
            seqs = [r["json"]["data"]["conversation"]["seq"] for r in mine]
            assert seqs == sorted(seqs), ("attempts out of order", cid, seqs)
            oks = [r["json"]["data"]["conversation"]["seq"] for r in mine if r["status"] == 200]
            assert oks == list(range(1, 7)), ("successes", cid, oks)
            # one at a time: each request arrived after the previous one was answered
            for a, b in zip(mine, mine[1:]):
                assert b["t"] >= a["done"], ("overlap", cid, a["id"], b["id"])
        rows = deliveries(s, tok, "?status=failed&limit=100")["data"]
        assert len(rows) >= total and all(r["status_code"] == 500 and r["error"] == "HTTP 500" and
                                          not r["final"] and r["next_attempt_at"] for r in rows), rows
    rx.close()


def test_slow_unreachable_redirect_parked():
    """A slow receiver (past --webhook-timeout-ms), an unreachable one and
    a redirecting one: each attempt fails, is retried, and past the horizon
    parked; the redirect's target is never contacted."""
    target = Receiver()
    slow = Receiver(lambda r: ("sleep", 3))
    redirect = Receiver(lambda r: (302, {"Location": target.url}))
    dead = "http://127.0.0.1:%d/hook" % free_port()
    with Server(*ALLOW, "--webhook-timeout-ms", "500", "--outbox-horizon-s", "2") as s:
        tok = s.login()["access_token"]
        ids = {name: hook(s, tok, url)["id"] for name, url in
               (("slow", slow.url), ("dead", dead), ("redirect", redirect.url))}
        v = s.visitor()
        s.new_conversation(v["visitor_token"], "hello", "c1")
        for name, eid in ids.items():
            parked = log_rows(s, tok, "&status=failed&endpoint=" + eid, lambda r: r["final"], timeout=30,
                              what="a parked delivery of the %s endpoint" % name)
            rows = deliveries(s, tok, "?status=failed&limit=100&endpoint=" + eid)["data"]
            assert len(rows) >= 2, (name, rows)   # retried before it was parked
            assert [r["attempt"] for r in rows] == list(range(len(rows), 0, -1)), rows
            assert parked[0]["next_attempt_at"] is None and parked[0]["attempt"] == len(rows), parked
            for r in rows:
                if name == "slow":
                    assert r["status_code"] is None and "Timeout" in r["error"], r
                    assert r["latency_ms"] < 2000, r
                elif name == "dead":
                    assert r["status_code"] is None and "connect" in r["error"].lower(), r
                else:
                    assert r["status_code"] == 302 and r["error"] == "HTTP 302 (redirects are not followed)", r
        assert target.reqs == [] and target.conns == 0, "the redirect was followed"
        assert s.metric("parley_webhook_parked_total") == 3
        assert s.metric("parley_outbox_pending") == 0
        # parked entries left the outbox
        assert deliveries(s, tok, "?status=pending")["data"] == []
    for r in (target, slow, redirect):
        r.close()


def test_parked_releases_next():
    """The first message of a conversation always fails: once parked past
    the horizon, the next one goes (and not before)."""
    first = []

    def answer(r):
        if not first:
            first.append(r["id"])
        return 500 if r["id"] == first[0] else 200
    rx = Receiver(answer)
    with Server(*ALLOW, "--outbox-horizon-s", "2") as s:
        tok = s.login()["access_token"]
        hook(s, tok, rx.url)
        v = s.visitor()
        c = s.new_conversation(v["visitor_token"], "m1", "c1")
        send(s, v["visitor_token"], c["id"], "m2", "c2")
        got = rx.wait(lambda rs: any(r["status"] == 200 for r in rs), timeout=30, what="the second message")
        fails = [r for r in got if r["id"] == first[0]]
        good = [r for r in got if r["status"] == 200]
        assert len(fails) >= 2 and len(good) == 1, got
        assert good[0]["json"]["data"]["message"]["text"] == "m2"
        assert all(f["done"] <= good[0]["t"] for f in fails), "the next went before the first was parked"
        parked = log_rows(s, tok, "&status=failed", lambda r: r["final"])
        assert parked[0]["delivery_id"] == first[0] and parked[0]["error"] == "HTTP 500", parked
        assert log_rows(s, tok, "&status=ok")[0]["delivery_id"] == good[0]["id"]
    rx.close()


def count_entries(s, tok):
    return deliveries(s, tok, "?status=pending&limit=100")


def test_receiver_down_across_restarts():
    """Entries written while the receiver is down survive a graceful
    restart and kill -9 (with a delivery in flight at the kill): afterwards
    every one arrives (at least once; none missing by delivery id)."""
    port = free_port()
    url = "http://127.0.0.1:%d/hook" % port
    with Server(*ALLOW, "--webhook-timeout-ms", "30000") as s:
        tok = s.login()["access_token"]
        hook(s, tok, url, ["message.created", "conversation.created"])
        made = []

        def chat(n, tag):
            for i in range(n):
                v = s.visitor()
                c = s.new_conversation(v["visitor_token"], "%s-%d" % (tag, i), "%s-%d" % (tag, i))
                send(s, v["visitor_token"], c["id"], "more", "%s-%d-b" % (tag, i))
                made.append(c["id"])
        # 1. nobody listens: entries pile up (connection refused, backing off)
        chat(3, "a")
        wait_until(lambda: len(deliveries(s, tok, "?status=failed&limit=100")["data"]) >= 3, 20, "failed attempts")
        s.restart()
        tok = s.login()["access_token"]
        assert count_entries(s, tok)["outbox"]["pending"] == 9   # 3 per conversation
        # 2. a receiver that takes requests and never answers: kill -9 while
        # a delivery is in flight
        hang = Hang(port)
        chat(2, "b")
        in_flight = hang.wait(1)
        before = count_entries(s, tok)   # nothing was answered: everything is pending
        ids = {r["id"] for r in before["data"]}
        assert before["outbox"]["pending"] == 15 and len(ids) == 15, before
        assert set(in_flight) <= ids, (in_flight, ids)
        s.kill9()
        hang.close()
        # 3. a good receiver on the same port; the server comes back
        rx = Receiver(port=port)
        s.start()
        tok = s.login()["access_token"]
        rx.wait(lambda rs: {r["id"] for r in rs} >= ids, timeout=60, what="every pending delivery")
        assert rx.ok_ids() >= ids
        got = [r["json"]["data"]["conversation"]["id"] for r in rx.reqs]
        assert all(got.count(cid) >= 3 for cid in made), "a conversation's deliveries are missing"
        wait_until(lambda: count_entries(s, tok)["outbox"]["pending"] == 0, 10, "an empty outbox")
        rx.close()


def test_quota_drops_but_chat_goes_on():
    with Server(*ALLOW, "--outbox-quota", "3") as s:
        tok = s.login()["access_token"]
        hook(s, tok, "http://127.0.0.1:%d/" % free_port())
        v = s.visitor()
        c = s.new_conversation(v["visitor_token"], "m0", "m0")
        for i in range(1, 7):
            send(s, v["visitor_token"], c["id"], "m%d" % i, "m%d" % i)   # chat is never refused
        st, b, _ = s.request("GET", "/v1/widget/conversations/%s/messages" % c["id"], token=v["visitor_token"])
        assert st == 200 and len([e for e in b["data"] if e["kind"] == "message"]) == 7, b
        assert s.metric("parley_outbox_dropped_total") == 4
        d = deliveries(s, tok, "?status=dropped")
        assert d["outbox"] == {"pending": 3, "dropped": 4}, d["outbox"]
        assert len(d["data"]) == 1, d   # one alert, not one per drop
        a = d["data"][0]
        assert a["status"] == "dropped" and a["final"] and "outbox full" in a["error"], a
        assert a["delivery_id"] is None and a["latency_ms"] is None, a
        err(*s.request("POST", "/v1/webhooks/deliveries/%s/redeliver" % a["id"], token=tok)[:2], 409, "conflict")
        assert "outbox.full" in s.stderr_text()


def test_forbidden_targets_receive_nothing():
    other = Listener("127.0.0.2")
    local = Listener("127.0.0.1")
    # only 127.0.0.1/32 is allowed: 127.0.0.2 is loopback and refused
    with Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        eid = hook(s, tok, "http://127.0.0.2:%d/hook" % other.port)["id"]
        meta = hook(s, tok, "http://169.254.169.254/latest/meta-data/")["id"]
        v = s.visitor()
        s.new_conversation(v["visitor_token"], "hello", "c1")
        for e, addr in ((eid, "127.0.0.2 (loopback)"), (meta, "169.254.169.254 (link-local)")):
            r = log_rows(s, tok, "&endpoint=" + e, timeout=20)[0]
            assert r["status"] == "failed" and r["status_code"] is None, r
            assert r["error"] == "refused by the egress policy: " + addr, r
        assert s.metric("parley_webhook_refused_total") >= 2
    # no allow-list: localhost (whichever address it resolves to) is refused
    with Server() as s:
        tok = s.login()["access_token"]
        eid = hook(s, tok, "http://localhost:%d/hook" % local.port)["id"]
        v = s.visitor()
        s.new_conversation(v["visitor_token"], "hello", "c1")
        r = log_rows(s, tok, "&endpoint=" + eid, timeout=20)[0]
        assert r["error"].startswith("refused by the egress policy: ") and "(loopback)" in r["error"], r
    assert other.conns == [] and local.conns == [], (other.conns, local.conns)
    other.close()
    local.close()


def test_endpoint_lifecycle():
    rx = Receiver()
    with Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        h = hook(s, tok, rx.url, ["message.created"])
        eid = h["id"]
        st, lst, _ = s.request("GET", "/v1/webhooks", token=tok)
        assert st == 200 and [x["id"] for x in lst["data"]] == [eid] and lst["events"] == ALL_EVENTS, lst
        assert "secret" not in lst["data"][0] and lst["data"][0]["secret_hint"] == "…" + h["secret"][-4:], lst
        one = ok(*s.request("GET", "/v1/webhooks/" + eid, token=tok)[:2])
        assert "secret" not in one and one["url"] == rx.url, one
        v = s.visitor()
        c = s.new_conversation(v["visitor_token"], "one", "m1")
        rx.wait(lambda rs: len(rs) == 1)
        wait_until(lambda: count_entries(s, tok)["outbox"]["pending"] == 0, 10, "the delivery's result")
        # inactive: nothing is written for it (a message is answered after
        # its commit: an entry would be there)
        p = ok(*s.request("PATCH", "/v1/webhooks/" + eid, {"active": False}, token=tok)[:2])
        assert p["active"] is False and "secret" not in p, p
        send(s, v["visitor_token"], c["id"], "two", "m2")
        assert count_entries(s, tok)["outbox"]["pending"] == 0
        # a new secret signs what comes after
        r = ok(*s.request("POST", "/v1/webhooks/%s/rotate-secret" % eid, token=tok)[:2])
        assert r["secret"] != h["secret"] and r["secret"].startswith("whsec_"), r
        p = ok(*s.request("PATCH", "/v1/webhooks/" + eid, {"active": True, "description": "on again",
                                                            "events": ["message.created", "user.updated"]},
                          token=tok)[:2])
        assert p["events"] == ["message.created", "user.updated"] and p["description"] == "on again", p
        send(s, v["visitor_token"], c["id"], "three", "m3")
        got = rx.wait(lambda rs: len(rs) == 2)
        assert got[1]["json"]["data"]["message"]["text"] == "three"
        assert verify(r["secret"], got[1]["headers"], got[1]["body"])
        assert not verify(h["secret"], got[1]["headers"], got[1]["body"])
        # redeliver a logged delivery: a new id, the same event, redelivery_of
        row = log_rows(s, tok, "&status=ok", lambda x: x["delivery_id"] == got[1]["id"])[0]
        st, b, _ = s.request("POST", "/v1/webhooks/deliveries/%s/redeliver" % row["id"], token=tok)
        assert st == 202 and b["status"] == "pending" and b["delivery_id"] != got[1]["id"], (st, b)
        again = rx.wait(lambda rs: len(rs) == 3)[2]
        assert again["json"]["id"] == b["delivery_id"] == again["headers"]["Parley-Delivery"], again
        assert again["json"]["redelivery_of"] == got[1]["id"], again["json"]
        assert again["json"]["data"] == got[1]["json"]["data"]
        assert verify(r["secret"], again["headers"], again["body"])
        # deleting an endpoint takes what waited for it
        dead = hook(s, tok, "http://127.0.0.1:%d/" % free_port())["id"]
        send(s, v["visitor_token"], c["id"], "four", "m4")
        wait_until(lambda: len(rx.reqs) == 4 and count_entries(s, tok)["outbox"]["pending"] == 1, 20,
                   "the fourth message, delivered to one endpoint, waiting for the other")
        ok(*s.request("DELETE", "/v1/webhooks/" + dead, token=tok)[:2], 204)
        assert count_entries(s, tok)["outbox"]["pending"] == 0
        err(*s.request("GET", "/v1/webhooks/" + dead, token=tok)[:2], 404, "not_found")
        err(*s.request("DELETE", "/v1/webhooks/" + dead, token=tok)[:2], 404, "not_found")
        # the endpoint survives a restart, with its new secret
        s.restart()
        tok = s.login()["access_token"]
        send(s, v["visitor_token"], c["id"], "five", "m5")
        five = rx.wait(lambda rs: len(rs) == 5)[4]
        assert verify(r["secret"], five["headers"], five["body"])
    rx.close()


def test_log_filters_and_pages():
    rx = Receiver(lambda r: 200 if r["json"]["event"] != "visitor.created" else 410)
    with Server(*ALLOW, "--outbox-horizon-s", "1") as s:
        tok = s.login()["access_token"]
        a = hook(s, tok, rx.url, ["message.created", "visitor.created"])["id"]
        b = hook(s, tok, rx.url, ["conversation.created"])["id"]
        v = s.visitor()
        c = s.new_conversation(v["visitor_token"], "m0", "m0")
        for i in range(1, 5):
            send(s, v["visitor_token"], c["id"], "m%d" % i, "m%d" % i)
        wait_until(lambda: len(deliveries(s, tok, "?status=ok&limit=100")["data"]) == 6, 20, "six deliveries")
        log_rows(s, tok, "&status=failed", lambda r: r["final"])
        every = deliveries(s, tok, "?limit=100")["data"]
        assert [r["id"] for r in every] == sorted((r["id"] for r in every), key=int, reverse=True)
        assert len(deliveries(s, tok, "?endpoint=%s&status=ok" % b)["data"]) == 1
        assert {r["event"] for r in deliveries(s, tok, "?endpoint=" + a)["data"]} == {"message.created",
                                                                                    "visitor.created"}
        ev = deliveries(s, tok, "?event=visitor.created")["data"]
        assert ev and all(r["status"] == "failed" and r["status_code"] == 410 for r in ev), ev
        assert deliveries(s, tok, "?event=user.updated")["data"] == []
        # pages of two, newest first, with nothing lost or repeated
        seen, cursor = [], ""
        while True:
            page = deliveries(s, tok, "?status=ok&limit=2" + cursor)
            seen += [r["id"] for r in page["data"]]
            assert len(page["data"]) <= 2
            if not page["next_cursor"]:
                break
            cursor = "&cursor=" + page["next_cursor"]
        assert seen == [r["id"] for r in deliveries(s, tok, "?status=ok&limit=100")["data"]]
        # since: a time after everything finds nothing; epoch ms and ISO both parse
        assert deliveries(s, tok, "?since=2999-01-01T00:00:00Z")["data"] == []
        assert len(deliveries(s, tok, "?since=0&limit=100")["data"]) == len(every)
        assert len(deliveries(s, tok, "?since=2000-01-01T00:00:00.5Z&limit=100")["data"]) == len(every)
    rx.close()


def test_bad_input():
    with Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        eid = hook(s, tok, "https://hooks.example.com/x")["id"]
        E = "/v1/webhooks"
        bad_bodies = [
            ({"url": "ftp://x.example/", "events": ["message.created"]}, "url"),
            ({"url": "https://user:pw@x.example/", "events": ["message.created"]}, "url"),
            ({"url": "https://x.example@y.example/", "events": ["message.created"]}, "url"),
            ({"url": "https:///path", "events": ["message.created"]}, "url"),
            ({"url": "https://x.example/a b", "events": ["message.created"]}, "url"),
            ({"url": "https://x.example/#frag", "events": ["message.created"]}, "url"),
            ({"url": "https://x.example:0/", "events": ["message.created"]}, "url"),
            ({"url": "https://x.example:70000/", "events": ["message.created"]}, "url"),
            ({"url": "https://[zz::1]/", "events": ["message.created"]}, "url"),
            ({"url": "javascript:alert(1)", "events": ["message.created"]}, "url"),
            ({"url": "https://x.example/" + "a" * 2040, "events": ["message.created"]}, "url"),
            ({"url": 5, "events": ["message.created"]}, "url"),
            ({"events": ["message.created"]}, "url"),
            ({"url": "https://x.example/"}, "events"),
            ({"url": "https://x.example/", "events": []}, "events"),
            ({"url": "https://x.example/", "events": "message.created"}, "events"),
            ({"url": "https://x.example/", "events": ["message.deleted"]}, "events"),
            ({"url": "https://x.example/", "events": [1]}, "events"),
            ({"url": "https://x.example/", "events": ["message.created"], "active": "yes"}, "active"),
            ({"url": "https://x.example/", "events": ["message.created"], "description": "d" * 129}, "description"),
            ({"url": "https://x.example/", "events": ["message.created"], "secret": "mine"}, "secret"),
        ]
        for body, field in bad_bodies:
            err(*s.request("POST", E, body, token=tok)[:2], 400, "invalid_field", field)
        # a change is checked the same way, field by field
        for body, field in bad_bodies:
            if field in body:
                err(*s.request("PATCH", E + "/" + eid, {field: body[field]}, token=tok)[:2], 400, "invalid_field",
                    field)
        # not JSON, not an object, too large
        for raw in (b"{", b"[]", b"null"):
            st, b, _ = s.request("POST", E, raw_body=raw, token=tok, headers={"Content-Type": "application/json"})
            assert st == 400, (raw, st, b)
        out = s.raw(("POST /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{" % tok).encode())
        assert out.startswith(b"HTTP/1.1 413 "), out[:200]
        # the URL limit is 2,048 bytes: 2,048 is fine
        url = "https://x.example/" + "a" * (2048 - len("https://x.example/"))
        hook(s, tok, url)
        # unknown and malformed ids; bodies on the actions
        for method, path in (("GET", E + "/1"), ("PATCH", E + "/1"), ("DELETE", E + "/1"),
                             ("POST", E + "/1/rotate-secret"), ("POST", E + "/deliveries/1/redeliver"),
                             ("GET", E + "/abc"), ("DELETE", E + "/-1")):
            err(*s.request(method, path, {} if method == "PATCH" else None, token=tok)[:2], 404, "not_found")
        err(*s.request("POST", E + "/%s/rotate-secret" % eid, {"x": 1}, token=tok)[:2], 400, "invalid_field", "x")
        # another tenant's endpoint and deliveries are not found
        s.new_tenant("other", "Other")
        s.new_user("other", "owner@other.test", PW, role="owner")
        otok = s.login("owner@other.test", PW, tenant="other")["access_token"]
        for method, path in (("GET", E + "/" + eid), ("PATCH", E + "/" + eid), ("DELETE", E + "/" + eid),
                             ("POST", E + "/%s/rotate-secret" % eid)):
            err(*s.request(method, path, {} if method == "PATCH" else None, token=otok)[:2], 404, "not_found")
        assert ok(*s.request("GET", E, token=otok)[:2])["data"] == []
        v = s.visitor()
        s.new_conversation(v["visitor_token"], "hello", "c1")
        row = log_rows(s, tok, "", timeout=20)[0]
        err(*s.request("POST", E + "/deliveries/%s/redeliver" % row["id"], token=otok)[:2], 404, "not_found")
        assert deliveries(s, otok)["data"] == []
        # the delivery log's parameters
        for q, field in (("status=done", "status"), ("event=message", "event"), ("since=yesterday", "since"),
                         ("since=2026-13-01T00:00:00Z", "since"), ("limit=0", "limit"), ("limit=101", "limit"),
                         ("cursor=x", "cursor"), ("endpoint=abc", "endpoint")):
            err(*s.request("GET", E + "/deliveries?" + q, token=tok)[:2], 400, "invalid_field", field)
        # a pending delivery is not redelivered by hand
        pend = count_entries(s, tok)["data"]
        if pend:
            err(*s.request("POST", E + "/deliveries/%s/redeliver" % pend[0]["id"], token=tok)[:2], 409, "conflict")
        # at most 20 endpoints
        for i in range(18):
            hook(s, tok, "https://x%d.example/" % i)
        err(*s.request("POST", E, {"url": "https://y.example/", "events": ["message.created"]}, token=tok)[:2],
            409, "limit_reached")
        # agents and supervisors may not touch any of it (the matrix checks every route)
        s.new_user("demo", "sup@demo.parley", PW, role="supervisor")
        stok = s.login("sup@demo.parley", PW)["access_token"]
        err(*s.request("GET", E, token=stok)[:2], 403, "forbidden")


if __name__ == "__main__":
    main([test_signed_deliveries, test_order_per_conversation_under_retries, test_slow_unreachable_redirect_parked,
          test_parked_releases_next, test_receiver_down_across_restarts, test_quota_drops_but_chat_goes_on,
          test_forbidden_targets_receive_nothing, test_endpoint_lifecycle, test_log_filters_and_pages,
          test_bad_input])
