"""Transcripts (docs/openapi.yaml, tag transcripts): a conversation as JSON,
plain text and HTML, for agents (private notes included) and for the
visitor (their own conversation, no notes); every value a person typed
escaped in the HTML (markup, quotes, ampersands, a closing style tag), the
page self-contained (inline CSS, no script, a CSP), served as an
attachment; streamed whole however long (no cap; ?after_seq= gives the
events after a point; more in test_streaming.py); emailed to the visitor on request
(rate-limited per conversation) and on close when the tenant asks for it,
through the outbox, against a real SMTP server (aiosmtpd).
"""
import json
import re

from harness import Server, err, main, ok
from smtpsink import Sink
from test_files import PNG, form

ALLOW = ("--outbound-allow", "127.0.0.1/32", "--smtp-timeout-ms", "2000")
HOSTILE = "<script>alert(1)</script> \"quoted\" 'single' & </style><b>bold</b>"
PW = "a-good-password-1"


def hostile_conversation(s, tok, email=None):
    """A visitor and a conversation with markup everywhere: name, message,
    an agent's reply and a private note. (visitor token, conversation)."""
    body = {"widget_key": s.widget_key, "name": "Eve " + HOSTILE}
    if email:
        body["email"] = email
    v = ok(*s.request("POST", "/v1/widget/session", body)[:2], 201)
    c = s.new_conversation(v["visitor_token"], text="Hi " + HOSTILE)
    path = "/v1/conversations/%s/messages" % c["id"]
    ok(*s.request("POST", path, {"text": "Reply " + HOSTILE, "client_id": "r1"}, token=tok)[:2], 201)
    ok(*s.request("POST", path, {"text": "Note " + HOSTILE, "client_id": "n1", "private": True},
                  token=tok)[:2], 201)
    return v["visitor_token"], c


def assert_escaped_html(body):
    assert body.startswith("<!DOCTYPE html>"), body[:80]
    assert "<script" not in body.lower(), "a script in the page"
    assert body.count("</style>") == 1, "a user-provided </style> was not escaped"
    assert "<b>bold" not in body, "markup passed through"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39; &amp; &lt;/style&gt;" in body
    assert not re.search(r"<(link|img|iframe|object)\b", body, re.I), "the page loads something"


