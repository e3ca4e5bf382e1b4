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
if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#wanted[@]} packages present" >&2
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "install-deps: missing packages (${missing[*]}); run as root or install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
