"""API keys against the real server (docs/openapi.yaml, tag api-keys).

- owners and admins create, list and revoke keys; the secret is in the
  creation's answer only, and the data directory holds its SHA-256, never
  the secret (read with python3-lmdb after the server stopped);
- a key works on the routes its scope allows (read: GETs as an agent;
  write: as a supervisor; admin: as an admin) and gets 403 elsewhere, on
  the routes for users only too; its messages are an agent's under the
  key's name; it assigns only by naming the assignee; it opens no
  WebSocket session;
- revocation counts from the next request; an expired key is refused; a
  key of another tenant reaches nothing of this one, and a secret altered
  to name this tenant is refused;
- the last use is recorded on the first use and not again within the
  minute;
- every bad input gets its 400/403/404.
The full principal x route matrix is test_permissions.py.
"""
import calendar
import hashlib
import os
import re
import time

from harness import DEMO_PASSWORD, WS, Server, err, main, ok, run, wait_until

PASSWORD = "apikeys-password-1"
SECRET_RE = re.compile(r"^pk_([1-9][0-9]*)_([A-Za-z0-9_-]{43})$")


def owner_token(s):
    return s.login()["access_token"]


def make_key(s, token, scope="read", name=None, expires_at=None, status=201):
    body = {"name": name or "Key %s" % scope, "scope": scope}
    if expires_at is not None:
        body["expires_at"] = expires_at
    st, b, _ = s.request("POST", "/v1/api-keys", body, token=token)
    assert st == status, (st, b)
    return b


def keys(s, token):
    return {k["id"]: k for k in ok(*s.request("GET", "/v1/api-keys", token=token)[:2])["data"]}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def epoch(stamp):
    """Seconds since the epoch of an answer's time ("…T10:00:00.000Z")."""
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + int(stamp[20:23]) / 1000


def conversation(s):
    vis = s.visitor("Kay")
    return s.new_conversation(vis["visitor_token"], "hello from the widget", "k-first")["id"], vis


def test_create_list_revoke():
    with Server() as s:
        tok = owner_token(s)
        me = ok(*s.request("GET", "/v1/auth/me", token=tok)[:2])
        made = make_key(s, tok, "write", name="CRM sync", expires_at=iso(time.time() + 86400))
        assert set(made) == {"key", "secret"}, made
        k, secret = made["key"], made["secret"]
        m = SECRET_RE.match(secret)
        assert m and m.group(1) == me["tenant_id"], secret
        assert k["name"] == "CRM sync" and k["scope"] == "write" and not k["revoked"], k
        assert k["hint"] == secret[-4:] and k["revoked_at"] is None and k["last_used_at"] is None, k
        assert k["created_by"] == {"type": "user", "id": me["id"], "name": me["name"]}, k
        assert k["expires_at"].endswith("Z") and k["created_at"].endswith("Z"), k
        # the list: the key, never the secret
        st, raw, _ = s.request("GET", "/v1/api-keys", token=tok)
        assert st == 200 and secret not in str(raw) and m.group(2) not in str(raw), raw
        listed = keys(s, tok)
        assert set(listed) == {k["id"]} and "secret" not in listed[k["id"]], listed
        # it works
        ok(*s.request("GET", "/v1/conversations", token=secret)[:2])
        # revoked: refused from the next request on, every method
        rv = ok(*s.request("DELETE", "/v1/api-keys/" + k["id"], token=tok)[:2])
        assert rv["revoked"] and rv["revoked_at"] and rv["id"] == k["id"], rv
        for method, path, body in [("GET", "/v1/conversations", None), ("GET", "/v1/tenant", None),
                                   ("POST", "/v1/users", {"email": "x@y.z", "name": "X", "role": "agent"})]:
            err(*s.request(method, path, body, token=secret)[:2], 401, "unauthenticated")
        # again: unchanged
        again = ok(*s.request("DELETE", "/v1/api-keys/" + k["id"], token=tok)[:2])
        assert again["revoked_at"] == rv["revoked_at"], (again, rv)
        assert keys(s, tok)[k["id"]]["revoked"]
        # an admin manages keys too; a second key lists after the first
        s.new_user("demo", "adele@demo.parley", PASSWORD, role="admin", name="Adele")
        adm = s.login("adele@demo.parley", PASSWORD)["access_token"]
        k2 = make_key(s, adm, "admin", name="Ops")["key"]
        assert k2["created_by"]["name"] == "Adele", k2
        assert list(keys(s, tok)) == [k["id"], k2["id"]]
        # a restart keeps both as they were
        s.restart()
        err(*s.request("GET", "/v1/tenant", token=secret)[:2], 401, "unauthenticated")
        assert keys(s, owner_token(s))[k2["id"]]["revoked"] is False


