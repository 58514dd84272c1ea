#!/usr/bin/env bash
# Every benchmark scenario, sized for a 2-core machine (about 7 minutes):
# starts a fresh parleyd per scenario (temp data dir, demo tenant, default
# durable flags), runs parley-bench with --server-pid and --json, then
# bench/report.py regenerates the "Scenarios" part of docs/performance.md and
# the plots in docs/perf/.
#   bench/run-all.sh [build-dir] [results-dir]
#     build-dir    holds parleyd and bench/parley-bench (default: ./build)
#     results-dir  JSON results (default: docs/perf/results; emptied first)
# Environment: QUIET_LOAD (default 1.0): wait (up to QUIET_WAIT s, default
# 300) for the 1-minute load average to fall below it and the CPU to be
# less than 20 % busy over 2 s before starting;
# NO_REPORT=1 skips report.py; NO_NGINX=1 skips the nginx comparison;
# HTTP_RATES (default "10000 30000 40000 50000 60000 75000"): the offered req/s of
# the HTTP-path part, the same ladder for the cached conversation list,
# parleyd's static file and /healthz, and nginx's static file;
# ONLY="http rest ..." runs only these parts (chat fanout storm resume rest
# idle http) and removes only their JSON files from the results dir.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
B="${1:-build}"
RES="${2:-docs/perf/results}"
PARLEYD="$B/parleyd"
BENCH="$B/bench/parley-bench"
PW=bench-password-1
SRC=127.0.0.2,127.0.0.3
[ -x "$PARLEYD" ] && [ -x "$BENCH" ] || { echo "run-all: build parleyd and parley-bench in $B first" >&2; exit 2; }
HTTP_RATES_SET="${HTTP_RATES:+1}"
HTTP_RATES="${HTTP_RATES:-10000 30000 40000 50000 60000 75000}"
ONLY="${ONLY:-}"
# part NAME: is this part of the script to run?
part() { [ -z "$ONLY" ] || [[ " ${ONLY//,/ } " == *" $1 "* ]]; }
# the JSON files each part writes (removed before a run of that part)
declare -A FILES=([chat]="chat-sweep-*" [fanout]="fanout-*" [storm]="storm-*" [resume]="resume-*"
	[rest]="rest-[0-9]*" [idle]="idle-*" [http]="http-* rest-list-*")
