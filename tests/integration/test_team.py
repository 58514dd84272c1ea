"""The team over the API: users, invitations, roles, deactivation, one's
own profile and password (docs/openapi.yaml, tags team and auth).

Every rule is checked against the real server: who may do what (owner >
admin > supervisor > agent), the last active owner, set-password links
(single use, expiring, superseded by a new one), sessions that end at once
(tokens and WebSockets), the live `user.updated` notice, and bad input of
every kind.
"""
import datetime
import time

import websockets

from harness import DEMO_EMAIL, WS, Server, err, main, ok, run

USER_FIELDS = {"id", "tenant_id", "email", "name", "title", "avatar_url", "role", "active", "created_at"}
PW = "a-good-password-1"




def is_user(u):
    assert set(u) == USER_FIELDS, sorted(u)
    assert u["role"] in ("owner", "admin", "supervisor", "agent"), u
    return u


def invite(s, tok, email, role="agent", name=None, **extra):
    body = dict({"email": email, "name": name or email.split("@")[0].title(), "role": role}, **extra)
    return ok(*s.request("POST", "/v1/users", body, token=tok)[:2], status=201)


def member(s, tok, email, role="agent", password=PW):
    """Invites a user, sets their password through the link, logs them in:
    (user, login answer)."""
    inv = invite(s, tok, email, role)
    ok(*s.request("POST", "/v1/auth/set-password", {"token": inv["invite_token"], "password": password})[:2])
    return inv["user"], s.login(email, password)


def owner(s):
    return s.login()["access_token"]


def user_id(s, tok):
    return ok(*s.request("GET", "/v1/auth/me", token=tok)[:2])["id"]


async def closed_by_server(c, timeout=10):
    """Reads until the server ends the session; the unauthenticated error
    frame and the close code."""
    frame = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            f = await c.recv(max(0.1, deadline - time.monotonic()))
            if f.get("type") == "error" and f["error"]["code"] == "unauthenticated":
                frame = f
    except websockets.ConnectionClosed:
        return frame, c.ws.close_code
    raise AssertionError("the session was not closed")


# ------------------------------------------------------------------ reading

def test_list_and_get():
    with Server() as s:
        tok = owner(s)
        users = ok(*s.request("GET", "/v1/users", token=tok)[:2])
        assert set(users) == {"data"} and len(users["data"]) == 1, users
        me = is_user(users["data"][0])
        assert me["email"] == DEMO_EMAIL and me["role"] == "owner" and me["active"] is True, me
        assert me["title"] == "" and me["avatar_url"] == "", me
        ann, ann_login = member(s, tok, "ann@demo.parley")
        # everyone signed in sees the team (team.read), in creation order
        for t in (tok, ann_login["access_token"]):
            data = ok(*s.request("GET", "/v1/users", token=t)[:2])["data"]
            assert [u["email"] for u in data] == [DEMO_EMAIL, "ann@demo.parley"], data
            for u in data:
                is_user(u)
        got = ok(*s.request("GET", "/v1/users/" + ann["id"], token=tok)[:2])
        assert is_user(got)["id"] == ann["id"] and got["email"] == "ann@demo.parley", got
        # unknown, malformed and another tenant's ids are all not found
        s.new_tenant("acme")
        acme_owner = s.new_user("acme", "boss@acme.example", PW, role="owner")
        for path in ("/v1/users/1", "/v1/users/abc", "/v1/users/" + acme_owner, "/v1/users/-1",
                     "/v1/users/99999999999999999999999"):
            err(*s.request("GET", path, token=tok)[:2], 404, "not_found")
        acme_tok = s.login("boss@acme.example", PW)["access_token"]
        err(*s.request("GET", "/v1/users/" + ann["id"], token=acme_tok)[:2], 404, "not_found")
        data = ok(*s.request("GET", "/v1/users", token=acme_tok)[:2])["data"]
        assert [u["email"] for u in data] == ["boss@acme.example"], data
        # no or bad credentials
        err(*s.request("GET", "/v1/users")[:2], 401, "unauthenticated")
        err(*s.request("GET", "/v1/users", token="not-a-token")[:2], 401, "unauthenticated")
        vt = s.visitor()["visitor_token"]
        err(*s.request("GET", "/v1/users", token=vt)[:2], 401, "unauthenticated")


# ------------------------------------------------------------------ invitations

