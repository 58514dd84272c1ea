"""The support desk's routing against the real server: presence, capacity,
the department queues, offline mode and its batched email, the start-up
rebuild, business hours across a DST change (actors/desk/, kit/desk.h).

Every wait is bounded and polls something the server answers (a
conversation's assignee, the queue, presence) or a frame it sends; the
clock is moved with --test-clock (PUT /v1/ops/clock), never slept for.
"""
import asyncio
import json
import time

from harness import WS, Server, err, main, ok, run, wait_until
from smtpsink import Sink

PASSWORD = "routing-password-1"


class Desk:
    """A server's demo tenant with its owner and helpers."""

    def __init__(self, s):
        self.s = s
        o = s.login()
        self.tok = o["access_token"]
        self.owner = o["user"]["id"]
        self.n = 0
        self.emails = {}
        st, b, _ = s.request("GET", "/v1/departments", token=self.tok)
        self.depts = ok(st, b)["data"] if isinstance(b, dict) and "data" in b else ok(st, b)
        self.default = [d for d in self.depts if d["is_default"]][0]["id"]

    def uniq(self, p="x"):
        self.n += 1
        return "%s%d" % (p, self.n)

    def agent(self, role="agent", max_chats=None):
        """A new user of the demo tenant: (id, access token)."""
        email = "%s@routing.test" % self.uniq("a")
        uid = self.s.new_user("demo", email, PASSWORD, role=role, name=email.split("@")[0])
        self.emails[uid] = email
        if max_chats is not None:
            ok(*self.s.request("PUT", "/v1/agents/%s/capacity" % uid, {"max_chats": max_chats}, token=self.tok)[:2])
        return uid, self.s.login(email, PASSWORD)["access_token"]

    def relogin(self, uid):
        """A fresh access token of user uid (after the clock moved)."""
        return self.s.login(self.emails[uid], PASSWORD)["access_token"]

    def members(self, did, uids):
        ok(*self.s.request("PUT", "/v1/departments/%s/members" % did, {"agent_ids": list(uids)}, token=self.tok)[:2])

    def dept(self, **kw):
        body = dict(name=self.uniq("Dept "), slug=self.uniq("dept-"))
        body.update(kw)
        st, b, _ = self.s.request("POST", "/v1/departments", body, token=self.tok)
        return ok(st, b, 201)["id"]

    def visit(self, text="hello", dept=None):
        v = self.s.visitor(self.uniq("Visitor "))
        body = {"text": text, "client_id": self.uniq("c")}
        if dept:
            body["department_id"] = dept
        st, b, _ = self.s.request("POST", "/v1/widget/conversations", body, token=v["visitor_token"])
        return ok(st, b, 201)["id"], v["visitor_token"]

    def conv(self, cid):
        return ok(*self.s.request("GET", "/v1/conversations/%s" % cid, token=self.tok)[:2])

    def assignee(self, cid):
        a = self.conv(cid)["assignee"]
        return a["id"] if a else None

    def presence(self, uid):
        st, b, _ = self.s.request("GET", "/v1/presence", token=self.tok)
        for d in ok(st, b)["departments"]:
            for m in d["members"]:
                if m["user_id"] == uid:
                    return m
        return None

    def queue(self, did):
        st, b, _ = self.s.request("GET", "/v1/queue?department_id=%s" % did, token=self.tok)
        return ok(st, b)["departments"][0]

    def wait_assigned(self, cid, uid, timeout=10):
        wait_until(lambda: self.assignee(cid) == uid, timeout, "conversation %s assigned to %s" % (cid, uid))

    def heartbeat(self, tok):
        return ok(*self.s.request("POST", "/v1/presence/heartbeat", token=tok)[:2])

    def set_presence(self, tok, state):
        return ok(*self.s.request("PUT", "/v1/presence", {"state": state}, token=tok)[:2])

    def resolve(self, cid, tok=None):
        ok(*self.s.request("PATCH", "/v1/conversations/%s" % cid, {"status": "resolved"}, token=tok or self.tok)[:2])


