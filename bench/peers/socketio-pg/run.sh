#!/usr/bin/env bash
# Starts the Socket.IO + PostgreSQL reference peer for parley-bench:
#   - installs PostgreSQL / Node.js from Debian if they are missing, and the
#     npm dependencies (npm ci, from package-lock.json);
#   - creates a throw-away PostgreSQL cluster in a temp dir (durable:
#     fsync=on, synchronous_commit=on), on 127.0.0.1 and a free port;
#   - loads schema.sql, starts server.js and prints
#       peer listening on http://127.0.0.1:PORT
#       peer: demo widget key: wk_peer_...
#       peer: demo admin login: admin@demo.parley / PASSWORD
#       peer: node pid N
#       peer: postgres pid N
#   - runs until node exits or the script gets INT/TERM/HUP, then stops
#     node and PostgreSQL and removes the temp dir (also on failure).
#
#   bench/peers/socketio-pg/run.sh [PORT]      (default 0: a free port)
# Environment: PEER_PASSWORD (default bench-password-1), PG_POOL_MAX (10),
# PEER_KEEP_LOGS=1 keeps the temp dir (logs) instead of removing it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${1:-0}
PASSWORD=${PEER_PASSWORD:-bench-password-1}
POOL_MAX=${PG_POOL_MAX:-10}

log() { echo "peer: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------ installs
apt_updated=0
apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		die "missing $*; install it (apt-get install -y $*) or run as root"
	fi
	if [ "$apt_updated" = 0 ]; then
		timeout 300 apt-get update -qq >&2 || die "apt-get update failed"
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "$@" >&2 ||
		die "apt-get install $* failed"
}

find_pgbin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

PGBIN=$(find_pgbin) || {
	log "installing PostgreSQL (apt-get install -y postgresql)"
	apt_install postgresql
	PGBIN=$(find_pgbin) || die "initdb not found after installing postgresql"
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "installing Node.js (apt-get install -y nodejs npm)"
	apt_install nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js >= 18 needed, found $(node --version)"

if [ ! -f "$HERE/node_modules/.package-lock.json" ] ||
	[ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
	log "npm ci"
	(cd "$HERE" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
fi

# ------------------------------------------------------------ cleanup
TMP=""
NODE_PID=""
PG_STARTED=0
as_pg() {	# runs a PostgreSQL tool as the cluster owner
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
		kill -TERM "$NODE_PID" 2>/dev/null || true
		for _ in $(seq 100); do	# up to 10 s
			kill -0 "$NODE_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$NODE_PID" 2>/dev/null || true
		wait "$NODE_PID" 2>/dev/null || true
	fi
	if [ "$PG_STARTED" = 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -t 30 -w stop >/dev/null 2>&1 ||
			as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate -t 10 -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${PEER_KEEP_LOGS:-0}" = 1 ]; then
			log "logs kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
	log "stopped"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------ PostgreSQL
TMP=$(mktemp -d /tmp/parley-peer.XXXXXX)
chmod 755 "$TMP"
mkdir "$TMP/data" "$TMP/run"
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$TMP/data" "$TMP/run"
fi

port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
PGPORT=""
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 20000))
	if port_free "$p"; then
		PGPORT=$p
		break
	fi
done
[ -n "$PGPORT" ] || die "no free port for PostgreSQL"

# initdb --no-sync only skips syncing the initial files of this throw-away
# cluster; the server itself runs with fsync=on.
as_pg timeout 120 "$PGBIN/initdb" -D "$TMP/data" -U peer -A trust -E UTF8 --locale=C.UTF-8 \
	--no-sync >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
cat >>"$TMP/data/postgresql.conf" <<EOF
# parley peer: durable like parleyd --sync=full
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$TMP/run'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 50
logging_collector = off
# keep recycled WAL segments around (see the pre-fill below)
min_wal_size = 512MB
max_wal_size = 1GB
EOF
as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/data/server.log" -w -t 60 start >/dev/null ||
	{ cat "$TMP/data/server.log" >&2 || true; die "PostgreSQL did not start"; }
PG_STARTED=1
PG_PID=$(head -1 "$TMP/data/postmaster.pid")

PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U peer)
timeout 60 "${PSQL[@]}" -d postgres -c 'CREATE DATABASE parley_peer' >&2 || die "CREATE DATABASE failed"
timeout 60 "${PSQL[@]}" -d parley_peer -f "$HERE/schema.sql" >&2 || die "loading schema.sql failed"
# Steady state, not a cold start: a database that has been running has
# recycled WAL segments ready, while a fresh cluster creates and zero-fills
# a new 16 MB segment (and fsyncs it) every few thousand messages, a stall
# of 100+ ms each on a small disk. Write ~300 MB of WAL once and checkpoint,
# so that the run reuses recycled segments as a production server would.
timeout 300 "${PSQL[@]}" -d postgres >&2 <<'SQL' || die "WAL pre-fill failed"
CREATE TABLE wal_fill AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 300000) g;
DROP TABLE wal_fill;
CHECKPOINT;
SQL
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT (data $TMP/data, fsync=on, synchronous_commit=on)"

# ------------------------------------------------------------ node
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
DATABASE_URL="postgres://peer@127.0.0.1:$PGPORT/parley_peer" PORT="$PORT" HOST=127.0.0.1 \
	DEMO_PASSWORD="$PASSWORD" PG_POOL_MAX="$POOL_MAX" NODE_ENV=production \
	node "$HERE/server.js" >"$TMP/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 300); do	# up to 30 s
	grep -q '^peer listening on' "$TMP/node.log" 2>/dev/null && break
	kill -0 "$NODE_PID" 2>/dev/null || { cat "$TMP/node.log" >&2; die "server.js exited"; }
	sleep 0.1
done
grep -q '^peer listening on' "$TMP/node.log" || { cat "$TMP/node.log" >&2; die "server.js did not start in 30 s"; }

grep -E '^peer listening on|^peer: demo ' "$TMP/node.log"
echo "peer: node pid $NODE_PID"
echo "peer: postgres pid $PG_PID"
echo "peer: logs $TMP/node.log $TMP/data/server.log"

# Further server output (errors) goes to stderr while it runs.
tail -n +5 -F --pid="$NODE_PID" "$TMP/node.log" >&2 2>/dev/null &
wait "$NODE_PID" || true
NODE_PID=""
die "server.js exited"
