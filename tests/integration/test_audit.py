"""The audit log, against the real parleyd.

- every admin action leaves one row with who (actor type, id, name), what
  (action, record type and id, details) and from where (the address):
  invitations, role changes, deactivation and reactivation, profile edits
  by admins (not a user's own), re-invitations, tenant settings, email
  settings, API keys (create, revoke; the row of a key's own request names
  the key), webhooks (create, update, rotate, delete), departments (create,
  update, delete, reorder, members);
- the address is the peer's; X-Forwarded-For counts only from a proxy
  listed in --trusted-proxies (read from its right end past the trusted
  hops), and a malformed --trusted-proxies stops the server at start;
- filters (actor_id, action, record_type + record_id, from/to) and cursor
  paging, newest first; bad parameters answer 400;
- owners, admins and admin keys read it; supervisors, agents and weaker
  keys get 403;
- retention: rows older than --audit-retention-days are deleted at start,
  more than one bounded batch of them (the clock set back with
  --clock-offset-ms to write them in the past).
"""
import os
import shutil
import subprocess
import tempfile

from harness import PARLEYD, Server, err, main, ok

DAY_MS = 86400 * 1000


def audit(s, tok, query="", headers=None):
    return ok(*s.request("GET", "/v1/audit" + query, token=tok, headers=headers)[:2])


def all_rows(s, tok, query=""):
    rows, cursor = [], None
    for _ in range(100):
        q = query + ("&" if query else "?") + "limit=200" + ("&cursor=" + cursor if cursor else "")
        b = audit(s, tok, q)
        rows += b["data"]
        cursor = b["next_cursor"]
        if not cursor:
            return rows
    raise AssertionError("the cursor did not end")