def test_invite_and_set_password():
    with Server() as s:
        tok = owner(s)
        t0 = time.time()
        inv = invite(s, tok, "Ann@Demo.Parley", name="Ann", title="Support lead")
        assert set(inv) == {"user", "invite_token", "invite_url", "invite_expires_at"}, inv
        u = is_user(inv["user"])
        assert u["email"] == "ann@demo.parley" and u["name"] == "Ann" and u["title"] == "Support lead", u
        assert u["role"] == "agent" and u["active"] is True, u
        token = inv["invite_token"]
        assert token.split(".")[0].isdigit() and len(token) > 40, token
        assert inv["invite_url"] == "/agent/set-password.html#token=" + token, inv
        exp = datetime.datetime.fromisoformat(inv["invite_expires_at"].replace("Z", "+00:00")).timestamp()
        assert abs(exp - (t0 + 72 * 3600)) < 60, (exp, t0)
        # no usable password until the link is used
        for pw in ("", "x", PW):
            st, b, _ = s.request("POST", "/v1/auth/login", {"email": "ann@demo.parley", "password": pw or "-"})
            assert st == 401, (st, b)
        # a too short password leaves the token unspent
        err(*s.request("POST", "/v1/auth/set-password", {"token": token, "password": "short"})[:2],
            400, "invalid_field", "password")
        res = ok(*s.request("POST", "/v1/auth/set-password", {"token": token, "password": PW})[:2])
        assert res["user"]["id"] == u["id"] and res["tenant"]["slug"] == "demo", res
        login = s.login("ann@demo.parley", PW)
        assert login["user"]["id"] == u["id"] and login["user"]["role"] == "agent", login
        # single use
        err(*s.request("POST", "/v1/auth/set-password", {"token": token, "password": "another-password"})[:2],
            400, "invalid_token")
        s.login("ann@demo.parley", PW)
        # unknown, malformed, tampered tokens
        tid, rnd = token.split(".", 1)
        for bad in ("nope", "1.abc", tid + "." + rnd[::-1], str(int(tid) + 1) + "." + rnd, token + "x", "." + rnd):
            err(*s.request("POST", "/v1/auth/set-password", {"token": bad, "password": PW})[:2],
                400, "invalid_token")
        # the invitation shows in the tenant's list right away
        data = ok(*s.request("GET", "/v1/users", token=tok)[:2])["data"]
        assert "ann@demo.parley" in [x["email"] for x in data], data


def test_set_password_bad_input():
    with Server() as s:
        sp = "/v1/auth/set-password"
        err(*s.request("POST", sp, {"password": PW})[:2], 400, "invalid_field", "token")
        err(*s.request("POST", sp, {"token": "1.x"})[:2], 400, "invalid_field", "password")
        err(*s.request("POST", sp, {"token": 7, "password": PW})[:2], 400, "invalid_field", "token")
        err(*s.request("POST", sp, {"token": "1.x", "password": ["x"]})[:2], 400, "invalid_field", "password")
        err(*s.request("POST", sp, {"token": "1.x", "password": "p" * 257})[:2], 400, "invalid_field", "password")
        err(*s.request("POST", sp, {"token": "t" * 201, "password": PW})[:2], 400, "invalid_field", "token")
        err(*s.request("POST", sp, raw_body=b"{not json", headers={"Content-Type": "application/json"})[:2],
            400, "invalid_json")
        err(*s.request("POST", sp, raw_body=b"[1]", headers={"Content-Type": "application/json"})[:2],
            400, "invalid_json")
        st, b, _ = s.request("POST", sp, raw_body=b"{}", headers={"Content-Type": "text/plain"})
        err(st, b, 415, "unsupported_media_type")


def test_invite_expires():
    with Server("--invite-ttl", "1") as s:
        tok = owner(s)
        inv = invite(s, tok, "late@demo.parley")
        time.sleep(1.3)
        err(*s.request("POST", "/v1/auth/set-password", {"token": inv["invite_token"], "password": PW})[:2],
            400, "invalid_token")
        # a fresh link works (within its own second)
        inv2 = ok(*s.request("POST", "/v1/users/%s/invite" % inv["user"]["id"], token=tok)[:2])
        ok(*s.request("POST", "/v1/auth/set-password", {"token": inv2["invite_token"], "password": PW})[:2])
        s.login("late@demo.parley", PW)


