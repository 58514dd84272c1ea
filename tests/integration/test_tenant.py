"""The tenant's settings over the API (docs/openapi.yaml, tag tenant):
reading (everyone signed in), changing (owners and admins), validation of
every field, the live `tenant.updated` notice, and that a change is what
the server then uses (allowed origins on the widget's WebSocket, the time
zone across a restart).
"""
import http.client

from harness import WS, Server, err, main, ok, run

PW = "a-good-password-1"
TENANT_FIELDS = {"id", "name", "slug", "widget_key", "allowed_origins", "widget", "timezone", "auto_close_s",
                 "prechat", "transcript_on_close", "rating_window_s"}




def is_tenant(t):
    assert set(t) == TENANT_FIELDS, sorted(t)
    assert set(t["widget"]) == {"color", "greeting", "position"}, t
    assert isinstance(t["allowed_origins"], list), t
    return t


def member(s, tok, email, role):
    st, inv, _ = s.request("POST", "/v1/users", {"email": email, "name": "X", "role": role}, token=tok)
    assert st == 201, (st, inv)
    ok(*s.request("POST", "/v1/auth/set-password", {"token": inv["invite_token"], "password": PW})[:2])
    return s.login(email, PW)["access_token"]


def get(s, tok):
    return is_tenant(ok(*s.request("GET", "/v1/tenant", token=tok)[:2]))


def patch(s, tok, body):
    return s.request("PATCH", "/v1/tenant", body, token=tok)[:2]


def test_read():
    with Server() as s:
        tok = s.login()["access_token"]
        t = get(s, tok)
        assert t["name"] == "Demo" and t["slug"] == "demo" and t["widget_key"] == s.widget_key, t
        assert t["allowed_origins"] == ["*"], t
        assert t["widget"] == {"color": "#1f6feb", "greeting": "", "position": "right"}, t
        assert t["timezone"] == "UTC", t
        # every role reads it
        for role in ("agent", "supervisor", "admin"):
            assert get(s, member(s, tok, role + ".user@demo.parley", role)) == t
        err(*s.request("GET", "/v1/tenant")[:2], 401, "unauthenticated")
        err(*s.request("GET", "/v1/tenant", token=s.visitor()["visitor_token"])[:2], 401, "unauthenticated")
        # each tenant sees its own
        s.new_tenant("acme", name="Acme", origins="https://acme.example,http://localhost:3000")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        a = get(s, s.login("boss@acme.example", PW)["access_token"])
        assert a["slug"] == "acme" and a["allowed_origins"] == ["https://acme.example", "http://localhost:3000"], a
        assert a["id"] != t["id"], a


