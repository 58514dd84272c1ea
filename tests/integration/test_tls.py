"""TLS on the front end (--tls-cert, --tls-key, --plain-port): real clients
(curl, Python's ssl, python3-websockets over wss://, openssl s_client) and
each kind of bad input.

The certificates are made at test time with openssl in a temporary
directory: a root CA, an intermediate, and a server certificate for
localhost / 127.0.0.1 with an ECDSA P-256 key and one with an RSA 2048 key,
each served as a full chain (server + intermediate). No key is committed.
"""
import asyncio
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)   # TLS 1.0/1.1 on purpose
sys.path.insert(0, os.path.dirname(__file__))
from harness import WS, Server, main, ok, wait_until  # noqa: E402
from smtpsink import free_port  # noqa: E402

CERTS = None
ALLOWED = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
           "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"}


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs():
    """Root CA -> intermediate -> server (EC and RSA); returns the directory."""
    d = tempfile.mkdtemp(prefix="parley-tls-")
    p = lambda n: os.path.join(d, n)  # noqa: E731
    with open(p("int.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    with open(p("srv.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("ca.key"),
            "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=Parley Test Root")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("int.key"),
            "-out", p("int.csr"), "-subj", "/CN=Parley Test Intermediate")
    openssl("x509", "-req", "-in", p("int.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
            "-out", p("int.pem"), "-days", "2", "-extfile", p("int.ext"))
    for name, newkey in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                         ("rsa", ["-newkey", "rsa:2048"])):
        openssl("req", *newkey, "-nodes", "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=localhost")
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("int.pem"), "-CAkey", p("int.key"),
                "-CAcreateserial", "-out", p(name + ".pem"), "-days", "2", "-extfile", p("srv.ext"))
        with open(p(name + "-chain.pem"), "w") as out:
            for part in (name + ".pem", "int.pem"):
                with open(p(part)) as f:
                    out.write(f.read())
    return d


def cert(name):
    return os.path.join(CERTS, name)


def tls_server(kind="ec", *extra, cert_path=None, key_path=None):
    """A server with --tls-cert/--tls-key of the given kind and a plain port."""
    return Server("--tls-cert", cert_path or cert(kind + "-chain.pem"), "--tls-key", key_path or cert(kind + ".key"),
                  "--plain-port", str(free_port()), *extra)


