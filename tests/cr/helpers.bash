# tests/cr/helpers.bash - shared by tests/cr/*.bats (`load helpers`).
#
# Set by tests/cr/run.sh (defaults for running bats by hand from the repo):
#   RT_CR_RT       the rt binary under test
#   RT_CR_ROOTFS   a pristine busybox rootfs, copied into every bundle
#   RT_CR_RECVTTY  tests/lib/recvtty, built
#   RT_CR_HELPER   tests/cr/crhelper, built static
#   RT_CR_WAIT     seconds a wait may take before it counts as a failure (TCG is slow)
#
# Every test gets a private directory $T on /tmp (CRIU's sockets cannot live
# on a 9p share), a private --root $ROOT, and IDs ending in $SFX.  teardown
# force-deletes every container in $ROOT and kills the background jobs the
# test started (by their process group, which they lead).

RT_REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
RT_BIN=${RT_CR_RT:-$RT_REPO/rt}
RECVTTY=${RT_CR_RECVTTY:-}
CRHELPER=${RT_CR_HELPER:-}
WAIT=${RT_CR_WAIT:-60}

# The counter every test container runs: a token drawn once at start (it
# lives only in the process's memory) and a counter, written to /tmp/cnt of
# the container's rootfs every 0.1 s.  After a restore the same token must
# come back with a counter beyond the value at checkpoint time: a process
# started afresh would draw a new token and count from 1.
COUNTER='tok=t$RANDOM$RANDOM; i=0; while :; do i=$((i + 1)); echo "$tok $i" >/tmp/cnt; sleep 0.1; done'
# The same, also writing each "TOKEN N" line to stdout (a terminal, a socket).
STREAM_COUNTER='tok=t$RANDOM$RANDOM; i=0; while :; do i=$((i + 1)); echo "$tok $i" >/tmp/cnt; echo "$tok $i"; sleep 0.1; done'
# A TCP server (busybox nc -l: ONE connection, its stdout is the container's
# output) and a client in the same container sending the counter over an
# established loopback connection: the container's log (docker logs, a CRI
# log) shows what crossed it.
TCP_COUNTER='sleep 1000000 | nc -l -p 5000 & while ! netstat -ltn | grep -q ":5000 "; do sleep 0.1; done; tok=t$RANDOM$RANDOM; i=0; while :; do i=$((i + 1)); echo "$tok $i"; sleep 0.1; done | nc 127.0.0.1 5000'

cr_setup() {
	T=$(mktemp -d /tmp/rt-cr.XXXXXX)
	ROOT=$T/root
	SFX=${T##*.}
	SFX=${SFX,,}
	BG_PIDS=()
	[ -x "$RT_BIN" ] || fail "no rt binary at $RT_BIN"
	[ -d "${RT_CR_ROOTFS:-}" ] || fail "RT_CR_ROOTFS is not set to a rootfs (use tests/cr/run.sh)"
}

cr_teardown() {
	local id pid
	[ -n "${BATS_TEST_COMPLETED:-}" ] || cr_diagnose
	# background jobs first: a checkpoint still running holds the
	# container's lock, and rt delete would wait for it
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "${ROOT:-}" ] && [ -d "$ROOT" ]; then
		for id in $("$RT_BIN" --root "$ROOT" list -q 2>/dev/null); do
			RT_LOCK_TIMEOUT=20s "$RT_BIN" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 ||
				echo "# teardown: rt delete -f $id failed" >&3
		done
	fi
	[ -n "${T:-}" ] && [[ $T == /tmp/rt-cr.* ]] && rm -rf "$T"
	return 0
}

# cr_diagnose: after a failed test, show what its containers are doing.
cr_diagnose() {
	local id pids f
	[ -n "${ROOT:-}" ] && [ -d "$ROOT" ] || return 0
	echo "--- diagnosis: --root $ROOT holds: $(ls -A "$ROOT" | tr '\n' ' ')"
	for id in $("$RT_BIN" --root "$ROOT" list -q 2>/dev/null); do
		echo "--- $id: $("$RT_BIN" --root "$ROOT" state "$id" 2>&1 | jq -c '{status, pid, bundle}' 2>/dev/null)"
		pids=$("$RT_BIN" --root "$ROOT" ps --format json "$id" 2>/dev/null | jq -r 'join(",")' 2>/dev/null)
		[ -n "$pids" ] || continue
		ps -o pid,ppid,stat,wchan:28,args -p "$pids" 2>&1
		# Their children too, with their cgroups: a child a restore put
		# elsewhere, or a zombie, is not in the container's list.
		ps -o pid=,ppid=,stat=,wchan:28=,cgroup:50=,args= --ppid "$pids" 2>&1 | sed 's/^/  child: /'
	done
	for f in "$T"/*/restore.log "$T"/*/dump.log; do
		[ -f "$f" ] || continue
		if grep -qi 'zombie' "$f"; then
			echo "--- zombies in $f:"
			grep -i 'zombie' "$f" | head -n 5
		fi
		grep -q 'Error' "$f" || continue
		echo "--- errors in $f:"
		grep 'Error' "$f" | head -n 10
	done
	[ ! -s "$T/rt.log" ] || { echo "--- tail of $T/rt.log:"; tail -n 15 "$T/rt.log"; }
	return 0
}

