#!/usr/bin/env bash
# Checks the README's first command (install, release build, run) the way a
# fresh Debian machine would see it: without the test packages.
#
#   tools/check-run-command.sh [BUILD_DIR]     (default: build-run)
#
# 1. Reads the command from README.md (the first ```sh block) and runs its
#    `tools/install-deps.sh run`.
# 2. Configures and builds, exactly as that command does but into BUILD_DIR,
#    in a private mount namespace where the files of every test-only package
#    (`tools/install-deps.sh test-packages`) that a build could find —
#    commands, headers, libraries, pkg-config and CMake package files — are
#    whited out by a read-only overlay on /usr. The configure step must say
#    the unit tests are skipped.
# 3. Runs the built parleyd as the command does (from the repository root,
#    so with its default web directory), on a temporary data directory and a
#    free port; waits for the listening line, the demo widget key and the
#    demo admin login; checks /healthz, the printed login, the demo page and
#    the agent console; stops it with SIGTERM and expects exit code 0.
#
# Needs root, or sudo, for the mount namespace. Every wait is bounded.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")/.."
dir="${1:-build-run}"

die() { echo "check-run-command: $*" >&2; exit 1; }

case "${PARLEY_CHECK_STAGE:-}" in
hide)
	# Root, in a private mount namespace: white out the test packages.
	wh="$PARLEY_CHECK_WHITEOUT"
	mount -t tmpfs -o mode=0755 parley-whiteout "$wh"
	hidden=()
	for p in $(tools/install-deps.sh test-packages); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || continue
		while IFS= read -r f; do
			case "$f" in /bin/* | /sbin/* | /lib/* | /lib64/*) f="/usr$f" ;; esac
			[[ "$f" =~ ^/usr/(s?bin/|include/|lib.*\.(so|a)$|lib.*/(pkgconfig|cmake)/|share/(pkgconfig|cmake)/) ]] || continue
			[ -d "$f" ] && continue
			[ -e "$f" ] || [ -L "$f" ] || continue
			rel="${f#/usr}"
			mkdir -p "$wh${rel%/*}"
			[ -e "$wh$rel" ] || mknod "$wh$rel" c 0 0
			hidden+=("$f")
		done < <(dpkg -L "$p")
	done
	mount -t overlay parley-no-test-packages -o "lowerdir=$wh:/usr" /usr
	for f in "${hidden[@]}"; do
		if [ -e "$f" ] || [ -L "$f" ]; then die "could not hide $f"; fi
	done
	echo "check-run-command: ${#hidden[@]} files of test-only packages hidden (cmocka.h: $(
		[ -e /usr/include/cmocka.h ] && echo present || echo absent))"
	if [ "$PARLEY_CHECK_UID" != 0 ]; then
		exec setpriv --reuid="$PARLEY_CHECK_UID" --regid="$PARLEY_CHECK_GID" --clear-groups \
			env PARLEY_CHECK_STAGE=build bash "$self" "$dir"
	fi
	PARLEY_CHECK_STAGE=build exec bash "$self" "$dir"
	;;
build)
	# The README command's configure and build steps, test packages hidden.
	rm -rf "$dir"
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	echo "check-run-command: $PARLEY_CHECK_BUILD"
	eval "$PARLEY_CHECK_BUILD" 2>&1 | tee "$log"
	grep -q "unit tests skipped" "$log" || die "configure found cmocka although it is hidden"
	[ -x "$dir/parleyd" ] || die "no $dir/parleyd after the build"
	exit 0
	;;
esac

# ---- the README's first command, taken apart ----
cmd=$(awk '/^```sh$/ { getline; print; exit }' README.md)
install="tools/install-deps.sh run"
run="./build/parleyd"
[[ "$cmd" == "$install && "*" && $run" ]] ||
	die "README's first command is not 'tools/install-deps.sh run && ... && ./build/parleyd': $cmd"
build="${cmd#"$install && "}"
build="${build%" && $run"}"
build="${build//-B build /-B $dir }"
build="${build//--build build /--build $dir }"
[[ " $build " =~ [[:space:]/]build[[:space:]/] ]] &&
	die "README's build steps use the build directory in a way this script does not rewrite: $build"

echo "== $install"
$install

echo "== configure and build into $dir without the test packages"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
wh=$(mktemp -d)
rc=0
$SUDO unshare --mount --propagation private \
	env PARLEY_CHECK_STAGE=hide PARLEY_CHECK_WHITEOUT="$wh" PARLEY_CHECK_BUILD="$build" \
	PARLEY_CHECK_UID="$(id -u)" PARLEY_CHECK_GID="$(id -g)" PATH="$PATH" \
	bash "$self" "$dir" || rc=$?
rmdir "$wh"
[ "$rc" = 0 ] || die "configure/build without the test packages failed ($rc)"

echo "== $run (on a temporary data directory and a free port)"
data=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
	rm -rf "$data"
}
trap cleanup EXIT
"$dir/parleyd" --data "$data/db" --host 127.0.0.1 --port 0 >"$data/stdout" 2>"$data/stderr" &
pid=$!
fail() {
	echo "--- parleyd stdout"; cat "$data/stdout"; echo "--- parleyd stderr"; tail -n 40 "$data/stderr"
	die "$*"
}

port="" key="" email="" password=""
for _ in $(seq 300); do   # 30 s
	port=$(sed -n 's|^parleyd: listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$data/stdout")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || fail "parleyd exited before listening"
	sleep 0.1
done
[ -n "$port" ] || fail "no 'listening on' line within 30 s"
key=$(sed -n 's|^parleyd: demo widget key: \(wk_[A-Za-z0-9_-]*\)$|\1|p' "$data/stdout")
email=$(sed -n 's|^parleyd: demo admin login: \([^ ]*\) / .*$|\1|p' "$data/stdout")
password=$(sed -n 's|^parleyd: demo admin login: [^ ]* / \([A-Za-z0-9_-]*\)$|\1|p' "$data/stdout")
[ -n "$key" ] || fail "no demo widget key printed"
[ -n "$email" ] || fail "no demo admin login printed"
[ -n "$password" ] || fail "no demo admin password printed"
echo "check-run-command: listening on $port, widget key $key, admin $email"

base="http://127.0.0.1:$port"
expect() {   # expect STATUS DESCRIPTION CURL-ARGS...
	local want="$1" what="$2" got
	shift 2
	got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@") || true
	[ "$got" = "$want" ] || fail "$what: HTTP $got, expected $want"
	echo "check-run-command: $what -> $got"
}
expect 200 "GET /healthz" "$base/healthz"
expect 200 "POST /v1/auth/login with the printed login" -H 'Content-Type: application/json' \
	--data "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/v1/auth/login"
expect 200 "GET /demo.html?key=<widget key>" "$base/demo.html?key=$key"
expect 200 "GET /agent/" "$base/agent/"

kill -TERM "$pid"
for _ in $(seq 150); do   # 15 s
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "parleyd still running 15 s after SIGTERM"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || fail "parleyd exited with $rc after SIGTERM, expected 0"
echo "check-run-command: parleyd stopped cleanly (exit 0)"
