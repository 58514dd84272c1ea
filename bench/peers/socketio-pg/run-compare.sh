#!/usr/bin/env bash
# shellcheck disable=SC2046  # $(pg_pids) is split into pids on purpose
# Parley vs. the Socket.IO + PostgreSQL reference peer, one command:
#   1. the peer (run.sh: fresh PostgreSQL cluster + node server.js): the chat
#      scenario of bench/run-core.sh (200 visitors, 10 agents, 100-byte
#      messages, 5 s per rate) over a rate ladder, REPEAT runs per rate, until
#      it saturates; then idle connections (5,000 and 15,000, a fresh peer
#      each, --server-pid = the node process; PostgreSQL's Pss apart);
#   2. parleyd: bench/run-core.sh as it is, then the same ladder (same
#      repeats), and idle connections at the counts run-core.sh lacks;
#   3. the ratios: throughput at equal p99 (highest offered rate sustained
#      with p99 < 50 ms), p99 at equal load (highest rate both sustain),
#      memory per idle connection.
#
#   bench/peers/socketio-pg/run-compare.sh [build-dir] [results-dir]
#     build-dir    must hold parleyd and bench/parley-bench (default ./build), e.g.
#       cmake -S . -B /tmp/build-peer -DCMAKE_BUILD_TYPE=Release && make -C /tmp/build-peer -j2 parleyd parley-bench
#     results-dir  the JSON of every run (default: $RESULTS, else
#                  docs/perf/results/compare of this tree); its peer-*.json,
#                  parleyd-*.json, session.json and core/core-*.json are removed first;
#                  bench/run-core.sh writes into its core/ subdirectory
# bench/report.py turns the results into the doc's comparison section. Files:
#   peer-chat-RATE-RUN.json, parleyd-chat-RATE-RUN.json   labels compare-peer-chat,
#       compare-parleyd-chat; fields target (peer|parleyd), rate, repeat,
#       repeats, server_cpu_cores and (peer) postgres_cpu_cores
#   peer-idle-N.json, parleyd-idle-N.json   compare-peer-idle, compare-parleyd-idle;
#       the peer's postgres_pss_kb_before/_after; a count that run-core.sh
#       measured is copied from core/core-idle-N.json (from_run_core: true)
#   session.json   compare-session: settings, versions, where each ladder stopped
# Environment: LADDER (rates; every rate up to ALWAYS_UP_TO=5000 runs, higher
# ones only until the server saturates), REPEAT (runs per rate, the run with
# the median p99 counts: 3), IDLE_CONNS ("5000 15000"), DURATION (5),
# QUIET_WAIT_S (max seconds to wait for an idle CPU, 300; also caps the
# 60 s waits before each run), SKIP_CORE=1 (leave out run-core.sh: only for
# checking this script). RATES, NOSYNC_RATES and, when set, IDLE_CONNS and
# DURATION reach bench/run-core.sh too.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
B=$(cd "${1:-build}" && pwd)
RES="${2:-${RESULTS:-$ROOT/docs/perf/results/compare}}"
BENCH="$B/bench/parley-bench"
PARLEYD="$B/parleyd"
PW=bench-password-1
LADDER=${LADDER:-"500 1000 1500 2000 3000 5000 7500 10000 15000 20000 25000"}
ALWAYS_UP_TO=${ALWAYS_UP_TO:-5000}	# the ladder stops at saturation only above this rate
IDLE_CONNS=${IDLE_CONNS:-"5000 15000"}
DURATION=${DURATION:-5}
REPEAT=${REPEAT:-3}
P99_LIMIT_MS=50
[ -x "$BENCH" ] && [ -x "$PARLEYD" ] || { echo "need $PARLEYD and $BENCH" >&2; exit 2; }
QUIET_BETWEEN=$((${QUIET_WAIT_S:-300} < 60 ? ${QUIET_WAIT_S:-300} : 60))
mkdir -p "$RES"
RES=$(cd "$RES" && pwd)
rm -f "$RES"/peer-*.json "$RES"/parleyd-*.json "$RES/session.json" "$RES"/core/core-*.json

# the exact command line, with the environment knobs that were set
SCRIPT_CMD=
for v in LADDER ALWAYS_UP_TO REPEAT IDLE_CONNS DURATION QUIET_WAIT_S SKIP_CORE RATES NOSYNC_RATES \
	PG_POOL_MAX; do
	if printenv "$v" >/dev/null; then SCRIPT_CMD+="$v=$(q "${!v}") "; fi
