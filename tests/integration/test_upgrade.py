"""Upgrades: a data directory written by an earlier release opens with this
build, and everything in it reads and works as it did.

tests/fixtures/release1/ was written by release 1 (commit 28e125c) through
its real API and CLI (tests/fixtures/make_release1.py; docs/storage.md,
"Upgrades: the release fixtures"); a later tests/fixtures/releaseN/ with an
expected.json of the same form is picked up too. Each test starts this
build's parleyd on a fresh copy of each fixture (--no-demo) and checks,
against its expected.json:
- every user logs in with the stored password, /v1/auth/me shows the same
  user, role and tenant; the stored access tokens are accepted (and the one
  issued before a password reset is refused);
- the stored refresh tokens behave as they would have: live ones refresh,
  the spent one revokes its family, the logged-out one is refused;
- visitor tokens are accepted and each visitor sees their conversations,
  without notes;
- every conversation, conversation list, event (REST and WebSocket replay)
  and inbox entry reads back as release 1 answered it;
- a message can be appended (seq = last_seq + 1), and resending the
  client_id of a release-1 message is deduplicated to the old seq;
- the `parley` CLI works on the data directory;
- records the run does not change keep their bytes (python3-lmdb);
- every tenant gets the four departments (general the default, sales,
  technical, billing) on the first open, once; conversations keep their
  records (dept_id 0: the default department);
- from release 3 on, every file downloads with its SHA-256, and the sweep
  at start keeps every blob (tests/fixtures/releaseN/blobs/ is copied too).

A later release may add fields to the API's objects: the comparisons check
that every field release 1 returned is still there with the same value.
Needs Debian's python3-lmdb (tools/install-deps.sh test).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import lmdb

from harness import PARLEY_CLI, Server, WS, main, run

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
RELEASES = sorted((d for d in os.listdir(FIXTURES) if re.fullmatch(r"release\d+", d)), key=lambda d: int(d[7:]))
assert "release1" in RELEASES, RELEASES


class Fixture:
    """A private copy of tests/fixtures/<name> (data.mdb only) in a temp dir,
    so neither the server nor LMDB's lock file ever touch the fixture."""

    def __init__(self, name):
        src = os.path.join(FIXTURES, name)
        with open(os.path.join(src, "expected.json"), encoding="utf-8") as f:
            self.exp = json.load(f)
        self.dir = tempfile.mkdtemp(prefix="parley-upgrade-")
        os.makedirs(os.path.join(self.dir, "db"))
        dst = os.path.join(self.dir, "db", "data.mdb")
        shutil.copyfile(os.path.join(src, "db", "data.mdb"), dst)
        os.chmod(dst, 0o600)
        if os.path.isdir(os.path.join(src, "blobs")):
            shutil.copytree(os.path.join(src, "blobs"), os.path.join(self.dir, "blobs"))

    def server(self):
        s = Server("--no-demo", data_dir=self.dir)
        if any("demo tenant created" in l for l in s.lines):
            s.close()
            raise AssertionError("a first start on existing data: %r" % s.lines)
        return s

    def cli(self, *args):
        """The parley CLI on the copy (the server stopped); (rc, stdout, stderr)."""
        r = subprocess.run([PARLEY_CLI, "--data", self.dir] + list(args), capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout, r.stderr

    def conv(self, modified):
        return [c for c in self.exp["conversations"] if c["modified_by_test"] == modified]

    def visitor_of(self, cid):
        return next(v for v in self.exp["visitors"] if cid in v["conversations"])

    def agent_token(self, tenant):
        """A stored access token of an owner of the tenant."""
        return next(u for u in self.exp["users"] if u["tenant"] == tenant and u["role"] == "owner")["access_token"]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def same(want, got, where="value"):
    """got has every field of want, with the same value and JSON type."""
    if isinstance(want, dict):
        assert isinstance(got, dict), (where, want, got)
        for k, v in want.items():
            assert k in got, ("%s: %r missing" % (where, k), got)
            same(v, got[k], "%s.%s" % (where, k))
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, want, got)
        for i, (w, g) in enumerate(zip(want, got)):
            same(w, g, "%s[%d]" % (where, i))
    else:
        assert type(want) is type(got) and want == got, (where, want, got)


def get(s, path, token, want=200):
    st, b, _ = s.request("GET", path, token=token)
    assert st == want, (path, st, b)
    return b


def post(s, path, body, token=None, want=200):
    st, b, _ = s.request("POST", path, body, token=token)
    assert st == want, (path, body, st, b)
    return b


