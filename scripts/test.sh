#!/usr/bin/env bash
# Installs the dependencies, builds waitprof and runs the whole test suite
# (unit tests and end-to-end tests with real BPF). Run as root, or as a user
# with sudo: the end-to-end tests load BPF programs.
set -euo pipefail
. "$(dirname "$0")/need_root.sh"
need_root "it installs packages; the tests load BPF" "$@"
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cd build
# Every dependency is installed above, so a skipped test (exit 77: a tool or
# BPF missing) is a failure here, not a quiet pass.
set +e
ctest --output-on-failure "$@" | tee ctest-output.log
status=${PIPESTATUS[0]}
set -e
if grep -q '(Skipped)' ctest-output.log; then
	echo "test.sh: tests skipped although install-deps.sh ran (see their SKIPPED lines):" >&2
	grep '(Skipped)' ctest-output.log >&2
	status=1
fi
exit "$status"
