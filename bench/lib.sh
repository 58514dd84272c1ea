# shellcheck shell=bash
# bench/lib.sh — shell helpers shared by bench/run-core.sh, bench/run-all.sh
# and bench/peers/socketio-pg/run-compare.sh (sourced; PARLEYD and PW set by
# the caller).

q() {	# shell-quotes $1 when it holds anything but safe characters
	case $1 in
	'' | *[!A-Za-z0-9_./,:=@+%-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# annotate FILE KEY=STRING|KEY:=JSON...: adds fields to a JSON result (no-op
# when the run wrote none)
annotate() {
	python3 - "$@" <<'PY'
import json, sys
p = sys.argv[1]
try:
    with open(p) as fh:
        d = json.load(fh)
except (OSError, ValueError):
    sys.exit(0)
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    if k.endswith(":"):
        d[k[:-1]] = json.loads(v)
    else:
        d[k] = v
with open(p, "w") as fh:
    json.dump(d, fh, indent=2)
PY
}

cpu_busy_pct() {	# whole-machine CPU use over 2 s, in percent
	local a b
	read -r -a a < <(grep '^cpu ' /proc/stat)
	sleep 2
	read -r -a b < <(grep '^cpu ' /proc/stat)
	local idle=$(((b[4] + b[5]) - (a[4] + a[5]))) total=0 i
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	echo $((total > 0 ? 100 * (total - idle) / total : 0))
}

# wait_quiet: waits (bounded: QUIET_WAIT s, default 300) until the 1-minute
# load average is below QUIET_LOAD (default 1.0) and the CPU is less than
# 20 % busy over 2 s
wait_quiet() {
	local want="${QUIET_LOAD:-1.0}" end=$((SECONDS + ${QUIET_WAIT:-300})) load busy
	while [ "$SECONDS" -lt "$end" ]; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		busy=$(cpu_busy_pct)
		awk -v l="$load" -v w="$want" 'BEGIN { exit !(l < w) }' && [ "$busy" -lt 20 ] && break
		echo "# waiting for a quiet machine (load $load, ${busy}% busy)" >&2
		sleep 3
	done
}

# parleyd_start DATA_DIR [parleyd flags...]: a fresh parleyd on a free
# loopback port with the demo tenant -> PID PORT KEY; output in
# DATA_DIR/out and DATA_DIR/err. Returns 1 (its stderr shown) when it does
# not come up within 10 s.
parleyd_start() {
	local dir=$1
	shift
	"$PARLEYD" --data "$dir" --host 127.0.0.1 --port 0 --demo-password "$PW" "$@" >"$dir/out" 2>"$dir/err" &
	PID=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$dir/out" 2>/dev/null && break
		sleep 0.1
	done
	PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/out" | cut -d: -f3)
	KEY=$(grep -o 'wk_[A-Za-z0-9_-]*' "$dir/out")
	if [ -z "$PORT" ] || [ -z "$KEY" ]; then
		echo "parleyd did not start" >&2
		cat "$dir/err" >&2
		return 1
	fi
}

# parleyd_stop: SIGTERM to $PID, SIGKILL after 30 s, reaped; PID cleared.
parleyd_stop() {
	[ -n "${PID:-}" ] || return 0
	kill -TERM "$PID" 2>/dev/null || true
	for _ in $(seq 300); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}
