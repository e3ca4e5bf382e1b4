#!/usr/bin/env bash
# The same batch of addresses through 'waitprof symbolize' and eu-addr2line,
# side by side: median wall time of several interleaved runs, and the ratio.
#
# usage: bench/symbolize.sh [WAITPROF] [RUNS]
#   WAITPROF  the built binary (default: build/waitprof)
#   RUNS      runs per tool and batch (default 5)
# Batches (addresses inside sized functions of libc.so.6, DWARF from libc6-dbg):
#   unique   20000 distinct addresses      (-a -f -i: names, lines, inline chains)
#   profile  100000 addresses drawn from 2000 (a profile's stacks repeat)
set -euo pipefail
waitprof=${1:-build/waitprof}
runs=${2:-5}
elf=/lib/x86_64-linux-gnu/libc.so.6
opts=(-a -f -i)
work=$(mktemp -d /tmp/bench-symbolize.XXXXXX)
trap 'rm -rf "$work"' EXIT

[[ -x $waitprof ]] || { echo "no waitprof binary at $waitprof" >&2; exit 1; }
command -v eu-addr2line >/dev/null || { echo "eu-addr2line not installed (elfutils)" >&2; exit 1; }
build_id=$(readelf -n "$elf" | awk '/Build ID/ {print $3}')
debug=/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug
[[ -r $debug ]] || { echo "no debug file for $elf (install libc6-dbg)" >&2; exit 1; }

# Addresses inside sized functions of the debug file's symbol table.
nm -S --defined-only "$debug" >"$work/nm"
python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]
funcs = []
for line in open(work + "/nm"):
    f = line.split()
    if len(f) == 4 and f[2] in "TtWw" and int(f[1], 16) > 1:
        funcs.append((int(f[0], 16), int(f[1], 16)))
rng = random.Random(1)
unique = sorted({s + rng.randrange(z) for s, z in (rng.choice(funcs) for _ in range(20000))})
open(work + "/unique", "w").write("".join("0x%x\n" % a for a in unique))
hot = rng.sample(unique, 2000)
open(work + "/profile", "w").write("".join("0x%x\n" % rng.choice(hot) for _ in range(100000)))
PY

measure() {	# measure CMD... < input: "wall cpu" seconds of one run
	local TIMEFORMAT='%R %U %S' t
	# eu-addr2line -i exits 1 for addresses without DWARF: not a failure here.
	t=$({ time "$@" >/dev/null 2>&1; } 2>&1) || true
	awk '{printf "%.4f %.4f\n", $1, $2 + $3}' <<<"$t"
}

median() {	# median of column $1 of stdin
	awk -v c="$1" '{print $c}' | sort -g |
		awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

printf '%-8s %9s | %10s %10s %7s | %10s %10s %7s | %s\n' batch addresses \
	"wall: ours" eu ratio "cpu: ours" eu ratio "output vs eu"
for batch in unique profile; do
	input=$work/$batch
	: >"$work/w" && : >"$work/e"
	for ((r = 0; r < runs; r++)); do	# interleaved, so load drift hits both
		measure "$waitprof" symbolize -e "$elf" "${opts[@]}" <"$input" >>"$work/w"
		measure eu-addr2line -e "$elf" "${opts[@]}" <"$input" >>"$work/e"
	done
	ww=$(median 1 <"$work/w") wc=$(median 2 <"$work/w")
	ew=$(median 1 <"$work/e") ec=$(median 2 <"$work/e")
	"$waitprof" symbolize -e "$elf" "${opts[@]}" <"$input" >"$work/ours.out"
	eu-addr2line -e "$elf" "${opts[@]}" <"$input" >"$work/eu.out" 2>/dev/null || true
	differ=$(diff "$work/ours.out" "$work/eu.out" | grep -c '^<' || true)
	printf '%-8s %9d | %10.3f %10.3f %6.1fx | %10.3f %10.3f %6.1fx | %s of %s lines differ\n' \
		"$batch" "$(wc -l <"$input")" "$ww" "$ew" "$(awk -v a="$ew" -v b="$ww" 'BEGIN {print a / b}')" \
		"$wc" "$ec" "$(awk -v a="$ec" -v b="$wc" 'BEGIN {print a / b}')" \
		"$differ" "$(wc -l <"$work/eu.out")"
done
echo "seconds, median of $runs interleaved runs; ratio = eu-addr2line / waitprof (higher: waitprof faster);"
echo "cpu = user + system time; options ${opts[*]}; $(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg)"
