"""Ratings (docs/openapi.yaml, tag ratings): the visitor rates their own
conversation 1 to 5 with an optional comment once it is resolved or
closed, once per conversation even across a reopen, within the tenant's
rating window (default 7 days, counted from the resolve or close; the
server's clock moved with --clock-offset-ms across restarts); every bad
input refused; the rating stored with who had the conversation, shown on
GET /v1/conversations/{id}, sent live to the agents (a `rating` event),
to the webhooks (`rating.created`, signed, with score, comment, agent and
department) and kept in the history and the transcripts; markup in the
comment stays text.
"""
import json

from harness import WS, Server, err, main, ok, run
from test_webhooks import Receiver, hook

ALLOW = ("--outbound-allow", "127.0.0.1/32")
HOSTILE = "<script>alert(1)</script> \"q\" & </style> <img src=x onerror=alert(2)>"
PW = "a-good-password-1"


def rate(s, vtok, cid, body):
    return s.request("POST", "/v1/widget/conversations/%s/rating" % cid, body, token=vtok)[:2]


def status(s, tok, cid, st):
    return ok(*s.request("PATCH", "/v1/conversations/%s" % cid, {"status": st}, token=tok)[:2])


def test_rules_and_bad_input():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Rita")
        vtok = v["visitor_token"]
        c = s.new_conversation(vtok, "help")
        cid = c["id"]
        assert c["rating"] is None, c
        # not yet resolved
        err(*rate(s, vtok, cid, {"score": 5}), 409, "not_resolved")
        status(s, tok, cid, "pending")
        err(*rate(s, vtok, cid, {"score": 5}), 409, "not_resolved")
        status(s, tok, cid, "resolved")
        # bad input, checked before anything else
        for body, field in [({}, "score"), ({"score": 0}, "score"), ({"score": 6}, "score"),
                            ({"score": -1}, "score"), ({"score": "5"}, "score"), ({"score": 4.5}, "score"),
                            ({"score": None}, "score"), ({"score": True}, "score"),
                            ({"score": 5, "comment": "x" * 1001}, "comment"),
                            ({"score": 5, "comment": 7}, "comment"), ({"score": 5, "stars": 5}, "stars")]:
            err(*rate(s, vtok, cid, body), 400, "invalid_field", field)
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/rating" % cid, raw_body=b"{nope",
                             token=vtok, headers={"Content-Type": "application/json"})
        err(st, b, 400, "invalid_json")
        # someone else's conversation, an agent, nobody, a made-up id
        other = s.visitor("Mallory")["visitor_token"]
        err(*rate(s, other, cid, {"score": 1}), 404, "not_found")
        err(*rate(s, tok, cid, {"score": 1}), 401, "unauthenticated")
        err(*rate(s, None, cid, {"score": 1}), 401, "unauthenticated")
        err(*rate(s, vtok, "123456789", {"score": 1}), 404, "not_found")
        err(*rate(s, vtok, "abc", {"score": 1}), 404, "not_found")
        # the comment may be empty or left out; exactly 1,000 bytes is fine
        r = ok(*rate(s, vtok, cid, {"score": 1, "comment": "é" * 500}), 201)
        assert r["score"] == 1 and r["comment"] == "é" * 500 and r["agent"] is None, r
        # once: again, and after a reopen and a second resolve
        err(*rate(s, vtok, cid, {"score": 5}), 409, "already_rated")
        ok(*s.request("POST", "/v1/widget/conversations/%s/messages" % cid, {"text": "back", "client_id": "b1"},
                      token=vtok)[:2], 201)
        assert ok(*s.request("GET", "/v1/conversations/%s" % cid, token=tok)[:2])["status"] != "resolved"
        status(s, tok, cid, "closed")
        err(*rate(s, vtok, cid, {"score": 5}), 409, "already_rated")
        got = ok(*s.request("GET", "/v1/conversations/%s" % cid, token=tok)[:2])
        assert got["rating"] == 1 and got["rating_details"]["score"] == 1, got
        # a closed conversation may be rated; no comment at all
        c2 = s.new_conversation(vtok, "again", "c2")
        status(s, tok, c2["id"], "closed")
        r = ok(*rate(s, vtok, c2["id"], {"score": 3}), 201)
        assert r["comment"] == "", r


