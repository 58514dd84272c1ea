"""The visitor profile (docs/openapi.yaml, tag visitors): agents who may
read one of the visitor's conversations read and change name, email, phone
and notes; anyone else, and another tenant, gets 404; every bad value is
refused naming its field; the custom attributes are part of the profile
(read, set by type, changes recorded for agents only); a change reaches the visitor's conversations
(their visitor name and email) and leaves a `profile` event in the open
ones (the newest one when none is open) that agents see live and in the
history and the visitor never does; markup stays text.
"""
import json

from harness import WS, Server, err, main, ok, run, wait_until

PW = "a-good-password-1"
HOSTILE = "<script>alert(1)</script> \"q\" & </style>"


def agent(s, email, role="agent"):
    s.new_user("demo", email, PW, role=role, name=email.split("@")[0])
    return s.login(email, PW)["access_token"]


def conv(s, tok, cid):
    return ok(*s.request("GET", "/v1/conversations/%s" % cid, token=tok)[:2])


def events(s, tok, cid, widget=False):
    p = "/v1/widget/conversations/%s/messages" if widget else "/v1/conversations/%s/messages"
    return ok(*s.request("GET", p % cid, token=tok)[:2])["data"]


async def watch(s, tok, vtok, cid):
    """An agent's and the visitor's WebSockets, both subscribed to cid."""
    ag = await WS.connect(s.ws_url(), tok)
    vis = await WS.connect(s.ws_url(widget=True), vtok)
    for w in (ag, vis):
        a = await w.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
        assert a["type"] == "ack", a
    return ag, vis


