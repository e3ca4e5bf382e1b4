#!/usr/bin/env bash
# Flame graph rendering, side by side: `waitprof flamegraph` against Brendan
# Gregg's flamegraph.pl on the same large folded input (default a million
# distinct-ish stacks of depth 5-40), same options (--countname us, default
# minwidth 0.1 px). Runs are interleaved; prints the median wall time, the
# median CPU time (user + system: less disturbed by a busy machine), the peak
# memory and the SVG size of each.
#
# flamegraph.pl is not shipped with waitprof and Debian 12 has no package for
# it (`apt-cache policy flamegraph` finds none; inferno is not in Debian or
# npm): pass the path of a flamegraph.pl you obtained yourself
# (github.com/brendangregg/FlameGraph) as FLAMEGRAPH_PL=/path/to/flamegraph.pl;
# without it only waitprof runs. With it, the frames drawn are compared: every
# <title> (name, value, share) of one SVG must be in the other, same count.
# TREE=1 also runs `waitprof flamegraph --tree` (the frame-tree renderer that
# the compact-stacks one replaced); BASELINE=/path/to/older/waitprof (or
# fg_cli) runs an older build on the same input, for a before/after in one
# run; PIPE=1 also runs waitprof reading the input from a pipe (read once,
# every stack kept) rather than from the file (counted, then read again and
# pruned to what can be drawn). INPUT=file.folded uses that file instead of
# generating one (LINES is then ignored).
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
base=${BASELINE:-}
[[ -z $base || -x $base ]] || { echo "bench: cannot run BASELINE=$base" >&2; exit 1; }
# A path to waitprof gets the "flamegraph" subcommand added.
tool_cmd() { [[ $(basename "$1") == waitprof* ]] && echo "$1 flamegraph" || echo "$1"; }
read -ra fg_cmd <<< "$(tool_cmd "$fg")"
[[ -n $base ]] && read -ra base_cmd <<< "$(tool_cmd "$base")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Tree-shaped stacks: each frame's name depends on its parent's, so prefixes
# repeat as in real profiles while most full stacks stay distinct (seed 1).
if [[ -n ${INPUT:-} ]]; then
	ln -s "$(realpath "$INPUT")" "$tmp/in.folded"
else
	PYTHONDONTWRITEBYTECODE=1 python3 "$(dirname "$0")/../tests/flamegraph/folded_gen.py" "$lines" 1 \
		> "$tmp/in.folded"
fi
echo "input: $(wc -l < "$tmp/in.folded") lines, $(($(stat -L -c %s "$tmp/in.folded") >> 20)) MB" >&2

# Runs one tool; appends "wall_s peak_kb svg_bytes cpu_s" to $tmp/$name.
measure() {
	local name=$1; shift
	local input=("$tmp/in.folded") feed=(true)
	# A real pipe: stdin redirected from the file would be mapped as a file.
	[[ $name == pipe ]] && input=(-) && feed=(cat "$tmp/in.folded")
	"${feed[@]}" | /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$@" --countname us \
		"${input[@]}" > "$tmp/$name.svg" 2>"$tmp/$name.err" ||
		{ cat "$tmp/$name.err" >&2; exit 1; }
	read -r wall peak user sys < "$tmp/time"
	echo "$wall $peak $(stat -c %s "$tmp/$name.svg") $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" >> "$tmp/$name"
}

for ((i = 0; i < repeats; i++)); do
	echo "run $((i + 1)) of $repeats: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	measure waitprof "${fg_cmd[@]}"
	[[ -n ${PIPE:-} ]] && measure pipe "${fg_cmd[@]}"
	[[ -n $base ]] && measure baseline "${base_cmd[@]}"
	[[ -n ${TREE:-} ]] && measure tree "${fg_cmd[@]}" --tree
	[[ -n $pl ]] && measure flamegraph.pl perl "$pl"
done
if [[ -n $pl ]]; then
	# flamegraph.pl prints the root's share as 100%, waitprof as 100.00%.
	titles() { grep -o '<title>[^<]*</title>' "$1" | sed 's/, 100.00%)/, 100%)/' | sort; }
	if cmp -s <(titles "$tmp/waitprof.svg") <(titles "$tmp/flamegraph.pl.svg"); then
		echo "frames: identical to flamegraph.pl's ($(titles "$tmp/waitprof.svg" | wc -l) titles)" >&2
	else
		echo "frames: DIFFER from flamegraph.pl's" >&2
		# Known cause: flamegraph.pl merges stacks in string order, so a
		# frame that ends some stacks and has a sibling whose name extends
		# it ("f" beside "f2") is split in two narrower frames there.
		diff <(titles "$tmp/waitprof.svg") <(titles "$tmp/flamegraph.pl.svg") | head >&2 || true
	fi
fi
for name in pipe baseline tree; do
	[[ -f $tmp/$name.svg ]] || continue
	cmp -s "$tmp/waitprof.svg" "$tmp/$name.svg" && echo "svg: $name's is byte for byte the same" >&2 ||
		echo "svg: $name's DIFFERS" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-14s %10s %10s %12s %12s %8s\n' tool wall_s cpu_s peak_MB svg_KB frames
for name in waitprof pipe baseline tree flamegraph.pl; do
	[[ -f $tmp/$name ]] || continue
	printf '%-14s %10s %10s %12d %12d %8d\n' "$name" \
		"$(cut -d' ' -f1 "$tmp/$name" | median)" \
		"$(cut -d' ' -f4 "$tmp/$name" | median)" \
		$(($(cut -d' ' -f2 "$tmp/$name" | median) / 1024)) \
		$(($(cut -d' ' -f3 "$tmp/$name" | median) / 1024)) \
		"$(grep -c '<rect' "$tmp/$name.svg" || true)"
done
echo "runs (wall_s peak_kb svg_bytes cpu_s):" >&2
for name in waitprof pipe baseline tree flamegraph.pl; do
	[[ -f $tmp/$name ]] && sed "s/^/  $name: /" "$tmp/$name" >&2
done