def test_recorded_and_announced():
    rx = Receiver()
    with Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        me = ok(*s.request("GET", "/v1/auth/me", token=tok)[:2])
        h = hook(s, tok, rx.url, ["rating.created"])
        v = s.visitor("Rob " + HOSTILE)
        vtok = v["visitor_token"]
        c = s.new_conversation(vtok, "hi")
        cid = c["id"]
        ok(*s.request("POST", "/v1/conversations/%s/assign" % cid, token=tok)[:2])
        status(s, tok, cid, "resolved")

        async def go():
            agent = await WS.connect(s.ws_url(), tok)
            vis = await WS.connect(s.ws_url(widget=True), vtok)
            for w in (agent, vis):
                a = await w.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
                assert a["type"] == "ack", a
            r = ok(*rate(s, vtok, cid, {"score": 5, "comment": HOSTILE}), 201)
            assert r["score"] == 5 and r["comment"] == HOSTILE, r
            assert r["agent"] == {"id": me["id"], "name": me["name"]}, (r, me)
            for w in (agent, vis):
                f = await w.wait_for(lambda f: f.get("type") == "event" and f.get("kind") == "rating")
                assert f["score"] == 5 and f["comment"] == HOSTILE and f["sender"]["type"] == "visitor", f
            await agent.close()
            await vis.close()
        run(go())
        got = ok(*s.request("GET", "/v1/conversations/%s" % cid, token=tok)[:2])
        d = got["rating_details"]
        assert got["rating"] == 5 and d["comment"] == HOSTILE and d["agent"]["id"] == me["id"], got
        assert d["department_id"] == got["department_id"] and isinstance(d["department_id"], str), (d, got)
        # the history (agents and visitor), the transcript with the comment escaped
        ev = ok(*s.request("GET", "/v1/widget/conversations/%s/messages" % cid, token=vtok)[:2])
        assert [e for e in ev["data"] if e["kind"] == "rating"][0]["score"] == 5, ev
        st, html, _ = s.request("GET", "/v1/conversations/%s/transcript?format=html" % cid, token=tok)
        assert st == 200 and "rated the conversation 5/5" in html, html
        assert "<img" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html, html
        # the webhook: signed, with score, comment, agent and department
        reqs = rx.wait(lambda rs: len(rs) >= 1, what="rating.created")
        body = reqs[0]["json"]
        assert reqs[0]["headers"]["Parley-Event"] == "rating.created" and body["event"] == "rating.created", body
        data = body["data"]
        assert data["conversation"]["id"] == cid and data["conversation"]["rating"] == 5, data
        assert data["rating"]["score"] == 5 and data["rating"]["comment"] == HOSTILE, data
        assert data["rating"]["agent"] == {"id": me["id"], "name": me["name"]}, data
        assert data["rating"]["department_id"] == data["conversation"]["department_id"] is not None, data
        assert h["id"]
    rx.close()


def test_window():
    """Counted from the resolve or close, with the server's clock moved
    forward across restarts (its data kept)."""
    s = Server()
    try:
        tok = s.login()["access_token"]
        ok(*s.request("PATCH", "/v1/tenant", {"rating_window_s": 3600}, token=tok)[:2])
        vtok = s.visitor("Win")["visitor_token"]
        ids = []
        for i in range(3):
            c = s.new_conversation(vtok, "q%d" % i, "w%d" % i)
            status(s, tok, c["id"], "resolved")
            ids.append(c["id"])
        # 59 minutes later: still open
        s.extra += ["--clock-offset-ms", str(59 * 60 * 1000)]
        s.restart()
        ok(*rate(s, vtok, ids[0], {"score": 4}), 201)
        # 61 minutes later: over; the default window (7 days) lets it through
        s.extra[-1] = str(61 * 60 * 1000)
        s.restart()
        err(*rate(s, vtok, ids[1], {"score": 4}), 409, "rating_window_over")
        err(*rate(s, vtok, ids[0], {"score": 4}), 409, "already_rated")
        tok = s.login()["access_token"]
        ok(*s.request("PATCH", "/v1/tenant", {"rating_window_s": 0}, token=tok)[:2])
        ok(*rate(s, vtok, ids[1], {"score": 2}), 201)
        # 8 days later: over with the default too
        s.extra[-1] = str(8 * 86400 * 1000)
        s.restart()
        err(*rate(s, vtok, ids[2], {"score": 4}), 409, "rating_window_over")
    finally:
        s.close()


if __name__ == "__main__":
    main([test_rules_and_bad_input, test_recorded_and_announced, test_window])
