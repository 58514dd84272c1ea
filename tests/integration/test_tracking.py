"""Visitor tracking against the real parleyd (docs/openapi.yaml, tag tracking):

- page views make sessions (pages, duration, device, browser and OS from
  the User-Agent, language from Accept-Language or the body, the current
  page), a new session after 30 minutes without one (the clock moved with
  --clock-offset-ms across a restart);
- URLs: query and fragment dropped unless the tenant keeps the query;
  huge URLs and titles stored truncated (2,048 / 256 bytes), control
  characters of a title as spaces, markup kept as text; non-http(s) and
  malformed URLs 400 invalid_url; unknown fields, bad language and screen
  400 invalid_field;
- DNT: 1, Sec-GPC: 1 and the tenant's switch: 204 with Parley-Tracking,
  nothing stored;
- a flood from one visitor: 429 rate_limited past 30 a minute; a session
  stores at most 200 page views while its count goes on;
- live visitors (active in the last 15 minutes) listed with their current
  page, and streamed to the tenant's consoles as `visitor` frames; another
  tenant sees none of them, and another tenant's visitor id is 404;
- reports over a date range from the day counters, days of the tenant's
  time zone; malformed, reversed and over-31-day ranges 400;
- identity: the secret shown once; a valid signature marks the visitor
  verified with the site's id; a forged one, another id's signature, a
  malformed hash: 401 invalid_identity, nothing marked; no secret: 400;
- retention: page views older than the tenant's days are pruned at start.
"""
import calendar
import hashlib
import hmac
import os
import shutil
import tempfile
import time

from harness import WS, Server, err, main, ok, run, wait_until

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/16.6 Mobile/15E148 Safari/604.1")
PW = "tracking-password-1"
MIN_MS = 60 * 1000
DAY_MS = 86400 * 1000


def pv(s, tok, url, headers=None, **fields):
    return s.request("POST", "/v1/widget/pageview", dict(fields, url=url), token=tok, headers=headers)


def live(s, tok):
    return ok(*s.request("GET", "/v1/visitors/live", token=tok)[:2])["data"]


def mine(rows, vid):
    got = [r for r in rows if r["visitor"]["id"] == vid]
    assert len(got) <= 1, got
    return got[0] if got else None


def test_sessions_and_live():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Vera")
        vt, vid = v["visitor_token"], v["visitor"]["id"]
        st, b, _ = pv(s, vt, "https://Shop.Example/Pricing?utm_source=x#plans", title="Pricing",
                      referrer="https://www.google.com/search?q=parley",
                      headers={"User-Agent": CHROME, "Accept-Language": "de-DE,de;q=0.9"}, screen="1920x1080")
        b = ok(st, b, 201)
        assert b["recorded"] and b["stored"] and b["new_session"] and b["pages"] == 1, b
        b2 = ok(*pv(s, vt, "https://shop.example/checkout", title="Checkout", language="fr",
                    headers={"User-Agent": CHROME})[:2], 201)
        assert not b2["new_session"] and b2["session_id"] == b["session_id"] and b2["pages"] == 2, b2
        row = mine(live(s, tok), vid)
        assert row, "the visitor is not live"
        assert row["current_page"] == {"url": "https://shop.example/checkout", "title": "Checkout"}, row
        assert row["pages"] == 2 and row["device"] == "desktop" and row["browser"] == "Chrome", row
        assert row["browser_version"] == 120 and row["os"] == "Windows" and row["language"] == "fr", row
        assert row["referrer"] == "https://www.google.com/search", row
        assert row["screen"] == "1920x1080" and row["visitor"]["name"] == "Vera", row
        assert row["visitor"]["verified"] is False, row
        # a phone visitor, with the language from the header
        p = s.visitor("Phone")
        ok(*pv(s, p["visitor_token"], "https://shop.example/", headers={"User-Agent": IPHONE,
                                                                      "Accept-Language": "pt-BR"})[:2], 201)
        prow = mine(live(s, tok), p["visitor"]["id"])
        assert prow["device"] == "mobile" and prow["browser"] == "Safari" and prow["os"] == "iOS", prow
        assert prow["language"] == "pt-BR" and prow["referrer"] == "", prow
        # the visitor's sessions
        ses = ok(*s.request("GET", "/v1/visitors/%s/sessions" % vid, token=tok)[:2])
        assert ses["visitor"]["id"] == vid and len(ses["data"]) == 1 and ses["data"][0]["pages"] == 2, ses
        # the report of today
        r = ok(*s.request("GET", "/v1/visitors/stats", token=tok)[:2])
        assert r["pageviews"] == 3 and r["sessions"] == 2, r
        assert {"url": "https://shop.example/Pricing", "count": 1} in r["top_pages"], r
        assert {"host": "www.google.com", "count": 1} in r["top_referrers"], r
        assert {"host": "(direct)", "count": 1} in r["top_referrers"], r
        assert {"name": "desktop", "count": 1} in r["devices"] and {"name": "mobile", "count": 1} in r["devices"], r
        assert {"name": "Chrome", "count": 1} in r["browsers"] and {"name": "iOS", "count": 1} in r["os"], r


