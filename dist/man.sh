#!/usr/bin/env bash
# Generates waitprof's man pages from its own --help with help2man: waitprof.1
# and one waitprof-COMMAND.1 per command that `waitprof --help` lists, gzipped
# as Debian ships them. Generated, not written, so they cannot drift from the
# options. Needs no root and no BPF: it only runs --help.
# usage: man.sh WAITPROF OUTDIR VERSION
set -euo pipefail
waitprof=$(realpath "$1") out=$2 version=$3

# help2man names the page after the program it runs, so each command gets a
# one-line wrapper called waitprof-COMMAND.
wrappers=$(mktemp -d)
trap 'rm -rf "$wrappers"' EXIT
rm -rf "$out"
mkdir -p "$out"

# The commands and their one-line summaries, from the "Commands:" block.
commands=$("$waitprof" --help | awk '/^Commands:/ { on = 1; next } on && !NF { exit } on')
names=$(awk '{ print $1 }' <<<"$commands")

# SEE ALSO names every other page, and the long documentation.
see_also() {	# see_also PAGE
	local p
	for p in waitprof $(sed 's/^/waitprof-/' <<<"$names"); do
		[[ $p == "$1" ]] || printf '.BR %s (1),\n' "$p"
	done | sed '$ s/,$//'
	printf '.PP\nThe long documentation: README.md and docs/*.md in the source, installed\nin /usr/share/doc/waitprof by the Debian package.\n'
}

page() {	# page NAME SUMMARY PROGRAM
	{ echo '[SEE ALSO]'; see_also "$1"; } >"$wrappers/$1.h2m"
	LC_ALL=C help2man --no-info --no-discard-stderr --section=1 \
		--version-string="$version" --source="waitprof $version" \
		--name="$2" --include="$wrappers/$1.h2m" --output="$out/$1.1" "$3"
	# help2man sets only the first word of the synopsis in bold: make it the
	# whole command, "waitprof record", not "waitprof" and an italic "record".
	perl -0pi -e 's/^\.B waitprof\n\\fI\\,([a-z]+) \\\/\\fR/.B "waitprof $1"\n/mg' "$out/$1.1"
	gzip -9n "$out/$1.1"
}

page waitprof "where threads wait: off-CPU time and lock contention" "$waitprof"
while read -r cmd summary; do
	printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$waitprof" "$cmd" >"$wrappers/waitprof-$cmd"
	chmod +x "$wrappers/waitprof-$cmd"
	page "waitprof-$cmd" "$summary" "$wrappers/waitprof-$cmd"
done <<<"$commands"