def test_route_wait_capacity_away():
    """Routing to an online agent; waiting when none; capacity freeing
    routes the next at once; away stops routing; back online routes."""
    with Server() as s:
        d = Desk(s)
        a1, t1 = d.agent(max_chats=1)
        d.members(d.default, [a1])
        # nobody online: the conversation waits, offline
        c1, _ = d.visit()
        wait_until(lambda: [w["conversation_id"] for w in d.queue(d.default)["waiting"]] == [c1], 5, "c1 waits")
        wait_until(lambda: d.queue(d.default)["waiting"][0]["offline"], 5, "the offline flag")
        assert d.assignee(c1) is None
        # online by heartbeat: routed
        hb = d.heartbeat(t1)
        assert hb["state"] == "online" and hb["capacity"] == 1, hb
        d.wait_assigned(c1, a1)
        assert d.conv(c1)["status"] == "open", d.conv(c1)
        wait_until(lambda: d.presence(a1)["load"] == 1, 5, "load 1")
        # at capacity: the next waits
        c2, _ = d.visit()
        wait_until(lambda: [w["conversation_id"] for w in d.queue(d.default)["waiting"]] == [c2], 5, "c2 waits")
        assert d.assignee(c2) is None
        # resolving the first frees capacity: c2 is routed at once
        d.resolve(c1, t1)
        d.wait_assigned(c2, a1)
        wait_until(lambda: d.queue(d.default)["count"] == 0, 5, "the queue empty")
        # away: nothing routed; capacity raised while away changes nothing
        assert d.set_presence(t1, "away")["state"] == "away"
        ok(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {"max_chats": 3}, token=d.tok)[:2])
        c3, _ = d.visit()
        wait_until(lambda: d.queue(d.default)["count"] == 1, 5, "c3 waits")
        assert d.assignee(c3) is None and d.presence(a1)["state"] == "away"
        # back online: routed
        assert d.set_presence(t1, "online")["state"] == "online"
        d.wait_assigned(c3, a1)
        # the stored presence changes: offline → online → away → online
        assert d.presence(a1)["capacity"] == 3


def test_disconnect_keeps_chats():
    """An agent whose only socket closes goes offline; their open
    conversations stay assigned; nothing new is offered to them."""
    with Server() as s:
        d = Desk(s)
        a1, t1 = d.agent()
        sup, stok = d.agent(role="supervisor")
        d.members(d.default, [a1])

        async def go():
            watch = await WS.connect(s.ws_url(), stok)
            ack = await watch.request({"type": "subscribe_inbox", "after": 0})
            assert ack["type"] == "ack", ack
            c = await WS.connect(s.ws_url(), t1)
            f = await watch.wait_for(lambda f: f["type"] == "presence" and f["user_id"] == a1 and
                                     f["state"] == "online")
            assert f["at"], f
            c1, _ = d.visit()
            await asyncio.get_running_loop().run_in_executor(None, d.wait_assigned, c1, a1)
            # the agent's own session hears its presence too
            r = await c.request({"type": "presence.set", "state": "away"})
            assert r["type"] == "ack" and r["state"] == "away", r
            r = await c.request({"type": "presence.set", "state": "busy"})
            assert r["type"] == "error" and r["error"]["code"] == "invalid_field", r
            r = await c.request({"type": "presence.set", "state": "online"})
            assert r["state"] == "online", r
            await c.close()
            await watch.wait_for(lambda f: f["type"] == "presence" and f["user_id"] == a1 and f["state"] == "offline")
            await watch.close()
            return c1

        c1 = run(go())
        assert d.presence(a1)["state"] == "offline"
        assert d.assignee(c1) == a1 and d.conv(c1)["status"] == "open"
        c2, _ = d.visit()
        wait_until(lambda: d.queue(d.default)["count"] == 1, 5, "c2 waits")
        assert d.assignee(c2) is None


