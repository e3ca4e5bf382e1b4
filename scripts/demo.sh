#!/usr/bin/env bash
# Installs the dependencies, builds waitprof, records the bundled demo
# workload (tests/workloads/blocker: threads that sleep, poll, read a pipe)
# and writes a flame graph and a report. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
echo "== building (log: build/build.log)" >&2
mkdir -p build
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build -j"$(nproc)" --target waitprof blocker; } >build/build.log 2>&1; then
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
echo >&2
echo "Flame graph: $(pwd)/$out/demo.svg  (open it in a browser)" >&2
echo "Recording:   $(pwd)/$out/demo.data (waitprof report $out/demo.data)" >&2
