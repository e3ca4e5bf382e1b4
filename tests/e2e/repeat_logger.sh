#!/bin/bash
# Issue 15's repeated-runs check (docs/MODALITY.md, "Repeated runs"): the
# logger with fdatasync under its lock (journal on a disk) and with a 1 ms
# sleep after the unlock (journal on a tmpfs), recorded with the defaults
# and with --uprobes, RUNS times each; prints journal_mu's verdict and the
# finding's cause per recording. Usage: tests/e2e/repeat_logger.sh [RUNS]
# from the top directory, after a build, as root.
set -u
W=${W:-build}
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
for i in $(seq 1 "${1:-5}"); do
 for mode in "" "--uprobes"; do
  for where in under after; do
   if [ $where = under ]; then args="-d /var/tmp"; else args="-F -d /dev/shm -S 1000"; fi
   if [ -n "$mode" ]; then n=3000; p=300; else n=6000; p=100; fi
   out=$out_dir/$where${mode}-$i.data
   $W/waitprof record -q $mode -o $out -- $W/tests/workloads/lockers logger -t 4 -n $n -p $p -s 10 $args > /dev/null 2>&1
   load=$(cut -d' ' -f1 /proc/loadavg)
   $W/waitprof report -F json $out | python3 -c "
import json,sys; r=json.load(sys.stdin)
l=[x for x in r['locks'] if x['symbol']=='journal_mu'][0]
f=[x for x in r['findings'] if x['subject'].startswith('journal_mu')]
print('$where ${mode:-defaults} run $i load $load:', l['verdict'], '|', l['verdict_text'][:110], '| finding:', (f[0]['cause'] or '')[:90] if f else None)"
  done
 done
done
