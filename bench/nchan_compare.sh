#!/usr/bin/env bash
# ssehub against nginx with the nchan module: the same load generator, the same
# scenarios, in one run, on this machine.
#
#   bench/nchan_compare.sh [STREAMS [SECONDS]]     (defaults 10000 20)
#
# 1. Installs nginx and libnginx-mod-nchan from the Debian archive if either is
#    missing (then it must run as root). On a machine with an init system,
#    installing nginx also starts the packaged nginx service (port 80); this
#    script neither uses nor stops it.
# 2. Runs each scenario against a fresh ssehub (started by ssehub_bench on a free
#    loopback port) and then a fresh nginx (started here, config in a temp dir,
#    free loopback port), with the same ssehub_bench command but for --peer:
#      idle     STREAMS streams held open: daemon memory per idle stream
#      (a)+(c)  fanout, STREAMS subscribers, 10 events/s for SECONDS s, while a
#               prober opens PROBES new streams one at a time (connect -> ready)
#      (b)      fanout, STREAMS subscribers, a sequential publisher asking for
#               50 events/s for SECONDS s
# 3. Prints a markdown table of both peers side by side, with ratios.
#
# Daemon CPU is read from /proc/PID/stat, which for a process counts all its
# threads: ssehub's reactor threads, and nginx's master plus its workers (passed
# as --pids). Memory per idle stream is the growth of PSS of anonymous and
# shared memory pages, summed over the same pids (RSS printed too; see
# ssehub_bench idle). Every process started here is stopped by pid on exit
# (the ssehub that the bench starts, if the bench was interrupted, by the pid
# listening on its port); the temp dir is removed (set KEEP_LOGS=DIR to copy the
# runs' output and nginx's config and log there first).
#
# Environment: BUILD (build dir with ssehub and bench/ssehub_bench, default
# build/), SSEHUB and BENCH (the two binaries, default under BUILD), WORKERS
# (nginx worker_processes and ssehub reactor threads, default nproc), PROBES
# (default 200), PER_PROCESS (subscribers per load-generator process, default
# 5000), WRITES (write-floor writes, default 400000).
set -euo pipefail

