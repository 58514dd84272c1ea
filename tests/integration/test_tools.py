"""Agents' tools against the real server (docs/openapi.yaml, tags canned,
tags, attributes): canned responses, the tag list, custom attribute
definitions and visitors' values.

- canned responses: the tenant's (admins) and each agent's own; the list
  shows the caller's own and the tenant's, searched by shortcode or word
  prefix; shortcodes unique per owner; another agent's own is 404 to
  everyone else; HTML and script stored as sent; every bad field 400;
- tags: names unique case-folded, colours #rrggbb, delete counts;
- attribute definitions and visitors' values: typed validation (unknown
  key, wrong type naming the key), a type change refused while values
  exist unless ?convert=drop, which says how many were dropped;
- per-tenant limits (--max-canned, --max-tags, --max-attribute-defs): 409
  limit_reached; another tenant's records are 404.
The permission matrix of these routes is test_permissions.py.
"""
from harness import Server, err, main, ok

PASSWORD = "tools-password-1"
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def users(s):
    """Tokens: owner (demo), two agents and a supervisor of the demo tenant,
    and the owner of tenant "other"."""
    t = {"owner": s.login()["access_token"]}
    t["uid"] = {}
    for name, role in (("ann", "agent"), ("ben", "agent"), ("sue", "supervisor"), ("adam", "admin")):
        t["uid"][name] = s.new_user("demo", "%s@demo.parley" % name, PASSWORD, role=role, name=name.title())
        t[name] = s.login("%s@demo.parley" % name, PASSWORD)["access_token"]
    s.new_tenant("other", "Other")
    s.new_user("other", "owner@other.test", PASSWORD, role="owner", name="Other Owner")
    t["other"] = s.login("owner@other.test", PASSWORD, tenant="other")["access_token"]
    return t


def canned_list(s, tok, q=None):
    path = "/v1/canned" + ("?q=" + q if q is not None else "")
    return ok(*s.request("GET", path, token=tok)[:2])["data"]


