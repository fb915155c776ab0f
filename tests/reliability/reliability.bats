#!/usr/bin/env bats
# Reliability of checkpoint/restore under faults: a failed, killed or
# starved C/R never loses a running container or leaves an image that
# looks complete, and concurrent commands are serialised. Runs where CRIU
# works (tests/cr/run.sh boots the VM lane when the host cannot).
# Every test prints its counts ("# ...: N/N runs ok").

load ../cr/helpers

RUNS=${RT_REL_RUNS:-20}

setup() {
	cr_setup
}

teardown() {
	cr_teardown
}

# no_criu_running: wait until no criu process is left (a CRIU whose rt was
# killed finishes or aborts on its own).
no_criu_running() {
	local i
	for ((i = 0; i < WAIT * 10; i++)); do
		pgrep -x criu >/dev/null || return 0
		sleep 0.1
	done
	fail "criu still running ${WAIT}s after its rt was killed: $(pgrep -ax criu)"
}

# consistent ID: rt's view of ID is coherent: state and list agree, the
# container is running with its counter advancing, or does not exist,
# and the lock is free (a command runs at once, not "busy").
consistent() {
	local id=$1 st
	st=$(RT_LOCK_TIMEOUT=5s rt state "$id" 2>"$T/state.err" | jq -r .status)
	if [ -z "$st" ]; then
		grep -q "does not exist" "$T/state.err" || fail "rt state $id failed: $(cat "$T/state.err")"
		! in_list "$id" || fail "$id is listed but has no state"
		STATE=gone
		return 0
	fi
	in_list "$id" || fail "$id has state $st but is not listed"
	case $st in
	running)
		counter_runs "$T/b/rootfs/tmp/cnt" || return 1
		;;
	stopped)
		;; # CRIU ended it: delete must clean up (checked by the caller)
	*)
		fail "$id is $st after an interrupted command (want running, stopped or gone)"
		;;
	esac
	# The lock is free: a locking command answers at once.
	RT_LOCK_TIMEOUT=2s rtq update --pids-limit 100 "$id" 2>/dev/null ||
		[ "$st" = stopped ] || fail "$id: a locking command failed after the interruption"
	STATE=$st
}

# took CMD...: runs CMD, prints how long it took in seconds.
took() {
	local t0=$EPOCHREALTIME
	"$@" >&2 || return 1
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}

# random_delay SPAN: a random delay in seconds, uniform over 0..1.1*SPAN.
random_delay() {
	awk -v s="$RANDOM" -v span="$1" 'BEGIN { srand(s); printf "%.2f", rand() * span * 1.1 }'
}

start_counter() {
	[ -d "$T/b" ] || make_bundle "$T/b" "$COUNTER"
	start "$1" "$T/b" || return 1
	counter_runs "$T/b/rootfs/tmp/cnt"
}

@test "reliability: rt killed (SIGKILL) at random points of checkpoint" {
	local i id=kc$SFX ok=0 running=0 gone=0 complete=0 img pid delay span
	start_counter "$id"
	# Kill points spread over a whole checkpoint (CRIU, then hashing and
	# publishing), as long as one takes here: time one first.
	span=$(took rtq checkpoint --leave-running --image-path "$T/img0" "$id") || fail "timed checkpoint failed"
	for ((i = 1; i <= RUNS; i++)); do
		img=$T/img$i
		delay=$(random_delay "$span")
		"$RT_BIN" --root "$ROOT" --log "$T/kill.log" checkpoint --image-path "$img" "$id" </dev/null >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		no_criu_running
		consistent "$id"
		if [ -e "$img/rt-manifest.json" ] || [ -e "$img/inventory.img" ]; then
			# Only a finished checkpoint may look complete, and it must
			# be intact.
			[ -e "$img/rt-manifest.json" ] || fail "run $i: $img has inventory.img but no manifest"
			"$RT_BIN" check --image "$img" >"$T/check.out" 2>&1 || fail "run $i: complete-looking $img does not check: $(cat "$T/check.out")"
			complete=$((complete + 1))
		fi
		case $STATE in
		running) running=$((running + 1)) ;;
		*)
			gone=$((gone + 1))
			rtq delete --force "$id" || fail "run $i: delete --force after the interruption failed"
			! in_list "$id" || fail "run $i: $id still listed after delete --force"
			start_counter "$id"
			;;
		esac
		ok=$((ok + 1))
	done
	echo "# checkpoint killed (kill points over 0-${span}s x1.1): $ok/$RUNS runs consistent ($running still running, $gone stopped and deleted, $complete finished checkpoints intact)" >&3
	[ "$ok" -eq "$RUNS" ]
}