def test_invite_validation():
    with Server("--max-body", "4096") as s:
        tok = owner(s)
        P = "/v1/users"
        good = {"email": "ok@demo.parley", "name": "Ok", "role": "agent"}
        cases = [
            ({"name": "X", "role": "agent"}, "email"),
            (dict(good, email="no-at-sign"), "email"),
            (dict(good, email="two@@demo.parley"), "email"),
            (dict(good, email="sp ace@demo.parley"), "email"),
            (dict(good, email="@demo.parley"), "email"),
            (dict(good, email="ann@"), "email"),
            (dict(good, email="a" * 250 + "@x.io"), "email"),
            (dict(good, email=5), "email"),
            ({"email": "ok@demo.parley", "role": "agent"}, "name"),
            (dict(good, name=""), "name"),
            (dict(good, name="n" * 129), "name"),
            (dict(good, name=None), "name"),
            ({"email": "ok@demo.parley", "name": "Ok"}, "role"),
            (dict(good, role="boss"), "role"),
            (dict(good, role="Owner"), "role"),
            (dict(good, role=1), "role"),
            (dict(good, title="t" * 129), "title"),
            (dict(good, title=False), "title"),
        ]
        for body, field in cases:
            err(*s.request("POST", P, body, token=tok)[:2], 400, "invalid_field", field)
        for raw in (b"", b"{", b"[]", b"\"x\"", b'{"email":"a@b.c","email":"d@e.f"}'):
            st, b, _ = s.request("POST", P, raw_body=raw, token=tok, headers={"Content-Type": "application/json"})
            err(st, b, 400, "invalid_json")
        st, b, _ = s.request("POST", P, raw_body=b"{}", token=tok, headers={"Content-Type": "text/plain"})
        err(st, b, 415, "unsupported_media_type")
        st, b, _ = s.request("POST", P, dict(good, title="t" * 5000), token=tok)
        err(st, b, 413, "too_large")
        # nothing was created by any of them
        data = ok(*s.request("GET", P, token=tok)[:2])["data"]
        assert [u["email"] for u in data] == [DEMO_EMAIL], data
        invite(s, tok, "ok@demo.parley")
        # the same email again, in any case, is a conflict; in another tenant it is not
        err(*s.request("POST", P, good, token=tok)[:2], 409, "conflict", "email")
        err(*s.request("POST", P, dict(good, email="OK@DEMO.PARLEY"), token=tok)[:2], 409, "conflict", "email")
        err(*s.request("POST", P, dict(good, email=DEMO_EMAIL), token=tok)[:2], 409, "conflict", "email")
        s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        acme = s.login("boss@acme.example", PW)["access_token"]
        invite(s, acme, "ok@demo.parley")


def test_who_may_invite_whom():
    with Server() as s:
        tok = owner(s)
        _, adm = member(s, tok, "adm@demo.parley", "admin")
        _, sup = member(s, tok, "sup@demo.parley", "supervisor")
        _, agt = member(s, tok, "agt@demo.parley", "agent")
        adm, sup, agt = adm["access_token"], sup["access_token"], agt["access_token"]
        # team.manage is admin and up
        for t in (sup, agt):
            err(*s.request("POST", "/v1/users", {"email": "x@demo.parley", "name": "X", "role": "agent"},
                           token=t)[:2], 403, "forbidden")
        # nobody grants a role above their own
        err(*s.request("POST", "/v1/users", {"email": "x@demo.parley", "name": "X", "role": "owner"},
                       token=adm)[:2], 403, "forbidden")
        for role in ("admin", "supervisor", "agent"):
            invite(s, adm, "%s2@demo.parley" % role, role)
        invite(s, tok, "own2@demo.parley", "owner")


# ------------------------------------------------------------------ changes