def test_canned():
    with Server() as s:
        t = users(s)
        post = lambda path, body, who: s.request("POST", path, body, token=t[who])[:2]
        ten = ok(*post("/v1/canned", {"shortcode": "refund", "title": "Refund policy",
                                      "body": "Hi {{visitor.name}}, refunds take 5 days. {{agent.name}}"}, "owner"), 201)
        assert ten["scope"] == "tenant" and ten["owner_id"] is None and ten["shortcode"] == "refund", ten
        ann = ok(*post("/v1/me/canned", {"shortcode": "refund", "title": "My refund", "body": "My own words"}, "ann"),
                 201)
        assert ann["scope"] == "personal" and ann["owner_id"] == t["uid"]["ann"], ann
        ok(*post("/v1/me/canned", {"shortcode": "hello", "title": "Greeting", "body": "Hello there"}, "ben"), 201)
        # the same shortcode twice for one owner
        err(*post("/v1/canned", {"shortcode": "refund", "title": "x", "body": "y"}, "adam"), 409, "shortcode_taken")
        err(*post("/v1/me/canned", {"shortcode": "refund", "title": "x", "body": "y"}, "ann"), 409,
            "shortcode_taken")
        # lists: own + tenant's, never another agent's
        assert {c["id"] for c in canned_list(s, t["ann"])} == {ten["id"], ann["id"]}
        assert {c["title"] for c in canned_list(s, t["ben"])} == {"Refund policy", "Greeting"}
        assert {c["id"] for c in canned_list(s, t["owner"])} == {ten["id"]}
        # search: shortcode prefix (a leading / or capitals are fine), word prefix of title or body
        assert {c["id"] for c in canned_list(s, t["ann"], "ref")} == {ten["id"], ann["id"]}
        assert {c["id"] for c in canned_list(s, t["ann"], "%2FREF")} == {ten["id"], ann["id"]}
        assert {c["id"] for c in canned_list(s, t["ann"], "polic")} == {ten["id"]}
        assert {c["id"] for c in canned_list(s, t["ann"], "words")} == {ann["id"]}
        assert {c["id"] for c in canned_list(s, t["ann"], "ords")} == set()
        assert canned_list(s, t["ann"], "") and canned_list(s, t["other"]) == []
        err(*s.request("GET", "/v1/canned?q=" + "a" * 200, token=t["ann"])[:2], 400, "invalid_field", "q")
        # another agent's own: 404 on every route, admins included; the tenant's through /v1/me: 404
        for who in ("ben", "owner", "other"):
            err(*s.request("PATCH", "/v1/me/canned/" + ann["id"], {"title": "mine"}, token=t[who])[:2], 404,
                "not_found")
            err(*s.request("DELETE", "/v1/me/canned/" + ann["id"], token=t[who])[:2], 404, "not_found")
        err(*s.request("PATCH", "/v1/canned/" + ann["id"], {"title": "x"}, token=t["owner"])[:2], 404, "not_found")
        err(*s.request("PATCH", "/v1/me/canned/" + ten["id"], {"title": "x"}, token=t["owner"])[:2], 404,
            "not_found")
        err(*s.request("PATCH", "/v1/canned/" + ten["id"], {"title": "x"}, token=t["other"])[:2], 404, "not_found")
        # agents do not write the tenant's
        err(*post("/v1/canned", {"shortcode": "x", "title": "x", "body": "y"}, "ann"), 403, "forbidden")
        err(*s.request("PATCH", "/v1/canned/" + ten["id"], {"title": "x"}, token=t["sue"])[:2], 403, "forbidden")
        # changes: a new shortcode frees the old one
        up = ok(*s.request("PATCH", "/v1/me/canned/" + ann["id"], {"shortcode": "money-back"}, token=t["ann"])[:2])
        assert up["shortcode"] == "money-back" and up["title"] == "My refund", up
        ok(*post("/v1/me/canned", {"shortcode": "refund", "title": "again", "body": "b"}, "ann"), 201)
        err(*s.request("PATCH", "/v1/me/canned/" + ann["id"], {"shortcode": "refund"}, token=t["ann"])[:2], 409,
            "shortcode_taken")
        # HTML and script: stored and answered as sent
        x = ok(*post("/v1/canned", {"shortcode": "xss", "title": XSS, "body": XSS + " {{visitor.name}}"}, "owner"),
               201)
        assert x["title"] == XSS and x["body"] == XSS + " {{visitor.name}}", x
        assert any(c["title"] == XSS for c in canned_list(s, t["ben"]))
        # delete
        gone = ok(*s.request("DELETE", "/v1/canned/" + x["id"], token=t["owner"])[:2])
        assert gone["id"] == x["id"], gone
        err(*s.request("DELETE", "/v1/canned/" + x["id"], token=t["owner"])[:2], 404, "not_found")
        ok(*s.request("DELETE", "/v1/me/canned/" + ann["id"], token=t["ann"])[:2])
        assert ann["id"] not in {c["id"] for c in canned_list(s, t["ann"])}


