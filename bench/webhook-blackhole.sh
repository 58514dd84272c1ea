#!/usr/bin/env bash
# A SETUP hook for bench/ab-chat.sh: a webhook receiver that never answers,
# and an endpoint of the demo tenant subscribed to message.created that
# points at it — the worst receiver for the chat path (every delivery
# holds a connection until --webhook-timeout-ms).
#   SETUP_B=bench/webhook-blackhole.sh FLAGS_B="--outbound-allow 127.0.0.1/32" bench/ab-chat.sh A B
# ab-chat.sh runs it after each parleyd start with PORT (the server's), PW
# and DATA (its data dir) in the environment; the listener is a child of
# this script's Python and lives until the server's data dir is removed
# (it checks every second).
set -euo pipefail
: "${PORT:?}" "${PW:?}" "${DATA:?}"
exec /usr/bin/python3 - "$PORT" "$PW" "$DATA" <<'PY'
import json, os, socket, sys, threading, time, urllib.request

port, pw, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# the receiver: accepts TCP connections and never reads or answers
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1024)
hole = ls.getsockname()[1]


def call(method, path, body, token=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=json.dumps(body).encode(),
                                 method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


tok = call("POST", "/v1/auth/login", {"email": "admin@demo.parley", "password": pw})["access_token"]
h = call("POST", "/v1/webhooks", {"url": "http://127.0.0.1:%d/hook" % hole, "events": ["message.created"]}, tok)
print("webhook endpoint %s -> 127.0.0.1:%d (never answers)" % (h["id"], hole), file=sys.stderr)
if os.fork():
    sys.exit(0)   # the bench goes on; the child holds the listener
os.setsid()
nul = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(nul, fd)   # the bench's pipes are not held open
held = []


def accept():
    while True:
        c, _ = ls.accept()
        held.append(c)   # kept open, never read


threading.Thread(target=accept, daemon=True).start()
while os.path.isdir(data):
    time.sleep(1)
PY
