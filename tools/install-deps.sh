#!/usr/bin/env bash
# Installs the Debian packages Parley needs to build, run and test.
# Idempotent: packages already present are skipped by apt-get.
# Usage: tools/install-deps.sh [run|test]   (default: test)
#        tools/install-deps.sh test-packages   prints the test-only packages
set -euo pipefail
mode="${1:-test}"
case "$mode" in
  run|test|test-packages) ;;
  *) echo "usage: $0 [run|test|test-packages]" >&2; exit 2 ;;
esac
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# tzdata is for run time: core/tz reads the zones in /usr/share/zoneinfo.
build_pkgs="build-essential cmake pkg-config libev-dev libzmq3-dev liblmdb-dev
  libmsgpack-dev libbearssl-dev libcurl4-openssl-dev libjansson-dev
  libargon2-dev tzdata"
# python3-lmdb: tests/integration/test_upgrade.py compares raw records.
# python3-aiosmtpd: the SMTP server the email tests deliver to.
# openssl: the TLS tests' certificates (made at test and build time);
# testssl.sh: the TLS scan of docs/performance.md (a manual step).
test_pkgs="libcmocka-dev curl python3 python3-websockets python3-yaml
  python3-lmdb python3-aiosmtpd chromium nodejs npm openssl testssl.sh"
# shellcheck disable=SC2086  # one line, names separated by single spaces
if [ "$mode" = test-packages ]; then echo $test_pkgs; exit 0; fi

pkgs="$build_pkgs"
if [ "$mode" = test ]; then pkgs="$pkgs $test_pkgs"; fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# node/npm may come from outside Debian; accept any working ones.
if [ "$mode" = test ] && command -v node >/dev/null && command -v npm >/dev/null; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -v -x -e nodejs -e npm | tr '\n' ' ')
fi
if [ -n "${missing// /}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $missing
fi

if [ "$mode" = test ]; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  if [ ! -d "$here/tests/browser/node_modules/playwright-core" ]; then
    (cd "$here/tests/browser" && npm install --no-audit --no-fund --silent)
  fi
fi