def test_formats_and_versions():
    with Server() as s:
        tok = s.login()["access_token"]
        # markup in the workspace's name, the agent's name and a file's name too
        ok(*s.request("PATCH", "/v1/tenant", {"name": "Shop " + HOSTILE}, token=tok)[:2])
        ok(*s.request("PATCH", "/v1/auth/me", {"name": "Agent " + HOSTILE}, token=tok)[:2])
        vtok, c = hostile_conversation(s, tok)
        cid = c["id"]
        ok(*s.request("POST", "/v1/conversations/%s/assign" % cid, token=tok)[:2])
        body, h = form("pic <img src=x onerror=alert(3)> & 'q'.png", PNG)
        f = ok(*s.request("POST", "/v1/widget/conversations/%s/files" % cid, token=vtok, raw_body=body,
                          headers=h)[:2], 201)
        ok(*s.request("POST", "/v1/widget/conversations/%s/messages" % cid,
                      {"client_id": "f1", "text": "", "files": [f["id"]]}, token=vtok)[:2], 201)
        a = "/v1/conversations/%s/transcript" % cid
        w = "/v1/widget/conversations/%s/transcript" % cid
        # JSON (the default): the agents' version holds the note, the visitor's not
        st, j, h = s.request("GET", a, token=tok)
        assert st == 200 and h["Content-Type"].startswith("application/json"), (st, h)
        assert h["Content-Disposition"] == 'attachment; filename="conversation-%s.json"' % cid, h
        assert j["conversation"]["id"] == cid and j["version"] == "agents" and j["truncated"] is False, j
        kinds = [e["kind"] for e in j["events"]]
        assert "note" in kinds and kinds.count("message") == 3 and "assigned" in kinds, kinds
        assert any(e.get("text") == "Note " + HOSTILE for e in j["events"]), j["events"]
        st, jv, _ = s.request("GET", w + "?format=json", token=vtok)
        assert st == 200 and jv["version"] == "visitor", jv
        assert "note" not in [e["kind"] for e in jv["events"]], jv["events"]
        assert not any("Note " in (e.get("text") or "") for e in jv["events"]), jv
        # text
        st, t, h = s.request("GET", a + "?format=text", token=tok)
        assert st == 200 and h["Content-Type"].startswith("text/plain"), h
        assert h["Content-Disposition"].endswith('.txt"'), h
        assert "Reply " + HOSTILE in t and "(private note): Note " in t, t
        st, tv, _ = s.request("GET", w + "?format=text", token=vtok)
        assert st == 200 and "Reply " + HOSTILE in tv and "Note " not in tv and "private note" not in tv, tv
        # HTML: self-contained, escaped, attachment, no scripts allowed by its CSP
        for path, token, note in ((a, tok, True), (w, vtok, False)):
            st, html, h = s.request("GET", path + "?format=html", token=token)
            assert st == 200 and h["Content-Type"] == "text/html; charset=utf-8", h
            assert h["Content-Disposition"].startswith("attachment;") and h["Content-Disposition"].endswith('.html"')
            assert "default-src 'none'" in h["Content-Security-Policy"], h
            assert h["X-Content-Type-Options"] == "nosniff", h
            assert_escaped_html(html)
            assert ("Note &lt;script&gt;" in html) == note, html
            assert "Shop &lt;script&gt;" in html and "Agent &lt;script&gt;" in html, html
            assert "pic &lt;img src=x onerror=alert(3)&gt; &amp; &#39;q&#39;.png" in html, html
        # bad input
        err(*s.request("GET", a + "?format=pdf", token=tok)[:2], 400, "invalid_field", "format")
        err(*s.request("GET", w + "?format=", token=vtok)[:2], 400, "invalid_field", "format")
        err(*s.request("GET", a + "?after_seq=-1", token=tok)[:2], 400, "invalid_field", "after_seq")
        err(*s.request("GET", "/v1/conversations/123456789/transcript", token=tok)[:2], 404, "not_found")
        err(*s.request("GET", "/v1/conversations/nope/transcript", token=tok)[:2], 404, "not_found")
        err(*s.request("GET", a)[:2], 401, "unauthenticated")
        err(*s.request("GET", a, token=vtok)[:2], 401, "unauthenticated")
        # another visitor's conversation, and another tenant's agent
        other = s.visitor("Mallory")["visitor_token"]
        err(*s.request("GET", w, token=other)[:2], 404, "not_found")
        s.new_tenant("acme")
        s.new_user("acme", "boss@acme.example", PW, role="owner")
        atok = s.login("boss@acme.example", PW)["access_token"]
        err(*s.request("GET", a, token=atok)[:2], 404, "not_found")


def test_long_conversation_streamed():
    """A conversation longer than the old 4 MiB cap comes whole, streamed
    (chunked); ?after_seq= still gives the events after a point."""
    with Server() as s:
        tok = s.login()["access_token"]
        vtok = s.visitor()["visitor_token"]
        c = s.new_conversation(vtok, text="start")
        big = "<" * 8000   # 32,000 bytes once escaped
        for i in range(140):
            ok(*s.request("POST", "/v1/widget/conversations/%s/messages" % c["id"],
                          {"text": big, "client_id": "b%d" % i}, token=vtok)[:2], 201)
        a = "/v1/conversations/%s/transcript" % c["id"]
        st, html, h = s.request("GET", a + "?format=html", token=tok, timeout=30)
        assert st == 200 and h.get("Transfer-Encoding") == "chunked", h
        assert len(html.encode()) > 4 << 20, len(html)
        assert "The transcript stops here" not in html and html.rstrip().endswith("</html>"), html[-300:]
        assert html.count('<div class="ev ') == 142   # created + 141 messages
        st, j, _ = s.request("GET", a, token=tok, timeout=30)
        assert st == 200 and j["truncated"] is False and len(j["events"]) == 142, j["truncated"]
        rest = j["events"][100]["seq"]
        st, html2, _ = s.request("GET", a + "?format=html&after_seq=%d" % rest, token=tok, timeout=30)
        assert st == 200 and html2.count('<div class="ev ') == 41, html2[-300:]


