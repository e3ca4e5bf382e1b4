# Shared by the benchmarks: run a tracer in the background around a workload,
# read the CPU time it used, take medians. Source it after setting tmp (a
# scratch directory).

# The floor for any sched_switch tracer: a counting-only bpftrace probe. Its
# tracepoint needs tracefs, mounted here in a private mount namespace (seen
# by no other process, gone when bpftrace exits), so the machine's tracefs
# is left as found. unshare and sh exec, so the pid is bpftrace's.
FLOOR=(unshare -m sh -c 'mount -t tracefs tracefs /sys/kernel/tracing &&
	exec bpftrace -e "tracepoint:sched:sched_switch { @n = count(); }"')

# tracer_start OUT CMD...: starts CMD with its output in OUT, waits until it
# says it is attached (at most 10 s), sets tracer_pid.
tracer_start() {
	local out=$1; shift
	: >"$out"
	"$@" >"$out" 2>&1 &
	tracer_pid=$!
	for _ in $(seq 200); do
		grep -qiE 'recording off-CPU|Tracing off-CPU|Attaching [0-9]+ probe' "$out" && break
		sleep 0.05
	done
	sleep 0.2
}

# CPU seconds (user + system) the tracer has used so far: /proc/PID/stat
# fields 14 and 15, the 12th and 13th after "pid (comm) ".
tracer_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
		"/proc/$tracer_pid/stat"
}

# tracer_cpu_since START: CPU seconds the tracer used since tracer_cpu said
# START. Taken around the workload, it leaves out loading and verifying the
# BPF programs (1-2 s for waitprof with locks on, docs/BENCHMARKS.md), which
# is paid once and not while the workload runs.
tracer_cpu_since() {
	echo "$(tracer_cpu) - $1" | bc -l | awk '{ printf "%.2f\n", $1 }'
}

# Resident memory of the tracer in MB.
tracer_rss_mb() {
	awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$tracer_pid/status"
}

# Stops the tracer with SIGINT and waits for it to finish writing.
tracer_stop() {
	kill -INT "$tracer_pid" 2>/dev/null || true
	wait "$tracer_pid" || true
	tracer_pid=
}

# For an EXIT trap: a tracer still running is stopped.
tracer_cleanup() {
	[[ -n ${tracer_pid:-} ]] && tracer_stop
	return 0
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; else print "nan"}'; }

# waitprof's own figures from a recording, with the JSON report:
# "CPU_SECONDS NS_PER_SCHED_SWITCH_RUN" ("-" when BPF statistics were off).
waitprof_cost() {
	"$waitprof" report -F json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["recorder"]
cpu = (r["cpu_user_us"] + r["cpu_sys_us"]) / 1e6
sw = [p for p in r["bpf_programs"] if p["name"].startswith("sched_switch")]
runs = sum(p["run_count"] for p in sw)
ns = sum(p["run_time_ns"] for p in sw)
print(f"{cpu:.2f}", f"{ns / runs:.0f}" if runs else "-")'
}
