#!/usr/bin/env bash
# Plain beside TLS in one session (docs/performance.md, "TLS"): the durable
# chat scenario and the idle scenario over ws:// and over wss:// (the same
# server build, a fresh parleyd per run, plain and TLS runs alternating), a
# connect storm (TCP + TLS handshake + upgrade + auth), and full TLS
# handshakes with `openssl s_time` against an ECDSA and an RSA certificate,
# with the server's CPU per handshake (utime + stime of parleyd over the run
# / handshakes counted by parley_tls_handshakes_total).
#   bench/run-tls.sh [build-dir] [results-dir]
#     build-dir    holds parleyd and bench/parley-bench (default: ./build)
#     results-dir  JSON results (default: $RESULTS, else docs/perf/results/tls
#                  of this tree); its tls-*.json files are removed first
# Environment: RATES ("5000 10000 15000 20000"), DURATION (5 s), REPEAT (2 chat
# runs per rate and transport; the report takes the median p99), IDLE_CONNS
# ("5000 10000"), STORM (5000 connections), HS_TIME (10 s of s_time per key),
# QUIET_LOAD / QUIET_WAIT (bench/lib.sh: wait_quiet, before the first run),
# HS_CLIENTS (2 s_time processes at once), PARTS ("chat idle storm handshake":
# the parts to run; only their result files are replaced, so a part can be
# run again on its own in the same results dir).
# The certificates (a root, an intermediate, an ECDSA P-256 and an RSA 2048
# server certificate, served with the intermediate) are made in a temp dir
# with openssl and removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
B="${1:-build}"
RES="${2:-${RESULTS:-$ROOT/docs/perf/results/tls}}"
PARLEYD="$B/parleyd"
BENCH="$B/bench/parley-bench"
PW=bench-password-1
RATES=${RATES:-"5000 10000 15000 20000"}
DURATION=${DURATION:-5}
REPEAT=${REPEAT:-2}
IDLE_CONNS=${IDLE_CONNS:-"5000 10000"}
STORM=${STORM:-5000}
HS_TIME=${HS_TIME:-10}
HS_CLIENTS=${HS_CLIENTS:-2}
PARTS=${PARTS:-"chat idle storm handshake"}
part() { [[ " $PARTS " == *" $1 "* ]]; }
[ -x "$PARLEYD" ] && [ -x "$BENCH" ] || { echo "run-tls: build parleyd and parley-bench in $B first" >&2; exit 2; }
command -v openssl >/dev/null || { echo "run-tls: needs openssl" >&2; exit 2; }
mkdir -p "$RES"
for p in $PARTS; do rm -f "$RES"/tls-"$p"-*.json; done

SCRIPT_CMD=
for v in RATES DURATION REPEAT IDLE_CONNS STORM HS_TIME HS_CLIENTS PARTS; do
	if printenv "$v" >/dev/null; then SCRIPT_CMD+="$v=$(q "${!v}") "; fi
done
SCRIPT_CMD+="bench/run-tls.sh"
for a in "$@"; do SCRIPT_CMD+=" $(q "$a")"; done
RUN_ID="tls-$(date -u +%Y%m%dT%H%M%SZ)-$$"
SOURCE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

