"""The conversation lifecycle against the real server: statuses (waiting is
the server's, snooze needs a future time), reopening when the visitor
writes again, priority, the first-response and resolution times; snooze
ends and auto-closes across restarts (the clock moved with
--clock-offset-ms, never slept on); transfers to agents and departments
(live to the previous agent, the visitor's system message, the history,
the audit log, the webhook); and every bad input with its error."""
import time

from harness import Server, WS, err, ok, run, main, wait_until

PAST = "2020-01-01T00:00:00Z"


def future(s=3600):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + s))


def call(s, method, path, body=None, token=None):
    st, b, _ = s.request(method, path, body, token=token)
    return st, b


def patch(s, tok, cid, body):
    return call(s, "PATCH", "/v1/conversations/" + cid, body, tok)


def test_new_conversation_waits():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Wai")["visitor_token"]
        c = s.new_conversation(vis, "hi", "w-1")
        assert c["status"] == "waiting" and c["assignee"] is None, c
        assert c["waiting_since"] and c["first_response_s"] is None and c["resolution_s"] is None, c
        for k in ["department_id", "offline", "assigned_at", "snooze_until", "closed_at", "reopened_at"]:
            assert k in c, (k, c)
        # picked up: open, no longer waiting
        b = ok(*call(s, "POST", "/v1/conversations/%s/assign" % c["id"], {}, token=tok))
        assert b["status"] == "open" and b["waiting_since"] is None and b["assigned_at"], b
        # handed back: waiting again
        b = ok(*call(s, "POST", "/v1/conversations/%s/assign" % c["id"], {"assignee_id": None}, token=tok))
        assert b["status"] == "waiting" and b["waiting_since"], b
        # open asked of an unassigned conversation: it waits in the queue
        assert ok(*patch(s, tok, c["id"], {"status": "open"}))["status"] == "waiting"
        assert ok(*patch(s, tok, c["id"], {"status": "pending"}))["status"] == "pending"
        b = ok(*patch(s, tok, c["id"], {"status": "open"}))
        assert b["status"] == "waiting" and b["waiting_since"], b


def test_statuses_and_times():
    with Server() as s:
        login = s.login()
        tok = login["access_token"]
        vis = s.visitor("Tim")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "t-1")["id"]
        ok(*call(s, "POST", "/v1/conversations/%s/assign" % cid, {}, token=tok))
        # a note is no response; the first agent message is
        ok(*call(s, "POST", "/v1/conversations/%s/messages" % cid,
                      {"client_id": "n-1", "text": "note", "private": True}, token=tok), 201)
        b = ok(*call(s, "GET", "/v1/conversations/" + cid, token=tok))
        assert b["first_response_s"] is None and b["first_response_at"] is None, b
        ok(*call(s, "POST", "/v1/conversations/%s/messages" % cid, {"client_id": "a-1", "text": "hello"},
                      token=tok), 201)
        b = ok(*call(s, "GET", "/v1/conversations/" + cid, token=tok))
        assert b["first_response_s"] == 0 and b["first_response_at"], b
        for st in ["pending", "open"]:
            assert ok(*patch(s, tok, cid, {"status": st}))["status"] == st
        until = future()
        b = ok(*patch(s, tok, cid, {"status": "snoozed", "snooze_until": until}))
        assert b["status"] == "snoozed" and b["snooze_until"].startswith(until[:19]), b
        b = ok(*patch(s, tok, cid, {"status": "resolved"}))
        assert b["status"] == "resolved" and b["resolved_at"] and b["resolution_s"] == 0, b
        assert b["snooze_until"] is None and b["closed_at"] is None, b
        b = ok(*patch(s, tok, cid, {"status": "closed"}))
        assert b["status"] == "closed" and b["closed_at"] and b["resolved_at"], b
        # the visitor writes again: reopened, open (it is assigned), times reset
        ok(*call(s, "POST", "/v1/widget/conversations/%s/messages" % cid, {"client_id": "v-2", "text": "back"},
                      token=vis), 201)
        b = ok(*call(s, "GET", "/v1/conversations/" + cid, token=tok))
        assert b["status"] == "open" and b["reopened_at"] and b["closed_at"] is None, b
        assert b["resolved_at"] is None and b["resolution_s"] is None and b["first_response_s"] is None, b
        # unassigned and resolved, the visitor writes: waiting in the queue
        ok(*call(s, "POST", "/v1/conversations/%s/assign" % cid, {"assignee_id": None}, token=tok))
        ok(*patch(s, tok, cid, {"status": "resolved"}))
        ok(*call(s, "POST", "/v1/widget/conversations/%s/messages" % cid, {"client_id": "v-3", "text": "hey"},
                      token=vis), 201)
        b = ok(*call(s, "GET", "/v1/conversations/" + cid, token=tok))
        assert b["status"] == "waiting" and b["waiting_since"], b
        # the history holds the status changes
        st, ev = call(s, "GET", "/v1/conversations/%s/messages" % cid, token=tok)
        kinds = [e["kind"] for e in ev["data"]]
        assert kinds.count("status") >= 5, kinds


