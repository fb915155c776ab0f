# tests/cr/engines-helpers.bash - for tests/cr/engines.bats: Docker and
# containerd (ctr) checkpointing and restoring containers run by rt.
#
# The daemons come from tests/lib/engines.bash (engines_start/engines_stop:
# a private containerd + dockerd under ENG_DIR=/tmp/rte.XXXXXX, rt behind
# ENG_DIR/rt-wrapper, which logs every runtime argv to ENG_DIR/rt-calls.log).
# This file adds what C/R needs on top:
#
# - RT_CONFIG: rt's config file (libct/defaults.go) is looked up in rt's
#   environment, and rt is exec'd by containerd-shim-runc-v2, which is
#   started by containerd (dockerd talks to our containerd, it does not
#   spawn the shims).  So RT_CONFIG is exported while containerd starts and
#   points to $ENG_RT_CONFIG, a file that only exists while a test wants it.
# - Counters that prove a process resumed: a token drawn once at start (it
#   lives only in the process's memory) and a counter.  Docker containers
#   print "TOKEN N" lines to stdout (docker's json-file log); ctr containers
#   write them to a file.
# - Per-test cleanup: the docker containers a test names (dk_names); ctr
#   objects live in the private namespace $ENG_NAME; containerd's restore
#   staging dirs (ctrd-checkpoint*, left even by successful restores) are
#   removed.  Client calls are kept few: each costs seconds under TCG.

ENG_CR_LABEL=io.github.rt-runtime.test=cr-engines
DK_NAMES=()

# The container commands.  COUNTER_OUT prints the counter to stdout;
# counter_to REDIRECTION writes it elsewhere (">/tmp/cnt": overwrite,
# ">>/data/cnt": append a stream).
COUNTER_OUT='tok=t$RANDOM$RANDOM; i=0; while :; do i=$((i + 1)); echo "$tok $i"; sleep 0.1; done'
counter_to() {
	echo "tok=t\$RANDOM\$RANDOM; i=0; while :; do i=\$((i + 1)); echo \"\$tok \$i\" $1; sleep 0.1; done"
}

# ------------------------------------------------------------ file level

# eng_cr_setup_file: check the environment, start the daemons once.
eng_cr_setup_file() {
	local why="" t
	if [ -n "${RT_SKIP_ENGINES:-}" ]; then
		why="RT_SKIP_ENGINES is set"
	else
		for t in dockerd containerd ctr containerd-shim-runc-v2 jq; do
			command -v "$t" >/dev/null || why="$why $t"
		done
		[ -x /usr/bin/docker ] || command -v docker >/dev/null || why="$why docker"
		[ -z "$why" ] || why="not installed:$why (apt-get install docker.io containerd jq)"
	fi
	if [ -n "$why" ]; then
		echo "$why" >"$BATS_FILE_TMPDIR/skip"
		return 0
	fi
	[ -x "$ENG_RT" ] || {
		echo "no rt binary at $ENG_RT (make rt)" >&2
		return 1
	}
	local out
	out=$(criu check 2>&1) || {
		echo "criu check fails on this kernel ($(uname -r)); run through tests/cr/run.sh (VM lane): $out" >&2
		return 1
	}
	# containerd's restore staging dirs that exist before us are not ours
	ls -d "${XDG_RUNTIME_DIR:-/tmp}"/ctrd-checkpoint* "${XDG_RUNTIME_DIR:-/tmp}"/ctd-checkpoint* \
		2>/dev/null >"$BATS_FILE_TMPDIR/ctrd-before" || true
	export ENG_RT_CONFIG=$BATS_FILE_TMPDIR/rt-config.json
	rm -f "$ENG_RT_CONFIG"
	local rc=0
	export RT_CONFIG=$ENG_RT_CONFIG
	engines_start "$ENG_RT" || rc=$?
	unset RT_CONFIG
	echo "${ENG_DIR:-}" >"$BATS_FILE_TMPDIR/eng_dir"
	return "$rc"
}

eng_cr_teardown_file() {
	if [ -z "${ENG_DIR:-}" ] && [ -s "$BATS_FILE_TMPDIR/eng_dir" ]; then
		ENG_DIR=$(cat "$BATS_FILE_TMPDIR/eng_dir")
		ENG_NAME=rteng-$(basename "$ENG_DIR" | cut -d. -f2)
		ENG_DOCKER=$(eng_docker_client)
	fi
	[ -n "${ENG_DIR:-}" ] && engines_stop
	eng_cr_rm_ctrd_staging
	rm -f "${ENG_RT_CONFIG:-/nonexistent}"
	return 0
}

