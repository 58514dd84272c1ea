"""The agents' tools on conversations against the real server
(docs/openapi.yaml, docs/realtime.md): messages sent from canned
responses, tags and custom attributes on a conversation, notes that
mention agents.

- canned_id (REST and realtime): the body's placeholders filled in for the
  conversation and the sender, unknown ones left as written, the visitor
  receiving the expanded text, HTML in values kept as text; another
  agent's own or another tenant's canned response is 404; with text 400;
- tags: added and removed as agent-only events (not in the visitor's
  replay nor live), the conversation's `tags`, the index by tag counted
  when the tag is deleted, at most 20, another tenant's tag 404, the
  realtime `tag` frame;
- attributes: typed writes stored with an agent-only event, unknown key and
  wrong type refused naming the key;
- mentions: a live `mention` frame to the mentioned agent's console, an
  unread mention until read; unknown, foreign, inactive and out-of-scope
  agents refused with invalid_mention; mentions only on notes.
"""
from harness import WS, Server, err, main, ok, run

PASSWORD = "conv-tools-password-1"
XSS = "<script>alert(1)</script>"


def setup(s):
    t = {"owner": s.login()["access_token"], "uid": {}}
    for name, role in (("ann", "agent"), ("ben", "agent"), ("sue", "supervisor"), ("gone", "agent")):
        t["uid"][name] = s.new_user("demo", "%s@demo.parley" % name, PASSWORD, role=role, name=name.title())
        t[name] = s.login("%s@demo.parley" % name, PASSWORD)["access_token"]
    s.new_tenant("other", "Other")
    t["uid"]["stranger"] = s.new_user("other", "owner@other.test", PASSWORD, role="owner", name="Stranger")
    t["other"] = s.login("owner@other.test", PASSWORD, tenant="other")["access_token"]
    return t


def conversation(s, name="Vera " + XSS):
    vis = s.visitor(name)
    conv = s.new_conversation(vis["visitor_token"], "hello", "v-1")
    return conv["id"], vis


def events(s, cid, tok):
    return ok(*s.request("GET", "/v1/conversations/%s/messages" % cid, token=tok)[:2])["data"]


def widget_events(s, cid, vis):
    return ok(*s.request("GET", "/v1/widget/conversations/%s/messages" % cid, token=vis["visitor_token"])[:2])["data"]


def send(s, cid, tok, **body):
    body.setdefault("client_id", "c-%d" % send.n)
    send.n += 1
    return s.request("POST", "/v1/conversations/%s/messages" % cid, body, token=tok)[:2]


send.n = 0


def test_canned_send():
    with Server() as s:
        t = setup(s)
        cid, vis = conversation(s)
        team = ok(*s.request("POST", "/v1/canned", {
            "shortcode": "hi", "title": "Hi",
            "body": "Hi {{visitor.name}} <{{visitor.email}}>, {{ agent.name }} on #{{conversation.id}}. {{ticket.id}} {{visitor.name"},
            token=t["owner"])[:2], 201)
        mine = ok(*s.request("POST", "/v1/me/canned", {"shortcode": "mine", "title": "Mine", "body": "only ann"},
                             token=t["ann"])[:2], 201)
        other = ok(*s.request("POST", "/v1/canned", {"shortcode": "x", "title": "x", "body": "theirs"},
                              token=t["other"])[:2], 201)
        e = ok(*send(s, cid, t["ann"], canned_id=team["id"]), 201)["event"]
        want = "Hi Vera %s <>, Ann on #%s. {{ticket.id}} {{visitor.name" % (XSS, cid)
        assert e["text"] == want, e
        assert widget_events(s, cid, vis)[-1]["text"] == want
        ok(*send(s, cid, t["ann"], canned_id=mine["id"]), 201)
        for who in ("ben", "owner"):
            err(*send(s, cid, t[who], canned_id=mine["id"]), 404, "not_found", "canned_id")
        err(*send(s, cid, t["ann"], canned_id=other["id"]), 404, "not_found", "canned_id")
        err(*send(s, cid, t["ann"], canned_id=team["id"], text="both"), 400, "invalid_field", "text")
        for bad in ("abc", 5, "0", ""):
            err(*send(s, cid, t["ann"], canned_id=bad), 400, "invalid_field", "canned_id")
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                             {"client_id": "w-1", "canned_id": team["id"]}, token=vis["visitor_token"])
        err(st, b, 403, "forbidden", "canned_id")

        async def realtime():
            c = await WS.connect(s.ws_url(), t["sue"])
            w = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            a = await w.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert a["type"] == "ack", a
            a = await c.request({"type": "send", "conversation_id": cid, "client_id": "rt-1", "canned_id": team["id"]})
            assert a["type"] == "ack", a
            f = await w.wait_for(lambda f: f.get("type") == "event" and f.get("client_id") == "rt-1")
            assert f["text"] == want.replace("Ann", "Sue"), f
            a = await c.request({"type": "send", "conversation_id": cid, "client_id": "rt-2", "canned_id": mine["id"]})
            assert a["type"] == "error" and a["error"]["code"] == "not_found", a
            await c.close()
            await w.close()
        run(realtime())