CERTS=$(mktemp -d)
trap 'parleyd_stop; rm -rf "$CERTS" "${DATA:-}"' EXIT
(
	cd "$CERTS"
	o() { openssl "$@" >/dev/null 2>&1; }
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >srv.ext
	o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-root
	o req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj /CN=bench-int
	o x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out int.pem -days 2 -extfile int.ext
	o req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr -subj /CN=localhost
	o req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=localhost
	for k in ec rsa; do
		o x509 -req -in $k.csr -CA int.pem -CAkey int.key -CAcreateserial -out $k.pem -days 2 -extfile srv.ext
		cat $k.pem int.pem >$k-chain.pem
	done
)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start plain|ec|rsa [parleyd flags...] -> PID PORT (plain HTTP: setup,
# /metrics) WSPORT (what the measured connections use) TLSARGS SERVER_CMD
start() {
	local kind=$1
	shift
	DATA=$(mktemp -d)
	local extra=()
	if [ "$kind" != plain ]; then
		extra=(--tls-cert "$CERTS/$kind-chain.pem" --tls-key "$CERTS/$kind.key" --plain-port "$(free_port)")
	fi
	SERVER_CMD="parleyd --data \$(mktemp -d) --host 127.0.0.1 --port 0 --demo-password $PW"
	[ "$kind" != plain ] && SERVER_CMD+=" --tls-cert $kind-chain.pem --tls-key $kind.key --plain-port \$FREE"
	SERVER_CMD+="${*:+ $*}"
	parleyd_start "$DATA" "${extra[@]}" "$@" || exit 1
	WSPORT=$PORT
	TLSARGS=()
	if [ "$kind" != plain ]; then
		WSPORT=$(grep -o 'https://127.0.0.1:[0-9]*' "$DATA/out" | cut -d: -f3)
		TLSARGS=(--tls --setup-port "$PORT")
	fi
}

stop() {
	parleyd_stop
	rm -rf "$DATA"
	DATA=
}

bench() {	# bench FILE LABEL TRANSPORT [parley-bench args...]
	local file="$RES/$1" label="$2" transport="$3"
	shift 3
	"$BENCH" "$@" --quiet --json "$file" | tail -1
	annotate "$file" "label=$label" "suite=tls" "transport=$transport" "server_command=$SERVER_CMD" \
		"script_command=$SCRIPT_CMD" "run_id=$RUN_ID" "source=$SOURCE"
}

wait_quiet
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

part chat && echo "## durable 1:1 chat: 200 visitors, 10 agents, 100-byte messages, $DURATION s per rate, ws:// and wss://"
part chat || RATES=
for rate in $RATES; do
	for run in $(seq "$REPEAT"); do
		for t in plain ec; do
			start $t
			printf '%-5s rate=%-6s run=%s ' "$t" "$rate" "$run"
			bench "tls-chat-$t-$rate-$run.json" tls-chat "$t" --port "$WSPORT" "${TLSARGS[@]}" \
				--widget-key "$KEY" --password "$PW" --visitors 200 --agents 10 --rate "$rate" \
				--duration "$DURATION" --server-pid "$PID"
			annotate "$RES/tls-chat-$t-$rate-$run.json" "repeat:=$run" "repeats:=$REPEAT"
			stop
		done
	done
done

part idle || IDLE_CONNS=
for n in $IDLE_CONNS; do
	for t in plain ec; do
		echo "## idle WebSockets (authenticated visitors): $n connections, $t"
		start $t
		bench "tls-idle-$t-$n.json" tls-idle "$t" --mode idle --port "$WSPORT" "${TLSARGS[@]}" \
			--widget-key "$KEY" --connections "$n" --server-pid "$PID" --settle 3 \
			--source-addrs 127.0.0.2,127.0.0.3 --procs 2
		stop
	done
done

STORM_KINDS="plain ec rsa"
part storm || STORM_KINDS=
for t in $STORM_KINDS; do
	echo "## connect storm: $STORM visitor WebSockets (TCP, TLS, upgrade, auth), 256 in flight, $t"
	start $t
	bench "tls-storm-$t.json" tls-storm "$t" --mode storm --port "$WSPORT" "${TLSARGS[@]}" \
		--widget-key "$KEY" --connections "$STORM" --concurrency 256 --server-pid "$PID"
	stop
done

HS_KINDS="ec rsa"
part handshake || HS_KINDS=
for k in $HS_KINDS; do
	echo "## full TLS handshakes: openssl s_time -new, $HS_CLIENTS clients x $HS_TIME s, $k"
	start $k
	m() { curl -s "127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
	cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
	h0=$(m parley_tls_handshakes_total)
	c0=$(cpu)
	t0=$(date +%s.%N)
	pids=()
	for i in $(seq "$HS_CLIENTS"); do
		openssl s_time -connect "127.0.0.1:$WSPORT" -new -time "$HS_TIME" >"$DATA/stime-$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s.%N)
	c1=$(cpu)
	h1=$(m parley_tls_handshakes_total)
	cipher=$(echo | openssl s_client -connect "127.0.0.1:$WSPORT" 2>/dev/null | awk '/Cipher is/ { print $NF; exit }')
	python3 - "$RES/tls-handshake-$k.json" "$k" "$h0" "$h1" "$c0" "$c1" "$t0" "$t1" "$(getconf CLK_TCK)" \
		"$SERVER_CMD" "$SCRIPT_CMD" "$RUN_ID" "$SOURCE" "$HS_CLIENTS" "$HS_TIME" "$cipher" <<'EOF'
import datetime, json, os, sys
(p, key, h0, h1, c0, c1, t0, t1, tck, server, script, run_id, source, clients, secs, cipher) = sys.argv[1:17]
n = float(h1) - float(h0)
cpu_s = (float(c1) - float(c0)) / float(tck)
wall = float(t1) - float(t0)
u = os.uname()
d = {"label": "tls-handshake", "suite": "tls", "transport": key, "key": key, "cipher": cipher,
     "handshakes": int(n), "wall_s": wall, "handshakes_per_s": n / wall if wall else None,
     "server_cpu_s": cpu_s, "server_cpu_ms_per_handshake": cpu_s * 1000 / n if n else None,
     "client": f"openssl s_time -new x {clients}, {secs} s",
     "server_command": server, "script_command": script, "run_id": run_id, "source": source,
     "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
     "machine": {"nproc": os.cpu_count(), "kernel": u.release, "arch": u.machine}}
with open(p, "w") as fh:
    json.dump(d, fh, indent=2)
print(f"{key}: {int(n)} handshakes in {wall:.1f} s = {d['handshakes_per_s']:.0f}/s, server "
      f"{d['server_cpu_ms_per_handshake'] or 0:.3f} ms CPU each ({cipher})")
EOF
	stop
done
