"""Authentication, tokens, tenant isolation, the admin CLI and conversation
lists, against the real parleyd.

Login (shape, failures, validation, rate limit), refresh rotation with reuse
detection, logout, /v1/auth/me, access-token expiry, forged tokens of every
kind, another tenant's data, `parley` tenant/user/reset-password, and the
conversation list filters and cursor pagination.
"""
import base64
import hashlib
import hmac
import json
import re
import shutil
import tempfile
import time

from harness import DEMO_EMAIL, DEMO_PASSWORD, WS, Server, err, main, run, wait_until

LOGIN = "/v1/auth/login"


# ---------------------------------------------------------------- helpers

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_parts(tok):
    h, p, sig = tok.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p)), sig


def jwt_make(header, payload, key=None, sig=None):
    """Encodes a token; signs it with key (HS256) unless sig is given."""
    h = b64e(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    p = b64e(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    if sig is None:
        sig = b64e(hmac.new(key, ("%s.%s" % (h, p)).encode(), hashlib.sha256).digest()) if key else ""
    return "%s.%s.%s" % (h, p, sig)




def post(s, path, body, token=None, **kw):
    return s.request("POST", path, body, token=token, **kw)


def me_ok(s, token):
    st, b, _ = s.request("GET", "/v1/auth/me", token=token)
    return st == 200


def check_user(u, email=DEMO_EMAIL, role="owner"):
    assert isinstance(u["id"], str) and u["id"].isdigit(), u
    assert isinstance(u["tenant_id"], str) and u["tenant_id"].isdigit(), u
    assert u["email"] == email and u["role"] == role and isinstance(u["name"], str) and u["name"], u


# ------------------------------------------------------------------ login

def test_login_ok():
    with Server() as s:
        st, b, h = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert st == 200, (st, b)
        assert h["Content-Type"] == "application/json" and h.get("Cache-Control") == "no-store"
        assert set(b) >= {"access_token", "token_type", "expires_in", "refresh_token", "user"}, b
        assert b["token_type"] == "Bearer" and b["expires_in"] == 900
        check_user(b["user"])
        assert b["user"]["name"] == "Demo Admin"
        # the access token: an HS256 JWT for the API audience naming this user
        hdr, claims, sig = jwt_parts(b["access_token"])
        assert hdr == {"alg": "HS256", "typ": "JWT"}, hdr
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sig), sig
        assert claims["aud"] == "parley-api" and claims["iss"] == "parley", claims
        assert claims["sub"] == b["user"]["id"] and claims["tid"] == b["user"]["tenant_id"], claims
        assert claims["exp"] - claims["iat"] == 900 and abs(claims["iat"] - time.time()) < 60, claims
        # the refresh token is opaque: "<tenant id>.<random>"
        assert re.fullmatch(r"%s\.[A-Za-z0-9_-]{43}" % b["user"]["tenant_id"], b["refresh_token"]), b
        assert me_ok(s, b["access_token"])
        # emails are case-insensitive; every login is a new session
        st, b2, _ = post(s, LOGIN, {"email": "Admin@DEMO.parley", "password": DEMO_PASSWORD})
        assert st == 200 and b2["user"]["id"] == b["user"]["id"], b2
        assert b2["refresh_token"] != b["refresh_token"]
        # "tenant" picks the tenant by slug
        st, b3, _ = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant": "demo"})
        assert st == 200 and b3["user"]["id"] == b["user"]["id"]


def test_login_wrong_credentials():
    with Server() as s:
        st, b, h = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD + "x"})
        e1 = err(st, b, 401, "invalid_credentials")
        st, b, _ = post(s, LOGIN, {"email": "nobody@demo.parley", "password": DEMO_PASSWORD})
        e2 = err(st, b, 401, "invalid_credentials")
        # the two cases are indistinguishable
        assert e1 == e2, (e1, e2)
        st, b, _ = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant": "no-such"})
        err(st, b, 401, "invalid_credentials")
        assert "access_token" not in str(b)