def test_live_stream_to_consoles():
    with Server() as s:
        tok = s.login()["access_token"]
        s.new_user("demo", "agent@demo.parley", PW, role="agent", name="Agent")
        agent = s.login("agent@demo.parley", PW)["access_token"]
        s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        other = s.login("boss@acme.example", PW, tenant="acme")["access_token"]
        v = s.visitor("Streamed")

        async def go():
            cs = []
            for t in (tok, agent, other):
                c = await WS.connect(s.ws_url(), token=t)
                ack = await c.request({"type": "subscribe_inbox", "after": 0})
                assert ack["type"] == "ack", ack
                cs.append(c)
            for page in ("https://shop.example/a", "https://shop.example/b"):
                ok(*pv(s, v["visitor_token"], page, title=page[-1].upper())[:2], 201)
                for c in cs[:2]:
                    f = await c.wait_for(lambda f: f.get("type") == "visitor")
                    assert f["event"] == "visitor.pageview", f
                    assert f["visitor"]["current_page"]["url"] == page, f
                    assert f["visitor"]["visitor"]["id"] == v["visitor"]["id"], f
            pong = await cs[2].request({"type": "ping"})
            assert pong["type"] == "ack", pong
            assert not [f for f in cs[2].pending if f.get("type") == "visitor"], cs[2].pending
            for c in cs:
                await c.close()
        run(go())


