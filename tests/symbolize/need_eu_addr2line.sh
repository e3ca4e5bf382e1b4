#!/bin/sh
# Runs a differential test against eu-addr2line, or exits 77 (ctest: skipped)
# saying why when elfutils' eu-addr2line is missing: never a silent pass.
if ! command -v eu-addr2line >/dev/null 2>&1; then
	echo "SKIPPED: eu-addr2line not installed (elfutils; scripts/install-deps.sh)"
	exit 77
fi
exec "$@"