def test_canned_bad_input():
    with Server() as s:
        tok = s.login()["access_token"]
        post = lambda body: s.request("POST", "/v1/canned", body, token=tok)[:2]
        good = {"shortcode": "ok", "title": "Title", "body": "Body"}
        cases = [
            ({"title": "t", "body": "b"}, "shortcode"),
            (dict(good, shortcode=""), "shortcode"),
            (dict(good, shortcode="/refund"), "shortcode"),
            (dict(good, shortcode="Refund"), "shortcode"),
            (dict(good, shortcode="has space"), "shortcode"),
            (dict(good, shortcode="é"), "shortcode"),
            (dict(good, shortcode="a" * 33), "shortcode"),
            (dict(good, shortcode=7), "shortcode"),
            (dict(good, title=""), "title"),
            (dict(good, title="t" * 129), "title"),
            ({"shortcode": "ok", "body": "b"}, "title"),
            (dict(good, body=""), "body"),
            (dict(good, body="b" * 4001), "body"),
            (dict(good, body=None), "body"),
            (dict(good, owner_id="1"), "owner_id"),
        ]
        for body, field in cases:
            err(*post(body), 400, "invalid_field", field)
        # the limits are inclusive
        b = ok(*post(dict(good, shortcode="a" * 32, title="t" * 128, body="b" * 4000)), 201)
        assert len(b["body"]) == 4000
        # unknown placeholders are stored as written
        b = ok(*post(dict(good, shortcode="ph", body="{{visitor.phone}} {{ nope }} {{visitor.name")), 201)
        assert b["body"] == "{{visitor.phone}} {{ nope }} {{visitor.name", b
        err(*s.request("PATCH", "/v1/canned/" + b["id"], {"body": ""}, token=tok)[:2], 400, "invalid_field", "body")
        err(*s.request("PATCH", "/v1/canned/" + b["id"], {"scope": "x"}, token=tok)[:2], 400, "invalid_field",
            "scope")
        for cid in ["0", "abc", "99999999"]:
            err(*s.request("PATCH", "/v1/canned/" + cid, {"title": "x"}, token=tok)[:2], 404, "not_found")
        st, b, _ = s.request("POST", "/v1/canned", token=tok, raw_body=b"{not json",
                             headers={"Content-Type": "application/json"})
        assert st == 400, (st, b)


def test_tags():
    with Server() as s:
        t = users(s)
        post = lambda body, who="owner": s.request("POST", "/v1/tags", body, token=t[who])[:2]
        a = ok(*post({"name": "Billing", "color": "#AA00ff"}), 201)
        assert a["name"] == "Billing" and a["color"] == "#AA00ff", a
        d = ok(*post({"name": XSS}), 201)
        assert d["name"] == XSS and d["color"] == "#6e7781", d
        err(*post({"name": "billing"}), 409, "tag_exists")
        err(*post({"name": "BILLING", "color": "#000000"}, "adam"), 409, "tag_exists")
        err(*post({"name": "x"}, "sue"), 403, "forbidden")
        for body, field in [({}, "name"), ({"name": ""}, "name"), ({"name": "n" * 129}, "name"),
                            ({"name": "n", "color": "red"}, "color"), ({"name": "n", "color": "#12345"}, "color"),
                            ({"name": "n", "color": "#gg0000"}, "color"), ({"name": "n", "colour": "#000000"},
                                                                           "colour")]:
            err(*post(body), 400, "invalid_field", field)
        # everyone of the tenant reads the list; another tenant sees its own
        names = [g["name"] for g in ok(*s.request("GET", "/v1/tags", token=t["ann"])[:2])["data"]]
        assert names == ["Billing", XSS], names
        assert ok(*s.request("GET", "/v1/tags", token=t["other"])[:2])["data"] == []
        ok(*s.request("POST", "/v1/tags", {"name": "billing"}, token=t["other"])[:2], 201)   # their own namespace
        err(*s.request("PATCH", "/v1/tags/" + a["id"], {"name": "x"}, token=t["other"])[:2], 404, "not_found")
        err(*s.request("DELETE", "/v1/tags/" + a["id"], token=t["other"])[:2], 404, "not_found")
        # rename: its own name in another case is fine; a taken one is not
        assert ok(*s.request("PATCH", "/v1/tags/" + a["id"], {"name": "BILLING"}, token=t["owner"])[:2])["name"] == \
            "BILLING"
        err(*s.request("PATCH", "/v1/tags/" + d["id"], {"name": "billing"}, token=t["owner"])[:2], 409, "tag_exists")
        g = ok(*s.request("DELETE", "/v1/tags/" + a["id"], token=t["owner"])[:2])
        assert g["id"] == a["id"] and g["conversations"] == 0, g
        ok(*post({"name": "billing"}), 201)   # the name is free again


