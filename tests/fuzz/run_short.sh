#!/usr/bin/env bash
# A short fuzz run of every parser of untrusted input, for CI: each libFuzzer
# harness is built with clang (ASan + UBSan) and run for FUZZ_SECONDS (default
# 20) from a seed corpus. Longer runs: FUZZ_SECONDS=3600 tests/fuzz/run_short.sh
# (docs/RELIABILITY.md). Exits non-zero on the first crash, leak or hang.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
work=${FUZZ_WORKDIR:-$(mktemp -d /tmp/waitprof-fuzz.XXXXXX)}
cc=${FUZZ_CC:-clang}
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -D_GNU_SOURCE -I"$root/src/recording" -I"$root/src/util" -I"$root/bpf" -I"$root/symbolize" -I"$root/flamegraph")
libs=(-lelf -ldw -lz -lm -lstdc++)
mkdir -p "$work"

build() {	# name sources...
	local name=$1; shift
	"$cc" "${flags[@]}" -o "$work/$name" "$@" "${libs[@]}"
}

symbolize_srcs=("$root"/symbolize/*.c)
# The SVG script is embedded as bytes at build time (flamegraph/CMakeLists.txt).
python3 - "$root/flamegraph/svg_script.js" "$work/svg_script.c" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "w") as out:
    out.write("const char fg_svg_script[] = {" + ",".join(str(b) for b in data) + ",0};\n")
PY
flamegraph_srcs=("$root"/flamegraph/*.c "$work/svg_script.c")
build fuzz_recording "$root/tests/fuzz/fuzz_recording.c" "$root/src/recording/recording.c" \
	"$root/src/recording/rec_store.c" "$root/src/recording/recording_io.c" "$root/src/util/buf.c" \
	"$root/src/util/util.c" "${symbolize_srcs[@]}"
build fuzz_folded "$root/tests/fuzz/fuzz_folded.c" "${flamegraph_srcs[@]}"
build fuzz_elf "$root/tests/symbolize/fuzz_elf.c" "${symbolize_srcs[@]}"

# Seeds: the committed corpus plus real inputs of each kind.
for name in recording folded elf; do
	mkdir -p "$work/corpus_$name"
	cp "$root/tests/fuzz/corpus/$name/"* "$work/corpus_$name/" 2>/dev/null || true
done
cp /bin/true "$work/corpus_elf/true"
[[ -n ${WAITPROF_SEED_RECORDING:-} ]] && cp "$WAITPROF_SEED_RECORDING" "$work/corpus_recording/"

status=0
for name in recording folded elf; do
	echo "fuzz_$name: ${seconds}s" >&2
	if ! "$work/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus_$name" >"$work/$name.log" 2>&1; then
		echo "fuzz_$name FAILED: see $work/$name.log" >&2
		tail -30 "$work/$name.log" >&2
		status=1
	else
		grep -E "stat::number_of_executed_units|cov:" "$work/$name.log" | tail -2 >&2
	fi
done
exit $status
