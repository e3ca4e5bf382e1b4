#!/usr/bin/env bash
# waitprof symbolize against eu-addr2line on the fixtures, and its errors.
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

((failures == 0)) && echo "cli: all checks passed"
exit $((failures > 0))