def test_pick_up_and_capacity_raised():
    """Picking a waiting conversation up (the assignment to oneself) takes
    it out of the queue and counts in the load; raising the capacity
    routes the next waiting one at once."""
    with Server() as s:
        d = Desk(s)
        a1, t1 = d.agent(max_chats=1)
        d.members(d.default, [a1])
        c1, _ = d.visit()
        c2, _ = d.visit()
        wait_until(lambda: d.queue(d.default)["count"] == 2, 5, "two wait")
        # picked up by hand (nobody online yet): out of the queue
        b = ok(*s.request("POST", "/v1/conversations/%s/assign" % c1, token=t1)[:2])
        assert b["assignee"]["id"] == a1 and b["status"] == "open", b
        wait_until(lambda: [w["conversation_id"] for w in d.queue(d.default)["waiting"]] == [c2], 5, "c1 left")
        # online at capacity 1 with c1: c2 waits
        d.heartbeat(t1)
        wait_until(lambda: d.presence(a1)["load"] == 1 and d.presence(a1)["state"] == "online", 5, "load 1")
        assert d.assignee(c2) is None
        # capacity raised: routed at once
        ok(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {"max_chats": 2}, token=d.tok)[:2])
        d.wait_assigned(c2, a1)
        wait_until(lambda: d.presence(a1)["load"] == 2, 5, "load 2")


def test_least_busy():
    """least_busy offers to the member with the fewest open conversations."""
    with Server() as s:
        d = Desk(s)
        (a, ta), (b, tb), (c, tc) = [d.agent(max_chats=5) for _ in range(3)]
        did = d.dept(routing="least_busy")
        d.members(did, [a, b, c])
        d.heartbeat(ta)
        first = [d.visit(dept=did)[0] for _ in range(2)]
        for cid in first:
            d.wait_assigned(cid, a)
        d.heartbeat(tb)
        d.heartbeat(tc)
        wait_until(lambda: d.presence(b)["state"] == "online" and d.presence(c)["state"] == "online", 5, "online")
        later = []
        for _ in range(4):
            later.append(d.visit(dept=did)[0])
            wait_until(lambda: d.assignee(later[-1]) is not None, 10, "routed")
        got = [d.assignee(x) for x in later]
        assert got.count(a) == 0 and got.count(b) == 2 and got.count(c) == 2, (got, a, b, c)