def test_patch_user_and_rules():
    with Server() as s:
        tok = owner(s)
        me = user_id(s, tok)
        ann, ann_login = member(s, tok, "ann@demo.parley")
        adm_u, adm = member(s, tok, "adm@demo.parley", "admin")
        adm = adm["access_token"]
        U = "/v1/users/"
        u = ok(*s.request("PATCH", U + ann["id"], {"name": "Ann B", "title": "Tier 2",
                                                   "avatar_url": "https://img.example/ann.png"}, token=tok)[:2])
        assert (u["name"], u["title"], u["avatar_url"], u["role"]) == ("Ann B", "Tier 2",
                                                                      "https://img.example/ann.png", "agent"), u
        # fields left out stay; an empty avatar clears it
        u = ok(*s.request("PATCH", U + ann["id"], {"avatar_url": ""}, token=tok)[:2])
        assert (u["name"], u["title"], u["avatar_url"]) == ("Ann B", "Tier 2", ""), u
        u = ok(*s.request("PATCH", U + ann["id"], {}, token=tok)[:2])
        assert u["name"] == "Ann B", u
        u = ok(*s.request("PATCH", U + ann["id"], {"role": "supervisor"}, token=adm)[:2])
        assert u["role"] == "supervisor", u
        assert ok(*s.request("GET", U + ann["id"], token=tok)[:2])["role"] == "supervisor"
        # bad input
        for body, field in [({"name": ""}, "name"), ({"name": 3}, "name"), ({"name": "n" * 129}, "name"),
                            ({"title": "t" * 129}, "title"), ({"title": None}, "title"),
                            ({"avatar_url": "ftp://img.example/a.png"}, "avatar_url"),
                            ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
                            ({"avatar_url": "https://" + "a" * 510}, "avatar_url"),
                            ({"avatar_url": "https://"}, "avatar_url"),
                            ({"role": "root"}, "role"), ({"role": ["agent"]}, "role")]:
            err(*s.request("PATCH", U + ann["id"], body, token=tok)[:2], 400, "invalid_field", field)
        err(*s.request("PATCH", U + "12345", {"name": "X"}, token=tok)[:2], 404, "not_found")
        s.new_tenant("acme")
        other = s.new_user("acme", "boss@acme.example", PW, role="owner")
        err(*s.request("PATCH", U + other, {"name": "X"}, token=tok)[:2], 404, "not_found")
        acme = s.login("boss@acme.example", PW)["access_token"]
        err(*s.request("PATCH", U + ann["id"], {"name": "X"}, token=acme)[:2], 404, "not_found")
        # the roles: an admin grants up to admin, never changes an owner
        err(*s.request("PATCH", U + ann["id"], {"role": "owner"}, token=adm)[:2], 403, "forbidden")
        err(*s.request("PATCH", U + me, {"name": "Boss"}, token=adm)[:2], 403, "forbidden")
        err(*s.request("PATCH", U + me, {"role": "agent"}, token=adm)[:2], 403, "forbidden")
        # agents and supervisors do not manage the team
        err(*s.request("PATCH", U + adm_u["id"], {"name": "X"}, token=ann_login["access_token"])[:2],
            403, "forbidden")
        # the last active owner stays an owner
        err(*s.request("PATCH", U + me, {"role": "admin"}, token=tok)[:2], 409, "last_owner")
        ok(*s.request("PATCH", U + adm_u["id"], {"role": "owner"}, token=tok)[:2])
        u = ok(*s.request("PATCH", U + me, {"role": "admin"}, token=tok)[:2])
        assert u["role"] == "admin", u
        # ... and now the demo admin (an admin) may not touch the new owner
        err(*s.request("PATCH", U + adm_u["id"], {"role": "admin"}, token=tok)[:2], 403, "forbidden")


def test_role_change_takes_effect_at_once():
    with Server() as s:
        tok = owner(s)
        ann, login = member(s, tok, "ann@demo.parley")
        at = login["access_token"]

        async def go():
            c = await WS.connect(s.ws_url(), token=at)
            ack = await c.request({"type": "subscribe_inbox", "after": 0})
            assert ack["type"] == "ack", ack
            # promoted: the socket ends at once, the same access token now manages the team
            ok(*s.request("PATCH", "/v1/users/" + ann["id"], {"role": "admin"}, token=tok)[:2])
            frame, code = await closed_by_server(c)
            assert frame and code == 1008, (frame, code)
            invite(s, at, "new@demo.parley")
            c = await WS.connect(s.ws_url())
            ack = await c.request({"type": "auth", "token": at})
            assert ack["type"] == "ack" and ack["user"]["role"] == "admin", ack
            # demoted: refused from the next request on
            ok(*s.request("PATCH", "/v1/users/" + ann["id"], {"role": "agent"}, token=tok)[:2])
            frame, code = await closed_by_server(c)
            assert code == 1008, code
            err(*s.request("POST", "/v1/users", {"email": "n2@demo.parley", "name": "N", "role": "agent"},
                           token=at)[:2], 403, "forbidden")
            # the refresh token still works (a role change is not a sign-out)
            st, b, _ = s.request("POST", "/v1/auth/refresh", {"refresh_token": login["refresh_token"]})
            assert st == 200 and b["user"]["role"] == "agent", (st, b)
        run(go())


