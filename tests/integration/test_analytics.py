"""Analytics against the real parleyd: rollups kept in each event's
transaction, the endpoints, CSV, who sees what, bad input, and the
rebuild.

- a workload (conversations, visitor and agent messages, notes, resolves,
  a reopen by the visitor, a conversation resolved with no agent message,
  assignments) gives the figures of docs/analytics.md in overview,
  volume, agents, departments, satisfaction and messages, filtered by
  department and by agent;
- CSV: header row, RFC 4180 quoting of names with commas, quotes and
  newlines;
- agents see their own figures only (the agent filter is forced to them;
  naming another is 403); supervisors the whole tenant;
- bad input: ranges reversed, over 30 days, under an hour, malformed;
  unknown and foreign departments and agents (404); a bad interval or
  format (400);
- satisfaction's recent comments (the ratings' time index): range,
  filters, an agent's own, no empty comments, HTML returned as data, CSV;
- `parley analytics rebuild` recomputes rollups equal to the live ones
  after a mixed workload with kill -9 in the middle.
"""
import csv
import io
import random
import re
import time

from harness import Server, err, main, ok, wait_until

DAY_MS = 86400 * 1000


def get(s, tok, path, query=""):
    return ok(*s.request("GET", "/v1/analytics/" + path + query, token=tok)[:2])


def agent_send(s, tok, cid, text, client_id, note=False):
    body = {"text": text, "client_id": client_id}
    if note:
        body["kind"] = "note"
    return ok(*s.request("POST", "/v1/conversations/%s/messages" % cid, body, token=tok)[:2], 201)


def visitor_send(s, vtok, cid, text, client_id):
    return ok(*s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                         {"text": text, "client_id": client_id}, token=vtok)[:2], 201)


def set_status(s, tok, cid, status):
    return ok(*s.request("PATCH", "/v1/conversations/" + cid, {"status": status}, token=tok)[:2])


def assign(s, tok, cid, uid=None):
    body = {"assignee_id": uid} if uid else {}
    return ok(*s.request("POST", "/v1/conversations/%s/assign" % cid, body, token=tok)[:2])


def workload(s, admin, agents, n, rnd, prefix="w"):
    """n conversations; returns what the figures must count."""
    want = {"created": 0, "finished": 0, "missed": 0, "reopened": 0, "vmsgs": 0, "amsgs": 0, "vlen": 0,
            "alen": 0, "by_agent": {}}
    for i in range(n):
        vis = s.visitor("V%d" % i)
        text = "hello %d" % i
        conv = s.new_conversation(vis["visitor_token"], text, "%s-%d-0" % (prefix, i))
        cid = conv["id"]
        want["created"] += 1
        want["vmsgs"] += 1
        want["vlen"] += len(text)
        tok, uid = agents[i % len(agents)]
        if i % 4 == 3:   # missed: resolved with no agent message
            set_status(s, admin, cid, "resolved")
            want["finished"] += 1
            want["missed"] += 1
            continue
        assign(s, tok, cid)
        for j in range(rnd.randint(1, 3)):
            t = "answer %d.%d" % (i, j)
            agent_send(s, tok, cid, t, "%s-%d-a%d" % (prefix, i, j))
            want["amsgs"] += 1
            want["alen"] += len(t)
            want["by_agent"][uid] = want["by_agent"].get(uid, 0) + 1
        set_status(s, tok, cid, "resolved")
        want["finished"] += 1
        if i % 3 == 0:   # the visitor writes again: reopened
            visitor_send(s, vis["visitor_token"], cid, "one more", "%s-%d-1" % (prefix, i))
            want["vmsgs"] += 1
            want["vlen"] += len("one more")
            want["reopened"] += 1
    return want