fail() {
	echo "FAIL: $*" >&2
	return 1
}

# bg LOG CMD [ARGS...]: start CMD in the background as the leader of a new
# process group, stdin /dev/null, output to LOG, bats' fd 3 closed.  Its pid
# is in $BG_PID and teardown stops it.
bg() {
	local log=$1
	shift
	setsid "$@" </dev/null >"$log" 2>&1 3>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# rt ARGS...: rt on the test's private root.  Its log goes to $T/rt.log,
# so what it prints on stderr is only the error, with its real line breaks
# (without --log, rt logs the error as one logrus line with "\n" escapes).
rt() {
	trace "rt $*"
	"$RT_BIN" --root "$ROOT" --log "$T/rt.log" "$@"
}

# trace WORDS: with RT_CR_TRACE=1, say what the test does now (on the TAP
# stream, as a comment), to find where a slow or stuck test is.
trace() {
	[ -z "${RT_CR_TRACE:-}" ] || echo "# $(date +%T) ${BATS_TEST_NUMBER:-}: $*" >&3
}

# rtq ARGS...: rt with stdio on /dev/null (nothing of ours must leak into a
# container: CRIU cannot dump a descriptor of the test's own files), its log
# in $T/rt.log; on failure the log of this call is printed.
rtq() {
	local rc=0 log=$T/rt-last.log
	trace "rt $*"
	: >"$log"
	"$RT_BIN" --root "$ROOT" --log "$log" "$@" </dev/null >/dev/null 2>&1 || rc=$?
	cat "$log" >>"$T/rt.log"
	if [ "$rc" -ne 0 ]; then
		echo "rt $* failed with status $rc:"
		cat "$log"
	fi
	return "$rc"
}

# copy_live_bundle SRC DST: a copy of the bundle of a running container,
# without what its /tmp holds: memhog replaces /tmp/cnt through
# /tmp/cnt.tmp ten times a second, and cp -a fails when a file it listed
# is gone before it reads it.
copy_live_bundle() {
	mkdir -p "$2" && tar -C "$1" --exclude='./rootfs/tmp/*' -cf - . | tar -C "$2" -xf - ||
		fail "copying the bundle $1 to $2 failed"
}

# make_bundle DIR SCRIPT [JQ-FILTER]: a bundle running `sh -c SCRIPT`,
# terminal off, writable rootfs, the filter applied last to config.json.
make_bundle() {
	local dir=$1 script=$2 filter=${3:-.}
	mkdir -p "$dir"
	cp -a "$RT_CR_ROOTFS" "$dir/rootfs"
	(cd "$dir" && "$RT_BIN" spec) || fail "rt spec failed"
	jq --arg s "$script" \
		".process.terminal = false | .root.readonly = false | .process.args = [\"sh\", \"-c\", \$s] | $filter" \
		"$dir/config.json" >"$dir/config.json.new" || fail "jq on $dir/config.json failed"
	mv "$dir/config.json.new" "$dir/config.json"
}

# start ID BUNDLE: rt run -d with stdio on /dev/null; waits until running.
start() {
	rtq run -d -b "$2" "$1" || return 1
	[ "$(status_of "$1")" = running ] || fail "container $1 is $(status_of "$1") after rt run -d"
}

# status_of ID: the state rt reports ("" if rt knows no such container).
status_of() {
	rt state "$1" 2>/dev/null | jq -r .status 2>/dev/null
}

# in_list ID: is ID in `rt list -q`?
in_list() {
	rt list -q 2>/dev/null | grep -qxF "$1"
}

# read_cnt FILE: parse "TOKEN N" into $TOK and $N (returns 1 if FILE holds
# nothing parseable yet, e.g. while it is being rewritten).
read_cnt() {
	local line
	line=$(cat "$1" 2>/dev/null) || return 1
	[[ $line =~ ^(t[0-9]+)\ ([0-9]+)$ ]] || return 1
	TOK=${BASH_REMATCH[1]}
	N=${BASH_REMATCH[2]}
}

# cnt_now FILE: $TOK and $N from FILE, as read_cnt; when FILE holds nothing
# parseable, the values read before stay. A checkpoint that ends the
# counter can catch it between truncating the file and writing it (the
# file then stays empty); the value read before the checkpoint is not
# above the checkpointed one, so "resumed beyond it" still holds.
cnt_now() {
	read_cnt "$1" && return 0
	[ -n "${TOK:-}" ] || fail "$1 holds nothing parseable and no value was read before"
	echo "# $1 is empty: keeping $TOK $N, read before"
}

# wait_cnt FILE MIN: wait until FILE's counter is at least MIN; $TOK and $N
# then hold what was read.
wait_cnt() {
	local file=$1 min=$2 i
	trace "wait for $file >= $min"
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		if read_cnt "$file" && ((N >= min)); then
			return 0
		fi
		sleep 0.1
	done
	fail "counter in $file did not reach $min within ${WAIT}s (holds: '$(cat "$file" 2>/dev/null)')"
}

# counter_runs FILE: the counter in FILE is advancing (it moves by at least
# 3 within the wait).  Sets $TOK and $N.
counter_runs() {
	local t0
	read_cnt "$1" || wait_cnt "$1" 1 || return 1
	t0=$TOK
	wait_cnt "$1" $((N + 3)) || return 1
	[ "$TOK" = "$t0" ] || fail "the token in $1 changed from $t0 to $TOK: the process restarted"
}

# counter_frozen FILE: the counter in FILE does not move for 1.5 s.
counter_frozen() {
	local before after
	before=$(cat "$1" 2>/dev/null)
	sleep 1.5
	after=$(cat "$1" 2>/dev/null)
	[ "$before" = "$after" ] || fail "counter in $1 still moves ($before -> $after)"
}

# resumed FILE TOK BASE: the process behind FILE resumed where it left off:
# once FILE changes (it may hold a stale value, e.g. in a copied bundle), it
# holds the same token (the process's memory came back) and a counter beyond
# BASE, the value at checkpoint time; and it keeps counting.
resumed() {
	local file=$1 tok=$2 base=$3 stale i moved=0
	stale=$(cat "$file" 2>/dev/null)
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		# One read per check, judged as read: the counter rewrites the
		# file (truncate, then write), so reading it again may find it
		# empty. (A second read here once failed a CI run of a counter
		# that ran fine.)
		if read_cnt "$file" && [ "$TOK $N" != "$stale" ]; then
			moved=1
			break
		fi
		sleep 0.1
	done
	((moved)) ||
		fail "$file did not change within ${WAIT}s after the restore (held '$stale' then, '$(cat "$file" 2>/dev/null)' now): the process does not run"
	[ "$TOK" = "$tok" ] ||
		fail "$file holds token $TOK, not $tok from before the checkpoint: the process started afresh instead of resuming"
	((N > base)) || fail "$file counts $N, not beyond $base where it was checkpointed"
	echo "# resumed: $tok $base -> $N"
	wait_cnt "$file" $((N + 3)) || return 1
	[ "$TOK" = "$tok" ] || fail "token changed to $TOK while counting on"
}

# wait_exit PID: wait (up to $WAIT s) for a background job of ours to end;
# its exit status is returned (124 if it did not end).
wait_exit() {
	local i
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "# pid $1 still runs after ${WAIT}s"
		return 124
	fi
	wait "$1"
}

# wait_socket PATH: wait until a unix socket exists at PATH.
wait_socket() {
	local i
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	fail "no socket at $1 within ${WAIT}s"
}

# no_image DIR: DIR holds no complete checkpoint, and no staging directory
# of rt was left next to it.
no_image() {
	local dir=$1 left
	[ ! -e "$dir/inventory.img" ] || fail "$dir/inventory.img exists after a failed checkpoint"
	left=$(find "$(dirname "$dir")" -maxdepth 1 -name ".$(basename "$dir").rt-partial-*")
	[ -z "$left" ] || fail "staging directories left behind: $left"
}

# wait_file FILE PATTERN: wait until FILE has a line matching the ERE.
wait_file() {
	local i
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no line matching /$2/ in $1 within ${WAIT}s; it ends with: $(tail -n 3 "$1" 2>/dev/null)"
}

# last_n FILE: the counter on the last complete "TOKEN N" line of FILE
# (for streams: terminal output, socket logs); sets $TOK and $N.
last_n() {
	local line
	line=$(tr -d '\r' <"$1" 2>/dev/null | grep -E '^t[0-9]+ [0-9]+$' | tail -n 1)
	[[ $line =~ ^(t[0-9]+)\ ([0-9]+)$ ]] || return 1
	TOK=${BASH_REMATCH[1]}
	N=${BASH_REMATCH[2]}
}

# wait_stream FILE MIN: wait until the last line of the stream in FILE
# counts at least MIN; sets $TOK and $N.
wait_stream() {
	local i
	trace "wait for stream $1 >= $2"
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		if last_n "$1" && ((N >= $2)); then return 0; fi
		sleep 0.1
	done
	fail "the stream in $1 did not reach $2 within ${WAIT}s; it ends with: $(tail -n 3 "$1" 2>/dev/null)"
}

# free_port: a TCP port nothing listens on now.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# tree_sum DIR: a checksum of every file name and content under DIR.
tree_sum() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
}