def test_change():
    with Server() as s:
        tok = s.login()["access_token"]
        before = get(s, tok)
        t = ok(*patch(s, tok, {"name": "Demo Shop", "allowed_origins": ["https://shop.example",
                                                                         "http://localhost:8081"],
                                "widget": {"color": "#AA00ff", "greeting": "Hej! Wie können wir helfen?",
                                           "position": "left"},
                                "timezone": "Europe/Berlin"}))
        assert is_tenant(t) == get(s, tok), t
        assert t["name"] == "Demo Shop" and t["allowed_origins"] == ["https://shop.example", "http://localhost:8081"]
        assert t["widget"]["color"].lower() == "#aa00ff" and t["widget"]["position"] == "left", t
        assert t["widget"]["greeting"] == "Hej! Wie können wir helfen?", t
        assert t["timezone"] == "Europe/Berlin" and t["auto_close_s"] == 0, t
        t = ok(*patch(s, tok, {"auto_close_s": 86400}))
        assert t["auto_close_s"] == 86400 and t["timezone"] == "Europe/Berlin", t
        assert (t["id"], t["slug"], t["widget_key"]) == (before["id"], before["slug"], before["widget_key"])
        # partial: what is left out stays, the widget object too
        t = ok(*patch(s, tok, {"widget": {"greeting": ""}}))
        assert t["widget"] == {"color": t["widget"]["color"], "greeting": "", "position": "left"}, t
        assert t["name"] == "Demo Shop" and t["timezone"] == "Europe/Berlin", t
        t2 = ok(*patch(s, tok, {}))
        assert t2 == t, (t2, t)
        # an empty list of origins: the widget is only for this server's own pages
        t = ok(*patch(s, tok, {"allowed_origins": []}))
        assert t["allowed_origins"] == [], t
        ok(*patch(s, tok, {"allowed_origins": ["*"], "timezone": "America/Argentina/ComodRivadavia"}))
        # admins may, supervisors and agents may not
        adm = member(s, tok, "adm@demo.parley", "admin")
        assert ok(*patch(s, adm, {"name": "By Admin"}))["name"] == "By Admin"
        for role in ("supervisor", "agent"):
            err(*patch(s, member(s, tok, role + "@demo.parley", role), {"name": "Nope"}), 403, "forbidden")
        assert get(s, tok)["name"] == "By Admin"
        # the settings survive a restart
        s.restart()
        t = get(s, s.login()["access_token"])
        assert t["timezone"] == "America/Argentina/ComodRivadavia" and t["name"] == "By Admin", t
        # another tenant is untouched
        s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        acme = s.login("boss@acme.example", PW)["access_token"]
        a = get(s, acme)
        assert a["name"] == "Acme" and a["timezone"] == "UTC", a
        ok(*patch(s, acme, {"name": "Acme Inc"}))
        assert get(s, s.login()["access_token"])["name"] == "By Admin"