def test_burst_round_robin_and_restart():
    """500 visitors within a second for 5 agents of capacity 3: exactly 15
    assigned, none over 3, none twice, round robin within one; after a
    restart the queue and the loads are rebuilt: nothing re-assigned,
    nobody over capacity, a freed place routes exactly one."""
    with Server("--io-threads", "2") as s:
        d = Desk(s)
        agents = [d.agent(max_chats=3) for _ in range(5)]
        ids = [a for a, _ in agents]
        d.members(d.default, ids)
        for _, t in agents:
            assert d.heartbeat(t)["state"] == "online"
        wait_until(lambda: all(d.presence(a)["state"] == "online" for a in ids), 5, "all online")
        key = s.widget_key

        async def burst():
            loop = asyncio.get_running_loop()

            def one(i):
                return d.s.request("POST", "/v1/widget/session", {"widget_key": key, "name": "B%d" % i})

            sess = await asyncio.gather(*[loop.run_in_executor(None, one, i) for i in range(500)])
            toks = [ok(st, b, 201)["visitor_token"] for st, b, _ in sess]

            def conv(i):
                return d.s.request("POST", "/v1/widget/conversations", {"text": "hi", "client_id": "b%d" % i},
                                   token=toks[i])

            t0 = time.monotonic()
            res = await asyncio.gather(*[loop.run_in_executor(None, conv, i) for i in range(500)])
            return [ok(st, b, 201)["id"] for st, b, _ in res], time.monotonic() - t0

        cids, took = run(burst())
        assert len(set(cids)) == 500
        print("    500 conversations created in %.2fs" % took)

        def assigned():
            out = {}
            cursor = None
            while True:
                path = "/v1/conversations?limit=100" + ("&cursor=%s" % cursor if cursor else "")
                b = ok(*s.request("GET", path, token=d.tok)[:2])
                for c in b["data"]:
                    if c["assignee"]:
                        out[c["id"]] = c["assignee"]["id"]
                cursor = b.get("next_cursor")
                if not cursor:
                    return out

        wait_until(lambda: len(assigned()) == 15 and d.queue(d.default)["count"] == 485, 30, "15 assigned")
        got = assigned()
        counts = {a: list(got.values()).count(a) for a in ids}
        assert all(n == 3 for n in counts.values()), counts
        # no conversation assigned twice: one assignment event each
        for cid in got:
            evs = ok(*s.request("GET", "/v1/conversations/%s/messages?limit=100" % cid, token=d.tok)[:2])["data"]
            assert sum(1 for e in evs if e["kind"] == "assigned") == 1, (cid, evs)
        for a in ids:
            p = d.presence(a)
            assert p["load"] == 3 and p["capacity"] == 3, p
        # restart: the queue and the loads come back from the stores
        s.restart()
        emails = d.emails
        d = Desk(s)
        d.emails = emails
        wait_until(lambda: d.queue(d.default)["count"] == 485, 10, "the queue rebuilt")
        toks = [d.relogin(a) for a in ids]
        for t in toks:
            d.heartbeat(t)
        wait_until(lambda: all(d.presence(a)["state"] == "online" for a in ids), 5, "all online again")
        for a in ids:
            assert d.presence(a)["load"] == 3, d.presence(a)
        # nothing more is routed (everyone is full)...
        assert len(assigned()) == 15 and d.queue(d.default)["count"] == 485
        # ...until one place frees: exactly one more
        first = sorted(got)[0]
        d.resolve(first)
        wait_until(lambda: d.queue(d.default)["count"] == 484, 10, "one more routed")
        after = assigned()
        assert len(after) == 16 and after[first] == got[first], len(after)
        new = [c for c in after if c not in got]
        assert len(new) == 1 and after[new[0]] == got[first], (new, got[first])


def test_offline_email_batched():
    """With nobody online, new conversations are offline; one email per
    department per window lists them all (a real SMTP server)."""
    with Sink() as sink, Server("--outbound-allow", "127.0.0.1/32", "--offline-email-window-ms", "1500") as s:
        d = Desk(s)
        ok(*s.request("PATCH", "/v1/email/settings", {"host": "127.0.0.1", "port": sink.port, "security": "none",
                                                      "username": "", "password": "", "from": "desk@acme.example",
                                                      "notify_address": ""}, token=d.tok)[:2])
        ok(*s.request("PATCH", "/v1/departments/%s" % d.default, {"notify_email": "sales@acme.example"},
                      token=d.tok)[:2])
        a1, t1 = d.agent()
        d.members(d.default, [a1])

        async def go():
            cids = []
            for i in range(3):
                cid, vt = d.visit("offline question %d" % i)
                cids.append(cid)
            # the visitor leaves an address on the offline form (the
            # session route with their token)
            v = await WS.connect(s.ws_url(widget=True), vt)
            ack = await v.request({"type": "subscribe", "conversation_id": cids[-1], "after_seq": 0})
            assert ack["type"] == "ack", ack
            f = await v.wait_for(lambda f: f["type"] == "queue_position" and f["offline"])
            assert f["position"] >= 1 and f["estimated_wait_s"] >= 0, f
            st, b, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key, "visitor_token": vt,
                                                               "email": "visitor@example.org"})
            assert st in (200, 201), (st, b)
            msgs = await asyncio.get_running_loop().run_in_executor(None, sink.wait, 1, 15)
            # an agent comes online: the queue is offered, the visitor is
            # told an agent is available (or sees the assignment)
            d.heartbeat(t1)
            f = await v.wait_for(lambda f: (f["type"] == "queue_position" and not f["offline"]) or
                                 (f["type"] == "event" and f["kind"] == "assigned"))
            await v.close()
            return cids, msgs

        cids, msgs = run(go())
        assert len(msgs) == 1, len(msgs)
        m = msgs[0]
        assert m.rcpt_tos == ["sales@acme.example"], m.rcpt_tos
        text = m.text()
        assert "3 conversations" in text and "visitor@example.org" in text, text
        for cid in cids:
            assert cid in text, (cid, text)
        # no second email: the window's conversations were in the first
        try:
            sink.wait(2, timeout=3)
            assert False, "a second email"
        except AssertionError as e:
            assert "second" not in str(e), e


