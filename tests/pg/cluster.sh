#!/usr/bin/env bash
# A private PostgreSQL server for the tests: its own data directory and unix socket in
# DIR, TCP on 127.0.0.1:PORT only, trust authentication (loopback and socket only).
# Runs in the foreground until the process OWNER exits (or this script gets SIGTERM),
# then stops the server and removes DIR. Prints "ready" on stdout once it accepts
# connections. As root, the server runs as the `postgres` user (initdb refuses root).
# With DIR/server.crt and DIR/server.key present, TLS is on and required over TCP
# (`hostssl` only; the unix socket stays plain, as libpq never uses TLS there).
#   tests/pg/cluster.sh DIR PORT OWNER_PID
set -euo pipefail
dir=$1 port=$2 owner=$3
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); chown postgres "$dir"; fi
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
tls=()
if [ -f "$dir/server.crt" ] && [ -f "$dir/server.key" ]; then
  # The server refuses a key others can read; as root it runs as postgres.
  chmod 600 "$dir/server.key"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir/server.crt" "$dir/server.key"; fi
  tls=(-c ssl=on -c "ssl_cert_file=$dir/server.crt" -c "ssl_key_file=$dir/server.key")
  printf '%s\n' "local all all trust" "hostssl all all 127.0.0.1/32 trust" "hostnossl all all 127.0.0.1/32 reject" \
    > "$dir/data/pg_hba.conf"
fi
"${as[@]}" "$bin/postgres" -D "$dir/data" -k "$dir" -p "$port" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c max_connections=200 "${tls[@]}" >"$dir/server.log" 2>&1 &
pg=$!
# SIGINT to the postmaster itself (runuser does not pass signals on): fast shutdown.
stop() {
  local pm
  pm=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pm" ]; then kill -INT "$pm" 2>/dev/null || true; else kill -INT "$pg" 2>/dev/null || true; fi
  wait "$pg" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 0' TERM INT
for _ in $(seq 1 100); do
  if "$bin/pg_isready" -q -h "$dir" -p "$port"; then break; fi
  kill -0 "$pg" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done
"$bin/pg_isready" -q -h "$dir" -p "$port" || { cat "$dir/server.log" >&2; exit 1; }
echo ready
while kill -0 "$owner" 2>/dev/null && kill -0 "$pg" 2>/dev/null; do sleep 0.5; done