def test_priority():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Pri")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "p-1")["id"]
        b = ok(*patch(s, tok, cid, {"priority": "urgent"}))
        assert b["priority"] == "urgent" and b["status"] == "waiting", b
        b = ok(*patch(s, tok, cid, {"priority": "low", "status": "pending"}))
        assert b["priority"] == "low" and b["status"] == "pending", b
        st, ev = call(s, "GET", "/v1/conversations/%s/messages" % cid, token=tok)
        pr = [e for e in ev["data"] if e["kind"] == "priority"]
        assert [e["priority"] for e in pr] == ["urgent", "low"], pr
        # unchanged: no event
        ok(*patch(s, tok, cid, {"priority": "low"}))
        st, ev2 = call(s, "GET", "/v1/conversations/%s/messages" % cid, token=tok)
        assert len(ev2["data"]) == len(ev["data"]), ev2

        async def ws():
            a = await WS.connect(s.ws_url(), tok)
            ack = await a.request({"type": "update_conversation", "conversation_id": cid, "priority": "high"})
            assert ack["type"] == "ack" and ack["priority"] == "high", ack
            e = await a.request({"type": "update_conversation", "conversation_id": cid, "status": "waiting"})
            assert e["type"] == "error" and e["error"]["code"] == "invalid_status", e
            e = await a.request({"type": "update_conversation", "conversation_id": cid, "status": "snoozed",
                                 "snooze_until": PAST})
            assert e["type"] == "error" and e["error"]["code"] == "snooze_in_past", e
            e = await a.request({"type": "update_conversation", "conversation_id": cid, "priority": "asap"})
            assert e["type"] == "error" and e["error"]["code"] == "invalid_field", e
            e = await a.request({"type": "update_conversation", "conversation_id": "123", "priority": "low"})
            assert e["type"] == "error" and e["error"]["code"] == "not_found", e
            await a.close()
        run(ws())


def test_bad_input():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Bad")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "b-1")["id"]
        err(*patch(s, tok, cid, {"status": "waiting"}), 400, "invalid_status", "status")
        err(*patch(s, tok, cid, {"status": "snoozed", "snooze_until": PAST}), 400, "snooze_in_past", "snooze_until")
        err(*patch(s, tok, cid, {"status": "snoozed"}), 400, "invalid_field", "snooze_until")
        err(*patch(s, tok, cid, {"status": "snoozed", "snooze_until": "tomorrow"}), 400, "invalid_field",
            "snooze_until")
        err(*patch(s, tok, cid, {"status": "open", "snooze_until": future()}), 400, "invalid_field", "snooze_until")
        err(*patch(s, tok, cid, {"status": "nope"}), 400, "invalid_field", "status")
        err(*patch(s, tok, cid, {"priority": "asap"}), 400, "invalid_field", "priority")
        err(*patch(s, tok, cid, {"priority": 3}), 400, "invalid_field", "priority")
        err(*patch(s, tok, cid, {}), 400, "invalid_field", "status")
        # unknown, and another tenant's, conversation
        err(*patch(s, tok, "123", {"status": "pending"}), 404, "not_found")
        s.new_tenant("other")
        s.new_user("other", "admin@other.parley", "other-password-1", role="admin")
        otok = s.login("admin@other.parley", "other-password-1", tenant="other")["access_token"]
        err(*patch(s, otok, cid, {"status": "pending"}), 404, "not_found")
        b = ok(*call(s, "GET", "/v1/conversations/" + cid, token=tok))
        assert b["status"] == "waiting" and b["priority"] == "medium", b


