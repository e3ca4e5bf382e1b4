#!/usr/bin/env bash
# Installs the dependencies, builds waitprof, records the bundled demo
# workload (tests/workloads/blocker: threads that sleep, poll, read a pipe)
# and writes a flame graph and a report; then records a logger that runs
# fdatasync under its mutex (tests/workloads/lockers) and prints what
# waitprof finds in it. Run as root, or as a user with sudo.
set -euo pipefail
. "$(dirname "$0")/need_root.sh"
need_root "it installs packages and loads BPF" "$@"
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
echo "== building (log: build/build.log)" >&2
mkdir -p build
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build -j"$(nproc)" --target waitprof blocker lockers; } >build/build.log 2>&1; then
	tail -30 build/build.log >&2
	echo "demo: the build failed (full log: build/build.log)" >&2
	exit 1
fi
out=${WAITPROF_DEMO_DIR:-demo}
mkdir -p "$out"
echo "== recording the demo workload (about 2 s)" >&2
build/waitprof record -o "$out/demo.data" -- build/tests/workloads/blocker -n 100 >"$out/workload.json"
build/waitprof report -F folded -o "$out/demo.folded" "$out/demo.data"
build/waitprof flamegraph --title "waitprof demo: off-CPU time" --countname us \
	"$out/demo.folded" >"$out/demo.svg"
build/waitprof report --top 8 "$out/demo.data"
echo "== a lock with a slow holder: 4 threads log under journal_mu, every 32nd" \
	"append runs fdatasync under it (about 3 s)" >&2
build/waitprof record -q -o "$out/logger.data" -- build/tests/workloads/lockers logger \
	-t 4 -n 3000 -p 100 -s 10 -d /var/tmp >/dev/null
build/waitprof report -o "$out/logger.txt" "$out/logger.data"
# The findings paragraph (the recorder's own lines come before it).
sed -n '/^Findings:/,/^$/p' "$out/logger.txt"
echo >&2
echo "Flame graph: $(pwd)/$out/demo.svg  (open it in a browser)" >&2
echo "Recordings:  $(pwd)/$out/demo.data, $(pwd)/$out/logger.data" \
	"(waitprof report FILE)" >&2