def all_events(s, path, token):
    out, after = [], 0
    for _ in range(100):
        b = get(s, "%s?after=%d&limit=500" % (path, after), token)
        out += b["data"]
        if b["next_cursor"] is None:
            return out
        after = int(b["next_cursor"])
    raise AssertionError("pagination did not end")


def login_body(exp, u):
    """The login request for a user; the tenant is named only when the email is in several."""
    body = {"email": u["email"], "password": u["password"]}
    if sum(1 for x in exp["users"] if x["email"] == u["email"]) > 1:
        body["tenant"] = u["tenant"]
    return body


# ---------------------------------------------------------------- checks

def check_logins(s, exp):
    for u in exp["users"]:
        b = post(s, "/v1/auth/login", login_body(exp, u))
        me = get(s, "/v1/auth/me", b["access_token"])
        same(u["me"], me, u["email"])
        assert me["role"] == u["role"] and me["tenant_id"] == exp["tenants"][u["tenant"]]["id"], (u, me)
        same({k: u["me"][k] for k in ("id", "tenant_id", "email", "name", "role")}, b["user"], "login user")
    for r in exp["refused_logins"]:
        st, b, _ = s.request("POST", "/v1/auth/login", {"email": r["email"], "password": r["password"],
                                                         "tenant": r["tenant"]})
        assert st == 401 and b["error"]["code"] == "invalid_credentials", (r, st, b)


def check_stored_tokens(s, exp):
    for u in exp["users"]:
        same(u["me"], get(s, "/v1/auth/me", u["access_token"]), "stored token of " + u["email"])
    for r in exp["refused_access_tokens"]:
        get(s, "/v1/auth/me", r["token"], want=401)
    for v in exp["visitors"]:
        body = {"widget_key": exp["tenants"][v["tenant"]]["widget_key"], "visitor_token": v["token"],
                "name": v["visitor"]["name"]}
        if v["visitor"]["email"]:
            body["email"] = v["visitor"]["email"]
        b = post(s, "/v1/widget/session", body)   # 200: a returning visitor, nothing changed
        same(v["visitor"], b["visitor"], "visitor")
        assert b["tenant"]["id"] == exp["tenants"][v["tenant"]]["id"], b
        lst = get(s, "/v1/widget/conversations", v["token"])
        assert [c["id"] for c in lst["data"]] == v["list"], (v, lst)

    async def ws():
        for u in exp["users"]:
            c = await WS.connect(s.ws_url(), u["access_token"])   # asserts the auth ack
            await c.close()
        for v in exp["visitors"]:
            c = await WS.connect(s.ws_url(widget=True, key=exp["tenants"][v["tenant"]]["widget_key"]))
            ack = await c.request({"type": "auth", "token": v["token"]})
            assert ack["type"] == "ack" and ack["visitor"]["id"] == v["visitor"]["id"], ack
            await c.close()
        c = await WS.connect(s.ws_url())
        ack = await c.request({"type": "auth", "token": exp["refused_access_tokens"][0]["token"]})
        assert ack["type"] == "error" and ack["error"]["code"] == "unauthenticated", ack
        await c.close()
    run(ws())


def check_refresh(s, exp):
    r = exp["refresh"]
    b = post(s, "/v1/auth/refresh", {"refresh_token": r["live_from_login"]["token"]})
    assert b["user"]["email"] == r["live_from_login"]["email"], b
    b2 = post(s, "/v1/auth/refresh", {"refresh_token": b["refresh_token"]})
    get(s, "/v1/auth/me", b2["access_token"])
    # the family with a spent token: the live one refreshes; the spent one revokes the family
    b = post(s, "/v1/auth/refresh", {"refresh_token": r["live_after_refresh"]["token"]})
    assert b["user"]["email"] == r["live_after_refresh"]["email"], b
    post(s, "/v1/auth/refresh", {"refresh_token": r["spent"]["token"]}, want=401)
    post(s, "/v1/auth/refresh", {"refresh_token": b["refresh_token"]}, want=401)
    post(s, "/v1/auth/refresh", {"refresh_token": r["logged_out"]["token"]}, want=401)