def test_deactivate_and_reactivate():
    with Server() as s:
        tok = owner(s)
        me = user_id(s, tok)
        ann, login = member(s, tok, "ann@demo.parley")
        adm_u, adm = member(s, tok, "adm@demo.parley", "admin")
        D, R = "/v1/users/%s/deactivate", "/v1/users/%s/reactivate"

        async def go():
            c = await WS.connect(s.ws_url(), token=login["access_token"])
            u = ok(*s.request("POST", D % ann["id"], token=tok)[:2])
            assert u["active"] is False, u
            frame, code = await closed_by_server(c)
            assert frame and code == 1008, (frame, code)
        run(go())
        err(*s.request("GET", "/v1/users", token=login["access_token"])[:2], 401, "unauthenticated")
        err(*s.request("POST", "/v1/auth/refresh", {"refresh_token": login["refresh_token"]})[:2],
            401, "invalid_token")
        st, b, _ = s.request("POST", "/v1/auth/login", {"email": "ann@demo.parley", "password": PW})
        assert st == 401, (st, b)
        # twice changes nothing; the list shows it
        assert ok(*s.request("POST", D % ann["id"], {}, token=tok)[:2])["active"] is False
        data = {u["email"]: u for u in ok(*s.request("GET", "/v1/users", token=tok)[:2])["data"]}
        assert data["ann@demo.parley"]["active"] is False, data
        u = ok(*s.request("POST", R % ann["id"], token=tok)[:2])
        assert u["active"] is True, u
        s.login("ann@demo.parley", PW)
        # sessions ended by the deactivation stay ended
        err(*s.request("GET", "/v1/users", token=login["access_token"])[:2], 401, "unauthenticated")
        err(*s.request("POST", "/v1/auth/refresh", {"refresh_token": login["refresh_token"]})[:2],
            401, "invalid_token")
        # rules: last owner, admins and owners, agents, bad ids and bodies
        err(*s.request("POST", D % me, token=tok)[:2], 409, "last_owner")
        err(*s.request("POST", D % me, token=adm["access_token"])[:2], 403, "forbidden")
        err(*s.request("POST", D % adm_u["id"], token=s.login("ann@demo.parley", PW)["access_token"])[:2],
            403, "forbidden")
        for path in (D % "1", R % "1", D % "x", R % "x"):
            err(*s.request("POST", path, token=tok)[:2], 404, "not_found")
        err(*s.request("POST", D % ann["id"], {"now": True}, token=tok)[:2], 400, "invalid_field")
        # a second owner makes the first one deactivatable (by an owner)
        ok(*s.request("PATCH", "/v1/users/" + adm_u["id"], {"role": "owner"}, token=tok)[:2])
        ok(*s.request("POST", D % me, token=adm["access_token"])[:2])
        err(*s.request("POST", D % adm_u["id"], token=adm["access_token"])[:2], 409, "last_owner")
        err(*s.request("PATCH", "/v1/users/" + adm_u["id"], {"role": "admin"}, token=adm["access_token"])[:2],
            409, "last_owner")