def test_urls_titles_and_bad_input():
    with Server() as s:
        tok = s.login()["access_token"]
        vt, vid = (lambda v: (v["visitor_token"], v["visitor"]["id"]))(s.visitor("Odd"))
        for bad in ["javascript:alert(1)", "ftp://x.example/", "http://", "https:///path", "//x.example/",
                    "not a url", "http://x.example/a b", "http://x.example/\u0007", "data:text/html,hi"]:
            err(*pv(s, vt, bad)[:2], 400, "invalid_url", "url")
        err(*s.request("POST", "/v1/widget/pageview", {"title": "no url"}, token=vt)[:2], 400, "invalid_field", "url")
        err(*s.request("POST", "/v1/widget/pageview", {"url": 5}, token=vt)[:2], 400, "invalid_field", "url")
        err(*pv(s, vt, "https://x.example/", extra=1)[:2], 400, "invalid_field", "extra")
        err(*pv(s, vt, "https://x.example/", language="en_US!")[:2], 400, "invalid_field", "language")
        err(*pv(s, vt, "https://x.example/", screen="big")[:2], 400, "invalid_field", "screen")
        st, b, _ = s.request("POST", "/v1/widget/pageview", raw_body=b"{nope", token=vt,
                             headers={"Content-Type": "application/json"})
        assert st == 400, (st, b)
        # nothing of those was stored
        assert mine(live(s, tok), vid) is None
        # huge: stored truncated at 2,048 / 256 bytes, at a character boundary
        huge_url = "https://x.example/" + "\u00e9" * 5000
        huge_title = "<script>alert(1)</script>\u0001\u001f" + "\u20ac" * 500
        ok(*pv(s, vt, huge_url, title=huge_title)[:2], 201)
        row = mine(live(s, tok), vid)
        u, t = row["current_page"]["url"], row["current_page"]["title"]
        assert len(u.encode()) <= 2048 and len(u.encode()) >= 2046 and huge_url.startswith(u), len(u.encode())
        assert len(t.encode()) <= 256 and t.startswith("<script>alert(1)</script>  \u20ac"), t
        # the query kept when the tenant says so; the fragment never
        ok(*s.request("PATCH", "/v1/tracking/settings", {"keep_query": True}, token=tok)[:2])
        ok(*pv(s, vt, "https://x.example/search?q=shoes#top")[:2], 201)
        assert mine(live(s, tok), vid)["current_page"]["url"] == "https://x.example/search?q=shoes"
        # a user name and password in a URL are never kept
        ok(*pv(s, vt, "https://bob:hunter2@X.example/in?a=1")[:2], 201)
        assert mine(live(s, tok), vid)["current_page"]["url"] == "https://x.example/in?a=1"
        err(*pv(s, vt, "https://bob@/nohost")[:2], 400, "invalid_url", "url")
        # an odd referrer is not kept, and not an error
        ok(*pv(s, vt, "https://x.example/", referrer="android-app://com.example")[:2], 201)
        # settings: validation
        for body, field in [({"keep_query": "yes"}, "keep_query"), ({"pageview_keep_days": 0}, "pageview_keep_days"),
                            ({"pageview_keep_days": 1.5}, "pageview_keep_days"), ({"other": 1}, "other")]:
            err(*s.request("PATCH", "/v1/tracking/settings", body, token=tok)[:2], 400, "invalid_field", field)


def test_privacy_signals_and_switch():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Private")
        vt, vid = v["visitor_token"], v["visitor"]["id"]
        for h, reason in [({"DNT": "1"}, "dnt"), ({"Sec-GPC": "1"}, "gpc")]:
            st, b, hd = pv(s, vt, "https://x.example/secret", headers=h)
            assert st == 204 and hd.get("Parley-Tracking") == "off; reason=" + reason, (st, b, hd)
        assert mine(live(s, tok), vid) is None
        # DNT: 0 is no refusal
        ok(*pv(s, vt, "https://x.example/open", headers={"DNT": "0"})[:2], 201)
        assert mine(live(s, tok), vid)["current_page"]["url"] == "https://x.example/open"
        # the tenant's switch
        b = ok(*s.request("PATCH", "/v1/tracking/settings", {"tracking_enabled": False}, token=tok)[:2])
        assert b["tracking_enabled"] is False, b
        st, b, hd = pv(s, vt, "https://x.example/after-off")
        assert st == 204 and hd.get("Parley-Tracking") == "off; reason=tenant", (st, hd)
        assert mine(live(s, tok), vid)["current_page"]["url"] == "https://x.example/open"
        r = ok(*s.request("GET", "/v1/visitors/stats", token=tok)[:2])
        assert r["pageviews"] == 1, r
        ok(*s.request("PATCH", "/v1/tracking/settings", {"tracking_enabled": True}, token=tok)[:2])
        ok(*pv(s, vt, "https://x.example/on-again")[:2], 201)


def test_flood_rate_limit_and_session_cap():
    with Server() as s:
        tok = s.login()["access_token"]
        v = s.visitor("Flood")
        vt, vid = v["visitor_token"], v["visitor"]["id"]
        answers = [pv(s, vt, "https://x.example/p%d" % i) for i in range(40)]
        assert [a[0] for a in answers[:30]] == [201] * 30, [a[0] for a in answers]
        for st, b, hd in answers[30:]:
            err(st, b, 429, "rate_limited")
            assert int(hd["Retry-After"]) >= 1, hd
        # another visitor is not held up
        ok(*pv(s, s.visitor("Calm")["visitor_token"], "https://x.example/")[:2], 201)
        # past the per-session cap (200 stored): each restart starts a fresh minute's budget
        sent = 30
        while sent < 215:
            s.stop()
            s.start()
            for i in range(30):
                st, b, _ = pv(s, vt, "https://x.example/q%d" % sent)
                assert st == 201, (st, b)
                assert b["stored"] == (b["pages"] <= 200), b
                sent += 1
        row = mine(live(s, tok), vid)
        assert row["pages"] == sent, row
        r = ok(*s.request("GET", "/v1/visitors/stats?limit=100", token=tok)[:2])
        assert r["pageviews"] == 200 + 1, r   # the cap, and Calm's one


