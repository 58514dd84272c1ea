"""Departments over the API, against the real parleyd.

- every tenant starts with general (the default), sales, technical and
  billing: the first-run demo tenant and one made with the CLI;
- create, read, change, reorder, set members, deactivate and delete, and
  what each answers in the list;
- every refusal: unknown and other-tenant departments (404), a taken slug
  (409), a malformed slug, business hours that do not parse, close before
  they open or overlap (400 invalid_hours), an unknown time zone
  (400 invalid_timezone), an unknown routing policy, sla_high_s below
  sla_medium_s, oversize strings, unknown fields; members that are not
  active users of the tenant (400 invalid_member); a reorder that does not
  name each department once; the default department deactivated or deleted
  (409 department_is_default); deleting with move_to (400, not supported);
- the default moves with PATCH is_default, and only to an active department;
- the widget lists the active departments in order, and a visitor starting
  a conversation may choose one; an unknown, inactive, malformed or other
  tenant's department is refused (400 invalid_department);
- deleting a department that holds an open conversation is refused
  (409 department_not_empty) until the conversation is resolved;
- the permission split: everyone signed in reads, owners and admins manage
  (test_permissions holds the full matrix).
"""
from harness import Server, err, main, ok

SEEDED = ["general", "sales", "technical", "billing"]
HOURS = [{"day": "mon", "open": "09:00", "close": "12:00"}, {"day": "mon", "open": "13:00", "close": "17:00"},
         {"day": "sat", "open": "10:00", "close": "24:00"}]


def depts(s, tok):
    return ok(*s.request("GET", "/v1/departments", token=tok)[:2])["data"]


def test_seeded_for_new_tenants():
    with Server() as s:
        owner = s.login()["access_token"]
        d = depts(s, owner)
        assert [x["slug"] for x in d] == SEEDED, d
        assert [x["is_default"] for x in d] == [True, False, False, False], d
        for x in d:
            assert x["active"] and x["routing"] == "round_robin" and x["hours"] is None, x
            assert x["sla_medium_s"] == 60 and x["sla_high_s"] == 180 and x["members"] == [], x
            assert x["timezone"] == "UTC" and x["name"] and x["id"], x
        # a tenant made with the CLI beside the running server
        s.new_tenant("acme", "Acme")
        s.new_user("acme", "owner@acme.test", "acme-password-1", role="owner")
        acme = s.login("owner@acme.test", "acme-password-1", tenant="acme")["access_token"]
        d2 = depts(s, acme)
        assert [x["slug"] for x in d2] == SEEDED, d2
        assert not {x["id"] for x in d} & {x["id"] for x in d2}
        # a restart seeds nothing again
        s.restart()
        assert [x["id"] for x in depts(s, s.login()["access_token"])] == [x["id"] for x in d]