@test "reliability: rt killed (SIGKILL) at random points of restore" {
	local i id=kr$SFX ok=0 running=0 gone=0 pid delay tok base span
	start_counter "$id"
	rtq checkpoint --leave-running --image-path "$T/img" "$id"
	rtq delete --force "$id"
	# Kill points spread over a whole restore: time one first.
	span=$(took rtq restore -d --bundle "$T/b" --image-path "$T/img" "$id") || fail "timed restore failed"
	rtq delete --force "$id"
	for ((i = 1; i <= RUNS; i++)); do
		delay=$(random_delay "$span")
		"$RT_BIN" --root "$ROOT" --log "$T/kill.log" restore -d --bundle "$T/b" --image-path "$T/img" "$id" </dev/null >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		no_criu_running
		consistent "$id"
		case $STATE in
		running) running=$((running + 1)) ;;
		*) gone=$((gone + 1)) ;;
		esac
		# Whatever happened, delete --force cleans up and the image can
		# be restored again (the retry works).
		rtq delete --force "$id" || fail "run $i: delete --force failed"
		! in_list "$id" || fail "run $i: $id still listed after delete --force"
		[ ! -e "$ROOT/$id" ] || fail "run $i: state dir $ROOT/$id left after delete --force"
		# an interrupted restore leaves the rootfs bind-mounted in the
		# state dir: deleting that dir must not delete the rootfs
		[ -x "$T/b/rootfs/bin/busybox" ] || fail "run $i: the bundle's rootfs lost files after delete --force"
		ok=$((ok + 1))
	done
	rtq restore -d --bundle "$T/b" --image-path "$T/img" "$id" || fail "restore after $RUNS interrupted restores failed"
	counter_runs "$T/b/rootfs/tmp/cnt"
	echo "# restore killed (kill points over 0-${span}s x1.1): $ok/$RUNS runs consistent ($running restored before the kill, $gone cleaned up); final restore works" >&3
	[ "$ok" -eq "$RUNS" ]
}

@test "reliability: CRIU killed mid-dump leaves the container running and no image" {
	local i id=kk$SFX ok=0 pid tracer img initpid deadline
	start_counter "$id"
	for ((i = 1; i <= RUNS / 2; i++)); do
		img=$T/cimg$i
		initpid=$(rt state "$id" | jq -r .pid)
		"$RT_BIN" --root "$ROOT" --log "$T/ck.log" checkpoint --image-path "$img" "$id" </dev/null >"$T/ck.out" 2>&1 &
		pid=$!
		# Kill the CRIU that is dumping: the one that has seized
		# (ptraced) the container's init, named by its TracerPid. A
		# "criu" found by name could be the short version query that
		# runs before the dump.
		deadline=$((SECONDS + WAIT))
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			tracer=$(awk '/^TracerPid:/ { print $2 }' "/proc/$initpid/status" 2>/dev/null)
			if [ -n "$tracer" ] && [ "$tracer" != 0 ]; then
				kill -KILL "$tracer" 2>/dev/null || true
				break
			fi
			sleep 0.01
		done
		wait "$pid" && {
			# CRIU finished before we could kill it: a normal checkpoint.
			rtq restore -d --bundle "$T/b" --image-path "$img" "$id"
			counter_runs "$T/b/rootfs/tmp/cnt"
			continue
		}
		no_criu_running
		[ "$(status_of "$id")" = running ] || fail "run $i: $id is $(status_of "$id") after CRIU was killed"
		counter_runs "$T/b/rootfs/tmp/cnt"
		no_image "$img"
		ok=$((ok + 1))
	done
	echo "# criu killed mid-dump: $ok runs interrupted, container running and no complete image in all of them" >&3
	[ "$ok" -ge 1 ]
}

@test "reliability: a CRIU error during dump (closed page server) keeps the container running, 100% of runs" {
	local i id=ke$SFX ok=0 port
	start_counter "$id"
	for ((i = 1; i <= RUNS / 4; i++)); do
		port=$(free_port)
		run "$RT_BIN" --root "$ROOT" checkpoint --page-server "127.0.0.1:$port" --image-path "$T/eimg$i" "$id"
		[ "$status" -ne 0 ] || fail "run $i: checkpoint to a closed page server succeeded"
		[[ $output == *"CRIU log: "* ]] || fail "run $i: the error does not give the CRIU log: $output"
		[ "$(status_of "$id")" = running ] || fail "run $i: $id is $(status_of "$id")"
		counter_runs "$T/b/rootfs/tmp/cnt"
		no_image "$T/eimg$i"
		ok=$((ok + 1))
	done
	echo "# criu error during dump: $ok/$((RUNS / 4)) runs left the container running, no image" >&3
}