def test_login_validation():
    with Server() as s:
        for body, field in [({"password": DEMO_PASSWORD}, "email"),
                            ({"email": DEMO_EMAIL}, "password"),
                            ({}, "email"),
                            ({"email": None, "password": DEMO_PASSWORD}, "email"),
                            ({"email": 42, "password": DEMO_PASSWORD}, "email"),
                            ({"email": DEMO_EMAIL, "password": ["x"]}, "password"),
                            ({"email": DEMO_EMAIL, "password": 12345678}, "password"),
                            ({"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant": 7}, "tenant"),
                            ({"email": {"a": 1}, "password": DEMO_PASSWORD}, "email"),
                            ({"email": "a", "password": DEMO_PASSWORD}, "email"),
                            ({"email": DEMO_EMAIL, "password": ""}, "password"),
                            ({"email": DEMO_EMAIL, "password": "x" * 5000}, "password")]:
            st, b, _ = post(s, LOGIN, body)
            err(st, b, 400, "invalid_field", field)
        for raw in [b"{", b"", b"[]", b'"str"', b"null", b'{"email":"a@b.c","email":"x@y.z","password":"p"}',
                    b'{"email":"a@b.c" "password":"p"}', b"\xff\xfe"]:
            st, b, _ = s.request("POST", LOGIN, raw_body=raw, headers={"Content-Type": "application/json"})
            err(st, b, 400, "invalid_json")
        for ctype in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                      "application/xml"]:
            raw = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
            for path in [LOGIN, "/v1/auth/refresh", "/v1/widget/session"]:
                st, b, _ = s.request("POST", path, raw_body=raw, headers={"Content-Type": ctype})
                err(st, b, 415, "unsupported_media_type")
        # none of that counted as a failed login: the right password still works
        st, b, _ = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert st == 200, b


def test_login_rate_limit():
    with Server("--login-max-failures", "3") as s:
        for _ in range(3):
            st, b, _ = post(s, LOGIN, {"email": DEMO_EMAIL, "password": "wrong-password"})
            err(st, b, 401, "invalid_credentials")
        st, b, h = post(s, LOGIN, {"email": DEMO_EMAIL, "password": "wrong-password"})
        err(st, b, 429, "rate_limited")
        ra = h.get("Retry-After")
        assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 300, h
        # while limited, even the right password is refused
        st, b, h = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        err(st, b, 429, "rate_limited")
        assert "access_token" not in b and h.get("Retry-After")
        # the limit is per email: other accounts are unaffected (case folded too)
        st, b, _ = post(s, LOGIN, {"email": "ADMIN@demo.parley", "password": DEMO_PASSWORD})
        err(st, b, 429, "rate_limited")
        st, b, _ = post(s, LOGIN, {"email": "someone@demo.parley", "password": "wrong-password"})
        err(st, b, 401, "invalid_credentials")


# --------------------------------------------------------------- sessions

def refresh(s, tok):
    return post(s, "/v1/auth/refresh", {"refresh_token": tok})


def test_refresh_rotation_and_reuse_detection():
    with Server() as s:
        first = s.login()
        other = s.login()          # a second, independent session (family)
        r0 = first["refresh_token"]
        st, b1, _ = refresh(s, r0)
        assert st == 200, b1
        assert set(b1) >= {"access_token", "token_type", "expires_in", "refresh_token", "user"}
        assert b1["token_type"] == "Bearer" and b1["refresh_token"] != r0
        check_user(b1["user"])
        assert me_ok(s, b1["access_token"])
        r1 = b1["refresh_token"]
        # the new refresh token works once...
        st, b2, _ = refresh(s, r1)
        assert st == 200, b2
        r2 = b2["refresh_token"]
        assert len({r0, r1, r2}) == 3
        # ...and presenting a spent one again is reuse: 401 and the family is revoked
        st, b, _ = refresh(s, r1)
        err(st, b, 401, "invalid_token")
        st, b, _ = refresh(s, r2)   # the newest token of that family is dead too
        err(st, b, 401, "invalid_token")
        st, b, _ = refresh(s, r0)
        err(st, b, 401, "invalid_token")
        # another session of the same user is untouched
        st, b, _ = refresh(s, other["refresh_token"])
        assert st == 200, b
        # malformed or unknown refresh tokens
        tid = first["user"]["tenant_id"]
        for bad in ["garbage", tid + ".", tid + "." + "A" * 43, "1." + r0.split(".")[1],
                    r0.split(".")[1], "%s.%s" % (tid, "A" * 60)]:
            st, b, _ = refresh(s, bad)
            err(st, b, 401, "invalid_token")
        for body, field in [({}, "refresh_token"), ({"refresh_token": 5}, "refresh_token"),
                            ({"refresh_token": ""}, "refresh_token"),
                            ({"refresh_token": first["access_token"]}, "refresh_token")]:   # over 200 bytes
            st, b, _ = post(s, "/v1/auth/refresh", body)
            err(st, b, 400, "invalid_field", field)


