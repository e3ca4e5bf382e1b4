#!/bin/bash
# waitprof agent's cost against record's on the ping-pong pinned to one
# CPU, interleaved: untraced, under record, under agent (2 s windows), ROUNDS
# times. Prints ns per round trip; docs/BENCHMARKS.md has the results.
# usage: bench/agent_pingpong.sh BUILD_DIR [ROUNDS]
set -e
build=${1:?usage: $0 BUILD_DIR [ROUNDS]}
rounds=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
W=$build/waitprof
PP=$build/tests/workloads/pingpong
for i in $(seq "$rounds"); do
	echo "plain $(taskset -c 1 "$PP" 300000)"
	"$W" record -q -o "$tmp/r.data" 2>/dev/null & t=$!; sleep 4
	echo "record $(taskset -c 1 "$PP" 300000)"; kill -INT $t; wait $t
	"$W" agent -q --listen 127.0.0.1:0 --window 2 2>/dev/null & t=$!; sleep 4
	echo "agent $(taskset -c 1 "$PP" 300000)"; kill -INT $t; wait $t
done
