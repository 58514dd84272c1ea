#!/usr/bin/env bash
# A long durable chat run: does latency hold and does memory stay flat?
# Starts a fresh parleyd (fsync on), drives it with parley-bench chat at
# RATE msg/s over VISITORS conversations for DURATION seconds, and every
# 10 s samples the server's resident memory (anonymous and file-backed:
# LMDB's map of the data file), the data file's size and the writer's
# slow-commit counters. Writes the generator's JSON, the samples and the
# server's log lines about slow commits to OUT.
#   bench/run-long.sh [build-dir] [out-dir]
# Environment: RATE (10000), VISITORS (1000), AGENTS (10), DURATION (900).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
B="${1:-build}"
OUT="${2:-$ROOT/docs/perf/results/long}"
PARLEYD="$B/parleyd"
BENCH="$B/bench/parley-bench"
PW=bench-password-1
RATE=${RATE:-10000}
VISITORS=${VISITORS:-1000}
AGENTS=${AGENTS:-10}
DURATION=${DURATION:-900}
mkdir -p "$OUT"
DATA=$(mktemp -d)
trap 'parleyd_stop; rm -rf "$DATA"' EXIT
parleyd_start "$DATA" || exit 1
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores; source $(git -C "$ROOT" describe --always --dirty); pid $PID port $PORT"
echo "# rate $RATE msg/s, $VISITORS visitors, $AGENTS agents, $DURATION s"

sample() {	# t rss_kb anon_kb file_kb data_file_bytes slow_commits commit_max_s trims
	local st m
	st=$(cat "/proc/$PID/status" 2>/dev/null) || return 0
	m=$(curl -s "http://127.0.0.1:$PORT/metrics" || true)
	printf '%s %s %s %s %s %s %s %s\n' "$(date +%s)" \
		"$(awk '/^VmRSS/{print $2}' <<<"$st")" "$(awk '/^RssAnon/{print $2}' <<<"$st")" \
		"$(awk '/^RssFile/{print $2}' <<<"$st")" "$(stat -c %s "$DATA/db/data.mdb" 2>/dev/null || echo 0)" \
		"$(awk '/^parley_storage_slow_commits_total/{print $2}' <<<"$m")" \
		"$(awk '/^parley_storage_commit_max_seconds/{print $2}' <<<"$m")" \
		"$(awk '/^parley_memory_trims_total/{print $2}' <<<"$m")"
}
(
	echo "# t rss_kb anon_kb file_kb data_file_bytes slow_commits commit_max_s trims"
	while kill -0 "$PID" 2>/dev/null; do
		sample
		sleep 10
	done
) >"$OUT/long-samples.txt" &
SAMPLER=$!
"$BENCH" --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors "$VISITORS" --agents "$AGENTS" \
	--rate "$RATE" --duration "$DURATION" --server-pid "$PID" --json "$OUT/long-chat.json" \
	2>"$OUT/long-progress.txt" | tail -4
sample >>"$OUT/long-samples.txt"
kill "$SAMPLER" 2>/dev/null || true
grep -E 'slow_commit|accept_paused|error' "$DATA/err" >"$OUT/long-server-log.txt" || true
annotate "$OUT/long-chat.json" "label=long-chat" "source=$(git -C "$ROOT" describe --always --dirty)" \
	"script_command=RATE=$RATE VISITORS=$VISITORS AGENTS=$AGENTS DURATION=$DURATION bench/run-long.sh $*"
echo "# seconds whose p99 was over 50 ms:"
grep -E 'p99=' "$OUT/long-progress.txt" | awk -F'p99=' '{split($2,a,"ms"); if (a[1]+0 > 50) print}' | head -40
echo "# memory samples (first, at 60 s, at the end):"
sed -n '2p;8p;$p' "$OUT/long-samples.txt"
