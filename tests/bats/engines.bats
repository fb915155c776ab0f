#!/usr/bin/env bats
# dockerd and containerd (ctr) driving the runtime under test.
# The daemons are private to this file (started once in setup_file).
# Set RT_SKIP_ENGINES=1 to skip.

bats_require_minimum_version 1.5.0

load helpers
load ../lib/engines

setup_file() {
	[ -n "${RT_SKIP_ENGINES:-}" ] && return 0
	[ -x "$RT" ] || {
		echo "runtime binary $RT not found" >&2
		return 1
	}
	engines_install
	engines_start "$RT" || {
		engines_stop
		return 1
	}
	# state for the tests
	echo "$ENG_DIR" >"$BATS_FILE_TMPDIR/eng_dir"
}

teardown_file() {
	[ -n "${RT_SKIP_ENGINES:-}" ] && return 0
	if [ -z "${ENG_DIR:-}" ] && [ -f "$BATS_FILE_TMPDIR/eng_dir" ]; then
		ENG_DIR=$(cat "$BATS_FILE_TMPDIR/eng_dir")
		ENG_NAME=rteng-$(basename "$ENG_DIR" | cut -d. -f2)
		ENG_DOCKER=$(eng_docker_client)
	fi
	engines_stop
}

setup() {
	[ -n "${RT_SKIP_ENGINES:-}" ] && skip "RT_SKIP_ENGINES is set"
	[ -n "${ENG_DIR:-}" ] && [ -d "$ENG_DIR" ] || fail "engines were not started"
	# per-test temp space
	TEST_DIR=$(mktemp -d /tmp/rtb.XXXXXX)
}

teardown() {
	[ -n "${TEST_DIR:-}" ] && rm -rf "$TEST_DIR"
	return 0
}

# the runtime state root docker passes to every runc-type runtime
moby_root() {
	echo "$ENG_DIR/exec/runtime-runc/moby"
}

# rt_was_called PATTERN: the wrapper logged an invocation matching PATTERN
rt_was_called() {
	grep -qE -- "$1" "$ENG_DIR/rt-calls.log" || fail "runtime never called with /$1/; calls: $(tail -20 "$ENG_DIR/rt-calls.log")"
}

# wait_docker_logs NAME REGEX
wait_docker_logs() {
	local i
	for ((i = 0; i < 100; i++)); do
		dk logs "$1" 2>&1 | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	fail "docker logs $1 never matched /$2/: $(dk logs "$1" 2>&1 | tail -5)"
}

@test "docker: run -d, logs, exec, top, pause/unpause, update, stop, rm" {
	local name=d-$$-1
	run dk run -d --runtime rt --name "$name" busybox:local \
		sh -c 'echo started-ok; trap "echo got-term; exit 0" TERM; while true; do sleep 0.2; done'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	local id=${lines[-1]}
	[ "${#id}" -eq 64 ]
	[ "$(dk inspect -f '{{.HostConfig.Runtime}}' "$name")" = rt ]
	rt_was_called "create --bundle .* --pid-file .*init.pid $id"
	rt_was_called "start $id"
	# the runtime's own view of the container
	run "$RT" --root "$(moby_root)" state "$id"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = running ]

	wait_docker_logs "$name" '^started-ok$'

	run dk exec "$name" sh -c 'echo in-exec; exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = in-exec ]
	rt_was_called "exec --process .* --detach --pid-file .* $id"

	run dk top "$name"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[[ "$output" == *"while true"* ]]
	rt_was_called "ps --format json $id"

	run dk pause "$name"
	[ "$status" -eq 0 ]
	[ "$(dk inspect -f '{{.State.Status}}' "$name")" = paused ]
	rt_was_called "pause $id"
	run dk unpause "$name"
	[ "$status" -eq 0 ]
	[ "$(dk inspect -f '{{.State.Status}}' "$name")" = running ]
	rt_was_called "resume $id"

	run dk update --memory 64m --memory-swap 128m "$name"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$(dk inspect -f '{{.HostConfig.Memory}}' "$name")" = 67108864 ]
	rt_was_called "update --resources - $id"
	local memfile
	memfile=$(cgroup_file memory memory.limit_in_bytes "/$ENG_NAME/$id")
	if [ -f "$memfile" ]; then
		[ "$(cat "$memfile")" = 67108864 ]
	fi
	local pidsfile
	pidsfile=$(cgroup_file pids pids.max "/$ENG_NAME/$id")
	if [ -f "$pidsfile" ]; then
		# not touched by a memory update
		[ "$(cat "$pidsfile")" = max ]
		run dk update --pids-limit 50 "$name"
		[ "$status" -eq 0 ]
		[ "$(cat "$pidsfile")" = 50 ]
		[ "$(cat "$memfile")" = 67108864 ]
	fi

	run dk stop -t 10 "$name"
	[ "$status" -eq 0 ]
	[ "$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$name")" = "exited 0" ]
	wait_docker_logs "$name" '^got-term$'
	rt_was_called "kill $id 15"

	run dk rm "$name"
	[ "$status" -eq 0 ]
	run dk inspect "$name"
	[ "$status" -ne 0 ]
	rt_was_called "delete $id"
	run "$RT" --root "$(moby_root)" state "$id"
	[ "$status" -ne 0 ]
}

@test "docker: run --rm propagates the exit code" {
	run dk run --rm --runtime rt busybox:local sh -c 'echo out-ok; exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = out-ok ]
	run dk run --rm --runtime rt busybox:local true
	[ "$status" -eq 0 ]
}

@test "docker: missing binary exits 127 with 'executable file not found'" {
	run -127 dk run --rm --runtime rt busybox:local no-such-binary-xyz
	echo "$output" >&2
	[[ "$output" == *"executable file not found"* ]]
}