def test_tags():
    with Server() as s:
        t = setup(s)
        cid, vis = conversation(s)
        tags = [ok(*s.request("POST", "/v1/tags", {"name": "t%d" % i}, token=t["owner"])[:2], 201) for i in range(22)]
        foreign = ok(*s.request("POST", "/v1/tags", {"name": "theirs"}, token=t["other"])[:2], 201)
        path = lambda g: "/v1/conversations/%s/tags/%s" % (cid, g["id"])
        c = ok(*s.request("POST", path(tags[0]), token=t["ann"])[:2])
        assert c["tags"] == [tags[0]["id"]], c
        c = ok(*s.request("POST", path(tags[0]), token=t["ann"])[:2])   # again: no change
        assert c["tags"] == [tags[0]["id"]], c
        evs = [e for e in events(s, cid, t["ann"]) if e["kind"] == "tag"]
        assert len(evs) == 1 and evs[0]["tag_id"] == tags[0]["id"] and evs[0]["added"] is True, evs
        assert not [e for e in widget_events(s, cid, vis) if e["kind"] == "tag"]
        err(*s.request("POST", path(foreign), token=t["ann"])[:2], 404, "not_found")
        err(*s.request("POST", "/v1/conversations/%s/tags/%s" % (cid, tags[0]["id"]), token=t["other"])[:2], 404,
            "not_found")
        err(*s.request("POST", "/v1/conversations/%s/tags/99999" % cid, token=t["ann"])[:2], 404, "not_found")
        for g in tags[1:20]:
            ok(*s.request("POST", path(g), token=t["ann"])[:2])
        err(*s.request("POST", path(tags[20]), token=t["ann"])[:2], 409, "too_many_tags")
        c = ok(*s.request("DELETE", path(tags[1]), token=t["ann"])[:2])
        assert len(c["tags"]) == 19 and tags[1]["id"] not in c["tags"], c
        # a tag deleted from the list: counted, and dropped at the next change
        d = ok(*s.request("DELETE", "/v1/tags/" + tags[2]["id"], token=t["owner"])[:2])
        assert d["conversations"] == 1, d
        c = ok(*s.request("POST", path(tags[20]), token=t["ann"])[:2])
        assert tags[2]["id"] not in c["tags"] and tags[20]["id"] in c["tags"] and len(c["tags"]) == 19, c

        async def realtime():
            w = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            a = await w.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert a["type"] == "ack", a
            c = await WS.connect(s.ws_url(), t["ben"])
            a = await c.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            a = await c.request({"type": "tag", "conversation_id": cid, "tag_id": tags[21]["id"], "add": True})
            assert a["type"] == "ack" and tags[21]["id"] in a["tags"], a
            f = await c.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "tag" and
                                 f.get("tag_id") == tags[21]["id"])
            assert f["added"] is True
            a = await c.request({"type": "tag", "conversation_id": cid, "tag_id": tags[21]["id"], "add": "yes"})
            assert a["type"] == "error" and a["error"]["code"] == "invalid_field", a
            a = await c.request({"type": "tag", "conversation_id": cid, "tag_id": foreign["id"], "add": True})
            assert a["type"] == "error" and a["error"]["code"] == "not_found", a
            a = await w.request({"type": "tag", "conversation_id": cid, "tag_id": tags[21]["id"], "add": False})
            assert a["type"] == "error" and a["error"]["code"] == "forbidden", a
            # the visitor saw no tag event, live or replayed; a message after it arrives
            await c.request({"type": "send", "conversation_id": cid, "client_id": "after-tag", "text": "done"})
            f = await w.wait_for(lambda f: f.get("type") == "event" and f.get("client_id") == "after-tag")
            assert not [x for x in w.pending if x.get("kind") in ("tag", "attrs", "note")], w.pending
            await c.close()
            await w.close()
        run(realtime())


def test_attributes():
    with Server() as s:
        t = setup(s)
        cid, vis = conversation(s)
        for key, ty in (("plan", "text"), ("seats", "number"), ("vip", "boolean"), ("renewal", "date")):
            ok(*s.request("POST", "/v1/attributes", {"owner": "conversation", "key": key, "type": ty},
                          token=t["owner"])[:2], 201)
        ok(*s.request("POST", "/v1/attributes", {"owner": "visitor", "key": "only_visitor", "type": "text"},
                      token=t["owner"])[:2], 201)
        path = "/v1/conversations/%s/attributes" % cid
        got = ok(*s.request("PATCH", path, {"plan": XSS, "seats": 4, "vip": True, "renewal": "2027-01-31"},
                            token=t["ann"])[:2])["attributes"]
        assert got == {"plan": XSS, "seats": 4, "vip": True, "renewal": "2027-01-31"}, got
        for body, code, key in [({"only_visitor": "x"}, "unknown_attribute", "only_visitor"),
                                ({"nope": 1}, "unknown_attribute", "nope"),
                                ({"seats": "4"}, "invalid_attribute_value", "seats"),
                                ({"vip": "true"}, "invalid_attribute_value", "vip"),
                                ({"renewal": "2027-02-30"}, "invalid_attribute_value", "renewal")]:
            e = err(*s.request("PATCH", path, body, token=t["ann"])[:2], 400, code)
            assert key in e["message"], e
        got = ok(*s.request("PATCH", path, {"plan": None}, token=t["ann"])[:2])["attributes"]
        assert "plan" not in got and got["seats"] == 4, got
        assert ok(*s.request("GET", path, token=t["ben"])[:2])["attributes"] == got
        evs = [e for e in events(s, cid, t["ann"]) if e["kind"] == "attrs"]
        assert len(evs) == 2 and evs[0]["attributes"]["plan"] == XSS and evs[1]["attributes"] == {"plan": None}, evs
        assert not [e for e in widget_events(s, cid, vis) if e["kind"] == "attrs"]
        err(*s.request("PATCH", path, {"seats": 1}, token=t["other"])[:2], 404, "not_found")
        err(*s.request("PATCH", path, [1], token=t["ann"])[:2], 400, "invalid_json")