def restart_at(s, off_s):
    """Restarts the server with its clock off_s seconds ahead of the real one."""
    ex = s.extra
    if "--clock-offset-ms" in ex:
        i = ex.index("--clock-offset-ms")
        del ex[i:i + 2]
    ex += ["--clock-offset-ms", str(int(off_s * 1000))]
    s.restart()
    return s.login()["access_token"]


def conv(s, tok, cid):
    return ok(*call(s, "GET", "/v1/conversations/" + cid, token=tok))


def test_snooze_survives_a_restart():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Zed")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "z-1")["id"]
        other = s.new_conversation(vis, "hi", "z-2")["id"]
        ok(*call(s, "POST", "/v1/conversations/%s/assign" % cid, {}, token=tok))
        until = future(60)
        ok(*patch(s, tok, cid, {"status": "snoozed", "snooze_until": until}))
        ok(*patch(s, tok, other, {"status": "snoozed", "snooze_until": future(600)}))
        # half-way: still snoozed
        tok = restart_at(s, 30)
        assert conv(s, tok, cid)["status"] == "snoozed"
        # past its end while the server was down: applied at start, back to open
        tok = restart_at(s, 120)
        wait_until(lambda: conv(s, tok, cid)["status"] == "open", what="the snooze to end at start")
        b = conv(s, tok, cid)
        assert b["snooze_until"] is None and b["assignee"], b
        st, ev = call(s, "GET", "/v1/conversations/%s/messages" % cid, token=tok)
        last = ev["data"][-1]
        assert last["kind"] == "status" and last["status"] == "open" and last["sender"]["type"] == "system", last
        # the other one's snooze has not ended; unassigned, it waits in the queue once it does
        assert conv(s, tok, other)["status"] == "snoozed"
        tok = restart_at(s, 700)
        wait_until(lambda: conv(s, tok, other)["status"] == "waiting", what="the second snooze to end")


def test_snooze_ends_live():
    """The due timer wakes for an entry earlier than any it waits for: a
    snooze of a second and a half ends while the server runs (a bounded
    wait for the status, no sleep)."""
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Liv")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "l-1")["id"]
        ok(*call(s, "POST", "/v1/conversations/%s/assign" % cid, {}, token=tok))
        late = s.new_conversation(vis, "hi", "l-2")["id"]
        ok(*patch(s, tok, late, {"status": "snoozed", "snooze_until": future(3600)}))   # the timer waits for this
        t = time.time() + 1.5
        until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)
        ok(*patch(s, tok, cid, {"status": "snoozed", "snooze_until": until}))

        async def watch():
            a = await WS.connect(s.ws_url(), tok)
            ack = await a.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack", ack
            f = await a.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "status"
                                 and f.get("status") == "open", timeout=15)
            assert f["sender"]["type"] == "system", f
            await a.close()
        run(watch())
        assert conv(s, tok, cid)["status"] == "open"
        assert conv(s, tok, late)["status"] == "snoozed"


