"""Streamed responses (net/http.h, http_respond_stream): transcripts and
analytics CSV exports sent with Transfer-Encoding: chunked, piece by piece
as the client takes them.

Against the real parleyd with real clients (curl, http.client, raw
sockets): a transcript whose JSON is well above the old 4 MiB cap comes
whole, exactly (every message, in order, escaped in HTML) in every format
and to every client; a CSV export has its header row and RFC 4180 quoting
and matches the JSON figures byte for byte; a slow reader with a small
receive buffer gets the whole body while the server's anonymous memory
stays far below the body's size; a client that leaves mid-body ends the
stream (counted in /metrics, logged) and others are still served; a
request sent a byte per write, keep-alive and pipelined requests behind a
streamed response (answered after it, in order); HEAD gets the head only;
HTTP/1.0 gets a close-delimited body. The suite also runs behind the
byte-splitting proxy (integration/split/test_streaming).
"""
import csv
import http.client
import io
import json
import os
import socket
import subprocess
import tempfile
import time

from harness import SPLIT, Server, err, main, ok, wait_until

N = 300
# '"' and '\' are escaped in JSON (two bytes each): the JSON transcript is
# about 300 x 16 KB, well above 4 MiB; '"' becomes &quot; in HTML.
FILL = '"\\' * 3990
HTML_ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def msg_text(i):
    return "m%04d <b>&'%s" % (i, FILL)


def html_escape(t):
    return "".join(HTML_ESC.get(ch, ch) for ch in t)


