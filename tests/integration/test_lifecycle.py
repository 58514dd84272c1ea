"""The conversation lifecycle against the real server: statuses (waiting is
the server's, snooze needs a future time), reopening when the visitor
writes again, priority, the first-response and resolution times, and every
bad input with its error."""
import time

from harness import Server, WS, err, ok, run, main

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


if __name__ == "__main__":
    main([test_new_conversation_waits, test_statuses_and_times, test_priority, test_bad_input])
