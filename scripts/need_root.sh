# Sourced by the quick-start scripts (demo.sh, test.sh): as a user, re-run
# the calling script through sudo (a fresh Debian has no sudo for root);
# without sudo, say why root is needed and stop.
# usage: need_root WHY "$@"
need_root() {
	local why=$1
	shift
	[[ $(id -u) == 0 ]] && return 0
	if command -v sudo >/dev/null; then
		exec sudo -- "$(realpath "$0")" "$@"
	fi
	echo "$(basename "$0"): needs root ($why) and sudo is not installed: run it as root" >&2
	exit 1
}