def test_reinvite():
    with Server() as s:
        tok = owner(s)
        me = user_id(s, tok)
        inv = invite(s, tok, "ann@demo.parley")
        uid = inv["user"]["id"]
        I = "/v1/users/%s/invite"
        inv2 = ok(*s.request("POST", I % uid, token=tok)[:2])
        assert inv2["user"]["id"] == uid and inv2["invite_token"] != inv["invite_token"], inv2
        assert inv2["invite_url"] == "/agent/set-password.html#token=" + inv2["invite_token"]
        # the old link stopped working
        err(*s.request("POST", "/v1/auth/set-password", {"token": inv["invite_token"], "password": PW})[:2],
            400, "invalid_token")
        ok(*s.request("POST", "/v1/auth/set-password", {"token": inv2["invite_token"], "password": PW})[:2])
        login = s.login("ann@demo.parley", PW)
        # a link for someone who has a password: the password works until the link is used,
        # which then ends their sessions
        inv3 = ok(*s.request("POST", I % uid, token=tok)[:2])
        s.login("ann@demo.parley", PW)
        ok(*s.request("GET", "/v1/users", token=login["access_token"])[:2])
        ok(*s.request("POST", "/v1/auth/set-password", {"token": inv3["invite_token"], "password": PW + "x"})[:2])
        err(*s.request("GET", "/v1/users", token=login["access_token"])[:2], 401, "unauthenticated")
        err(*s.request("POST", "/v1/auth/refresh", {"refresh_token": login["refresh_token"]})[:2],
            401, "invalid_token")
        s.login("ann@demo.parley", PW + "x")
        # who may
        _, adm = member(s, tok, "adm@demo.parley", "admin")
        err(*s.request("POST", I % me, token=adm["access_token"])[:2], 403, "forbidden")
        agt = s.login("ann@demo.parley", PW + "x")["access_token"]
        err(*s.request("POST", I % uid, token=agt)[:2], 403, "forbidden")
        err(*s.request("POST", I % "1", token=tok)[:2], 404, "not_found")
        # a deactivated user gets no link
        ok(*s.request("POST", "/v1/users/%s/deactivate" % uid, token=tok)[:2])
        err(*s.request("POST", I % uid, token=tok)[:2], 409, "conflict")
        # and an unused link of a user who is deactivated meanwhile does not work
        inv4 = invite(s, tok, "bo@demo.parley")
        ok(*s.request("POST", "/v1/users/%s/deactivate" % inv4["user"]["id"], token=tok)[:2])
        err(*s.request("POST", "/v1/auth/set-password", {"token": inv4["invite_token"], "password": PW})[:2],
            400, "invalid_token")


def test_user_updated_notice():
    with Server() as s:
        tok = owner(s)
        ann, login = member(s, tok, "ann@demo.parley")

        async def go():
            watchers = []
            for t in (tok, login["access_token"]):
                c = await WS.connect(s.ws_url(), token=t)
                ack = await c.request({"type": "subscribe_inbox", "after": 0})
                assert ack["type"] == "ack", ack
                watchers.append(c)

            async def notice(c, pred):
                f = await c.wait_for(lambda f: f.get("type") == "inbox" and f.get("event") == "user.updated"
                                     and pred(f["user"]))
                assert set(f) == {"type", "event", "user"}, f
                return is_user(f["user"])

            ok(*s.request("PATCH", "/v1/users/" + ann["id"], {"title": "Tier 3"}, token=tok)[:2])
            for c in watchers:
                u = await notice(c, lambda u: u["id"] == ann["id"])
                assert u["title"] == "Tier 3", u
            inv = invite(s, tok, "new@demo.parley")
            for c in watchers:
                await notice(c, lambda u: u["id"] == inv["user"]["id"])
            ok(*s.request("PATCH", "/v1/auth/me", {"name": "The Boss"}, token=tok)[:2])
            u = await notice(watchers[1], lambda u: u["name"] == "The Boss")
            assert u["role"] == "owner", u
            ok(*s.request("POST", "/v1/users/%s/deactivate" % inv["user"]["id"], token=tok)[:2])
            u = await notice(watchers[0], lambda u: u["id"] == inv["user"]["id"] and not u["active"])
            # a role change ends the user's own socket, the others get the notice
            ok(*s.request("PATCH", "/v1/users/" + ann["id"], {"role": "supervisor"}, token=tok)[:2])
            u = await notice(watchers[0], lambda u: u["id"] == ann["id"] and u["role"] == "supervisor")
            frame, code = await closed_by_server(watchers[1])
            assert code == 1008
            # another tenant hears nothing of it
            s.new_tenant("acme")
            s.new_user("acme", "boss@acme.example", PW, role="owner")
            acme = await WS.connect(s.ws_url(), token=s.login("boss@acme.example", PW)["access_token"])
            await acme.request({"type": "subscribe_inbox", "after": 0})
            ok(*s.request("PATCH", "/v1/users/" + ann["id"], {"title": "Tier 4"}, token=tok)[:2])
            await notice(watchers[0], lambda u: u["title"] == "Tier 4")
            pong = await acme.request({"type": "ping"})
            # (its own presence may reach it: the acme owner came online)
            assert pong["type"] == "ack" and not [f for f in acme.pending if f["type"] != "presence"], acme.pending
            for c in (watchers[0], acme):
                await c.close()
        run(go())


# ------------------------------------------------------------------ oneself