@test "docker: non-executable file exits 126" {
	run dk run --rm --runtime rt busybox:local /etc/passwd
	echo "$output" >&2
	[ "$status" -eq 126 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "docker: run -t allocates a tty (console socket)" {
	run dk run --rm -t --runtime rt busybox:local sh -c 'tty; echo tty-ok; exit 4' </dev/null
	echo "$output" >&2
	[ "$status" -eq 4 ]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *tty-ok* ]]
	rt_was_called "create --bundle .* --console-socket "
}

@test "docker: run -i passes stdin" {
	run dk run --rm -i --runtime rt busybox:local sh -c 'read l; echo "got:$l"' <<<"docker-stdin"
	[ "$status" -eq 0 ]
	[ "$output" = "got:docker-stdin" ]
}

@test "docker: exec -t and exec of a missing binary" {
	local name=d-$$-2
	run dk run -d --runtime rt --name "$name" busybox:local sleep 1000
	[ "$status" -eq 0 ]
	run dk exec -t "$name" sh -c 'tty; echo exec-tty-ok' </dev/null
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"/dev/pts/"* ]]
	run dk exec "$name" no-such-binary-xyz
	echo "$output" >&2
	[ "$status" -eq 126 ] || [ "$status" -eq 127 ]
	[[ "$output" == *"executable file not found"* ]]
	run dk rm -f "$name"
	[ "$status" -eq 0 ]
}

@test "docker: --pid host container is stopped with kill --all" {
	local name=d-$$-3
	run dk run -d --runtime rt --pid host --name "$name" busybox:local sleep 1000
	[ "$status" -eq 0 ]
	local id=${lines[-1]}
	run dk stop -t 1 "$name"
	[ "$status" -eq 0 ]
	[ "$(dk inspect -f '{{.State.Status}}' "$name")" = exited ]
	rt_was_called "kill --all $id 9"
	run dk rm "$name"
	[ "$status" -eq 0 ]
}

@test "docker: docker kill with a signal" {
	local name=d-$$-4
	run dk run -d --runtime rt --name "$name" busybox:local \
		sh -c 'trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.2; done'
	[ "$status" -eq 0 ]
	wait_docker_logs "$name" '^ready$'
	run dk kill -s USR1 "$name"
	[ "$status" -eq 0 ]
	wait_docker_logs "$name" '^got-usr1$'
	run dk kill "$name"
	[ "$status" -eq 0 ]
	[ "$(dk inspect -f '{{.State.ExitCode}}' "$name")" = 137 ]
	run dk rm "$name"
	[ "$status" -eq 0 ]
}

@test "ctr: run --rm propagates output and exit code" {
	run ctr_run --rm -- ctr-$$-1 sh -c 'echo hello-ctr; exit 5'
	echo "$output" >&2
	[ "$status" -eq 5 ]
	[[ "$output" == *hello-ctr* ]]
	rt_was_called "create --bundle .* ctr-$$-1"
}

@test "ctr: run -d, task exec, task ps, task kill, task rm" {
	local id=ctr-$$-2
	run ctr_run -d -- "$id" sh -c 'while true; do sleep 0.2; done'
	echo "$output" >&2
	[ "$status" -eq 0 ]
	local i
	for ((i = 0; i < 50; i++)); do
		ctr_ task ls | grep -qE "^$id +[0-9]+ +RUNNING" && break
		sleep 0.1
	done
	run ctr_ task ls
	echo "$output" >&2
	[[ "$output" =~ $id\ +([0-9]+)\ +RUNNING ]]
	local pid=${BASH_REMATCH[1]}

	run ctr_ task exec --exec-id e1 "$id" sh -c 'echo in-ctr-exec; exit 6'
	echo "$output" >&2
	[ "$status" -eq 6 ]
	[[ "$output" == *in-ctr-exec* ]]
	rt_was_called "exec --process .* --detach --pid-file .*e1.pid $id"

	run ctr_ task ps "$id"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == PID* ]]
	printf '%s\n' "${lines[@]}" | grep -qE "^$pid "
	rt_was_called "ps --format json $id"

	run ctr_ task kill -s SIGKILL "$id"
	[ "$status" -eq 0 ]
	for ((i = 0; i < 50; i++)); do
		ctr_ task ls | grep -qE "^$id +[0-9]+ +STOPPED" && break
		sleep 0.1
	done
	ctr_ task ls | grep -qE "^$id +[0-9]+ +STOPPED"
	rt_was_called "kill $id 9"

	run ctr_ task rm "$id"
	[ "$status" -eq 0 ]
	rt_was_called "delete $id"
	run ctr_ containers rm "$id"
	run ctr_ containers ls -q
	if grep -qx "$id" <<<"$output"; then fail "container $id still listed"; fi
}

@test "ctr: task kill --all" {
	local id=ctr-$$-3
	run ctr_run -d -- "$id" sleep 1000
	[ "$status" -eq 0 ]
	run ctr_ task kill -a -s SIGKILL "$id"
	[ "$status" -eq 0 ]
	local i
	for ((i = 0; i < 50; i++)); do
		ctr_ task ls | grep -qE "^$id +[0-9]+ +STOPPED" && break
		sleep 0.1
	done
	ctr_ task ls | grep -qE "^$id +[0-9]+ +STOPPED"
	rt_was_called "kill --all $id 9"
	run ctr_ task rm "$id"
	[ "$status" -eq 0 ]
	run ctr_ containers rm "$id"
}

@test "ctr: missing binary fails with 'executable file not found'" {
	run ctr_run --rm -- ctr-$$-4 no-such-binary-xyz
	echo "$output" >&2
	[ "$status" -ne 0 ]
	[[ "$output" == *"executable file not found"* ]]
	run ctr_ containers rm ctr-$$-4
}