def test_access():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Vera")
        vid = v["visitor"]["id"]
        c = s.new_conversation(v["visitor_token"])
        p = "/v1/visitors/%s" % vid
        prof = ok(*s.request("GET", p, token=tok)[:2])
        assert prof["id"] == vid and prof["name"] == "Vera" and prof["notes"] == "" and prof["phone"] == "", prof
        a1, a2 = agent(s, "a1@demo.example"), agent(s, "a2@demo.example")
        ok(*s.request("GET", p, token=a2)[:2])   # an unassigned conversation: every agent reads it
        me1 = ok(*s.request("GET", "/v1/auth/me", token=a1)[:2])
        ok(*s.request("POST", "/v1/conversations/%s/assign" % c["id"], {"assignee_id": me1["id"]}, token=tok)[:2])
        ok(*s.request("GET", p, token=a1)[:2])
        err(*s.request("GET", p, token=a2)[:2], 404, "not_found")
        err(*s.request("PATCH", p, {"notes": "x"}, token=a2)[:2], 404, "not_found")
        sup = agent(s, "sup@demo.example", "supervisor")
        ok(*s.request("GET", p, token=sup)[:2])
        err(*s.request("GET", p)[:2], 401, "unauthenticated")
        err(*s.request("GET", p, token=v["visitor_token"])[:2], 401, "unauthenticated")
        err(*s.request("GET", "/v1/visitors/123456789", token=tok)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/visitors/abc", token=tok)[:2], 404, "not_found")
        # a visitor without a conversation is nobody's to see
        lone = s.visitor("Lone")["visitor"]["id"]
        err(*s.request("GET", "/v1/visitors/%s" % lone, token=tok)[:2], 404, "not_found")
        # another tenant
        s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        atok = s.login("boss@acme.example", PW)["access_token"]
        err(*s.request("GET", p, token=atok)[:2], 404, "not_found")
        err(*s.request("PATCH", p, {"notes": "x"}, token=atok)[:2], 404, "not_found")


def test_bad_input():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Vera")
        s.new_conversation(v["visitor_token"])
        p = "/v1/visitors/%s" % v["visitor"]["id"]
        for body, field in [({"name": "n" * 129}, "name"), ({"email": "not-an-address"}, "email"),
                            ({"email": "a@b"}, "email"), ({"email": "a b@c.example"}, "email"),
                            ({"email": "x" * 250 + "@c.example"}, "email"), ({"phone": "call me"}, "phone"),
                            ({"phone": "12"}, "phone"), ({"phone": "+" * 40}, "phone"),
                            ({"notes": "n" * 2001}, "notes"), ({"name": None}, "name"), ({"notes": 5}, "notes"),
                            ({"age": 3}, "age"), ({"external_id": "x"}, "external_id")]:
            err(*s.request("PATCH", p, body, token=tok)[:2], 400, "invalid_field", field)
        st, b, _ = s.request("PATCH", p, raw_body=b"[1]", token=tok, headers={"Content-Type": "application/json"})
        assert st == 400, (st, b)
        assert ok(*s.request("GET", p, token=tok)[:2])["name"] == "Vera"


def test_change_reaches_conversations():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Vera")
        vtok, vid = v["visitor_token"], v["visitor"]["id"]
        old = s.new_conversation(vtok, "first", "c1")
        ok(*s.request("PATCH", "/v1/conversations/%s" % old["id"], {"status": "resolved"}, token=tok)[:2])
        cur = s.new_conversation(vtok, "second", "c2")
        p = "/v1/visitors/%s" % vid

        async def go():
            ag, vis = await watch(s, tok, vtok, cur["id"])
            body = {"name": "Vera " + HOSTILE, "email": "vera@example.com", "phone": "+1 (555) 010-0200",
                    "notes": "VIP " + HOSTILE}
            prof = ok(*s.request("PATCH", p, body, token=tok)[:2])
            assert {k: prof[k] for k in body} == body and prof["updated_at"], prof
            f = await ag.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "profile")
            ch = json.loads(f["change"])
            assert ch["changed"] == ["name", "email", "phone", "notes"], ch
            assert ch["name"] == body["name"] and "notes" not in ch, ch   # notes are named, not copied
            # the visitor hears nothing of it: the next thing they get is a message sent after it
            st, m, _ = s.request("POST", "/v1/conversations/%s/messages" % cur["id"],
                                 {"text": "after", "client_id": "a1"}, token=tok)
            assert st == 201, (st, m)
            f = await vis.wait_for(lambda f: f.get("type") == "event" and f["seq"] > 2)   # past the replay
            assert f["kind"] == "message" and f["text"] == "after", f
            await ag.close()
            await vis.close()
        run(go())
        # both conversations take the new name and email (through their actors, just after the answer)
        for c in (old, cur):
            wait_until(lambda: conv(s, tok, c["id"])["visitor"]["name"] == "Vera " + HOSTILE, 10, "the new name")
            assert conv(s, tok, c["id"])["visitor"]["email"] == "vera@example.com"
        # the event only in the open one; the visitor's history never shows it
        assert [e["kind"] for e in events(s, tok, cur["id"])].count("profile") == 1
        assert "profile" not in [e["kind"] for e in events(s, tok, old["id"])]
        assert "profile" not in [e["kind"] for e in events(s, vtok, cur["id"], widget=True)]
        st, tv, _ = s.request("GET", "/v1/widget/conversations/%s/transcript?format=text" % cur["id"], token=vtok)
        assert st == 200 and "profile" not in tv and "VIP" not in tv, tv
        st, ta, _ = s.request("GET", "/v1/conversations/%s/transcript?format=html" % cur["id"], token=tok)
        assert "changed the visitor's profile" in ta and "<script>" not in ta, ta
        # the widget's own view of the visitor never carries the notes
        st, ses, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key, "visitor_token": vtok})
        assert st in (200, 201) and "notes" not in ses["visitor"] and "VIP" not in json.dumps(ses), ses
        # nothing open: the newest conversation gets the event
        ok(*s.request("PATCH", "/v1/conversations/%s" % cur["id"], {"status": "closed"}, token=tok)[:2])
        ok(*s.request("PATCH", p, {"phone": ""}, token=tok)[:2])
        wait_until(lambda: [e["kind"] for e in events(s, tok, cur["id"])].count("profile") == 2, 10, "a second event")
        assert "profile" not in [e["kind"] for e in events(s, tok, old["id"])]
        # an unchanged profile writes nothing
        n = len(events(s, tok, cur["id"]))
        ok(*s.request("PATCH", p, {"phone": ""}, token=tok)[:2])
        ok(*s.request("POST", "/v1/conversations/%s/messages" % cur["id"], {"text": "x", "client_id": "a2",
                                                                            "private": True}, token=tok)[:2], 201)
        assert len(events(s, tok, cur["id"])) == n + 1


def define(s, tok, key, type_):
    return ok(*s.request("POST", "/v1/attributes", {"owner": "visitor", "key": key, "label": key.title(),
                                                    "type": type_}, token=tok)[:2], 201)