# eng_cr_rm_ctrd_staging: containerd extracts every checkpoint it restores
# into ${XDG_RUNTIME_DIR:-/tmp}/ctrd-checkpointN and never removes it (not
# even after a successful restore); remove those our daemons made.
eng_cr_rm_ctrd_staging() {
	local d
	for d in "${XDG_RUNTIME_DIR:-/tmp}"/ctrd-checkpoint* "${XDG_RUNTIME_DIR:-/tmp}"/ctd-checkpoint*; do
		[ -e "$d" ] || continue
		grep -qxF "$d" "$BATS_FILE_TMPDIR/ctrd-before" 2>/dev/null && continue
		rm -rf "$d"
	done
}

# ------------------------------------------------------------ test level

# ENG_CR_TRACE=1: every docker and ctr client call prints its duration on
# the TAP stream (to see where the time goes under TCG).
if [ -n "${ENG_CR_TRACE:-}" ] && declare -F dk >/dev/null && ! declare -F _eng_cr_dk >/dev/null; then
	eval "_eng_cr_dk() $(declare -f dk | tail -n +2)"
	eval "_eng_cr_ctr() $(declare -f ctr_ | tail -n +2)"
	_eng_cr_timed() {
		local fn=$1 what=$2 t0 rc=0
		shift 2
		t0=$(date +%s.%N)
		"$fn" "$@" || rc=$?
		echo "# $(date +%T) [${BATS_TEST_NUMBER:-file}] $what ${1:-} ${2:-}: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s rc=$rc" >&3
		return "$rc"
	}
	dk() { _eng_cr_timed _eng_cr_dk docker "$@"; }
	ctr_() { _eng_cr_timed _eng_cr_ctr ctr "$@"; }
fi

