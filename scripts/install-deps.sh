#!/usr/bin/env bash
# Installs the Debian bookworm packages ssehub needs to build, run and test.
# Idempotent and quiet: only missing packages are installed.
#   scripts/install-deps.sh            build + run + C++ tests
#   scripts/install-deps.sh --js       also Node.js and Chromium for the JS client tests
set -euo pipefail

packages=(
  g++ cmake make ccache pkg-config curl ca-certificates
  libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev
  libssl-dev procps clang clang-format clang-tidy libclang-rt-14-dev postgresql redis-server nginx-light
  libpqxx-dev libhiredis-dev
)
if [[ "${1:-}" == "--js" ]]; then
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  [[ -x /usr/bin/chromium ]] || packages+=(chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Package installs may start system services; tests start their own on free ports.
fi