def test_clock_moved_while_running():
    """With --test-clock the clock moves forward while the server runs
    (PUT /v1/ops/clock): the due timer looks again at once, and what came
    due is applied — a snooze ends, an idle conversation closes."""
    with Server("--test-clock") as s:
        tok = s.login()["access_token"]
        ok(*call(s, "PATCH", "/v1/tenant", {"auto_close_s": 600}, token=tok))
        vis = s.visitor("Clo")["visitor_token"]
        snoozed = s.new_conversation(vis, "hi", "c-1")["id"]
        idle = s.new_conversation(vis, "hi", "c-2")["id"]
        ok(*patch(s, tok, snoozed, {"status": "snoozed", "snooze_until": future(300)}))
        ok(*call(s, "PUT", "/v1/ops/clock", {"now": future(400)}, token=tok))
        tok = s.login()["access_token"]   # tokens age with the clock
        wait_until(lambda: conv(s, tok, snoozed)["status"] == "waiting", what="the snooze to end")
        assert conv(s, tok, idle)["status"] == "waiting"
        ok(*call(s, "PUT", "/v1/ops/clock", {"now": future(700)}, token=tok))
        tok = s.login()["access_token"]
        wait_until(lambda: conv(s, tok, idle)["status"] == "closed", what="the idle conversation to close")
        # the snoozed one was active at 400 s (its snooze ended): not closed yet
        assert conv(s, tok, snoozed)["status"] == "waiting"
        ok(*call(s, "PUT", "/v1/ops/clock", {"now": future(1100)}, token=tok))
        tok = s.login()["access_token"]
        wait_until(lambda: conv(s, tok, snoozed)["status"] == "closed", what="the other one to close")


def test_auto_close_survives_a_restart():
    with Server() as s:
        tok = s.login()["access_token"]
        ok(*call(s, "PATCH", "/v1/tenant", {"auto_close_s": 60}, token=tok))
        vis = s.visitor("Ina")["visitor_token"]
        active = s.new_conversation(vis, "hi", "i-1")["id"]
        idle = s.new_conversation(vis, "hi", "i-2")["id"]
        # 30 s later the visitor writes in one of them
        tok = restart_at(s, 30)
        ok(*call(s, "POST", "/v1/widget/conversations/%s/messages" % active, {"client_id": "i-3", "text": "hello?"},
                 token=vis), 201)
        # 70 s: the idle one is closed at start; the active one's entry moves on
        tok = restart_at(s, 70)
        wait_until(lambda: conv(s, tok, idle)["status"] == "closed", what="the idle conversation to close")
        b = conv(s, tok, idle)
        assert b["closed_at"] and b["resolution_s"] is not None, b
        wait_until(lambda: "due.sent" in s.stderr_text(), what="the due entries to be sent")
        assert conv(s, tok, active)["status"] == "waiting"
        # 100 s: inactive for 70 s now, closed too
        tok = restart_at(s, 100)
        wait_until(lambda: conv(s, tok, active)["status"] == "closed", what="the active conversation to close later")
        st, ev = call(s, "GET", "/v1/conversations/%s/messages" % active, token=tok)
        last = ev["data"][-1]
        assert last["kind"] == "status" and last["status"] == "closed" and last["sender"]["type"] == "system", last
        # the visitor writes again: reopened (waiting: nobody has it)
        ok(*call(s, "POST", "/v1/widget/conversations/%s/messages" % active, {"client_id": "i-4", "text": "back"},
                 token=vis), 201)
        b = conv(s, tok, active)
        assert b["status"] == "waiting" and b["reopened_at"] and b["closed_at"] is None, b


PW = "a-good-password-1"


def dept(s, tok, name, members):
    b = ok(*call(s, "POST", "/v1/departments", {"name": name, "slug": name.lower() + "-x"}, tok), 201)
    ok(*call(s, "PUT", "/v1/departments/%s/members" % b["id"], {"agent_ids": members}, tok))
    return b["id"]


def transfer(s, tok, cid, body):
    return call(s, "POST", "/v1/conversations/%s/transfer" % cid, body, tok)


