#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit and
# integration tests and the seeded fault-injection (chaos) runs, the unit and
# integration tests again built with AddressSanitizer and
# UndefinedBehaviorSanitizer and with ThreadSanitizer, the libFuzzer harnesses
# for a bounded time, and the JS client's tests against the real daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" || true

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
# Totals over every runner, printed as the last line.
sum_of() { # sum_of LOG REGEX: adds the last number of each matching line
  { grep -E "$2" "$1" || true; } | awk '{s += $NF} END {print s + 0}'
}
passed=0
failed=0

js=0
[[ -f clients/js/package.json ]] && js=1
if ((js)); then scripts/install-deps.sh --js; else scripts/install-deps.sh; fi

echo "== format"
scripts/check-format.sh
echo "== build"
# The benchmarks too, so that they keep building; they run by hand only.
scripts/build.sh build -DSSEHUB_BUILD_TESTS=ON -DSSEHUB_BUILD_BENCH=ON
echo "== clang-tidy"
scripts/tidy.sh -p build -j 2
echo "== tests"
ctest --test-dir build --output-on-failure --no-tests=error | tee "$log_dir/ctest.log"

echo "== build with ASan + UBSan"
scripts/build.sh build-asan -DSSEHUB_BUILD_TESTS=ON -DSSEHUB_SANITIZE=ON
echo "== tests with ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --no-tests=error | tee "$log_dir/ctest-asan.log"

echo "== build with ThreadSanitizer"
scripts/build.sh build-tsan -DSSEHUB_BUILD_TESTS=ON -DSSEHUB_TSAN=ON
echo "== tests with ThreadSanitizer"
# The unit and integration tests, with the daemons they start built the same
# way. Every process writes its reports to files, and any report fails the run.
tsan_logs="$log_dir/tsan"
mkdir -p "$tsan_logs"
TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$tsan_logs/report" \
  ctest --test-dir build-tsan --output-on-failure --no-tests=error -LE chaos |
  tee "$log_dir/ctest-tsan.log"
if compgen -G "$tsan_logs/report*" >/dev/null; then
  head -c 20000 "$tsan_logs"/report*
  echo "ThreadSanitizer reported the races above"
  exit 1
fi

echo "== fuzzing (${SSEHUB_FUZZ_SECONDS:-15} s per harness)"
scripts/fuzz.sh "${SSEHUB_FUZZ_SECONDS:-15}" | tee "$log_dir/fuzz.log"

if ((js)); then
  echo "== JS client"
  (cd clients/js && npm ci --no-audit --no-fund --loglevel=error &&
    SSEHUB_BIN="$PWD/../../build/ssehub" npm test) | tee "$log_dir/js.log"
fi
for f in "$log_dir"/ctest*.log; do
  total=$(sum_of "$f" 'tests failed out of [0-9]+$')
  bad=$(grep -Eo '[0-9]+ tests failed out of' "$f" | awk '{s += $1} END {print s + 0}')
  passed=$((passed + total - bad))
  failed=$((failed + bad))
done
passed=$((passed + $(grep -c 'no crash$' "$log_dir/fuzz.log" || true)))
if ((js)); then
  passed=$((passed + $(sum_of "$log_dir/js.log" '^# pass [0-9]+$')))
  failed=$((failed + $(sum_of "$log_dir/js.log" '^# fail [0-9]+$')))
fi
echo "== all tests passed"
echo "${passed} passed, ${failed} failed"