def test_logout():
    with Server() as s:
        a = s.login()
        keep = s.login()
        st, b, _ = post(s, "/v1/auth/logout", {"refresh_token": a["refresh_token"]})
        assert st == 204 and b == "", (st, b)
        st, b, _ = refresh(s, a["refresh_token"])
        err(st, b, 401, "invalid_token")
        # a second logout of the same token is refused, the other session lives on
        st, b, _ = post(s, "/v1/auth/logout", {"refresh_token": a["refresh_token"]})
        err(st, b, 401, "invalid_token")
        st, b, _ = refresh(s, keep["refresh_token"])
        assert st == 200, b
        # a rotated family: logging out with the newest token ends it
        st, b, _ = post(s, "/v1/auth/logout", {"refresh_token": b["refresh_token"]})
        assert st == 204
        st, b2, _ = refresh(s, keep["refresh_token"])
        err(st, b2, 401, "invalid_token")
        st, b, _ = post(s, "/v1/auth/logout", {"refresh_token": "nonsense"})
        err(st, b, 401, "invalid_token")


def test_me():
    with Server() as s:
        a = s.login()
        st, b, h = s.request("GET", "/v1/auth/me", token=a["access_token"])
        assert st == 200, b
        # docs/api-outline.md says {user}; parleyd answers with the bare user object
        u = b.get("user", b)
        check_user(u)
        assert u == a["user"], (u, a["user"])
        st, b, _ = s.request("GET", "/v1/auth/me")
        err(st, b, 401, "unauthenticated")
        st, b, _ = s.request("GET", "/v1/auth/me", headers={"Authorization": "Basic " + a["access_token"]})
        err(st, b, 401, "unauthenticated")
        st, b, _ = s.request("GET", "/v1/auth/me", headers={"Authorization": "bearer " + a["access_token"]})
        assert st == 200, b     # the scheme is case-insensitive (RFC 9110 11.1)


def test_access_token_expires():
    with Server("--access-ttl", "1") as s:
        # a token that is accepted at least once (retry if a second boundary
        # passed between issue and use: exp = iat + 1 s)
        for _ in range(5):
            a = s.login()
            assert a["expires_in"] == 1
            t_issued = time.monotonic()
            if me_ok(s, a["access_token"]):
                break
        else:
            raise AssertionError("a fresh access token was never accepted")
        t_refused = wait_until(lambda: not me_ok(s, a["access_token"]), 5.0, "the access token to expire", 0.02)
        assert t_refused - t_issued <= 2.5, t_refused - t_issued
        st, b, _ = s.request("GET", "/v1/conversations", token=a["access_token"])
        err(st, b, 401, "unauthenticated")
        # the refresh token outlives it and brings a fresh access token
        st, b, _ = refresh(s, a["refresh_token"])
        assert st == 200 and b["access_token"] != a["access_token"], b


# ----------------------------------------------------------------- forged