def test_crud_and_refusals():
    with Server() as s:
        owner = s.login()["access_token"]
        agent_id = s.new_user("demo", "agent@demo.parley", "agent-password-1", role="agent", name="Ann Agent")
        sup_id = s.new_user("demo", "sup@demo.parley", "sup-password-1", role="supervisor", name="Sam")
        gone_id = s.new_user("demo", "gone@demo.parley", "gone-password-1", role="agent")
        ok(*s.request("POST", "/v1/users/%s/deactivate" % gone_id, token=owner)[:2])
        s.new_tenant("other", "Other")
        other_user = s.new_user("other", "owner@other.test", "other-password-1", role="owner")
        other = s.login("owner@other.test", "other-password-1", tenant="other")["access_token"]
        other_dept = depts(s, other)[1]["id"]

        body = {"name": "Support EU", "slug": "support-eu", "description": "Europe", "notify_email": "eu@demo.test",
                "timezone": "Europe/Berlin", "hours": HOURS, "routing": "least_busy", "sla_medium_s": 30,
                "sla_high_s": 90}
        st, d, _ = s.request("POST", "/v1/departments", body, token=owner)
        d = ok(st, d, 201)
        for k, v in body.items():
            if k != "hours":
                assert d[k] == v, (k, d)
        assert d["hours"] == HOURS and d["active"] and not d["is_default"] and d["sort_order"] == 4, d
        did = d["id"]
        assert ok(*s.request("GET", "/v1/departments/" + did, token=owner)[:2]) == d
        # defaults of a create with only name and slug: the tenant's zone, always open, round robin, 60/180
        st, m, _ = s.request("POST", "/v1/departments", {"name": "Min", "slug": "min"}, token=owner)
        m = ok(st, m, 201)
        assert m["hours"] is None and m["timezone"] == "UTC" and m["routing"] == "round_robin" and \
            (m["sla_medium_s"], m["sla_high_s"]) == (60, 180) and m["sort_order"] == 5, m

        # PATCH: only what is given changes; "never open" is an empty list
        st, p, _ = s.request("PATCH", "/v1/departments/" + did, {"name": "Support Europe", "hours": []}, token=owner)
        p = ok(st, p)
        assert p["name"] == "Support Europe" and p["hours"] == [] and p["slug"] == "support-eu", p
        assert p["routing"] == "least_busy" and p["timezone"] == "Europe/Berlin", p
        p = ok(*s.request("PATCH", "/v1/departments/" + did, {"hours": None, "routing": "off"}, token=owner)[:2])
        assert p["hours"] is None and p["routing"] == "off", p

        # an empty PATCH changes nothing (and is not in the audit log)
        n_audit = len(ok(*s.request("GET", "/v1/audit?limit=200", token=owner)[:2])["data"])
        assert ok(*s.request("PATCH", "/v1/departments/" + did, {}, token=owner)[:2]) == p
        assert len(ok(*s.request("GET", "/v1/audit?limit=200", token=owner)[:2])["data"]) == n_audit

        # refusals of create and PATCH
        bad = [
            ({"name": "X", "slug": "sales"}, 409, "slug_taken", "slug"),
            ({"name": "X", "slug": "Bad Slug"}, 400, "invalid_field", "slug"),
            ({"name": "X", "slug": "-x"}, 400, "invalid_field", "slug"),
            ({"name": "X", "slug": "x" * 49}, 400, "invalid_field", "slug"),
            ({"slug": "noname"}, 400, "invalid_field", "name"),
            ({"name": "", "slug": "empty"}, 400, "invalid_field", "name"),
            ({"name": "N" * 129, "slug": "long"}, 400, "invalid_field", "name"),
            ({"name": "X", "slug": "d", "description": "d" * 501}, 400, "invalid_field", "description"),
            ({"name": "X", "slug": "e", "notify_email": "not-an-address"}, 400, "invalid_field", "notify_email"),
            ({"name": "X", "slug": "h1", "hours": "mon 9-5"}, 400, "invalid_hours", "hours"),
            ({"name": "X", "slug": "h2", "hours": [{"day": "mon", "open": "9:00", "close": "17:00"}]},
             400, "invalid_hours", "hours"),
            ({"name": "X", "slug": "h3", "hours": [{"day": "moon", "open": "09:00", "close": "17:00"}]},
             400, "invalid_hours", "hours"),
            ({"name": "X", "slug": "h4", "hours": [{"day": "mon", "open": "17:00", "close": "09:00"}]},
             400, "invalid_hours", "hours"),
            ({"name": "X", "slug": "h5", "hours": [{"day": "tue", "open": "09:00", "close": "12:00"},
                                                   {"day": "tue", "open": "11:30", "close": "13:00"}]},
             400, "invalid_hours", "hours"),
            ({"name": "X", "slug": "h6", "hours": [{"day": "mon", "open": "09:00", "close": "25:00"}]},
             400, "invalid_hours", "hours"),
            ({"name": "X", "slug": "tz", "timezone": "Mars/Olympus_Mons"}, 400, "invalid_timezone", "timezone"),
            ({"name": "X", "slug": "tz2", "timezone": "../../etc/passwd"}, 400, "invalid_timezone", "timezone"),
            ({"name": "X", "slug": "r", "routing": "random"}, 400, "invalid_field", "routing"),
            ({"name": "X", "slug": "s1", "sla_medium_s": 100, "sla_high_s": 50}, 400, "invalid_field", "sla_high_s"),
            ({"name": "X", "slug": "s2", "sla_medium_s": 0}, 400, "invalid_field", "sla_medium_s"),
            ({"name": "X", "slug": "s3", "sla_high_s": "60"}, 400, "invalid_field", "sla_high_s"),
            ({"name": "X", "slug": "a", "active": "yes"}, 400, "invalid_field", "active"),
            ({"name": "X", "slug": "f", "colour": "red"}, 400, "invalid_field", "colour"),
        ]
        for b, status, code, field in bad:
            st, r, _ = s.request("POST", "/v1/departments", b, token=owner)
            e = err(st, r, status, code, field)
            if code == "invalid_hours":
                assert len(e["message"]) > 10, e
        e = err(*s.request("POST", "/v1/departments", bad[13][0], token=owner)[:2], 400, "invalid_hours")
        assert "overlaps" in e["message"], e
        e = err(*s.request("POST", "/v1/departments", bad[12][0], token=owner)[:2], 400, "invalid_hours")
        assert "not after" in e["message"], e
        # a PATCH that leaves sla_high_s below the stored sla_medium_s
        err(*s.request("PATCH", "/v1/departments/" + did, {"sla_medium_s": 200}, token=owner)[:2],
            400, "invalid_field", "sla_high_s")
        err(*s.request("PATCH", "/v1/departments/" + did, {"slug": "billing"}, token=owner)[:2], 409, "slug_taken")
        err(*s.request("PATCH", "/v1/departments/" + did, {"is_default": False}, token=owner)[:2],
            400, "invalid_field", "is_default")
        err(*s.request("PATCH", "/v1/departments/" + did, "x", token=owner)[:2], 400, "invalid_json")
        # unknown ids and another tenant's
        for path in ("/v1/departments/12345", "/v1/departments/" + other_dept, "/v1/departments/abc"):
            err(*s.request("GET", path, token=owner)[:2], 404, "not_found")
            err(*s.request("PATCH", path, {"name": "Y"}, token=owner)[:2], 404, "not_found")
            err(*s.request("DELETE", path, token=owner)[:2], 404, "not_found")
            err(*s.request("PUT", path + "/members", {"agent_ids": []}, token=owner)[:2], 404, "not_found")
        # unchanged by the refusals
        assert ok(*s.request("GET", "/v1/departments/" + did, token=owner)[:2])["name"] == "Support Europe"
        assert len(depts(s, owner)) == 6

        # members: active users of the tenant only
        url = "/v1/departments/%s/members" % did
        d = ok(*s.request("PUT", url, {"agent_ids": [agent_id, sup_id]}, token=owner)[:2])
        assert sorted(d["members"]) == sorted([agent_id, sup_id]), d
        for ids, what in (([gone_id], "deactivated"), ([other_user], "no user"), (["999"], "no user")):
            e = err(*s.request("PUT", url, {"agent_ids": ids}, token=owner)[:2], 400, "invalid_member", "agent_ids")
            assert what in e["message"], e
        for b in ({"agent_ids": [agent_id, agent_id]}, {"agent_ids": agent_id}, {"agent_ids": [1]}, {},
                  {"agent_ids": [], "x": 1}):
            err(*s.request("PUT", url, b, token=owner)[:2], 400, "invalid_field")
        d = ok(*s.request("PUT", url, {"agent_ids": [sup_id]}, token=owner)[:2])
        assert d["members"] == [sup_id], d
        assert ok(*s.request("GET", "/v1/departments/" + did, token=owner)[:2])["members"] == [sup_id]

        # reorder: each department once
        ids = [x["id"] for x in depts(s, owner)]
        rev = list(reversed(ids))
        for b in ({"ids": rev[:-1]}, {"ids": rev + [rev[0]]}, {"ids": rev[:-1] + [other_dept]}, {"ids": "x"},
                  {"ids": rev[:-1] + ["12345"]}):
            err(*s.request("POST", "/v1/departments/reorder", b, token=owner)[:2], 400, "invalid_field", "ids")
        r = ok(*s.request("POST", "/v1/departments/reorder", {"ids": rev}, token=owner)[:2])
        assert [x["id"] for x in r["data"]] == rev
        assert [x["id"] for x in depts(s, owner)] == rev
        assert [x["sort_order"] for x in depts(s, owner)] == list(range(len(rev)))

        # the default: cannot be deactivated or deleted; it moves with is_default
        general = next(x for x in depts(s, owner) if x["slug"] == "general")
        err(*s.request("PATCH", "/v1/departments/" + general["id"], {"active": False}, token=owner)[:2],
            409, "department_is_default")
        err(*s.request("DELETE", "/v1/departments/" + general["id"], token=owner)[:2], 409, "department_is_default")
        sales = next(x for x in depts(s, owner) if x["slug"] == "sales")
        d = ok(*s.request("PATCH", "/v1/departments/" + sales["id"], {"is_default": True}, token=owner)[:2])
        assert d["is_default"], d
        defaults = [x["slug"] for x in depts(s, owner) if x["is_default"]]
        assert defaults == ["sales"], defaults
        # deactivating: then it cannot become the default
        d = ok(*s.request("PATCH", "/v1/departments/" + did, {"active": False}, token=owner)[:2])
        assert not d["active"], d
        err(*s.request("PATCH", "/v1/departments/" + did, {"is_default": True}, token=owner)[:2],
            409, "department_is_default")
        ok(*s.request("PATCH", "/v1/departments/" + general["id"], {"is_default": True}, token=owner)[:2])

        # delete: move_to is refused (not supported); then deleted, its members with it
        err(*s.request("DELETE", "/v1/departments/%s?move_to=%s" % (did, general["id"]), token=owner)[:2],
            400, "invalid_field", "move_to")
        assert ok(*s.request("DELETE", "/v1/departments/" + did, token=owner)[:2]) == {"id": did}
        err(*s.request("GET", "/v1/departments/" + did, token=owner)[:2], 404, "not_found")
        err(*s.request("DELETE", "/v1/departments/" + did, token=owner)[:2], 404, "not_found")
        assert did not in [x["id"] for x in depts(s, owner)]

        # the permission split: agents and supervisors read, do not manage
        for email, pw in (("agent@demo.parley", "agent-password-1"), ("sup@demo.parley", "sup-password-1")):
            tok = s.login(email, pw)["access_token"]
            assert [x["id"] for x in depts(s, tok)] == [x["id"] for x in depts(s, owner)]
            err(*s.request("POST", "/v1/departments", {"name": "N", "slug": "n"}, token=tok)[:2], 403, "forbidden")
            err(*s.request("PATCH", "/v1/departments/" + sales["id"], {"name": "N"}, token=tok)[:2], 403, "forbidden")
        # the other tenant still has its own four
        assert [x["slug"] for x in depts(s, other)] == SEEDED


