#!/usr/bin/env bash
# Reproduces the headline figures in docs/performance.md ("Durable 1:1 chat",
# "Idle WebSocket connections"): starts a fresh parleyd per scenario (temp
# data dir, demo tenant), runs parley-bench against it, prints one result
# line per run and writes each run's JSON (parley-bench --json, annotated)
# to the results dir; bench/report.py turns them into the doc's tables.
#   bench/run-core.sh [build-dir] [results-dir]
#     build-dir    holds parleyd and bench/parley-bench (default: ./build)
#     results-dir  JSON results (default: $RESULTS, else docs/perf/results/core
#                  of this tree); its core-*.json files are removed first
# Environment (defaults = the figures in the doc): RATES ("5000 10000 15000
# 20000 25000 30000 35000", durable chat), NOSYNC_RATES ("10000 20000", --sync=none),
# IDLE_CONNS ("15000 19000"), DURATION (5 s per rate), REPEAT (3 durable chat
# runs per rate; the report uses the one with the median p99).
# Files: core-host.json (label core-host: OS, file system, fdatasync time),
# core-chat-RATE.json (core-chat), core-storage.json (core-storage: the
# writer's commit counters after the durable runs), core-chat-nosync-RATE.json
# (core-chat-nosync), core-idle-N.json (core-idle); see bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
B="${1:-build}"
RES="${2:-${RESULTS:-$ROOT/docs/perf/results/core}}"
PARLEYD="$B/parleyd"
BENCH="$B/bench/parley-bench"
PW=bench-password-1
RATES=${RATES:-"5000 10000 15000 20000 25000 30000 35000"}
NOSYNC_RATES=${NOSYNC_RATES:-"10000 20000"}
REPEAT=${REPEAT:-3}	# durable chat runs per rate (single transient stalls of the disk
			# would otherwise decide a rate's p99)
IDLE_CONNS=${IDLE_CONNS:-"15000 19000"}
DURATION=${DURATION:-5}
[ -x "$PARLEYD" ] && [ -x "$BENCH" ] || { echo "run-core: build parleyd and parley-bench in $B first" >&2; exit 2; }
mkdir -p "$RES"
rm -f "$RES"/core-*.json

# the exact command line, with the environment knobs that were set
SCRIPT_CMD=
for v in RATES NOSYNC_RATES IDLE_CONNS DURATION REPEAT; do
	if printenv "$v" >/dev/null; then SCRIPT_CMD+="$v=$(q "${!v}") "; fi
done
SCRIPT_CMD+="bench/run-core.sh"
for a in "$@"; do SCRIPT_CMD+=" $(q "$a")"; done
RUN_ID="core-$(date -u +%Y%m%dT%H%M%SZ)-$$"
SOURCE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
NOFILE=$(ulimit -Hn)
case $NOFILE in *[!0-9]*) NOFILE="\"$NOFILE\"" ;; esac
SERVER_CMD=

start() {   # start [parleyd flags...] -> sets PID PORT KEY DATA SERVER_CMD
	DATA=$(mktemp -d)
	SERVER_CMD="parleyd --data \$(mktemp -d) --host 127.0.0.1 --port 0 --demo-password $PW${*:+ $*}"
	parleyd_start "$DATA" "$@" || exit 1
}

stop() {
	parleyd_stop
	rm -rf "$DATA"
}

# bench FILE LABEL [parley-bench args...]: one run; its result line to stdout,
# its JSON to $RES/FILE annotated with the label, the server's command line,
# this script's command line, the run id and the source tree.
bench() {
	local file="$RES/$1" label="$2"
	shift 2
	"$BENCH" "$@" --quiet --json "$file" | tail -1
	annotate "$file" "label=$label" "suite=core" "server_command=$SERVER_CMD" \
		"script_command=$SCRIPT_CMD" "run_id=$RUN_ID" "parent_run_id=${COMPARE_RUN_ID:-}" \
		"source=$SOURCE" "nofile_hard:=$NOFILE"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r)"
# the machine: OS, file system of the data dirs and its fdatasync time for
# one 4 KiB page (200 tries), to core-host.json
DATA=$(mktemp -d)
python3 - "$RES/core-host.json" "$DATA" "$SCRIPT_CMD" "$RUN_ID" "${COMPARE_RUN_ID:-}" "$SOURCE" \
	"$(df --output=fstype "$DATA" 2>/dev/null | tail -1 || echo '?')" <<'EOF'