async def replay(s, f, conv, visitor):
    """The events a subscribe from seq 0 replays (to the conversation's
    visitor, or to an agent), and its ack."""
    if visitor:
        key = f.exp["tenants"][conv["tenant"]]["widget_key"]
        c = await WS.connect(s.ws_url(widget=True, key=key), f.visitor_of(conv["id"])["token"])
    else:
        c = await WS.connect(s.ws_url(), f.agent_token(conv["tenant"]))
    ack = await c.request({"type": "subscribe", "conversation_id": conv["id"], "after_seq": 0})
    assert ack["type"] == "ack", ack
    frames = [f for f in c.pending if f["type"] == "event" and f["conversation_id"] == conv["id"]]
    await c.close()
    return frames, ack


def check_conversations(f, s, convs=None):
    for conv in convs or f.exp["conversations"]:
        cid, t = conv["id"], f.agent_token(conv["tenant"])
        same(conv["conversation"], get(s, "/v1/conversations/" + cid, t), cid)
        evs = all_events(s, "/v1/conversations/%s/messages" % cid, t)
        same(conv["events"], evs, cid + " events")
        assert [e["seq"] for e in evs] == list(range(1, conv["conversation"]["last_seq"] + 1)), evs
        vtok = f.visitor_of(cid)["token"]
        vevs = all_events(s, "/v1/widget/conversations/%s/messages" % cid, vtok)
        same(conv["visitor_events"], vevs, cid + " visitor events")
        assert [e["seq"] for e in vevs] == [e["seq"] for e in evs if e["kind"] != "note"], vevs
        frames, ack = run(replay(s, f, conv, False))
        same(conv["events"], frames, cid + " replay")
        assert ack["last_seq"] == conv["conversation"]["last_seq"] and ack["more"] is False, ack
        frames, ack = run(replay(s, f, conv, True))
        same(conv["visitor_events"], frames, cid + " visitor replay")


def check_lists_and_inbox(f, s):
    exp = f.exp
    for slug, lists in exp["lists"].items():
        t = f.agent_token(slug)
        for q, ids in lists.items():
            b = get(s, "/v1/conversations?limit=100&" + q, t)
            assert [c["id"] for c in b["data"]] == ids and b["next_cursor"] is None, (slug, q, ids, b)

        async def inbox():
            c = await WS.connect(s.ws_url(), t)
            ack = await c.request({"type": "subscribe_inbox", "after": 0})
            frames = [x for x in c.pending if x["type"] == "inbox"]
            await c.close()
            return ack, frames
        ack, frames = run(inbox())
        want = exp["inbox"][slug]
        assert ack["type"] == "ack" and ack["last"] == want["last"] and ack["more"] is False, ack
        same(want["entries"], [{"cursor": x["cursor"], "event": x["event"],
                                "conversation_id": x["conversation"]["id"]} for x in frames], slug + " inbox")
        now = {c["id"]: c["conversation"] for c in exp["conversations"]}
        for x in frames:
            same(now[x["conversation"]["id"]], x["conversation"], "inbox conversation")
    # tenants stay apart: another tenant's conversation is not found
    first = {}
    for c in exp["conversations"]:
        first.setdefault(c["tenant"], c)
    assert len(first) >= 2, first
    one, two = list(first.values())[:2]
    get(s, "/v1/conversations/" + two["id"], f.agent_token(one["tenant"]), want=404)
    get(s, "/v1/widget/conversations/%s/messages" % one["id"], f.visitor_of(two["id"])["token"], want=404)


