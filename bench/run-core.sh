#!/usr/bin/env bash
# Reproduces the figures in docs/performance.md: starts a fresh parleyd per
# scenario (temp data dir, demo tenant), runs parley-bench against it, and
# prints one result line per run.
#   bench/run-core.sh [build-dir]        (default: ./build)
set -euo pipefail
B="${1:-build}"
PARLEYD="$B/parleyd"
BENCH="$B/bench/parley-bench"
PW=bench-password-1

start() {   # start [parleyd flags...] -> sets PID PORT KEY DATA
	DATA=$(mktemp -d)
	"$PARLEYD" --data "$DATA" --host 127.0.0.1 --port 0 --demo-password "$PW" "$@" >"$DATA/out" 2>"$DATA/err" &
	PID=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$DATA/out" 2>/dev/null && break
		sleep 0.1
	done
	PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$DATA/out" | cut -d: -f3)
	KEY=$(grep -o 'wk_[A-Za-z0-9_-]*' "$DATA/out")
}

stop() {
	kill -TERM "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	rm -rf "$DATA"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r)"
echo "## durable 1:1 chat: 200 visitors, 10 agents, 100-byte messages, 5 s per rate"
start
for rate in 5000 10000 15000 20000 25000; do
	printf 'rate=%-6s ' "$rate"
	"$BENCH" --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors 200 --agents 10 \
		--rate "$rate" --duration 5 --quiet | tail -1
done
curl -s "127.0.0.1:$PORT/metrics" | grep -E '^parley_storage_(commits|requests)_total'
stop

echo "## same, --sync=none (no fsync: relaxed durability, for comparison only)"
start --sync=none
for rate in 10000 20000; do
	printf 'rate=%-6s ' "$rate"
	"$BENCH" --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors 200 --agents 10 \
		--rate "$rate" --duration 5 --quiet | tail -1
done
stop

for n in 15000 19000; do
	echo "## idle WebSockets (authenticated visitors): $n connections"
	start
	"$BENCH" --mode idle --port "$PORT" --widget-key "$KEY" --connections "$n" --server-pid "$PID" \
		--settle 3 --source-addrs 127.0.0.2,127.0.0.3 --quiet | tail -1
	stop
done