def test_session_gap_and_retention():
    d = tempfile.mkdtemp(prefix="parley-track-")
    try:
        # 100 days ago: a visit that the retention (90 days) removes
        with Server("--clock-offset-ms", str(-100 * DAY_MS), data_dir=d) as s:
            tok = s.login()["access_token"]
            old = s.visitor("Old")
            ok(*pv(s, old["visitor_token"], "https://x.example/old")[:2], 201)
            old_day = ok(*s.request("GET", "/v1/visitors/stats", token=tok)[:2])["to"]
            v = s.visitor("Gap")
            ses = ok(*pv(s, v["visitor_token"], "https://x.example/1")[:2], 201)
            s.stop()
            # 31 minutes later: a new session
            s.extra[s.extra.index("--clock-offset-ms") + 1] = str(-100 * DAY_MS + 31 * MIN_MS)
            s.start()
            nxt = ok(*pv(s, v["visitor_token"], "https://x.example/2")[:2], 201)
            assert nxt["new_session"] and nxt["session_id"] != ses["session_id"], nxt
            # 29 minutes after that: the same one
            s.stop()
            s.extra[s.extra.index("--clock-offset-ms") + 1] = str(-100 * DAY_MS + 60 * MIN_MS)
            s.start()
            same = ok(*pv(s, v["visitor_token"], "https://x.example/3")[:2], 201)
            assert not same["new_session"] and same["session_id"] == nxt["session_id"], same
            tok = s.login()["access_token"]
            sessions = ok(*s.request("GET", "/v1/visitors/%s/sessions" % v["visitor"]["id"], token=tok)[:2])["data"]
            assert [x["pages"] for x in sessions] == [2, 1], sessions
            assert sessions[0]["duration_s"] == 29 * 60 or 29 * 60 <= sessions[0]["duration_s"] <= 29 * 60 + 5, sessions
            s.stop()
            # today: the start's prune removes it all
            s.extra[s.extra.index("--clock-offset-ms") + 1] = "0"
            s.start()
            tok = s.login()["access_token"]
            path = "/v1/visitors/%s/sessions" % old["visitor"]["id"]
            wait_until(lambda: ok(*s.request("GET", path, token=tok)[:2])["data"] == [], what="the prune")
            r = ok(*s.request("GET", "/v1/visitors/stats?from=%s&to=%s" % (old_day, old_day), token=tok)[:2])
            assert r["pageviews"] == 0 and r["top_pages"] == [], r
            assert "tracking.pruned" in s.stderr_text(), s.stderr_text()[-2000:]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_reports_ranges():
    with Server() as s:
        tok = s.login()["access_token"]
        for q, code, field in [("?from=2026-13-01", "invalid_field", "from"), ("?to=yesterday", "invalid_field", "to"),
                               ("?from=2026-02-30&to=2026-03-01", "invalid_field", "from"),
                               ("?from=2026-03-02&to=2026-03-01", "invalid_range", "from"),
                               ("?from=2026-01-01&to=2026-03-01", "invalid_range", "to"),
                               ("?from=" + "9" * 40, "invalid_field", "from"),
                               ("?limit=0", "invalid_field", "limit")]:
            err(*s.request("GET", "/v1/visitors/stats" + q, token=tok)[:2], 400, code, field)
        r = ok(*s.request("GET", "/v1/visitors/stats?from=2026-01-01&to=2026-01-31", token=tok)[:2])
        assert r["from"] == "2026-01-01" and r["to"] == "2026-01-31" and r["pageviews"] == 0, r
        err(*s.request("GET", "/v1/visitors/live?limit=100000", token=tok)[:2], 400, "invalid_field", "limit")


