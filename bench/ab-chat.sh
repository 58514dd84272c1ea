#!/usr/bin/env bash
# A/B comparison of two builds on the durable chat scenario, for a change on
# the message path: runs the builds alternately (A, B, A, B, …) in one
# session, a fresh server per run, at each rate, and prints every run's
# p50/p99/p99.9 plus the median p99 of each build and their ratio B/A.
# Alternating keeps slow drifts of a noisy machine (disk stalls, another
# process) from landing on one build only.
#   bench/ab-chat.sh BUILD_A BUILD_B
#     each BUILD holds parleyd and bench/parley-bench (the generator of
#     BUILD_B drives both, so only the server differs)
# Environment: RATES ("10000 20000"), ROUNDS (5 runs per build and rate),
# DURATION (10 s), OUT (a JSON file for every run, default none),
# FLAGS_A / FLAGS_B (extra parleyd flags for one side, e.g. the same build
# twice with different options), SETUP_A / SETUP_B (a command run after
# that side's server is up, before the load, with PORT, KEY, PW and DATA
# exported: e.g. bench/webhook-blackhole.sh registers a webhook endpoint
# that never answers), BENCH_FLAGS (extra parley-bench flags for both, e.g.
# --msg-words).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
A="${1:?usage: ab-chat.sh BUILD_A BUILD_B}"
B="${2:?usage: ab-chat.sh BUILD_A BUILD_B}"
BENCH="$B/bench/parley-bench"
PW=bench-password-1
RATES=${RATES:-"10000 20000"}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); A=$A ($(git -C "$A/.." describe --always --dirty 2>/dev/null || echo '?')) ${FLAGS_A:-} ${SETUP_A:+setup: $SETUP_A} B=$B ($(git -C "$ROOT" describe --always --dirty)) ${FLAGS_B:-} ${SETUP_B:+setup: $SETUP_B}"
echo "# rate build round p50_ms p99_ms p999_ms in_window_per_s errors missing disk_B_per_msg apply_us_per_req commit_us_per_req req_per_commit"
for rate in $RATES; do
	for round in $(seq "$ROUNDS"); do
		for side in A B; do
			dir=$A
			[ "$side" = B ] && dir=$B
			PARLEYD="$dir/parleyd"
			DATA=$(mktemp -d)
			flags=${FLAGS_A:-}
			[ "$side" = B ] && flags=${FLAGS_B:-}
			# shellcheck disable=SC2086
			parleyd_start "$DATA" $flags || exit 1
			setup=${SETUP_A:-}
			[ "$side" = B ] && setup=${SETUP_B:-}
			if [ -n "$setup" ]; then
				PORT=$PORT KEY=$KEY PW=$PW DATA=$DATA $setup >/dev/null || { parleyd_stop; exit 1; }
			fi
			json="$TMP/$rate-$side-$round.json"
			"$BENCH" --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors 200 --agents 10 \
				--rate "$rate" --duration "$DURATION" --quiet --json "$json" ${BENCH_FLAGS:-} >/dev/null
			# bytes the server wrote to disk (pages and fsyncs: not moved by CPU noise)
			wbytes=$(awk '/^write_bytes/ { print $2 }' "/proc/$PID/io" 2>/dev/null || echo 0)
			# the writer's own figures: apply and commit time per request, requests per commit
			wfig=$(curl -s "http://127.0.0.1:$PORT/metrics" | python3 -c '
import re, sys
t = sys.stdin.read()
def m(k):
    x = re.search(r"^parley_storage_%s (\S+)" % k, t, re.M)
    return float(x.group(1)) if x else 0.0
n, c = m("requests_total"), m("commits_total")
print("%.1f %.1f %.1f" % (m("apply_seconds_total") / max(n, 1) * 1e6, m("commit_seconds_total") / max(n, 1) * 1e6, n / max(c, 1)))')
			parleyd_stop
			rm -rf "$DATA"
			python3 - "$json" "$rate" "$side" "$round" "$wbytes" "$wfig" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lat = d["delivery"]
print("%s %s %s %.2f %.2f %.2f %.1f %d %d %.0f %s" % (sys.argv[2], sys.argv[3], sys.argv[4], lat["p50_ms"], lat["p99_ms"],
      lat["p999_ms"], d["delivered_in_window_msgs_per_s"], d["errors"]["total"], d["errors"]["missing"],
      int(sys.argv[5]) / max(d["sent"], 1), sys.argv[6]))
PY
			if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; cp "$json" "$OUT/ab-chat-$rate-$side-$round.json"; fi
		done
	done
done | tee "$TMP/all.txt"
python3 - "$TMP/all.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l[0].isdigit()]
rates = sorted({int(r[0]) for r in rows})
print("# rate  median p99 A  median p99 B  B/A   disk B/msg A  disk B/msg B")
for rate in rates:
    m = {s: statistics.median(float(r[4]) for r in rows if int(r[0]) == rate and r[1] == s) for s in "AB"}
    w = {s: statistics.median(float(r[9]) for r in rows if int(r[0]) == rate and r[1] == s and len(r) > 9) for s in "AB"}
    print("%6d  %10.2f ms  %10.2f ms  %.2f  %12.0f  %12.0f" % (rate, m["A"], m["B"], m["B"] / m["A"] if m["A"] else float("nan"), w["A"], w["B"]))
PY
