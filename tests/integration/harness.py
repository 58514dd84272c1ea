"""Test harness: starts the real parleyd on a free port with a temp data dir.

Used by every tests/integration/test_*.py. Talks to the server with real
clients only: urllib/http.client for HTTP, raw sockets for malformed HTTP,
Debian's python3-websockets for WebSocket, curl where handy. Every wait is
bounded; nothing sleeps to synchronise.

With PARLEY_SPLIT=1 in the environment every Server sits behind a
splitproxy.SplitProxy: `port` is the proxy's, so everything a test sends
reaches parleyd cut into small pieces in separate reads; `real_port` is the
server's own (for the few checks that must bypass the proxy). `SPLIT` tells
a test it runs that way.
"""
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

PARLEYD = os.environ.get("PARLEYD", os.path.join(os.path.dirname(__file__), "../../build/parleyd"))
PARLEY_CLI = os.environ.get("PARLEY_CLI", os.path.join(os.path.dirname(__file__), "../../build/parley"))
WEB = os.environ.get("PARLEY_WEB", os.path.join(os.path.dirname(__file__), "../../web"))
DEMO_PASSWORD = "demo-password-123"
DEMO_EMAIL = "admin@demo.parley"
SPLIT = os.environ.get("PARLEY_SPLIT", "") not in ("", "0")


