"""Conversation search (GET /v1/search) against the real server.

- a message, a note, a visitor's name and email are findable as soon as
  their write is acknowledged (the index is written in the message's own
  transaction: no wait, no retry);
- words normalised: accents (French), harakat (Arabic), Chinese and
  Japanese bigrams, mixed scripts, case and full-width forms;
- only what the caller may read: an agent never finds another agent's
  conversation, another tenant finds nothing of this one's, visitors are
  refused;
- results newest first, paged by cursor without repeats or gaps;
- each filter (tag, status, agent, department, dates), alone and combined
  with words;
- snippets: the newest matching message among the last 16 events, else
  the first message with the word, cut around the word;
- bad input: empty, operators only, huge, too many terms, malformed ids,
  statuses, dates and limits, unknown or other-tenant tags, agents and
  departments.

Tags and departments come from their own routes (the tools and desk
features).
"""
import urllib.parse

from harness import Server, err, main, ok

PW = "a-good-password-1"


def q(s, tok, **params):
    return s.request("GET", "/v1/search?" + urllib.parse.urlencode(params), token=tok)


def found(s, tok, **params):
    """The conversation ids of every page of a search, in order."""
    ids, cursor = [], None
    for _ in range(100):
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        b = ok(*q(s, tok, **p)[:2])
        ids += [h["conversation"]["id"] for h in b["data"]]
        cursor = b["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError("too many pages")


class World:
    def __init__(self, s):
        self.s = s
        self.n = 0
        self.owner = s.login()["access_token"]
        s.new_user("demo", "ann@demo.parley", PW, role="agent", name="Ann")
        s.new_user("demo", "bo@demo.parley", PW, role="agent", name="Bo")
        s.new_user("demo", "sue@demo.parley", PW, role="supervisor", name="Sue")
        self.ann = s.login("ann@demo.parley", PW)
        self.bo = s.login("bo@demo.parley", PW)
        self.sue = s.login("sue@demo.parley", PW)["access_token"]

    def uniq(self, p="c"):
        self.n += 1
        return "%s-%d" % (p, self.n)

    def conv(self, text, name="Visitor", email=None):
        body = {"widget_key": self.s.widget_key, "name": name}
        if email:
            body["email"] = email
        v = ok(*self.s.request("POST", "/v1/widget/session", body)[:2], status=201)
        c = self.s.new_conversation(v["visitor_token"], text, self.uniq())
        return c["id"], v["visitor_token"]

    def say(self, cid, vt, text):
        return ok(*self.s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                                  {"client_id": self.uniq("m"), "text": text}, token=vt)[:2], status=201)

    def reply(self, cid, tok, text, private=False):
        return ok(*self.s.request("POST", "/v1/conversations/%s/messages" % cid,
                                  {"client_id": self.uniq("r"), "text": text, "private": private}, token=tok)[:2],
                  status=201)

    def assign(self, cid, tok):
        ok(*self.s.request("POST", "/v1/conversations/%s/assign" % cid, token=tok)[:2])


def test_found_when_acknowledged(s, w):
    """Each send, once acknowledged, is found by the very next request."""
    cid, vt = w.conv("hello there")
    for i in range(25):
        word = "zebra%dquartz" % i
        w.say(cid, vt, "please look at %s now" % word)
        b = ok(*q(s, w.owner, q=word)[:2])
        assert [h["conversation"]["id"] for h in b["data"]] == [cid], (i, b)
        m = b["data"][0]["match"]
        assert m["kind"] == "message" and not m["private"] and m["sender"]["type"] == "visitor", m
        assert word in m["snippet"], m
    # an agent's reply and a private note too
    w.reply(cid, w.owner, "Your parcel ships Tuesday")
    b = ok(*q(s, w.owner, q="TUESDAY parcel")[:2])
    assert b["data"][0]["match"]["sender"]["type"] == "agent"
    w.reply(cid, w.owner, "internal: customer is a reseller", private=True)
    b = ok(*q(s, w.owner, q="reseller")[:2])
    m = b["data"][0]["match"]
    assert m["kind"] == "note" and m["private"] is True, m
    # the conversation's own first message
    c2, _ = w.conv("A brand new question about invoices")
    assert found(s, w.owner, q="invoices") == [c2]