def test_secret_stored_hashed():
    """Only the SHA-256 of a secret is in the data directory."""
    import lmdb
    with Server() as s:
        tok = owner_token(s)
        made = [make_key(s, tok, scope, name="Stored %s" % scope) for scope in ("read", "write", "admin")]
        used = made[0]["secret"]
        ok(*s.request("GET", "/v1/tenant", token=used)[:2])
        s.stop()
        data = open(os.path.join(s.data_dir, "db", "data.mdb"), "rb").read()
        for m in made:
            secret = m["secret"]
            rnd = SECRET_RE.match(secret).group(2)
            assert secret.encode() not in data and rnd.encode() not in data and rnd[:16].encode() not in data
            assert hashlib.sha256(secret.encode()).digest() in data
        # the index maps tenant id . sha256(secret) to the key id
        env = lmdb.open(os.path.join(s.data_dir, "db"), readonly=True, lock=False, max_dbs=64)
        try:
            idx = env.open_db(b"api_key_hash", create=False)
            with env.begin(db=idx) as txn:
                for m in made:
                    tid = int(SECRET_RE.match(m["secret"]).group(1))
                    k = tid.to_bytes(8, "big") + hashlib.sha256(m["secret"].encode()).digest()
                    assert txn.get(k) == int(m["key"]["id"]).to_bytes(8, "big"), m["key"]
        finally:
            env.close()


def test_scopes():
    with Server() as s:
        tok = owner_token(s)
        cid, vis = conversation(s)
        read = make_key(s, tok, "read", name="Reports")["secret"]
        write = make_key(s, tok, "write", name="CRM")
        admin = make_key(s, tok, "admin", name="Provisioning")["secret"]
        wkey, write = write["key"], write["secret"]
        agent = s.new_user("demo", "ann@demo.parley", PASSWORD, role="agent", name="Ann")
        # read: GETs an agent may make, nothing else
        for path in ["/v1/conversations", "/v1/conversations/" + cid, "/v1/conversations/%s/messages" % cid,
                     "/v1/users", "/v1/tenant"]:
            ok(*s.request("GET", path, token=read)[:2])
        for method, path, body in [
                ("POST", "/v1/conversations/%s/messages" % cid, {"client_id": "r-1", "text": "no"}),
                ("PATCH", "/v1/conversations/" + cid, {"status": "resolved"}),
                ("POST", "/v1/conversations/%s/assign" % cid, {"assignee_id": agent}),
                ("GET", "/v1/api-keys", None), ("PATCH", "/v1/tenant", {"name": "No"}),
                ("POST", "/v1/users", {"email": "r@demo.parley", "name": "R", "role": "agent"})]:
            err(*s.request(method, path, body, token=read)[:2], 403, "forbidden")
        # write: a supervisor's reach, not an admin's
        sent = ok(*s.request("POST", "/v1/conversations/%s/messages" % cid, {"client_id": "w-1", "text": "from the CRM"},
                             token=write)[:2], 201)
        assert sent["event"]["sender"] == {"type": "agent", "id": wkey["id"], "name": "CRM"}, sent
        note = ok(*s.request("POST", "/v1/conversations/%s/messages" % cid,
                             {"client_id": "w-2", "text": "internal", "private": True}, token=write)[:2], 201)
        assert note["event"]["kind"] == "note", note
        conv = ok(*s.request("GET", "/v1/conversations/" + cid, token=tok)[:2])
        assert conv["last_message"]["sender_type"] == "agent" and conv["first_response_at"], conv
        # the visitor sees the key's message as an agent's, and not the note
        evs = ok(*s.request("GET", "/v1/widget/conversations/%s/messages" % cid, token=vis["visitor_token"])[:2])
        assert [e["sender"]["name"] for e in evs["data"] if e["kind"] == "message"][-1] == "CRM", evs
        assert all(e["kind"] != "note" for e in evs["data"]), evs
        ok(*s.request("PATCH", "/v1/conversations/" + cid, {"status": "pending"}, token=write)[:2])
        for method, path, body in [("GET", "/v1/api-keys", None), ("PATCH", "/v1/tenant", {"name": "No"}),
                                   ("POST", "/v1/users", {"email": "w@demo.parley", "name": "W", "role": "agent"}),
                                   ("POST", "/v1/users/%s/deactivate" % agent, None)]:
            err(*s.request(method, path, body, token=write)[:2], 403, "forbidden")
        # admin: an admin's reach (team, settings, keys), never an owner's
        inv = ok(*s.request("POST", "/v1/users", {"email": "new@demo.parley", "name": "New", "role": "admin"},
                            token=admin)[:2], 201)
        err(*s.request("POST", "/v1/users", {"email": "boss@demo.parley", "name": "Boss", "role": "owner"},
                       token=admin)[:2], 403, "forbidden", "role")
        owner_id = ok(*s.request("GET", "/v1/auth/me", token=tok)[:2])["id"]
        err(*s.request("PATCH", "/v1/users/" + owner_id, {"title": "x"}, token=admin)[:2], 403, "forbidden")
        ok(*s.request("PATCH", "/v1/users/" + inv["user"]["id"], {"title": "Ops"}, token=admin)[:2])
        assert ok(*s.request("PATCH", "/v1/tenant", {"name": "Keyed"}, token=admin)[:2])["name"] == "Keyed"
        # a key has no address of its own: a test email names its recipient
        err(*s.request("POST", "/v1/email/test", {}, token=admin)[:2], 400, "invalid_field", "to")
        by_key = make_key(s, admin, "admin", name="Made by a key")["key"]
        assert by_key["created_by"]["type"] == "api_key" and by_key["created_by"]["name"] == "Provisioning", by_key
        # no key is a user: the self routes refuse every scope
        for key in (read, write, admin):
            for method, path, body in [("GET", "/v1/auth/me", None), ("PATCH", "/v1/auth/me", {"title": "x"}),
                                       ("POST", "/v1/auth/password", {"current_password": DEMO_PASSWORD,
                                                                      "new_password": "whatever-123"})]:
                err(*s.request(method, path, body, token=key)[:2], 403, "forbidden")


