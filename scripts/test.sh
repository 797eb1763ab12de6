#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit and
# integration tests, the same again built with AddressSanitizer and
# UndefinedBehaviorSanitizer, and the JS client's tests against the real daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" || true

js=0
[[ -f clients/js/package.json ]] && js=1
if ((js)); then scripts/install-deps.sh --js; else scripts/install-deps.sh; fi

echo "== build"
scripts/build.sh build -DSSEHUB_BUILD_TESTS=ON
echo "== tests"
ctest --test-dir build --output-on-failure --no-tests=error

echo "== build with ASan + UBSan"
scripts/build.sh build-asan -DSSEHUB_BUILD_TESTS=ON -DSSEHUB_SANITIZE=ON
echo "== tests with ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --no-tests=error

if ((js)); then
  echo "== JS client"
  (cd clients/js && npm ci --no-audit --no-fund --loglevel=error &&
    SSEHUB_BIN="$PWD/../../build/ssehub" npm test)
fi
echo "== all tests passed"