def test_languages(s, w):
    fr, _ = w.conv("Bonjour, mon élève n'a pas reçu sa commande")
    ar, _ = w.conv("مَرْحَبًا، أُرِيدُ إِرْجَاعَ الطَّلَبِ")
    zh, _ = w.conv("你好，我的订单还没有到")
    ja, _ = w.conv("東京都から注文しました")
    mixed, _ = w.conv("iPhone 15の注文 refund返金 please")
    assert found(s, w.owner, q="eleve") == [fr]
    assert found(s, w.owner, q="ÉLÈVE recu") == [fr]
    assert found(s, w.owner, q="ＣＯＭＭＡＮＤＥ") == [fr]          # full width
    assert found(s, w.owner, q="مرحبا") == [ar]                      # harakat stripped
    assert found(s, w.owner, q="الطلب") == [ar]
    assert found(s, w.owner, q="订单") == [zh]
    assert found(s, w.owner, q="订单 没有") == [zh]
    assert found(s, w.owner, q="我的订单") == [zh]
    assert found(s, w.owner, q="京都") == [ja]
    assert found(s, w.owner, q="注文") == [mixed, ja]                # newest first
    assert found(s, w.owner, q="iphone 注文 返金") == [mixed]
    assert found(s, w.owner, q="订单 eleve") == []
    b = ok(*q(s, w.owner, q="返金")[:2])
    assert "返金" in b["data"][0]["match"]["snippet"]


def test_visitor_fields(s, w):
    a, _ = w.conv("hi", name="Marguerite Duras", email="m.duras@example.fr")
    b, _ = w.conv("hello", name="Marcel Proust", email="marcel@example.com")
    assert found(s, w.owner, q="name:marguerite") == [a]
    assert found(s, w.owner, q="name:DURAS") == [a]
    assert found(s, w.owner, q="proust") == [b]                      # a name word alone
    assert found(s, w.owner, q="email:example") == [b, a]
    assert found(s, w.owner, q="marcel@example.com") == [b]
    assert found(s, w.owner, q="email:example.fr") == [a]
    assert found(s, w.owner, q="name:marcel hello") == [b]
    assert found(s, w.owner, q="name:marcel hi") == []
    r = ok(*q(s, w.owner, q="name:proust")[:2])
    assert r["data"][0]["match"] is None                            # only the name matched
    assert r["data"][0]["conversation"]["visitor"]["name"] == "Marcel Proust"


def test_access(s, w):
    word = "kumquat"
    mine, _ = w.conv("a %s for Ann" % word)
    his, _ = w.conv("a %s for Bo" % word)
    free, _ = w.conv("a %s for anyone" % word)
    w.assign(mine, w.ann["access_token"])
    w.assign(his, w.bo["access_token"])
    assert found(s, w.ann["access_token"], q=word) == [free, mine]
    assert found(s, w.bo["access_token"], q=word) == [free, his]
    assert found(s, w.sue, q=word) == [free, his, mine]
    assert found(s, w.owner, q=word) == [free, his, mine]
    # Bo's conversation stays hidden from Ann by every route into it
    assert found(s, w.ann["access_token"], q="for Bo") == []
    bo_id = ok(*s.request("GET", "/v1/auth/me", token=w.bo["access_token"])[:2])["id"]
    assert found(s, w.ann["access_token"], q=word, agent_id=bo_id) == []
    assert found(s, w.owner, q=word, agent_id=bo_id) == [his]
    # another tenant finds nothing of this one
    tid, key = s.new_tenant("other")
    s.new_user("other", "o@other.test", PW, role="owner")
    other = s.login("o@other.test", PW, tenant="other")["access_token"]
    assert found(s, other, q=word) == []
    # visitors may not search; no credentials neither
    _, vt = w.conv("visitor here")
    err(*q(s, vt, q=word)[:2], 401, "unauthenticated")
    err(*q(s, None, q=word)[:2], 401, "unauthenticated")


def test_paging(s, w):
    ids = [w.conv("shipping question %d" % i)[0] for i in range(23)]
    ids.reverse()                                            # newest first
    for limit in (1, 7, 23, 50):
        assert found(s, w.owner, q="shipping question", limit=limit) == ids, limit
    b = ok(*q(s, w.owner, q="shipping", limit=10)[:2])
    assert len(b["data"]) == 10 and b["next_cursor"]
    b2 = ok(*q(s, w.owner, q="shipping", limit=10, cursor=b["next_cursor"])[:2])
    assert [h["conversation"]["id"] for h in b2["data"]] == ids[10:20]
    b3 = ok(*q(s, w.owner, q="shipping", limit=10, cursor=b2["next_cursor"])[:2])
    assert [h["conversation"]["id"] for h in b3["data"]] == ids[20:] and b3["next_cursor"] is None