def test_every_action_with_who_what_where():
    with Server() as s:
        me = s.login()
        owner, owner_id = me["access_token"], me["user"]["id"]
        admin_id = s.new_user("demo", "ada@demo.parley", "admin-password-1", role="admin", name="Ada Admin")
        admin = s.login("ada@demo.parley", "admin-password-1")["access_token"]
        # team
        u = ok(*s.request("POST", "/v1/users", {"email": "new@demo.parley", "name": "Nia New", "role": "agent"},
                          token=admin)[:2], 201)
        uid = u["user"]["id"] if "user" in u else u["id"]
        ok(*s.request("PATCH", "/v1/users/" + uid, {"role": "supervisor"}, token=admin)[:2])
        ok(*s.request("PATCH", "/v1/users/" + uid, {"title": "Lead"}, token=admin)[:2])
        ok(*s.request("POST", "/v1/users/%s/deactivate" % uid, token=admin)[:2])
        ok(*s.request("POST", "/v1/users/%s/reactivate" % uid, token=admin)[:2])
        ok(*s.request("POST", "/v1/users/%s/invite" % uid, token=admin)[:2])
        ok(*s.request("PATCH", "/v1/auth/me", {"title": "Boss"}, token=admin)[:2])    # own profile: no row
        # settings
        ok(*s.request("PATCH", "/v1/tenant", {"name": "Demo Ltd", "timezone": "Europe/Paris"}, token=owner)[:2])
        ok(*s.request("PATCH", "/v1/email/settings", {"host": "smtp.example.com", "port": 587, "security": "starttls",
                                                      "from": "desk@example.com", "password": "s3cret-pass"},
                      token=owner)[:2])
        key = ok(*s.request("POST", "/v1/api-keys", {"name": "CRM", "scope": "admin"}, token=owner)[:2], 201)
        key_id = key["key"]["id"]
        # a change made with the key itself
        ok(*s.request("PATCH", "/v1/tenant", {"name": "Demo Key"}, token=key["secret"])[:2])
        ok(*s.request("DELETE", "/v1/api-keys/" + key_id, token=owner)[:2])
        hook = ok(*s.request("POST", "/v1/webhooks", {"url": "https://hooks.example.com/a",
                                                      "events": ["conversation.created"]}, token=owner)[:2], 201)
        ok(*s.request("PATCH", "/v1/webhooks/" + hook["id"], {"description": "CRM"}, token=owner)[:2])
        ok(*s.request("POST", "/v1/webhooks/%s/rotate-secret" % hook["id"], token=owner)[:2])
        st, _, _ = s.request("DELETE", "/v1/webhooks/" + hook["id"], token=owner)
        assert st == 204, st
        # departments
        d = ok(*s.request("POST", "/v1/departments", {"name": "VIP", "slug": "vip"}, token=admin)[:2], 201)
        ok(*s.request("PATCH", "/v1/departments/" + d["id"], {"routing": "least_busy"}, token=admin)[:2])
        ok(*s.request("PUT", "/v1/departments/%s/members" % d["id"], {"agent_ids": [uid]}, token=admin)[:2])
        ids = [x["id"] for x in ok(*s.request("GET", "/v1/departments", token=admin)[:2])["data"]]
        ok(*s.request("POST", "/v1/departments/reorder", {"ids": ids[::-1]}, token=admin)[:2])
        ok(*s.request("DELETE", "/v1/departments/" + d["id"], token=admin)[:2])
        # refusals leave no row
        s.request("POST", "/v1/departments", {"name": "VIP", "slug": "sales"}, token=admin)
        s.request("PATCH", "/v1/users/" + uid, {"role": "emperor"}, token=admin)

        rows = all_rows(s, owner)
        assert all(r["addr"] == "127.0.0.1" for r in rows), rows
        ids_in_order = [int(r["id"]) for r in rows]
        assert ids_in_order == sorted(ids_in_order, reverse=True), "newest first"
        got = [(r["action"], r["record_type"], r["record_id"], r["actor"]["type"], r["actor"]["id"]) for r in rows]
        want = [
            ("user.invite", "user", uid, "user", admin_id),
            ("user.role", "user", uid, "user", admin_id),
            ("user.update", "user", uid, "user", admin_id),
            ("user.deactivate", "user", uid, "user", admin_id),
            ("user.reactivate", "user", uid, "user", admin_id),
            ("user.reinvite", "user", uid, "user", admin_id),
            ("tenant.update", "tenant", me["user"]["tenant_id"], "user", owner_id),
            ("email.update", "email_settings", me["user"]["tenant_id"], "user", owner_id),
            ("api_key.create", "api_key", key_id, "user", owner_id),
            ("tenant.update", "tenant", me["user"]["tenant_id"], "api_key", key_id),
            ("api_key.revoke", "api_key", key_id, "user", owner_id),
            ("webhook.create", "webhook", hook["id"], "user", owner_id),
            ("webhook.update", "webhook", hook["id"], "user", owner_id),
            ("webhook.rotate_secret", "webhook", hook["id"], "user", owner_id),
            ("webhook.delete", "webhook", hook["id"], "user", owner_id),
            ("department.create", "department", d["id"], "user", admin_id),
            ("department.update", "department", d["id"], "user", admin_id),
            ("department.members", "department", d["id"], "user", admin_id),
            ("department.reorder", "department", None, "user", admin_id),
            ("department.delete", "department", d["id"], "user", admin_id),
        ]
        assert got[::-1] == want, got[::-1]
        by = {}
        for r in rows:
            by.setdefault(r["action"], r)   # the newest of each
        assert by["user.role"]["details"] == {"email": "new@demo.parley", "from": "agent", "to": "supervisor"}
        assert by["user.invite"]["details"]["role"] == "agent"
        assert by["user.update"]["details"]["title"] == "Lead"
        assert by["user.invite"]["actor"]["name"] == "Ada Admin"
        assert set(by["email.update"]["details"]["fields"]) == {"host", "port", "security", "from", "password"}
        assert "s3cret" not in str(rows)
        assert by["tenant.update"]["details"]["fields"] == ["name"]   # the newest (the key's)
        assert by["tenant.update"]["actor"]["name"] == "CRM"
        assert by["api_key.create"]["details"] == {"name": "CRM", "scope": "admin"}
        assert by["webhook.create"]["details"] == {"url": "https://hooks.example.com/a"}
        assert by["department.create"]["details"] == {"name": "VIP", "slug": "vip"}
        assert by["department.update"]["details"]["fields"] == ["routing"]
        assert by["department.members"]["details"]["added"] == [uid]
        assert by["department.reorder"]["details"]["ids"] == ids[::-1]
        for r in rows:
            assert r["at"].endswith("Z") and r["actor"]["name"], r