eng_cr_setup() {
	if [ -f "$BATS_FILE_TMPDIR/skip" ]; then
		skip "$(cat "$BATS_FILE_TMPDIR/skip")"
	fi
	[ -n "${ENG_DIR:-}" ] && [ -d "$ENG_DIR" ] || fail "the engines were not started"
	TEST_DIR=$(mktemp -d /tmp/rtce.XXXXXX)
	SFX=${TEST_DIR##*.}
	SFX=${SFX,,}
	rm -f "$ENG_RT_CONFIG"
	DK_NAMES=()
}

eng_cr_teardown() {
	local id ref
	[ -n "${TEST_DIR:-}" ] || return 0 # skipped before setup made anything
	rm -f "$ENG_RT_CONFIG"
	# (teardown_file removes whatever else is left)
	if [ ${#DK_NAMES[@]} -gt 0 ]; then
		ENG_TIMEOUT=60 dk rm -f "${DK_NAMES[@]}" >/dev/null 2>&1
	fi
	# only the ctr tests make ctr objects (a client call costs seconds under TCG)
	[[ ${BATS_TEST_DESCRIPTION:-} == ctr:* ]] || { eng_cr_rm_test_dir; return 0; }
	for id in $(ENG_TIMEOUT=20 ctr_ task ls -q 2>/dev/null); do
		ENG_TIMEOUT=20 ctr_ task kill -a -s SIGKILL "$id" >/dev/null 2>&1
		ENG_TIMEOUT=20 ctr_ task rm -f "$id" >/dev/null 2>&1 || echo "# teardown: ctr task rm -f $id failed" >&3
	done
	for id in $(ENG_TIMEOUT=20 ctr_ containers ls -q 2>/dev/null); do
		ENG_TIMEOUT=20 ctr_ containers rm "$id" >/dev/null 2>&1 ||
			echo "# teardown: ctr containers rm $id failed" >&3
	done
	for ref in $(ENG_TIMEOUT=20 ctr_ images ls -q 2>/dev/null); do
		[ "$ref" = docker.io/library/busybox:local ] && continue
		ENG_TIMEOUT=20 ctr_ images rm "$ref" >/dev/null 2>&1
	done
	eng_cr_rm_test_dir
	return 0
}

# eng_cr_rm_test_dir: containerd's staging dirs, then the test's directory
# (unmounting what may be mounted below it, deepest first).
eng_cr_rm_test_dir() {
	local mp
	eng_cr_rm_ctrd_staging
	if [ -n "${TEST_DIR:-}" ] && [[ $TEST_DIR == /tmp/rtce.* ]]; then
		for mp in $(awk -v p="$TEST_DIR/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo |
			awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-); do
			umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
		done
		rm -rf "$TEST_DIR"
	fi
	return 0
}

# ------------------------------------------------------------ docker

# dk_run NAME [DOCKER-RUN-FLAGS...] -- CMD...: docker run -d with rt, no
# network (a private netns with lo up), our label.  Prints the full ID.
dk_run() {
	local name=$1 flags=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	dk run -d --runtime rt --network none --label "$ENG_CR_LABEL" --name "$name" "${flags[@]}" busybox:local "$@"
}

# dk_start_counter NAME: docker run -d of the counter (COUNTER_OUT) as NAME;
# sets DK_ID to its full ID and waits for 5 lines in its log.
dk_start_counter() {
	local out
	out=$(dk_run "$1" -- sh -c "$COUNTER_OUT" 2>&1) || fail "docker run: $out"
	DK_ID=${out##*$'\n'}
	wait_lines "$(dk_log "$DK_ID")" 5
}

# dk_names NAME...: the containers this test makes; teardown removes them
# with one client call (each costs seconds under TCG).
dk_names() {
	DK_NAMES=("$@")
}

dk_state() { # dk_state NAME: running, exited, created...
	dk inspect -f '{{.State.Status}}' "$1" 2>/dev/null
}

# dk_wait_state NAME STATE: docker handles a container's exit
# asynchronously; once it shows "exited" the log copy has been drained.
dk_wait_state() {
	local end=$((SECONDS + WAIT)) st
	while :; do
		st=$(dk_state "$1")
		[ "$st" = "$2" ] && return 0
		((SECONDS < end)) || break
		sleep 0.5
	done
	fail "container $1 is '$st', not $2, after ${WAIT}s"
}

# Docker's files of a container, by full ID: the default checkpoint
# directory, the json-file log, the task's bundle (runtime log.json,
# init.pid).
dk_checkpoint_dir() { echo "$ENG_DIR/data/containers/$1/checkpoints/$2"; }
dk_log() { echo "$ENG_DIR/data/containers/$1/$1-json.log"; }
dk_bundle() { echo "$ENG_DIR/ctrd-state/io.containerd.runtime.v2.task/moby/$1"; }

# ------------------------------------------------------------ counters
#
# A counter stream is a file of "TOKEN N" lines: docker's json-file log
# of a container printing them (read directly: a client call per poll
# costs seconds under TCG), or a file a container appends them to.

# lines_of SRC: the counter lines of SRC into CL[]; TOK and N hold the
# last one, NL the number of lines.
lines_of() {
	if [[ $1 == *-json.log ]]; then
		mapfile -t CL < <(sed -n 's/^{"log":"\(t[0-9][0-9]* [0-9][0-9]*\)\\n",.*/\1/p' "$1" 2>/dev/null)
	else
		mapfile -t CL < <(grep -E '^t[0-9]+ [0-9]+$' "$1" 2>/dev/null)
	fi
	NL=${#CL[@]}
	TOK= N=0
	if [ "$NL" -gt 0 ]; then
		TOK=${CL[-1]% *}
		N=${CL[-1]#* }
	fi
}

# wait_lines SRC MIN: wait until the last counter of SRC is at least MIN.
wait_lines() {
	local end=$((SECONDS + WAIT))
	while :; do
		lines_of "$1"
		((N >= $2)) && return 0
		((SECONDS < end)) || break
		sleep 0.2
	done
	fail "$1 did not count to $2 within ${WAIT}s; it ends with: $(tail -n 2 "$1" 2>/dev/null)"
}

# counting SRC: the counter goes on (by 5) under the same token.
counting() {
	lines_of "$1"
	local t0=$TOK
	[ -n "$t0" ] || fail "no counter in $1"
	wait_lines "$1" $((N + 5)) || return 1
	[ "$TOK" = "$t0" ] || fail "the token in $1 changed from $t0 to $TOK: the process restarted"
}

# not_counting SRC: SRC does not grow for 1.5 s.
not_counting() {
	local before
	lines_of "$1"
	before=$NL
	sleep 1.5
	lines_of "$1"
	[ "$NL" = "$before" ] || fail "$1 still grows ($before -> $NL lines)"
}

# resumed_at SRC TOKEN FROM LO HI: after a restore, the lines of SRC from
# index FROM on are the restored process's: its token is TOKEN (its memory
# came back), its first value is in LO..HI (where it was checkpointed), and
# it counts on without a gap.  A process started afresh would draw another
# token and count from 1.
resumed_at() {
	local src=$1 tok=$2 from=$3 lo=$4 hi=$5 j prev v end=$((SECONDS + WAIT))
	while :; do
		lines_of "$src"
		((NL >= from + 5)) && break
		((SECONDS < end)) || break
		sleep 0.2
	done
	((NL >= from + 5)) ||
		fail "$src did not grow by 5 lines after the restore (from line $from; it ends with: $(tail -n 2 "$src" 2>/dev/null))"
	prev=
	for ((j = from; j < NL; j++)); do
		[ "${CL[$j]% *}" = "$tok" ] ||
			fail "line $j of $src is '${CL[$j]}', not token $tok from before the checkpoint: the process started afresh"
		v=${CL[$j]#* }
		if [ -z "$prev" ]; then
			((v >= lo && v <= hi)) ||
				fail "the restored process went on at $v in $src, not in $lo..$hi where it was checkpointed"
		else
			((v == prev + 1)) || fail "$src jumps from $prev to $v after the restore"
		fi
		prev=$v
	done
	echo "# resumed: $tok ${CL[$from]#* } .. $prev (first value expected in $lo..$hi)"
}

# rt_called REGEX: the wrapper logged a runtime call matching REGEX.
rt_called() {
	grep -qE -- "$1" "$ENG_DIR/rt-calls.log" ||
		fail "rt was never called as /$1/; last calls: $(tail -n 5 "$ENG_DIR/rt-calls.log" | cut -c1-250)"
}

# rt_calls REGEX: the runtime calls matching REGEX (for closer checks).
rt_calls() {
	grep -E -- "$1" "$ENG_DIR/rt-calls.log"
}

# manifest_of DIR FILTER: jq FILTER on DIR/rt-manifest.json.
manifest_of() {
	[ -f "$1/rt-manifest.json" ] || fail "no rt-manifest.json in $1: $(ls -A "$1" 2>&1 | tr '\n' ' ')"
	jq -r "$2" "$1/rt-manifest.json"
}

# is_checkpoint DIR: DIR holds a complete rt checkpoint.
is_checkpoint() {
	[ -f "$1/inventory.img" ] || fail "no inventory.img in $1: $(ls -A "$1" 2>&1 | tr '\n' ' ')"
	[ -f "$1/rt-manifest.json" ] || fail "no rt-manifest.json in $1"
	[ "$(manifest_of "$1" .kind)" = dump ] || fail "manifest in $1 is not of a dump"
}

# tcp_client_port ID: the local port of the client side of the container's
# established connection to :5000 ("" if none), from the container's
# network namespace as /proc/<init pid>/net shows it (docker exec costs
# seconds under TCG).
tcp_client_port() {
	local pid hex
	pid=$(cat "$(dk_bundle "$1")/init.pid" 2>/dev/null) || return 0
	hex=$(cat "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6" 2>/dev/null |
		awk '$4 == "01" && $3 ~ /:1388$/ { n = split($2, a, ":"); print a[n]; exit }')
	[ -z "$hex" ] || echo $((16#$hex))
}

# ------------------------------------------------------------ ctr

# ctr_status ID: the task status (RUNNING, PAUSED, STOPPED, CREATED) or "".
ctr_status() {
	ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'
}

# ctr_wait_status ID STATUS (polls by the clock: a ctr call takes seconds)
ctr_wait_status() {
	local end=$((SECONDS + WAIT))
	while ((SECONDS < end)); do
		[ "$(ctr_status "$1")" = "$2" ] && return 0
		sleep 0.5
	done
	fail "task $1 is '$(ctr_status "$1")', not $2, after ${WAIT}s"
}

# ctr_import_busybox: busybox:local from docker into containerd's image
# store (docker.io/library/busybox:local), for containers made from an image.
ctr_import_busybox() {
	ctr_ images ls -q | grep -qxF docker.io/library/busybox:local && return 0
	dk save busybox:local | ctr_ images import - >/dev/null
	ctr_ images ls -q | grep -qxF docker.io/library/busybox:local ||
		fail "importing busybox:local into containerd failed"
}