def test_own_profile():
    with Server() as s:
        tok = owner(s)
        ann, login = member(s, tok, "ann@demo.parley")
        at = login["access_token"]
        u = ok(*s.request("PATCH", "/v1/auth/me", {"name": "Ann", "title": "Support",
                                                   "avatar_url": "http://img.example/a.png"}, token=at)[:2])
        assert (u["id"], u["name"], u["title"], u["avatar_url"], u["role"]) == (
            ann["id"], "Ann", "Support", "http://img.example/a.png", "agent"), u
        assert ok(*s.request("GET", "/v1/auth/me", token=at)[:2]) == u
        for body, field in [({"name": ""}, "name"), ({"title": 1}, "title"), ({"avatar_url": "data:x"}, "avatar_url"),
                            ({"role": "owner"}, "role"), ({"active": False}, "active"),
                            ({"email": "me@else.where"}, "email")]:
            err(*s.request("PATCH", "/v1/auth/me", body, token=at)[:2], 400, "invalid_field", field)
        assert ok(*s.request("GET", "/v1/auth/me", token=at)[:2])["role"] == "agent"
        err(*s.request("PATCH", "/v1/auth/me", {"name": "X"})[:2], 401, "unauthenticated")
        st, b, _ = s.request("PATCH", "/v1/auth/me", raw_body=b"name=x", token=at,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        err(st, b, 415, "unsupported_media_type")


def test_change_password():
    with Server("--login-max-failures", "3") as s:
        tok = owner(s)
        ann, login = member(s, tok, "ann@demo.parley")
        other = s.login("ann@demo.parley", PW)
        P = "/v1/auth/password"

        async def go():
            c = await WS.connect(s.ws_url(), token=other["access_token"])
            st, b, _ = s.request("POST", P, {"current_password": PW, "new_password": "new-password-2"},
                                 token=login["access_token"])
            assert st == 200 and set(b) >= {"access_token", "refresh_token", "token_type", "expires_in", "user"}, b
            assert b["user"]["id"] == ann["id"], b
            frame, code = await closed_by_server(c)
            assert code == 1008, code
            return b
        new = run(go())
        # this session goes on with the new tokens, every other one has ended
        ok(*s.request("GET", "/v1/users", token=new["access_token"])[:2])
        for t in (login, other):
            err(*s.request("GET", "/v1/users", token=t["access_token"])[:2], 401, "unauthenticated")
            err(*s.request("POST", "/v1/auth/refresh", {"refresh_token": t["refresh_token"]})[:2],
                401, "invalid_token")
        ok(*s.request("POST", "/v1/auth/refresh", {"refresh_token": new["refresh_token"]})[:2])
        st, b, _ = s.request("POST", "/v1/auth/login", {"email": "ann@demo.parley", "password": PW})
        assert st == 401, (st, b)
        at = s.login("ann@demo.parley", "new-password-2")["access_token"]
        # bad input
        for body, field in [({"new_password": "new-password-3"}, "current_password"),
                            ({"current_password": "new-password-2"}, "new_password"),
                            ({"current_password": "new-password-2", "new_password": "short"}, "new_password"),
                            ({"current_password": "new-password-2", "new_password": "x" * 257}, "new_password"),
                            ({"current_password": 1, "new_password": "new-password-3"}, "current_password")]:
            err(*s.request("POST", P, body, token=at)[:2], 400, "invalid_field", field)
        err(*s.request("POST", P, {"current_password": "x", "new_password": "new-password-3"})[:2],
            401, "unauthenticated")
        # a wrong current password is refused and counts against the login limit
        for _ in range(3):
            err(*s.request("POST", P, {"current_password": "wrong-password", "new_password": "new-password-3"},
                           token=at)[:2], 403, "forbidden")
        st, b, h = s.request("POST", P, {"current_password": "new-password-2", "new_password": "new-password-3"},
                             token=at)
        err(st, b, 429, "rate_limited")
        assert h.get("Retry-After"), h
        st, b, _ = s.request("POST", "/v1/auth/login", {"email": "ann@demo.parley", "password": "new-password-2"})
        err(st, b, 429, "rate_limited")
        # nothing changed: the password is still the second one (the owner's account is unaffected)
        s.login()
        ok(*s.request("GET", "/v1/users", token=at)[:2])


if __name__ == "__main__":
    main([test_list_and_get, test_invite_and_set_password, test_set_password_bad_input, test_invite_expires,
          test_invite_validation, test_who_may_invite_whom, test_patch_user_and_rules,
          test_role_change_takes_effect_at_once, test_deactivate_and_reactivate, test_reinvite,
          test_user_updated_notice, test_own_profile, test_change_password])
