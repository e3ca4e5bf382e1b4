#!/usr/bin/env bash
# waitprof symbolize against eu-addr2line on the fixtures and a live process
# (-p), separate debug files by build-id (-D), kernel addresses (-k), and
# its errors.
# usage: cli.sh WAITPROF FIXTURE_DIR
set -u
waitprof=$1 dir=$2
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Every address of the fixture's text, in every option combination.
addrs=$(nm "$dir/fixture" | awk 'NF == 3 && $2 ~ /[Tt]/ {print "0x" $1}')
addrs="$addrs 0x1 0x10000000"
for opts in "" "-a" "-f" "-i" "-a -f -i" "-f -i" "-f -C"; do
	# shellcheck disable=SC2086
	if ! diff <("$waitprof" symbolize -e "$dir/fixture" $opts $addrs) \
		  <(eu-addr2line -e "$dir/fixture" $opts $addrs) >/dev/null; then
		fail "output differs from eu-addr2line for options '$opts'"
	fi
done
# The same through stdin, and C++ with demangling.
cxx_addrs=$(nm "$dir/fixture_cxx" | awk 'NF == 3 && ($2 ~ /[Tt]/ || $3 ~ /spin/) {print "0x" $1}')
if ! diff <(echo "$cxx_addrs" | "$waitprof" symbolize -e "$dir/fixture_cxx" -a -f -i -C) \
	  <(echo "$cxx_addrs" | eu-addr2line -e "$dir/fixture_cxx" -a -f -i -C) >/dev/null; then
	fail "C++ output differs from eu-addr2line -C"
fi

# -p: a live process (the fixture waits on stdin), its own code and libc's,
# against eu-addr2line -p on the same process.
coproc { exec "$dir/fixture"; }
pid=$COPROC_PID
read -r _ outer <&"${COPROC[0]}"
read -r _ inlined <&"${COPROC[0]}"
read -r _ mutex <&"${COPROC[0]}"
libc_base=$(awk '$6 ~ /\/libc\.so\.6$/ && $3 == "00000000" {split($1, r, "-"); print r[1]; exit}' \
	/proc/"$pid"/maps)
libc_path=$(awk '$6 ~ /\/libc\.so\.6$/ {print $6; exit}' /proc/"$pid"/maps)
fgets_off=$(nm -D "$libc_path" | awk '$3 ~ /^fgets(@|$)/ {print $1; exit}')
fgets=$(printf '0x%x' $((0x$libc_base + 0x$fgets_off)))
paddrs="$outer $inlined $mutex $fgets"
out=$("$waitprof" symbolize -p "$pid" -f -i $paddrs)
[[ $(echo "$out" | grep -c '^fixture_outer$') == 2 && $out == *fixture_mutex* &&
   $out == *fgets* ]] || fail "symbolize -p names fixture_outer twice, fixture_mutex, fgets: $out"
if ! diff <(echo "$out") <(eu-addr2line -p "$pid" -f -i $paddrs) >/dev/null; then
	fail "symbolize -p output differs from eu-addr2line -p"
fi
eval "exec ${COPROC[1]}>&-"
wait "$pid"

# -D: the stripped fixture's functions from its debug file, found by
# build-id under the given directory; without it, not at all.
bid=$(readelf -n "$dir/fixture_stripped" | awk '/Build ID/ {print $3}')
ddir=$(mktemp -d)
mkdir -p "$ddir/.build-id/${bid:0:2}"
cp "$dir/fixture.debug" "$ddir/.build-id/${bid:0:2}/${bid:2}.debug"
vaddr=0x$(nm "$dir/fixture" | awk '$3 == "fixture_outer" {print $1}')
with=$("$waitprof" symbolize -e "$dir/fixture_stripped" -f --debuginfo-path "$ddir" "$vaddr")
without=$("$waitprof" symbolize -e "$dir/fixture_stripped" -f --debuginfo-path /nonexistent \
	  "$vaddr")
[[ $with == *fixture_outer* && $with == *fixture.c:* && $without == "??"* ]] ||
	fail "--debuginfo-path: '$with' (want fixture_outer, fixture.c), without: '$without' (want ??)"
rm -rf "$ddir"

# -k: kernel addresses from /proc/kallsyms (root sees them): each of a few
# functions at its start, one byte in, and at the last byte before the next
# symbol.
kskip=
if [[ $(awk 'NR == 1 {print $1}' /proc/kallsyms) =~ ^0+$ ]]; then
	kskip="kernel addresses hidden (/proc/kallsyms shows zeros: not root)"
else
	ksyms=$(mktemp)
	cat /proc/kallsyms >"$ksyms"	# one read: the kernel formats it anew each time
	for f in schedule do_nanosleep futex_wait vfs_read; do
		a=$(LC_ALL=C awk -v f="$f" '$3 == f && $2 ~ /[Tt]/ {print $1; exit}' "$ksyms")
		next=$(LC_ALL=C awk -v a="$a" '$1 > a && (n == "" || $1 < n) {n = $1} END {print n}' \
		       "$ksyms")
		[[ -n $a && -n $next ]] || { fail "no $f in /proc/kallsyms"; continue; }
		last=$(printf '%x' $((0x$next - 1)))
		got=$("$waitprof" symbolize -k -f "$a" "0x$(printf '%x' $((0x$a + 1)))" "$last" |
		      sed -n '1p;3p;5p' | tr '\n' ' ')
		[[ $got == "$f $f $f " ]] || fail "symbolize -k: $f at start, +1, last byte: '$got'"
	done
	rm -f "$ksyms"
	out=$("$waitprof" symbolize -k -f 0x1 | head -1)
	[[ $out == "??" ]] || fail "symbolize -k 0x1: '$out' (want ??)"
fi

expect_error() {	# expect_error EXIT_CODE PATTERN ARGS...
	local want=$1 pattern=$2 err code
	shift 2
	err=$("$waitprof" symbolize "$@" 2>&1 >/dev/null)
	code=$?
	[[ $code == "$want" ]] || fail "symbolize $* exited $code, want $want"
	[[ $err == *"$pattern"* ]] || fail "symbolize $*: error '$err' lacks '$pattern'"
	[[ $(printf '%s\n' "$err" | wc -l) == 1 ]] || fail "symbolize $*: error is not one line: $err"
}
expect_error 1 "No such file" -e /nonexistent/file 0x1
expect_error 1 "not an ELF file" -e /etc/passwd 0x1
expect_error 2 "invalid PID" -p notapid 0x1
expect_error 1 "process 4000001" -p 4000001 0x1
expect_error 1 "invalid address 'zz'" -e "$dir/fixture" zz

((failures == 0)) || exit 1
if [[ -n $kskip ]]; then
	echo "SKIPPED: symbolize -k: $kskip; every other check passed"
	exit 77
fi
echo "cli: all checks passed"