def append_and_dedupe(f, s):
    """Appends to the fixture's modified conversation, resends old client_ids
    (there and in an untouched one); returns what the conversation should be."""
    exp = f.exp
    conv = f.conv(True)[0]
    cid, last = conv["id"], conv["conversation"]["last_seq"]
    slug = conv["tenant"]
    v = f.visitor_of(cid)
    msgs = [e for e in conv["events"] if e["kind"] in ("message", "note")]
    agent_msg = next(e for e in msgs if e["sender"]["type"] == "agent")
    vis_msgs = [e for e in msgs if e["sender"]["type"] == "visitor"]
    agent = next(u for u in exp["users"] if u["id"] == agent_msg["sender"]["id"])

    b = post(s, "/v1/conversations/%s/messages" % cid, {"client_id": "upgrade-agent-1", "text": "after the upgrade"},
             agent["access_token"], want=201)
    assert b["seq"] == last + 1 and b["duplicate"] is False, b
    b = post(s, "/v1/conversations/%s/messages" % cid, {"client_id": agent_msg["client_id"], "text": "resent"},
             agent["access_token"])
    assert b["seq"] == agent_msg["seq"] and b["duplicate"] is True, b
    b = post(s, "/v1/widget/conversations/%s/messages" % cid, {"client_id": vis_msgs[-1]["client_id"],
                                                               "text": "resent"}, v["token"])
    assert b["seq"] == vis_msgs[-1]["seq"] and b["duplicate"] is True, b

    async def ws():
        c = await WS.connect(s.ws_url(widget=True, key=exp["tenants"][slug]["widget_key"]), v["token"])
        ack = await c.request({"type": "subscribe", "conversation_id": cid, "after_seq": last})
        assert ack["type"] == "ack" and ack["last_seq"] == last + 1, ack
        ack = await c.request({"type": "send", "conversation_id": cid, "client_id": vis_msgs[0]["client_id"],
                               "text": "resent"})
        assert ack["type"] == "ack" and ack["seq"] == vis_msgs[0]["seq"] and ack["duplicate"] is True, ack
        ack = await c.request({"type": "send", "conversation_id": cid, "client_id": "upgrade-visitor-1",
                               "text": "me too ✓"})
        assert ack["type"] == "ack" and ack["seq"] == last + 2 and ack["duplicate"] is False, ack
        await c.close()
        # an untouched conversation: every resend of its old messages (a note too) stores nothing
        other = f.conv(False)[0]
        t = f.agent_token(other["tenant"])
        a = await WS.connect(s.ws_url(), t)
        ov = f.visitor_of(other["id"])
        w = await WS.connect(s.ws_url(widget=True, key=exp["tenants"][other["tenant"]]["widget_key"]), ov["token"])
        for e in other["events"]:
            if e["kind"] not in ("message", "note"):
                continue
            if e["sender"]["type"] == "visitor":
                ack = await w.request({"type": "send", "conversation_id": other["id"], "client_id": e["client_id"],
                                       "text": "resent"})
            else:
                who = next(u for u in exp["users"] if u["id"] == e["sender"]["id"])
                b = post(s, "/v1/conversations/%s/messages" % other["id"],
                         {"client_id": e["client_id"], "text": "resent", "private": e["private"]},
                         who["access_token"])
                ack = dict(b, type="ack")
            assert ack["type"] == "ack" and ack["seq"] == e["seq"] and ack["duplicate"] is True, (e, ack)
        await a.close()
        await w.close()
    run(ws())

    after = get(s, "/v1/conversations/" + cid, f.agent_token(slug))
    assert after["last_seq"] == last + 2, after
    # a visitor writing into a conversation that is not open or waiting reopens it (open when
    # assigned, else waiting in the queue); the status index follows
    old = conv["conversation"]["status"]
    reopened = "open" if after["assignee"] else "waiting"
    assert after["status"] == (old if old in ("open", "waiting") else reopened), (old, after)
    evs = all_events(s, "/v1/conversations/%s/messages" % cid, f.agent_token(slug))
    same(conv["events"], evs[:last], "old events")
    assert [(e["seq"], e["client_id"], e["sender"]["type"]) for e in evs[last:]] == \
        [(last + 1, "upgrade-agent-1", "agent"), (last + 2, "upgrade-visitor-1", "visitor")], evs[last:]
    t = f.agent_token(slug)
    if old != after["status"]:
        assert cid not in [c["id"] for c in get(s, "/v1/conversations?status=" + old, t)["data"]]
    assert cid in [c["id"] for c in get(s, "/v1/conversations?status=" + after["status"], t)["data"]]
    return cid, evs


# ---------------------------------------------------------------- tests

def test_users_log_in_and_stored_tokens_work():
    for name in RELEASES:
        with Fixture(name) as f, f.server() as s:
            check_logins(s, f.exp)
            check_stored_tokens(s, f.exp)
            check_refresh(s, f.exp)


def test_every_conversation_event_list_and_inbox_entry_reads_back():
    for name in RELEASES:
        with Fixture(name) as f, f.server() as s:
            check_conversations(f, s)
            check_lists_and_inbox(f, s)