def rss_anon(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


class Reader:
    """HTTP/1.x responses read from a raw socket, chunked coding decoded by
    hand (so the framing itself is checked)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self, n=65536):
        d = self.sock.recv(n)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def until(self, sep):
        while sep not in self.buf:
            self.fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self):
        lines = self.until(b"\r\n\r\n").decode().split("\r\n")
        status = int(lines[0].split()[1])
        h = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            assert k.lower() not in h, ("a header twice", k)
            h[k.lower()] = v.strip()
        return lines[0], status, h

    def chunked(self):
        body = b""
        self.chunks = 0
        while True:
            line = self.until(b"\r\n")
            assert line and all(c in b"0123456789abcdef" for c in line), line   # no extensions, lower hex
            n = int(line, 16)
            if n == 0:
                assert self.exact(2) == b"\r\n", "trailers after the last chunk"
                return body
            body += self.exact(n)
            self.chunks += 1
            assert self.exact(2) == b"\r\n", "a chunk not followed by CRLF"

    def response(self, head_only=False):
        line, status, h = self.head()
        if head_only:
            return line, status, h, b""
        if h.get("transfer-encoding") == "chunked":
            assert "content-length" not in h, h
            return line, status, h, self.chunked()
        if "content-length" in h:
            return line, status, h, self.exact(int(h["content-length"]))
        while True:   # close-delimited
            try:
                self.fill()
            except EOFError:
                out, self.buf = self.buf, b""
                return line, status, h, out


def get_request(path, token, version="1.1", method="GET", extra=""):
    return ("%s %s HTTP/%s\r\nHost: t\r\nAuthorization: Bearer %s\r\n%s\r\n"
            % (method, path, version, token, extra)).encode()


def connect(s, rcvbuf=None, timeout=30):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", s.port))
    return sock


def hc_get(s, path, token, timeout=30):
    """(status, headers, body bytes) through http.client."""
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=timeout)
    c.request("GET", path, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, body


def curl_get(s, path, token, http10=False):
    """(headers text, body bytes) through curl."""
    with tempfile.TemporaryDirectory() as d:
        hf, bf = os.path.join(d, "h"), os.path.join(d, "b")
        args = ["curl", "-sS", "--fail", "--max-time", "60", "-D", hf, "-o", bf, "-H",
                "Authorization: Bearer " + token]
        if http10:
            args.append("--http1.0")
        subprocess.run(args + ["http://127.0.0.1:%d%s" % (s.port, path)], check=True, timeout=90)
        with open(hf) as f, open(bf, "rb") as g:
            return f.read(), g.read()


class Ctx:
    pass


def setup(s):
    """A conversation of N long messages, and an agent with a name that
    needs quoting in CSV."""
    x = Ctx()
    x.tok = s.login()["access_token"]
    v = s.visitor("Eve")
    x.vtok = v["visitor_token"]
    c = s.new_conversation(x.vtok, text="first")
    x.cid = c["id"]
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    path = "/v1/conversations/%s/messages" % x.cid
    t0 = time.monotonic()
    for i in range(N):
        conn.request("POST", path, body=json.dumps({"text": msg_text(i), "client_id": "s%d" % i}),
                     headers={"Authorization": "Bearer " + x.tok, "Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 201, (r.status, r.read())
        r.read()
    conn.close()
    print("wrote %d messages in %.1fs" % (N, time.monotonic() - t0), flush=True)
    x.agent = s.new_user("demo", "ann@demo.parley", "ann-password-1", name='Ann, "The" Agent\nSecond line')
    atok = s.login("ann@demo.parley", "ann-password-1")["access_token"]
    ok(*s.request("POST", path, {"text": "from Ann", "client_id": "ann1"}, token=atok)[:2], 201)
    x.a = "/v1/conversations/%s/transcript" % x.cid
    x.w = "/v1/widget/conversations/%s/transcript" % x.cid
    st, h, body = hc_get(s, x.a, x.tok)
    assert st == 200, (st, body[:200])
    x.json = body
    return x


def check_json(body, x, after=0):
    assert len(body) > (4 << 20) or after, len(body)
    j = json.loads(body)
    assert j["truncated"] is False and j["next_after_seq"] is None, (j["truncated"], j["next_after_seq"])
    msgs = [e for e in j["events"] if e["kind"] == "message"]
    texts = [e["text"] for e in msgs]
    want = ["first"] + [msg_text(i) for i in range(N)] + ["from Ann"]
    if after:
        want = want[len(want) - len(texts):]
        assert all(e["seq"] > after for e in j["events"]), after
    assert texts == want, (len(texts), len(want))
    seqs = [e["seq"] for e in j["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "events out of order"
    return j


def test_transcript_curl_and_http_client(s, x):
    # curl: chunked, decoded body exact
    hdrs, body = curl_get(s, x.a, x.tok)
    assert "transfer-encoding: chunked" in hdrs.lower(), hdrs
    assert "content-length" not in hdrs.lower(), hdrs
    assert 'filename="conversation-%s.json"' % x.cid in hdrs, hdrs
    j = check_json(body, x)
    assert body == x.json, "curl and http.client disagree"
    # the visitor's version, through http.client
    st, h, vb = hc_get(s, x.w, x.vtok)
    assert st == 200 and h["transfer-encoding"] == "chunked", h
    assert json.loads(vb)["version"] == "visitor"
    check_json(vb, x)
    # HTML: every message escaped, in order, the page complete
    st, h, hb = hc_get(s, x.a + "?format=html", x.tok)
    assert st == 200 and h["content-type"] == "text/html; charset=utf-8", h
    html = hb.decode()
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</div></body></html>\n"), html[-200:]
    assert "<b>&" not in html and "The transcript stops here" not in html
    pos = -1
    for i in range(N):
        p = html.find('<div class="text">' + html_escape(msg_text(i)) + "</div>", pos + 1)
        assert p > pos, ("message missing or out of order", i)
        pos = p
    assert html.count('<div class="ev ') == len(j["events"]), html.count('<div class="ev ')
    _, curl_html = curl_get(s, x.a + "?format=html", x.tok)
    assert curl_html == hb
    # plain text
    st, h, tb = hc_get(s, x.a + "?format=text", x.tok)
    text = tb.decode()
    assert st == 200 and h["content-type"].startswith("text/plain"), h
    pos = -1
    for i in range(N):
        p = text.find(": " + msg_text(i) + "\n", pos + 1)
        assert p > pos, ("message missing or out of order", i)
        pos = p
    # ?after_seq= still works: the events after it, and nothing else
    mid = j["events"][len(j["events"]) // 2]["seq"]
    st, h, ab = hc_get(s, x.a + "?after_seq=%d" % mid, x.tok)
    assert st == 200
    ja = check_json(ab, x, after=mid)
    assert ja["events"] == [e for e in j["events"] if e["seq"] > mid]
    # bad input still answers with a status (before any of the body)
    err(*s.request("GET", x.a + "?format=pdf", token=x.tok)[:2], 400, "invalid_field", "format")
    err(*s.request("GET", x.a + "?after_seq=x", token=x.tok)[:2], 400, "invalid_field", "after_seq")


def csv_field(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "%.2f" % v
    if any(ch in v for ch in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


AGENT_COLS = ["id", "name", "conversations", "handled", "resolved", "messages_sent", "first_response_avg_s",
              "resolution_avg_s", "rating_avg", "ratings", "wait_avg_s", "missed", "online_s"]


def test_csv_export(s, x):
    to = (int(time.time()) // 3600 + 2) * 3600
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    rng = "from=%s&to=%s" % (iso(to - 30 * 86400), iso(to))
    rows = ok(*s.request("GET", "/v1/analytics/agents?" + rng, token=x.tok)[:2])["data"]
    assert any(r["id"] == x.agent for r in rows), rows
    want = ",".join(AGENT_COLS) + "\r\n" + "".join(
        ",".join(csv_field(r.get(c)) for c in AGENT_COLS) + "\r\n" for r in rows)
    assert '"Ann, ""The"" Agent\nSecond line"' in want
    path = "/v1/analytics/agents?format=csv&" + rng
    hdrs, body = curl_get(s, path, x.tok)
    assert "transfer-encoding: chunked" in hdrs.lower() and "text/csv" in hdrs, hdrs
    assert 'filename="agents.csv"' in hdrs, hdrs
    assert body.decode() == want, (body, want)
    st, h, body2 = hc_get(s, path, x.tok)
    assert st == 200 and h["transfer-encoding"] == "chunked" and body2 == body, h
    parsed = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert parsed[0] == AGENT_COLS
    assert {r[0]: r[1] for r in parsed[1:]}[x.agent] == 'Ann, "The" Agent\nSecond line'
    # a longer export, several pieces (4 KiB each): 30 days by hour
    cols = ["start", "conversations", "resolved", "messages", "first_responses", "first_response_avg_s", "missed"]
    jv = ok(*s.request("GET", "/v1/analytics/volume?interval=hour&" + rng, token=x.tok)[:2])["data"]
    want = ",".join(cols) + "\r\n" + "".join(",".join(csv_field(r.get(c)) for c in cols) + "\r\n" for r in jv)
    assert len(want) > 8192, len(want)
    sock = connect(s)
    sock.sendall(get_request("/v1/analytics/volume?format=csv&interval=hour&" + rng, x.tok))
    rd = Reader(sock)
    _, st, h, vb = rd.response()
    sock.close()
    assert st == 200 and h["transfer-encoding"] == "chunked", h
    assert rd.chunks >= 3, rd.chunks
    assert vb.decode() == want, (vb[:200], want[:200])
    # a bad parameter is still a status, not a stream
    err(*s.request("GET", "/v1/analytics/agents?format=xml", token=x.tok)[:2], 400, "invalid_field", "format")


def test_slow_reader_bounded_memory(s, x):
    """A reader with a 4 KiB receive buffer that takes a few bytes at a time:
    the server produces only as it reads, so its anonymous memory stays far
    below the body (about 8 MB of HTML), and the body still arrives whole."""
    _, _, want = hc_get(s, x.a + "?format=html", x.tok)
    assert len(want) > 8_000_000, len(want)
    pid = s.proc.pid
    base = rss_anon(pid)
    started = s.metric("parley_http_streams_total")
    sock = connect(s, rcvbuf=4096)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(get_request(x.a + "?format=html", x.tok))
    rd = Reader(sock)
    peak = 0
    for _ in range(40):   # about 2 s of a few bytes at a time
        rd.fill(64)
        time.sleep(0.05)
        peak = max(peak, rss_anon(pid) - base)
    peak = max(peak, rss_anon(pid) - base)
    # (a sanitizer build's allocator keeps freed memory in quarantine: the
    # bound is checked in the plain build, the rest of the test in both)
    if os.environ.get("PARLEY_SANITIZED", "0") != "1":
        assert peak < 3 << 20, "server memory grew by %d bytes for a slow reader" % peak
    # the producer waits for the reader (the body is not all produced)
    wait_until(lambda: s.metric("parley_http_streams_active") == 1, what="the stream is open")
    assert s.metric("parley_http_streams_total") == started + 1
    # the rest at full speed: the whole body, exactly
    line, st, h, body = rd.response()
    assert st == 200 and h["transfer-encoding"] == "chunked", (line, h)
    assert body == want, (len(body), len(want))
    wait_until(lambda: s.metric("parley_http_streams_active") == 0, what="the stream ended")
    print("slow reader: server RssAnon grew by at most %d KiB for an %d KiB body" % (peak >> 10, len(want) >> 10))


def test_client_gone_mid_stream(s, x):
    aborted = s.metric("parley_http_streams_aborted_total")
    sock = connect(s, rcvbuf=4096)
    sock.sendall(get_request(x.a + "?format=html", x.tok))
    rd = Reader(sock)
    _, st, h = rd.head()
    assert st == 200 and h["transfer-encoding"] == "chunked", h
    while len(rd.buf) < 1000:
        rd.fill(1000)
    sock.close()   # unread bytes: a reset
    wait_until(lambda: s.metric("parley_http_streams_aborted_total") == aborted + 1,
               what="the stream counted as aborted")
    wait_until(lambda: s.metric("parley_http_streams_active") == 0, what="the producer stopped")
    wait_until(lambda: "http.stream_aborted" in s.stderr_text(), what="the log line")
    # others are still served, streamed or not
    st, h, body = hc_get(s, x.a, x.tok)
    assert st == 200 and body == x.json
    ok(*s.request("GET", "/healthz")[:2])


def test_pipelined_and_keep_alive(s, x):
    """Three requests in one write behind a streamed one: answered after it,
    in order, on the same connection; then another request on it."""
    sock = connect(s)
    csv_path = "/v1/analytics/agents?format=csv"
    sock.sendall(get_request(x.a, x.tok) + get_request("/healthz", x.tok) +
                 get_request(x.a + "?format=text", x.tok, method="HEAD") + get_request(csv_path, x.tok))
    rd = Reader(sock)
    line, st, h, body = rd.response()
    assert st == 200 and h["transfer-encoding"] == "chunked" and "connection" not in h, h
    assert body == x.json, len(body)
    line, st, h, body = rd.response()
    assert st == 200 and json.loads(body), (line, body)
    line, st, h, body = rd.response(head_only=True)   # HEAD: the head only
    assert st == 200 and h["transfer-encoding"] == "chunked" and h["content-type"].startswith("text/plain"), h
    line, st, h, body = rd.response()
    assert st == 200 and body.startswith(b"id,name,"), (line, body[:80])
    assert rd.buf == b"", "bytes after the last response: %r" % rd.buf[:80]
    # keep-alive: the same connection answers again
    sock.sendall(get_request(x.w, x.vtok))
    line, st, h, body = rd.response()
    assert st == 200 and json.loads(body)["version"] == "visitor"
    sock.close()


def test_one_byte_per_write(s, x):
    sock = connect(s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in get_request(x.a, x.tok):
        sock.send(bytes([b]))
    rd = Reader(sock)
    _, st, h, body = rd.response()
    assert st == 200 and h["transfer-encoding"] == "chunked" and body == x.json
    for b in get_request("/healthz", x.tok):   # and again on the same connection
        sock.send(bytes([b]))
    _, st, h, body = rd.response()
    assert st == 200, st
    sock.close()


def test_half_close_after_request(s, x):
    """A client that half-closes after its request still gets the whole
    streamed body, then the server closes."""
    sock = connect(s)
    sock.sendall(get_request(x.a, x.tok))
    sock.shutdown(socket.SHUT_WR)
    rd = Reader(sock)
    _, st, h, body = rd.response()
    assert st == 200 and body == x.json, (st, len(body))
    try:
        rd.fill()
        assert False, "bytes after the response: %r" % rd.buf[:80]
    except EOFError:
        pass
    sock.close()


def test_http10_close_delimited(s, x):
    """HTTP/1.0 has no chunked coding: the body ends with the connection."""
    sock = connect(s)
    sock.sendall(get_request(x.a, x.tok, version="1.0", extra="Connection: keep-alive\r\n"))
    rd = Reader(sock)
    line, st, h, body = rd.response()
    assert st == 200 and "transfer-encoding" not in h and "content-length" not in h, h
    assert h.get("connection") == "close", h
    assert body == x.json, len(body)
    sock.close()
    hdrs, cb = curl_get(s, x.a, x.tok, http10=True)
    assert cb == x.json and "transfer-encoding" not in hdrs.lower()


def test_stop_while_streaming(s, x):
    """Stopping the server with a stream under way (a reader that does not
    read) ends it and the server exits cleanly."""
    sock = connect(s, rcvbuf=4096)
    sock.sendall(get_request(x.a + "?format=html", x.tok))
    rd = Reader(sock)
    _, st, _ = rd.head()
    assert st == 200
    wait_until(lambda: s.metric("parley_http_streams_active") == 1, what="the stream is open")
    rc = s.stop()
    assert rc == 0, (rc, s.stderr_text())
    sock.close()


def run():
    with Server() as s:
        x = setup(s)
        tests = [test_transcript_curl_and_http_client, test_csv_export, test_slow_reader_bounded_memory,
                 test_client_gone_mid_stream, test_pipelined_and_keep_alive, test_one_byte_per_write,
                 test_half_close_after_request, test_http10_close_delimited, test_stop_while_streaming]
        if SPLIT:
            # behind the proxy the server writes to the proxy, not the slow reader
            tests.remove(test_slow_reader_bounded_memory)
            tests.remove(test_client_gone_mid_stream)
        wrapped = []
        for t in tests:
            def w(t=t):
                t(s, x)
            w.__name__ = t.__name__
            wrapped.append(w)
        main(wrapped)


if __name__ == "__main__":
    run()