if [ -n "$ONLY" ]; then
	for p in ${ONLY//,/ }; do
		[ -n "${FILES[$p]:-}" ] || { echo "run-all: ONLY: unknown part '$p' (chat fanout storm resume rest idle http)" >&2; exit 2; }
	done
fi
mkdir -p "$RES"
if [ -z "$ONLY" ]; then
	rm -f "$RES"/*.json
else
	for p in ${ONLY//,/ }; do
		read -ra globs <<<"${FILES[$p]}"
		for g in "${globs[@]}"; do rm -f "$RES"/$g.json; done
	done
fi
T=$(mktemp -d)
chmod 755 "$T"
PID=
NGINX_PID=
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	[ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && sleep 0.3 || true
	rm -rf "$T"
}
trap cleanup EXIT

wait_quiet
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

# the code measured: commit, and whether the tree had uncommitted changes
SOURCE=$(git describe --always --dirty 2>/dev/null || echo unknown)
SCRIPT_CMD="${ONLY:+ONLY='$ONLY' }${HTTP_RATES_SET:+HTTP_RATES='$HTTP_RATES' }${NO_NGINX:+NO_NGINX=$NO_NGINX }bench/run-all.sh${*:+ $*}"
RUN_ID="all-$(date -u +%Y%m%dT%H%M%SZ)-$$"
SERVER_CMD=
start() {   # start [parleyd flags...] -> sets PID PORT KEY DATA SERVER_CMD
	DATA=$(mktemp -d -p "$T")
	SERVER_CMD="parleyd --data \$(mktemp -d) --host 127.0.0.1 --port 0 --demo-password $PW${*:+ $*}"
	SERVER_CMD=${SERVER_CMD//$T/\$TMP}
	parleyd_start "$DATA" "$@" || exit 1
}

stop() {
	parleyd_stop
	rm -rf "$DATA"
}

# bench NAME LABEL [parley-bench args...]: one run, result line to stdout,
# JSON to $RES/NAME.json annotated with the scenario label, the server's
# command line, this script's command line and the run id.
bench() {
	local name="$1" label="$2"
	shift 2
	printf '%-22s ' "$name"
	local rc=0
	"$BENCH" --quiet --json "$RES/$name.json" "$@" >"$T/out.txt" 2>"$T/err.txt" || rc=$?
	if [ "$rc" != 0 ] || [ ! -s "$RES/$name.json" ]; then
		echo "FAILED (exit $rc)"
		cat "$T/err.txt" "$T/out.txt" >&2
		return 0
	fi
	tail -1 "$T/out.txt"
	annotate "$RES/$name.json" "label=$label" "suite=scenarios" "server_command=$SERVER_CMD" \
		"source=$SOURCE" "script_command=$SCRIPT_CMD" "run_id=$RUN_ID"
}

# CPU ticks (utime + stime) of the children of $1 (nginx workers)
child_ticks() {
	local sum=0 p
	for p in $(pgrep -P "$1"); do
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

if part chat; then
	echo "## chat: durable 1:1 chat, 200 visitors, 10 agents, 100-byte messages, 5 s per rate (--sweep), twice"
	for run in 1 2; do	# twice, each on a fresh server: the spread is part of the result
		start
		bench "chat-sweep-$run" chat --port "$PORT" --widget-key "$KEY" --password "$PW" --visitors 200 \
			--agents 10 --duration 5 --sweep 2500,5000,10000,15000,20000,25000,30000,35000 --server-pid "$PID"
		stop
	done
fi

if part fanout; then
	echo "## fanout: 20 agents on the inbox, 100 visitors creating conversations and posting over REST"
	start
	for rate in 250 500 1000 2000; do
		bench "fanout-$rate" fanout --mode fanout --port "$PORT" --widget-key "$KEY" --password "$PW" \
			--agents 20 --visitors 100 --messages 4 --rate "$rate" --duration 5 --server-pid "$PID"
	done
	stop
fi

if part storm; then
	echo "## storm: 10,000 visitor WebSockets (upgrade + auth), 256 in flight"
	start
	bench storm-10000 storm --mode storm --port "$PORT" --widget-key "$KEY" --connections 10000 \
		--concurrency 256 --source-addrs "$SRC" --server-pid "$PID"
	stop
fi

if part resume; then
	echo "## resume: 10,000 visitors dropped at once, 5 messages each while away, all resume"
	start
	bench resume-10000 resume --mode resume --port "$PORT" --widget-key "$KEY" --password "$PW" \
		--connections 10000 --agents 10 --messages 5 --concurrency 256 --source-addrs "$SRC" \
		--setup-threads 16 --server-pid "$PID"
	stop
fi

if part rest; then
	echo "## rest: agent REST reads (conversation list + 100 messages), 16 keep-alive connections"
	start
	for rate in 500 1000 1500 2000 3000; do
		bench "rest-$rate" rest --mode rest --port "$PORT" --widget-key "$KEY" --password "$PW" \
			--visitors 50 --messages 100 --http-conns 16 --rate "$rate" --duration 5 --server-pid "$PID"
	done
	stop
fi

if part idle; then
	echo "## idle: 15,000 authenticated visitor WebSockets held open"
	start
	bench idle-15000 idle --mode idle --port "$PORT" --widget-key "$KEY" --connections 15000 \
		--server-pid "$PID" --settle 3 --source-addrs "$SRC"
	stop
fi

if part http; then
	echo "## HTTP path at $HTTP_RATES req/s, 16 keep-alive connections: the cached conversation list,"
	echo "## a 100-byte static file and /healthz from parleyd, the same file from nginx"
	start
	for rate in $HTTP_RATES; do	# every list after the first comes from the server's list cache
		bench "rest-list-$rate" rest-list --mode rest --rest-reads list --port "$PORT" --widget-key "$KEY" \
			--password "$PW" --visitors 50 --messages 1 --http-conns 16 --rate "$rate" --duration 5 \
			--server-pid "$PID"
	done
	stop
	mkdir -p "$T/www"
	head -c 99 /dev/zero | tr '\0' 'x' >"$T/www/small.txt"
	echo >>"$T/www/small.txt"
	start --web "$T/www"
	for rate in $HTTP_RATES; do
		bench "http-parleyd-static-$rate" http-parleyd-static --mode rest --port "$PORT" --url-path /small.txt \
			--http-conns 16 --rate "$rate" --duration 5 --server-pid "$PID"
		bench "http-parleyd-healthz-$rate" http-parleyd-healthz --mode rest --port "$PORT" --url-path /healthz \
			--http-conns 16 --rate "$rate" --duration 5 --server-pid "$PID"
	done
	stop
	if [ -z "${NO_NGINX:-}" ]; then
		NGINX=$(command -v nginx || echo /usr/sbin/nginx)
		if [ ! -x "$NGINX" ]; then
			echo "run-all: nginx not installed (apt-get install -y nginx-light); skipping the comparison" >&2
		else
			NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
			mkdir -p "$T/nginx"
			cat >"$T/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 65;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	types { text/plain txt; }
	server {
		listen 127.0.0.1:$NPORT;
		root $T/www;
	}
}
EOF
			"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" &
			NGINX_PID=$!
			for _ in $(seq 50); do
				curl -sf "http://127.0.0.1:$NPORT/small.txt" >/dev/null 2>&1 && break
				sleep 0.1
			done
			SERVER_CMD="nginx $($NGINX -v 2>&1 | cut -d/ -f2) (worker_processes auto, access_log off) serving small.txt"
			HZ=$(getconf CLK_TCK)
			for rate in $HTTP_RATES; do
				t0=$(date +%s.%N)
				c0=$(child_ticks "$NGINX_PID")
				bench "http-nginx-static-$rate" http-nginx-static --mode rest --port "$NPORT" \
					--url-path /small.txt --http-conns 16 --rate "$rate" --duration 5
				c1=$(child_ticks "$NGINX_PID")
				t1=$(date +%s.%N)
				# nginx's workers are processes: their CPU from /proc/<worker>/stat over the run
				python3 - "$RES/http-nginx-static-$rate.json" "$c0" "$c1" "$HZ" "$t0" "$t1" <<'EOF'
import json, sys
p, c0, c1, hz, t0, t1 = sys.argv[1:7]
try:
    d = json.load(open(p))
except (OSError, ValueError):
    sys.exit(0)
d["server"] = {"wall_s": float(t1) - float(t0), "cpu_s": (int(c1) - int(c0)) / int(hz),
               "note": "nginx worker processes, /proc/<pid>/stat over the whole bench run"}
json.dump(d, open(p, "w"), indent=2)
EOF
			done
			kill -QUIT "$NGINX_PID" 2>/dev/null || true
			wait "$NGINX_PID" 2>/dev/null || true
			NGINX_PID=
		fi
	fi
fi

if [ -z "${NO_REPORT:-}" ]; then
	python3 bench/report.py "$RES"
fi
