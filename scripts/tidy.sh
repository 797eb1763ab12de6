#!/usr/bin/env bash
# Runs clang-tidy with the checks of .clang-tidy over the C++ sources, with the
# compile commands of a build directory; fails on any finding.
#
#   scripts/tidy.sh [-p BUILD_DIR] [-j JOBS] [--base REF]
#
# Without --base: every source of the build (compile_commands.json; configure
# with -DSSEHUB_BUILD_TESTS=ON -DSSEHUB_BUILD_BENCH=ON to cover tests/ and
# bench/). With --base REF: the sources changed since REF, committed or not; a
# changed header brings in the source beside it. Headers are checked where the
# sources include them.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
jobs=$(nproc)
base=""
while (($#)); do
  case $1 in
    -p) build=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    *) echo "usage: scripts/tidy.sh [-p BUILD_DIR] [-j JOBS] [--base REF]" >&2; exit 2 ;;
  esac
done

tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[[ -n $tidy ]] || { echo "no clang-tidy (apt-get install clang-tidy)" >&2; exit 2; }
db="$build/compile_commands.json"
[[ -f $db ]] || { echo "no $db: configure $build first (scripts/build.sh $build)" >&2; exit 2; }

# The sources the build compiles, as paths relative to the repository.
known=()
while IFS= read -r f; do
  f=${f#"$PWD/"}
  [[ $f =~ ^(src|tests|bench)/ ]] && known+=("$f")
done < <(grep -o '"file": "[^"]*"' "$db" | sed 's/^"file": "//; s/"$//' | sort -u)

if [[ -n $base ]]; then
  mapfile -t changed < <({
    git diff --name-only "$base" -- '*.cpp' '*.hpp'
    git ls-files --others --exclude-standard -- '*.cpp' '*.hpp'
  } | sed 's/\.hpp$/.cpp/' | sort -u)
  mapfile -t files < <(comm -12 <(printf '%s\n' "${known[@]}") <(printf '%s\n' "${changed[@]}"))
else
  files=("${known[@]}")
fi
if ((${#files[@]} == 0)); then
  echo "clang-tidy: no sources to check"
  exit 0
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The build's precompiled header is GCC's: clang-tidy reads the headers instead.
mkdir "$out/db"
sed -E 's# -Winvalid-pch##g; s# -include [^ "]*cmake_pch\.hxx##g' "$db" >"$out/db/compile_commands.json"
# One log per source; a source's findings are printed together.
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -I{} sh -c '"$1" -p "$2" --quiet "$3" >"$4/$(echo "$3" | tr / _).log" 2>&1 || true' \
    _ "$tidy" "$out/db" {} "$out"
cat "$out"/*.log | grep -E '(warning|error): .*\[[a-z-]+.*\]$' | sort -u >"$out/findings" || true
if [[ -s $out/findings ]]; then
  cat "$out/findings"
  echo "clang-tidy: $(wc -l <"$out/findings") findings in ${#files[@]} sources"
  exit 1
fi
if grep -l 'error:' "$out"/*.log >/dev/null 2>&1; then
  grep -h 'error:' "$out"/*.log | sort -u
  echo "clang-tidy: could not check every source"
  exit 1
fi
echo "clang-tidy: ${#files[@]} sources clean"
