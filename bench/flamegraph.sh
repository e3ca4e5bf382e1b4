#!/usr/bin/env bash
# Flame graph rendering, side by side: `waitprof flamegraph` against Brendan
# Gregg's flamegraph.pl on the same large folded input (default a million
# distinct-ish stacks of depth 5-40), same options (--countname us, default
# minwidth 0.1 px). Runs are interleaved; prints the median wall time, the
# median CPU time (user + system: less disturbed by a busy machine), the peak
# memory and the SVG size of each.
#
# flamegraph.pl is not shipped with waitprof and is not in Debian: pass the
# path of a flamegraph.pl you obtained yourself (github.com/brendangregg/FlameGraph)
# as FLAMEGRAPH_PL=/path/to/flamegraph.pl; without it only waitprof runs.
#
# usage: [FLAMEGRAPH_PL=...] bench/flamegraph.sh [FG_BINARY] [LINES] [REPEATS]
#   FG_BINARY  waitprof or tests' fg_cli (default build/waitprof); a path to
#              waitprof gets the "flamegraph" subcommand added
#   LINES      folded lines to generate (default 1000000)
#   REPEATS    runs per tool (default 3)
set -euo pipefail
fg=${1:-build/waitprof}
lines=${2:-1000000}
repeats=${3:-3}
pl=${FLAMEGRAPH_PL:-}
[[ -x $fg ]] || { echo "bench: build waitprof first ($fg)" >&2; exit 1; }
[[ -z $pl || -r $pl ]] || { echo "bench: cannot read FLAMEGRAPH_PL=$pl" >&2; exit 1; }
[[ $(basename "$fg") == waitprof ]] && fg_cmd=("$fg" flamegraph) || fg_cmd=("$fg")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Tree-shaped stacks: each frame's name depends on its parent's, so prefixes
# repeat as in real profiles while most full stacks stay distinct.
python3 - "$lines" > "$tmp/in.folded" <<'EOF'
import random, sys
rng = random.Random(1)
out = sys.stdout
for _ in range(int(sys.argv[1])):
    depth = rng.randint(5, 40)
    frames, h = [], 0
    for d in range(depth):
        h = (h * 31 + rng.randint(0, 3 if d < 6 else 12)) % 1000003
        frames.append("func_%d_%d" % (d, h % 5000))
    out.write("%s %d\n" % (";".join(frames), rng.randint(1, 1000)))
EOF
echo "input: $lines lines, $(($(stat -c %s "$tmp/in.folded") >> 20)) MB" >&2

# Runs one tool; appends "wall_s peak_kb svg_bytes cpu_s" to $tmp/$name.
measure() {
	local name=$1; shift
	/usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$@" --countname us "$tmp/in.folded" \
		> "$tmp/$name.svg" 2>"$tmp/$name.err" || { cat "$tmp/$name.err" >&2; exit 1; }
	read -r wall peak user sys < "$tmp/time"
	echo "$wall $peak $(stat -c %s "$tmp/$name.svg") $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" >> "$tmp/$name"
}

for ((i = 0; i < repeats; i++)); do
	measure waitprof "${fg_cmd[@]}"
	[[ -n $pl ]] && measure flamegraph.pl perl "$pl"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-14s %10s %10s %12s %12s %8s\n' tool wall_s cpu_s peak_MB svg_KB frames
for name in waitprof flamegraph.pl; do
	[[ -f $tmp/$name ]] || continue
	printf '%-14s %10s %10s %12d %12d %8d\n' "$name" \
		"$(cut -d' ' -f1 "$tmp/$name" | median)" \
		"$(cut -d' ' -f4 "$tmp/$name" | median)" \
		$(($(cut -d' ' -f2 "$tmp/$name" | median) / 1024)) \
		$(($(cut -d' ' -f3 "$tmp/$name" | median) / 1024)) \
		"$(grep -c '<rect' "$tmp/$name.svg" || true)"
done
echo "runs (wall_s peak_kb svg_bytes cpu_s):" >&2
for name in waitprof flamegraph.pl; do
	[[ -f $tmp/$name ]] && sed "s/^/  $name: /" "$tmp/$name" >&2
done