def test_widget_choice():
    with Server() as s:
        owner = s.login()["access_token"]
        ids = {x["slug"]: x["id"] for x in depts(s, owner)}
        ok(*s.request("PATCH", "/v1/departments/" + ids["technical"], {"active": False}, token=owner)[:2])
        ok(*s.request("POST", "/v1/departments/reorder", {"ids": [ids["billing"], ids["general"], ids["technical"],
                                                                  ids["sales"]]}, token=owner)[:2])
        v = s.visitor("Vera")["visitor_token"]
        w = ok(*s.request("GET", "/v1/widget/departments", token=v)[:2])["data"]
        assert [x["slug"] for x in w] == ["billing", "general", "sales"], w
        assert set(w[0]) == {"id", "name", "slug", "description", "is_default"}, w[0]
        assert [x["is_default"] for x in w] == [False, True, False], w
        err(*s.request("GET", "/v1/widget/departments")[:2], 401, "unauthenticated")
        err(*s.request("GET", "/v1/widget/departments", token=owner)[:2], 401, "unauthenticated")
        # a chosen department, none (the default), and refusals
        c = ok(*s.request("POST", "/v1/widget/conversations", {"text": "hi", "client_id": "a",
                                                               "department_id": ids["sales"]}, token=v)[:2], 201)
        assert c["id"]
        ok(*s.request("POST", "/v1/widget/conversations", {"text": "hi", "client_id": "b", "department_id": None},
                      token=v)[:2], 201)
        s.new_tenant("other", "Other")
        s.new_user("other", "owner@other.test", "other-password-1", role="owner")
        other = s.login("owner@other.test", "other-password-1", tenant="other")["access_token"]
        foreign = depts(s, other)[0]["id"]
        for dep in (ids["technical"], foreign, "12345", "abc", 7, ""):
            st, b, _ = s.request("POST", "/v1/widget/conversations", {"text": "hi", "client_id": "x%s" % dep,
                                                                      "department_id": dep}, token=v)
            err(st, b, 400, "invalid_department", "department_id")
        # the refusals started nothing
        convs = ok(*s.request("GET", "/v1/widget/conversations", token=v)[:2])["data"]
        assert len(convs) == 2, convs