import datetime, json, os, sys, time
p, data, script, run_id, parent, source, fs = sys.argv[1:8]
t = []
fd = os.open(os.path.join(data, "probe"), os.O_WRONLY | os.O_CREAT, 0o600)
for _ in range(200):
    os.pwrite(fd, b"x" * 4096, 0)
    t0 = time.perf_counter()
    os.fdatasync(fd)
    t.append((time.perf_counter() - t0) * 1000)
os.close(fd)
t.sort()
osname = "?"
try:
    for line in open("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            osname = line.split("=", 1)[1].strip().strip('"')
except OSError:
    pass
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:")), None)
u = os.uname()
d = {"label": "core-host", "suite": "core", "run_id": run_id, "parent_run_id": parent,
     "script_command": script, "source": source, "os": osname, "data_fs": fs,
     "fdatasync_4k_ms": {"count": len(t), "p50_ms": t[len(t) // 2], "p99_ms": t[int(len(t) * 0.99) - 1],
                         "max_ms": t[-1]},
     "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
             .replace("+00:00", "Z"),
     "machine": {"nproc": os.cpu_count(), "kernel": u.release, "arch": u.machine, "cpu": cpu,
                 "mem_kb": mem}}
with open(p, "w") as fh:
    json.dump(d, fh, indent=2)
EOF
rm -rf "$DATA"
echo "## durable 1:1 chat: 200 visitors, 10 agents, 100-byte messages, $DURATION s per rate"
start
for rate in $RATES; do
	for run in $(seq "$REPEAT"); do	# the report takes the run with the median p99
		printf 'rate=%-6s run=%s ' "$rate" "$run"
		bench "core-chat-$rate-$run.json" core-chat --port "$PORT" --widget-key "$KEY" --password "$PW" \
			--visitors 200 --agents 10 --rate "$rate" --duration "$DURATION" --server-pid "$PID"
		annotate "$RES/core-chat-$rate-$run.json" "repeat:=$run" "repeats:=$REPEAT"
	done
done
METRICS=$(curl -s "127.0.0.1:$PORT/metrics" | grep -E '^parley_storage_(commits|requests)_total' || true)
echo "$METRICS"
python3 - "$RES/core-storage.json" "$SERVER_CMD" "$SCRIPT_CMD" "$RUN_ID" "${COMPARE_RUN_ID:-}" \
	"$SOURCE" "$RATES" "$METRICS" <<'EOF'
import datetime, json, os, sys
p, server, script, run_id, parent, source, rates, metrics = sys.argv[1:9]
m = {}
for line in metrics.splitlines():
    parts = line.split()
    if len(parts) >= 2:
        m[parts[0].split("{")[0]] = float(parts[1])
u = os.uname()
d = {"label": "core-storage", "suite": "core", "run_id": run_id, "parent_run_id": parent,
     "server_command": server, "script_command": script, "source": source,
     "rates": [int(r) for r in rates.split()],
     "storage_commits": m.get("parley_storage_commits_total"),
     "storage_requests": m.get("parley_storage_requests_total"),
     "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
             .replace("+00:00", "Z"),
     "machine": {"nproc": os.cpu_count(), "kernel": u.release, "arch": u.machine}}
with open(p, "w") as fh:
    json.dump(d, fh, indent=2)
EOF
stop

echo "## same, --sync=none (no fsync: relaxed durability, for comparison only)"
start --sync=none
for rate in $NOSYNC_RATES; do
	printf 'rate=%-6s ' "$rate"
	bench "core-chat-nosync-$rate.json" core-chat-nosync --port "$PORT" --widget-key "$KEY" \
		--password "$PW" --visitors 200 --agents 10 --rate "$rate" --duration "$DURATION" --server-pid "$PID"
done
stop

for n in $IDLE_CONNS; do
	echo "## idle WebSockets (authenticated visitors): $n connections"
	start
	# two generator processes, one per source address: the generator is
	# not limited by one process's open files, the server (one process) is
	bench "core-idle-$n.json" core-idle --mode idle --port "$PORT" --widget-key "$KEY" \
		--connections "$n" --server-pid "$PID" --settle 3 --source-addrs 127.0.0.2,127.0.0.3 --procs 2
	stop
done