def test_forged_tokens():
    with Server() as s:
        a = s.login()
        vis = s.visitor("Vic")
        tok, vtok = a["access_token"], vis["visitor_token"]
        hdr, claims, sig = jwt_parts(tok)
        vhdr, vclaims, vsig = jwt_parts(vtok)
        assert vclaims["aud"] == "parley-widget"
        h64, p64, _ = tok.split(".")
        # the genuine tokens first, so verified claims are remembered: a
        # forgery sharing their signature must still be refused
        assert me_ok(s, tok)
        assert s.request("GET", "/v1/widget/conversations", token=vtok)[0] == 200
        wrong_key = b"k" * 32
        forged = {
            "alg none, unsigned": jwt_make({"alg": "none", "typ": "JWT"}, claims),
            "alg none, old signature": jwt_make({"alg": "none", "typ": "JWT"}, claims, sig=sig),
            "alg None": jwt_make({"alg": "None"}, claims),
            "no alg": jwt_make({"typ": "JWT"}, claims, key=wrong_key),
            "HS256, wrong key": jwt_make(hdr, claims, key=wrong_key),
            "HS256, empty key": h64 + "." + p64 + "." + b64e(hmac.new(b"", (h64 + "." + p64).encode(),
                                                                      hashlib.sha256).digest()),
            "HS512 header": jwt_make({"alg": "HS512", "typ": "JWT"}, claims, sig=sig),
            "tampered tid": jwt_make(hdr, dict(claims, tid=str(int(claims["tid"]) + 1)), sig=sig),
            "tampered sub": jwt_make(hdr, dict(claims, sub=str(int(claims["sub"]) + 1)), sig=sig),
            "tampered exp": jwt_make(hdr, dict(claims, exp=claims["exp"] + 86400), sig=sig),
            "tampered role": jwt_make(hdr, dict(claims, role="agent"), sig=sig),
            "expired, wrong key": jwt_make(hdr, dict(claims, exp=1, iat=0), key=wrong_key),
            "signature cut": tok[:-2],
            "signature of another token": h64 + "." + p64 + "." + vsig,
            "padded": tok + "=",
            "two parts": h64 + "." + p64,
            "four parts": tok + ".x",
            "garbage": "garbage",
            "dots": "...",
            "long": "a" * 4000,
            "not base64": "%%%.%%%.%%%",
        }
        for name, t in forged.items():
            st, b, _ = s.request("GET", "/v1/auth/me", token=t)
            err(st, b, 401, "unauthenticated")
            st, b, _ = s.request("GET", "/v1/conversations", token=t)
            assert st == 401, (name, st, b)
        # audiences keep the two token kinds apart
        for path in ["/v1/auth/me", "/v1/conversations"]:
            st, b, _ = s.request("GET", path, token=vtok)
            err(st, b, 401, "unauthenticated")
        conv = s.new_conversation(vtok)
        st, b, _ = post(s, "/v1/conversations/%s/messages" % conv["id"], {"client_id": "x", "text": "hi"}, token=vtok)
        err(st, b, 401, "unauthenticated")
        st, b, _ = s.request("GET", "/v1/widget/conversations", token=tok)
        err(st, b, 401, "unauthenticated")
        st, b, _ = s.request("GET", "/v1/widget/conversations/%s/messages" % conv["id"], token=tok)
        err(st, b, 401, "unauthenticated")
        st, b, _ = post(s, "/v1/widget/conversations", {"text": "hi"}, token=tok)
        err(st, b, 401, "unauthenticated")
        # a visitor token re-labelled for the API audience (old signature) is forged too
        st, b, _ = s.request("GET", "/v1/auth/me", token=jwt_make(vhdr, dict(vclaims, aud="parley-api"), sig=vsig))
        err(st, b, 401, "unauthenticated")
        # and the genuine tokens still work where they belong
        assert me_ok(s, tok)
        st, b, _ = s.request("GET", "/v1/widget/conversations", token=vtok)
        assert st == 200 and [c["id"] for c in b["data"]] == [conv["id"]], b


# ------------------------------------------------------------ two tenants