def test_keys_in_conversations():
    """Assigning names the assignee; assignee=me means nothing to a key; a
    read key's scope is an agent's; no WebSocket session."""
    with Server() as s:
        tok = owner_token(s)
        write = make_key(s, tok, "write")["secret"]
        read = make_key(s, tok, "read")["secret"]
        sup = s.new_user("demo", "sue@demo.parley", PASSWORD, role="supervisor", name="Sue")
        cid, _ = conversation(s)
        a = "/v1/conversations/%s/assign" % cid
        err(*s.request("POST", a, token=write)[:2], 400, "invalid_field", "assignee_id")
        err(*s.request("POST", a, {}, token=write)[:2], 400, "invalid_field", "assignee_id")
        got = ok(*s.request("POST", a, {"assignee_id": sup}, token=write)[:2])
        assert got["assignee"]["id"] == sup, got
        evs = ok(*s.request("GET", "/v1/conversations/%s/messages" % cid, token=tok)[:2])["data"]
        assigned = [e for e in evs if e["kind"] == "assigned"][-1]
        assert assigned["sender"]["type"] == "agent" and assigned["sender"]["name"] == "Key write", assigned
        # assigned to the supervisor: out of a read key's (an agent's) scope
        err(*s.request("GET", "/v1/conversations/" + cid, token=read)[:2], 404, "not_found")
        ids = [c["id"] for c in ok(*s.request("GET", "/v1/conversations", token=read)[:2])["data"]]
        assert cid not in ids, ids
        ok(*s.request("GET", "/v1/conversations/" + cid, token=write)[:2])
        ok(*s.request("POST", a, {"assignee_id": None}, token=write)[:2])
        ok(*s.request("GET", "/v1/conversations/" + cid, token=read)[:2])
        err(*s.request("GET", "/v1/conversations?assignee=me", token=read)[:2], 400, "invalid_field", "assignee")
        ok(*s.request("GET", "/v1/conversations?assignee=none", token=read)[:2])

        async def ws():
            c = await WS.connect(s.ws_url())
            f = await c.request({"type": "auth", "token": write})
            assert f["type"] == "error" and f["error"]["code"] == "unauthenticated", f
            f = await c.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert f["type"] == "error" and f["error"]["code"] == "unauthenticated", f
            await c.close()
        run(ws())


