#!/usr/bin/env bash
# Installs waitprof's build and test dependencies from Debian's packages.
# Idempotent: installs only what is missing, and runs apt-get update only then.
# Package lists live in scripts/deps/*.txt, one package a line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lists=("$here"/deps/*.txt)
[[ ${1:-} == --bench ]] && lists+=("$here"/deps/bench/*.txt)

mapfile -t wanted < <(grep -hv '^\s*\(#\|$\)' "${lists[@]}" 2>/dev/null | awk '{print $1}' | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# The speedscope file-format schema (flamegraph_speedscope validates
# against it) comes from npm's speedscope package, installed globally where
# tests/flamegraph/fgtest.py looks. A Debian nodejs lacks npm: add it then.
SPEEDSCOPE_VERSION=1.25.0
schema=$(npm root -g 2>/dev/null)/speedscope/dist/release/file-format-schema.json
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#wanted[@]} packages present" >&2
elif [[ $(id -u) != 0 ]]; then
	echo "install-deps: missing packages (${missing[*]}); run as root or install them" >&2
	exit 1
else
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	schema=$(npm root -g)/speedscope/dist/release/file-format-schema.json
fi
if [[ ! -f $schema ]]; then
	echo "install-deps: installing npm speedscope@$SPEEDSCOPE_VERSION (its schema)" >&2
	npm install -g --no-audit --no-fund --ignore-scripts "speedscope@$SPEEDSCOPE_VERSION" >/dev/null
fi
