#!/bin/bash
# The per-thread stack cache on a real server: MariaDB + sysbench
# (oltp_read_write), recorded system-wide with every Nth cache hit walked
# again (--verify-every), for one or more waitprof builds, interleaved.
# Prints per build and round: cache hits / lookups, re-walks and how many
# disagreed (user, kernel; off-CPU and lock caches), captures dropped
# because another program on the CPU used the scratch meanwhile, and the
# sched_switch program's ns per run (--bpf-stats).
#
# A private server: mariadb-install-db into a scratch datadir, mariadbd on a
# unix socket without networking, stopped at exit. Needs the Debian packages
# mariadb-server and sysbench.
#
# Only the server and sysbench are recorded (-p), unless SYSTEM_WIDE=1: on a
# shared machine a system-wide recording counts everyone's programs;
# SERVER_ONLY=1: the server alone.
#
# usage: stack_cache.sh [-r ROUNDS] [-t SECONDS] [-v VERIFY_EVERY] WAITPROF...
set -euo pipefail
rounds=2 secs=8 every=4
while getopts r:t:v: o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) secs=$OPTARG ;;
	v) every=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# >= 1)) || { echo "usage: $0 [-r ROUNDS] [-t SECONDS] [-v N] WAITPROF..." >&2; exit 2; }
command -v mariadbd >/dev/null || PATH=$PATH:/usr/sbin
for c in mariadbd mariadb-install-db sysbench; do
	command -v $c >/dev/null || { echo "bench: install mariadb-server and sysbench ($c not found)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/stack_cache.XXXXXX)
sock=$tmp/mysqld.sock
db_pid=
db_stop() {
	[[ -n $db_pid ]] && kill "$db_pid" 2>/dev/null && wait "$db_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap db_stop EXIT
chown mysql: "$tmp"
mariadb-install-db --no-defaults --user=mysql --datadir="$tmp/data" \
	--auth-root-authentication-method=normal >"$tmp/install.log" 2>&1
mariadbd --no-defaults --user=mysql --datadir="$tmp/data" --socket="$sock" \
	--skip-networking --pid-file="$tmp/mysqld.pid" --innodb-buffer-pool-size=128M \
	--max-connections=64 >"$tmp/server.log" 2>&1 &
db_pid=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.2; done
[[ -S $sock ]] || { cat "$tmp/server.log" >&2; exit 1; }
mariadb --no-defaults -S "$sock" -u root -e 'CREATE DATABASE sbtest'
sb=(sysbench oltp_read_write --db-driver=mysql --mysql-socket="$sock" --mysql-user=root
	--mysql-db=sbtest --tables=4 --table-size=10000)
"${sb[@]}" prepare >"$tmp/prepare.log" 2>&1

# One recording of the server under sysbench: the counters of its report.
one() {
	local bin=$1 label=$2 data=$tmp/rec.data
	"${sb[@]}" --threads=8 --time=$((secs + 3)) run >"$tmp/sb.log" 2>&1 &
	local sbpid=$!
	sleep 1
	local target=(-p "$db_pid,$(pgrep -d, -x sysbench)")
	[[ -n ${SERVER_ONLY:-} ]] && target=(-p "$db_pid")
	[[ -n ${SYSTEM_WIDE:-} ]] && target=()
	"$bin" record -q -d "$secs" --verify-every "$every" --bpf-stats -o "$data" "${target[@]}" \
		>"$tmp/rec.log" 2>&1 || { cat "$tmp/rec.log" >&2; }
	wait $sbpid || true
	"$bin" report -F json "$data" >"$tmp/rep.json" 2>/dev/null
	python3 - "$label" "$tmp/rep.json" "$tmp/sb.log" <<'PY'
import json, re, sys
label, rep, sb = sys.argv[1:]
r = json.load(open(rep))
c = r.get("counters", {})
g = lambda k: c.get(k, 0)
def pct(a, b): return f"{100.0 * a / b:.2f}%" if b else "-"
hits, miss, stale = g("stack_cache_hits"), g("stack_cache_misses"), g("stack_cache_misses_stale")
ver = g("stack_cache_verified")
mu, mk = g("stack_cache_mismatch_user"), g("stack_cache_mismatch_kernel")
lh, lv, lm = g("lock_stack_cache_hits"), g("lock_stack_cache_verified"), g("lock_stack_cache_mismatch")
extra = {k: v for k, v in c.items() if ("interrupted" in k or "other_caller" in k) and v}
ns = ""
def progs(o):
    if isinstance(o, dict):
        if isinstance(o.get("bpf_programs"), list):
            yield from o["bpf_programs"]
        for v in o.values():
            yield from progs(v)
for p in progs(r):
    if str(p.get("name", "")).startswith("sched_switch") and p.get("run_count"):
        ns = f" sched_switch {p['run_time_ns'] / p['run_count']:.0f} ns/run"
        break
tps = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", open(sb).read())
print(f"{label}: offcpu hits {hits}/{hits + miss + stale} ({pct(hits, hits + miss + stale)}), "
      f"re-walks {ver}, disagree user {mu} ({pct(mu, ver)}) kernel {mk} ({pct(mk, ver)}); "
      f"lock hits {lh}, re-walks {lv}, disagree {lm} ({pct(lm, lv)}){ns}; "
      f"tps {tps.group(1) if tps else '?'} {extra if extra else ''}")
PY
}

for r in $(seq "$rounds"); do
	for bin in "$@"; do
		one "$bin" "round $r $(basename "$(dirname "$(dirname "$bin")")")/$(basename "$bin")"
	done
done