def test_filters(s, w):
    a, _ = w.conv("filter test alpha")
    b, _ = w.conv("filter test beta")
    c, _ = w.conv("filter test gamma")
    me = ok(*s.request("GET", "/v1/auth/me", token=w.ann["access_token"])[:2])["id"]
    w.assign(b, w.ann["access_token"])
    ok(*s.request("PATCH", "/v1/conversations/%s" % c, {"status": "resolved"}, token=w.owner)[:2])
    assert found(s, w.owner, q="filter", status="resolved") == [c]
    ok(*s.request("PATCH", "/v1/conversations/%s" % a, {"status": "pending"}, token=w.owner)[:2])
    assert found(s, w.owner, q="filter", status="resolved") == [c]
    assert found(s, w.owner, q="filter", status="pending") == [a]
    st_b = ok(*s.request("GET", "/v1/conversations/%s" % b, token=w.owner)[:2])["status"]
    assert found(s, w.owner, q="filter", status=st_b) == [b]
    assert found(s, w.owner, q="filter", agent_id=me) == [b]
    assert found(s, w.ann["access_token"], q="filter", agent_id="me") == [b]
    assert b not in found(s, w.owner, q="filter", agent_id="none")
    assert found(s, w.owner, q="filter", agent_id="none", status="resolved") == [c]
    # a filter alone, without words
    assert b in found(s, w.owner, agent_id=me)
    assert c in found(s, w.owner, status="resolved")
    # dates: the conversations' creation times
    conv = {h["conversation"]["id"]: h["conversation"] for h in ok(*q(s, w.owner, q="filter")[:2])["data"]}
    tb = conv[b]["created_at"]
    assert found(s, w.owner, q="filter", **{"from": tb}) == [c, b]
    assert found(s, w.owner, q="filter", to=tb) == [b, a]
    assert found(s, w.owner, q="filter", **{"from": tb, "to": tb}) == [b]
    day = tb[:10]
    assert found(s, w.owner, q="filter", **{"from": day, "to": day}) == [c, b, a]
    assert found(s, w.owner, q="filter", to="2001-01-01") == []
    assert found(s, w.owner, q="filter", **{"from": "2999-01-01"}) == []


def test_tag(s, w):
    """Tags through the tags API (the tools feature writes tid · tag · cid
    in tag_convs, the list the filter intersects)."""
    a, _ = w.conv("tagged walrus")
    b, _ = w.conv("untagged walrus")
    tag = ok(*s.request("POST", "/v1/tags", {"name": "vip"}, token=w.owner)[:2], status=201)["id"]
    ok(*s.request("POST", "/v1/conversations/%s/tags/%s" % (a, tag), token=w.owner)[:2])
    assert found(s, w.owner, q="walrus", tag=tag) == [a]
    assert found(s, w.owner, tag=tag) == [a]
    assert found(s, w.owner, q="untagged", tag=tag) == []
    assert found(s, w.owner, q="walrus") == [b, a]
    # removed: no longer found by the tag
    ok(*s.request("DELETE", "/v1/conversations/%s/tags/%s" % (a, tag), token=w.owner)[:2])
    assert found(s, w.owner, q="walrus", tag=tag) == []
    # another tenant's tag is unknown here
    s.new_tenant("tagother")
    s.new_user("tagother", "t@tagother.test", PW, role="owner")
    tok = s.login("t@tagother.test", PW, tenant="tagother")["access_token"]
    theirs = ok(*s.request("POST", "/v1/tags", {"name": "vip"}, token=tok)[:2], status=201)["id"]
    err(*q(s, w.owner, q="walrus", tag=theirs)[:2], 404, "not_found", "tag")


def test_department(s, w):
    a, _ = w.conv("department walrus")
    depts = ok(*s.request("GET", "/v1/departments", token=w.owner)[:2])["data"]
    default = [d["id"] for d in depts if d["is_default"]][0]
    other = [d["id"] for d in depts if not d["is_default"]][0]
    conv = ok(*s.request("GET", "/v1/conversations/%s" % a, token=w.owner)[:2])
    shown = conv.get("department_id") or default      # dept_id 0: the default department
    assert found(s, w.owner, q="walrus", department_id=shown) == [a]
    assert found(s, w.owner, department_id=shown)[0] == a
    assert found(s, w.owner, q="walrus", department_id=[d for d in (default, other) if d != shown][0]) == []
    # another tenant's department is unknown here
    s.new_tenant("deptother")
    s.new_user("deptother", "d@deptother.test", PW, role="owner")
    tok = s.login("d@deptother.test", PW, tenant="deptother")["access_token"]
    theirs = ok(*s.request("GET", "/v1/departments", token=tok)[:2])["data"][0]["id"]
    err(*q(s, w.owner, q="walrus", department_id=theirs)[:2], 404, "not_found", "department_id")
    err(*q(s, w.owner, q="walrus", department_id="123456")[:2], 404, "not_found", "department_id")