def test_transfer():
    with Server() as s:
        owner = s.login()["access_token"]
        ids = {n: s.new_user("demo", "%s@demo.parley" % n, PW, role="agent", name=n.title())
               for n in ["ann", "bob", "cy"]}
        tok = {n: s.login("%s@demo.parley" % n, PW)["access_token"] for n in ids}
        sales = dept(s, owner, "Sales", [ids["ann"], ids["bob"]])
        support = dept(s, owner, "Support", [ids["ann"]])
        vis = s.visitor("Tra")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "t-1")["id"]
        # Ann picks it up, then hands it to Bob in Sales; she hears of it live though she loses it
        ok(*call(s, "POST", "/v1/conversations/%s/assign" % cid, {}, tok["ann"]))

        async def live():
            a = await WS.connect(s.ws_url(), tok["ann"])
            b = await WS.connect(s.ws_url(), tok["bob"])
            ack = await a.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack", ack
            ack = await b.request({"type": "subscribe_inbox", "after": 0})
            assert ack["type"] == "ack", ack
            w = await WS.connect(s.ws_url(widget=True), vis)
            ack = await w.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack", ack
            ack = await a.request({"type": "transfer", "conversation_id": cid, "agent_id": ids["bob"],
                                   "department_id": sales, "reason": "pricing question"})
            assert ack["type"] == "ack" and ack["assignee"]["id"] == ids["bob"], ack
            assert ack["department_id"] == sales and ack["status"] == "open", ack
            f = await a.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "transfer")
            assert f["from_id"] == ids["ann"] and f["assignee"]["id"] == ids["bob"], f
            assert f["department_id"] == sales and f["reason"] == "pricing question", f
            f = await b.wait_for(lambda f: f.get("type") == "inbox" and f.get("event") == "conversation.updated"
                                 and f["conversation"]["id"] == cid)
            assert f["conversation"]["assignee"]["id"] == ids["bob"], f
            f = await w.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "message"
                                 and f["sender"]["type"] == "system")
            assert f["text"] == "Transferred to Bob (Sales)", f
            # Ann no longer may act on it
            e = await a.request({"type": "typing", "conversation_id": cid, "state": True})
            assert e["type"] == "error" and e["error"]["code"] == "not_found", e
            for c in (a, b, w):
                await c.close()
        run(live())
        # the history, the audit log
        st, ev = call(s, "GET", "/v1/conversations/%s/messages" % cid, token=owner)
        kinds = [(e["kind"], e["sender"]["type"]) for e in ev["data"]]
        assert kinds[-2:] == [("transfer", "agent"), ("message", "system")], kinds
        st, vev = call(s, "GET", "/v1/widget/conversations/%s/messages" % cid, token=vis)
        assert vev["data"][-1]["text"] == "Transferred to Bob (Sales)", vev["data"][-1]
        st, rows = call(s, "GET", "/v1/audit?action=conversation.transfer", token=owner)
        assert st == 200 and len(rows["data"]) == 1, rows
        r = rows["data"][0]
        assert r["record_id"] == cid and r["actor"]["id"] == ids["ann"] and r["addr"] == "127.0.0.1", r
        assert r["details"]["reason"] == "pricing question" and r["details"]["to"] == ids["bob"], r
        st, rows = call(s, "GET", "/v1/audit?action=conversation.assign", token=owner)
        assert st == 200 and [x["record_id"] for x in rows["data"]] == [cid], rows
        # to a department alone: unassigned, waiting there
        b = ok(*transfer(s, tok["bob"], cid, {"department_id": support, "reason": "wrong team"}))
        assert b["assignee"] is None and b["status"] == "waiting" and b["department_id"] == support, b
        # a supervisor assigns it to Ann in Support; Cy is in no department
        b = ok(*transfer(s, owner, cid, {"agent_id": ids["ann"], "reason": "yours"}))
        assert b["assignee"]["id"] == ids["ann"] and b["department_id"] == support, b
        err(*transfer(s, owner, cid, {"agent_id": ids["bob"], "reason": "x"}), 400, "agent_not_in_department",
            "agent_id")
        err(*transfer(s, owner, cid, {"agent_id": ids["cy"], "department_id": sales, "reason": "x"}), 400,
            "agent_not_in_department", "agent_id")
        # Bob may not move Ann's conversation (he cannot see it)
        err(*transfer(s, tok["bob"], cid, {"department_id": sales, "reason": "x"}), 404, "not_found")
        # a deactivated agent
        ok(*call(s, "POST", "/v1/users/%s/deactivate" % ids["bob"], {}, owner))
        err(*transfer(s, owner, cid, {"agent_id": ids["bob"], "department_id": sales, "reason": "x"}), 400,
            "agent_inactive", "agent_id")
        # unknown and other tenant's agent, department, conversation
        s.new_tenant("other")
        s.new_user("other", "admin@other.parley", PW, role="admin")
        otok = s.login("admin@other.parley", PW, tenant="other")["access_token"]
        st, od = call(s, "GET", "/v1/departments", token=otok)
        other_dept = od["data"][0]["id"]
        other_user = s.login("admin@other.parley", PW, tenant="other")["user"]["id"]
        err(*transfer(s, owner, cid, {"agent_id": "123", "reason": "x"}), 404, "not_found", "agent_id")
        err(*transfer(s, owner, cid, {"agent_id": other_user, "reason": "x"}), 404, "not_found", "agent_id")
        err(*transfer(s, owner, cid, {"department_id": "123", "reason": "x"}), 404, "not_found", "department_id")
        err(*transfer(s, owner, cid, {"department_id": other_dept, "reason": "x"}), 404, "not_found",
            "department_id")
        err(*transfer(s, owner, "123", {"department_id": sales, "reason": "x"}), 404, "not_found")
        err(*transfer(s, otok, cid, {"department_id": other_dept, "reason": "x"}), 404, "not_found")
        # malformed
        err(*transfer(s, owner, cid, {"reason": "x"}), 400, "invalid_field", "agent_id")
        err(*transfer(s, owner, cid, {"department_id": sales}), 400, "invalid_field", "reason")
        err(*transfer(s, owner, cid, {"department_id": sales, "reason": ""}), 400, "invalid_field", "reason")
        err(*transfer(s, owner, cid, {"department_id": sales, "reason": "r" * 501}), 400, "invalid_field", "reason")
        err(*transfer(s, owner, cid, {"agent_id": 5, "reason": "x"}), 400, "invalid_field", "agent_id")
        err(*transfer(s, owner, cid, {"department_id": sales, "reason": "x", "why": 1}), 400, "invalid_field")
        b = conv(s, owner, cid)
        assert b["assignee"]["id"] == ids["ann"] and b["department_id"] == support, b


