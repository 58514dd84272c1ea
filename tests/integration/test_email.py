"""Email: the tenant's SMTP settings and the test send, against real SMTP
servers on loopback (tests/integration/smtpsink.py: Debian's
python3-aiosmtpd, and raw sockets for servers that misbehave).

- settings: defaults, a change, partial changes keep the rest, the
  password never comes back and is stored sealed (not in the LMDB value),
  every bad input refused naming its field;
- a test send arrives: envelope, login with the password as typed (so it
  was sealed and opened again, across a restart), RFC 5322 headers (From
  with the workspace's name, To, Subject, Date, Message-ID), both MIME
  parts, hostile names (markup, quotes, CR/LF, non-ASCII) escaped in the
  HTML, kept out of the headers' structure;
- failures answer 502 with what happened, in bounded time: a server that
  refuses (550), refuses the login (535), closes the connection, stalls
  (--smtp-timeout-ms), offers no STARTTLS when it is required;
- the SSRF guard: without --outbound-allow a loopback SMTP host is refused
  before a connection is made;
- the key file: created 0600 beside the data; a key readable by others
  stops the start; another key cannot open the stored password;
- the emails Parley sends through the outbox: the new-conversation
  notification (headers, both parts, a hostile visitor name escaped), the
  invitation with a set-password link that works, a notification written
  while the SMTP server is down and delivered after a kill -9 and a
  restart once it is up, and nothing written for a tenant without SMTP.
"""
import os
import re
import stat
import time

import lmdb
import urllib.parse

from harness import Server, err, main, ok
from smtpsink import RawServer, Sink, free_port

ALLOW = ("--outbound-allow", "127.0.0.1/32", "--smtp-timeout-ms", "2000")
PASSWORD = "pä ss:wörd \"1\""


def owner(s):
    return s.login()["access_token"]


def configure(s, tok, port, **kw):
    body = dict(host="127.0.0.1", port=port, security="none", username="", password="",
                from_="support@acme.example", notify_address="")
    body.update(kw)
    body["from"] = body.pop("from_")
    st, b, _ = s.request("PATCH", "/v1/email/settings", body, token=tok)
    return ok(st, b)


def test_send(s, tok, to="me@acme.example", timeout=15):
    return s.request("POST", "/v1/email/test", {"to": to} if to else None, token=tok, timeout=timeout)