def test_hours_across_dst():
    """Business hours 09:00-17:00 Europe/Berlin on Monday and Sunday,
    across the March DST change (clock moved, never slept for): out of
    hours a new conversation is offline even with an agent online and
    waits; in hours after the change it is routed."""
    with Server("--test-clock") as s:
        def at(iso):
            """Moves the clock; fresh tokens for the new time."""
            ok(*s.request("PUT", "/v1/ops/clock", {"now": iso}, token=s.login()["access_token"])[:2])
            d.tok = s.login()["access_token"]
            return d.relogin(a1)

        d = Desk(s)
        a1, t1 = d.agent()
        hours = [{"day": "sun", "open": "09:00", "close": "17:00"}, {"day": "mon", "open": "09:00", "close": "17:00"}]
        did = d.dept(timezone="Europe/Berlin", hours=hours, routing="round_robin")
        d.members(did, [a1])
        # Sunday 2027-03-28 01:30 UTC = 02:30 CET... (the clocks skip 02:00→03:00): closed
        t1 = at("2027-03-28T01:30:00Z")
        d.heartbeat(t1)
        c1, _ = d.visit(dept=did)
        wait_until(lambda: d.queue(did)["count"] == 1 and d.queue(did)["waiting"][0]["offline"], 5, "offline")
        assert d.assignee(c1) is None
        # 07:30 UTC = 09:30 CEST (after the change; 08:30 in winter time): open
        t1 = at("2027-03-28T07:30:00Z")
        d.heartbeat(t1)
        d.wait_assigned(c1, a1, timeout=15)
        # 07:30 UTC the day before (Saturday): no hours
        t1 = at("2027-03-27T07:30:00Z")
        d.heartbeat(t1)
        c2, _ = d.visit(dept=did)
        wait_until(lambda: d.queue(did)["count"] == 1 and d.queue(did)["waiting"][0]["offline"], 5, "offline Sat")
        # Monday 2027-03-29 07:05 UTC = 09:05 CEST: open; 06:55 UTC = 08:55: closed
        t1 = at("2027-03-29T06:55:00Z")
        d.heartbeat(t1)
        c3, _ = d.visit(dept=did)
        wait_until(lambda: d.queue(did)["count"] == 2, 5, "c3 waits before 09:00 CEST")
        assert d.assignee(c3) is None
        t1 = at("2027-03-29T07:05:00Z")
        d.heartbeat(t1)
        wait_until(lambda: d.queue(did)["count"] == 0, 15, "routed at 09:05 CEST")
        assert d.assignee(c2) == a1 and d.assignee(c3) == a1
        # a heartbeat keeps an agent without a socket online for two minutes
        assert d.presence(a1)["state"] == "online"
        t1 = at("2027-03-29T07:07:10Z")
        wait_until(lambda: d.presence(a1)["state"] == "offline", 5, "the heartbeat to run out")