def test_delete_refused_while_conversations_are_open():
    """A department holding an open conversation cannot be deleted; once
    the conversation is resolved it can. (Conversations take the chosen
    department from the conversation actor: where it does not keep it yet,
    the conversation is in the default department and the delete of the
    chosen one goes through.)"""
    with Server() as s:
        owner = s.login()["access_token"]
        ids = {x["slug"]: x["id"] for x in depts(s, owner)}
        v = s.visitor("Vera")["visitor_token"]
        c = ok(*s.request("POST", "/v1/widget/conversations", {"text": "hi", "client_id": "a",
                                                               "department_id": ids["billing"]}, token=v)[:2], 201)
        conv = ok(*s.request("GET", "/v1/conversations/" + c["id"], token=owner)[:2])
        if conv.get("department_id") != ids["billing"]:
            ok(*s.request("DELETE", "/v1/departments/" + ids["billing"], token=owner)[:2])
            return
        e = err(*s.request("DELETE", "/v1/departments/" + ids["billing"], token=owner)[:2], 409,
                "department_not_empty")
        assert "1 open conversation" in e["message"], e
        ok(*s.request("PATCH", "/v1/conversations/" + c["id"], {"status": "resolved"}, token=owner)[:2])
        ok(*s.request("DELETE", "/v1/departments/" + ids["billing"], token=owner)[:2])


if __name__ == "__main__":
    main([test_seeded_for_new_tenants, test_crud_and_refusals, test_widget_choice,
          test_delete_refused_while_conversations_are_open])