done
SCRIPT_CMD+="bench/peers/socketio-pg/run-compare.sh"
for a in "$@"; do SCRIPT_CMD+=" $(q "$a")"; done
RUN_ID="compare-$(date -u +%Y%m%dT%H%M%SZ)-$$"
SOURCE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PEER_SERVER_CMD="bench/peers/socketio-pg/run.sh 0   # node server.js + a throw-away PostgreSQL cluster (fsync=on, synchronous_commit=on, pool of ${PG_POOL_MAX:-10})"
PARLEY_SERVER_CMD="parleyd --data \$(mktemp -d) --host 127.0.0.1 --port 0 --demo-password $PW"

WORK=$(mktemp -d /tmp/parley-compare.XXXXXX)
RUN_PID=""
PID=""
DATA=""

stop_peer() {
	[ -n "$RUN_PID" ] || return 0
	kill -TERM "$RUN_PID" 2>/dev/null || true
	for _ in $(seq 300); do	# up to 30 s (run.sh stops node, then PostgreSQL)
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$RUN_PID" 2>/dev/null || true
	wait "$RUN_PID" 2>/dev/null || true
	RUN_PID=""
}

stop_parley() {
	parleyd_stop
	[ -n "$DATA" ] && rm -rf "$DATA"
	DATA=""
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_peer
	stop_parley
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------ helpers
wait_quiet() {	# [limit_s]: until the machine is (almost) idle, bounded
	local limit=${1:-${QUIET_WAIT_S:-300}} waited=0 busy
	while :; do
		busy=$(cpu_busy_pct)
		[ "$busy" -le 10 ] && return 0
		if [ "$waited" -ge "$limit" ]; then
			echo "# WARNING: machine still ${busy}% busy after ${limit}s; results may be disturbed" >&2
			ps -eo pid,pcpu,comm --sort=-pcpu | head -5 >&2
			return 0
		fi
		echo "# waiting for a quiet machine (${busy}% busy)" >&2
		sleep 8
		waited=$((waited + 10))
	done
}

cpu_ticks() {	# utime+stime of the given pids, in clock ticks
	local t=0 p f
	for p in "$@"; do
		f=$(cut -d')' -f2 "/proc/$p/stat" 2>/dev/null) || continue
		set -- $f
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}

pg_pids() { echo "$PG_PID" $(pgrep -P "$PG_PID" 2>/dev/null || true); }

pss_kb() {	# summed Pss of the given pids (shared memory split, not double counted)
	local p s=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

target_name() { if [ "$1" = socketio ]; then echo peer; else echo parleyd; fi; }

# annotate_run FILE KIND TARGET [KEY=...]: label compare-TARGET-KIND and the
# fields every result of this script carries
annotate_run() {
	local f=$1 kind=$2 tgt=$3 sc
	shift 3
	if [ "$tgt" = peer ]; then sc=$PEER_SERVER_CMD; else sc=$PARLEY_SERVER_CMD; fi
	annotate "$f" "label=compare-$tgt-$kind" "suite=compare" "target=$tgt" "server_command=$sc" \
		"script_command=$SCRIPT_CMD" "run_id=$RUN_ID" "source=$SOURCE" "$@"
}

field() {	# field NAME LINE -> value of NAME=... in a result line
	tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2; exit}'
}

# sustained: p99 under the limit, >= 98 % of the offered rate delivered in
# the window, no errors.
sustained() {	# sustained RATE LINE -> exit 0/1
	local p99 inw err
	p99=$(field p99_ms "$2")
	inw=$(field in_window_msgs_per_s "$2")
	err=$(field errors "$2")
	[ -n "$p99" ] && [ -n "$inw" ] && [ "${err:-1}" = 0 ] &&
		awk -v p="$p99" -v w="$inw" -v r="$1" -v l="$P99_LIMIT_MS" 'BEGIN { exit !(p < l && w >= 0.98 * r) }'
}

saturated() {	# far past the knee: stop the ladder
	local p99 inw
	p99=$(field p99_ms "$2")
	inw=$(field in_window_msgs_per_s "$2")
	[ -z "$p99" ] || awk -v p="$p99" -v w="$inw" -v r="$1" 'BEGIN { exit !(p > 1000 || w < 0.9 * r) }'
}

start_peer() {	# -> RUN_PID PORT KEY NODE_PID PG_PID
	local log="$WORK/peer.out"
	"$HERE/run.sh" 0 >"$log" 2>"$WORK/peer.err" &
	RUN_PID=$!
	for _ in $(seq 9000); do	# up to 15 min: a first run may apt-get install / npm ci
		grep -q '^peer: postgres pid' "$log" 2>/dev/null && break
		kill -0 "$RUN_PID" 2>/dev/null || { cat "$WORK/peer.err" >&2; echo "peer failed to start" >&2; exit 1; }
		sleep 0.1
	done
	grep -q '^peer: postgres pid' "$log" || { cat "$WORK/peer.err" >&2; echo "peer did not start" >&2; exit 1; }
	PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | cut -d: -f3)
	KEY=$(grep -o 'wk_[A-Za-z0-9_-]*' "$log")
	NODE_PID=$(awk '/^peer: node pid/ {print $4}' "$log")
	PG_PID=$(awk '/^peer: postgres pid/ {print $4}' "$log")
}