def test_transfer_webhook():
    from test_webhooks import Receiver
    rx = Receiver()
    with Server("--outbound-allow", "127.0.0.1/32") as s:
        owner = s.login()["access_token"]
        ok(*call(s, "POST", "/v1/webhooks", {"url": rx.url, "events": ["conversation.transferred"]}, owner), 201)
        st, depts = call(s, "GET", "/v1/departments", token=owner)
        to = depts["data"][-1]["id"]
        vis = s.visitor("Hook")["visitor_token"]
        cid = s.new_conversation(vis, "hi", "h-1")["id"]
        ok(*transfer(s, owner, cid, {"department_id": to, "reason": "to the experts"}))
        reqs = rx.wait(lambda rs: len(rs) >= 1, what="the transfer's delivery")
        r = reqs[0]
        assert r["headers"]["Parley-Event"] == "conversation.transferred", r["headers"]
        d = r["json"]["data"]
        assert d["conversation"]["id"] == cid and d["conversation"]["department_id"] == to, d
        assert d["transfer"]["kind"] == "transfer" and d["transfer"]["reason"] == "to the experts", d
        assert d["transfer"]["department_id"] == to and d["transfer"]["assignee"] is None, d


if __name__ == "__main__":
    main([test_new_conversation_waits, test_statuses_and_times, test_priority, test_bad_input,
          test_snooze_survives_a_restart, test_snooze_ends_live, test_clock_moved_while_running,
          test_auto_close_survives_a_restart, test_transfer,
          test_transfer_webhook])