def test_settings():
    with Server() as s:
        tok = owner(s)
        st, b, _ = s.request("GET", "/v1/email/settings", token=tok)
        assert ok(st, b) == {"configured": False, "host": "", "port": 587, "security": "starttls", "username": "",
                             "password_set": False, "from": "", "notify_address": "", "updated_at": None}, b
        # a first save with implicit TLS and no port: 465
        b = ok(*s.request("PATCH", "/v1/email/settings", {"host": "smtp.acme.example", "security": "tls",
                                                          "username": "mailer", "password": PASSWORD,
                                                          "from": "support@acme.example"}, token=tok)[:2])
        assert b["port"] == 465 and b["security"] == "tls" and b["configured"] and b["password_set"], b
        assert "password" not in b and PASSWORD not in str(b), b
        # partial changes keep the rest
        b = ok(*s.request("PATCH", "/v1/email/settings", {"notify_address": "team@acme.example", "port": 2465},
                          token=tok)[:2])
        assert (b["host"], b["port"], b["username"], b["password_set"], b["notify_address"]) == \
            ("smtp.acme.example", 2465, "mailer", True, "team@acme.example"), b
        assert ok(*s.request("GET", "/v1/email/settings", token=tok)[:2]) == b
        # IPv6 and IPv4 literals are host names too
        for host in ("2001:db8::25", "192.0.2.7"):
            assert ok(*s.request("PATCH", "/v1/email/settings", {"host": host}, token=tok)[:2])["host"] == host
        # bad input: each refused, naming its field; nothing changes
        bad = [
            ({"host": "smtp example.com"}, "host"), ({"host": "a..b"}, "host"), ({"host": "-a.example"}, "host"),
            ({"host": "smtp.example.com\r\nRCPT TO:<x@y.z>"}, "host"), ({"host": "x" * 254}, "host"),
            ({"host": 5}, "host"), ({"port": 0}, "port"), ({"port": 65536}, "port"), ({"port": "25"}, "port"),
            ({"port": 25.5}, "port"), ({"security": "ssl"}, "security"), ({"security": ""}, "security"),
            ({"from": "not-an-address"}, "from"), ({"from": "a@b.example\r\nBcc: c@d.example"}, "from"),
            ({"from": "Support <s@acme.example>"}, "from"), ({"notify_address": "a b@c.example"}, "notify_address"),
            ({"notify_address": "a@b@c.example"}, "notify_address"), ({"username": "a\nb"}, "username"),
            ({"username": "u" * 255}, "username"), ({"password": "p" * 257}, "password"),
            ({"password": None}, "password"), ({"relay": "x"}, "relay"),
        ]
        for body, field in bad:
            err(*s.request("PATCH", "/v1/email/settings", body, token=tok)[:2], 400, "invalid_field", field)
        assert ok(*s.request("GET", "/v1/email/settings", token=tok)[:2])["host"] == "192.0.2.7"
        st, b, _ = s.request("PATCH", "/v1/email/settings", raw_body=b"{", token=tok,
                             headers={"Content-Type": "application/json"})
        assert st == 400, (st, b)
        # the password is stored sealed: not in the record's bytes
        s.stop()
        env = lmdb.open(os.path.join(s.data_dir, "db"), max_dbs=64, readonly=True, lock=False)
        with env.begin() as txn:
            values = [v for _, v in txn.cursor(env.open_db(b"email", txn=txn))]
        env.close()
        assert len(values) == 1, values
        assert PASSWORD.encode() not in values[0] and b"ss:w" not in values[0], values
        s.start()
        # an empty password clears it
        tok = owner(s)
        b = ok(*s.request("PATCH", "/v1/email/settings", {"password": ""}, token=tok)[:2])
        assert b["password_set"] is False and b["username"] == "mailer", b


def test_delivery_headers_parts_escaping():
    hostile = "<script>alert(1)</script>\r\nBcc: victim@evil.example"
    workspace = "Café <b>Zürich</b> & \"Co\" — ✓"
    with Sink(login=("mailer", PASSWORD)) as sink, Server(*ALLOW) as s:
        tok = owner(s)
        ok(*s.request("PATCH", "/v1/tenant", {"name": workspace}, token=tok)[:2])
        ok(*s.request("PATCH", "/v1/auth/me", {"name": hostile}, token=tok)[:2])
        configure(s, tok, sink.port, username="mailer", password=PASSWORD)
        # the sealed password opens again after a restart (same key file)
        s.restart()
        tok = owner(s)
        st, b, _ = test_send(s, tok)
        assert ok(st, b)["sent"] is True and b["to"] == "me@acme.example", b
        assert b["server"] == "127.0.0.1:%d (no encryption)" % sink.port and b["reply"].startswith("250"), b
        m = sink.wait(1)[0]
        assert m.login == "mailer", m.login
        assert (m.mail_from, m.rcpt_tos) == ("support@acme.example", ["me@acme.example"]), (m.mail_from, m.rcpt_tos)
        msg = m.msg
        # headers: exactly one of each, the workspace's name decoded back whole
        for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"):
            assert len(msg.get_all(h) or []) == 1, (h, msg.get_all(h))
        assert msg["From"].addresses[0].display_name == workspace, msg["From"]
        assert msg["From"].addresses[0].addr_spec == "support@acme.example", msg["From"]
        assert msg["To"].addresses[0].addr_spec == "me@acme.example", msg["To"]
        assert str(msg["Subject"]) == "Test email from " + workspace, msg["Subject"]
        assert re.fullmatch(r"<[0-9a-f]{32}@acme\.example>", msg["Message-ID"]), msg["Message-ID"]
        assert abs(msg["Date"].datetime.timestamp() - time.time()) < 300, msg["Date"]
        assert msg.get("Bcc") is None and msg.get("Auto-Submitted") is None, msg.keys()
        assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"], parts
        for p in msg.iter_parts():
            assert p.get_content_charset() == "utf-8" and p["Content-Transfer-Encoding"] == "quoted-printable", p
        # the wire form: CRLF only, no line over 78, headers ASCII
        raw = m.raw
        assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
        assert max(len(line) for line in raw.split(b"\r\n")) <= 78
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert all(c < 128 for c in head) and b"victim@" not in head and b"<b>" not in head, head
        # the bodies: the hostile name escaped in HTML, its line break gone
        html, text = m.html(), m.text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html, html
        assert "Caf\u00e9 &lt;b&gt;Z\u00fcrich&lt;/b&gt; &amp; &quot;Co&quot;" in html, html
        assert "<script>alert(1)</script>  Bcc: victim@evil.example" in text, text
        assert "Bcc:" not in [line.split(" ")[0] for line in text.splitlines()], text