def client_ctx():
    ctx = ssl.create_default_context(cafile=cert("ca.pem"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2   # what the server speaks; say so explicitly
    return ctx


def tls_connect(port, ctx=None, timeout=10):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return (ctx or client_ctx()).wrap_socket(raw, server_hostname="localhost")


def read_response(s, limit=10):
    """Reads one HTTP response (Content-Length framed) from a socket."""
    data = b""
    deadline = time.monotonic() + limit
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        chunk = s.recv(65536)
        assert chunk
        rest += chunk
    return head.decode(), rest[:n], rest[n:]


def closed_within(sock, limit):
    """True if the peer closes (EOF or reset) within limit seconds; reads and drops anything before."""
    sock.settimeout(limit)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def client_hello(configure=None):
    """The bytes of a real ClientHello (Python's ssl over memory BIOs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if configure:
        configure(ctx)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def still_serves(s):
    """A fresh HTTPS request works and the plain port answers."""
    with tls_connect(s.tls_port) as c:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        head, body, _ = read_response(c)
        assert head.startswith("HTTP/1.1 200"), head
    st, _, _ = s.request("GET", "/healthz")
    assert st == 200


def metric(s, name):
    st, body, _ = s.request("GET", "/metrics")
    assert st == 200
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


# ---------------------------------------------------------------- clients

def test_curl_ec_and_rsa():
    for kind, alg in (("ec", "ECDSA"), ("rsa", "RSA")):
        with tls_server(kind) as s:
            r = subprocess.run(["curl", "-sS", "--cacert", cert("ca.pem"), "-o", "/dev/null", "-w",
                                "%{http_code} %{ssl_verify_result}", "-v", "--resolve",
                                "localhost:%d:127.0.0.1" % s.tls_port, "https://localhost:%d/healthz" % s.tls_port],
                               capture_output=True, text=True, timeout=20)
            assert r.returncode == 0, r.stderr
            assert r.stdout == "200 0", r.stdout
            assert "TLSv1.2 / ECDHE-%s-AES128-GCM-SHA256" % alg in r.stderr, r.stderr
            # the chain was sent whole: curl verified it knowing only the root


def test_python_ssl_version_cipher_chain():
    for kind in ("ec", "rsa"):
        with tls_server(kind) as s, tls_connect(s.tls_port) as c:
            assert c.version() == "TLSv1.2"
            assert c.cipher()[0] in ALLOWED, c.cipher()
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head, body, _ = read_response(c)
            assert head.startswith("HTTP/1.1 200"), head


def test_server_cipher_preference():
    """The client lists ChaCha20 first; the server's order (AES-GCM) wins."""
    with tls_server("ec") as s:
        ctx = client_ctx()
        ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
        with tls_connect(s.tls_port, ctx) as c:
            assert c.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256", c.cipher()
        ctx = client_ctx()
        ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
        with tls_connect(s.tls_port, ctx) as c:
            assert c.cipher()[0] == "ECDHE-ECDSA-CHACHA20-POLY1305", c.cipher()


def test_session_resumption():
    with tls_server("ec") as s:
        ctx = client_ctx()
        ctx.options |= ssl.OP_NO_TICKET
        with tls_connect(s.tls_port, ctx) as c:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            read_response(c)
            sess = c.session
        reused = 0
        for _ in range(4):   # two I/O loops: the cache is shared, whichever takes the connection
            raw = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10)
            with ctx.wrap_socket(raw, server_hostname="localhost", session=sess) as c:
                reused += c.session_reused
        assert reused == 4, reused


def test_pipelined_requests():
    with tls_server("ec") as s, tls_connect(s.tls_port) as c:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3)
        rest = b""
        for _ in range(3):
            head, body, rest = read_response(_Prefixed(c, rest))
            assert head.startswith("HTTP/1.1 200"), head


def test_streamed_transcript():
    """A streamed (chunked) transcript over TLS: the same bytes as over the
    plain port, to curl and to Python's ssl with a request pipelined behind
    it, read in small pieces so the engine's output waits on the socket."""
    from test_streaming import Reader
    with tls_server("ec") as s:
        tok = s.login()["access_token"]
        c = s.new_conversation(s.visitor()["visitor_token"])
        for i in range(100):
            ok(*s.request("POST", "/v1/conversations/%s/messages" % c["id"],
                          {"text": "%d %s" % (i, '"' * 7990), "client_id": "t%d" % i}, token=tok)[:2], 201)
        path = "/v1/conversations/%s/transcript" % c["id"]
        hc = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
        hc.request("GET", path, headers={"Authorization": "Bearer " + tok})
        want = hc.getresponse().read()
        hc.close()
        assert len(want) > 1_500_000 and len(json.loads(want)["events"]) == 102, len(want)
        r = subprocess.run(["curl", "-sS", "--fail", "--cacert", cert("ca.pem"), "-H", "Authorization: Bearer " + tok,
                            "--resolve", "localhost:%d:127.0.0.1" % s.tls_port,
                            "https://localhost:%d%s" % (s.tls_port, path)], capture_output=True, timeout=30)
        assert r.returncode == 0 and r.stdout == want, (r.returncode, len(r.stdout), r.stderr)
        with tls_connect(s.tls_port, timeout=20) as t:
            req = "GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n" % (path, tok)
            t.sendall(req.encode() + b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            rd = Reader(t)
            for _ in range(50):
                rd.fill(100)
            _, st, h = rd.head()
            assert st == 200 and h["transfer-encoding"] == "chunked", h
            assert rd.chunked() == want
            _, st, h, body = rd.response()
            assert st == 200 and json.loads(body), body


class _Prefixed:
    """A socket whose first recv returns bytes already read."""

    def __init__(self, s, first):
        self.s, self.first = s, first

    def recv(self, n):
        if self.first:
            b, self.first = self.first, b""
            return b
        return self.s.recv(n)


def test_1mb_body_split_at_odd_boundaries():
    """A 1 MB body sent as records of odd sizes (1, 7, 4093, 16383, ...),
    and the TCP stream itself cut at random points (splitproxy)."""
    from splitproxy import SplitProxy
    with tls_server("rsa", "--max-body", str(2 << 20)) as s:
        proxy = SplitProxy(s.tls_port)
        try:
            body = b'{"email":"' + b"a" * (1 << 20) + b'@x.test","password":"nope-nope-nope"}'
            with tls_connect(proxy.port, timeout=30) as c:
                c.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body))
                sizes = [1, 7, 4093, 16383, 3, 16384, 9999, 2]
                pos = i = 0
                while pos < len(body):
                    n = sizes[i % len(sizes)]
                    c.sendall(body[pos:pos + n])   # one record each
                    pos += n
                    i += 1
                head, resp, _ = read_response(c, limit=60)
                # the whole body was read and parsed: an answer about its content
                assert head.split()[1] in (b"400", b"401", b"422", "400", "401", "422"), head
        finally:
            proxy.close()