def test_figures_filters_and_csv():
    with Server() as s:
        admin = s.login()["access_token"]
        a1 = s.new_user("demo", "ann@demo.parley", "ann-password-1", name='Ann, "The" Agent\nSecond line')
        a2 = s.new_user("demo", "bob@demo.parley", "bob-password-1", name="Bob")
        t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        t2 = s.login("bob@demo.parley", "bob-password-1")["access_token"]
        want = workload(s, admin, [(t1, a1), (t2, a2)], 12, random.Random(7))
        o = get(s, admin, "overview")["data"]
        assert o["conversations"] == want["created"], (o, want)
        assert o["resolved"] == want["finished"], (o, want)
        assert o["missed"] == want["missed"] and o["reopened"] == want["reopened"], (o, want)
        assert o["messages"] == want["vmsgs"] + want["amsgs"], (o, want)
        assert o["active"] == want["reopened"], o   # the reopened ones are open now
        assert o["first_response_avg_s"] >= 0 and o["first_response_p90_s"] >= 0
        # messages: by kind and sender, average length
        m = get(s, admin, "messages")["data"]
        assert m["by_kind"]["text"] == want["vmsgs"] + want["amsgs"], m
        assert m["to_visitors"]["sent"] == want["amsgs"] and m["to_agents"]["sent"] == want["vmsgs"], m
        total_len = want["vlen"] + want["alen"]
        assert abs(m["average_length"] - round(total_len / (want["vmsgs"] + want["amsgs"]), 2)) < 0.011, m
        # agents: messages sent per agent; the agent filter
        rows = {r["id"]: r for r in get(s, admin, "agents")["data"]}
        for uid, n in want["by_agent"].items():
            assert rows[uid]["messages_sent"] == n, (uid, rows)
        oa = get(s, admin, "overview", "?agent_id=" + a1)["data"]
        assert oa["conversations"] < o["conversations"]
        # volume per hour and per day adds up to the overview
        for iv in ("hour", "day"):
            v = get(s, admin, "volume", "?interval=" + iv)
            assert sum(r["conversations"] for r in v["data"]) == o["conversations"], v
            assert sum(r["messages"] for r in v["data"]) == o["messages"], v
        # departments: every conversation is in the default department
        depts = ok(*s.request("GET", "/v1/departments", token=admin)[:2])["data"]
        default = [d for d in depts if d.get("is_default")][0]
        drows = {r["id"]: r for r in get(s, admin, "departments")["data"]}
        assert set(drows) == {d["id"] for d in depts}, drows   # every department, with figures or not
        assert drows[default["id"]]["conversations"] == o["conversations"]
        assert drows[default["id"]]["name"] == default["name"]
        assert all(r["conversations"] == 0 for i, r in drows.items() if i != default["id"]), drows
        one = get(s, admin, "departments", "?department_id=" + default["id"])["data"]
        assert [r["id"] for r in one] == [default["id"]], one
        od = get(s, admin, "overview", "?department_id=" + default["id"])["data"]
        assert od["conversations"] == o["conversations"]
        other = [d for d in depts if not d.get("is_default")][0]
        assert get(s, admin, "overview", "?department_id=" + other["id"])["data"]["conversations"] == 0
        # both filters at once
        da = get(s, admin, "agents", "?department_id=%s&agent_id=%s" % (default["id"], a1))["data"]
        assert [r["id"] for r in da] == [a1] and da[0]["messages_sent"] == want["by_agent"][a1], da
        # CSV: header row, quoting
        st, body, hdrs = s.request("GET", "/v1/analytics/agents?format=csv", token=admin)
        assert st == 200, (st, body)
        text = body if isinstance(body, str) else body.decode()
        assert text.startswith("id,name,conversations,"), text[:80]
        assert '"Ann, ""The"" Agent\nSecond line"' in text, text
        parsed = list(csv.reader(io.StringIO(text, newline="")))
        assert parsed[0][:2] == ["id", "name"]
        names = {r[0]: r[1] for r in parsed[1:]}
        assert names[a1] == 'Ann, "The" Agent\nSecond line', names
        for path in ("overview", "volume", "departments", "satisfaction", "messages"):
            st, body, _ = s.request("GET", "/v1/analytics/%s?format=csv" % path, token=admin)
            assert st == 200 and len(list(csv.reader(io.StringIO(body, newline="")))) >= 1, (path, st, body)