def test_attributes():
    with Server() as s:
        t = users(s)
        post = lambda body, who="owner": s.request("POST", "/v1/attributes", body, token=t[who])[:2]
        plan = ok(*post({"owner": "visitor", "key": "plan", "label": XSS, "type": "text"}), 201)
        assert plan["label"] == XSS and plan["type"] == "text" and plan["owner"] == "visitor", plan
        seats = ok(*post({"owner": "visitor", "key": "seats", "type": "number"}), 201)
        assert seats["label"] == "seats", seats
        ok(*post({"owner": "visitor", "key": "vip", "type": "boolean"}), 201)
        ok(*post({"owner": "visitor", "key": "renewal", "type": "date"}), 201)
        ok(*post({"owner": "conversation", "key": "plan", "type": "text"}), 201)   # same key, other owner kind
        err(*post({"owner": "visitor", "key": "plan", "type": "number"}), 409, "attribute_exists")
        err(*post({"owner": "visitor", "key": "x", "type": "text"}, "sue"), 403, "forbidden")
        for body, field in [({"key": "k", "type": "text"}, "owner"), ({"owner": "user", "key": "k", "type": "text"},
                                                                      "owner"),
                            ({"owner": "visitor", "type": "text"}, "key"),
                            ({"owner": "visitor", "key": "Bad", "type": "text"}, "key"),
                            ({"owner": "visitor", "key": "a-b", "type": "text"}, "key"),
                            ({"owner": "visitor", "key": "k" * 65, "type": "text"}, "key"),
                            ({"owner": "visitor", "key": "k"}, "type"),
                            ({"owner": "visitor", "key": "k", "type": "datetime"}, "type"),
                            ({"owner": "visitor", "key": "k", "type": "text", "label": ""}, "label"),
                            ({"owner": "visitor", "key": "k", "type": "text", "label": "l" * 129}, "label")]:
            err(*post(body), 400, "invalid_field", field)
        defs = ok(*s.request("GET", "/v1/attributes?owner=visitor", token=t["ann"])[:2])["data"]
        assert [d["key"] for d in defs] == ["plan", "seats", "vip", "renewal"], defs
        assert len(ok(*s.request("GET", "/v1/attributes", token=t["ann"])[:2])["data"]) == 5
        err(*s.request("GET", "/v1/attributes?owner=x", token=t["ann"])[:2], 400, "invalid_field", "owner")
        assert ok(*s.request("GET", "/v1/attributes", token=t["other"])[:2])["data"] == []

        # a visitor's values
        vis = s.visitor("Val")
        vid = vis["visitor"]["id"]
        path = "/v1/visitors/%s/attributes" % vid
        patch = lambda body, who="sue": s.request("PATCH", path, body, token=t[who])[:2]
        got = ok(*patch({"plan": XSS, "seats": 3, "vip": True, "renewal": "2027-02-28"}))["attributes"]
        assert got == {"plan": XSS, "seats": 3, "vip": True, "renewal": "2027-02-28"}, got
        for body, code, key in [({"colour": "red"}, "unknown_attribute", "colour"),
                                ({"seats": "3"}, "invalid_attribute_value", "seats"),
                                ({"vip": "yes"}, "invalid_attribute_value", "vip"),
                                ({"vip": 1}, "invalid_attribute_value", "vip"),
                                ({"renewal": "2027-02-29"}, "invalid_attribute_value", "renewal"),
                                ({"renewal": "28/02/2027"}, "invalid_attribute_value", "renewal"),
                                ({"plan": 5}, "invalid_attribute_value", "plan"),
                                ({"plan": "p" * 1001}, "invalid_attribute_value", "plan"),
                                ({"seats": [1]}, "invalid_attribute_value", "seats")]:
            e = err(*patch(body), 400, code)
            assert key in e["message"], (e, key)
        got = ok(*s.request("GET", path, token=t["sue"])[:2])["attributes"]
        assert got["seats"] == 3 and got["plan"] == XSS, got
        got = ok(*patch({"plan": None, "seats": 2.5}))["attributes"]
        assert got == {"seats": 2.5, "vip": True, "renewal": "2027-02-28"}, got
        # agents: only visitors of conversations they may read; other tenants: 404
        err(*patch({"vip": False}, "ann"), 404, "not_found")
        err(*s.request("GET", path, token=t["ann"])[:2], 404, "not_found")
        conv = s.new_conversation(vis["visitor_token"], "hello", "a1")
        assert conv["id"]
        ok(*patch({"vip": False}, "ann"))   # an unassigned conversation of the visitor: agents may read it
        err(*patch({"vip": False}, "other"), 404, "not_found")
        err(*s.request("PATCH", "/v1/visitors/99999/attributes", {}, token=t["sue"])[:2], 404, "not_found")
        err(*s.request("PATCH", path, [1], token=t["sue"])[:2], 400, "invalid_json")

        # changing a type while values exist
        other = s.visitor("Two")
        ok(*s.request("PATCH", "/v1/visitors/%s/attributes" % other["visitor"]["id"], {"seats": 10},
                      token=t["owner"])[:2])
        e = err(*s.request("PATCH", "/v1/attributes/" + seats["id"], {"type": "text"}, token=t["owner"])[:2], 409,
                "attribute_in_use")
        assert "2 records" in e["message"], e
        err(*s.request("PATCH", "/v1/attributes/%s?convert=keep" % seats["id"], {"type": "text"},
                       token=t["owner"])[:2], 400, "invalid_field", "convert")
        r = ok(*s.request("PATCH", "/v1/attributes/%s?convert=drop" % seats["id"], {"type": "text"},
                          token=t["owner"])[:2])
        assert r["type"] == "text" and r["dropped"] == 2, r
        got = ok(*s.request("GET", path, token=t["sue"])[:2])["attributes"]
        assert "seats" not in got and got["vip"] is False, got
        # a label change alone, and a type change without values, need nothing
        r = ok(*s.request("PATCH", "/v1/attributes/" + seats["id"], {"label": "Seats", "type": "number"},
                          token=t["owner"])[:2])
        assert r["label"] == "Seats" and r["dropped"] == 0, r
        err(*s.request("PATCH", "/v1/attributes/" + seats["id"], {"key": "x"}, token=t["owner"])[:2], 400,
            "invalid_field", "key")
        err(*s.request("PATCH", "/v1/attributes/" + seats["id"], {"label": "x"}, token=t["other"])[:2], 404,
            "not_found")
        # deleting a definition hides its values
        ok(*s.request("DELETE", "/v1/attributes/" + plan["id"], token=t["owner"])[:2])
        err(*patch({"plan": "x"}), 400, "unknown_attribute")


