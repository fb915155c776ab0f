#!/usr/bin/env bats
# The engine contract (see shared/docs/engine-contract.md): the exact argv,
# environment, fds and outputs that dockerd / containerd-shim-runc-v2 rely on.

load helpers

setup() {
	setup_common
	# docker: <exec-root>/runtime-runc/moby, created by the runtime
	ROOT=$TEST_DIR/exec/runtime-runc/moby
	B=$BUNDLE
	ID=0123456789abcdef
	cd "$B"
}

teardown() {
	teardown_common
}

# shim ARGS...: invoke the runtime like the shim does (cwd = bundle, shim env,
# global flags first, in this order). Captures like rt().
shim() {
	cd "$B"
	rt_cmd env -i GOMAXPROCS=4 PATH="$PATH" HOME=/root \
		"$RT" --root "$ROOT" --log "$B/log.json" --log-format json "$@"
}

# log_decodes: the whole log file is a stream of {level,msg,time} objects.
log_decodes() {
	[ -e "$B/log.json" ] || return 0
	jq -e -s 'all(.[]; type == "object" and has("level") and has("msg") and has("time"))' "$B/log.json" >/dev/null ||
		fail "log.json is not a JSON stream of {level,msg,time}: $(cat "$B/log.json")"
}

last_log_error() {
	jq -r -s 'map(select(.level == "error")) | last | .msg // ""' "$B/log.json"
}

not_rt_parent() {
	local pid=$1 ppid exe argv0
	ppid=$(awk '{print $4}' "/proc/$pid/stat")
	exe=$(readlink "/proc/$ppid/exe" 2>/dev/null) || true
	argv0=$(tr '\0' '\n' <"/proc/$ppid/cmdline" 2>/dev/null | head -1) || true
	if [ "$exe" = "$(readlink -f "$RT")" ] || [[ "$exe" == *memfd:* ]] ||
		[ "$argv0" = "$RT" ] || [ "$(basename "$argv0")" = "$RT_NAME" ]; then
		fail "process $pid is still parented by a runtime process ($ppid: $exe $argv0)"
	fi
}

@test "contract: full docker/containerd sequence with the exact argv" {
	set_args sh -c 'echo hello-from-init; echo init-stderr >&2; exec sleep 1000'

	# create, with the shim's listening socket-like stray fd 3 (a fifo whose
	# reader waits for EOF: a runtime that keeps fd 3 open blocks it).
	mkfifo "$TEST_DIR/fifo"
	(
		cat "$TEST_DIR/fifo" >/dev/null
		echo eof >"$TEST_DIR/fifo.eof"
	) 3>&- &
	echo $! >>"$TEST_DIR/.pids"
	local st=0
	env -i GOMAXPROCS=4 PATH="$PATH" HOME=/root timeout 60 \
		"$RT" --root "$ROOT" --log "$B/log.json" --log-format json \
		create --bundle "$B" --pid-file "$B/init.pid" "$ID" \
		3>"$TEST_DIR/fifo" </dev/null >"$TEST_DIR/init.out" 2>"$TEST_DIR/init.err" || st=$?
	[ "$st" -eq 0 ] || fail "create failed ($st): $(cat "$TEST_DIR/init.err" "$B/log.json" 2>/dev/null)"
	[ -d "$ROOT" ]
	assert_pidfile "$B/init.pid"
	local pid=$PIDFILE_PID
	# nobody holds the inherited fd 3 any more
	wait_for_file "$TEST_DIR/fifo.eof" 5

	shim start "$ID"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for_content "$TEST_DIR/init.out" '^hello-from-init$'
	wait_for_content "$TEST_DIR/init.err" '^init-stderr$'
	# only stdio in the container process, and it is the caller's stdio
	assert_only_stdio "$pid"
	[ "$(readlink "/proc/$pid/fd/1")" = "$TEST_DIR/init.out" ]
	not_rt_parent "$pid"

	# exec, as the shim does it
	local proc
	proc=$(mktemp /tmp/runc-process.XXXXXX)
	jq -n '{terminal: false, user: {uid: 0, gid: 0}, args: ["sh", "-c", "echo from-exec; exec sleep 999"],
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], cwd: "/"}' >"$proc"
	st=0
	(cd "$B" && env -i GOMAXPROCS=4 PATH="$PATH" HOME=/root timeout 60 \
		"$RT" --root "$ROOT" --log "$B/log.json" --log-format json \
		exec --process "$proc" --detach --pid-file "$B/exec1.pid" "$ID" \
		</dev/null >"$TEST_DIR/exec.out" 2>"$TEST_DIR/exec.err" 3>&-) || st=$?
	rm -f "$proc"
	[ "$st" -eq 0 ] || fail "exec failed: $(cat "$TEST_DIR/exec.err")"
	assert_pidfile "$B/exec1.pid"
	local epid=$PIDFILE_PID
	wait_for_content "$TEST_DIR/exec.out" '^from-exec$'
	assert_only_stdio "$epid"
	not_rt_parent "$epid"

	# ps: combined output is exactly a JSON array of ints
	local combined
	combined=$(cd "$B" && env -i GOMAXPROCS=4 PATH="$PATH" HOME=/root \
		"$RT" --root "$ROOT" --log "$B/log.json" --log-format json ps --format json "$ID" 2>&1 3>&-)
	[[ "$combined" =~ ^\[[0-9]+(,[0-9]+)*\]$ ]] || fail "ps output: $combined"
	jq -e --argjson a "$pid" --argjson b "$epid" 'index($a) != null and index($b) != null' <<<"$combined"

	# update from stdin with dockerd's payload (zeros mean unchanged)
	shim update --resources - "$ID" <<<'{"memory":{"limit":134217728,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}'
	[ "$status" -eq 0 ]
	[ "$(cat "$(cgroup_file memory memory.limit_in_bytes)")" = 134217728 ]
	[ "$(cat "$(cgroup_file pids pids.max)")" = max ]

	shim pause "$ID"
	[ "$status" -eq 0 ]
	[ "$(container_status "$ID")" = paused ]
	shim resume "$ID"
	[ "$status" -eq 0 ]
	[ "$(container_status "$ID")" = running ]

	shim kill "$ID" 9
	[ "$status" -eq 0 ]
	wait_for_container "$ID" stopped
	wait_pid_gone "$pid"

	# kill after exit: the shim maps these texts to "process already finished"
	shim kill "$ID" 9
	[ "$status" -ne 0 ]
	[[ "$output" == *"container not running"* || "$output" == *"no such process"* || "$output" == *"process already finished"* ]]

	shim delete "$ID"
	[ "$status" -eq 0 ]
	# the cleanup `delete --force` that follows every task, after it is gone
	shim delete --force "$ID"
	[ "$status" -eq 0 ]
	shim kill "$ID" 9
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]

	log_decodes
	root_is_clean
}