start_parley() {	# -> PID PORT KEY DATA (as bench/run-core.sh)
	DATA=$(mktemp -d)
	parleyd_start "$DATA" || exit 1
}

chat() {	# chat PROTOCOL RATE JSON -> result line on stdout, JSON to the file
	timeout $((DURATION * 3 + 120)) "$BENCH" --protocol "$1" --port "$PORT" --widget-key "$KEY" \
		--password "$PW" --visitors 200 --agents 10 --rate "$2" --duration "$DURATION" --quiet \
		--json "$3" | tail -1 || true
}

idle() {	# idle PROTOCOL N SERVER_PID JSON -> result line, JSON to the file
	timeout 300 "$BENCH" --protocol "$1" --mode idle --port "$PORT" --widget-key "$KEY" \
		--connections "$2" --server-pid "$3" --settle 3 --source-addrs 127.0.0.2,127.0.0.3 --quiet \
		--json "$4" | tail -1 || true
}

median_line() {	# result lines on stdin -> the one with the median p99
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^p99_ms=/) { split($i, v, "="); print v[2] "\t" $0 } }' |
		sort -g | awk -F'\t' '{ l[NR] = $2 } END { if (NR) print l[int((NR + 1) / 2)] }'
}

server_pid() { if [ "$1" = socketio ]; then echo "$NODE_PID"; else echo "$PID"; fi; }

settle_server() {	# after an overload: until the server (and PostgreSQL) idle again, <= 30 s
	local a b pids
	pids=$(server_pid "$1")
	if [ "$1" = socketio ]; then pids="$pids $(pg_pids)"; fi
	for _ in $(seq 30); do
		a=$(cpu_ticks $pids)
		sleep 1
		b=$(cpu_ticks $pids)
		[ $((b - a)) -le $((TCK / 20)) ] && return 0
	done
}

# ladder PROTOCOL ASSOC: a short warm-up, then each rate of LADDER REPEAT
# times (every run printed, with the server's CPU use in cores); ASSOC[rate]
# = the run with the median p99; LADDER_DONE = the rates run. Stops above
# ALWAYS_UP_TO once the median run is saturated.
ladder() {
	local proto=$1 r i line runs med s0 s1 p0 p1 t0 t1 cpu sp tgt json
	local -n OUT=$2
	LADDER_DONE=""
	LADDER_STOP=""
	tgt=$(target_name "$proto")
	sp=$(server_pid "$proto")
	timeout 60 "$BENCH" --protocol "$proto" --port "$PORT" --widget-key "$KEY" --password "$PW" \
		--visitors 200 --agents 10 --rate 1000 --duration 3 --quiet >/dev/null || true	# warm-up
	for r in $LADDER; do
		runs=""
		for i in $(seq "$REPEAT"); do
			settle_server "$proto"
			wait_quiet "$QUIET_BETWEEN"
			s0=$(cpu_ticks "$sp")
			p0=0
			if [ "$proto" = socketio ]; then p0=$(cpu_ticks $(pg_pids)); fi
			t0=$(date +%s.%N)
			json="$RES/$tgt-chat-$r-$i.json"
			line=$(chat "$proto" "$r" "$json")
			t1=$(date +%s.%N)
			s1=$(cpu_ticks "$sp")
			p1=0
			if [ "$proto" = socketio ]; then p1=$(cpu_ticks $(pg_pids)); fi
			cpu=$(awk -v n=$((s1 - s0)) -v p=$((p1 - p0)) -v t="$TCK" -v a="$t0" -v b="$t1" -v pg="$proto" \
				'BEGIN { printf "server_cpu=%.2f", n / t / (b - a); if (pg == "socketio") printf " postgres_cpu=%.2f", p / t / (b - a) }')
			printf 'rate=%-6s run=%d %s %s\n' "$r" "$i" "$line" "$cpu"
			if [ "$proto" = socketio ]; then
				annotate_run "$json" chat "$tgt" "repeat:=$i" "repeats:=$REPEAT" \
					"server_cpu_cores:=$(field server_cpu "$cpu")" \
					"postgres_cpu_cores:=$(field postgres_cpu "$cpu")"
			else
				annotate_run "$json" chat "$tgt" "repeat:=$i" "repeats:=$REPEAT" \
					"server_cpu_cores:=$(field server_cpu "$cpu")"
			fi
			runs+="$line"$'\n'
		done
		med=$(printf '%s' "$runs" | median_line)
		# shellcheck disable=SC2034  # OUT is a nameref to the caller's array
		OUT[$r]=$med
		LADDER_DONE="$LADDER_DONE $r"
		if [ "$r" -ge "$ALWAYS_UP_TO" ] && saturated "$r" "$med"; then
			echo "# $proto: saturated at $r msg/s offered (median run); ladder stops"
			LADDER_STOP=$r
			break
		fi
	done
}