def test_forwarded_for_only_from_trusted_proxies():
    xff = {"X-Forwarded-For": "203.0.113.9"}
    with Server() as s:
        tok = s.login()["access_token"]
        ok(*s.request("PATCH", "/v1/tenant", {"name": "A"}, token=tok, headers=xff)[:2])
        assert audit(s, tok)["data"][0]["addr"] == "127.0.0.1"
    with Server("--trusted-proxies", "10.0.0.0/8, 127.0.0.1,2001:db8::/32") as s:
        tok = s.login()["access_token"]
        cases = [
            ("203.0.113.9", "203.0.113.9"),
            # the client wrote the left entry; trusted hops on the right are skipped
            ("198.51.100.7, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db9::5]:443, 10.0.0.1", "2001:db9::5"),
            ("2001:db8::1, 10.0.0.1", "2001:db8::1"),          # every hop trusted: the left-most
            ("not-an-address, 10.0.0.1", "10.0.0.1"),           # malformed: the last hop that vouched
            ("", "127.0.0.1"),
        ]
        for i, (header, want) in enumerate(cases):
            ok(*s.request("PATCH", "/v1/tenant", {"name": "T%d" % i}, token=tok,
                          headers={"X-Forwarded-For": header})[:2])
            got = audit(s, tok, "?limit=1")["data"][0]
            assert got["details"]["fields"] == ["name"] and got["addr"] == want, (header, got)
    # a malformed list stops the server at start
    d = tempfile.mkdtemp(prefix="parley-test-")
    try:
        for bad in ("10.0.0.0/33", "not-an-ip", "1.2.3.4/x"):
            r = subprocess.run([PARLEYD, "--data", d, "--port", "0", "--trusted-proxies", bad], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode != 0 and "trusted-proxies" in r.stderr, (bad, r.returncode, r.stderr)
        r = subprocess.run([PARLEYD, "--data", d, "--port", "0", "--audit-retention-days", "0"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0 and "audit-retention-days" in r.stderr, (r.returncode, r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_filters_paging_and_who_may_read():
    with Server() as s:
        me = s.login()
        owner, owner_id = me["access_token"], me["user"]["id"]
        admin_id = s.new_user("demo", "ada@demo.parley", "admin-password-1", role="admin", name="Ada")
        admin = s.login("ada@demo.parley", "admin-password-1")["access_token"]
        depts = []
        for i in range(7):
            tok = owner if i % 2 == 0 else admin
            d = ok(*s.request("POST", "/v1/departments", {"name": "D%d" % i, "slug": "d%d" % i}, token=tok)[:2], 201)
            depts.append(d["id"])
        for i in range(3):
            ok(*s.request("PATCH", "/v1/departments/" + depts[0], {"description": "v%d" % i}, token=admin)[:2])
        rows = all_rows(s, owner)
        assert len(rows) == 10, rows
        # actor
        mine = all_rows(s, owner, "?actor_id=" + owner_id)
        assert len(mine) == 4 and all(r["actor"]["id"] == owner_id for r in mine), mine
        assert len(all_rows(s, owner, "?actor_id=" + admin_id)) == 6
        # action
        upd = all_rows(s, owner, "?action=department.update")
        assert len(upd) == 3 and all(r["record_id"] == depts[0] for r in upd), upd
        assert all_rows(s, owner, "?action=user.role") == []
        # record
        rec = all_rows(s, owner, "?record_type=department&record_id=" + depts[0])
        assert [r["action"] for r in rec] == ["department.update"] * 3 + ["department.create"], rec
        assert len(all_rows(s, owner, "?record_type=department")) == 10
        assert all_rows(s, owner, "?record_type=user") == []
        # time range (inclusive), from the rows' own times
        ats = [r["at"] for r in rows]
        mid = all_rows(s, owner, "?from=%s&to=%s" % (rows[7]["at"], rows[2]["at"]))
        assert [r["id"] for r in mid] == [r["id"] for r in rows if rows[7]["at"] <= r["at"] <= rows[2]["at"]], \
            (mid, ats)
        assert all_rows(s, owner, "?to=2000-01-01T00:00:00Z") == []
        assert len(all_rows(s, owner, "?from=2000-01-01T00:00:00Z")) == 10
        # paging: 3 at a time, newest first, the cursor to go on
        seen, cursor, pages = [], None, 0
        while True:
            b = audit(s, owner, "?limit=3" + ("&cursor=" + cursor if cursor else ""))
            pages += 1
            assert len(b["data"]) <= 3
            seen += [r["id"] for r in b["data"]]
            cursor = b["next_cursor"]
            if not cursor:
                break
        assert seen == [r["id"] for r in rows] and pages == 4, (seen, pages)
        # a filtered page
        b = audit(s, owner, "?actor_id=%s&limit=2" % admin_id)
        assert len(b["data"]) == 2 and b["next_cursor"] == b["data"][1]["id"], b
        b2 = audit(s, owner, "?actor_id=%s&limit=2&cursor=%s" % (admin_id, b["next_cursor"]))
        assert [r["id"] for r in b2["data"]] == [r["id"] for r in rows if r["actor"]["id"] == admin_id][2:4]
        # bad parameters
        for q, field in (("?actor_id=x", "actor_id"), ("?record_id=-1", "record_id"), ("?cursor=abc", "cursor"),
                         ("?from=yesterday", "from"), ("?to=2026-13-01T00:00:00Z", "to"), ("?limit=0", "limit"),
                         ("?limit=201", "limit"), ("?action=" + "a" * 49, "action"), ("?action=", "action"),
                         ("?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")):
            err(*s.request("GET", "/v1/audit" + q, token=owner)[:2], 400, "invalid_field", field)
        # who may read: owners, admins, admin keys; not supervisors, agents, weaker keys, other tenants
        assert len(all_rows(s, admin)) == 10
        for role in ("supervisor", "agent"):
            s.new_user("demo", role + "@demo.parley", "role-password-1", role=role)
            tok = s.login(role + "@demo.parley", "role-password-1")["access_token"]
            err(*s.request("GET", "/v1/audit", token=tok)[:2], 403, "forbidden")
        for scope, status in (("admin", 200), ("write", 403), ("read", 403)):
            k = ok(*s.request("POST", "/v1/api-keys", {"name": "k-" + scope, "scope": scope}, token=owner)[:2], 201)
            st, b, _ = s.request("GET", "/v1/audit", token=k["secret"])
            assert st == status, (scope, st, b)
        s.new_tenant("other", "Other")
        s.new_user("other", "owner@other.test", "other-password-1", role="owner")
        other = s.login("owner@other.test", "other-password-1", tenant="other")["access_token"]
        assert audit(s, other)["data"] == []
        err(*s.request("GET", "/v1/audit")[:2], 401, "unauthenticated")


def test_retention_at_start():
    d = tempfile.mkdtemp(prefix="parley-test-")
    try:
        past = str(-400 * DAY_MS)
        with Server("--clock-offset-ms", past, "--sync", "none", data_dir=d) as s:
            tok = s.login()["access_token"]
            ok(*s.request("POST", "/v1/departments", {"name": "Old", "slug": "old"}, token=tok)[:2], 201)
            rows = audit(s, tok)["data"]
            assert len(rows) == 1 and rows[0]["at"] < "2026-01-01", rows   # written 400 days ago
            # more old rows than one prune batch (500) holds
            for i in range(1100):
                ok(*s.request("PATCH", "/v1/tenant", {"name": "Demo %d" % i}, token=tok)[:2])
        # kept for 500 days: still there
        with Server("--audit-retention-days", "500", data_dir=d) as s:
            tok = s.login()["access_token"]
            ok(*s.request("POST", "/v1/departments", {"name": "New", "slug": "new"}, token=tok)[:2], 201)
            assert len(all_rows(s, tok)) == 1102
            assert [r["details"]["slug"] for r in audit(s, tok, "?record_type=department")["data"]] == ["new", "old"]
        # the default year: the old row goes at start, the new one stays
        with Server(data_dir=d) as s:
            assert any("audit.pruned" in l and "rows=1101" in l for l in s.stderr_text().splitlines()), s.stderr_text()
            tok = s.login()["access_token"]
            assert [r["details"]["slug"] for r in audit(s, tok)["data"]] == ["new"]
            assert s.stop() == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main([test_every_action_with_who_what_where, test_forwarded_for_only_from_trusted_proxies,
          test_filters_paging_and_who_may_read, test_retention_at_start])