def test_other_tenant_is_invisible():
    with Server() as s:
        a = s.login()
        vis = s.visitor("Ann")
        convs = [s.new_conversation(vis["visitor_token"], "hello %d" % i, "c%d" % i)["id"] for i in range(2)]
        cid = convs[0]
        before = s.request("GET", "/v1/conversations/" + cid, token=a["access_token"])[1]
        # tenant B with its own agent, made with the CLI beside the running server
        tid_b, key_b = s.new_tenant("acme", "Acme")
        s.new_user("acme", "bob@acme.test", "bob-password-1", role="agent", name="Bob")
        bob = s.login("bob@acme.test", "bob-password-1", tenant="acme")
        assert bob["user"]["tenant_id"] == tid_b != a["user"]["tenant_id"]
        bt = bob["access_token"]
        for method, path, body in [("GET", "/v1/conversations/" + cid, None),
                                   ("PATCH", "/v1/conversations/" + cid, {"status": "resolved"}),
                                   ("POST", "/v1/conversations/%s/assign" % cid, {}),
                                   ("GET", "/v1/conversations/%s/messages" % cid, None),
                                   ("POST", "/v1/conversations/%s/messages" % cid,
                                    {"client_id": "bob-1", "text": "from another tenant"})]:
            st, b, _ = s.request(method, path, body, token=bt)
            err(st, b, 404, "not_found")
        st, b, _ = s.request("GET", "/v1/conversations?limit=100", token=bt)
        assert st == 200 and b == {"data": [], "next_cursor": None}, b
        for q in ["status=open", "assignee=none", "assignee=" + a["user"]["id"]]:
            st, b, _ = s.request("GET", "/v1/conversations?" + q, token=bt)
            assert st == 200 and b["data"] == [], (q, b)
        # nothing about A's conversation changed
        after = s.request("GET", "/v1/conversations/" + cid, token=a["access_token"])[1]
        assert after == before, (before, after)
        st, evs, _ = s.request("GET", "/v1/conversations/%s/messages" % cid, token=a["access_token"])
        assert all(e.get("client_id") != "bob-1" for e in evs["data"])

        # B's own visitors and conversations stay in B
        vb = s.visitor("Bea", widget_key=key_b)
        assert vb["tenant"]["id"] == tid_b and vb["tenant"]["name"] == "Acme"
        cb = s.new_conversation(vb["visitor_token"], "hi acme", "b1")
        st, b, _ = s.request("GET", "/v1/conversations", token=bt)
        assert [c["id"] for c in b["data"]] == [cb["id"]], b
        st, b, _ = s.request("GET", "/v1/conversations", token=a["access_token"])
        assert sorted(c["id"] for c in b["data"]) == sorted(convs), b
        err(*s.request("GET", "/v1/conversations/" + cb["id"], token=a["access_token"])[:2], 404, "not_found")
        # a visitor of A cannot reach B's conversation, nor B's visitor A's
        st, b, _ = s.request("GET", "/v1/widget/conversations/%s/messages" % cb["id"], token=vis["visitor_token"])
        err(st, b, 404, "not_found")
        st, b, _ = post(s, "/v1/widget/conversations/%s/messages" % cid, {"client_id": "x", "text": "x"},
                        token=vb["visitor_token"])
        err(st, b, 404, "not_found")

        # A's visitor token does not carry over to B's widget key: a new,
        # unrelated visitor of B is made instead of A's being resumed
        st, b, _ = post(s, "/v1/widget/session", {"widget_key": key_b, "visitor_token": vis["visitor_token"]})
        assert st == 201, (st, b)
        assert b["visitor"]["id"] != vis["visitor"]["id"] and b["tenant"]["id"] == tid_b, b
        st, b, _ = s.request("GET", "/v1/widget/conversations", token=b["visitor_token"])
        assert st == 200 and b["data"] == [], b
        # while with A's own key the same token is a returning visitor
        st, b, _ = post(s, "/v1/widget/session", {"widget_key": s.widget_key, "visitor_token": vis["visitor_token"]})
        assert st == 200 and b["visitor"]["id"] == vis["visitor"]["id"], b

        async def ws_check():
            w = await WS.connect(s.ws_url(widget=True, key=key_b))
            r = await w.request({"type": "auth", "token": vis["visitor_token"]})
            assert r["type"] == "error" and r["error"]["code"] == "unauthenticated", r
            r = await w.request({"type": "auth", "token": vb["visitor_token"]})
            assert r["type"] == "ack", r
            await w.close()
            # and B's agent cannot subscribe to A's conversation
            w = await WS.connect(s.ws_url(), bt)
            r = await w.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert r["type"] == "error" and r["error"]["code"] == "not_found", r
            await w.close()
        run(ws_check())


# -------------------------------------------------------------------- CLI

