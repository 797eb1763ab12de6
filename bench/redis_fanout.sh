#!/usr/bin/env bash
# Cross-replica fan-out through Redis, against one replica on the local bus.
#
#   bench/redis_fanout.sh [STREAMS [RATE [SECONDS]]]     (defaults 10000 10 20; as root)
#
# 1. Starts a throwaway Postgres (initdb as the postgres user into a temp dir,
#    free loopback port, database `ssehub`), a redis-server (free loopback port,
#    no persistence) and two ssehub replicas (store.kind postgres, bus.kind
#    redis), and runs `ssehub_bench fanout --ports A,B`: subscribers spread
#    round robin over both replicas, events published to the first.
# 2. Stops all of that, then runs the single-replica baseline on the embedded
#    default (memory store, local bus): `ssehub_bench fanout --daemon build/ssehub`.
# 3. Prints both results and the ratios.
#
# Every process it starts is stopped by pid on exit (the baseline daemon, which
# the bench starts, by the pid listening on its port); the temp dir is removed
# (set KEEP_LOGS=DIR to copy the daemon, Postgres and Redis logs there first).
# Environment: REPLICA_THREADS (reactor threads per replica, default 1),
# BASELINE_THREADS (default 0 = one per core), PER_PROCESS (subscribers per
# load-generator process, default 5000), WRITES (write-floor writes, default 400000).
set -euo pipefail

STREAMS=${1:-10000}
RATE=${2:-10}
SECS=${3:-20}
REPLICA_THREADS=${REPLICA_THREADS:-1}
BASELINE_THREADS=${BASELINE_THREADS:-0}
PER_PROCESS=${PER_PROCESS:-5000}
WRITES=${WRITES:-400000}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SSEHUB=$ROOT/build/ssehub
BENCH=$ROOT/build/bench/ssehub_bench
[[ $(id -u) == 0 ]] || { echo "run as root (initdb runs as the postgres user)" >&2; exit 2; }
for f in "$SSEHUB" "$BENCH"; do
  [[ -x $f ]] || { echo "missing $f: build it first (scripts/build.sh build -DSSEHUB_BUILD_BENCH=ON)" >&2; exit 2; }
done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n $PGBIN && -x $PGBIN/postgres ]] || { echo "no Postgres under /usr/lib/postgresql" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "no redis-server" >&2; exit 2; }
command -v curl >/dev/null || { echo "no curl" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)"

TMP=$(mktemp -d /tmp/ssehub-redis-fanout-XXXXXX)
PIDS=()         # redis-server and the replicas, stopped in reverse order
PG_PID=""       # the postmaster (not our child: RUNUSER_PID is)
RUNUSER_PID=""
LOCAL_PORT=""   # the baseline daemon's port while its bench runs

# Stops `pid` with `sig`, waits up to 30 s, then SIGKILL. Bounded.
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  PIDS=()
  if [[ -n $PG_PID ]]; then
    # The postmaster is not our child (runuser is): SIGINT = fast shutdown, then wait.
    kill -INT "$PG_PID" 2>/dev/null || true
    for _ in $(seq 300); do
      kill -0 "$PG_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$PG_PID" 2>/dev/null && kill -KILL "$PG_PID" 2>/dev/null || true
    PG_PID=""
  fi
  if [[ -n $RUNUSER_PID ]]; then stop_pid "$RUNUSER_PID"; fi
  RUNUSER_PID=""
  # The baseline daemon is the bench's child, in its own process group: if the
  # bench was interrupted, stop the ssehub still listening on the baseline port.
  if [[ -n $LOCAL_PORT ]]; then
    local pid
    for pid in $(ss -Hltnp "sport = :$LOCAL_PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
      [[ $(readlink "/proc/$pid/exe") == "$SSEHUB" ]] && kill -TERM "$pid" 2>/dev/null
    done
    LOCAL_PORT=""
  fi
}

