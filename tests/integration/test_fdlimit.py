"""parleyd out of file descriptors: it must wait, not spin.

The server runs with RLIMIT_NOFILE 256 (soft and hard). The test opens more
connections than that and sends a request on each: the kernel completes the
TCP handshakes (the listen backlog), the server answers until accept()
fails with EMFILE, and the rest wait in the backlog. While they are held
open the server must not busy-loop on the always-readable listening socket
or flood its log, and once the connections are closed it must serve again.
"""
import os
import re
import resource
import selectors
import socket
import time

from harness import Server, main

NOFILE = 256
OPEN = 400              # more connections than the server has descriptors
WINDOW = 2.0            # seconds the connections are held while measured
MAX_CPU = 0.3           # server CPU seconds allowed over WINDOW
MAX_ACCEPT_LINES = 20   # log lines about accept failures allowed over WINDOW
RECOVER = 5.0           # seconds within which /healthz must answer again
REQ = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


COUNTED = re.compile(rb"event=\S*accept\S*\s.*\b(pauses|refused|deferred)=\d+(\s|$)")


def accept_lines(path, start, end):
    """Scans what the server wrote to its stderr between two file offsets
    (a spinning server writes hundreds of MB): (lines about accept, how
    many of them carry a count, the last one)."""
    n = counted = 0
    last = None
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        for line in f:
            if left <= 0:
                break
            left -= len(line)
            if b"accept" in line and b"event=" in line:
                n += 1
                last = line
                if COUNTED.search(line.rstrip(b"\n")):
                    counted += 1
    return n, counted, last.decode(errors="replace").rstrip() if last else None


def served(socks, timeout):
    """Which of socks got a response head back within timeout: a set."""
    sel = selectors.DefaultSelector()
    got = {s: b"" for s in socks}
    done = set()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            got[s] += chunk
            if b"\r\n\r\n" in got[s]:
                done.add(s)
                sel.unregister(s)
            elif not chunk:
                sel.unregister(s)    # closed without an answer: not served
    sel.close()
    return done


def test_out_of_descriptors_waits_quietly():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < OPEN + 64:    # this process holds OPEN sockets
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with Server(preexec_fn=low_nofile) as s:
        pid = s.proc.pid
        base = open_fds(pid)
        socks = []
        try:
            for _ in range(OPEN):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
                c.sendall(REQ)
                socks.append(c)
            ok = served(socks, 3.0)
            assert len(ok) < OPEN, ("the server answered all %d connections: the descriptor limit "
                                    "was not reached (it had %d open at start)" % (OPEN, base))

            # held open: measure CPU and the log over WINDOW
            log_start = os.path.getsize(s.stderr_path)
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(WINDOW)
            cpu = cpu_seconds(pid) - cpu0
            elapsed = time.monotonic() - t0
            log_end = os.path.getsize(s.stderr_path)
            fds_held = open_fds(pid)
        finally:
            for c in socks:
                c.close()

        in_window, _, _ = accept_lines(s.stderr_path, log_start, log_end)
        in_all, counted, last = accept_lines(s.stderr_path, 0, log_end)

        # closed again: a fresh request is served within RECOVER seconds
        recovered_after = None
        t1 = time.monotonic()
        last_err = None
        while time.monotonic() - t1 < RECOVER:
            try:
                st, b, _ = s.request("GET", "/healthz", timeout=1)
                if st == 200:
                    recovered_after = time.monotonic() - t1
                    break
                last_err = st
            except OSError as e:
                last_err = e
            time.sleep(0.05)

        report = ("limit %d, %d descriptors open at start, %d while held; %d of %d connections served; "
                  "server CPU %.2f s over %.2f s; %d accept log lines in that window (%d in all, "
                  "%d with a count), e.g. %r; /healthz after closing: %s"
                  % (NOFILE, base, fds_held, len(ok), OPEN, cpu, elapsed, in_window, in_all, counted, last,
                     "%.2f s" % recovered_after if recovered_after is not None else "none (%r)" % last_err))
        print(report, flush=True)
        problems = []
        if cpu >= MAX_CPU:
            problems.append("spinning: %.2f s CPU in %.2f s (limit %.1f)" % (cpu, elapsed, MAX_CPU))
        if in_window >= MAX_ACCEPT_LINES:
            problems.append("%d accept log lines in %.1f s (limit %d)" % (in_window, elapsed, MAX_ACCEPT_LINES))
        if not counted:
            problems.append("no accept log line carries a count of the connections refused or deferred")
        if recovered_after is None:
            problems.append("/healthz not served within %.0f s after the connections closed" % RECOVER)
        assert not problems, "; ".join(problems)
        rc = s.stop()
        assert rc == 0, (rc, s.stderr_text()[-1000:])


if __name__ == "__main__":
    main([test_out_of_descriptors_waits_quietly])
