#!/bin/bash
# Run rt's bats integration tests with TAP output.
#
#   tests/bats/run.sh [FILES...]       (default: every tests/bats/*.bats)
#
# RT=/path/to/runtime selects the binary under test (default: <repo>/rt).
# BATS_FILTER=REGEX runs only matching tests; RT_SKIP_ENGINES=1 skips engines.bats.
# Prints a final line "N passed, N failed, N skipped" and exits non-zero if
# anything failed (including tests that never reported, e.g. a crashed file).
set -u
here=$(dirname "$(readlink -f "$0")")
cd "$here" || exit 1

if ! command -v bats >/dev/null 2>&1; then
	echo "bats not found; installing the Debian package" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q bats jq >&2 ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bats jq >&2; }
fi
for tool in jq bats; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required" >&2; exit 2; }
done

if [ $# -gt 0 ]; then
	files=()
	for f in "$@"; do
		case "$f" in
		/*) files+=("$f") ;;
		*) if [ -e "$OLDPWD/$f" ]; then files+=("$(readlink -f "$OLDPWD/$f")"); else files+=("$here/$f"); fi ;;
		esac
	done
else
	mapfile -t files < <(ls "$here"/*.bats)
fi

log=$(mktemp /tmp/rt-bats-tap.XXXXXX)
trap 'rm -f "$log"' EXIT
filter=()
[ -n "${BATS_FILTER:-}" ] && filter=(--filter "$BATS_FILTER")
bats --tap "${filter[@]}" "${files[@]}" </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# shellcheck source=../lib/tap.bash
. "$here/../lib/tap.bash"
tap_summary "$log" "$rc"