def test_snippet(s, w):
    long = "x " * 200 + "the <b>needle</b> & <script>alert(1)</script> is here " + "y " * 200
    cid, vt = w.conv("first message mentions needle only")
    w.say(cid, vt, long)
    w.say(cid, vt, "a later message without it")
    m = ok(*q(s, w.owner, q="needle")[:2])["data"][0]["match"]
    sn = m["snippet"]
    assert "<b>needle</b>" in sn and sn.startswith("…") and sn.endswith("…"), sn
    assert len(sn.encode()) <= 240 + 6, len(sn.encode())
    assert m["seq"] == 3, m                                  # the newest with the word
    m = ok(*q(s, w.owner, q="needle first")[:2])["data"][0]["match"]
    assert m["seq"] == 2 and m["snippet"].startswith("first message"), m   # the newest with all words
    # a word only in a message further back than the snippet walk (16
    # events): the posting's event, the first with the word
    cid, vt = w.conv("an early walnut question")
    for i in range(20):
        w.say(cid, vt, "filler message %d" % i)
    m = ok(*q(s, w.owner, q="walnut")[:2])["data"][0]["match"]
    assert m["seq"] == 2 and "walnut" in m["snippet"], m


def test_bad_input(s, w):
    t = w.owner
    err(*q(s, t)[:2], 400, "empty_query", "q")
    err(*q(s, t, q="")[:2], 400, "empty_query", "q")
    err(*q(s, t, q="   ")[:2], 400, "empty_query", "q")
    for ops in ('"" + - * ( ) || && :: ~ ^ !', "+-*/", "!!! ??? ...", "name: email:", "★★★ 👍"):
        err(*q(s, t, q=ops)[:2], 400, "empty_query", "q")
    err(*q(s, t, q="x" * 1001)[:2], 400, "query_too_long", "q")
    ok(*q(s, t, q="x" * 1000)[:2])
    err(*q(s, t, q=" ".join("w%d" % i for i in range(25)))[:2], 400, "too_many_terms", "q")
    ok(*q(s, t, q=" ".join("w%d" % i for i in range(24)))[:2])
    ok(*q(s, t, q=" ".join(["same"] * 200))[:2])
    # a huge URI is refused by the HTTP layer before the handler
    st, _, _ = q(s, t, q="y" * 10000)
    assert st in (400, 413, 414), st
    # mixed scripts, invalid percent-encoded UTF-8, a NUL: no crash, an answer
    ok(*q(s, t, q="Ελληνικά русский עברית 中文 日本語 한국어 العربية")[:2])
    st, b, _ = s.request("GET", "/v1/search?q=%FF%FEabc%00def", token=t)
    assert st == 200, (st, b)
    for k, v in (("status", "nope"), ("status", ""), ("tag", "abc"), ("tag", "-1"), ("department_id", "x"),
                 ("agent_id", "bob"), ("agent_id", ""), ("cursor", "zz"), ("from", "yesterday"),
                 ("from", "2026-13-01"), ("to", "2026-02-30"), ("to", "1969-12-31"),
                 ("from", "2026-01-01T10:00:00+02:00"), ("limit", "0"), ("limit", "51"), ("limit", "x")):
        err(*q(s, t, q="hello", **{k: v})[:2], 400, "invalid_field", k)
    err(*q(s, t, q="hello", **{"from": "2026-02-01", "to": "2026-01-01"})[:2], 400, "invalid_field", "from")
    err(*q(s, t, q="hello", tag="123456")[:2], 404, "not_found", "tag")
    err(*q(s, t, q="hello", agent_id="123456")[:2], 404, "not_found", "agent_id")
    err(*q(s, t, q="hello", department_id="123456")[:2], 404, "not_found", "department_id")
    # another tenant's agent is unknown here
    s.new_tenant("third")
    other = s.new_user("third", "t@third.test", PW, role="agent")
    err(*q(s, t, q="hello", agent_id=other)[:2], 404, "not_found", "agent_id")


def with_world(fn):
    def run():
        with Server() as s:
            fn(s, World(s))
    run.__name__ = fn.__name__
    return run


if __name__ == "__main__":
    main([with_world(f) for f in (test_found_when_acknowledged, test_languages, test_visitor_fields, test_access,
                                  test_paging, test_filters, test_tag, test_department, test_snippet,
                                  test_bad_input)])