def test_delivered_and_read_from_receipts():
    """Agent messages count as delivered and read when the visitor's
    receipts pass them (a receipt's watermark over two messages counts
    both, once); a visitor's message counts as read by agents when an agent
    replies after it. Rebuilt rollups keep these counts."""
    from harness import WS, run
    with Server() as s:
        admin = s.login()["access_token"]
        vis = s.visitor("Rita")
        cid = s.new_conversation(vis["visitor_token"], "hi", "r-0")["id"]
        assign(s, admin, cid)
        seqs = [agent_send(s, admin, cid, "answer %d" % i, "r-a%d" % i)["seq"] for i in range(3)]
        m = get(s, admin, "messages")["data"]
        assert m["to_agents"] == {"sent": 1, "delivered": 1, "read": 1}, m   # the reply read the question
        assert m["to_visitors"] == {"sent": 3, "delivered": 0, "read": 0}, m

        async def receipts():
            v = await WS.connect(s.ws_url(widget=True), vis["visitor_token"])
            ack = await v.request({"type": "subscribe", "conversation_id": cid, "after_seq": 0})
            assert ack["type"] == "ack", ack
            ack = await v.request({"type": "delivered", "conversation_id": cid, "seq": seqs[-1]})
            assert ack["type"] == "ack", ack
            ack = await v.request({"type": "read", "conversation_id": cid, "seq": seqs[1]})
            assert ack["type"] == "ack", ack
            ack = await v.request({"type": "read", "conversation_id": cid, "seq": seqs[1]})   # again: nothing more
            await v.close()
        run(receipts())
        m = get(s, admin, "messages")["data"]
        assert m["to_visitors"] == {"sent": 3, "delivered": 3, "read": 2}, m
        s.stop()
        before = dump(s)
        s.cli_ok("analytics", "rebuild")
        assert dump(s) == before


def test_tenant_time_zone_days():
    """Per-day volume follows the tenant's zone: at +5:30 (Asia/Kolkata) and
    +5:45 (Asia/Kathmandu) a day starts at 18:30Z / 18:15Z, and the days
    still add up to the overview."""
    with Server() as s:
        admin = s.login()["access_token"]
        workload(s, admin, [(admin, None)], 3, random.Random(5))
        total = get(s, admin, "overview")["data"]["conversations"]
        for zone, start in (("Asia/Kolkata", "T18:30:00"), ("Asia/Kathmandu", "T18:15:00"), ("UTC", "T00:00:00")):
            ok(*s.request("PATCH", "/v1/tenant", {"timezone": zone}, token=admin)[:2])
            v = get(s, admin, "volume", "?interval=day")
            assert v["range"]["timezone"] == zone, v["range"]
            assert all(start in r["start"] for r in v["data"][1:]), (zone, [r["start"] for r in v["data"]])
            assert sum(r["conversations"] for r in v["data"]) == total, (zone, v)
            h = get(s, admin, "volume", "?interval=hour")
            assert sum(r["conversations"] for r in h["data"]) == total, (zone, h)
            assert all(r["start"][14:16] == start[4:6] for r in h["data"][1:]), (zone, [r["start"] for r in h["data"]][:3])


def test_who_sees_what():
    with Server() as s:
        admin = s.login()["access_token"]
        a1 = s.new_user("demo", "ann@demo.parley", "ann-password-1")
        a2 = s.new_user("demo", "bob@demo.parley", "bob-password-1")
        s.new_user("demo", "sue@demo.parley", "sue-password-1", role="supervisor")
        t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        t2 = s.login("bob@demo.parley", "bob-password-1")["access_token"]
        sup = s.login("sue@demo.parley", "sue-password-1")["access_token"]
        workload(s, admin, [(t1, a1), (t2, a2)], 6, random.Random(3))
        mine = get(s, t1, "overview")
        assert mine["range"]["agent_id"] == a1, mine
        assert mine["data"] == get(s, admin, "overview", "?agent_id=" + a1)["data"]
        assert [r["id"] for r in get(s, t1, "agents")["data"]] == [a1]
        err(*s.request("GET", "/v1/analytics/overview?agent_id=" + a2, token=t1)[:2], 403, "forbidden")
        assert get(s, sup, "overview")["range"]["agent_id"] is None
        assert get(s, sup, "overview")["data"]["conversations"] == 6
        ok(*s.request("GET", "/v1/analytics/overview?agent_id=" + a2, token=sup)[:2])
        err(*s.request("GET", "/v1/analytics/overview")[:2], 401, "unauthenticated")