@test "reliability: image directory out of space: clear error, container running, no image" {
	local id=ks$SFX mnt=$T/small
	start_counter "$id"
	mkdir -p "$mnt"
	mount -t tmpfs -o size=64k tmpfs "$mnt"
	run "$RT_BIN" --root "$ROOT" checkpoint --image-path "$mnt/img" "$id"
	echo "$output"
	umount "$mnt" 2>/dev/null || umount -l "$mnt"
	[ "$status" -ne 0 ]
	[[ ${lines[0]} == *"no space left"* || ${lines[0]} == *"ran out of space"* ]] || fail "first line does not say the disk is full: ${lines[0]}"
	[[ $output == *"$mnt/img"* ]] || fail "the error does not name the path $mnt/img"
	[ "$(status_of "$id")" = running ]
	counter_runs "$T/b/rootfs/tmp/cnt"
	echo "# out of space: error names the path, container running" >&3
}

@test "reliability: damaged images are refused before CRIU runs, naming the file, nothing left in --root" {
	local id=kd$SFX n=0 damaged what
	start_counter "$id"
	rtq checkpoint --leave-running --image-path "$T/img" "$id"
	rtq checkpoint --leave-running --image-path "$T/other" "$id"
	rtq delete --force "$id"
	for what in truncate flip missing foreign; do
		damaged=$T/d-$what
		cp -a "$T/img" "$damaged"
		case $what in
		truncate) truncate -s -1 "$damaged/pages-1.img"; want=pages-1.img ;;
		flip) printf '\xff' | dd of="$damaged/core-1.img" bs=1 seek=5 conv=notrunc 2>/dev/null; want=core-1.img ;;
		missing) rm "$damaged/pstree.img"; want=pstree.img ;;
		foreign)
			# A manifest of another checkpoint: its hashes do not match.
			cp "$T/other/rt-manifest.json" "$damaged/rt-manifest.json"
			jq '.containerID = "someone-else"' "$damaged/rt-manifest.json" >"$damaged/m" && mv "$damaged/m" "$damaged/rt-manifest.json"
			want=.img
			;;
		esac
		rm -f "$damaged/restore.log"
		run "$RT_BIN" --root "$ROOT" restore -d --bundle "$T/b" --image-path "$damaged" "$id" </dev/null
		[ "$status" -ne 0 ] || fail "$what: restore accepted a damaged image"
		[[ $output == *"$want"* ]] || fail "$what: the error does not name $want: $output"
		[ ! -e "$damaged/restore.log" ] || fail "$what: CRIU ran (restore.log exists)"
		[ -z "$(ls -A "$ROOT" 2>/dev/null)" ] || fail "$what: left in --root: $(ls -A "$ROOT")"
		n=$((n + 1))
	done
	rtq restore -d --bundle "$T/b" --image-path "$T/img" "$id"
	counter_runs "$T/b/rootfs/tmp/cnt"
	echo "# damaged images: $n/4 refused before CRIU, file named, --root empty; the intact image restores" >&3
}

@test "reliability: 100 concurrent commands on one container are serialised" {
	local id=kx$SFX i n=100 ok=0 busy=0 bad=0 cmd rc pids=()
	start_counter "$id"
	mkdir -p "$T/conc"
	for ((i = 0; i < n; i++)); do
		case $((i % 6)) in
		0) cmd=(state "$id") ;;
		1) cmd=(pause "$id") ;;
		2) cmd=(resume "$id") ;;
		3) cmd=(kill "$id" 0) ;;
		4) cmd=(checkpoint --leave-running --image-path "$T/conc/img$i" "$id") ;;
		5) cmd=(exec "$id" true) ;;
		esac
		RT_LOCK_TIMEOUT=600s "$RT_BIN" --root "$ROOT" "${cmd[@]}" </dev/null >"$T/conc/$i.out" 2>&1 3>&- &
		pids[i]=$!
	done
	for ((i = 0; i < n; i++)); do
		rc=0
		wait "${pids[i]}" || rc=$?
		if [ "$rc" = 0 ]; then
			ok=$((ok + 1))
		elif grep -qiE 'busy|not paused|paused|not running|already' "$T/conc/$i.out"; then
			busy=$((busy + 1)) # a clear refusal
		else
			bad=$((bad + 1))
			echo "# command $i failed unclearly (rc $rc): $(head -c 300 "$T/conc/$i.out")" >&3
		fi
	done
	# Completed checkpoints are whole.
	local complete=0 d
	for d in "$T"/conc/img*; do
		[ -e "$d/rt-manifest.json" ] || continue
		"$RT_BIN" check --image "$d" >/dev/null 2>&1 || fail "checkpoint $d is not intact"
		complete=$((complete + 1))
	done
	# The container ends in a coherent state: resume if the last command
	# left it paused, then it counts on.
	[ "$(status_of "$id")" != paused ] || rtq resume "$id"
	[ "$(status_of "$id")" = running ]
	counter_runs "$T/b/rootfs/tmp/cnt"
	echo "# concurrency: $n commands, $ok succeeded, $busy refused clearly, $bad unclear; $complete checkpoints intact" >&3
	[ "$bad" -eq 0 ]
}
