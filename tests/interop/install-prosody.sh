#!/usr/bin/env bash
# Installs Prosody 0.12 and its SQLite driver from Debian's packages, for the interop
# tests. The package's own service is kept from starting: the tests run their own
# Prosody, on loopback, from a temporary config.
set -euo pipefail
if command -v prosody >/dev/null 2>&1 && dpkg -s lua-dbi-sqlite3 >/dev/null 2>&1; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created=1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prosody lua-dbi-sqlite3 >/dev/null
[ -z "$created" ] || $sudo rm -f "$policy"
prosody --version 2>/dev/null | head -1 || true
