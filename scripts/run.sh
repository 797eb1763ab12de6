#!/usr/bin/env bash
# Quickstart: install what is missing, build, and run ssehub on the embedded
# default (memory store, local bus) at 127.0.0.1:8080. Extra arguments go to ssehub.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build -DSSEHUB_BUILD_TESTS=OFF
exec ./build/ssehub "$@"
