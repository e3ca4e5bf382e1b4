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

seconds() {	# seconds CMD... < input: wall time of one run
	local start end
	start=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || true	# eu-addr2line -i exits 1 for addresses without DWARF
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN {printf "%.6f\n", b - a}'
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf '%-8s %9s %14s %14s %8s %s\n' batch addresses "waitprof (s)" "eu-addr2line (s)" ratio "same output"
for batch in unique profile; do
	input=$work/$batch
	: >"$work/w" && : >"$work/e"
	for ((r = 0; r < runs; r++)); do	# interleaved, so drift hits both
		seconds "$waitprof" symbolize -e "$elf" "${opts[@]}" <"$input" >>"$work/w"
		seconds eu-addr2line -e "$elf" "${opts[@]}" <"$input" >>"$work/e"
	done
	w=$(median <"$work/w")
	e=$(median <"$work/e")
	same=no
	if cmp -s <("$waitprof" symbolize -e "$elf" "${opts[@]}" <"$input") \
		  <(eu-addr2line -e "$elf" "${opts[@]}" <"$input" 2>/dev/null); then
		same=yes
	else
		same="$(diff <("$waitprof" symbolize -e "$elf" "${opts[@]}" <"$input") \
			      <(eu-addr2line -e "$elf" "${opts[@]}" <"$input" 2>/dev/null) | grep -c '^<' || true) lines differ"
	fi
	printf '%-8s %9d %14.3f %14.3f %7.2fx %s\n' "$batch" "$(wc -l <"$input")" "$w" "$e" \
		"$(awk -v e="$e" -v w="$w" 'BEGIN {print e / w}')" "$same"
done
echo "ratio = eu-addr2line time / waitprof time (higher: waitprof faster); median of $runs runs; options ${opts[*]}"
