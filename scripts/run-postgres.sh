#!/usr/bin/env bash
# Like run.sh, on the durable Postgres store: installs what is missing, builds,
# starts a local Postgres (loopback only, data in /var/tmp/ssehub-pgdata, port
# 54329) unless it is already running, creates the database `ssehub`, and runs
# ssehub on it at 127.0.0.1:8080. Extra arguments go to ssehub. Run as root.
#   SSEHUB_PGDATA, SSEHUB_PGPORT override the data directory and port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build -DSSEHUB_BUILD_TESTS=OFF

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data="${SSEHUB_PGDATA:-/var/tmp/ssehub-pgdata}"
port="${SSEHUB_PGPORT:-54329}"
pg() { runuser -u postgres -- "$@"; }

if [[ ! -f "$data/PG_VERSION" ]]; then
  install -d -o postgres -g postgres -m 700 "$data"
  pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
fi
if ! pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $data" start >/dev/null
fi
psql=(psql -h 127.0.0.1 -p "$port" -U postgres -X -q -t -A)
[[ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'ssehub'")" == 1 ]] ||
  "${psql[@]}" -c "CREATE DATABASE ssehub"
echo "postgres: 127.0.0.1:$port, data $data; stop it with:"
echo "  runuser -u postgres -- $bin/pg_ctl -D $data stop"
export SSEHUB_STORE_KIND=postgres
export SSEHUB_STORE_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/ssehub"
exec ./build/ssehub "$@"
