# Shared by the PostgreSQL benchmarks (pgbench.sh, spawn.sh, soak.sh): a
# private cluster in $tmp/pg (initdb as user postgres, unix socket in that
# directory, no TCP), started by pg_start and stopped by pg_stop. Source it
# after setting tmp; call pg_stop from the EXIT trap (pg_start_traced sets
# that trap). Brings the tracer helpers (tracer_lib.sh) too.
. "$(dirname "${BASH_SOURCE[0]}")/tracer_lib.sh"
pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
pgdir=
PGBENCH_SCALE=${PGBENCH_SCALE:-10}

pg_start() {
	[[ -x $pgbin/initdb ]] || { echo "bench: install postgresql (initdb not found)" >&2; exit 1; }
	pgdir=$tmp/pg
	mkdir -p "$pgdir"
	chown postgres: "$tmp" "$pgdir"
	runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust >"$pgdir/initdb.log"
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
		-o "-k $pgdir -c listen_addresses= -c max_connections=50" start >/dev/null
	runuser -u postgres -- pgbench -h "$pgdir" -U postgres -i -s "$PGBENCH_SCALE" -q postgres \
		>"$pgdir/init.log" 2>&1
}

pg_stop() {
	[[ -n $pgdir && -f $pgdir/data/postmaster.pid ]] || return 0
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 ||
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 ||
		true
}

# pg_start, with the tracer and the cluster stopped and tmp removed at exit.
pg_start_traced() {
	trap 'tracer_cleanup; pg_stop; rm -rf "$tmp"' EXIT
	pg_start
}

# pgbench ARGS...: runs pgbench against the cluster, prints its tps
# (without the initial connection time, or with -C including it).
pgbench_tps() {
	runuser -u postgres -- pgbench -h "$pgdir" -U postgres -n "$@" postgres 2>&1 |
		awk '/^tps = / { print $3; exit }'
}
