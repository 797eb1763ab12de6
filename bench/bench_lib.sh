# Shell helpers shared by the bench scripts (sourced, not run).

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 30000))
    [[ -z $(ss -Htln "sport = :$p") ]] && { echo "$p"; return; }
  done
  echo "no free port" >&2; exit 1
}

# Busy share of both cores over one second (anything else running skews the figures).
cpu_busy() {
  local a b
  read -ra a </proc/stat; sleep 1; read -ra b </proc/stat
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
