#!/usr/bin/env bash
# The analytics benchmark (docs/performance.md, "Analytics"):
#  1. parley-gen fills a data directory with MESSAGES messages over 30 days
#     through the real writer (the rollups kept as live traffic keeps them);
#  2. every dashboard route, 30-day range, all of the tenant and filtered by
#     one agent and one department: parley-bench --mode rest at RATE
#     requests/s for DURATION s, p50/p99 and the requests served;
#  3. the writer's apply time per request with and without the rollups
#     (chat at APPLY_RATE, alternating), then the chat latency with and
#     without them in one run: ab-chat.sh on one build, FLAGS_B=--no-rollups
#     (the sink off: the A/B only).
#   bench/run-analytics.sh BUILD
# Environment: MESSAGES (1000000), RATE (2000), CEIL_RATE (0: no ceiling pass), DURATION (10), APPLY_RATE (5000), AB=0 skips ab-chat,
# RATES and ROUNDS for ab-chat.sh, KEEP=DIR keeps (or reuses) the data.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
BUILD=${1:?usage: run-analytics.sh BUILD}
PARLEYD="$BUILD/parleyd"
PW=bench-password-1
MESSAGES=${MESSAGES:-1000000}
RATE=${RATE:-2000}
DURATION=${DURATION:-10}
DATA=${KEEP:-$(mktemp -d)}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(git -C "$ROOT" describe --always --dirty)"
if [ ! -e "$DATA/db/data.mdb" ]; then
	"$BUILD/parley" --data "$DATA" tenant create --name Bench --slug bench >/dev/null
	for i in $(seq 10); do
		"$BUILD/parley" --data "$DATA" user create --tenant bench --email "a$i@bench.parley" --password "$PW" \
			--role agent --name "Agent $i" >/dev/null
	done
	"$BUILD/parley" --data "$DATA" user create --tenant bench --email owner@bench.parley --password "$PW" \
		--role owner >/dev/null
	"$BUILD/bench/parley-gen" --data "$DATA" --tenant bench --messages "$MESSAGES"
fi
echo "# data: $(du -sh "$DATA/db" | cut -f1)"
# (parleyd_start wants the demo tenant's key: a data directory with a tenant has none)
"$PARLEYD" --data "$DATA" --host 127.0.0.1 --port 0 >"$DATA/out" 2>"$DATA/err" &
PID=$!
for _ in $(seq 300); do grep -q 'listening on' "$DATA/out" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$DATA/out" | cut -d: -f3)
[ -n "$PORT" ] || { cat "$DATA/err" >&2; exit 1; }
TOKEN=$(curl -s "http://127.0.0.1:$PORT/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"email\":\"owner@bench.parley\",\"password\":\"$PW\",\"tenant\":\"bench\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
AGENT=$(curl -s "http://127.0.0.1:$PORT/v1/users" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print([u["id"] for u in json.load(sys.stdin)["data"] if u["role"]=="agent"][0])')
DEPT=$(curl -s "http://127.0.0.1:$PORT/v1/departments" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
TO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
FROM=$(date -u -d '-30 days' +%Y-%m-%dT%H:%M:%SZ)
R="from=$FROM&to=$TO"
DAYS="from=$(date -u -d '-29 days' +%Y-%m-%d)&to=$(date -u +%Y-%m-%d)"
AN=/v1/analytics
routes=("$AN/overview?$R" "$AN/overview?$R&agent_id=$AGENT" "$AN/overview?$R&department_id=$DEPT"
	"$AN/volume?$R&interval=day" "$AN/volume?$R&interval=hour" "$AN/agents?$R" "$AN/departments?$R"
	"$AN/satisfaction?$R" "$AN/messages?$R" "$AN/agents?$R&format=csv" "$AN/volume?$R&interval=hour&format=csv"
	"$AN/satisfaction?$R&format=csv" "/v1/alerts?$R" "/v1/alerts?$R&kind=rating&agent_id=$AGENT"
	"/v1/visitors/stats?$DAYS" "/v1/visitors/live")
# one pass per offered rate: RATE for the latency at a steady load, then
# CEIL_RATE (0: skip) far above what one route can serve, for its ceiling
# (served per second, 8 connections)
for rate in "$RATE" "${CEIL_RATE:-0}"; do
	[ "$rate" = 0 ] && continue
	echo "# offered $rate requests/s for $DURATION s per route, 8 connections"
	echo "# route p50_ms p99_ms service_p99_ms served_per_s not_served"
	for path in "${routes[@]}"; do
		json=$(mktemp)
		"$BUILD/bench/parley-bench" --mode rest --port "$PORT" --email owner@bench.parley --tenant bench \
			--password "$PW" --url-path "$path" --rate "$rate" --duration "$DURATION" \
			--http-conns 8 --quiet --json "$json" >/dev/null
		python3 - "$json" "$path" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
lat, svc = d["latency"], d["service"]
name = re.sub(r"(from|to)=[^&]*&?", "", sys.argv[2]).rstrip("?&").replace("/v1/analytics/", "").replace("/v1/", "")
e = d["errors"]
print("%-40s %7.2f %7.2f %7.2f %8.0f %d (unsent %d, in flight at the end %d, other %d)" % (name, lat["p50_ms"],
      lat["p99_ms"], svc["p99_ms"], d["in_window_per_s"], e["total"], e.get("unsent", 0), e.get("in_flight_at_end", 0),
      e["total"] - e.get("unsent", 0) - e.get("in_flight_at_end", 0)))
PY
		rm -f "$json"
	done
done
parleyd_stop
[ -z "${KEEP:-}" ] && rm -rf "$DATA"
# the writer's time per request (apply, inside the transaction) with and
# without the rollups, alternating: less noisy than latency on a busy machine
echo "# writer apply time per request, chat at ${APPLY_RATE:-5000} msg/s for $DURATION s"
echo "# round flags requests apply_us_per_request"
for round in $(seq "${ROUNDS:-3}"); do
	for flags in "" "--no-rollups"; do
		D2=$(mktemp -d)
		# shellcheck disable=SC2086
		parleyd_start "$D2" $flags || exit 1
		"$BUILD/bench/parley-bench" --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors 200 --agents 10 \
			--rate "${APPLY_RATE:-5000}" --duration "$DURATION" --quiet >/dev/null
		curl -s "http://127.0.0.1:$PORT/metrics" | python3 -c '
import re, sys
t = sys.stdin.read()
n = float(re.search(r"^parley_storage_requests_total (\S+)", t, re.M).group(1))
a = float(re.search(r"^parley_storage_apply_seconds_total (\S+)", t, re.M).group(1))
print("%s %-13s %8d %6.2f" % (sys.argv[1], sys.argv[2] or "(rollups)", n, a / n * 1e6))' "$round" "$flags"
		parleyd_stop
		rm -rf "$D2"
	done
done
if [ "${AB:-1}" != 0 ]; then
	echo "# chat with the rollups (A) and without (B: --no-rollups)"
	FLAGS_B=--no-rollups "$ROOT/bench/ab-chat.sh" "$BUILD" "$BUILD"
fi