def expect_failure(s, tok, code, fragment, within):
    t0 = time.monotonic()
    st, b, _ = test_send(s, tok)
    took = time.monotonic() - t0
    e = err(st, b, 502, code)
    assert fragment in e["message"], (fragment, e)
    assert took < within, (took, e)
    return e


def test_failures():
    with Server(*ALLOW) as s:
        tok = owner(s)
        # no settings yet
        err(*test_send(s, tok)[:2], 409, "not_configured")
        err(*s.request("POST", "/v1/email/test", {"to": "not-an-address"}, token=tok)[:2], 400, "invalid_field", "to")
        err(*s.request("POST", "/v1/email/test", {"cc": "a@b.example"}, token=tok)[:2], 400, "invalid_field", "cc")
        # the server refuses the recipient
        with Sink(refuse_rcpt="550 5.1.1 <me@acme.example>: Recipient address rejected") as sink:
            configure(s, tok, sink.port)
            expect_failure(s, tok, "smtp_rejected", "550 5.1.1", 5)
            assert sink.messages == []
        # the server refuses the login
        with Sink(login=("mailer", "right")) as sink:
            configure(s, tok, sink.port, username="mailer", password="wrong")
            expect_failure(s, tok, "smtp_rejected", "535", 5)
            assert sink.messages == []
        # STARTTLS required, not offered: nothing is sent in the clear
        with Sink(login=("mailer", "right")) as sink:
            configure(s, tok, sink.port, security="starttls", username="mailer", password="right")
            expect_failure(s, tok, "smtp_failed", "TLS", 5)
            assert sink.messages == []
        # the connection closes at once; after DATA
        for mode in ("drop", "drop_after_data"):
            with RawServer(mode) as raw:
                configure(s, tok, raw.port)
                expect_failure(s, tok, "smtp_failed", "", 5)
                assert raw.connections == 1, (mode, raw.connections)
        # the server never says a word: --smtp-timeout-ms (2 s) ends it
        with RawServer("stall") as raw:
            configure(s, tok, raw.port)
            expect_failure(s, tok, "smtp_timeout", "in time", 6)
        # nothing listens there
        with RawServer("drop") as raw:
            port = raw.port
        configure(s, tok, port)
        expect_failure(s, tok, "smtp_failed", "", 5)
        # a stalled server holds one sender; the others still work
        with RawServer("stall") as raw, Sink() as sink:
            configure(s, tok, raw.port)
            import threading
            stalled = threading.Thread(target=test_send, args=(s, tok))
            stalled.start()
            time.sleep(0.2)
            # the settings change under the stalled send: the next one goes to the sink
            configure(s, tok, sink.port)
            ok(*test_send(s, tok)[:2])
            stalled.join(10)
            assert len(sink.wait(1)) == 1


def test_egress_guard():
    """Without --outbound-allow, loopback is no place to send mail: refused
    before any connection."""
    with RawServer("drop") as raw, Server() as s:
        tok = owner(s)
        configure(s, tok, raw.port)
        e = expect_failure(s, tok, "smtp_forbidden", "127.0.0.1 (loopback)", 5)
        assert raw.connections == 0, (raw.connections, e)
        # a name that resolves to loopback is judged by its address
        configure(s, tok, raw.port, host="localhost")
        e = expect_failure(s, tok, "smtp_forbidden", "loopback", 5)
        assert raw.connections == 0, (raw.connections, e)