def test_bad_input():
    with Server() as s:
        admin = s.login()["access_token"]
        now = int(time.time())

        def iso(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

        def bad(query, status, code, field=None, path="overview"):
            err(*s.request("GET", "/v1/analytics/%s%s" % (path, query), token=admin)[:2], status, code, field)

        bad("?from=%s&to=%s" % (iso(now), iso(now - 7200)), 400, "invalid_field", "from")          # reversed
        bad("?from=%s&to=%s" % (iso(now - 31 * 86400), iso(now)), 400, "invalid_field", "to")      # over 30 days
        bad("?from=%s&to=%s" % (iso(now - 600), iso(now)), 400, "invalid_field", "to")             # under an hour
        bad("?from=yesterday", 400, "invalid_field", "from")                                        # malformed
        bad("?to=2026-13-45T00:00:00Z", 400, "invalid_field", "to")
        bad("?department_id=abc", 400, "invalid_field", "department_id")
        bad("?agent_id=-1", 400, "invalid_field", "agent_id")
        bad("?department_id=999999", 404, "not_found", "department_id")                      # unknown
        bad("?agent_id=999999", 404, "not_found", "agent_id")
        bad("?interval=week", 400, "invalid_field", "interval", path="volume")
        bad("?format=xml", 400, "invalid_field", "format")
        # another tenant's department and agent
        s.new_tenant("other")
        oid = s.new_user("other", "olga@other.parley", "olga-password-1")
        otok = s.login("olga@other.parley", "olga-password-1", tenant="other")["access_token"]
        odept = ok(*s.request("GET", "/v1/departments", token=otok)[:2])["data"][0]["id"]
        bad("?department_id=" + odept, 404, "not_found", "department_id")
        bad("?agent_id=" + oid, 404, "not_found", "agent_id")
        # exactly 30 days and exactly one hour are fine
        ok(*s.request("GET", "/v1/analytics/overview?from=%s&to=%s" % (iso(now - 30 * 86400), iso(now)),
                      token=admin)[:2])
        ok(*s.request("GET", "/v1/analytics/overview?from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z",
                      token=admin)[:2])


def test_alerts_list_and_bad_input():
    with Server() as s:
        admin = s.login()["access_token"]
        a1 = s.new_user("demo", "ann@demo.parley", "ann-password-1")
        t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        b = ok(*s.request("GET", "/v1/alerts", token=admin)[:2])
        assert b == {"data": [], "next_cursor": None}, b
        ok(*s.request("GET", "/v1/alerts?kind=rating&limit=5", token=t1)[:2])
        for q, field in (("?kind=fire", "kind"), ("?from=never", "from"), ("?limit=0", "limit"),
                         ("?department_id=x", "department_id"),
                         ("?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")):
            err(*s.request("GET", "/v1/alerts" + q, token=admin)[:2], 400, "invalid_field", field)
        err(*s.request("GET", "/v1/alerts?agent_id=" + s.login()["user"]["id"], token=t1)[:2], 403, "forbidden")


def test_ratings_satisfaction_and_low_rating_alert():
    """Visitors' ratings (the ratings routes) reach satisfaction (the
    distribution, the average, the response rate, the top agents) and the
    agents' table; a rating of 1 or 2 raises one rating alert naming the
    conversation, its agent and the score; a 4 raises none."""
    with Server() as s:
        admin = s.login()["access_token"]
        me = s.login()["user"]["id"]
        cids = []
        for i, score in enumerate((2, 4)):
            vis = s.visitor("R%d" % i)
            cid = s.new_conversation(vis["visitor_token"], "help", "rt-%d" % i)["id"]
            assign(s, admin, cid)
            agent_send(s, admin, cid, "done", "rt-a%d" % i)
            set_status(s, admin, cid, "resolved")
            ok(*s.request("POST", "/v1/widget/conversations/%s/rating" % cid, {"score": score, "comment": "ok"},
                          token=vis["visitor_token"])[:2], 201)
            cids.append(cid)
        sat = get(s, admin, "satisfaction")["data"]
        assert sat["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}, sat
        assert sat["ratings"] == 2 and sat["average"] == 3.0 and sat["response_rate"] == 1.0, sat
        assert [a["id"] for a in sat["top_agents"]] == [me] and sat["top_agents"][0]["rating_avg"] == 3.0, sat
        row = [r for r in get(s, admin, "agents")["data"] if r["id"] == me][0]
        assert row["ratings"] == 2 and row["rating_avg"] == 3.0, row
        alerts = ok(*s.request("GET", "/v1/alerts?kind=rating", token=admin)[:2])["data"]
        assert len(alerts) == 1, alerts
        a = alerts[0]
        assert a["conversation_id"] == cids[0] and a["score"] == 2 and a["agent_id"] == me, a
        s.stop()
        before = dump(s)
        s.cli_ok("analytics", "rebuild")
        assert dump(s) == before


def test_recent_comments():
    """Satisfaction's recent comments come from the ratings' time index:
    the newest first, with score, comment, conversation, agent, department
    and time; within the range (a rating two days back, made with the
    clock moved, is outside the last hours) and the filters (department,
    agent); an agent sees only their own; a rating without a comment is
    not listed; HTML in a comment is returned as it was written (data,
    escaped by whoever shows it); the CSV of the comments (rows=comments)
    holds the same rows; a bad rows value is 400."""
    now = time.time()
    with Server("--test-clock", "--clock-offset-ms", str(-2 * DAY_MS)) as s:   # the server starts two days back
        admin = s.login()["access_token"]
        a1 = s.new_user("demo", "ann@demo.parley", "ann-password-1", name="Ann")
        a2 = s.new_user("demo", "bob@demo.parley", "bob-password-1", name="Bob")
        t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        t2 = s.login("bob@demo.parley", "bob-password-1")["access_token"]
        depts = ok(*s.request("GET", "/v1/departments", token=admin)[:2])["data"]
        d1 = [d for d in depts if d.get("is_default")][0]["id"]
        d2 = [d for d in depts if not d.get("is_default")][0]["id"]

        def iso(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

        def rated(name, dept, tok, score, comment):
            vis = s.visitor(name)
            body = {"text": "help", "client_id": "c-" + name, "department_id": dept}
            cid = ok(*s.request("POST", "/v1/widget/conversations", body, token=vis["visitor_token"])[:2], 201)["id"]
            assign(s, tok, cid)
            agent_send(s, tok, cid, "done", "a-" + name)
            set_status(s, tok, cid, "resolved")
            ok(*s.request("POST", "/v1/widget/conversations/%s/rating" % cid, {"score": score, "comment": comment},
                          token=vis["visitor_token"])[:2], 201)
            return cid

        old = rated("old", d1, admin, 5, "two days ago")   # (the users made by the CLI are of now)
        ok(*s.request("PUT", "/v1/ops/clock", {"now": iso(now)}, token=admin)[:2])
        admin = s.login()["access_token"]     # (the tokens of two days ago have expired)
        t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        t2 = s.login("bob@demo.parley", "bob-password-1")["access_token"]
        c1 = rated("v1", d1, t1, 4, "Ann was quick")
        c2 = rated("v2", d2, t2, 2, "<b>bold</b> & <script>alert(1)</script>")
        rated("v3", d1, t2, 3, "")                       # no comment: not listed
        c4 = rated("v4", d2, t1, 5, "thanks, \"Ann\"\nsecond line")
        rng = "?from=%s&to=%s" % (iso(now - 3 * 3600), iso(now + 3600))
        sat = get(s, admin, "satisfaction", rng)["data"]
        rc = sat["recent_comments"]
        assert [r["conversation_id"] for r in rc] == [c4, c2, c1], rc      # newest first; old and v3 absent
        first = rc[0]
        assert first["score"] == 5 and first["comment"] == 'thanks, "Ann"\nsecond line', first
        assert first["agent_id"] == a1 and first["agent_name"] == "Ann" and first["department_id"] == d2, first
        assert first["department_name"] and first["at"].endswith("Z"), first
        assert rc[1]["comment"] == "<b>bold</b> & <script>alert(1)</script>", rc[1]   # data, as written
        assert sat["ratings"] == 4, sat
        # a range of the last week holds the old one too, last
        week = get(s, admin, "satisfaction")["data"]["recent_comments"]
        assert [r["conversation_id"] for r in week] == [c4, c2, c1, old], week
        # filters: agent, department, both
        by = lambda q: [r["conversation_id"] for r in get(s, admin, "satisfaction", rng + q)["data"]["recent_comments"]]
        assert by("&agent_id=" + a1) == [c4, c1]
        assert by("&agent_id=" + a2) == [c2]
        assert by("&department_id=" + d2) == [c4, c2]
        assert by("&department_id=%s&agent_id=%s" % (d1, a1)) == [c1]
        # an agent sees their own only; naming another is 403
        mine = get(s, t2, "satisfaction", rng)
        assert mine["range"]["agent_id"] == a2 and [r["conversation_id"] for r in mine["data"]["recent_comments"]] == [c2]
        err(*s.request("GET", "/v1/analytics/satisfaction%s&agent_id=%s" % (rng, a1), token=t2)[:2], 403, "forbidden")
        # CSV: the distribution by default, the comments with rows=comments
        st, body, _ = s.request("GET", "/v1/analytics/satisfaction%s&format=csv" % rng, token=admin)
        assert st == 200 and body.startswith("score,ratings"), (st, body)
        st, body, hdrs = s.request("GET", "/v1/analytics/satisfaction%s&format=csv&rows=comments" % rng, token=admin)
        assert st == 200, (st, body)
        parsed = list(csv.reader(io.StringIO(body, newline="")))
        assert parsed[0] == ["at", "conversation_id", "score", "comment", "agent_id", "agent_name", "department_id",
                             "department_name"], parsed[0]
        assert [r[1] for r in parsed[1:]] == [c4, c2, c1], parsed
        assert parsed[1][3] == 'thanks, "Ann"\nsecond line' and parsed[2][3] == rc[1]["comment"], parsed
        st, body, _ = s.request("GET", "/v1/analytics/satisfaction%s&format=csv&rows=comments" % rng, token=t1)
        assert [r[1] for r in list(csv.reader(io.StringIO(body, newline="")))[1:]] == [c4, c1], body
        err(*s.request("GET", "/v1/analytics/satisfaction?rows=everything", token=admin)[:2], 400, "invalid_field",
            "rows")
        # the rebuild builds the time index again: the same comments after it
        s.stop()
        out = s.cli_ok("analytics", "rebuild")
        assert "; 5 ratings indexed by time" in out, out
        s.start()
        admin = s.login()["access_token"]
        assert get(s, admin, "satisfaction", rng)["data"]["recent_comments"] == rc


def test_no_rollups_keeps_nothing():
    """--no-rollups (the benchmark's A/B, a property of the open database):
    conversations are stored, their figures are not."""
    with Server("--no-rollups") as s:
        admin = s.login()["access_token"]
        vis = s.visitor("N")
        s.new_conversation(vis["visitor_token"], "hello", "n-1")
        assert get(s, admin, "overview")["data"]["conversations"] == 0
        assert len(ok(*s.request("GET", "/v1/conversations", token=admin)[:2])["data"]) == 1


def test_no_agent_online_alert_live_to_supervisors():
    """A department open now (every day 00:00-24:00) whose only member is
    not online (an agent with an open console is: the desk's presence)
    raises one no_agent alert (the check runs every 200 ms; later
    checks of the same day raise nothing more), live to a supervisor's
    console and not to an agent's."""
    import asyncio
    from harness import WS, run
    with Server("--alert-check-ms", "200") as s:
        admin = s.login()["access_token"]
        s.new_user("demo", "ann@demo.parley", "ann-password-1")
        member = s.new_user("demo", "max@demo.parley", "max-password-1")   # never connects: offline
        s.new_user("demo", "sue@demo.parley", "sue-password-1", role="supervisor")
        sup = s.login("sue@demo.parley", "sue-password-1")["access_token"]
        t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
        depts = ok(*s.request("GET", "/v1/departments", token=admin)[:2])["data"]
        sales = [d for d in depts if d["slug"] == "sales"][0]

        async def flow():
            ws_sup = await WS.connect(s.ws_url(), sup)
            ws_ag = await WS.connect(s.ws_url(), t1)
            for w in (ws_sup, ws_ag):
                ack = await w.request({"type": "subscribe_inbox", "after": 0})
                assert ack["type"] == "ack", ack
            every = [{"day": d, "open": "00:00", "close": "24:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
            ok(*s.request("PATCH", "/v1/departments/" + sales["id"], {"hours": every, "timezone": "UTC"}, token=admin)[:2])
            ok(*s.request("PUT", "/v1/departments/%s/members" % sales["id"], {"agent_ids": [member]}, token=admin)[:2])
            f = await ws_sup.wait_for(lambda f: f.get("event") == "alert", timeout=10)
            al = f["alert"]
            assert al["kind"] == "no_agent" and al["department_id"] == sales["id"], al
            # more checks pass: still one alert
            t_end = time.monotonic() + 1.0
            while time.monotonic() < t_end:
                await asyncio.sleep(0.2)
            rows = ok(*s.request("GET", "/v1/alerts?kind=no_agent", token=sup)[:2])["data"]
            assert [r["department_id"] for r in rows] == [sales["id"]], rows
            # the agent's console heard nothing
            try:
                f = await ws_ag.wait_for(lambda f: f.get("event") == "alert", timeout=0.5)
                raise AssertionError("the agent got %r" % f)
            except TimeoutError:
                pass
            await ws_sup.close()
            await ws_ag.close()
        run(flow())


def test_sla_breach_alert_once_per_wait():
    """A conversation waiting (nobody online to take it) past its
    department's SLA (sla_high_s, 180 s by default: the clock moved 10
    minutes on with --test-clock) raises one sla alert, however many checks
    see it; the overview counts it as waiting now, the department's queue
    as one with its longest wait."""
    with Server("--alert-check-ms", "200", "--test-clock") as s:
        admin = s.login()["access_token"]
        vis = s.visitor("Wendy")
        cid = s.new_conversation(vis["visitor_token"], "anyone there?", "w-0")["id"]
        o = get(s, admin, "overview")["data"]
        assert o["waiting"] == 1, o
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
        ok(*s.request("PUT", "/v1/ops/clock", {"now": later}, token=admin)[:2])
        rows = []

        def alerted():
            rows[:] = ok(*s.request("GET", "/v1/alerts?kind=sla", token=admin)[:2])["data"]
            return rows
        wait_until(alerted, timeout=10, what="the sla alert")
        assert rows[0]["conversation_id"] == cid and rows[0]["wait_s"] >= 180, rows
        # several more checks: still one alert for this wait
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert len(alerted()) == 1, rows
        d = [r for r in get(s, admin, "departments")["data"] if r["queue"]]
        assert len(d) == 1 and d[0]["queue"] == 1 and d[0]["longest_wait_s"] >= 590, d


def dump(s):
    return s.cli_ok("analytics", "dump").splitlines()


def test_rebuild_equals_live_after_crashes():
    with Server() as s:
        admin = s.login()["access_token"]
        a1 = s.new_user("demo", "ann@demo.parley", "ann-password-1")
        rnd = random.Random(11)
        for round_ in range(3):
            t1 = s.login("ann@demo.parley", "ann-password-1")["access_token"]
            admin = s.login()["access_token"]
            workload(s, admin, [(t1, a1), (admin, None)], 8, rnd, prefix="r%d" % round_)
            # more traffic in flight, then kill -9 in the middle of it
            import threading
            stop = threading.Event()

            def traffic():
                i = 0
                while not stop.is_set():
                    try:
                        vis = s.visitor("K%d" % i)
                        s.new_conversation(vis["visitor_token"], "crash %d" % i, "k%d-%d" % (round_, i))
                    except Exception:
                        return
                    i += 1
            th = threading.Thread(target=traffic)
            th.start()
            wait_conv = time.monotonic() + 5
            while time.monotonic() < wait_conv and get(s, admin, "overview")["data"]["conversations"] < 8 * (round_ + 1) + 3:
                time.sleep(0.02)
            s.kill9()
            stop.set()
            th.join(10)
            s.restart()
        s.stop()
        live = dump(s)
        assert live, "no rollups"
        s.cli_ok("analytics", "rebuild")
        rebuilt = dump(s)
        assert live == rebuilt, "\n".join(sorted(set(live) ^ set(rebuilt))[:20])


if __name__ == "__main__":
    main([test_figures_filters_and_csv, test_delivered_and_read_from_receipts, test_tenant_time_zone_days, test_who_sees_what, test_bad_input, test_alerts_list_and_bad_input, test_ratings_satisfaction_and_low_rating_alert, test_recent_comments, test_no_rollups_keeps_nothing,
          test_no_agent_online_alert_live_to_supervisors, test_sla_breach_alert_once_per_wait,
          test_rebuild_equals_live_after_crashes])
