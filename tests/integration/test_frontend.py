"""The hand-written HTTP/1.1 + WebSocket front end, byte by byte.

Everything here goes over raw sockets so that the test decides exactly how
the bytes are cut into TCP segments: WebSocket frames split inside their
header or payload, trickled a byte at a time, large messages in many
segments; protocol errors that must be answered with a close frame
carrying the right code; the frame, header and body deadlines; request
targets, Host validation and Expect: 100-continue.

Tests that need a server option that does not exist fail with a message
saying so (each test starts its own server); the others still run.

PARLEY_FRONTEND_SEED repeats the random cuts of a run (the seed is printed).
"""
import base64
import contextlib
import hashlib
import json
import os
import random
import select
import socket
import struct
import subprocess
import tempfile
import time

from harness import DEMO_EMAIL, DEMO_PASSWORD, Server, main, ws_frame

PAUSE = 0.02   # between the pieces of a cut write: each piece is its own segment, its own read
SEED = int(os.environ.get("PARLEY_FRONTEND_SEED") or random.SystemRandom().randrange(1 << 32))


# ---------------------------------------------------------------- servers

@contextlib.contextmanager
def server(*extra):
    """A Server with extra flags; a server that will not start with them
    (an option it does not know yet) fails the test with a clear message."""
    try:
        s = Server(*extra)
    except RuntimeError as e:
        # the harness's message ends with parleyd's stderr: its first line says why
        err = str(e).partition(" / ")[2].strip().splitlines()
        raise AssertionError("parleyd does not start with %s (option not implemented?): %s"
                             % (" ".join(extra), err[0] if err else e)) from None
    try:
        yield s
    finally:
        s.close()


def healthy(s):
    """A fresh client on the same server is served."""
    st, body, _ = s.request("GET", "/healthz", timeout=5)
    assert st == 200 and body == {"status": "ok"}, (st, body)


# ---------------------------------------------------------------- raw bytes

def send_cut(sock, data, cuts, pause=PAUSE):
    """Writes data in pieces cut at the given offsets, pausing between them
    so that each piece reaches the server as its own segment and read."""
    start = 0
    for i, end in enumerate(sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]):
        if i:
            time.sleep(pause)
        sock.sendall(data[start:end])
        start = end


def random_cuts(rng, n, pieces):
    """pieces-1 distinct cut offsets in 1..n-1."""
    return sorted(rng.sample(range(1, n), min(pieces - 1, n - 1)))


def connect(s, timeout=5):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Reader:
    """Buffered, bounded reads from a socket."""

    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = buf
        self.eof = False

    def fill(self, n, deadline):
        """True once n bytes are buffered; False at EOF; TimeoutError at the deadline."""
        while len(self.buf) < n:
            if self.eof:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("nothing more from the server within the time limit (have %r)"
                                   % self.buf[:200])
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def until(self, marker, deadline):
        """Bytes up to and including marker; None at EOF first."""
        while marker not in self.buf:
            if not self.fill(len(self.buf) + 1, deadline):
                return None
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def take(self, n, deadline):
        if not self.fill(n, deadline):
            return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def wait_eof(self, timeout):
        """True if the server closes within timeout (discarding what comes first)."""
        deadline = time.monotonic() + timeout
        try:
            while self.fill(len(self.buf) + 1, deadline):
                pass
        except TimeoutError:
            return False
        return True


# ---------------------------------------------------------------- HTTP

