#!/usr/bin/env bash
# Installs the two Prosody versions the interop tests run against, from Debian's packages:
# - Prosody 0.12.3 (bookworm) and its SQLite driver, as an installed package;
# - Prosody 13.0.1 (bookworm-backports), unpacked beside it into .tools/prosody13 (the two
#   cannot both be installed), with its Lua dependencies and the backports
#   prosody-modules (mod_http_oauth2) unpacked as well.
# The package's own service is kept from starting: the tests run their own Prosody, on
# loopback, from a temporary config. See ../shared/reference/prosody-13.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
P13=.tools/prosody13
P13_VERSION="13.0.1-1~bpo12+1"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

need_012=1
if command -v prosody >/dev/null 2>&1 && dpkg -s lua-dbi-sqlite3 lua-dbi-postgresql >/dev/null 2>&1; then need_012=""; fi
# Prosody 13's Lua dependencies are bookworm packages.
deps13="lua5.4 lua-expat lua-filesystem lua-socket lua-sec lua-dbi-sqlite3 lua-dbi-postgresql lua-unbound libicu72"
need_deps=""
for p in $deps13; do dpkg -s "$p" >/dev/null 2>&1 || need_deps=1; done

if [ -n "$need_012" ] || [ -n "$need_deps" ]; then
  policy=/usr/sbin/policy-rc.d
  created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prosody $deps13 >/dev/null
  [ -z "$created" ] || $sudo rm -f "$policy"
fi

if [ ! -x "$P13/bin/prosody" ]; then
  # The backports suite, from the machine's own Debian source (no host named here).
  if ! apt-cache policy 2>/dev/null | grep -q bookworm-backports; then
    awk 'BEGIN{RS="";ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources \
      | sed 's/^Suites:.*/Suites: bookworm-backports/' | $sudo tee /etc/apt/sources.list.d/backports.sources >/dev/null
    $sudo apt-get update -qq
  fi
  rm -rf "$P13.tmp" && mkdir -p "$P13.tmp/debs"
  (cd "$P13.tmp/debs" && apt-get download -qq "prosody=$P13_VERSION" prosody-modules/bookworm-backports >/dev/null)
  for d in "$P13.tmp"/debs/*.deb; do dpkg -x "$d" "$P13.tmp/root"; done
  root="$(pwd)/$P13/root"
  mkdir -p "$P13.tmp/bin"
  for b in prosody prosodyctl; do
    sed -e "s|^CFG_SOURCEDIR=.*|CFG_SOURCEDIR='$root/usr/lib/prosody';|" \
        -e "s|^CFG_PLUGINDIR=.*|CFG_PLUGINDIR='$root/usr/lib/prosody/modules/';|" \
        "$P13.tmp/root/usr/bin/$b" > "$P13.tmp/bin/$b"
    chmod +x "$P13.tmp/bin/$b"
  done
  rm -rf "$P13" && mv "$P13.tmp" "$P13"
fi
# (`prosody --version` starts a server on 0.12: read the versions off the packages.)
echo "prosody $(dpkg-query -W -f='${Version}' prosody) installed; $(grep -o "^Version: .*" "$P13/root/../version" 2>/dev/null || echo "13: $P13_VERSION") in $P13"