cleanup() {
  local rc=$?
  stop_all
  if [[ -n ${KEEP_LOGS:-} ]]; then
    mkdir -p "$KEEP_LOGS" && cp "$TMP"/*.log "$KEEP_LOGS"/ 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port, cpu_busy
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

# CPU seconds (user+sys) of a pid and, with "tree", its descendants.
cpu_of() {
  local root=$1 tree=${2:-} pids=$1
  [[ -n $tree ]] && pids="$root $(ps -o pid= --ppid "$root" | tr '\n' ' ')"
  local ticks=0 p s
  for p in $pids; do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    set -- $s
    ticks=$((ticks + ${12} + ${13}))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}'
}

calc() {  # awk arithmetic: calc FORMAT EXPR
  awk "BEGIN {printf \"$1\", $2}"
}

wait_http_ok() {  # url, bounded 30 s
  for _ in $(seq 300); do
    curl -sf -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

metric() {  # port name
  curl -sf --max-time 2 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'
}

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%F)"
echo "== CPU busy before start (other work on the machine): $(cpu_busy)%"

# ---- Postgres ------------------------------------------------------------------
PGPORT=$(free_port)
chown postgres: "$TMP"
cd "$TMP"  # readable by the postgres user
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pgdata" -U postgres --auth=trust -E UTF8 \
  --no-locale --no-sync >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
runuser -u postgres -- "$PGBIN/postgres" -D "$TMP/pgdata" -p "$PGPORT" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories="$TMP" -c fsync=off \
  -c full_page_writes=off -c max_connections=200 >"$TMP/postgres.log" 2>&1 &
RUNUSER_PID=$!
for _ in $(seq 300); do
  [[ -s $TMP/pgdata/postmaster.pid ]] && pg_isready -q -h 127.0.0.1 -p "$PGPORT" -U postgres && break
  kill -0 "$RUNUSER_PID" 2>/dev/null || { cat "$TMP/postgres.log" >&2; exit 1; }
  sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$PGPORT" -U postgres || { cat "$TMP/postgres.log" >&2; exit 1; }
PG_PID=$(head -1 "$TMP/pgdata/postmaster.pid")
runuser -u postgres -- "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres \
  -c 'CREATE DATABASE ssehub' >/dev/null
PGURL="postgresql://postgres@127.0.0.1:$PGPORT/ssehub"
cd "$ROOT"

# ---- Redis ---------------------------------------------------------------------
RPORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --dir "$TMP" \
  --logfile "$TMP/redis.log" --daemonize no &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 300); do
  redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null | grep -q PONG ||
  { cat "$TMP/redis.log" >&2; exit 1; }

# ---- two replicas ----------------------------------------------------------------
start_replica() {  # name port
  env SSEHUB_SERVER_LISTEN="127.0.0.1:$2" SSEHUB_SERVER_THREADS="$REPLICA_THREADS" \
    SSEHUB_STORE_KIND=postgres SSEHUB_STORE_POSTGRES_URL="$PGURL" \
    SSEHUB_BUS_KIND=redis SSEHUB_BUS_REDIS_URL="redis://127.0.0.1:$RPORT" \
    SSEHUB_LOG_LEVEL=warn SSEHUB_STREAM_HEARTBEAT_MS=600000 SSEHUB_SERVER_DRAIN_TIMEOUT_MS=2000 \
    "$SSEHUB" >"$TMP/replica-$1.log" 2>&1 &
  PIDS+=("$!")
  LAST_PID=$!
  wait_http_ok "http://127.0.0.1:$2/health/ready" || { cat "$TMP/replica-$1.log" >&2; exit 1; }
}
PA=$(free_port); start_replica a "$PA"; A_PID=$LAST_PID
PB=$(free_port); start_replica b "$PB"; B_PID=$LAST_PID
echo "== postgres :$PGPORT (pid $PG_PID), redis :$RPORT (pid $REDIS_PID)," \
  "replicas :$PA (pid $A_PID), :$PB (pid $B_PID), $REPLICA_THREADS reactor thread(s) each"

PG_CPU0=$(cpu_of "$PG_PID" tree); REDIS_CPU0=$(cpu_of "$REDIS_PID")
echo "== $(date -u +%T) two replicas, redis bus: $STREAMS subscribers, $RATE events/s, $SECS s"
set +e
"$BENCH" fanout --ports "$PA,$PB" --pids "$A_PID,$B_PID" --streams "$STREAMS" \
  --per-process "$PER_PROCESS" --rate "$RATE" --seconds "$SECS" --writes "$WRITES" \
  | tee "$TMP/redis-run.txt"
REDIS_RC=${PIPESTATUS[0]}
set -e
PG_CPU1=$(cpu_of "$PG_PID" tree); REDIS_CPU1=$(cpu_of "$REDIS_PID")
echo "== $(date -u +%T) done"
echo "postgres CPU during the run: $(calc %.2f "$PG_CPU1 - $PG_CPU0") s;" \
  "redis-server CPU: $(calc %.2f "$REDIS_CPU1 - $REDIS_CPU0") s"
for r in "a $PA" "b $PB"; do
  read -r name port <<<"$r"
  printf 'replica %s: ' "$name"
  for m in ssehub_redis_messages_total ssehub_redis_published_events_total \
    ssehub_redis_recovered_events_total ssehub_redis_gaps_total ssehub_redis_reconnects_total \
    ssehub_redis_publish_failures_total ssehub_redis_sentinel_misses_total; do
    printf '%s=%s ' "${m#ssehub_redis_}" "$(metric "$port" "$m")"
  done
  echo
done
for n in a b; do
  if [[ -s $TMP/replica-$n.log ]]; then
    echo "-- replica $n log (warn and above):"
    tail -n 50 "$TMP/replica-$n.log"
  fi
done
stop_all
echo "replicas, redis and postgres stopped"

# ---- baseline: one replica, embedded default ---------------------------------------
echo "== CPU busy before the baseline (other work on the machine): $(cpu_busy)%"
echo "== $(date -u +%T) one replica, local bus (memory store):" \
  "$STREAMS subscribers, $RATE events/s, $SECS s"
set +e
LOCAL_PORT=$(free_port)
"$BENCH" fanout --daemon "$SSEHUB" --port "$LOCAL_PORT" --threads "$BASELINE_THREADS" \
  --streams "$STREAMS" --per-process "$PER_PROCESS" --rate "$RATE" --seconds "$SECS" \
  --writes "$WRITES" \
  | tee "$TMP/local-run.txt"
LOCAL_RC=${PIPESTATUS[0]}
LOCAL_PORT=""  # the bench stopped its daemon
set -e
echo "== $(date -u +%T) done"

# ---- summary ---------------------------------------------------------------------------
summary() {  # label file prefix: one table row; sets <prefix>_RATE, _P50, _P99
  local f=$2 events got expected rate p50 p99
  events=$(sed -n 's/^events published: *\([0-9]*\).*/\1/p' "$f")
  read -r got expected < <(sed -n 's/^deliveries: *\([0-9]*\) of \([0-9]*\).*/\1 \2/p' "$f")
  rate=$(sed -n 's/^deliveries:.*(\([0-9]*\)\/s).*/\1/p' "$f")
  read -r p50 p99 < <(sed -n 's/^latency.* p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\1 \2/p' "$f")
  printf '%-24s %9s %13s %16s %9s %9s %7s\n' "$1" "${events:-?}" \
    "$(calc %.2f "${events:-0} / $SECS")" "${rate:-?}" "${p50:-?}" "${p99:-?}" \
    "$(( ${expected:-0} - ${got:-0} ))"
  eval "${3}_RATE=${rate:-0} ${3}_P50=${p50:-0} ${3}_P99=${p99:-0}"
}
echo
echo "== summary ($STREAMS subscribers, $RATE events/s offered, $SECS s)"
printf '%-24s %9s %13s %16s %9s %9s %7s\n' setup published published/s deliveries/s \
  p50-ms p99-ms lost
summary "2 replicas, redis bus" "$TMP/redis-run.txt" R
summary "1 replica, local bus" "$TMP/local-run.txt" L
echo "ratio redis/local: deliveries/s $(calc %.3f "$R_RATE / ($L_RATE + 1e-9)")," \
  "p50 $(calc %.2f "$R_P50 / ($L_P50 + 1e-9)")x, p99 $(calc %.2f "$R_P99 / ($L_P99 + 1e-9)")x"
echo "exit codes: redis run $REDIS_RC, local run $LOCAL_RC (3 = deliveries missing)"
[[ $REDIS_RC == 0 && $LOCAL_RC == 0 ]]