def parse_head(head):
    """(status, {lower-case name: value}) of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    proto, status = lines[0].split(" ", 2)[:2]
    assert proto == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return int(status), headers


def read_response(r, timeout=5, head_only=False):
    """The next response on Reader r: (status, headers, body); None at EOF."""
    deadline = time.monotonic() + timeout
    head = r.until(b"\r\n\r\n", deadline)
    if head is None:
        return None
    st, h = parse_head(head)
    if head_only or st in (100, 101, 204, 304) or 100 <= st < 200:
        return st, h, b""
    body = r.take(int(h.get("content-length", "0")), deadline)
    assert body is not None, "truncated body after %r" % head
    return st, h, body


def http_once(s, data, timeout=5, cuts=(), pause=PAUSE, wait_close=True):
    """Sends data (cut at cuts) on a new connection; returns (first response,
    closed by the server within timeout after it; None if not wait_close)."""
    sock = connect(s, timeout)
    try:
        send_cut(sock, data, cuts, pause)
        r = Reader(sock)
        resp = read_response(r, timeout)
        assert resp is not None, "closed without a response to %r" % data[:80]
        return resp, r.wait_eof(timeout) if wait_close else None
    finally:
        sock.close()


def login_body(size=None):
    """The demo admin's login as JSON, padded with spaces to size bytes."""
    body = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).encode()
    if size is not None:
        assert size >= len(body)
        body += b" " * (size - len(body))
    return body


def post_head(path, length, extra=b"", host=b"t"):
    return (b"POST " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json\r\n" +
            extra + b"Content-Length: %d\r\n\r\n" % length)


GET_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


# ---------------------------------------------------------------- WebSocket

class ServerClosed(Exception):
    """The server sent a close frame (code) or ended the stream (code None)."""

    def __init__(self, code, reason=b""):
        super().__init__("server closed the WebSocket: code %r %r" % (code, reason))
        self.code = code


