#!/usr/bin/env bash
# Writes waitprof's bash completion from its own --help, so the completed
# commands and long options are always the ones the binary takes.
# usage: completion.sh WAITPROF > waitprof.bash
set -euo pipefail
waitprof=$1

# Long options at the start of an option line: "  -o, --output=FILE",
# "      --tree". An option that takes its value after '=' keeps the '='.
long_options() {	# long_options COMMAND
	"$waitprof" "$1" --help |
		sed -nE 's/^ {1,10}(-[^-], )?(--[A-Za-z0-9][-A-Za-z0-9]*=?).*/\2/p' | sort -u | tr '\n' ' '
}

commands=$("$waitprof" --help | awk '/^Commands:/ { on = 1; next } on && !NF { exit } on { print $1 }')

cat <<'HEAD'
# bash completion for waitprof: commands, and each command's long options.
# Generated from `waitprof --help` by dist/completion.sh; do not edit.
HEAD
echo "_waitprof_commands='$(tr '\n' ' ' <<<"$commands")--help --version'"
echo '_waitprof_options()'
echo '{'
echo '	case $1 in'
for cmd in $commands; do
	echo "	$cmd) echo '$(long_options "$cmd")' ;;"
done
echo '	esac'
echo '}'
cat <<'BODY'

_waitprof()
{
	local cur=${COMP_WORDS[COMP_CWORD]} i opts

	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "$_waitprof_commands" -- "$cur")
		return
	fi
	# After "--" comes the command to trace: complete it as a command line.
	for ((i = 2; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -- ]] || continue
		if declare -F _command_offset >/dev/null; then
			_command_offset $((i + 1))	# from bash-completion
		elif ((COMP_CWORD == i + 1)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		fi
		return
	done
	if [[ $cur == -* ]]; then
		opts=$(_waitprof_options "${COMP_WORDS[1]}")
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		# --output= waits for its value: no space after it.
		[[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
		return
	fi
	# Anything else is a file (recordings, CSVs, folded stacks): no reply
	# makes bash complete file names itself (-o default).
}
complete -F _waitprof -o bashdefault -o default waitprof
BODY
