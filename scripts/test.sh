#!/usr/bin/env bash
# Installs the dependencies, builds waitprof and runs the whole test suite
# (unit tests and end-to-end tests with real BPF). Run as root: the
# end-to-end tests load BPF programs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure "$@"
