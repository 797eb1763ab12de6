#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan, and runs
# each for SECONDS (default 15) on a copy of its seed corpus in fuzz/corpus/.
# A crash stops the run and leaves its input in build-fuzz/crash-*.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
CXX=clang++ cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
ok=0
for dir in fuzz/corpus/*/; do
  name=$(basename "$dir")
  work=$(mktemp -d)
  cp "$dir"* "$work"/
  log="build-fuzz/$name.log"
  if ! ./build-fuzz/fuzz_"$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="build-fuzz/crash-$name-" "$work" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz_$name: FAILED (input saved as build-fuzz/crash-$name-*)"
    rm -rf "$work"
    exit 1
  fi
  runs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  echo "fuzz_$name: ${runs:-0} inputs in ${seconds}s, no crash"
  rm -rf "$work"
  ok=$((ok + 1))
done
echo "fuzz: ${ok} passed, 0 failed"