def configure(s, tok, port):
    body = {"host": "127.0.0.1", "port": port, "security": "none", "username": "", "password": "",
            "from": "support@acme.example", "notify_address": ""}
    ok(*s.request("PATCH", "/v1/email/settings", body, token=tok)[:2])


def test_email_on_request():
    with Sink() as sink, Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        # no SMTP settings yet: said so, and the limit is not used up
        vtok, c = hostile_conversation(s, tok, email="eve@example.com")
        path = "/v1/widget/conversations/%s/transcript/email" % c["id"]
        err(*s.request("POST", path, token=vtok)[:2], 409, "email_not_configured")
        configure(s, tok, sink.port)
        b = ok(*s.request("POST", path, token=vtok)[:2], 202)
        assert b == {"sent_to": "eve@example.com"}, b
        m = sink.wait(1)[0]
        assert m.rcpt_tos == ["eve@example.com"], m.rcpt_tos
        html, text = m.html(), m.text()
        assert "Reply " + HOSTILE in text and "Note " not in text, text
        assert "<script" not in html.lower() and "<b>bold" not in html, html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "Note &lt;" not in html, html
        # once per conversation per five minutes
        e = err(*s.request("POST", path, token=vtok)[:2], 429, "rate_limited")
        st, _, h = s.request("POST", path, token=vtok)
        assert st == 429 and 0 < int(h["Retry-After"]) <= 300, h
        # a visitor without an email address
        v2 = s.visitor("No Mail")["visitor_token"]
        c2 = s.new_conversation(v2)
        err(*s.request("POST", "/v1/widget/conversations/%s/transcript/email" % c2["id"], token=v2)[:2],
            400, "no_email")
        # someone else's conversation; agents do not use this route
        err(*s.request("POST", path, token=v2)[:2], 404, "not_found")
        err(*s.request("POST", path, token=tok)[:2], 401, "unauthenticated")
        assert e["message"]


def test_email_on_close():
    with Sink() as sink, Server(*ALLOW) as s:
        tok = s.login()["access_token"]
        configure(s, tok, sink.port)
        ok(*s.request("PATCH", "/v1/tenant", {"transcript_on_close": True}, token=tok)[:2])
        vtok, c = hostile_conversation(s, tok, email="eve@example.com")
        # resolving sends nothing; closing does
        ok(*s.request("PATCH", "/v1/conversations/%s" % c["id"], {"status": "resolved"}, token=tok)[:2])
        ok(*s.request("PATCH", "/v1/conversations/%s" % c["id"], {"status": "closed"}, token=tok)[:2])
        m = sink.wait(1)[0]
        assert m.rcpt_tos == ["eve@example.com"], m.rcpt_tos
        assert "Reply " + HOSTILE in m.text() and "Note " not in m.text(), m.text()
        assert "closed" in m.text(), m.text()
        # a visitor without an email gets nothing; a tenant that turned it off neither
        # (entries are written in the closing transaction: counted once the PATCH answers)
        before = s.metric("parley_outbox_enqueued_total")
        v2 = s.visitor("No Mail")["visitor_token"]
        c2 = s.new_conversation(v2)
        ok(*s.request("PATCH", "/v1/conversations/%s" % c2["id"], {"status": "closed"}, token=tok)[:2])
        ok(*s.request("PATCH", "/v1/tenant", {"transcript_on_close": False}, token=tok)[:2])
        v3, c3 = hostile_conversation(s, tok, email="eve3@example.com")
        ok(*s.request("PATCH", "/v1/conversations/%s" % c3["id"], {"status": "closed"}, token=tok)[:2])
        assert s.metric("parley_outbox_enqueued_total") == before
        assert len(sink.messages) == 1, sink.messages


if __name__ == "__main__":
    main([test_formats_and_versions, test_long_conversation_streamed, test_email_on_request, test_email_on_close])