class WSConn:
    """A raw WebSocket client: the handshake, then frames byte for byte."""

    def __init__(self, s, path, extra=b"", timeout=5):
        self.sock = connect(s, timeout)
        self.key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, s.port, self.key)).encode()
        self.sock.sendall(req + extra + b"\r\n")
        self.r = Reader(self.sock)
        head = self.r.until(b"\r\n\r\n", time.monotonic() + timeout)
        assert head is not None, "closed during the handshake"
        self.status, self.headers = parse_head(head)
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                    .digest()).decode()
            assert self.headers.get("sec-websocket-accept") == want, self.headers

    @classmethod
    def adopt(cls, sock, reader):
        """A connection whose handshake the caller did itself."""
        c = cls.__new__(cls)
        c.sock, c.r, c.status, c.headers = sock, reader, 101, {}
        return c

    @classmethod
    def visitor(cls, s, token):
        """An authenticated visitor connection."""
        c = cls(s, "/v1/widget/ws?key=" + s.widget_key)
        assert c.status == 101, c.status
        ack = c.request({"type": "auth", "token": token}, "auth")
        assert ack["type"] == "ack", ack
        return c

    def send(self, data, cuts=(), pause=PAUSE):
        """send_cut; if the server hangs up meanwhile, an AssertionError that
        says how (with the code of its close frame, if it sent one)."""
        try:
            send_cut(self.sock, data, cuts, pause)
        except OSError as e:
            code = "none"
            try:
                while True:
                    f = self.recv_frame(1)
                    if f is None:
                        break
                    if f[1] == 8:
                        code = struct.unpack(">H", f[2][:2])[0] if len(f[2]) >= 2 else "empty"
                        break
            except (TimeoutError, OSError):
                pass
            raise AssertionError("the server hung up while a frame was being written (%s); its close "
                                 "frame: %s" % (e.strerror or e, code)) from None

    def recv_frame(self, timeout=5):
        """(fin, opcode, payload); None at EOF; TimeoutError when nothing comes."""
        deadline = time.monotonic() + timeout
        if not self.r.fill(2, deadline):
            return None
        b0, b1 = self.r.buf[0], self.r.buf[1]
        assert not b1 & 0x80, "a server frame is masked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            if not self.r.fill(4, deadline):
                return None
            n, off = struct.unpack(">H", self.r.buf[2:4])[0], 4
        elif n == 127:
            if not self.r.fill(10, deadline):
                return None
            n, off = struct.unpack(">Q", self.r.buf[2:10])[0], 10
        if not self.r.fill(off + n, deadline):
            return None
        payload, self.r.buf = self.r.buf[off:off + n], self.r.buf[off + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_json(self, timeout=5):
        """The next text message; pings are skipped; ServerClosed on close/EOF."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                raise ServerClosed(None)
            _, op, payload = f
            if op == 1:
                return json.loads(payload)
            if op == 8:
                raise ServerClosed(struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None,
                                   payload[2:])

    def reply(self, fid, timeout=5):
        """The ack or error carrying request id fid (other frames skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_json(max(0.0, deadline - time.monotonic()))
            if f.get("id") == fid and f.get("type") in ("ack", "error"):
                return f

    def request(self, obj, fid, cuts=(), timeout=5):
        self.send(ws_frame(1, json.dumps(dict(obj, id=fid))), cuts)
        return self.reply(fid, timeout)

    def replies(self, ids, timeout=15):
        """The replies to every id in ids, in arrival order."""
        want, out = set(ids), []
        deadline = time.monotonic() + timeout
        while len(out) < len(ids):
            try:
                f = self.recv_json(max(0.0, deadline - time.monotonic()))
            except (ServerClosed, TimeoutError) as e:
                raise AssertionError("%d of %d replies, then %s; last: %r"
                                     % (len(out), len(ids), e, [x.get("id") for x in out[-3:]])) from None
            if f.get("id") in want and f.get("type") in ("ack", "error"):
                out.append(f)
        return out

    def close_code(self, timeout=5):
        """The code of the server's close frame; an AssertionError if the stream
        ends without one. Echoes the close, then expects the server to hang up."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise AssertionError("no close frame within %.1f s" % timeout) from None
            if f is None:
                raise AssertionError("the connection was closed without a close frame")
            _, op, payload = f
            if op == 8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                try:
                    self.sock.sendall(ws_frame(8, payload[:2]))
                except OSError:
                    pass
                assert self.r.wait_eof(3), "close frame %r, but the TCP connection stays open" % code
                return code

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def visitor_conversation(s):
    """(visitor token, conversation id)."""
    vt = s.visitor("Cutter")["visitor_token"]
    return vt, s.new_conversation(vt, "hello", "first")["id"]


def send_frame_of_size(cid, i, size):
    """A masked `send` frame of exactly size bytes (16-bit length form) with
    its own id and client_id."""
    obj = {"type": "send", "id": "k%04d" % i, "conversation_id": cid, "client_id": "cut-%04d" % i, "text": ""}
    pad = size - 8 - len(json.dumps(obj))
    assert pad >= 1, size
    obj["text"] = "x" * pad
    f = ws_frame(1, json.dumps(obj))
    assert len(f) == size, len(f)
    return f, obj["id"]


def assert_acks_in_order(replies, ids):
    got = [f["id"] for f in replies]
    bad = [f for f in replies if f["type"] != "ack"]
    assert not bad, bad[:3]
    assert got == list(ids), "acks out of order: %r" % got[:20]
    seqs = [f["seq"] for f in replies if "seq" in f]
    if seqs:
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seqs not consecutive: %r" % seqs[:20]


# ---------------------------------------------------------------- 1-5: frames cut into pieces

def test_ws_frame_split_inside_payload():
    """A `send` frame written in two pieces, the cut inside its payload:
    acknowledged, and the connection goes on."""
    with server() as s:
        vt, cid = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        f, fid = send_frame_of_size(cid, 1, 146)
        c.send(f, [100])
        ack = c.reply(fid)
        assert ack["type"] == "ack" and ack["duplicate"] is False, ack
        # still open and in step: the next request is answered
        assert c.request({"type": "ping"}, "after")["type"] == "ack"
        c.close()
        healthy(s)


def test_ws_frame_split_at_every_byte():
    """The same 146-byte frame cut at every offset 1..145 in turn, all on one
    connection: every one acknowledged, in order, none dropped."""
    with server() as s:
        vt, cid = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        ids = []
        for cut in range(1, 146):
            f, fid = send_frame_of_size(cid, cut, 146)
            c.send(f, [cut], pause=0.01)
            ids.append(fid)
        assert_acks_in_order(c.replies(ids, timeout=20), ids)
        assert c.request({"type": "ping"}, "after")["type"] == "ack"
        c.close()
        healthy(s)


def test_ws_message_in_mss_segments():
    """A 6,000-byte `send` frame in 1,460-byte segments."""
    with server() as s:
        vt, cid = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        f, fid = send_frame_of_size(cid, 1, 6000)
        c.send(f, range(1460, len(f), 1460))
        ack = c.reply(fid)
        assert ack["type"] == "ack", ack
        assert c.request({"type": "ping"}, "after")["type"] == "ack"
        c.close()


def test_ws_ping_split_in_three():
    """A ping control frame in three writes (inside the header, inside the
    payload) is answered with a pong carrying the same payload."""
    with server() as s:
        vt, _ = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        payload = b"split-ping-0123456789"
        f = ws_frame(9, payload)
        c.send(f, [1, 9])
        deadline = time.monotonic() + 5
        while True:
            fr = c.recv_frame(max(0.0, deadline - time.monotonic()))
            assert fr is not None, "closed instead of answering the ping"
            if fr[1] == 8:
                raise AssertionError("close frame %r instead of a pong" % fr[2][:2])
            if fr[1] == 10:
                assert fr[2] == payload, fr
                break
        assert c.request({"type": "ping"}, "after")["type"] == "ack"
        c.close()


def test_ws_trickled_frame_served():
    """A frame that arrives one byte every 0.4 s, well within
    --ws-frame-timeout-ms, is served (a slow link is not an attack)."""
    with server("--ws-frame-timeout-ms", "5000") as s:
        vt, _ = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        f = ws_frame(9, b"sl")   # 8 bytes: 2.8 s from first to last
        c.send(f, range(1, len(f)), pause=0.4)
        fr = c.recv_frame(5)
        assert fr is not None and fr[1] == 10 and fr[2] == b"sl", fr
        assert c.request({"type": "ping"}, "after")["type"] == "ack"
        c.close()


def test_ws_large_messages_random_cuts():
    """20 JSON messages of 1-60 KB, each cut into 3-10 pieces at random
    offsets: every one acknowledged, in order."""
    rng = random.Random(SEED)
    with server() as s:
        vt, _ = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        ids = []
        for i in range(20):
            size = rng.randint(1024, 60 * 1024)
            obj = {"type": "ping", "id": "big%02d" % i, "pad": ""}
            obj["pad"] = "p" * (size - len(json.dumps(obj)))
            f = ws_frame(1, json.dumps(obj))
            c.send(f, random_cuts(rng, len(f), rng.randint(3, 10)), pause=0.005)
            ids.append(obj["id"])
        assert_acks_in_order(c.replies(ids, timeout=20), ids)
        c.close()


# ---------------------------------------------------------------- 6-8: protocol errors, deadlines, handshake

PROTOCOL_ERRORS = [
    ("unmasked client frame", lambda: ws_frame(1, b'{"type":"ping","id":"u"}', mask=False), 1002),
    ("reserved opcode 0x3", lambda: ws_frame(3, b"xyz"), 1002),
    ("RSV1 without an extension", lambda: ws_frame(1, b'{"type":"ping","id":"r"}', rsv=4), 1002),
    ("control frame over 125 bytes", lambda: ws_frame(9, b"p" * 126), 1002),
    ("fragmented ping", lambda: ws_frame(9, b"frag", fin=False), 1002),
    ("close frame with a 1-byte payload", lambda: ws_frame(8, b"\x03"), 1002),
    ("invalid UTF-8 in a text frame", lambda: ws_frame(1, b'{"type":"ping","x":"\xff\xfe"}'), 1007),
    ("message over --ws-max-message", lambda: ws_frame(1, json.dumps({"type": "ping", "pad": "m" * 5000})), 1009),
]


def test_ws_protocol_errors_get_close_frame():
    """Each protocol error is answered with a close frame carrying its code
    (then the TCP close), never a bare hang-up; other clients carry on."""
    with server("--ws-max-message", "4096") as s:
        vt, _ = visitor_conversation(s)
        failures = []
        for name, make, want in PROTOCOL_ERRORS:
            c = WSConn.visitor(s, vt)
            try:
                try:
                    c.sock.sendall(make())
                except OSError:
                    pass   # answered before it read everything: the close frame is still readable
                got = c.close_code(5)
                if got != want:
                    failures.append("%s: close code %r, want %d" % (name, got, want))
            except (AssertionError, TimeoutError, OSError) as e:
                failures.append("%s: %s" % (name, e))
            finally:
                c.close()
            healthy(s)
        assert not failures, "\n  " + "\n  ".join(failures)


def test_ws_frame_timeout_1008():
    """A frame started and not finished within --ws-frame-timeout-ms:
    close 1008, then the connection is closed."""
    with server("--ws-frame-timeout-ms", "1500") as s:
        vt, _ = visitor_conversation(s)
        c = WSConn.visitor(s, vt)
        f = ws_frame(1, json.dumps({"type": "ping", "id": "never-finished"}))
        t0 = time.monotonic()
        c.send(f[:10])
        code = c.close_code(1.5 + 3)
        dt = time.monotonic() - t0
        c.close()
        assert code == 1008, code
        assert 1.3 <= dt < 1.5 + 3, dt
        healthy(s)


def test_ws_handshake_two_keys_400():
    """Two Sec-WebSocket-Key fields: 400, no upgrade."""
    with server() as s:
        key = base64.b64encode(os.urandom(16))
        req = (b"GET /v1/widget/ws?key=" + s.widget_key.encode() + b" HTTP/1.1\r\nHost: t\r\n"
               b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
        (st, h, body), _ = http_once(s, req)
        assert st == 400, (st, h, body[:200])
        # the same request with one key upgrades
        one = req.replace(b"Sec-WebSocket-Key: " + key + b"\r\n", b"")
        (st, h, _), _ = http_once(s, one, wait_close=False)
        assert st == 101, (st, h)


# ---------------------------------------------------------------- 9-11: request targets and Host

def test_http_bad_targets_and_server_options():
    """An origin-form target without its slash, and `*` on anything but
    OPTIONS: 400, Connection: close, closed. OPTIONS *: 2xx."""
    with server() as s:
        failures = []
        for req in [b"GET healthz HTTP/1.1\r\nHost: t\r\n\r\n", b"GET * HTTP/1.1\r\nHost: t\r\n\r\n"]:
            try:
                (st, h, body), closed = http_once(s, req, timeout=3)
                if st != 400 or h.get("connection") != "close" or not closed:
                    failures.append("%r: %d, Connection: %r, closed: %r" % (req[:20], st, h.get("connection"),
                                                                           closed))
            except (AssertionError, TimeoutError, OSError) as e:
                failures.append("%r: %s" % (req[:20], e))
            healthy(s)
        (st, h, body), _ = http_once(s, b"OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        if not 200 <= st < 300:
            failures.append("OPTIONS *: %d %r" % (st, body[:120]))
        assert not failures, "\n  " + "\n  ".join(failures)


def test_http_host_validation():
    with server() as s:
        failures = []
        for host in [b"a b", b"user@host", b"example.com:99999x"]:
            (st, h, body), _ = http_once(s, b"GET /healthz HTTP/1.1\r\nHost: " + host +
                                         b"\r\nConnection: close\r\n\r\n")
            if st != 400:
                failures.append("Host: %s -> %d" % (host.decode(), st))
            healthy(s)
        (st, h, body), _ = http_once(s, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                        b"Connection: close\r\n\r\n" % s.port)
        if st != 200:
            failures.append("Host: 127.0.0.1:%d -> %d" % (s.port, st))
        assert not failures, "\n  " + "\n  ".join(failures)


def test_http_absolute_form():
    with server() as s:
        (st, h, body), _ = http_once(s, b"GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                        b"Connection: close\r\n\r\n" % (s.port, s.port))
        assert st == 200 and json.loads(body) == {"status": "ok"}, (st, body[:200])


def test_http_head_errors_have_no_body():
    """A refused HEAD request is answered without a body (RFC 9112 6.3),
    whatever refused it once its head parsed: 413, 417, 400 (no Host). A
    head that does not parse is not known to be a HEAD: its 400 has a body."""
    with server() as s:
        for req, want in ((b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
                          (b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: magic\r\n\r\n", 417),
                          (b"HEAD /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400)):
            sock = connect(s)
            sock.sendall(req)
            r = Reader(sock)
            resp = read_response(r, 5, head_only=True)
            assert resp and resp[0] == want, (req, resp)
            deadline = time.monotonic() + 5
            while r.fill(len(r.buf) + 1, deadline):   # everything up to the server's close
                pass
            assert r.buf == b"", (req, r.buf[:100])
            sock.close()


def test_http_static_to_slow_reader_is_exact():
    """Pipelined static files read slowly through a small receive buffer
    (so every response is written in many partial writes) arrive byte for
    byte, in order, interleaved with JSON answers."""
    with open(os.path.join(os.environ.get("PARLEY_WEB", os.path.join(os.path.dirname(__file__), "../../web")),
                           "widget", "widget.js"), "rb") as f:
        js = f.read()
    with server() as s:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", s.port))
        reqs = b""
        for i in range(6):
            reqs += b"GET /widget/widget.js HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(reqs)
        r = Reader(sock)
        for i in range(6):
            time.sleep(0.05)   # a slow reader: the server's writes stop part-way
            st, h, body = read_response(r, 10)
            assert st == 200 and body == js, (i, st, len(body), len(js))
            st, h, body = read_response(r, 10)
            assert st == 200 and json.loads(body) == {"status": "ok"}, (i, st, body[:100])
        sock.close()


def test_http_half_close_still_answered():
    """A client that sends its requests and then shuts down its write side
    (half-close) still gets every response, then the server closes."""
    with server() as s:
        sock = connect(s)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        r = Reader(sock)
        first = read_response(r, 5)
        second = read_response(r, 5)
        assert first and first[0] == 200, first
        assert second and second[0] in (200, 503), second
        assert read_response(r, 5) is None, "the server should close after answering"
        sock.close()
        # a half-close in the middle of a head gets no answer, only a close
        sock = connect(s)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        sock.shutdown(socket.SHUT_WR)
        assert read_response(Reader(sock), 5) is None
        sock.close()


# ---------------------------------------------------------------- 12: Expect

def expect_head_only(s, head, timeout=1.0):
    """Sends only a request head; returns (first response, seconds it took,
    Reader, socket)."""
    sock = connect(s)
    t0 = time.monotonic()
    sock.sendall(head)
    r = Reader(sock)
    try:
        resp = read_response(r, timeout)
    except TimeoutError:
        sock.close()
        raise AssertionError("no answer to the head within %.1f s: %r" % (timeout, head[:60])) from None
    return resp, time.monotonic() - t0, r, sock


def test_http_expect_100_continue():
    """Expect: 100-continue gets `100 Continue` as soon as the head is in;
    the final response follows the body."""
    with server() as s:
        body = login_body()
        resp, dt, r, sock = expect_head_only(s, post_head(b"/v1/auth/login", len(body),
                                                          b"Expect: 100-continue\r\n"))
        try:
            assert resp is not None, "closed after the head"
            assert resp[0] == 100, "first response %d, want 100 Continue" % resp[0]
            assert dt < 0.5, dt
            sock.sendall(body)
            st, h, b = read_response(r, 5)
            assert st == 200 and json.loads(b)["access_token"], (st, b[:200])
        finally:
            sock.close()


def test_http_expect_refused_without_100():
    """A request the server will refuse anyway is answered at once with the
    final status, never a 100 first: too large, unknown path, no token.
    An expectation it does not know: 417."""
    with server() as s:
        vt, cid = visitor_conversation(s)
        failures = []
        for name, head, want in [
                ("Content-Length over --max-body", post_head(b"/v1/auth/login", 2000000, b"Expect: 100-continue\r\n"),
                 413),
                ("unknown path", post_head(b"/v1/nope", 20, b"Expect: 100-continue\r\n"), 404),
                ("no bearer token", post_head(b"/v1/conversations/%s/messages" % cid.encode(), 40,
                                              b"Expect: 100-continue\r\n"), 401)]:
            try:
                resp, dt, r, sock = expect_head_only(s, head)
                sock.close()
                if resp is None:
                    failures.append("%s: closed without an answer" % name)
                elif resp[0] != want:
                    failures.append("%s: first response %d, want %d at once" % (name, resp[0], want))
            except AssertionError as e:
                failures.append("%s: %s" % (name, e))
            healthy(s)
        body = login_body()
        try:
            (st, h, b), _ = http_once(s, post_head(b"/v1/auth/login", len(body), b"Expect: something-else\r\n") + body,
                                      timeout=3)
            if st != 417:
                failures.append("Expect: something-else -> %d, want 417" % st)
        except (AssertionError, TimeoutError) as e:
            failures.append("Expect: something-else: %s" % e)
        assert not failures, "\n  " + "\n  ".join(failures)


def test_http_expect_curl_upload():
    """curl sends a 100 KB body with Expect: 100-continue and waits up to
    1 s for the 100: with the server answering it the upload is quick."""
    with server() as s, tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(login_body(100 * 1024))
        f.flush()
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                              "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
                              "--data-binary", "@" + f.name, "http://127.0.0.1:%d/v1/auth/login" % s.port],
                             capture_output=True, text=True, timeout=20)
        code, total = out.stdout.split()
        assert code == "200", (out.stdout, out.stderr)
        assert float(total) < 0.5, "curl took %s s: it waited for a 100 Continue that never came" % total


# ---------------------------------------------------------------- 13-14: deadlines

def trickle_until_answer(sock, data, every, limit):
    """Sends data one byte every `every` seconds until the server answers or
    closes (or limit seconds pass); returns (Reader, seconds from the first
    byte to the answer, bytes sent), seconds None if no answer."""
    r = Reader(sock)
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < limit:
        if sent < len(data):
            try:
                sock.sendall(data[sent:sent + 1])
                sent += 1
            except OSError:
                pass   # the server closed: its answer is readable
        ready, _, _ = select.select([sock], [], [], every)
        if ready:
            return r, time.monotonic() - t0, sent
    return r, None, sent


def test_http_header_deadline():
    """--header-timeout-ms is a deadline for the whole head: a client
    that never stops sending but never finishes gets 408 on time."""
    with server("--header-timeout-ms", "2000") as s:
        head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 40 + b"\r\n\r\n"
        sock = connect(s)
        try:
            r, dt, sent = trickle_until_answer(sock, head, 0.5, 8)
            assert dt is not None, "still waiting for the head after 8 s (%d bytes sent a byte per 0.5 s)" % sent
            resp = read_response(r, 3)
            assert resp is not None, "closed after %.2f s without a 408" % dt
            st, h, _ = resp
            assert st == 408 and h.get("connection") == "close", (st, h)
            assert r.wait_eof(3), "left open after the 408"
            assert 1.8 <= dt <= 2 + 1.5, dt
        finally:
            sock.close()
        healthy(s)


def test_http_body_min_rate():
    """The body must come within header-timeout + length / --body-min-rate
    of the head: a trickle gets 408, a modest steady rate is served."""
    with server("--header-timeout-ms", "2000", "--body-min-rate", "1024") as s:
        # 1,000 bytes a byte per 0.5 s: the deadline is 2 + 1000/1024 s after the head
        sock = connect(s)
        try:
            sock.sendall(post_head(b"/v1/auth/login", 1000))
            r, dt, sent = trickle_until_answer(sock, login_body(1000), 0.5, 10)
            assert dt is not None, "still reading the body after 10 s (%d bytes)" % sent
            resp = read_response(r, 3)
            assert resp is not None and resp[0] == 408, resp
            assert resp[1].get("connection") == "close", resp[1]
            assert r.wait_eof(3), "left open after the 408"
            # not the plain header timeout: the body had 2 + 1000/1024 s
            assert 2 + 1000 / 1024 - 0.3 <= dt <= 2 + 1000 / 1024 + 1.5, dt
        finally:
            sock.close()
        healthy(s)
        # 3,000 bytes at ~2,000 B/s (1.5 s, the deadline is 2 + 2.9 s): served
        body = login_body(3000)
        sock = connect(s)
        try:
            sock.sendall(post_head(b"/v1/auth/login", len(body)))
            send_cut(sock, body, range(100, len(body), 100), pause=0.05)
            resp = read_response(Reader(sock), 5)
            assert resp is not None, "closed"
            assert resp[0] == 200 and json.loads(resp[2])["access_token"], resp[:2]
        finally:
            sock.close()


# ---------------------------------------------------------------- 15: requests cut at every byte

def test_http_requests_cut_at_every_byte():
    """Whole requests, each cut at every byte offset in turn (one connection
    per cut): always the same answer."""
    with server() as s:
        body = json.dumps({"widget_key": s.widget_key, "name": "Cut"}).encode()
        cases = [
            ("GET /healthz", GET_HEALTHZ, 200),
            ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", None),
            ("POST /v1/widget/session", post_head(b"/v1/widget/session", len(body), b"Connection: close\r\n") + body,
             201),
            ("absolute form", b"GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                              b"Connection: close\r\n\r\n" % (s.port, s.port), None),
        ]
        failures = []
        for name, req, want in cases:
            # the answer to the whole request in one write: what every cut must
            # get too (the right status of the two without `want` is checked above)
            (st0, _, _), _ = http_once(s, req)
            if want is not None and st0 != want:
                failures.append("%s in one piece: %d, want %d" % (name, st0, want))
                continue
            for cut in range(1, len(req)):
                try:
                    (st, h, b), closed = http_once(s, req, cuts=[cut], pause=0.005)
                    if st != st0:
                        failures.append("%s cut at %d: %d, in one piece %d" % (name, cut, st, st0))
                        break
                except (AssertionError, TimeoutError, OSError) as e:
                    failures.append("%s cut at %d: %s" % (name, cut, e))
                    break
        assert not failures, "\n  " + "\n  ".join(failures)


def test_ws_handshake_cut_at_every_byte():
    """The upgrade request cut at every byte offset: 101, then a working
    socket."""
    with server() as s:
        vt, _ = visitor_conversation(s)
        key = base64.b64encode(os.urandom(16))
        req = (b"GET /v1/widget/ws?key=" + s.widget_key.encode() + b" HTTP/1.1\r\nHost: t\r\n"
               b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
        auth = ws_frame(1, json.dumps({"type": "auth", "token": vt, "id": "a"}))
        for cut in range(1, len(req) + len(auth)):
            sock = connect(s)
            try:
                # the cut may fall in the auth frame that follows the head in the same stream
                send_cut(sock, req + auth, [cut], pause=0.005)
                r = Reader(sock)
                head = r.until(b"\r\n\r\n", time.monotonic() + 5)
                assert head is not None and parse_head(head)[0] == 101, (cut, head)
                ack = WSConn.adopt(sock, r).reply("a")
                assert ack["type"] == "ack", (cut, ack)
            except (ServerClosed, TimeoutError) as e:
                raise AssertionError("cut at %d: %s" % (cut, e)) from None
            finally:
                sock.close()


if __name__ == "__main__":
    print("PARLEY_FRONTEND_SEED=%d" % SEED, flush=True)
    main([test_ws_frame_split_inside_payload, test_ws_frame_split_at_every_byte, test_ws_message_in_mss_segments,
          test_ws_ping_split_in_three, test_ws_trickled_frame_served, test_ws_large_messages_random_cuts,
          test_ws_protocol_errors_get_close_frame, test_ws_frame_timeout_1008, test_ws_handshake_two_keys_400,
          test_http_bad_targets_and_server_options, test_http_host_validation, test_http_absolute_form,
          test_http_half_close_still_answered, test_http_head_errors_have_no_body,
          test_http_static_to_slow_reader_is_exact,
          test_http_expect_100_continue, test_http_expect_refused_without_100, test_http_expect_curl_upload,
          test_http_header_deadline, test_http_body_min_rate, test_http_requests_cut_at_every_byte,
          test_ws_handshake_cut_at_every_byte])