STREAMS=${1:-10000}
SECS=${2:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SSEHUB=${SSEHUB:-$BUILD/ssehub}
BENCH=${BENCH:-$BUILD/bench/ssehub_bench}
WORKERS=${WORKERS:-$(nproc)}
PROBES=${PROBES:-200}
PER_PROCESS=${PER_PROCESS:-5000}
WRITES=${WRITES:-400000}

for f in "$SSEHUB" "$BENCH"; do
  [[ -x $f ]] || { echo "missing $f: build it first (scripts/build.sh build -DSSEHUB_BUILD_BENCH=ON)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "no curl" >&2; exit 2; }
# Subscribers are spread PER_PROCESS to a process, and nginx's workers are given
# worker_rlimit_nofile 20000: both need 20,000 descriptors.
ulimit -Sn 20000 2>/dev/null || ulimit -n 20000 2>/dev/null ||
  { echo "cannot raise the open files limit to 20000 (hard limit $(ulimit -Hn))" >&2; exit 2; }

TMP=$(mktemp -d /tmp/ssehub-nchan-compare-XXXXXX)
NGINX_PID=""    # the nginx master while a scenario runs against it
LOCAL_PORT=""   # the bench-started ssehub's port while its bench runs

# Stops `pid` with SIGTERM, waits up to 30 s, then SIGKILL. Bounded.
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

stop_nginx() {
  # SIGTERM to the master: fast shutdown, it stops its workers.
  if [[ -n $NGINX_PID ]]; then stop_pid "$NGINX_PID"; fi
  NGINX_PID=""
}

cleanup() {
  local rc=$?
  stop_nginx
  # The bench's ssehub is in its own process group: if the bench was interrupted,
  # stop the ssehub still listening on that port.
  if [[ -n $LOCAL_PORT ]]; then
    local pid
    for pid in $(ss -Hltnp "sport = :$LOCAL_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
      [[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$SSEHUB")" ]] && kill -TERM "$pid" 2>/dev/null
    done
    LOCAL_PORT=""
  fi
  if [[ -n ${KEEP_LOGS:-} ]]; then
    mkdir -p "$KEEP_LOGS" || true
    cp "$TMP"/*.txt "$TMP"/*.log "$TMP"/nginx.conf "$KEEP_LOGS"/ 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- nginx and nchan from the Debian archive, installed only if missing ---------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if ! installed nginx || ! installed libnginx-mod-nchan; then
  [[ $(id -u) == 0 ]] || { echo "nginx or libnginx-mod-nchan missing: run as root to install them" >&2; exit 2; }
  echo "== installing nginx libnginx-mod-nchan"
  apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-nchan \
      </dev/null >>"$TMP/apt.log" 2>&1
  }
  # Package lists may be missing (a fresh container): update once, then retry.
  apt_install || { apt-get update -qq </dev/null >>"$TMP/apt.log" 2>&1 && apt_install; } ||
    { cat "$TMP/apt.log" >&2; exit 1; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NCHAN_SO=$(dpkg -L libnginx-mod-nchan | grep '/ngx_nchan_module\.so$' | head -1 || true)
[[ -x $NGINX && -f $NCHAN_SO ]] || { echo "no nginx binary or nchan module" >&2; exit 2; }

# free_port, cpu_busy
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

# ---- nginx: one fresh instance per scenario ---------------------------------------
write_nginx_conf() {  # port
  cat >"$TMP/nginx.conf" <<EOF
# Written by bench/nchan_compare.sh; nginx runs with -p $TMP/.
load_module $NCHAN_SO;
# As many workers as ssehub gets reactor threads (--threads $WORKERS): one per
# core, 2 on the 2-core machine of docs/benchmarks.md.
worker_processes $WORKERS;
worker_rlimit_nofile 20000;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events {
  worker_connections 20000;
}
http {
  access_log off;
  # The publisher keeps one connection for the whole run; nginx's default (1000
  # requests per connection) would close it during a 50 events/s run.
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path $TMP/client_body;
  proxy_temp_path $TMP/proxy;
  fastcgi_temp_path $TMP/fastcgi;
  uwsgi_temp_path $TMP/uwsgi;
  scgi_temp_path $TMP/scgi;
  # Messages and channel state; a few 100-byte messages and one channel here.
  nchan_shared_memory_size 128m;
  server {
    # Backlog as ssehub's listener (SOMAXCONN), so neither drops SYNs sooner.
    listen 127.0.0.1:$1 backlog=4096;
    # A short buffer that expires soon: memory does not grow with the run.
    nchan_message_buffer_length 10;
    nchan_message_timeout 10s;
    location = /sub/bench {
      nchan_subscriber eventsource;
      nchan_channel_id bench;
      # Only what is published after subscribing, as an ssehub stream without
      # Last-Event-ID (nchan's default, oldest, replays the buffer first).
      nchan_subscriber_first_message newest;
    }
    location = /pub/bench {
      nchan_publisher http;
      nchan_channel_id bench;
    }
    # Answers once nginx is up, without a line in the error log.
    location = /up {
      return 204;
    }
  }
}
EOF
}

start_nginx() {  # sets NGINX_PORT, NGINX_PID, NGINX_PIDS (master and workers)
  NGINX_PORT=$(free_port)
  write_nginx_conf "$NGINX_PORT"
  : >"$TMP/error.log"
  "$NGINX" -p "$TMP/" -c "$TMP/nginx.conf" -e "$TMP/error.log" -g 'daemon off;' \
    >>"$TMP/nginx.log" 2>&1 &
  NGINX_PID=$!
  local workers=""
  for _ in $(seq 300); do
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx.log" "$TMP/error.log" >&2; exit 1; }
    workers=$(ps -o pid= --ppid "$NGINX_PID" | tr -d ' ' | paste -sd, - || true)
    if [[ -n $workers && $(tr ',' '\n' <<<"$workers" | wc -l) -ge $WORKERS ]] &&
      curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$NGINX_PORT/up"; then
      break
    fi
    sleep 0.1
  done
  curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$NGINX_PORT/up" ||
    { echo "nginx did not start" >&2; cat "$TMP/nginx.log" "$TMP/error.log" >&2; exit 1; }
  NGINX_PIDS="$NGINX_PID,$workers"
}

# ---- one scenario, both peers --------------------------------------------------------
declare -A RC BUSY
run_pair() {  # name mode bench-args...
  local name=$1 mode=$2
  shift 2
  local out
  echo
  BUSY[$name:ssehub]=$(cpu_busy)
  echo "== $(date -u +%T) $name, ssehub (CPU busy before: ${BUSY[$name:ssehub]}%)"
  out=$TMP/$name-ssehub.txt
  LOCAL_PORT=$(free_port)
  set +e
  "$BENCH" "$mode" --daemon "$SSEHUB" --port "$LOCAL_PORT" --threads "$WORKERS" "$@" | tee "$out"
  RC[$name:ssehub]=${PIPESTATUS[0]}
  set -e
  LOCAL_PORT=""  # the bench stopped its daemon

  start_nginx
  BUSY[$name:nchan]=$(cpu_busy)
  echo "== $(date -u +%T) $name, nginx+nchan :$NGINX_PORT pids $NGINX_PIDS" \
    "(CPU busy before: ${BUSY[$name:nchan]}%)"
  out=$TMP/$name-nchan.txt
  set +e
  "$BENCH" "$mode" --peer nchan --ports "$NGINX_PORT" --pids "$NGINX_PIDS" "$@" | tee "$out"
  RC[$name:nchan]=${PIPESTATUS[0]}
  set -e
  local now
  now="$NGINX_PID,$(ps -o pid= --ppid "$NGINX_PID" | tr -d ' ' | paste -sd, - || true)"
  [[ $now == "$NGINX_PIDS" ]] || echo "!! nginx workers changed during the run: $NGINX_PIDS -> $now"
  if [[ -s $TMP/error.log ]]; then
    echo "-- nginx error log (warn and above):"
    tail -n 20 "$TMP/error.log"
    cat "$TMP/error.log" >>"$TMP/nginx-errors.log"
  fi
  stop_nginx
}

echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%F)"
echo "== $("$NGINX" -v 2>&1), libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan)," \
  "$WORKERS nginx workers / ssehub reactor threads"
echo "== $STREAMS streams, $SECS s per fan-out, $PROBES connect probes, $PER_PROCESS subscribers per process"

COMMON=(--streams "$STREAMS" --per-process "$PER_PROCESS")
run_pair idle idle "${COMMON[@]}"
run_pair fanout10 fanout "${COMMON[@]}" --rate 10 --seconds "$SECS" --writes "$WRITES" \
  --probe-connects "$PROBES"
run_pair fanout50 fanout "${COMMON[@]}" --rate 50 --seconds "$SECS" --writes "$WRITES"

# ---- summary ---------------------------------------------------------------------------
# V[scenario:figure:peer], "?" where a run printed no such line.
declare -A V
N='\([0-9.-]*\)'
FIGURES=(
  "pss|s/^daemon PSS per idle stream: *$N bytes.*/\1/p"
  "rss|s/^daemon memory per idle stream: *$N bytes.*/\1/p"
  "published|s/^events published: *$N .*/\1/p"
  "got|s/^deliveries: *$N of .*/\1/p"
  "expected|s/^deliveries: *[0-9]* of $N expected.*/\1/p"
  "rate|s/^deliveries:.*($N\/s).*/\1/p"
  "bytes|s/^bytes per delivery: *$N .*/\1/p"
  "p50|s/^latency publish->client: p50 $N ms.*/\1/p"
  "p99|s/^latency publish->client: .* p99 $N ms.*/\1/p"
  "rtt50|s/^publish round trip: *p50 $N ms.*/\1/p"
  "rtt99|s/^publish round trip: .* p99 $N ms.*/\1/p"
  "cpu|s/^daemon CPU per delivery: $N us.*/\1/p"
  "floor|s/^bare write floor: *$N us .*round robin.*/\1/p"
  "sockets|s/^bare write floor: .* round robin over $N sockets.*/\1/p"
  "over|s/^daemon work per delivery above .*(ratio $N).*/\1/p"
  "c50|s/^connect to ready while busy: p50 $N ms.*/\1/p"
  "c99|s/^connect to ready while busy: .* p99 $N ms.*/\1/p"
  "cmax|s/^connect to ready while busy: .* max $N ms.*/\1/p"
  "cfail|s/^connect to ready while busy: .*ready; $N failed, $N past.*/\1 \/ \2/p"
)
parse() {  # scenario peer
  local f=$TMP/$1-$2.txt entry v
  for entry in "${FIGURES[@]}"; do
    v=$(sed -n "${entry#*|}" "$f" 2>/dev/null | head -1 || true)
    V[$1:${entry%%|*}:$2]=${v:-?}
  done
  if [[ ${V[$1:got:$2]} != "?" && ${V[$1:expected:$2]} != "?" ]]; then
    V[$1:lost:$2]=$(( ${V[$1:expected:$2]} - ${V[$1:got:$2]} ))
  else
    V[$1:lost:$2]="?"
  fi
  V[$1:pubrate:$2]=$(awk -v p="${V[$1:published:$2]}" -v s="$SECS" \
    'BEGIN {if (p ~ /^[0-9]+$/) printf "%.1f", p / s; else print "?"}')
  V[$1:busy:$2]=${BUSY[$1:$2]:-?}
}
ratio() {  # a b: a/b, or "–" if either is missing or b is 0
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a !~ /^-?[0-9.]+$/ || b !~ /^-?[0-9.]+$/ || b + 0 == 0) print "–"; else printf "%.2f", a / b }'
}
row() {  # scenario figure scenario:figure unit ratio?(yes|no)
  local s=${V[$3:ssehub]:-?} n=${V[$3:nchan]:-?} r=""
  [[ $5 == yes ]] && r=$(ratio "$s" "$n")
  [[ $s == "?" ]] || s="$s$4"
  [[ $n == "?" ]] || n="$n$4"
  echo "| $1 | $2 | $s | $n | $r |"
}
for name in idle fanout10 fanout50; do
  for peer in ssehub nchan; do parse "$name" "$peer"; done
done

echo
echo "== summary: $STREAMS streams, $SECS s per fan-out, $WORKERS nginx workers / ssehub" \
  "reactor threads, $(date -u +%F)"
echo
echo "| scenario | figure | ssehub | nchan | ssehub/nchan |"
echo "| --- | --- | --- | --- | --- |"
row "(d) $STREAMS idle streams" "memory per idle stream (PSS growth, anon+shmem)" idle:pss " B" yes
row "" "memory per idle stream (RSS growth, summed over pids)" idle:rss " B" yes
row "" "CPU busy before the run (other work)" idle:busy "%" no
for sc in "fanout10|(a) $STREAMS subscribers, 10 events/s" \
  "fanout50|(b) $STREAMS subscribers, 50 events/s asked"; do
  name=${sc%%|*} label=${sc#*|}
  row "$label" "events published in $SECS s" "$name:published" "" no
  row "" "events published per s" "$name:pubrate" "" yes
  row "" "deliveries/s" "$name:rate" "" yes
  row "" "events lost (deliveries missing)" "$name:lost" "" no
  row "" "bytes per delivery on the wire" "$name:bytes" "" no
  row "" "latency publish→client p50" "$name:p50" " ms" yes
  row "" "latency publish→client p99" "$name:p99" " ms" yes
  row "" "publish round trip p50" "$name:rtt50" " ms" yes
  row "" "publish round trip p99" "$name:rtt99" " ms" yes
  row "" "daemon CPU per delivery" "$name:cpu" " µs" yes
  row "" "bare-write floor, ${V[$name:sockets:ssehub]}-socket, same run" "$name:floor" " µs" no
  row "" "daemon CPU per delivery / floor" "$name:over" "" yes
  if [[ $name == fanout10 ]]; then
    row "(c) new streams while (a) runs" "connect→ready p50" "$name:c50" " ms" yes
    row "" "connect→ready p99" "$name:c99" " ms" yes
    row "" "connect→ready max" "$name:cmax" " ms" yes
    row "" "probes failed / past 5 s (of $PROBES)" "$name:cfail" "" no
  fi
  row "" "CPU busy before the run (other work)" "$name:busy" "%" no
done
echo
printf 'exit codes (3 = deliveries missing):'
for name in idle fanout10 fanout50; do
  printf ' %s ssehub %s, nchan %s;' "$name" "${RC[$name:ssehub]}" "${RC[$name:nchan]}"
done
echo
for k in "${!RC[@]}"; do [[ ${RC[$k]} == 0 ]] || exit 1; done
