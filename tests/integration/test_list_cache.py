"""Conversation lists are served from a cache until the tenant's
conversations change: ETag / If-None-Match revalidation, read-your-writes
after every acknowledged change (messages, status, assignment), status and
assignee filters, other tenants, and concurrent writers."""
import re
import threading

from harness import Server, main, wait_until


def list_convs(s, tok, q="limit=100", headers=None):
    st, b, h = s.request("GET", "/v1/conversations?" + q, token=tok, headers=headers)
    return st, b, h


def by_id(body):
    return {c["id"]: c for c in body["data"]}


def post_visitor(s, vis, cid, client_id, text="hi"):
    st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                         {"client_id": client_id, "text": text}, token=vis)
    assert st in (200, 201), (st, b)
    return b


def test_etag_and_revalidation():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Ann")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "c-1")["id"]
        # nobody is online: its department marks it offline (a write of its
        # own, actors/desk) — the list is stable after that
        wait_until(lambda: by_id(list_convs(s, tok)[1]).get(cid, {}).get("offline") is True, 5, "the offline flag")
        st, b, h = list_convs(s, tok)
        assert st == 200 and cid in by_id(b), (st, b)
        etag = h.get("ETag")
        assert etag and re.fullmatch(r'"[0-9a-f]{16}"', etag), h
        assert "no-cache" in h.get("Cache-Control", "") and "private" in h["Cache-Control"], h
        # the same list again: same body, same tag (served from the cache)
        st2, b2, h2 = list_convs(s, tok)
        assert st2 == 200 and b2 == b and h2.get("ETag") == etag
        # revalidation: 304 without a body; lists of tags and weak tags match too
        for inm in [etag, 'W/' + etag, '"0000000000000000", ' + etag, "*"]:
            st3, b3, h3 = list_convs(s, tok, headers={"If-None-Match": inm})
            assert st3 == 304 and b3 == "" and h3.get("ETag") == etag, (inm, st3, b3, h3)
        st4, _, _ = list_convs(s, tok, headers={"If-None-Match": '"0000000000000000"'})
        assert st4 == 200
        for inm in ['"0000000000000000", *', "*junk", etag[:-1]]:   # not a match
            assert list_convs(s, tok, headers={"If-None-Match": inm})[0] == 200, inm
        # a list split over two header lines; 304 has no body and no Content-Length
        raw = s.raw(("GET /v1/conversations?limit=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "If-None-Match: \"0000000000000000\"\r\nIf-None-Match: %s\r\nConnection: close\r\n\r\n"
                     % (tok, etag)).encode())
        head = raw.split(b"\r\n\r\n", 1)[0].decode()
        assert head.startswith("HTTP/1.1 304 "), raw[:300]
        assert "content-length" not in head.lower(), head
        # a new message changes the list: the old tag no longer matches
        post_visitor(s, vis, cid, "c-2", "again")
        st5, b5, h5 = list_convs(s, tok, headers={"If-None-Match": etag})
        assert st5 == 200 and h5.get("ETag") != etag, (st5, h5)
        assert by_id(b5)[cid]["last_seq"] == by_id(b)[cid]["last_seq"] + 1, (b, b5)
        # the cache was used, and counted
        st, m, _ = s.request("GET", "/metrics")
        hits = int(float(re.search(r"^parley_list_cache_hits_total (\S+)$", m, re.M).group(1)))
        assert hits >= 5, m


def test_read_your_writes_after_every_change():
    with Server() as s:
        login = s.login()
        tok, me = login["access_token"], login["user"]["id"]
        vis = s.visitor("Bo")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "r-0")["id"]
        for q in ["limit=100", "status=waiting", "assignee=none", "assignee=me", "limit=1"]:
            list_convs(s, tok, q)   # warm every variant
        for i in range(1, 21):
            ev = post_visitor(s, vis, cid, "r-%d" % i)
            seq = ev.get("seq") or ev.get("event", {}).get("seq")
            st, b, _ = list_convs(s, tok)
            assert st == 200 and by_id(b)[cid]["last_seq"] >= seq, (i, seq, b)
        # status: the waiting list (new conversations wait) drops it, the resolved list gains it
        assert cid in by_id(list_convs(s, tok, "status=waiting")[1])
        assert cid not in by_id(list_convs(s, tok, "status=resolved")[1])
        st, b, _ = s.request("PATCH", "/v1/conversations/" + cid, {"status": "resolved"}, token=tok)
        assert st == 200, (st, b)
        assert cid not in by_id(list_convs(s, tok, "status=waiting")[1])
        assert cid in by_id(list_convs(s, tok, "status=resolved")[1])
        assert by_id(list_convs(s, tok)[1])[cid]["status"] == "resolved"
        # assignment: "none" drops it, "me" gains it
        assert cid in by_id(list_convs(s, tok, "assignee=none")[1])
        assert cid not in by_id(list_convs(s, tok, "assignee=me")[1])
        st, b, _ = s.request("POST", "/v1/conversations/%s/assign" % cid, {}, token=tok)
        assert st == 200, (st, b)
        assert cid not in by_id(list_convs(s, tok, "assignee=none")[1])
        assert by_id(list_convs(s, tok, "assignee=me")[1])[cid]["assignee"]["id"] == me
        # a new conversation appears at once
        cid2 = s.new_conversation(vis, "second", "r-new")["id"]
        b = list_convs(s, tok, "limit=1")[1]
        assert [c["id"] for c in b["data"]] == [cid2], b


