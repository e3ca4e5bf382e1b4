# Shared by the ping-pong benchmarks (offcpu.sh, events.sh): source it after
# setting tmp (a scratch dir) and rounds. Builds the ping-pong into tmp.
. "$(dirname "${BASH_SOURCE[0]}")/tracer_lib.sh"
cc -O2 -o "$tmp/pingpong" "$(dirname "${BASH_SOURCE[0]}")/pingpong.c"

# Runs the ping-pong under a tracer started in the background, once the
# tracer says it is attached (other tracers on the machine do not count; at
# most 10 s), then stops it with SIGINT and waits for it to finish writing.
under() {
	local pin=$1; shift
	tracer_start "$tmp/tracer.out" "$@"
	$pin "$tmp/pingpong" "$rounds"
	tracer_stop
}

plain() { $1 "$tmp/pingpong" "$rounds"; }
