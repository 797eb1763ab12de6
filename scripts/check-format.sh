#!/usr/bin/env bash
# Fails when a tracked C++ file is not formatted as .clang-format says; prints
# the files. Fix them with: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find src tests fuzz bench -name '*.[ch]pp')
bad=$(clang-format --dry-run "${files[@]}" 2>&1 | grep -oE '^[^:]+\.(cpp|hpp)' | sort -u || true)
if [[ -n $bad ]]; then
  echo "not clang-formatted (clang-format -i FILE):"
  echo "$bad"
  exit 1
fi
echo "clang-format: ${#files[@]} files formatted"