@test "contract: create failure is the last error in log.json; delete / delete --force afterwards" {
	set_args no-such-binary-xyz
	shim create --bundle "$B" --pid-file "$B/init.pid" "$ID"
	[ "$status" -ne 0 ]
	log_decodes
	[[ "$(last_log_error)" == *"executable file not found"* ]]
	shim delete "$ID"
	[ "$status" -eq 0 ] || [[ "$output" == *"does not exist"* ]]
	shim delete --force "$ID"
	[ "$status" -eq 0 ]
	log_decodes
	root_is_clean
}

@test "contract: start failure is logged as error" {
	shim start "$ID"
	[ "$status" -ne 0 ]
	log_decodes
	[[ "$(last_log_error)" == *"does not exist"* ]]
}

@test "contract: --console-socket on create and exec (engine style)" {
	update_config '.process.terminal = true'
	set_args sh -c 'echo tty-init-ok; exec sleep 1000'
	mkdir "$TEST_DIR/pty1"
	start_recvtty "$TEST_DIR/pty1/pty.sock"
	shim create --bundle "$B" --pid-file "$B/init.pid" --console-socket "$TEST_DIR/pty1/pty.sock" "$ID"
	[ "$status" -eq 0 ]
	assert_pidfile "$B/init.pid"
	wait_for_file "$TEST_DIR/pty1/pty.sock.info"
	[ "$(jq -r .nfds "$TEST_DIR/pty1/pty.sock.info")" = 1 ]
	[ "$(jq -r .is_pty_master "$TEST_DIR/pty1/pty.sock.info")" = true ]
	[ "$(jq -r '.name | length' "$TEST_DIR/pty1/pty.sock.info")" -gt 0 ]
	shim start "$ID"
	[ "$status" -eq 0 ]
	wait_for_content "$TEST_DIR/pty1/pty.sock.out" tty-init-ok

	mkdir "$TEST_DIR/pty2"
	start_recvtty "$TEST_DIR/pty2/pty.sock"
	local proc
	proc=$(mktemp /tmp/runc-process.XXXXXX)
	jq -n '{terminal: true, user: {uid: 0, gid: 0}, args: ["sh", "-c", "tty; echo tty-exec-ok"],
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], cwd: "/", consoleSize: {height: 40, width: 100}}' >"$proc"
	shim exec --process "$proc" --console-socket "$TEST_DIR/pty2/pty.sock" --detach --pid-file "$B/e2.pid" "$ID"
	rm -f "$proc"
	[ "$status" -eq 0 ]
	assert_pidfile "$B/e2.pid"
	wait_recvtty_exit
	[ "$(jq -r .nfds "$TEST_DIR/pty2/pty.sock.info")" = 1 ]
	grep -q tty-exec-ok "$TEST_DIR/pty2/pty.sock.out"
	log_decodes
}