def ws_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One client->server WebSocket frame (masked, as RFC 6455 requires, unless
    mask=False). rsv: the RSV1..3 bits (0..7); length: a declared
    payload length other than the real one (for truncated frames)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = bytes([b0, mbit | n])
    elif n < 65536:
        hdr = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    k = (key * (len(payload) // 4 + 1))[:len(payload)]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(len(payload), "big")
    return hdr + key + masked


class Server:
    """A running parleyd. Use as a context manager or call stop()."""

    def __init__(self, *extra, data_dir=None, fast_hash=True, preexec_fn=None):
        """preexec_fn runs in the child before parleyd starts (e.g. to set
        resource limits)."""
        self.own_dir = data_dir is None
        self.preexec_fn = preexec_fn
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="parley-test-")
        self.extra = list(extra)
        # the key that seals stored secrets lives outside the data directory
        # (--secret-key-file); each Server has its own, kept across restarts
        self.key_dir = None
        if not any(str(a).startswith("--secret-key-file") for a in self.extra):
            self.key_dir = tempfile.mkdtemp(prefix="parley-key-")
            self.extra += ["--secret-key-file", os.path.join(self.key_dir, "secret.key")]
        if fast_hash:
            self.extra += ["--argon2-m-kib", "1024", "--argon2-t", "1"]
        self.proc = None
        self.stderr = None
        self.lines = []
        self.widget_key = None
        self.port = None        # what clients connect to: the proxy's port with PARLEY_SPLIT=1
        self.tls_port = None    # the HTTPS port with --tls-cert
        self.real_port = None   # parleyd's own port
        self.proxy = None
        try:
            self.start()
        except BaseException:
            self.close()   # no stray process or temp dir when the server cannot start
            raise

    def start(self, timeout=15):
        args = [PARLEYD, "--data", self.data_dir, "--host", "127.0.0.1", "--port", "0",
                "--demo-password", DEMO_PASSWORD, "--web", WEB, "--io-threads", "2",
                "--workers", "2"] + self.extra
        self.stderr_path = os.path.join(self.data_dir, "stderr.log")
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr, preexec_fn=self.preexec_fn)
        deadline = time.monotonic() + timeout
        self.port = None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"demo widget key: (\S+)", line)
            if m:
                self.widget_key = m.group(1)
            m = re.search(r"listening on https://[\d.]+:(\d+)", line)
            if m:
                # --tls-cert: with --plain-port, port is the plain one
                # (the helpers speak plain HTTP) and tls_port the HTTPS one
                self.tls_port = int(m.group(1))
                if any(str(a).startswith("--plain-port") for a in self.extra):
                    continue
                self.real_port = self.port = self.tls_port
                return
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                self.real_port = self.port = int(m.group(1))
                if SPLIT:
                    from splitproxy import SplitProxy
                    if self.proxy is None:
                        self.proxy = SplitProxy(self.real_port)
                    else:
                        self.proxy.retarget(self.real_port)
                    self.port = self.proxy.port
                return
        raise RuntimeError("parleyd did not start: %r / %s" % (self.lines, self.stderr_text()))

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the server; returns its exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        if self.stderr:
            self.stderr.close()
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(sig=signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        if self.proxy:
            self.proxy.close()
            self.proxy = None
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.key_dir:
            shutil.rmtree(self.key_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- HTTP ----
    def request(self, method, path, body=None, token=None, headers=None, raw_body=None, timeout=10):
        """Returns (status, parsed JSON or text, headers)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {}
        if body is not None:
            raw_body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        conn.request(method, path, body=raw_body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        ctype = r.getheader("Content-Type") or ""
        parsed = json.loads(data) if data and "json" in ctype else data.decode(errors="replace")
        return r.status, parsed, dict(r.getheaders())

    def raw(self, data, timeout=5, read_until_close=True):
        """Sends raw bytes on a fresh TCP connection; returns what came back."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if not read_until_close and b"\r\n\r\n" in out:
                    break
        except socket.timeout:
            pass
        s.close()
        return out

    def metric(self, name):
        """The value of a /metrics line `name value`."""
        st, body, _ = self.request("GET", "/metrics")
        m = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
        assert st == 200 and m, (st, name)
        return float(m.group(1))

    def cli(self, *args):
        r = subprocess.run([PARLEY_CLI, "--data", self.data_dir] + list(args), capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout, r.stderr

    def cli_ok(self, *args):
        """Runs the CLI; asserts it succeeded; returns its stdout."""
        rc, out, err = self.cli(*args)
        assert rc == 0, (args, rc, out, err)
        return out

    def new_tenant(self, slug, name=None, origins=None):
        """Creates a tenant with the CLI beside the running server; (id, widget key)."""
        args = ["tenant", "create", "--name", name or slug.title(), "--slug", slug]
        if origins:
            args += ["--origins", origins]
        out = self.cli_ok(*args)
        return re.search(r"tenant id: (\d+)", out).group(1), re.search(r"widget key: (\S+)", out).group(1)

    def new_user(self, slug, email, password, role="agent", name=None):
        """Creates a user with the CLI; returns its id."""
        args = ["user", "create", "--tenant", slug, "--email", email, "--password", password, "--role", role]
        if name:
            args += ["--name", name]
        return re.search(r"user id: (\d+)", self.cli_ok(*args)).group(1)

    # ---- accounts ----
    def login(self, email=DEMO_EMAIL, password=DEMO_PASSWORD, tenant=None):
        body = {"email": email, "password": password}
        if tenant:
            body["tenant"] = tenant
        st, b, _ = self.request("POST", "/v1/auth/login", body)
        assert st == 200, (st, b)
        return b

    def visitor(self, name="Visitor", widget_key=None):
        st, b, _ = self.request("POST", "/v1/widget/session", {"widget_key": widget_key or self.widget_key,
                                                              "name": name})
        assert st == 201, (st, b)
        return b

    def new_conversation(self, visitor_token, text="hello", client_id="first"):
        st, b, _ = self.request("POST", "/v1/widget/conversations", {"text": text, "client_id": client_id},
                                token=visitor_token)
        assert st == 201, (st, b)
        return b

    def ws_url(self, widget=False, key=None):
        if widget:
            return "ws://127.0.0.1:%d/v1/widget/ws?key=%s" % (self.port, key or self.widget_key)
        return "ws://127.0.0.1:%d/v1/ws" % self.port


class WS:
    """A realtime client over python3-websockets with bounded waits."""

    def __init__(self, ws):
        self.ws = ws
        self.pending = []   # frames read while waiting for something else

    @classmethod
    async def connect(cls, url, token=None, origin=None, **kw):
        import websockets
        headers = {"Origin": origin} if origin else None
        ws = await asyncio.wait_for(websockets.connect(url, extra_headers=headers, **kw), 10)
        c = cls(ws)
        if token:
            ack = await c.request({"type": "auth", "token": token})
            assert ack["type"] == "ack", ack
        return c

    async def send(self, frame):
        await self.ws.send(json.dumps(frame) if not isinstance(frame, (str, bytes)) else frame)

    async def recv(self, timeout=10):
        if self.pending:
            return self.pending.pop(0)
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def wait_for(self, pred, timeout=10):
        """Returns the first frame matching pred; keeps the others in order."""
        deadline = time.monotonic() + timeout
        skipped = []
        for i, f in enumerate(self.pending):
            if pred(f):
                self.pending.pop(i)
                return f
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame; saw %r" % skipped[-5:])
            f = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if pred(f):
                self.pending.extend(skipped)
                return f
            skipped.append(f)

    _ids = 0

    async def request(self, frame, timeout=10):
        """Sends a frame with a fresh id; returns its ack or error."""
        WS._ids += 1
        fid = "r%d" % WS._ids
        frame = dict(frame, id=fid)
        await self.send(frame)
        return await self.wait_for(lambda f: f.get("id") == fid and f["type"] in ("ack", "error"), timeout)

    async def close(self):
        await self.ws.close()


def wait_until(pred, timeout=10.0, what="condition", interval=0.05):
    """Polls an observable condition (each round asks the server or the
    system something real), bounded; returns the time it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def err(st, body, status, code, field=None):
    """Asserts an error answer (status, `{"error":{code, message, field?}}`,
    the code and, if given, the field); returns the error object."""
    assert st == status, (st, status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    e = body["error"]
    assert e["code"] == code, (e, code)
    assert isinstance(e.get("message"), str) and e["message"], e
    if field is not None:
        assert e.get("field") == field, (e, field)
    return e


def ok(st, b, status=200):
    """Asserts a success status; returns the body."""
    assert st == status, (st, b)
    return b


def run(coro):
    return asyncio.run(coro)


def main(tests):
    """Runs test functions in order; prints results; exits non-zero on failure."""
    import sys
    import traceback
    failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
            print("ok   %-50s %.2fs" % (t.__name__, time.monotonic() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
