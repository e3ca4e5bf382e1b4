# Shared by the benchmarks, sourced first, after setting build (the build
# directory): where things are, the tools a benchmark needs, its scratch
# directory.
#
#   . "$(dirname "$0")/bench_lib.sh"
#   bench_need waitprof offcputime bpftrace
#   bench_tmp
#
# Sets here (bench/), waitprof ($build/waitprof) and offcputime (OFFCPUTIME
# overrides); bench_tmp sets tmp, removed at exit (a script that sets its
# own EXIT trap removes it there).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
waitprof=$build/waitprof
offcputime=${OFFCPUTIME:-/usr/sbin/offcputime}

bench_fail() {
	echo "bench: $*" >&2
	exit 1
}

# bench_need TOOL...: stops with what to do when a tool is missing.
bench_need() {
	local tool
	for tool; do
		case $tool in
		waitprof) [[ -x $waitprof ]] || bench_fail "build waitprof first ($waitprof)" ;;
		offcputime) [[ -x $offcputime ]] || bench_fail "install libbpf-tools (offcputime)" ;;
		*) command -v "$tool" >/dev/null || bench_fail "install $tool" ;;
		esac
	done
}

bench_tmp() {
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
}
