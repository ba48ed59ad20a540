#!/usr/bin/env bash
# Installs the PostgreSQL server the tests run privately (tests/pg/cluster.sh), from
# Debian's packages. The package's own cluster is kept from starting: the tests start
# their own server, on loopback, in a temporary directory.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; then
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
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
[ -z "$created" ] || $sudo rm -f "$policy"
echo "PostgreSQL $(ls /usr/lib/postgresql) installed"