def test_large_static_file_same_bytes():
    """A static file (written by reference, many 4 KiB records) arrives
    byte for byte as over the plain port, also with a slow reader."""
    with tls_server("ec") as s:
        st, plain, _ = s.request("GET", "/widget/widget.js")
        assert st == 200 and len(plain) > 16384, len(plain)
        for slow in (False, True):
            raw = socket.socket()
            if slow:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.settimeout(10)
            raw.connect(("127.0.0.1", s.tls_port))
            with client_ctx().wrap_socket(raw, server_hostname="localhost") as c:
                c.sendall(b"GET /widget/widget.js HTTP/1.1\r\nHost: localhost\r\n\r\n" * 2)
                rest = b""
                for _ in range(2):
                    head, body, rest = read_response(_Prefixed(c, rest))
                    assert head.startswith("HTTP/1.1 200"), head
                    assert body.decode() == plain


def test_wss_python_websockets():
    with tls_server("ec") as s:
        tok = s.login()["access_token"]

        async def run():
            c = await WS.connect("wss://localhost:%d/v1/ws" % s.tls_port, token=tok, ssl=client_ctx(),
                                 origin="https://localhost:%d" % s.tls_port)
            r = await c.request({"type": "ping"})
            assert r["type"] in ("ack", "pong"), r
            big = "x" * 60000   # larger than one output record
            r = await c.request({"type": "ping", "pad": big})
            assert r["type"] in ("ack", "pong", "error"), r
            await c.close()
        asyncio.run(run())


def test_plain_port_and_plain_http_on_tls_port():
    with tls_server("ec") as s:
        st, _, _ = s.request("GET", "/healthz")   # the plain port
        assert st == 200
        t0 = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.close()
        assert data.startswith(b"HTTP/1.1 400 "), data
        assert b"https://" in data
        assert time.monotonic() - t0 < 3
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://127.0.0.1:%d/healthz" % s.tls_port], capture_output=True, text=True, timeout=10)
        assert r.stdout == "400", (r.stdout, r.stderr)
        assert metric(s, "parley_tls_plain_refused_total") >= 2


# ---------------------------------------------------------------- refusals

def handshake_fails(port, configure):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    configure(ctx)
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost"):
            return False
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


def test_old_versions_refused():
    def v(lo, hi):
        def f(ctx):
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            ctx.minimum_version, ctx.maximum_version = lo, hi
        return f
    with tls_server("rsa") as s:
        assert handshake_fails(s.tls_port, v(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1))
        assert handshake_fails(s.tls_port, v(ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1))
        assert not handshake_fails(s.tls_port, v(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2))   # 1.2 chosen
        # openssl s_client agrees (when its build still offers 1.0/1.1)
        for flag in ("-tls1", "-tls1_1"):
            r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port, flag,
                                "-cipher", "ALL:@SECLEVEL=0"], input="", capture_output=True, text=True, timeout=20)
            assert "Cipher is (NONE)" in r.stdout or r.returncode != 0, r.stdout
        still_serves(s)