def test_key_file():
    with Sink(login=("mailer", PASSWORD)) as sink, Server(*ALLOW) as s:
        key = s.extra[s.extra.index("--secret-key-file") + 1]
        st_key = os.stat(key)
        assert stat.S_IMODE(st_key.st_mode) == 0o600 and st_key.st_size == 32, oct(st_key.st_mode)
        assert not key.startswith(s.data_dir), key
        tok = owner(s)
        configure(s, tok, sink.port, username="mailer", password=PASSWORD)
        s.stop()
        # readable by others: the server does not start
        os.chmod(key, 0o644)
        try:
            s.start(timeout=5)
            raise AssertionError("parleyd started with a key file of mode 0644")
        except RuntimeError:
            pass
        assert "mode 644" in s.stderr_text(), s.stderr_text()
        s.proc.wait(5)
        s.stop()
        os.chmod(key, 0o600)
        # another key: the server starts, the stored password does not open
        other = key + ".other"
        s.extra[s.extra.index("--secret-key-file") + 1] = other
        s.start()
        tok = owner(s)
        e = err(*test_send(s, tok)[:2], 409, "password_unreadable", "password")
        assert "secret-key-file" in e["message"], e
        # entered again, it works under the new key
        configure(s, tok, sink.port, username="mailer", password=PASSWORD)
        ok(*test_send(s, tok)[:2])
        assert sink.wait(1)[0].login == "mailer"
        os.unlink(other)


def test_options():
    """The email options refuse what they cannot mean, before anything starts."""
    import subprocess
    from harness import PARLEYD
    for args, says in ((["--smtp-timeout-ms", "0"], "smtp-timeout-ms"), (["--smtp-timeout-ms", "600001"], "smtp-timeout-ms"),
                       (["--public-url", "ftp://chat.example"], "public-url")):
        r = subprocess.run([PARLEYD, "--data", "/nonexistent/never-created"] + args, capture_output=True, text=True,
                           timeout=10)
        assert r.returncode != 0 and says in r.stderr, (args, r.returncode, r.stderr)
        assert not os.path.exists("/nonexistent/never-created")
    # a key file in a directory that does not exist: a clear error
    with Server() as s:
        s.stop()
        s.extra[s.extra.index("--secret-key-file") + 1] = "/nonexistent/dir/secret.key"
        try:
            s.start(timeout=5)
            raise AssertionError("parleyd started without its key file")
        except RuntimeError:
            pass
        s.proc.wait(5)
        assert "secret key: /nonexistent/dir/secret.key" in s.stderr_text(), s.stderr_text()
        s.stop()


PUBLIC = ("--public-url", "https://chat.acme.example")


def visitor_conversation(s, name, text, email="visitor@example.org"):
    st, v, _ = s.request("POST", "/v1/widget/session", {"widget_key": s.widget_key, "name": name, "email": email})
    assert st == 201, (st, v)
    return v, s.new_conversation(v["visitor_token"], text=text)


def check_notification(m, cid, name, text):
    assert (m.mail_from, m.rcpt_tos) == ("support@acme.example", ["team@acme.example"]), (m.mail_from, m.rcpt_tos)
    msg = m.msg
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        assert len(msg.get_all(h) or []) == 1, (h, msg.get_all(h))
    assert msg["To"].addresses[0].addr_spec == "team@acme.example", msg["To"]
    assert msg.get("Auto-Submitted") == "auto-generated", msg.keys()
    assert msg.get("Bcc") is None, msg.keys()
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    head = m.raw.split(b"\r\n\r\n", 1)[0]
    assert all(c < 128 for c in head) and b"victim@" not in head, head
    html, plain = m.html(), m.text()
    assert text in plain and "visitor@example.org" in plain, plain
    assert cid in plain and "https://chat.acme.example/" in plain, plain
    assert "<script>" not in html, html
    if "<script>" in name:
        assert "&lt;script&gt;x()&lt;/script&gt;" in html, html
    else:
        assert name in html and name in plain, (html, plain)
    assert "Bcc:" not in [line.split(" ")[0] for line in plain.splitlines()], plain


