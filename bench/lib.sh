# bench/lib.sh - helpers shared by the benchmark scripts (sourced).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# usecs: the wall clock in microseconds (bash's EPOCHREALTIME, no fork).
usecs() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }

# timed CMD...: run CMD; TIMED holds its wall time in seconds (6 decimals)
# and TIMED_RC its exit status.  Never fails itself.
# TIMED_T0 and TIMED_T1 hold the start and end ($EPOCHREALTIME form).
TIMED=0 TIMED_RC=0 TIMED_T0=0 TIMED_T1=0
timed() {
	TIMED_RC=0
	TIMED_T0=$EPOCHREALTIME
	"$@" || TIMED_RC=$?
	TIMED_T1=$EPOCHREALTIME
	TIMED=$(us2s $((10#${TIMED_T1/./} - 10#${TIMED_T0/./})))
}

# us2s N: microseconds -> seconds with 6 decimals.
us2s() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

# wait_file FILE [SECONDS]: wait until FILE exists.
wait_file() {
	local f=$1 n=$((${2:-600} * 20))
	while [ ! -e "$f" ]; do
		((n-- > 0)) || return 1
		sleep 0.05
	done
}

# wait_gone PID [SECONDS]: wait until PID no longer exists (zombies count as gone).
wait_gone() {
	local pid=$1 n=$((${2:-120} * 20)) st
	while [ -e "/proc/$pid" ]; do
		st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 0
		[ "$st" = Z ] && return 0
		((n-- > 0)) || return 1
		sleep 0.05
	done
}

# bytes_of PATH...: apparent size in bytes of files and directories (logs excluded).
bytes_of() { du -scb --exclude='*.log' "$@" 2>/dev/null | awk 'END {print $1 + 0}'; }

# Rows of the downtime and migration benchmarks: "size method phase ms"
# appended to $TSV.
row() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }
# ms_since T0: milliseconds since T0 ($EPOCHREALTIME form).
ms_since() { echo $(((10#${EPOCHREALTIME/./} - 10#${1/./}) / 1000)); }

# memhog_bundle DIR SIZE NETNS: a bundle at DIR (made afresh from
# $OUT/rootfs with $RT spec) running `crhelper memhog SIZE 16 16 $PORT`
# in the network namespace at the path NETNS, as an engine would give.
memhog_bundle() {
	rm -rf "$1"
	mkdir -p "$1"
	cp -a "$OUT/rootfs" "$1/rootfs"
	(cd "$1" && "$RT" spec) || die "rt spec"
	jq --arg s "exec /bin/crhelper memhog $2 16 16 $PORT" --arg ns "$3" \
		'.process.terminal = false | .root.readonly = false | .process.args = ["sh", "-c", $s]
		| .linux.namespaces |= map(if .type == "network" then .path = $ns else . end)' \
		"$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
