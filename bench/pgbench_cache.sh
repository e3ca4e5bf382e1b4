#!/bin/bash
# pgbench under a system-wide waitprof record: the sched_switch program's
# cost (bpf_stats of this recorder's own programs, found through its fds)
# and pgbench's throughput. Needs a PostgreSQL cluster listening on
# /tmp/hotpg port 5499 (see docs/BENCHMARKS.md) and kernel.bpf_stats_enabled=1.
# PGPIDS=1 traces the postgres user's processes only (-p).
# usage: pgbench_cache.sh WAITPROF LABEL [record args...]
BIN=$1; LABEL=$2; shift 2
OUT=/tmp/hotpg/$LABEL.data
su postgres -c "pgbench -h /tmp/hotpg -p 5499 -c 8 -j 2 -T 24 postgres" > /tmp/hotpg/$LABEL.pgb 2>&1 &
PGB=$!
sleep 1
[ -n "$PGPIDS" ] && set -- "$@" -p $(pgrep -d, -u postgres)
$BIN record -q -d 20 -o $OUT "$@" > /tmp/hotpg/$LABEL.rec 2>&1 &
REC=$!
mine() { grep -h "^prog_id:" /proc/$REC/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | paste -sd, ; }
for i in $(seq 30); do M=$(mine); [ -n "$M" ] && break; sleep 0.5; done
sleep 2
snap() { bpftool -j prog show | python3 -c '
import json,sys
for p in json.load(sys.stdin):
    if p.get("name","").startswith("sched_switch") and str(p["id"]) in "'$M'".split(","):
        print(p["name"], p.get("run_cnt",0), p.get("run_time_ns",0))'; }
A=$(snap); sleep 8; B=$(snap)
wait $REC; wait $PGB
python3 - "$A" "$B" <<'PY'
import sys
a={l.split()[0]:(int(l.split()[1]),int(l.split()[2])) for l in sys.argv[1].splitlines() if l.strip()}
b={l.split()[0]:(int(l.split()[1]),int(l.split()[2])) for l in sys.argv[2].splitlines() if l.strip()}
for k in b:
    if k in a and b[k][0]>a[k][0]:
        n=b[k][0]-a[k][0]; t=b[k][1]-a[k][1]
        print("PROG %s runs=%d avg_ns=%.0f"%(k,n,t/n))
PY
grep -h "tps = " /tmp/hotpg/$LABEL.pgb | head -1
