#!/usr/bin/env bash
# The search benchmark: fills a fresh data directory with MESSAGES messages
# (default 1,000,000) through the real writer and conversation write
# (bench/search_fill.c: each message indexed in its own transaction as
# parleyd does), prints the index's size per message, then starts parleyd
# on it and measures GET /v1/search latency for typical queries
# (bench/search_query.py). docs/performance.md has the figures.
#   bench/search-bench.sh BUILD      (BUILD holds parleyd and bench/parley-search-fill)
# Environment: MESSAGES, PER_CONV (20), REPS (200 per query kind), KEEP (a
# directory to keep the data in; default a temp dir removed at the end).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
BUILD="${1:?usage: search-bench.sh BUILD}"
PARLEYD="$BUILD/parleyd"
PW=bench-password-1
MESSAGES=${MESSAGES:-1000000}
PER_CONV=${PER_CONV:-20}
REPS=${REPS:-200}
DATA=${KEEP:-$(mktemp -d)}
[ -n "${KEEP:-}" ] || trap 'rm -rf "$DATA"' EXIT
mkdir -p "$DATA"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(git -C "$ROOT" describe --always --dirty)"
parleyd_start "$DATA" || exit 1      # first start: the demo tenant
parleyd_stop
fill=$("$BUILD/bench/parley-search-fill" --data "$DATA" --messages "$MESSAGES" --per-conv "$PER_CONV" 2>/dev/null)
echo "$fill" | grep -v '^words'
words=$(echo "$fill" | grep '^words')
# again on the filled directory (no first-run seed: no widget key printed)
PARLEYD_NO_KEY=1 parleyd_start "$DATA" || exit 1
python3 "$ROOT/bench/search_query.py" "$PORT" "$PW" "$words" "$REPS" || { parleyd_stop; exit 1; }
parleyd_stop