# ------------------------------------------------------------ run
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)"
echo "# commit $(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo '?')"
wait_quiet

declare -A PEER_LINE PARLEY_LINE
TCK=$(getconf CLK_TCK)

echo "## peer (Node.js $(node --version), Socket.IO + PostgreSQL, fsync=on synchronous_commit=on): chat, 200 visitors, 10 agents, 100-byte messages, ${DURATION} s per rate, $REPEAT runs per rate"
start_peer
V_NODE=$(node --version)
V_PG=$(grep -o 'PostgreSQL [0-9.]*' "$WORK/peer.err" | head -1 || true)
V_SIO=$(node -p "require('$HERE/node_modules/socket.io/package.json').version")
V_PGJS=$(node -p "require('$HERE/node_modules/pg/package.json').version")
echo "# peer: $V_PG, socket.io $V_SIO, pg $V_PGJS"
ladder socketio PEER_LINE
PEER_RATES=$LADDER_DONE
PEER_STOP=$LADDER_STOP
PG_PSS_SWEEP=$(pss_kb $(pg_pids))
NODE_RSS_SWEEP=$(awk '/VmRSS/ {print $2}' "/proc/$NODE_PID/status")
echo "# postgres (all processes) Pss after the sweep: $PG_PSS_SWEEP kB; node VmRSS: $NODE_RSS_SWEEP kB"
stop_peer

declare -A PEER_IDLE PARLEY_IDLE
for n in $IDLE_CONNS; do
	echo "## peer idle Socket.IO connections (authenticated visitors): $n"
	wait_quiet "$QUIET_BETWEEN"
	start_peer
	pg0=$(pss_kb $(pg_pids))
	line=$(idle socketio "$n" "$NODE_PID" "$RES/peer-idle-$n.json")
	pg1=$(pss_kb $(pg_pids))
	echo "$line postgres_pss_kb_before=$pg0 postgres_pss_kb_after=$pg1"
	annotate_run "$RES/peer-idle-$n.json" idle peer "postgres_pss_kb_before:=$pg0" \
		"postgres_pss_kb_after:=$pg1"
	PEER_IDLE[$n]=$line
	stop_peer
done

echo
if [ "${SKIP_CORE:-0}" = 1 ]; then	# quick checks of this script only
	: >"$WORK/core.out"
else
	echo "## parleyd: bench/run-core.sh (as it is)"
	wait_quiet
	COMPARE_RUN_ID=$RUN_ID bash "$ROOT/bench/run-core.sh" "$B" "$RES/core" | tee "$WORK/core.out"
fi

echo "## parleyd: the same ladder and flags, $REPEAT runs per rate (fresh parleyd, default flags, durable)"
start_parley
ladder parley PARLEY_LINE
PARLEY_STOP=$LADDER_STOP
stop_parley
for n in $IDLE_CONNS; do
	if grep -q "^## idle WebSockets (authenticated visitors): $n connections" "$WORK/core.out"; then
		PARLEY_IDLE[$n]=$(awk -v h="## idle WebSockets (authenticated visitors): $n connections" \
			'f {print; exit} $0 == h {f=1}' "$WORK/core.out")
		if [ -f "$RES/core/core-idle-$n.json" ]; then
			cp "$RES/core/core-idle-$n.json" "$RES/parleyd-idle-$n.json"
			annotate_run "$RES/parleyd-idle-$n.json" idle parleyd "from_run_core:=true"
		fi
	else
		echo "## parleyd idle WebSockets (authenticated visitors): $n"
		wait_quiet "$QUIET_BETWEEN"
		start_parley
		PARLEY_IDLE[$n]=$(idle parley "$n" "$PID" "$RES/parleyd-idle-$n.json")
		echo "${PARLEY_IDLE[$n]}"
		annotate_run "$RES/parleyd-idle-$n.json" idle parleyd
		stop_parley
	fi
