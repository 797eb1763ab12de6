#!/usr/bin/env bash
# A long chaos soak by hand: builds with the tests, then runs ssehub_chaos (real
# Postgres, Redis and replicas under a seeded nemesis, judged by the history checker).
#
#   scripts/chaos.sh --minutes N [--seed S] [--bus redis|pglog|mixed] [--replicas N]
#                    [--build-dir DIR] [--keep-logs]
#
# The seed is printed first; the same seed replays the same fault schedule. Exits
# non-zero when the checker found violations (the logs are kept and named). The
# whole history stays in memory until the check: about 3 GB per hour.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
minutes=10
build_dir=build
args=()
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seed | --bus | --replicas) args+=("$1" "$2"); shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --keep-logs) args+=("$1"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "chaos.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $minutes =~ ^[0-9]+$ ]] && ((minutes > 0)) || { echo "chaos.sh: --minutes must be a positive integer" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)" || true
scripts/build.sh "$build_dir" -DSSEHUB_BUILD_TESTS=ON
exec "$build_dir/tests/chaos/ssehub_chaos" --seconds $((minutes * 60)) "${args[@]}"
