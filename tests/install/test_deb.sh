#!/usr/bin/env bash
# Builds the .deb with cpack, checks its Depends against what the binary links,
# unpacks it into a scratch root and runs what it installed: --version, the man
# page of every command, bash completion, and as root a recording of `true`
# and of `sleep 0.3` with their reports. Exit 77 (skipped) when a tool is
# missing or, after every other check passed, when not root.
# usage: test_deb.sh BUILD_DIR BUILT_WAITPROF
set -euo pipefail
build=$1 built=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cpack dpkg-deb dpkg-shlibdeps man objdump python3; do
	command -v "$tool" >/dev/null || { echo "skip: no $tool (scripts/install-deps.sh)"; exit 77; }
done

# The package, built into the scratch directory from the build tree.
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
debs=("$tmp"/pkg/waitprof_*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "cpack made ${debs[*]}"
deb=${debs[0]}
echo "package: ${deb##*/}, $(stat -c %s "$deb") bytes"

# Control fields: architecture, and Depends naming the package of every
# library the binary links (libbpf1, libelf1, libdw1, zlib1g and the rest).
[[ $(dpkg-deb -f "$deb" Package) == waitprof ]] || fail "Package field"
[[ $(dpkg-deb -f "$deb" Architecture) == $(dpkg --print-architecture) ]] || fail "Architecture"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
dep_names=$(tr ',|' '\n\n' <<<"$depends" | awk '{ print $1 }')
has_dep() { grep -qxF "$1" <<<"$dep_names"; }
for pkg in libbpf1 libelf1 libdw1 zlib1g; do
	has_dep "$pkg" || fail "Depends lacks $pkg"
done
for soname in $(objdump -p "$built" | awk '$1 == "NEEDED" { print $2 }'); do
	path=$(ldd "$built" | awk -v so="$soname" '$1 == so { print $3 }')
	owner=
	for p in "$path" "/usr$path" "${path#/usr}"; do
		owner=$(dpkg -S "$p" 2>/dev/null | cut -d: -f1) && break
	done
	[[ -n $owner ]] || fail "no package owns $soname ($path)"
	has_dep "$owner" || fail "binary links $soname from $owner, not in Depends"
done

# Files: the binary, a man page per command, completion, docs.
root=$tmp/root
dpkg -x "$deb" "$root"
bin=$root/usr/bin/waitprof
commands=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && !NF { exit } on { print $1 }')
(($(wc -w <<<"$commands") >= 7)) || fail "waitprof --help lists: $commands"
comp=$root/usr/share/bash-completion/completions/waitprof
for f in "$bin" "$comp" "$root/usr/share/doc/waitprof/README.md" "$root/usr/share/doc/waitprof/docs/LOCKS.md"; do
	[[ -s $f ]] || fail "package lacks ${f#"$root"}"
done
[[ $("$bin" --version) == "waitprof $(dpkg-deb -f "$deb" Version)" ]] || fail "--version: $("$bin" --version)"
readelf -S "$bin" | grep -q debug_info && fail "installed binary is not stripped"

# Man pages: each renders without groff warnings, has NAME and SYNOPSIS, and
# documents every long option the command's --help lists.
long_options() { "$bin" "$@" | grep -E '^ {1,10}-' | grep -oE -- '--[A-Za-z0-9-]+=?' | sort -u; }
for cmd in "" $commands; do
	page=$root/usr/share/man/man1/waitprof${cmd:+-$cmd}.1.gz
	[[ -f $page ]] || fail "no man page ${page#"$root"}"
	# Spaces squeezed: justified lines pad them.
	MANWIDTH=80 MANPAGER=cat man --warnings -l "$page" 2>"$tmp/man.err" | tr -s ' ' >"$tmp/man.txt" ||
		fail "man -l $page"
	[[ ! -s $tmp/man.err ]] || { cat "$tmp/man.err"; fail "groff warnings in ${page##*/}"; }
	grep -qx "NAME" "$tmp/man.txt" && grep -qx "SYNOPSIS" "$tmp/man.txt" || fail "${page##*/}: no NAME/SYNOPSIS"
	grep -q "^ waitprof${cmd:+-$cmd} - [a-z]" "$tmp/man.txt" || fail "${page##*/}: NAME line"
	grep -q "^ waitprof${cmd:+ $cmd} " "$tmp/man.txt" || fail "${page##*/}: synopsis"
	zcat "$page" | sed 's/\\-/-/g' >"$tmp/man.roff"
	for opt in $(long_options $cmd --help | tr -d =); do
		grep -q -- "$opt\\b" "$tmp/man.roff" || fail "${page##*/} lacks $opt"
	done
done
echo "man: $(wc -w <<<"$commands") command pages and waitprof.1 render; every --help option is in them"

# Completion, as bash runs it for TAB: COMP_WORDS and COMP_CWORD, then the
# function. complete WORD... prints the candidates one a line, sorted.
complete_words() {
	bash --norc -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _waitprof
		printf "%s\n" "${COMPREPLY[@]}" | sort -u' _ "$comp" waitprof "$@"
}
[[ $(complete_words rec) == record ]] || fail "waitprof rec<TAB>: $(complete_words rec)"
[[ $(complete_words record --dur) == --duration= ]] || fail "record --dur<TAB>: $(complete_words record --dur)"
[[ $(complete_words '') == $(printf '%s\n' $commands --help --version | sort -u) ]] ||
	fail "waitprof <TAB>: $(complete_words '' | tr '\n' ' ')"
for cmd in $commands; do
	[[ $(complete_words "$cmd" --) == $(long_options "$cmd" --help) ]] ||
		fail "waitprof $cmd --<TAB> differs from its --help: $(complete_words "$cmd" -- | tr '\n' ' ')"
done
complete_words record -- tru | grep -qx true || fail "record -- tru<TAB> does not offer true"
# bash-completion finds the file where the package puts it.
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
	XDG_DATA_DIRS=$root/usr/share bash --norc -c '. /usr/share/bash-completion/bash_completion
		__load_completion waitprof && complete -p waitprof' | grep -q -- '-F _waitprof' ||
		fail "bash-completion does not load ${comp#"$root"}"
fi
echo "completion: commands and every command's long options, as --help lists them"

# Recording with the installed binary needs root and BPF.
if [[ $(id -u) != 0 || ! -r /sys/kernel/btf/vmlinux ]]; then
	echo "skip: recording needs root and BTF; every other check passed"
	exit 77
fi
"$bin" record -q -o "$tmp/true.data" -- true || fail "record -- true exited $?"
"$bin" report "$tmp/true.data" >"$tmp/true.txt" || fail "report exited $?"
grep -q "recorded: .*-- true" "$tmp/true.txt" || fail "report of -- true: $(head -20 "$tmp/true.txt")"
"$bin" record -q -o "$tmp/sleep.data" -- sleep 0.3 || fail "record -- sleep exited $?"
"$bin" report -F json "$tmp/sleep.data" >"$tmp/sleep.json" || fail "report -F json exited $?"
# sleep 0.3 is off-CPU for 300 ms: the installed binary must see about that.
python3 - "$tmp/sleep.json" <<'PY' || fail "report of sleep 0.3"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["recording"]["complete"], "recording incomplete"
ns = sum(t["blocked_ns"] for t in r["threads"] if t["comm"] == "sleep")
print("sleep 0.3: %.1f ms blocked" % (ns / 1e6))
assert 280e6 <= ns <= 1e9, ns
PY
echo "record: -- true and -- sleep 0.3 recorded and reported by the installed binary"