def test_notification_sent():
    hostile = "<script>x()</script>\r\nBcc: victim@evil.example"
    with Sink() as sink, Server(*ALLOW, *PUBLIC) as s:
        tok = owner(s)
        configure(s, tok, sink.port, notify_address="team@acme.example")
        v, c = visitor_conversation(s, hostile, "Where is my order #42?")
        m = sink.wait(1)[0]
        check_notification(m, c["id"], hostile, "Where is my order #42?")
        # a message in an existing conversation sends nothing more
        st, b, _ = s.request("POST", "/v1/widget/conversations/%s/messages" % c["id"],
                             {"text": "anyone?", "client_id": "m2"}, token=v["visitor_token"])
        assert st in (200, 201), (st, b)
        time.sleep(1.5)
        assert len(sink.messages) == 1, len(sink.messages)


def test_invitation_sent_and_link_works():
    with Sink() as sink, Server(*ALLOW, *PUBLIC) as s:
        tok = owner(s)
        configure(s, tok, sink.port)
        st, b, _ = s.request("POST", "/v1/users", {"email": "new@acme.example", "name": "Nía <New>",
                                                     "role": "agent"}, token=tok)
        assert st == 201, (st, b)
        m = sink.wait(1)[0]
        assert m.rcpt_tos == ["new@acme.example"], m.rcpt_tos
        assert m.msg.get("Auto-Submitted") is None
        links = re.findall(r"https://chat\.acme\.example/agent/set-password\.html#token=[A-Za-z0-9_.-]+", m.text())
        assert links, m.text()
        assert "&lt;New&gt;" in m.html() and "<New>" not in m.html(), m.html()
        token = urllib.parse.unquote(links[0].split("#token=", 1)[1])
        assert token == b["invite_token"], (token, b["invite_token"])
        # invite again: a second email with a new link; the first link is spent
        st, b2, _ = s.request("POST", "/v1/users/%s/invite" % b["user"]["id"], token=tok)
        assert st == 200, (st, b2)
        m2 = sink.wait(2)[1]
        token2 = re.findall(r"#token=([A-Za-z0-9_.-]+)", m2.text())[0]
        assert token2 == b2["invite_token"] and token2 != token
        st, e, _ = s.request("POST", "/v1/auth/set-password", {"token": token, "password": "correct horse 1"})
        assert st == 400, (st, e)
        st, r, _ = s.request("POST", "/v1/auth/set-password", {"token": token2, "password": "correct horse 1"})
        assert st in (200, 201), (st, r)
        s.login("new@acme.example", "correct horse 1")


def test_smtp_down_then_restart():
    port = free_port()
    with Server(*ALLOW, *PUBLIC) as s:
        tok = owner(s)
        configure(s, tok, port, notify_address="team@acme.example")
        v, c = visitor_conversation(s, "Ann", "Kept through a crash")
        time.sleep(2.5)   # at least one refused attempt
        assert "outbox.parked" not in open(s.stderr_path).read()
        s.kill9()
        s.restart()
        with Sink(port=port) as sink:
            msgs = sink.wait(1, timeout=30)
            check_notification(msgs[0], c["id"], "Ann", "Kept through a crash")
            time.sleep(2)
            # at least once: a copy may come twice, never a different one
            assert all(m.raw == msgs[0].raw for m in sink.messages), [m.raw for m in sink.messages]


def test_no_settings_no_entry():
    with Sink() as sink, Server(*ALLOW) as s:
        tok = owner(s)
        visitor_conversation(s, "Bob", "hello")
        st, b, _ = s.request("POST", "/v1/users", {"email": "x@acme.example", "name": "X", "role": "agent"},
                             token=tok)
        assert st == 201, (st, b)
        st, d, _ = s.request("GET", "/v1/webhooks/deliveries", token=tok)
        assert ok(st, d)["outbox"]["pending"] == 0 and d["data"] == [], d
        # configured without a notification address: the invitation only
        configure(s, tok, sink.port)
        visitor_conversation(s, "Cy", "hello again")
        time.sleep(1.5)
        assert sink.messages == [], sink.messages


if __name__ == "__main__":
    main([test_settings, test_delivery_headers_parts_escaping, test_failures, test_egress_guard, test_key_file,
          test_options, test_notification_sent, test_invitation_sent_and_link_works, test_smtp_down_then_restart,
          test_no_settings_no_entry])