def test_round_robin_fair():
    """While every agent has capacity, round robin's counts differ by at
    most one."""
    with Server() as s:
        d = Desk(s)
        agents = [d.agent(max_chats=10) for _ in range(4)]
        ids = [a for a, _ in agents]
        d.members(d.default, ids)
        for _, t in agents:
            d.heartbeat(t)
        wait_until(lambda: all(d.presence(a)["state"] == "online" for a in ids), 5, "all online")
        cids = [d.visit()[0] for _ in range(22)]
        wait_until(lambda: all(d.assignee(c) for c in cids), 10, "all routed")
        got = [d.assignee(c) for c in cids]
        counts = sorted(got.count(a) for a in ids)
        assert counts[-1] - counts[0] <= 1 and sum(counts) == 22, counts


def test_bad_input():
    with Server() as s:
        d = Desk(s)
        a1, t1 = d.agent()
        for v in (-1, 101, 1000000, 2.5, "3", None, True):
            err(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {"max_chats": v}, token=d.tok)[:2], 400,
                "invalid_capacity", "max_chats")
        err(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {}, token=d.tok)[:2], 400, "invalid_capacity")
        err(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {"max_chats": 1, "x": 1}, token=d.tok)[:2], 400,
            "invalid_field", "x")
        err(*s.request("PUT", "/v1/agents/123456/capacity", {"max_chats": 1}, token=d.tok)[:2], 404, "not_found")
        err(*s.request("PUT", "/v1/agents/abc/capacity", {"max_chats": 1}, token=d.tok)[:2], 404, "not_found")
        # another tenant's agent and department
        s.new_tenant("other2", "Other")
        oid = s.new_user("other2", "o@other.test", PASSWORD, role="owner")
        otok = s.login("o@other.test", PASSWORD, tenant="other2")["access_token"]
        err(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {"max_chats": 1}, token=otok)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/queue?department_id=%s" % d.default, token=otok)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/queue?department_id=999", token=d.tok)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/queue?department_id=x1", token=d.tok)[:2], 400, "invalid_field", "department_id")
        err(*s.request("GET", "/v1/queue?department_id=", token=d.tok)[:2], 400, "invalid_field", "department_id")
        # an agent sees the queues of their departments only
        assert ok(*s.request("GET", "/v1/queue", token=t1)[:2])["departments"] == []
        err(*s.request("GET", "/v1/queue?department_id=%s" % d.default, token=t1)[:2], 403, "not_a_member")
        d.members(d.default, [a1])
        b = ok(*s.request("GET", "/v1/queue", token=t1)[:2])
        assert [q["department_id"] for q in b["departments"]] == [d.default], b
        # presence: states other than online/away, bad bodies
        for body in ({"state": "offline"}, {"state": ""}, {"state": 1}, {}, {"state": "online", "x": 1}):
            st, b, _ = s.request("PUT", "/v1/presence", body, token=t1)
            assert st == 400 and b["error"]["code"] == "invalid_field", (body, st, b)
        # a capacity change is in the audit log (who, what, from where)
        ok(*s.request("PUT", "/v1/agents/%s/capacity" % a1, {"max_chats": 7}, token=d.tok)[:2])
        rows = ok(*s.request("GET", "/v1/audit?action=user.capacity&record_id=%s" % a1, token=d.tok)[:2])["data"]
        assert rows and rows[0]["details"]["to"] == 7 and rows[0]["actor"]["id"] == d.owner, rows
        assert rows[0]["addr"] == "127.0.0.1", rows[0]
        # the test clock is off without --test-clock
        err(*s.request("PUT", "/v1/ops/clock", {"now": "2030-01-01T00:00:00Z"}, token=d.tok)[:2], 404, "not_found")
        assert oid


if __name__ == "__main__":
    main([test_bad_input, test_route_wait_capacity_away, test_disconnect_keeps_chats, test_offline_email_batched,
          test_hours_across_dst, test_round_robin_fair, test_least_busy, test_pick_up_and_capacity_raised, test_burst_round_robin_and_restart])