def test_other_tenant_gets_its_own_list():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Cy")["visitor_token"]
        cid = s.new_conversation(vis, "hello", "t-1")["id"]
        # (marked offline by its department first: nobody is online)
        wait_until(lambda: by_id(list_convs(s, tok)[1]).get(cid, {}).get("offline") is True, 5, "the offline flag")
        b = list_convs(s, tok)[1]
        assert cid in by_id(b)
        _, key_b = s.new_tenant("acme", "Acme")
        s.new_user("acme", "bob@acme.test", "bob-password-1", name="Bob")
        bt = s.login("bob@acme.test", "bob-password-1", tenant="acme")["access_token"]
        for _ in range(3):   # the same query, another tenant: never A's cached list
            st, bb, h = list_convs(s, bt)
            assert st == 200 and bb == {"data": [], "next_cursor": None}, bb
        # B's change leaves A's list right, and B sees only its own
        vb = s.visitor("Dee", widget_key=key_b)["visitor_token"]
        cb = s.new_conversation(vb, "from b", "t-b")["id"]
        assert set(by_id(list_convs(s, bt)[1])) == {cb}
        assert list_convs(s, tok)[1] == b


def test_repeated_change_is_answered_only_once_durable():
    """The same status change or assignment sent many times at once: every
    200 is answered only once the change is stored, so the reads that
    follow each answer (the conversation, and the filtered lists) show it."""
    with Server() as s:
        login = s.login()
        tok, me = login["access_token"], login["user"]["id"]
        vis = s.visitor("Gus")["visitor_token"]
        cids = [s.new_conversation(vis, "hello", "g-%d" % i)["id"] for i in range(4)]
        errors = []

        def change(cid, method, path, body, check):
            try:
                st, b, _ = s.request(method, path, body, token=tok)
                if st != 200:
                    errors.append((path, st, b))
                    return
                st, c, _ = s.request("GET", "/v1/conversations/" + cid, token=tok)
                if not check(c):
                    errors.append(("conversation after 200", path, c))
                st, lst, _ = list_convs(s, tok, "status=resolved" if "status" in (body or {})
                                        else "assignee=me")
                if cid not in by_id(lst):
                    errors.append(("list after 200", path))
            except Exception as e:   # noqa: BLE001 - reported below
                errors.append(repr(e))

        jobs = []
        for cid in cids:
            for _ in range(6):
                jobs.append((cid, "PATCH", "/v1/conversations/" + cid, {"status": "resolved"},
                             lambda c: c["status"] == "resolved"))
                jobs.append((cid, "POST", "/v1/conversations/%s/assign" % cid, {},
                             lambda c: (c.get("assignee") or {}).get("id") == me))
        threads = [threading.Thread(target=change, args=j) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors[:5]


def test_concurrent_writers_read_their_writes():
    with Server() as s:
        tok = s.login()["access_token"]
        vis = s.visitor("Eve")["visitor_token"]
        cids = [s.new_conversation(vis, "hello", "w-%d" % i)["id"] for i in range(3)]
        start = by_id(list_convs(s, tok)[1])
        errors = []
        done = threading.Event()

        def writer(cid):
            try:
                for i in range(40):
                    ev = post_visitor(s, vis, cid, "%s-%d" % (cid, i))
                    seq = ev.get("seq") or ev.get("event", {}).get("seq")
                    st, b, _ = list_convs(s, tok)
                    if st != 200 or by_id(b)[cid]["last_seq"] < seq:
                        errors.append(("stale after ack", cid, seq, st, b))
            except Exception as e:   # noqa: BLE001 - reported below
                errors.append(repr(e))

        def reader():
            # every list is whole and well-formed while writes go on; that
            # successive lists never go back is not asserted: with LMDB
            # 0.9.24 two fresh read snapshots can, rarely (see
            # tests/unit/storage/db_test.c), cached or not
            while not done.is_set():
                st, b, _ = list_convs(s, tok)
                if st != 200 or set(by_id(b)) != set(cids):
                    errors.append(("list", st, b))
                    return

        ws = [threading.Thread(target=writer, args=(c,)) for c in cids]
        rs = [threading.Thread(target=reader) for _ in range(2)]
        for t in ws + rs:
            t.start()
        for t in ws:
            t.join(60)
        done.set()
        for t in rs:
            t.join(60)
        assert not errors, errors[:5]
        final = by_id(list_convs(s, tok)[1])
        assert all(final[c]["last_seq"] == start[c]["last_seq"] + 40 for c in cids), final


if __name__ == "__main__":
    main([test_etag_and_revalidation, test_read_your_writes_after_every_change,
          test_other_tenant_gets_its_own_list, test_repeated_change_is_answered_only_once_durable,
          test_concurrent_writers_read_their_writes])