def test_validation():
    with Server("--max-body", "8192") as s:
        tok = s.login()["access_token"]
        before = get(s, tok)
        cases = [
            ({"name": ""}, "name"), ({"name": "n" * 129}, "name"), ({"name": 5}, "name"), ({"name": None}, "name"),
            ({"allowed_origins": "https://a.example"}, "allowed_origins"),
            ({"allowed_origins": [5]}, "allowed_origins"),
            ({"allowed_origins": ["ftp://a.example"]}, "allowed_origins"),
            ({"allowed_origins": ["https://"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a.example/path"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a.example/"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a.example:99999"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a.example:"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a b.example"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a.example,https://b.example"]}, "allowed_origins"),
            ({"allowed_origins": ["a.example"]}, "allowed_origins"),
            ({"allowed_origins": ["https://u@a.example"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a%2e.example"]}, "allowed_origins"),
            ({"allowed_origins": ["*x"]}, "allowed_origins"),
            ({"allowed_origins": ["https://a%d.example" % i for i in range(51)]}, "allowed_origins"),
            ({"allowed_origins": ["https://%s.example" % ("x" * 40 + str(i)) for i in range(30)]}, "allowed_origins"),
            ({"widget": "blue"}, "widget"),
            ({"widget": {"color": "red"}}, "color"), ({"widget": {"color": "#12345"}}, "color"),
            ({"widget": {"color": "#1234567"}}, "color"), ({"widget": {"color": "#12345g"}}, "color"),
            ({"widget": {"color": 0x123456}}, "color"),
            ({"widget": {"greeting": "g" * 501}}, "greeting"), ({"widget": {"greeting": "é" * 251}}, "greeting"),
            ({"widget": {"greeting": 1}}, "greeting"),
            ({"widget": {"position": "top"}}, "position"), ({"widget": {"position": "Left"}}, "position"),
            ({"widget": {"size": "xl"}}, "size"),
            ({"timezone": "Mars/Olympus"}, "timezone"), ({"timezone": ""}, "timezone"),
            ({"auto_close_s": -1}, "auto_close_s"), ({"auto_close_s": 59}, "auto_close_s"),
            ({"auto_close_s": 31622401}, "auto_close_s"), ({"auto_close_s": "3600"}, "auto_close_s"),
            ({"timezone": "../../etc/passwd"}, "timezone"), ({"timezone": "/etc/localtime"}, "timezone"),
            ({"timezone": "Europe/Berlin "}, "timezone"), ({"timezone": "Europe"}, "timezone"),
            ({"timezone": "x" * 65}, "timezone"), ({"timezone": 1}, "timezone"),
            ({"id": "1"}, "id"), ({"slug": "other"}, "slug"), ({"widget_key": "wk_mine"}, "widget_key"),
            ({"colour": "#000000"}, "colour"),
        ]
        for body, field in cases:
            err(*patch(s, tok, body), 400, "invalid_field", field)
        # one bad field refuses the whole change
        err(*patch(s, tok, {"name": "Fine", "widget": {"color": "#000000", "position": "middle"}}),
            400, "invalid_field", "position")
        for raw in (b"", b"{", b"[]", b"null", b'{"name":"a","name":"b"}'):
            st, b, _ = s.request("PATCH", "/v1/tenant", raw_body=raw, token=tok,
                                 headers={"Content-Type": "application/json"})
            err(st, b, 400, "invalid_json")
        st, b, _ = s.request("PATCH", "/v1/tenant", raw_body=b"{}", token=tok, headers={"Content-Type": "text/plain"})
        err(st, b, 415, "unsupported_media_type")
        err(*patch(s, tok, {"widget": {"greeting": "g" * 9000}}), 413, "too_large")
        assert get(s, tok) == before
        # the limits themselves are fine
        t = ok(*patch(s, tok, {"name": "n" * 128, "widget": {"greeting": "é" * 250},
                               "allowed_origins": ["https://a%d.io" % i for i in range(50)]}))
        assert len(t["allowed_origins"]) == 50 and t["widget"]["greeting"] == "é" * 250, t


def test_origins_apply_to_the_widget():
    with Server() as s:
        tok = s.login()["access_token"]

        def upgrade(origin):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
            c.request("GET", "/v1/widget/ws?key=" + s.widget_key, headers={
                "Origin": origin, "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
            st = c.getresponse().status
            c.close()
            return st

        assert upgrade("https://shop.example") == 101
        ok(*patch(s, tok, {"allowed_origins": ["https://shop.example"]}))
        assert upgrade("https://shop.example") == 101
        assert upgrade("https://evil.example") == 403
        ok(*patch(s, tok, {"allowed_origins": ["https://other.example"]}))
        assert upgrade("https://shop.example") == 403


def test_tenant_updated_notice():
    with Server() as s:
        tok = s.login()["access_token"]
        agt = member(s, tok, "agt@demo.parley", "agent")
        s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        acme_tok = s.login("boss@acme.example", PW)["access_token"]

        async def go():
            watchers = []
            for t in (tok, agt, acme_tok):
                c = await WS.connect(s.ws_url(), token=t)
                ack = await c.request({"type": "subscribe_inbox", "after": 0})
                assert ack["type"] == "ack", ack
                watchers.append(c)
            t = ok(*patch(s, tok, {"widget": {"color": "#123456"}, "timezone": "Asia/Kolkata"}))
            for c in watchers[:2]:
                f = await c.wait_for(lambda f: f.get("type") == "inbox" and f.get("event") == "tenant.updated")
                assert set(f) == {"type", "event", "tenant"} and f["tenant"] == t, f
            # a refused change announces nothing; the other tenant heard nothing
            err(*patch(s, tok, {"timezone": "Nowhere/Land"}), 400, "invalid_field", "timezone")
            for c in watchers:
                pong = await c.request({"type": "ping"})
                assert pong["type"] == "ack", pong
                assert not [f for f in c.pending if f.get("event") == "tenant.updated"], c.pending
            for c in watchers:
                await c.close()
        run(go())


if __name__ == "__main__":
    main([test_read, test_change, test_validation, test_origins_apply_to_the_widget, test_tenant_updated_notice])