def test_cli_tenant_and_user():
    with Server() as s:
        tid, key = s.new_tenant("globex", "Globex")
        assert re.fullmatch(r"wk_[A-Za-z0-9_-]{24}", key), key
        assert s.cli_ok("tenant", "key", "--tenant", "globex").strip() == key
        assert s.cli_ok("tenant", "key", "--tenant", "demo").strip() == s.widget_key
        # the server sees the new tenant at once
        v = s.visitor("G", widget_key=key)
        assert {k: v["tenant"][k] for k in ("id", "name")} == {"id": tid, "name": "Globex"}, v
        uid = s.new_user("globex", "Gina@Globex.test", "gina-password", role="admin", name="Gina")
        st, b, _ = post(s, LOGIN, {"email": "gina@globex.test", "password": "gina-password", "tenant": "globex"})
        assert st == 200, b
        assert b["user"] == dict(b["user"], id=uid, tenant_id=tid, email="gina@globex.test", role="admin",
                                 name="Gina"), b
        st, b2, _ = post(s, LOGIN, {"email": "gina@globex.test", "password": "gina-password", "tenant": "demo"})
        err(st, b2, 401, "invalid_credentials")
        # the same email in two tenants: "tenant" tells them apart
        s.new_user("globex", DEMO_EMAIL, "other-password", role="agent")
        st, b3, _ = post(s, LOGIN, {"email": DEMO_EMAIL, "password": "other-password", "tenant": "globex"})
        assert st == 200 and b3["user"]["tenant_id"] == tid, b3
        st, b4, _ = post(s, LOGIN, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant": "demo"})
        assert st == 200 and b4["user"]["tenant_id"] != tid, b4
        # refused inputs: non-zero exit, message on stderr, nothing created
        for args in [("tenant", "create", "--name", "Dup", "--slug", "globex"),
                     ("tenant", "create", "--name", "Bad", "--slug", "Bad Slug"),
                     ("tenant", "create", "--slug", "noname"),
                     ("tenant", "key", "--tenant", "nope"),
                     ("user", "create", "--tenant", "globex", "--email", "gina@globex.test", "--password", "xxxxxxxx1"),
                     ("user", "create", "--tenant", "globex", "--email", "x@globex.test", "--password", "short"),
                     ("user", "create", "--tenant", "globex", "--email", "y@globex.test", "--password", "long-enough",
                      "--role", "god"),
                     ("user", "create", "--tenant", "nope", "--email", "z@nope.test", "--password", "long-enough"),
                     ("user", "create", "--tenant", "globex", "--email", "no-at-sign", "--password", "long-enough"),
                     ("user", "reset-password", "--tenant", "globex", "--email", "ghost@globex.test",
                      "--password", "long-enough"),
                     ("frobnicate", "now")]:
            rc, out, errout = s.cli(*args)
            assert rc != 0 and errout.strip(), (args, rc, out, errout)
        for email in ["x@globex.test", "y@globex.test", "no-at-sign"]:
            st, b, _ = post(s, LOGIN, {"email": email, "password": "long-enough", "tenant": "globex"})
            assert st in (400, 401), (email, st, b)


def test_cli_reset_password():
    with Server() as s:
        s.new_user("demo", "ria@demo.parley", "old-password-1", name="Ria")
        before = s.login("ria@demo.parley", "old-password-1")
        assert me_ok(s, before["access_token"])
        out = s.cli_ok("user", "reset-password", "--tenant", "demo", "--email", "RIA@demo.parley",
                     "--password", "new-password-2")
        assert "ria@demo.parley" in out
        st, b, _ = post(s, LOGIN, {"email": "ria@demo.parley", "password": "old-password-1"})
        err(st, b, 401, "invalid_credentials")
        after = s.login("ria@demo.parley", "new-password-2")
        assert after["user"]["id"] == before["user"]["id"]
        assert me_ok(s, after["access_token"])
        # sessions from before the reset are over: the access token at once...
        st, b, _ = s.request("GET", "/v1/auth/me", token=before["access_token"])
        err(st, b, 401, "unauthenticated")
        # ...and the refresh token cannot mint new access tokens either
        st, b, _ = refresh(s, before["refresh_token"])
        err(st, b, 401, "invalid_token")
        st, b, _ = refresh(s, after["refresh_token"])
        assert st == 200 and me_ok(s, b["access_token"]), b
        # other users are unaffected
        assert me_ok(s, s.login()["access_token"])


# ------------------------------------------------------ conversation lists

def list_all(s, token, query, limit):
    """Follows next_cursor to the end; returns the pages' ids."""
    pages, cursor = [], None
    for _ in range(50):
        q = "%s%slimit=%d" % (query, "&" if query else "", limit)
        if cursor:
            q += "&cursor=" + cursor
        st, b, _ = s.request("GET", "/v1/conversations?" + q, token=token)
        assert st == 200, (q, b)
        assert set(b) == {"data", "next_cursor"}, b
        assert len(b["data"]) <= limit
        pages.append([c["id"] for c in b["data"]])
        cursor = b["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor, b
    raise AssertionError("pagination does not end")


def test_conversation_filters_and_pagination():
    with Server() as s:
        a = s.login()
        tok, me = a["access_token"], a["user"]["id"]
        uid2 = s.new_user("demo", "agent2@demo.parley", "agent2-password", name="Second")
        a2 = s.login("agent2@demo.parley", "agent2-password")
        vis = s.visitor("Many")
        c = [s.new_conversation(vis["visitor_token"], "q%d" % i, "m%d" % i)["id"] for i in range(7)]
        newest_first = c[::-1]
        for i in (1, 4):
            st, b, _ = post(s, "/v1/conversations/%s/assign" % c[i], {}, token=tok)
            assert st == 200 and b["assignee"]["id"] == me, b
        st, b, _ = post(s, "/v1/conversations/%s/assign" % c[3], None, token=a2["access_token"])
        assert st == 200 and b["assignee"]["id"] == uid2, b
        for i in (2, 5):
            st, b, _ = s.request("PATCH", "/v1/conversations/" + c[i], {"status": "resolved"}, token=tok)
            assert st == 200 and b["status"] == "resolved", b

        def ids(query):
            st, b, _ = s.request("GET", "/v1/conversations" + query, token=tok)
            assert st == 200, (query, b)
            return [x["id"] for x in b["data"]], b

        got, b = ids("")
        assert got == newest_first and b["next_cursor"] is None, got
        conv = b["data"][0]
        for k in ["id", "tenant_id", "status", "priority", "visitor", "assignee", "last_seq", "last_message",
                  "visitor_read_seq", "agent_read_seq", "created_at", "created_at_ms", "updated_at",
                  "updated_at_ms"]:
            assert k in conv, (k, conv)
        assert conv["last_message"]["text"] == "q6" and conv["visitor"]["name"] == "Many", conv
        assert ids("?status=resolved")[0] == [c[5], c[2]]
        # new conversations wait in the queue; an assignment opens them
        assert ids("?status=open")[0] == [c[4], c[3], c[1]]
        assert ids("?status=waiting")[0] == [c[6], c[0]]
        assert ids("?status=closed")[0] == []
        assert ids("?assignee=me")[0] == [c[4], c[1]]
        assert ids("?assignee=" + me)[0] == [c[4], c[1]]
        assert ids("?assignee=" + uid2)[0] == [c[3]]
        assert ids("?assignee=none")[0] == [c[6], c[5], c[2], c[0]]
        assert ids("?assignee=me&status=open")[0] == [c[4], c[1]]
        assert ids("?assignee=none&status=resolved")[0] == [c[5], c[2]]
        st, b, _ = s.request("GET", "/v1/conversations?assignee=me", token=a2["access_token"])
        assert [x["id"] for x in b["data"]] == [c[3]]

        # cursor pagination: every conversation exactly once, newest first, null at the end
        pages = list_all(s, tok, "", 3)
        assert [len(p) for p in pages] == [3, 3, 1], pages
        flat = [x for p in pages for x in p]
        assert flat == newest_first and len(set(flat)) == 7
        pages = list_all(s, tok, "", 7)
        assert pages == [newest_first], pages
        for query, want in [("status=open", [c[4], c[3], c[1]]),
                            ("assignee=none", [c[6], c[5], c[2], c[0]]),
                            ("assignee=me", [c[4], c[1]])]:
            for limit in (1, 2, 3):
                flat = [x for p in list_all(s, tok, query, limit) for x in p]
                assert flat == want, (query, limit, flat)
        # a conversation created between two pages does not disturb the walk
        st, b, _ = s.request("GET", "/v1/conversations?limit=3", token=tok)
        c7 = s.new_conversation(vis["visitor_token"], "late", "m7")["id"]
        st, b2, _ = s.request("GET", "/v1/conversations?limit=3&cursor=" + b["next_cursor"], token=tok)
        assert [x["id"] for x in b2["data"]] == newest_first[3:6] and c7 not in str(b2)

        # the messages of one conversation: after/limit pagination by seq
        st, b, _ = s.request("GET", "/v1/conversations/%s/messages?limit=1" % c[0], token=tok)
        assert st == 200 and [e["seq"] for e in b["data"]] == [1] and b["next_cursor"] == "1", b
        assert b["data"][0]["kind"] == "created"
        st, b, _ = s.request("GET", "/v1/conversations/%s/messages?after=1" % c[0], token=tok)
        assert [e["seq"] for e in b["data"]] == [2] and b["next_cursor"] is None, b
        assert b["data"][0]["text"] == "q0" and b["data"][0]["sender"]["type"] == "visitor"


def test_invalid_query_params():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor()
        cid = s.new_conversation(vis["visitor_token"])["id"]
        for q, field in [("status=bogus", "status"), ("status=", "status"), ("status=OPEN", "status"),
                         ("assignee=bogus", "assignee"), ("assignee=", "assignee"), ("assignee=-1", "assignee"),
                         ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"),
                         ("limit=-1", "limit"), ("limit=1.5", "limit"), ("limit=", "limit"),
                         ("limit=99999999999999999999999", "limit"),
                         ("cursor=abc", "cursor"), ("cursor=0", "cursor"), ("cursor=-5", "cursor"),
                         ("cursor=", "cursor")]:
            st, b, _ = s.request("GET", "/v1/conversations?" + q, token=tok)
            err(st, b, 400, "invalid_field", field)
        for q, field in [("after=-1", "after"), ("after=x", "after"), ("limit=0", "limit"),
                         ("limit=501", "limit"), ("limit=two", "limit")]:
            st, b, _ = s.request("GET", "/v1/conversations/%s/messages?%s" % (cid, q), token=tok)
            err(st, b, 400, "invalid_field", field)
            st, b, _ = s.request("GET", "/v1/widget/conversations/%s/messages?%s" % (cid, q),
                                 token=vis["visitor_token"])
            err(st, b, 400, "invalid_field", field)
        # limits at the edges are fine; unknown parameters are ignored
        for q in ["limit=1", "limit=100", "status=open&limit=100", "foo=bar"]:
            st, b, _ = s.request("GET", "/v1/conversations?" + q, token=tok)
            assert st == 200, (q, b)
        st, b, _ = s.request("GET", "/v1/conversations/%s/messages?limit=500&after=0" % cid, token=tok)
        assert st == 200, b
        # ids that are not ids are simply not found
        for bad in ["abc", "0", "-1", "99999999999999999999999"]:
            st, b, _ = s.request("GET", "/v1/conversations/" + bad, token=tok)
            err(st, b, 404, "not_found")


def test_expired_tokens_pruned():
    """Expired refresh tokens are deleted at start (and once a day): a
    login made on a clock 31 days back (the refresh token lives 30) is
    gone after a restart on today's clock, and its token is refused."""
    d = tempfile.mkdtemp(prefix="parley-tokens-")
    try:
        with Server("--clock-offset-ms", str(-31 * 86400 * 1000), data_dir=d) as s:
            old = s.login()
            s.login()
            s.stop()
            s.extra[s.extra.index("--clock-offset-ms") + 1] = "0"
            s.start()
            wait_until(lambda: re.search(r"tokens\.pruned rows=([1-9]\d*)", s.stderr_text()), what="the token prune")
            rows = int(re.findall(r"tokens\.pruned rows=(\d+)", s.stderr_text())[-1])
            assert rows >= 2, rows
            st, b, _ = s.request("POST", "/v1/auth/refresh", {"refresh_token": old["refresh_token"]})
            err(st, b, 401, "invalid_token")
            fresh = s.login()   # a login today keeps its token through the next prune
            assert s.request("POST", "/v1/auth/refresh", {"refresh_token": fresh["refresh_token"]})[0] == 200
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main([test_login_ok, test_login_wrong_credentials, test_login_validation, test_login_rate_limit,
          test_refresh_rotation_and_reuse_detection, test_logout, test_me, test_access_token_expires,
          test_forged_tokens, test_other_tenant_is_invisible, test_cli_tenant_and_user, test_cli_reset_password,
          test_conversation_filters_and_pagination, test_invalid_query_params, test_expired_tokens_pruned])