def test_expired_and_revoked():
    with Server() as s:
        tok = owner_token(s)
        soon = make_key(s, tok, "admin", name="Soon", expires_at=iso(time.time() + 2))
        ok(*s.request("GET", "/v1/api-keys", token=soon["secret"])[:2])
        wait_until(lambda: s.request("GET", "/v1/tenant", token=soon["secret"])[0] == 401, timeout=15,
                   what="the key to expire")
        err(*s.request("GET", "/v1/api-keys", token=soon["secret"])[:2], 401, "unauthenticated")
        k = keys(s, tok)[soon["key"]["id"]]
        assert not k["revoked"] and epoch(k["expires_at"]) < time.time() + 1, k
        # revoked while requests keep coming: none after the answer succeeds
        live = make_key(s, tok, "read", name="Busy")
        for _ in range(5):
            ok(*s.request("GET", "/v1/conversations", token=live["secret"])[:2])
        ok(*s.request("DELETE", "/v1/api-keys/" + live["key"]["id"], token=tok)[:2])
        for _ in range(5):
            err(*s.request("GET", "/v1/conversations", token=live["secret"])[:2], 401, "unauthenticated")
        # deactivating the key's creator does not revoke it (the key is the tenant's)
        s.new_user("demo", "adam@demo.parley", PASSWORD, role="admin", name="Adam")
        adam = s.login("adam@demo.parley", PASSWORD)
        made = make_key(s, adam["access_token"], "read", name="Adam's")
        ok(*s.request("POST", "/v1/users/%s/deactivate" % adam["user"]["id"], token=tok)[:2])
        ok(*s.request("GET", "/v1/tenant", token=made["secret"])[:2])


def test_other_tenant():
    with Server() as s:
        tok = owner_token(s)
        cid, _ = conversation(s)
        a_key = make_key(s, tok, "admin", name="A")
        s.new_tenant("other", "Other")
        s.new_user("other", "owner@other.test", PASSWORD, role="owner", name="B Owner")
        btok = s.login("owner@other.test", PASSWORD, tenant="other")["access_token"]
        b_key = make_key(s, btok, "admin", name="B")
        b = b_key["secret"]
        # B's key finds none of A's records, and lists only B's keys
        for method, path, body in [("GET", "/v1/conversations/" + cid, None),
                                   ("GET", "/v1/conversations/%s/messages" % cid, None),
                                   ("POST", "/v1/conversations/%s/messages" % cid, {"client_id": "b", "text": "x"}),
                                   ("DELETE", "/v1/api-keys/" + a_key["key"]["id"], None)]:
            err(*s.request(method, path, body, token=b)[:2], 404, "not_found")
        assert list(keys(s, b)) == [b_key["key"]["id"]]
        assert ok(*s.request("GET", "/v1/tenant", token=b)[:2])["slug"] == "other"
        assert cid not in [c["id"] for c in ok(*s.request("GET", "/v1/conversations", token=b)[:2])["data"]]
        assert not keys(s, tok)[a_key["key"]["id"]]["revoked"]
        # A's owner does not revoke B's key either
        err(*s.request("DELETE", "/v1/api-keys/" + b_key["key"]["id"], token=tok)[:2], 404, "not_found")
        # a secret altered to name tenant A, or altered at all, is nobody's
        a_tid = SECRET_RE.match(a_key["secret"]).group(1)
        b_tid, b_rnd = SECRET_RE.match(b).groups()
        flip = b_rnd[:-1] + ("A" if b_rnd[-1] != "A" else "B")
        for forged in ["pk_%s_%s" % (a_tid, b_rnd), "pk_%s_%s" % (b_tid, flip), b + "x", b[:-1], "pk_", "pk_1_",
                       "pk_%s_%s" % (b_tid, "!" * 43), "pk_0_" + b_rnd, "pk__" + b_rnd, "PK_" + b[3:]]:
            err(*s.request("GET", "/v1/tenant", token=forged)[:2], 401, "unauthenticated")
        ok(*s.request("GET", "/v1/tenant", token=b)[:2])
        # a key is no visitor token either
        err(*s.request("GET", "/v1/widget/conversations", token=b)[:2], 401, "unauthenticated")


def test_last_use_once_a_minute():
    """The first use is recorded; more uses within the minute change
    nothing. (A writer request that commits after a key's requests were
    answered is the barrier: a last-use write they asked for would have
    been submitted before it.)"""
    with Server() as s:
        tok = owner_token(s)
        k = make_key(s, tok, "read", name="Counted")
        kid, secret = k["key"]["id"], k["secret"]
        assert keys(s, tok)[kid]["last_used_at"] is None
        before = time.time()
        ok(*s.request("GET", "/v1/tenant", token=secret)[:2])
        wait_until(lambda: keys(s, tok)[kid]["last_used_at"], timeout=10, what="the first use recorded")
        first = keys(s, tok)[kid]["last_used_at"]
        assert before - 1 <= epoch(first) <= time.time() + 1, first
        for _ in range(20):
            ok(*s.request("GET", "/v1/conversations", token=secret)[:2])
        make_key(s, tok, "read", name="barrier")
        assert keys(s, tok)[kid]["last_used_at"] == first
        # a failed request is no use: a revoked key records nothing more
        ok(*s.request("DELETE", "/v1/api-keys/" + kid, token=tok)[:2])
        err(*s.request("GET", "/v1/tenant", token=secret)[:2], 401, "unauthenticated")
        make_key(s, tok, "read", name="barrier 2")
        assert keys(s, tok)[kid]["last_used_at"] == first