def test_attributes_in_the_profile():
    """The profile carries the visitor's custom attributes (GET and the
    PATCH answer); PATCH sets and removes them beside the other fields, by
    their types (a wrong value: 400 naming the key, nothing of the request
    written); a change leaves a profile event naming the keys and values
    that agents see live and in the history, and the visitor never does
    (their WebSocket gets the next message, not the event; their history
    lacks it); PATCH .../attributes leaves the same event; an unchanged
    value leaves none."""
    with Server() as s:
        tok = s.login()["access_token"]
        for key, type_ in (("plan", "text"), ("seats", "number"), ("vip", "boolean"), ("renewal", "date")):
            define(s, tok, key, type_)
        v = s.visitor("Vera")
        vtok, vid = v["visitor_token"], v["visitor"]["id"]
        cur = s.new_conversation(vtok, "hello", "c1")
        p = "/v1/visitors/%s" % vid
        assert ok(*s.request("GET", p, token=tok)[:2])["attributes"] == {}
        # bad values: 400 naming the key; nothing written (the name neither)
        for attrs, code, key in [({"seats": "three"}, "invalid_attribute_value", "seats"),
                                 ({"vip": "yes"}, "invalid_attribute_value", "vip"),
                                 ({"renewal": "2027-02-30"}, "invalid_attribute_value", "renewal"),
                                 ({"colour": "red"}, "unknown_attribute", "colour")]:
            e = err(*s.request("PATCH", p, {"name": "Changed", "attributes": attrs}, token=tok)[:2], 400, code)
            assert key in e["message"], e
        err(*s.request("PATCH", p, {"attributes": [1]}, token=tok)[:2], 400, "invalid_field", "attributes")
        err(*s.request("PATCH", p, {"attributes": "plan=gold"}, token=tok)[:2], 400, "invalid_field", "attributes")
        prof = ok(*s.request("GET", p, token=tok)[:2])
        assert prof["name"] == "Vera" and prof["attributes"] == {}, prof

        async def go():
            ag, vis = await watch(s, tok, vtok, cur["id"])
            attrs = {"plan": HOSTILE, "seats": 12, "vip": True, "renewal": "2027-02-28"}
            prof = ok(*s.request("PATCH", p, {"attributes": attrs}, token=tok)[:2])
            assert prof["attributes"] == attrs and prof["name"] == "Vera", prof
            f = await ag.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "profile")
            ch = json.loads(f["change"])
            assert ch == {"changed": ["attributes"], "attributes": attrs}, ch
            # through the attributes route too: only what changed is named
            got = ok(*s.request("PATCH", p + "/attributes", {"seats": 12, "vip": None}, token=tok)[:2])
            assert got["attributes"] == {"plan": HOSTILE, "seats": 12, "renewal": "2027-02-28"}, got
            f = await ag.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "profile"
                                  and "vip" in json.loads(f["change"]).get("attributes", {}))
            assert json.loads(f["change"]) == {"changed": ["attributes"], "attributes": {"vip": None}}, f
            # the visitor: the next frame after the replay is a message sent after both changes
            ok(*s.request("POST", "/v1/conversations/%s/messages" % cur["id"], {"text": "after", "client_id": "a1"},
                          token=tok)[:2], 201)
            f = await vis.wait_for(lambda f: f.get("type") == "event" and f["seq"] > 2)   # past created, hello
            assert f["kind"] == "message" and f["text"] == "after" and f["seq"] == 5, f   # 3, 4: the changes
            await ag.close()
            await vis.close()
        run(go())
        kinds = [e["kind"] for e in events(s, tok, cur["id"])]
        assert kinds.count("profile") == 2, kinds
        assert "profile" not in [e["kind"] for e in events(s, vtok, cur["id"], widget=True)]
        st, ses, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key, "visitor_token": vtok})
        assert "renewal" not in json.dumps(ses), ses
        # unchanged values: no event
        ok(*s.request("PATCH", p, {"attributes": {"seats": 12}}, token=tok)[:2])
        ok(*s.request("PATCH", p + "/attributes", {"plan": HOSTILE}, token=tok)[:2])
        ok(*s.request("POST", "/v1/conversations/%s/messages" % cur["id"], {"text": "x", "client_id": "a2"},
                      token=tok)[:2], 201)
        kinds = [e["kind"] for e in events(s, tok, cur["id"])]
        assert kinds.count("profile") == 2, kinds
        # both at once: one event naming the field and the attribute
        prof = ok(*s.request("PATCH", p, {"email": "vera@example.com", "attributes": {"seats": 3.5}}, token=tok)[:2])
        assert prof["email"] == "vera@example.com" and prof["attributes"]["seats"] == 3.5, prof
        wait_until(lambda: [e["kind"] for e in events(s, tok, cur["id"])].count("profile") == 3, 10, "the third event")
        last = [e for e in events(s, tok, cur["id"]) if e["kind"] == "profile"][-1]
        assert json.loads(last["change"]) == {"changed": ["email", "attributes"], "email": "vera@example.com",
                                              "attributes": {"seats": 3.5}}, last
        assert ok(*s.request("GET", p + "/attributes", token=tok)[:2])["attributes"] == ok(*s.request(
            "GET", p, token=tok)[:2])["attributes"]


if __name__ == "__main__":
    main([test_access, test_bad_input, test_change_reaches_conversations, test_attributes_in_the_profile])
