# Shared by the ping-pong benchmarks (offcpu.sh, events.sh): source it after
# setting tmp (a scratch dir holding the built pingpong) and rounds.

# Runs the ping-pong under a tracer started in the background, once the
# tracer says it is attached (other tracers on the machine do not count; at
# most 10 s), then stops it with SIGINT and waits for it to finish writing.
under() {
	local pin=$1; shift
	: >"$tmp/tracer.out"
	"$@" >"$tmp/tracer.out" 2>&1 &
	local tracer=$!
	for _ in $(seq 200); do
		grep -qiE 'recording off-CPU|Tracing off-CPU' "$tmp/tracer.out" && break
		sleep 0.05
	done
	sleep 0.2
	$pin "$tmp/pingpong" "$rounds"
	kill -INT $tracer
	wait $tracer || true
}

plain() { $1 "$tmp/pingpong" "$rounds"; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