def test_reports_in_tenant_days():
    """The day counters count the tenant's local days: at 20:00 UTC a page
    view in Kolkata (+5:30) is the next day's, in New York (-5) the same
    day's; the reports' from/to and their default "today" are local."""
    with Server("--test-clock") as s:
        tok = s.login()["access_token"]
        day = time.gmtime(time.time() + 86400)          # tomorrow: tokens need a clock past the users' creation
        d0 = time.strftime("%Y-%m-%d", day)
        d1 = time.strftime("%Y-%m-%d", time.gmtime(calendar.timegm(day) + 86400))
        ok(*s.request("PUT", "/v1/ops/clock", {"now": d0 + "T20:00:00Z"}, token=tok)[:2])
        tok = s.login()["access_token"]          # issued on the moved clock

        def count(frm, to):
            q = "?from=%s&to=%s" % (frm, to)
            return ok(*s.request("GET", "/v1/visitors/stats" + q, token=tok)[:2])["pageviews"]

        ok(*s.request("PATCH", "/v1/tenant", {"timezone": "Asia/Kolkata"}, token=tok)[:2])
        ok(*pv(s, s.visitor("Kiran")["visitor_token"], "https://shop.example/a")[:2], 201)
        assert (count(d0, d0), count(d1, d1)) == (0, 1)
        r = ok(*s.request("GET", "/v1/visitors/stats", token=tok)[:2])     # today, there
        assert r["to"] == d1 and r["pageviews"] == 1, r
        ok(*s.request("PATCH", "/v1/tenant", {"timezone": "America/New_York"}, token=tok)[:2])
        ok(*pv(s, s.visitor("Nora")["visitor_token"], "https://shop.example/b")[:2], 201)
        assert (count(d0, d0), count(d1, d1)) == (1, 1)
        r = ok(*s.request("GET", "/v1/visitors/stats", token=tok)[:2])
        assert r["to"] == d0, r


def test_other_tenant():
    with Server() as s:
        tok = s.login()["access_token"]
        _, key_b = s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        other = s.login("boss@acme.example", PW, tenant="acme")["access_token"]
        a = s.visitor("Of A")
        b = s.visitor("Of B", widget_key=key_b)
        ok(*pv(s, a["visitor_token"], "https://a.example/")[:2], 201)
        ok(*pv(s, b["visitor_token"], "https://b.example/")[:2], 201)
        assert [r["visitor"]["id"] for r in live(s, other)] == [b["visitor"]["id"]]
        assert [r["visitor"]["id"] for r in live(s, tok)] == [a["visitor"]["id"]]
        err(*s.request("GET", "/v1/visitors/%s/sessions" % a["visitor"]["id"], token=other)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/visitors/123/sessions", token=tok)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/visitors/x/sessions", token=tok)[:2], 404, "not_found")
        assert ok(*s.request("GET", "/v1/visitors/stats", token=other)[:2])["top_pages"] == [
            {"url": "https://b.example/", "count": 1}]


def sign(secret, uid):
    return hmac.new(secret.encode(), uid.encode(), hashlib.sha256).hexdigest()


