"""SMTP servers on loopback for the email tests.

Sink: a real SMTP server (Debian's python3-aiosmtpd) that keeps every
message it accepts, optionally asking for a login, optionally refusing
recipients with a 5xx. Refuser-like misbehaviour that aiosmtpd cannot show
(a server that closes the connection, one that never answers) comes from
RawServer, a plain socket server. Each binds 127.0.0.1 on a free port;
every wait is bounded.
"""
import email
import email.policy
import logging
import socket
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

# a login without TLS is what these tests want; aiosmtpd warns about it
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Received:
    """One accepted message: the envelope, the session's login, the parsed message."""

    def __init__(self, envelope, login):
        self.mail_from = envelope.mail_from
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.raw = envelope.content
        self.login = login
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)

    def text(self):
        return self.msg.get_body(("plain",)).get_content()

    def html(self):
        return self.msg.get_body(("html",)).get_content()


class Sink:
    """aiosmtpd on 127.0.0.1: keeps what it accepts in .messages."""

    def __init__(self, login=None, refuse_rcpt=None, port=None):
        """login: (user, password) it requires (AUTH offered without TLS);
        refuse_rcpt: an SMTP reply ("550 5.1.1 no such user") for every RCPT."""
        self.messages = []
        self.cond = threading.Condition()
        self.login = login
        self.refuse_rcpt = refuse_rcpt
        self.port = port or free_port()
        kw = {}
        if login:
            kw = dict(authenticator=self._auth, auth_require_tls=False, auth_required=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kw)
        self.controller.start()

    def _auth(self, server, session, envelope, mechanism, data):
        ok = (data.login.decode(), data.password.decode()) == self.login
        if not ok:   # not handled: aiosmtpd answers 535
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=data.login.decode())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data if session.authenticated else None
        with self.cond:
            self.messages.append(Received(envelope, login))
            self.cond.notify_all()
        return "250 2.0.0 Ok: queued as T%d" % len(self.messages)

    def wait(self, n=1, timeout=10):
        """Waits until at least n messages arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d messages, got %d" % (n, len(self.messages)))
                self.cond.wait(left)
            return list(self.messages)

    def close(self):
        self.controller.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawServer:
    """A TCP server on 127.0.0.1 that misbehaves: mode "drop" closes each
    connection at once (no greeting), "drop_after_data" greets and answers
    like SMTP up to DATA, then closes; "stall" accepts and never says a
    word. Counts connections."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.held = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            if self.mode == "drop":
                c.close()
            elif self.mode == "stall":
                self.held.append(c)
            else:
                threading.Thread(target=self._smtp_then_drop, args=(c,), daemon=True).start()

    def _smtp_then_drop(self, c):
        c.settimeout(10)
        try:
            c.sendall(b"220 raw.test ESMTP\r\n")
            f = c.makefile("rb")
            for line in f:
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    c.sendall(b"250 raw.test\r\n")
                elif cmd in (b"MAIL", b"RCPT"):
                    c.sendall(b"250 OK\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go ahead\r\n")
                    break
                else:
                    c.sendall(b"250 OK\r\n")
        except OSError:
            pass
        c.close()

    def close(self):
        self.stopped = True
        self.thread.join(5)
        for c in self.held:
            c.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