def test_append_and_dedupe_on_old_conversations():
    for name in RELEASES:
        with Fixture(name) as f, f.server() as s:
            cid, evs = append_and_dedupe(f, s)
            slug = f.conv(True)[0]["tenant"]
            # the reopening is on the inbox stream, after the fixture's last cursor
            last = f.exp["inbox"][slug]["last"]

            async def inbox():
                c = await WS.connect(s.ws_url(), f.agent_token(slug))
                ack = await c.request({"type": "subscribe_inbox", "after": last})
                frames = [x for x in c.pending if x["type"] == "inbox" and "cursor" in x]
                await c.close()
                return ack, frames
            ack, frames = run(inbox())
            assert ack["last"] == last + 1 and [(x["cursor"], x["event"], x["conversation"]["id"])
                                                for x in frames] == [(last + 1, "conversation.updated", cid)], \
                (ack, frames)
            # an old visitor starts a new conversation: ids are time-ordered, so it sorts first everywhere
            v = f.visitor_of(f.conv(False)[0]["id"])
            new = post(s, "/v1/widget/conversations", {"text": "new after the upgrade", "client_id": "n-1"},
                       v["token"], want=201)
            assert new["last_seq"] == 2 and all(int(new["id"]) > int(c["id"]) for c in f.exp["conversations"]), new
            assert get(s, "/v1/widget/conversations", v["token"])["data"][0]["id"] == new["id"]
            assert get(s, "/v1/conversations", f.agent_token(v["tenant"]))["data"][0]["id"] == new["id"]
            # all of it survives a restart; the untouched conversations are as the fixture has them
            s.restart()
            same(evs, all_events(s, "/v1/conversations/%s/messages" % cid, f.agent_token(slug)), "after restart")
            check_conversations(f, s, f.conv(False))


def test_cli_on_old_data():
    """The CLI (no list command: `tenant key` is its read) on the data
    directory, the server stopped; then the server sees what it wrote."""
    for name in RELEASES:
        with Fixture(name) as f:
            exp = f.exp
            for slug, t in exp["tenants"].items():
                rc, out, err = f.cli("tenant", "key", "--tenant", slug)
                assert rc == 0 and out.strip() == t["widget_key"], (rc, out, err)
            slug = sorted(exp["tenants"])[0]
            agent = next(u for u in exp["users"] if u["role"] == "agent")
            taken = exp["users"][0]
            for args in (("tenant", "create", "--name", "Again", "--slug", slug),
                         ("user", "create", "--tenant", taken["tenant"], "--email", taken["email"], "--password",
                          "another-password")):
                rc, out, err = f.cli(*args)
                assert rc != 0 and "already exists" in err, (args, rc, out, err)
            rc, out, err = f.cli("tenant", "create", "--name", "After Upgrade", "--slug", "after-upgrade")
            assert rc == 0, (rc, out, err)
            new_key = re.search(r"widget key: (\S+)", out).group(1)
            rc, out, err = f.cli("user", "create", "--tenant", slug, "--email", "new@upgrade.example", "--password",
                                 "new-user-password", "--role", "admin", "--name", "New")
            assert rc == 0, (rc, out, err)
            rc, out, err = f.cli("user", "reset-password", "--tenant", agent["tenant"], "--email", agent["email"],
                                 "--password", "agent-new-password")
            assert rc == 0, (rc, out, err)
            with f.server() as s:
                b = s.login("new@upgrade.example", "new-user-password")
                assert b["user"]["role"] == "admin" and b["user"]["tenant_id"] == exp["tenants"][slug]["id"], b
                b = post(s, "/v1/auth/login", dict(login_body(exp, agent), password="agent-new-password"))
                assert b["user"]["id"] == agent["id"], b
                get(s, "/v1/auth/me", agent["access_token"], want=401)   # issued before the reset
                st, b, _ = s.request("POST", "/v1/auth/login", login_body(exp, agent))
                assert st == 401, (st, b)
                post(s, "/v1/widget/session", {"widget_key": new_key, "name": "First"}, want=201)
                check_logins(s, dict(exp, users=[u for u in exp["users"] if u is not agent], refused_logins=[]))
                check_conversations(f, s, f.conv(False)[:1])