def test_identity_verification():
    with Server() as s:
        tok = s.login()["access_token"]
        # no secret yet: a signed id cannot be checked
        st, b, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key, "user_id": "u1",
                                                           "user_hash": "0" * 64})
        err(st, b, 400, "invalid_identity")
        b = ok(*s.request("POST", "/v1/tracking/identity-secret", token=tok)[:2], 201)
        secret = b["identity_secret"]
        assert len(secret) >= 32 and b["identity_verification"] is True, b
        got = ok(*s.request("GET", "/v1/tracking/settings", token=tok)[:2])
        assert got["identity_verification"] is True and "identity_secret" not in got, got
        assert secret not in s.stderr_text()

        def session(body):
            return s.request("POST", "/v1/widget/session", dict(body, widget_key=s.widget_key))

        # valid: verified, with the site's id
        v = ok(*session({"name": "Signed", "user_id": "user-42", "user_hash": sign(secret, "user-42")})[:2], 201)
        assert v["visitor"]["verified"] is True and v["visitor"]["external_id"] == "user-42", v
        # upper-case hex is the same hash
        ok(*session({"user_id": "user-42", "user_hash": sign(secret, "user-42").upper()})[:2], 201)
        # forged, another id's signature (a replay for a different id), malformed, half given
        for body in [{"user_id": "user-42", "user_hash": sign("not-the-secret", "user-42")},
                     {"user_id": "user-43", "user_hash": sign(secret, "user-42")},
                     {"user_id": "user-42", "user_hash": "zz" * 32},
                     {"user_id": "user-42", "user_hash": sign(secret, "user-42")[:-2]}]:
            err(*session(body)[:2], 401, "invalid_identity")
        err(*session({"user_id": "user-42"})[:2], 400, "invalid_field", "user_hash")
        err(*session({"user_hash": sign(secret, "x")})[:2], 400, "invalid_field", "user_id")
        # a returning visitor signs in: marked; a forged try leaves them as they were
        r = ok(*session({"name": "Later"})[:2], 201)
        err(*session({"visitor_token": r["visitor_token"], "user_id": "admin", "user_hash": sign("x", "admin")})[:2],
            401, "invalid_identity")
        again = ok(*session({"visitor_token": r["visitor_token"]})[:2], 200)
        assert again["visitor"]["verified"] is False and again["visitor"]["external_id"] is None, again
        ok(*session({"visitor_token": r["visitor_token"], "user_id": "user-7",
                     "user_hash": sign(secret, "user-7")})[:2], 201)
        ok(*pv(s, r["visitor_token"], "https://x.example/account")[:2], 201)
        row = mine(live(s, tok), r["visitor"]["id"])
        assert row["visitor"]["verified"] is True and row["visitor"]["external_id"] == "user-7", row
        # another signed-in user on the same browser (the first one's token): a new visitor, not the first one's
        other = ok(*session({"visitor_token": r["visitor_token"], "user_id": "user-8",
                             "user_hash": sign(secret, "user-8")})[:2], 201)
        assert other["visitor"]["id"] != r["visitor"]["id"] and other["visitor"]["external_id"] == "user-8", other
        same = ok(*session({"visitor_token": r["visitor_token"], "user_id": "user-7",
                            "user_hash": sign(secret, "user-7")})[:2], 200)
        assert same["visitor"]["id"] == r["visitor"]["id"], same
        # rotation: the old secret's signatures stop passing
        secret2 = ok(*s.request("POST", "/v1/tracking/identity-secret", token=tok)[:2], 201)["identity_secret"]
        assert secret2 != secret
        err(*session({"user_id": "user-42", "user_hash": sign(secret, "user-42")})[:2], 401, "invalid_identity")
        ok(*session({"user_id": "user-42", "user_hash": sign(secret2, "user-42")})[:2], 201)
        # removal
        assert ok(*s.request("DELETE", "/v1/tracking/identity-secret", token=tok)[:2])["identity_verification"] is False
        err(*session({"user_id": "user-42", "user_hash": sign(secret2, "user-42")})[:2], 400, "invalid_identity")
        # the audit log names the changes, never the secret
        rows = ok(*s.request("GET", "/v1/audit?limit=50", token=tok)[:2])["data"]
        acts = [x["action"] for x in rows]
        assert "tracking.identity_secret.rotate" in acts and "tracking.identity_secret.delete" in acts, acts
        assert secret not in str(rows) and secret2 not in str(rows)


if __name__ == "__main__":
    main([test_sessions_and_live, test_live_stream_to_consoles, test_urls_titles_and_bad_input,
          test_privacy_signals_and_switch, test_flood_rate_limit_and_session_cap, test_session_gap_and_retention,
          test_reports_ranges, test_reports_in_tenant_days, test_other_tenant, test_identity_verification])