def test_mentions():
    with Server() as s:
        t = setup(s)
        cid, vis = conversation(s)
        # gone: deactivated
        ok(*s.request("POST", "/v1/users/%s/deactivate" % t["uid"]["gone"], token=t["owner"])[:2])

        async def live():
            ben = await WS.connect(s.ws_url(), t["ben"])
            a = await ben.request({"type": "subscribe_inbox", "after": 0})
            assert a["type"] == "ack", a
            e = ok(*send(s, cid, t["ann"], text="@Ben look", private=True, mentions=[t["uid"]["ben"]]), 201)["event"]
            f = await ben.wait_for(lambda f: f.get("type") == "mention")
            assert f["conversation_id"] == cid and f["seq"] == e["seq"] and f["by"]["id"] == t["uid"]["ann"], f
            # realtime send with mentions
            ann = await WS.connect(s.ws_url(), t["ann"])
            a = await ann.request({"type": "send", "conversation_id": cid, "client_id": "m-rt", "text": "again",
                                   "private": True, "mentions": [t["uid"]["ben"], t["uid"]["sue"]]})
            assert a["type"] == "ack", a
            f = await ben.wait_for(lambda f: f.get("type") == "mention")
            assert f["seq"] == a["seq"], f
            a = await ann.request({"type": "send", "conversation_id": cid, "client_id": "m-rt2", "text": "x",
                                   "private": True, "mentions": ["12345"]})
            assert a["type"] == "error" and a["error"]["code"] == "invalid_mention", a
            await ben.close()
            await ann.close()
        run(live())
        m = ok(*s.request("GET", "/v1/mentions", token=t["ben"])[:2])
        assert m["count"] == 2 and {x["conversation_id"] for x in m["data"]} == {cid}, m
        assert ok(*s.request("GET", "/v1/mentions", token=t["sue"])[:2])["count"] == 1
        assert ok(*s.request("GET", "/v1/mentions", token=t["ann"])[:2])["count"] == 0
        note = [e for e in events(s, cid, t["ann"]) if e["kind"] == "note"][0]
        assert note["mentions"] == [t["uid"]["ben"]], note
        assert not [e for e in widget_events(s, cid, vis) if e["kind"] == "note"]
        r = ok(*s.request("POST", "/v1/mentions/read", {"conversation_id": cid}, token=t["ben"])[:2])
        assert r["cleared"] == 2, r
        assert ok(*s.request("GET", "/v1/mentions", token=t["ben"])[:2])["count"] == 0
        # refused: unknown, another tenant's, deactivated, not able to read it, on a message, malformed
        for ids in (["99999"], [t["uid"]["stranger"]], [t["uid"]["gone"]]):
            err(*send(s, cid, t["ann"], text="n", private=True, mentions=ids), 400, "invalid_mention")
        ok(*s.request("POST", "/v1/conversations/%s/assign" % cid, {"assignee_id": t["uid"]["sue"]},
                      token=t["owner"])[:2])
        e = err(*send(s, cid, t["sue"], text="n", private=True, mentions=[t["uid"]["ben"]]), 400, "invalid_mention")
        assert t["uid"]["ben"] in e["message"], e
        ok(*send(s, cid, t["sue"], text="n", private=True, mentions=[t["uid"]["owner"] if "owner" in t["uid"] else
                                                                     t["uid"]["sue"]]), 201)
        err(*send(s, cid, t["sue"], text="n", mentions=[t["uid"]["sue"]]), 400, "invalid_field", "mentions")
        for bad in ("x", [1], ["abc"], [str(i) for i in range(1, 23)]):
            st, b = send(s, cid, t["sue"], text="n", private=True, mentions=bad)
            assert st == 400 and b["error"]["code"] in ("invalid_field", "invalid_mention"), (bad, st, b)
        assert ok(*s.request("GET", "/v1/mentions", token=t["ben"])[:2])["count"] == 0


if __name__ == "__main__":
    main([test_canned_send, test_tags, test_attributes, test_mentions])