done

# the session: settings, versions and where each ladder stopped (for bench/report.py)
echo '{}' >"$RES/session.json"
# shellcheck disable=SC2086  # the lists are split into words on purpose
annotate "$RES/session.json" label=compare-session suite=compare "run_id=$RUN_ID" \
	"script_command=$SCRIPT_CMD" "source=$SOURCE" \
	"commit=$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo '?')" \
	"started=$STARTED" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	"ladder:=[$(echo $LADDER | tr ' ' ,)]" "always_up_to:=$ALWAYS_UP_TO" "repeats:=$REPEAT" \
	"duration_s:=$DURATION" "p99_limit_ms:=$P99_LIMIT_MS" "idle_conns:=[$(echo $IDLE_CONNS | tr ' ' ,)]" \
	"peer_rates:=[$(echo $PEER_RATES | tr ' ' ,)]" "peer_saturated_at:=${PEER_STOP:-null}" \
	"parleyd_saturated_at:=${PARLEY_STOP:-null}" "run_core:=$([ "${SKIP_CORE:-0}" = 1 ] && echo false || echo true)" \
	"peer_server_command=$PEER_SERVER_CMD" "parleyd_server_command=$PARLEY_SERVER_CMD" \
	"version_node=$V_NODE" "version_postgresql=${V_PG#PostgreSQL }" "version_socketio=$V_SIO" \
	"version_pg=$V_PGJS" "peer_after_sweep_postgres_pss_kb:=${PG_PSS_SWEEP:-null}" \
	"peer_after_sweep_node_rss_kb:=${NODE_RSS_SWEEP:-null}" \
	"machine:={\"nproc\": $(nproc), \"kernel\": \"$(uname -r)\", \"arch\": \"$(uname -m)\", \"mem_kb\": $(awk '/MemTotal/ {print $2}' /proc/meminfo)}"

# ------------------------------------------------------------ ratios
best() {	# best NAME-OF-ASSOC -> highest sustained rate
	local -n L=$1
	local r m=0
	for r in "${!L[@]}"; do
		if sustained "$r" "${L[$r]}" && [ "$r" -gt "$m" ]; then m=$r; fi
	done
	echo "$m"
}
echo
echo "## comparison (median run of $REPEAT per rate; sustained = p99 < ${P99_LIMIT_MS} ms, >= 98 % delivered in the window, 0 errors)"
pb=$(best PEER_LINE)
xb=$(best PARLEY_LINE)
echo "throughput at equal p99: parleyd $xb msg/s, peer $pb msg/s, ratio $(awk -v a="$xb" -v b="$pb" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a (peer sustained no rate)" }')"
common=0
for r in $PEER_RATES; do
	if sustained "$r" "${PEER_LINE[$r]}" && [ -n "${PARLEY_LINE[$r]:-}" ] && sustained "$r" "${PARLEY_LINE[$r]}" &&
		[ "$r" -gt "$common" ]; then common=$r; fi
done
if [ "$common" -gt 0 ]; then
	va=$(field p99_ms "${PEER_LINE[$common]}")
	vb=$(field p99_ms "${PARLEY_LINE[$common]}")
	echo "p99 at equal load ($common msg/s): peer $va ms, parleyd $vb ms, ratio $(awk -v a="$va" -v b="$vb" 'BEGIN { printf "%.1fx", a / b }')"
else
	echo "p99 at equal load: no rate sustained by both"
fi
for n in $IDLE_CONNS; do
	va=$(field server_rss_per_conn_bytes "${PEER_IDLE[$n]:-}")
	vb=$(field server_rss_per_conn_bytes "${PARLEY_IDLE[$n]:-}")
	echo "memory per idle connection ($n): peer node $va B, parleyd $vb B, ratio $(awk -v a="${va:-0}" -v b="${vb:-0}" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }')"
done