def test_client_hello_with_only_weak_ciphers():
    weak = ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384",
            "DES-CBC3-SHA", "ECDHE-ECDSA-AES128-SHA256", "DHE-RSA-AES128-GCM-SHA256"]
    usable = []
    for c in weak:   # those this OpenSSL build can still offer (3DES may be gone)
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(c + ":@SECLEVEL=0")
            usable.append(c)
        except ssl.SSLError:
            pass
    assert len(usable) >= 5, usable
    for kind in ("rsa", "ec"):
        with tls_server(kind) as s:
            for c in usable:
                def f(ctx, c=c):
                    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                    ctx.set_ciphers(c + ":@SECLEVEL=0")
                assert handshake_fails(s.tls_port, f), (kind, c)
            still_serves(s)
            wait_until(lambda: metric(s, "parley_tls_handshake_failures_total") >= len(usable), what="failures counted")


def test_truncated_record():
    """Half a ClientHello, then the end of the stream: closed at once; half a
    ClientHello and silence: closed at the header timeout."""
    with tls_server("ec", "--header-timeout-ms", "700") as s:
        hello = client_hello()
        sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        sock.sendall(hello[:len(hello) // 2])
        sock.shutdown(socket.SHUT_WR)
        assert closed_within(sock, 3)
        sock.close()
        t0 = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        sock.sendall(hello[:len(hello) // 2])
        assert closed_within(sock, 5)
        took = time.monotonic() - t0
        assert 0.5 < took < 4, took
        sock.close()
        still_serves(s)


def test_stalled_handshake_closed():
    """A client that sends nothing, and one that stops after its ClientHello
    (the server's flight answered, no ClientKeyExchange), are closed at
    --header-timeout-ms like a slow request."""
    with tls_server("ec", "--header-timeout-ms", "700") as s:
        base = metric(s, "parley_tls_handshake_timeouts_total")
        for payload in (b"", client_hello()):
            t0 = time.monotonic()
            sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
            if payload:
                sock.sendall(payload)
            assert closed_within(sock, 5)
            took = time.monotonic() - t0
            assert 0.5 < took < 4, took
            sock.close()
        wait_until(lambda: metric(s, "parley_tls_handshake_timeouts_total") >= base + 2, what="timeouts counted")
        still_serves(s)


def test_oversized_record():
    """A handshake record declaring 18,433 bytes (over 2^14 + 2048)."""
    with tls_server("ec") as s:
        sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
        sock.sendall(b"\x16\x03\x03" + struct.pack(">H", 18433) + b"\x01" * 18433)
        assert closed_within(sock, 5)
        sock.close()
        # the same after the handshake: an application record over the limit
        c = tls_connect(s.tls_port)   # the raw bytes go on the TLS socket's descriptor
        sock = socket.socket(fileno=os.dup(c.fileno()))
        sock.sendall(b"\x17\x03\x03" + struct.pack(">H", 16384 + 2048 + 1) + b"\x00" * (16384 + 2048 + 1))
        assert closed_within(sock, 5)
        sock.close()
        c.close()
        still_serves(s)


def test_renegotiation_refused():
    with tls_server("ec") as s:
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.tls_port, "-servername", "localhost",
                            "-CAfile", cert("ca.pem"), "-tls1_2"], input="R\n", capture_output=True, text=True,
                           timeout=20)
        out = p.stdout + p.stderr
        assert "RENEGOTIATING" in out, out
        assert "no renegotiation" in out, out
        still_serves(s)


def test_garbage_before_hello():
    with tls_server("ec") as s:
        for garbage in (b"\x00\x01\x02\x03garbage", b"\xff" * 64, b"\x16\x03\x03\x00"):
            sock = socket.create_connection(("127.0.0.1", s.tls_port), timeout=5)
            sock.sendall(garbage + client_hello())
            assert closed_within(sock, 5), garbage
            sock.close()
        still_serves(s)


def test_close_without_close_notify():
    """A client drops the TCP connection mid-request and after a request,
    without close_notify: the server frees the connection."""
    with tls_server("ec") as s:
        for half in (True, False):
            c = tls_connect(s.tls_port)
            if half:
                c.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
            else:
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                read_response(c)
            raw = socket.socket(fileno=os.dup(c.fileno()))
            raw.shutdown(socket.SHUT_RDWR)   # TCP FIN, no TLS alert
            raw.close()
            c.close()
        wait_until(lambda: metric(s, "parley_tls_connections_open") == 0, what="the connections freed")
        still_serves(s)


# ---------------------------------------------------------------- reload

def test_sighup_reload():
    d = tempfile.mkdtemp(prefix="parley-tls-reload-")
    try:
        crt, key = os.path.join(d, "srv.pem"), os.path.join(d, "srv.key")
        shutil.copy(cert("ec-chain.pem"), crt)
        shutil.copy(cert("ec.key"), key)
        with Server("--tls-cert", crt, "--tls-key", key, "--plain-port", str(free_port())) as s:
            old = tls_connect(s.tls_port)   # keep-alive, across every reload
            assert "ECDSA" in old.cipher()[0]

            def reloads():
                return metric(s, "parley_tls_reloads_total"), metric(s, "parley_tls_reload_failures_total")

            def hup_and_wait(ok):
                before = reloads()
                s.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: reloads()[0 if ok else 1] > before[0 if ok else 1], what="the reload")

            def ask(c):
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                head, _, _ = read_response(c)
                assert head.startswith("HTTP/1.1 200"), head

            # a new pair: RSA
            shutil.copy(cert("rsa-chain.pem"), crt)
            shutil.copy(cert("rsa.key"), key)
            hup_and_wait(True)
            with tls_connect(s.tls_port) as c:
                assert "RSA" in c.cipher()[0], c.cipher()
            ask(old)
            # a certificate that does not parse: the RSA pair stays
            with open(crt, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n")
            hup_and_wait(False)
            with tls_connect(s.tls_port) as c:
                assert "RSA" in c.cipher()[0]
            # a key that does not match the certificate (EC cert, RSA key; EC cert, other EC key)
            shutil.copy(cert("ec-chain.pem"), crt)
            hup_and_wait(False)
            shutil.copy(cert("int.key"), key)
            hup_and_wait(False)
            with tls_connect(s.tls_port) as c:
                assert "RSA" in c.cipher()[0]
            ask(old)
            log = s.stderr_text()
            assert "tls_reload_failed" in log and "does not match" in log and "not valid PEM" in log, log
            # back to a good pair
            shutil.copy(cert("ec.key"), key)
            hup_and_wait(True)
            with tls_connect(s.tls_port) as c:
                assert "ECDSA" in c.cipher()[0]
            ask(old)
            old.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_bad_files_at_start():
    for crt, key, why in ((cert("ec-chain.pem"), cert("rsa.key"), "does not match"),
                          (cert("ec-chain.pem"), cert("nope.key"), "cannot read"),
                          (cert("ec.key"), cert("ec.key"), "no CERTIFICATE")):
        d = tempfile.mkdtemp(prefix="parley-tls-bad-")
        try:
            r = subprocess.run([os.environ.get("PARLEYD", os.path.join(os.path.dirname(__file__), "../../build/parleyd")),
                                "--data", d, "--secret-key-file", os.path.join(d, "k"), "--port", "0", "--host",
                                "127.0.0.1", "--tls-cert", crt, "--tls-key", key], capture_output=True, text=True,
                               timeout=20)
            assert r.returncode != 0 and why in r.stderr, (r.returncode, r.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    CERTS = make_certs()
    try:
        main([test_curl_ec_and_rsa, test_python_ssl_version_cipher_chain, test_server_cipher_preference,
              test_session_resumption, test_pipelined_requests, test_streamed_transcript, test_1mb_body_split_at_odd_boundaries,
              test_large_static_file_same_bytes, test_wss_python_websockets, test_plain_port_and_plain_http_on_tls_port, test_old_versions_refused,
              test_client_hello_with_only_weak_ciphers, test_truncated_record, test_stalled_handshake_closed,
              test_oversized_record, test_renegotiation_refused, test_garbage_before_hello,
              test_close_without_close_notify, test_sighup_reload, test_bad_files_at_start])
    finally:
        shutil.rmtree(CERTS, ignore_errors=True)
