#!/usr/bin/env bash
# The Debian package, on this machine: `make deb` output installs with dpkg -i, the
# unit passes `systemd-analyze verify`, the packaged binary runs as the packaged user
# with the packaged config and answers, --version says what it is; then it is purged.
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
deb=$(ls -t target/debian/prosody-admin_*.deb | head -1)
echo "installing $deb"
$sudo dpkg -i "$deb" >/dev/null
trap '$sudo dpkg --purge prosody-admin >/dev/null 2>&1 || true' EXIT

getent passwd prosody-admin >/dev/null || { echo "FAIL: no prosody-admin user"; exit 1; }
[ "$(stat -c %U:%G /var/lib/prosody-admin)" = prosody-admin:prosody-admin ] || { echo "FAIL: state dir owner"; exit 1; }
[ "$(stat -c %a:%G /etc/prosody-admin/config.toml)" = 640:prosody-admin ] || { echo "FAIL: config mode"; exit 1; }
command -v systemd-analyze >/dev/null 2>&1 || $sudo apt-get install -y -qq systemd >/dev/null
systemd-analyze verify /usr/lib/systemd/system/prosody-admin.service
echo "unit verified"
# The live path's drop-in (run as Prosody's user) is shipped and verifies with the unit.
dropin=/usr/share/doc/prosody-admin/examples/run-as-prosody.conf
[ -f "$dropin" ] || { echo "FAIL: no $dropin"; exit 1; }
grep -q '^User=prosody$' "$dropin" || { echo "FAIL: drop-in does not run as prosody"; exit 1; }
if getent group prosody >/dev/null; then
    id -nG prosody-admin | grep -qw prosody || { echo "FAIL: prosody-admin not in Prosody's group"; exit 1; }
    echo "prosody-admin is in Prosody's group"
fi

version=$(/usr/bin/prosody-admin --version)
echo "$version"
case "$version" in *"spec 1.0.0"*) ;; *) echo "FAIL: --version does not name the spec version"; exit 1 ;; esac

# As systemd would run it (user, config, working directory), on a free port.
out=$(mktemp)
$sudo runuser -u prosody-admin -- sh -c 'cd /var/lib/prosody-admin && exec /usr/bin/prosody-admin --config /etc/prosody-admin/config.toml serve --listen 127.0.0.1:0' >"$out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
url=$(sed -n 's/^prosody-admin listening on \(\S*\)$/\1/p' "$out")
[ -n "$url" ] || { cat "$out"; echo "FAIL: did not start"; exit 1; }
ready=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1] + '/readyz').status)" "$url")
token=$($sudo cat /var/lib/prosody-admin/admin-token)
users=$(python3 -c "
import json, sys, urllib.request
r = urllib.request.Request(sys.argv[1] + '/users', headers={'Authorization': 'Bearer ' + sys.argv[2]})
print(','.join(u['username'] for u in json.load(urllib.request.urlopen(r))))" "$url" "$token")
$sudo kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ "$ready" = 200 ] && [ "$users" = admin ] || { cat "$out"; echo "FAIL: ready=$ready users=$users"; exit 1; }
[ "$($sudo stat -c %U /var/lib/prosody-admin/prosody-admin.sqlite)" = prosody-admin ] || { echo "FAIL: database owner"; exit 1; }
echo "package: installed, unit verified, served /readyz 200 and the bootstrap admin as user prosody-admin"
