#!/usr/bin/env bash
# The chat knee of two builds (or one build with two flag sets), in one
# session: each side runs the durable chat scenario as an offered-load
# sweep (parley-bench --sweep, all rates back to back on one fresh server),
# alternating A, B, A, B … ROUNDS times, and prints per rate the delivered
# rate in the window and the delivery p99 of every run, then each side's
# knee: the highest offered rate, with every rate below it as well, that
# every one of its runs delivered (at least 99 % of the offered rate in the
# window, 0 errors) with the median of the runs' p99 under KNEE_P99_MS
# (100 ms) — the median, so that one run's blip does not decide.
#   bench/knee-ab.sh BUILD_A BUILD_B
# Environment: SWEEP (rates, "10000,15000,20000,25000,30000,35000,40000"),
# ROUNDS (2), DURATION (5 s per rate), FLAGS_A / FLAGS_B (parleyd flags),
# BENCH_FLAGS (parley-bench flags for both), KNEE_P99_MS (100).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
A="${1:?usage: knee-ab.sh BUILD_A BUILD_B}"
B="${2:?usage: knee-ab.sh BUILD_A BUILD_B}"
BENCH="$B/bench/parley-bench"
PW=bench-password-1
SWEEP=${SWEEP:-10000,15000,20000,25000,30000,35000,40000}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); A=$A ${FLAGS_A:-}  B=$B ($(git -C "$ROOT" describe --always --dirty)) ${FLAGS_B:-}; sweep $SWEEP, $DURATION s per rate"
for round in $(seq "$ROUNDS"); do
	for side in A B; do
		dir=$A flags=${FLAGS_A:-}
		[ "$side" = B ] && dir=$B flags=${FLAGS_B:-}
		PARLEYD="$dir/parleyd"
		DATA=$(mktemp -d)
		# shellcheck disable=SC2086
		parleyd_start "$DATA" $flags || exit 1
		# shellcheck disable=SC2086
		"$BENCH" --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors 200 --agents 10 \
			--duration "$DURATION" --sweep "$SWEEP" --quiet --json "$TMP/$side-$round.json" ${BENCH_FLAGS:-} >/dev/null
		parleyd_stop
		rm -rf "$DATA"
	done
done
python3 - "$TMP" "$ROUNDS" "${KNEE_P99_MS:-100}" <<'PY'
import json, os, statistics, sys
tmp, rounds, bound = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
runs = {s: [json.load(open(os.path.join(tmp, "%s-%d.json" % (s, r))))["rounds"] for r in range(1, rounds + 1)] for s in "AB"}
rates = sorted({int(x["rate"]) for s in runs for run in runs[s] for x in run})
print("# rate side: delivered_in_window_per_s/p99_ms per run")
knee = {}
for s in "AB":
    knee[s], held = 0, True        # the knee: the last rate of the unbroken run of good rates
    for rate in rates:
        cells, ok, p99s = [], True, []
        for run in runs[s]:
            x = next((x for x in run if int(x["rate"]) == rate), None)
            if x is None:
                cells.append("-")
                ok = False
                continue
            got, p99 = x["delivered_in_window_msgs_per_s"], x["delivery"]["p99_ms"]
            cells.append("%.0f/%.1f" % (got, p99))
            p99s.append(p99)
            ok = ok and got >= 0.99 * rate and x["errors"]["total"] == 0
        ok = ok and bool(p99s) and statistics.median(p99s) < bound
        print("%6d %s  %s" % (rate, s, "  ".join(cells)))
        held = held and ok
        if held:
            knee[s] = rate
print("# knee (median p99 < %.0f ms, >= 99%% delivered in every run): A %d msg/s, B %d msg/s, B/A %.2f" % (
      bound, knee["A"], knee["B"], knee["B"] / knee["A"] if knee["A"] else float("nan")))
PY