@test "contract: stray fd 3 (/dev/null) is ignored by create, exec and start" {
	cd "$B"
	local st=0
	timeout 60 "$RT" --root "$ROOT" --log "$B/log.json" --log-format json \
		create --bundle "$B" --pid-file "$B/init.pid" "$ID" 3</dev/null </dev/null >/dev/null 2>&1 || st=$?
	[ "$st" -eq 0 ]
	timeout 60 "$RT" --root "$ROOT" --log "$B/log.json" --log-format json start "$ID" 3</dev/null || st=$?
	[ "$st" -eq 0 ]
	timeout 60 "$RT" --root "$ROOT" --log "$B/log.json" --log-format json \
		exec --detach --pid-file "$B/e.pid" "$ID" sleep 998 3</dev/null 4</dev/null </dev/null >/dev/null 2>&1 || st=$?
	[ "$st" -eq 0 ]
	assert_pidfile "$B/e.pid"
	assert_only_stdio "$PIDFILE_PID"
	log_decodes
}

@test "contract: stdio pipes reach EOF once the container is gone (no lingering runtime process)" {
	set_args sh -c 'echo via-pipe; exec sleep 1000'
	local st=0
	timeout 60 "$RT" --root "$ROOT" --log "$B/log.json" --log-format json \
		create --bundle "$B" --pid-file "$B/init.pid" "$ID" </dev/null 3>&- 2>&1 \
		> >(
			exec 3>&-
			cat >"$TEST_DIR/pipe.out"
			echo eof >"$TEST_DIR/pipe.eof"
		) || st=$?
	[ "$st" -eq 0 ]
	shim start "$ID"
	[ "$status" -eq 0 ]
	wait_for_content "$TEST_DIR/pipe.out" '^via-pipe$'
	[ ! -e "$TEST_DIR/pipe.eof" ]
	shim kill "$ID" 9
	wait_for_container "$ID" stopped
	# the pipe's last writer was the container process
	wait_for_file "$TEST_DIR/pipe.eof" 10
	shim delete "$ID"
	[ "$status" -eq 0 ]
}

@test "contract: kill --all ID 9 (docker --pid host)" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	shim create --bundle "$B" --pid-file "$B/init.pid" "$ID"
	[ "$status" -eq 0 ]
	shim start "$ID"
	[ "$status" -eq 0 ]
	assert_pidfile "$B/init.pid"
	local pid=$PIDFILE_PID
	shim exec --detach --pid-file "$B/e.pid" "$ID" sleep 997
	assert_pidfile "$B/e.pid"
	local epid=$PIDFILE_PID
	shim kill --all "$ID" 9
	[ "$status" -eq 0 ]
	wait_pid_gone "$pid"
	wait_pid_gone "$epid"
	wait_for_container "$ID" stopped
	shim delete "$ID"
	[ "$status" -eq 0 ]
}

@test "contract: docker runtimeArgs wrapper (args before the global flags)" {
	mkdir -p "$TEST_DIR/runtimes"
	printf '#!/bin/sh\n%s --debug $@\n' "$RT" >"$TEST_DIR/runtimes/rt"
	chmod +x "$TEST_DIR/runtimes/rt"
	local W=$TEST_DIR/runtimes/rt
	rt_cmd "$W" --root "$ROOT" --log "$B/log.json" --log-format json create --bundle "$B" --pid-file "$B/init.pid" "$ID"
	[ "$status" -eq 0 ]
	rt_cmd "$W" --root "$ROOT" --log "$B/log.json" --log-format json start "$ID"
	[ "$status" -eq 0 ]
	rt_cmd "$W" --root "$ROOT" --log "$B/log.json" --log-format json delete --force "$ID"
	[ "$status" -eq 0 ]
	log_decodes
	[ "$(jq -s 'map(select(.level == "debug")) | length' "$B/log.json")" -gt 0 ]
}

@test "contract: --version for docker info" {
	run "$RT" --version
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[@]}" | grep -m1 version | grep -qE "^${RT_NAME} version [^ ]+$"
	printf '%s\n' "${lines[@]}" | grep -qE '^commit: [^ ]+'
}

@test "contract: ps --format json on a created container" {
	shim create --bundle "$B" --pid-file "$B/init.pid" "$ID"
	[ "$status" -eq 0 ]
	local combined
	combined=$("$RT" --root "$ROOT" --log "$B/log.json" --log-format json ps --format json "$ID" 2>&1 3>&-)
	[[ "$combined" =~ ^\[[0-9]*(,[0-9]+)*\]$ ]] || fail "ps output: $combined"
}