def test_bad_input():
    with Server() as s:
        tok = owner_token(s)
        post = lambda body, **kw: s.request("POST", "/v1/api-keys", body, token=tok, **kw)[:2]
        err(*s.request("POST", "/v1/api-keys", raw_body=b"{nope", token=tok,
                       headers={"Content-Type": "application/json"})[:2], 400, "invalid_json")
        err(*s.request("POST", "/v1/api-keys", raw_body=b"[]", token=tok,
                       headers={"Content-Type": "application/json"})[:2], 400, "invalid_json")
        st, b, _ = s.request("POST", "/v1/api-keys", raw_body=b'{"name":"a","scope":"read"}', token=tok,
                             headers={"Content-Type": "text/plain"})
        err(st, b, 415, "unsupported_media_type")
        for body, field in [({"scope": "read"}, "name"), ({"name": "", "scope": "read"}, "name"),
                            ({"name": 5, "scope": "read"}, "name"), ({"name": None, "scope": "read"}, "name"),
                            ({"name": "n" * 129, "scope": "read"}, "name"),
                            ({"name": "é" * 65, "scope": "read"}, "name"),
                            ({"name": "k"}, "scope"), ({"name": "k", "scope": "owner"}, "scope"),
                            ({"name": "k", "scope": "Read"}, "scope"), ({"name": "k", "scope": 1}, "scope"),
                            ({"name": "k", "scope": ""}, "scope"),
                            ({"name": "k", "scope": "read", "expires_at": iso(time.time() - 60)}, "expires_at"),
                            ({"name": "k", "scope": "read", "expires_at": "2030-02-30T00:00:00Z"}, "expires_at"),
                            ({"name": "k", "scope": "read", "expires_at": "tomorrow"}, "expires_at"),
                            ({"name": "k", "scope": "read", "expires_at": "2030-01-01T00:00:00+02:00"}, "expires_at"),
                            ({"name": "k", "scope": "read", "expires_at": 1900000000000}, "expires_at"),
                            ({"name": "k", "scope": "read", "secret": "pk_mine"}, "secret")]:
            err(*post(body), 400, "invalid_field", field)
        # a name at its limit, and an expiry with milliseconds, are fine
        k = ok(*post({"name": "n" * 128, "scope": "read", "expires_at": "2999-12-31T23:59:59.999Z"}), 201)
        assert k["key"]["expires_at"] == "2999-12-31T23:59:59.999Z" and k["key"]["name"] == "n" * 128, k
        assert ok(*post({"name": "k", "scope": "read", "expires_at": None}), 201)["key"]["expires_at"] is None
        assert keys(s, tok).keys() >= {k["key"]["id"]}
        # who may: not a supervisor or an agent; nobody without credentials
        for role in ("supervisor", "agent"):
            s.new_user("demo", "%s@demo.parley" % role, PASSWORD, role=role)
            t = s.login("%s@demo.parley" % role, PASSWORD)["access_token"]
            err(*s.request("POST", "/v1/api-keys", {"name": "k", "scope": "read"}, token=t)[:2], 403, "forbidden")
            err(*s.request("GET", "/v1/api-keys", token=t)[:2], 403, "forbidden")
            err(*s.request("DELETE", "/v1/api-keys/" + k["key"]["id"], token=t)[:2], 403, "forbidden")
        err(*s.request("GET", "/v1/api-keys")[:2], 401, "unauthenticated")
        # unknown ids
        for kid in ["1", "99999999999999999", "abc", "0", "-1", "1" * 25]:
            err(*s.request("DELETE", "/v1/api-keys/" + kid, token=tok)[:2], 404, "not_found")
        st, _, h = s.request("PUT", "/v1/api-keys/" + k["key"]["id"], token=tok)
        assert st == 405 and "DELETE" in h.get("Allow", ""), (st, h)
        assert not keys(s, tok)[k["key"]["id"]]["revoked"]


if __name__ == "__main__":
    main([test_create_list_revoke, test_secret_stored_hashed, test_scopes, test_keys_in_conversations,
          test_expired_and_revoked, test_other_tenant, test_last_use_once_a_minute, test_bad_input])
