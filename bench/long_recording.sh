#!/usr/bin/env bash
# What a long system-wide recording loses, and what it costs the recorder:
# `waitprof record -d SECONDS` with defaults under a workload, then the
# loss and drain counters, recorder CPU and peak RSS (/usr/bin/time -v;
# the peak includes the final symbolization). docs/RECORDING.md.
#
# usage: sudo bench/long_recording.sh WAITPROF LABEL SECONDS pgbench|churn
#   pgbench: needs a server on the unix socket in $PGHOST (default
#            /tmp/pgdrain), port $PGPORT (5499), database "bench" made with
#            pgbench -i, owned by user postgres; runs pgbench -c 8 -T 10
#            again and again (a reconnect every 10 s).
#   churn:   tests/workloads/churner (exec'd processes of sleeping threads)
#            and short sh processes, in a loop.
set -euo pipefail
bin=$1 label=$2 secs=$3 mode=$4
here=$(cd "$(dirname "$0")/.." && pwd)
churner=${CHURNER:-$here/build/tests/workloads/churner}
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
pghost=${PGHOST:-/tmp/pgdrain} pgport=${PGPORT:-5499}
out=$(mktemp -d)/$label
/usr/bin/time -v -o "$out.time" "$bin" record -q -d "$secs" -o "$out.data" 2> "$out.err" &
rec=$!
sleep 3
end=$((SECONDS + secs - 6))
while [ $SECONDS -lt $end ]; do
	if [ "$mode" = pgbench ]; then
		su postgres -c "$pgbench -h $pghost -p $pgport -c 8 -j 2 -T 10 bench" 2>/dev/null |
			grep -E '^tps' >> "$out.tps" || true
	else
		"$churner" -c 20 -t 8 -n 12 > /dev/null
		pids=""
		for i in $(seq 20); do sh -c 'sleep 0.01' & pids="$pids $!"; done
		wait $pids
	fi
done
wait $rec
"$bin" report -F json "$out.data" > "$out.json"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
c = json.load(open(out + ".json"))["counters"]
t = open(out + ".time").read()
cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
for k in ("dropped_hist_full", "dropped_stack_map_full", "lock_dropped_hist_full",
          "lock_dropped_holders_full", "lock_dropped_stack_map_full", "hist_drains",
          "hist_entries_drained", "stack_drains", "stacks_drained", "lock_drains",
          "lock_entries_drained", "processes_not_tracked"):
    print(f"{k:28} {c.get(k, '-')}")
print(f"{'recorder cpu':28} {cpu:.1f} s\n{'recorder peak rss':28} {rss / 1024:.0f} MiB")
PY
[ -s "$out.tps" ] && awk '{s += $3; n++} END {printf "tps mean %.1f over %d rounds\n", s / n, n}' "$out.tps"
rm -rf "$(dirname "$out")"