def test_limits():
    with Server("--max-canned", "2", "--max-tags", "1", "--max-attribute-defs", "1") as s:
        tok = s.login()["access_token"]
        s.new_user("demo", "ann@demo.parley", PASSWORD, role="agent")
        ann = s.login("ann@demo.parley", PASSWORD)["access_token"]
        ok(*s.request("POST", "/v1/canned", {"shortcode": "a", "title": "t", "body": "b"}, token=tok)[:2], 201)
        mine = ok(*s.request("POST", "/v1/me/canned", {"shortcode": "a", "title": "t", "body": "b"},
                             token=ann)[:2], 201)
        err(*s.request("POST", "/v1/me/canned", {"shortcode": "b", "title": "t", "body": "b"}, token=ann)[:2], 409,
            "limit_reached")
        err(*s.request("POST", "/v1/canned", {"shortcode": "b", "title": "t", "body": "b"}, token=tok)[:2], 409,
            "limit_reached")
        ok(*s.request("DELETE", "/v1/me/canned/" + mine["id"], token=ann)[:2])
        ok(*s.request("POST", "/v1/canned", {"shortcode": "b", "title": "t", "body": "b"}, token=tok)[:2], 201)
        ok(*s.request("POST", "/v1/tags", {"name": "one"}, token=tok)[:2], 201)
        err(*s.request("POST", "/v1/tags", {"name": "two"}, token=tok)[:2], 409, "limit_reached")
        ok(*s.request("POST", "/v1/attributes", {"owner": "visitor", "key": "a", "type": "text"}, token=tok)[:2], 201)
        err(*s.request("POST", "/v1/attributes", {"owner": "conversation", "key": "b", "type": "text"},
                       token=tok)[:2], 409, "limit_reached")


if __name__ == "__main__":
    main([test_canned, test_canned_bad_input, test_tags, test_attributes, test_limits])
