"""A TCP proxy that re-cuts the client's byte stream at random points.

Put in front of parleyd (harness.Server does this when PARLEY_SPLIT=1), it
makes the server see every request, WebSocket frame and frame header in
small pieces, in separate reads: bytes from the client are forwarded in
pieces of 1..max_piece bytes, each its own send() on a TCP_NODELAY socket,
with a short pause between the pieces of one chunk so that the server
wakes up for each. Bytes from the server pass through unchanged.

End of stream propagates both ways: EOF becomes shutdown(SHUT_WR) on the
other side (half-close), a reset becomes a reset (SO_LINGER 0, close).

The cuts come from a seeded RNG; the seed is printed, and PARLEY_SPLIT_SEED
repeats the same cut decisions (every connection draws its own generator
from the proxy's, in accept order; how the client's bytes happen to be
grouped into reads still depends on timing). PARLEY_SPLIT_MAX_PIECE and
PARLEY_SPLIT_PAUSE_MS tune the piece size and the pause.

    python3 splitproxy.py UPSTREAM_PORT     # runs until interrupted
"""
import os
import random
import socket
import struct
import sys
import threading
import time

MAX_PIECE = int(os.environ.get("PARLEY_SPLIT_MAX_PIECE", "16"))
PAUSE = float(os.environ.get("PARLEY_SPLIT_PAUSE_MS", "1")) / 1000.0
# at most this many pauses per chunk read from the client: a large chunk is
# cut into this many pieces (of random sizes) instead of max_piece-sized
# ones, so the proxy never slows a bulk transfer by more than ~MAX_PAUSES ms
# per read
MAX_PAUSES = int(os.environ.get("PARLEY_SPLIT_MAX_PAUSES", "32"))
READ = 65536


def cut_points(rng, n, max_piece=MAX_PIECE, max_pieces=MAX_PAUSES + 1):
    """Offsets (0 < o < n, increasing) at which to cut n bytes."""
    if n <= 1:
        return []
    if n <= max_piece * max_pieces:
        cuts, pos = [], 0
        while True:
            pos += rng.randint(1, max_piece)
            if pos >= n:
                return cuts
            cuts.append(pos)
    return sorted(rng.sample(range(1, n), max_pieces - 1))


def _shut(sock, how):
    try:
        sock.shutdown(how)
    except OSError:
        pass


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass


class _Pair:
    """One proxied connection: a pump thread per direction.

    A reset on either side ends both directions: the sockets get SO_LINGER 0
    and shutdown(SHUT_RD), which wakes a thread blocked in recv() on them
    (closing a socket another thread reads does not), and are closed, with
    a RST, once both threads are out."""

    def __init__(self, proxy, client, upstream, rng):
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.rng = rng
        self.lock = threading.Lock()
        self.running = 2
        self.reset = False

    def start(self):
        for target in (self.up, self.down):
            threading.Thread(target=target, daemon=True).start()

    def abort(self):
        """Resets both sides (also used by SplitProxy.close)."""
        with self.lock:
            if self.reset:
                return
            self.reset = True
        for s in (self.client, self.upstream):
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            _shut(s, socket.SHUT_RD)

    def _exit(self):
        with self.lock:
            self.running -= 1
            last = self.running == 0
        if last:
            _close(self.client)
            _close(self.upstream)
            self.proxy._forget(self)

    def _eof(self, dst):
        """src ended cleanly: half-close dst (unless the pair was reset meanwhile)."""
        if not self.reset:
            _shut(dst, socket.SHUT_WR)
        self._exit()

    def up(self):
        """client -> server, re-cut."""
        discard = False   # the server stopped reading: drain the client, its answer still comes down
        while True:
            try:
                data = self.client.recv(READ)
            except OSError:
                self.abort()
                self._exit()
                return
            if not data:
                self._eof(self.upstream)
                return
            if discard or self.reset:
                continue
            cuts = cut_points(self.rng, len(data), self.proxy.max_piece)
            start = 0
            try:
                for i, end in enumerate(cuts + [len(data)]):
                    if i:
                        time.sleep(self.proxy.pause)
                    self.upstream.sendall(data[start:end])
                    start = end
            except OSError:
                discard = True

    def down(self):
        """server -> client, unchanged."""
        while True:
            try:
                data = self.upstream.recv(READ)
            except OSError:
                self.abort()
                self._exit()
                return
            if not data:
                self._eof(self.client)
                return
            try:
                self.client.sendall(data)
            except OSError:
                self.abort()
                self._exit()
                return


class SplitProxy:
    """Listens on 127.0.0.1:<random port> and forwards to 127.0.0.1:upstream_port."""

    def __init__(self, upstream_port, seed=None, max_piece=MAX_PIECE, pause=PAUSE):
        self.max_piece = max_piece
        self.pause = pause
        env_seed = os.environ.get("PARLEY_SPLIT_SEED")
        if seed is None:
            seed = int(env_seed) if env_seed else random.SystemRandom().randrange(1 << 32)
        self.seed = seed
        self.rng = random.Random(seed)
        self.upstream_port = upstream_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.pairs = set()
        self.lock = threading.Lock()
        self.closed = False
        print("splitproxy: 127.0.0.1:%d -> %d, PARLEY_SPLIT_SEED=%d" % (self.port, upstream_port, seed),
              flush=True)
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                if self.closed:
                    _close(client)
                    return
                rng = random.Random(self.rng.getrandbits(64))
                port = self.upstream_port
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(self, client, upstream, rng)
            with self.lock:
                self.pairs.add(pair)
            pair.start()

    def _forget(self, pair):
        with self.lock:
            self.pairs.discard(pair)

    def retarget(self, upstream_port):
        """New connections go to upstream_port (a restarted server)."""
        with self.lock:
            self.upstream_port = upstream_port

    def close(self):
        with self.lock:
            self.closed = True
            pairs = list(self.pairs)
        _shut(self.lsock, socket.SHUT_RDWR)   # wakes the accept() (closing the socket would not)
        _close(self.lsock)
        for p in pairs:
            p.abort()


if __name__ == "__main__":
    p = SplitProxy(int(sys.argv[1]))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        p.close()