def test_files_download():
    """Releases with files: each downloads, by the agents' and the
    visitor's route, with the SHA-256 it was uploaded with; messages show
    them (checked with the events above); the sweep removed no blob."""
    import hashlib
    for name in RELEASES:
        with Fixture(name) as f:
            if "files" not in f.exp:
                continue
            with f.server() as s:
                assert "removed=0" in s.stderr_text(), s.stderr_text()[-1000:]
                for e in f.exp["files"]:
                    fid, cid = e["file"]["id"], e["conversation_id"]
                    t = f.agent_token(e["tenant"])
                    raw = s.raw(("GET /v1/conversations/%s/files/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                                 "Connection: close\r\n\r\n" % (cid, fid, t)).encode())
                    head, body = raw.split(b"\r\n\r\n", 1)
                    assert head.startswith(b"HTTP/1.1 200 ") and hashlib.sha256(body).hexdigest() == e["sha256"], \
                        (name, e, head)
                    v = f.visitor_of(cid)
                    st, _, h = s.request("GET", e["file"]["url"].replace("/v1/conversations/", "/v1/widget/conversations/")
                                         if e["file"]["url"].startswith("/v1/conversations/") else e["file"]["url"],
                                         token=v["token"])
                    assert st == 200 and h["Content-Type"].startswith(e["file"]["type"]), (name, e, st, h)
                # a new upload beside the old blobs
                v = f.visitor_of(f.exp["files"][0]["conversation_id"])
                body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.txt\"\r\n\r\n"
                        b"after the upgrade\r\n--b--\r\n")
                st, b, _ = s.request("POST", "/v1/widget/conversations/%s/files" % f.exp["files"][0]["conversation_id"],
                                     token=v["token"], raw_body=body,
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
                assert st == 201, (st, b)


SEEDED = ["general", "sales", "technical", "billing"]


def test_departments_on_first_open():
    """Every tenant of an older data directory has the four departments
    after the first start of this build, and a second start adds none."""
    for name in RELEASES:
        with Fixture(name) as f:
            seen = {}
            for run_no in range(2):
                with f.server() as s:
                    if run_no == 0:
                        assert any("depts.seed" in l and "tenants=%d" % len(f.exp["tenants"]) in l
                                   for l in s.stderr_text().splitlines()), (name, s.stderr_text())
                    for slug, t in f.exp["tenants"].items():
                        b = get(s, "/v1/departments", f.agent_token(slug))
                        assert [d["slug"] for d in b["data"]] == SEEDED, (name, slug, b)
                        assert [d["is_default"] for d in b["data"]] == [True, False, False, False], b
                        ids = [d["id"] for d in b["data"]]
                        assert seen.setdefault(slug, ids) == ids, (name, slug, "seeded again")
            db = snapshot(os.path.join(f.dir, "db"))
            per_tenant = {}
            for k in db["depts"]:
                per_tenant[k[:8]] = per_tenant.get(k[:8], 0) + 1
            assert sorted(per_tenant.values()) == [4] * len(f.exp["tenants"]), per_tenant


def snapshot(path):
    """{table: {key: value}} of every named database in the LMDB environment at path."""
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=64, subdir=True)
    try:
        out = {}
        with env.begin() as txn:
            names = [k for k, _ in txn.cursor()]
        for name in names:
            db = env.open_db(name, create=False)
            with env.begin(db=db) as txn:
                out[name.decode()] = dict(txn.cursor())
        return out
    finally:
        env.close()


def test_untouched_records_keep_their_bytes():
    """Reading, logging in, resending and appending elsewhere rewrite no
    record of the fixture: only the appended conversation's record and its
    status index entry may change; everything else is added beside."""
    for name in RELEASES:
        untouched_records_keep_their_bytes(Fixture(name))


def untouched_records_keep_their_bytes(f):
    with f:
        db = os.path.join(f.dir, "db")
        before = snapshot(db)
        assert set(before) >= {"meta", "tenants", "users", "visitors", "convs", "events", "inbox", "refresh"}, before
        with f.server() as s:
            check_logins(s, f.exp)
            check_stored_tokens(s, f.exp)
            check_conversations(f, s)
            check_lists_and_inbox(f, s)
            cid, _ = append_and_dedupe(f, s)
            assert s.stop() == 0, s.stderr_text()
        after = snapshot(db)
        modified = int(cid).to_bytes(8, "big")
        changed = []
        for table, records in before.items():
            for k, v in records.items():
                if table in ("convs", "conv_status") and k.endswith(modified):
                    continue
                if after.get(table, {}).get(k) != v:
                    changed.append((table, k.hex(), v.hex(), (after.get(table, {}).get(k) or b"").hex()))
        assert not changed, "fixture records rewritten or removed (table, key, before, after): %r" % changed[:10]
        # added beside: each tenant's four departments
        assert len(after["depts"]) == 4 * len(f.exp["tenants"]), after.get("depts")
        assert after["convs"][next(k for k in before["convs"] if k.endswith(modified))] != \
            next(v for k, v in before["convs"].items() if k.endswith(modified))


if __name__ == "__main__":
    main([test_users_log_in_and_stored_tokens_work, test_every_conversation_event_list_and_inbox_entry_reads_back,
          test_append_and_dedupe_on_old_conversations, test_cli_on_old_data, test_files_download,
          test_departments_on_first_open, test_untouched_records_keep_their_bytes])
