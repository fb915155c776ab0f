#!/usr/bin/env bats
# run

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
}

teardown() {
	teardown_common
}

@test "run: foreground exit code 0 and output" {
	set_args sh -c 'echo hello-run'
	rt run ct1 </dev/null
	[ "$status" -eq 0 ]
	[ "$stdout" = hello-run ]
	# run without --keep removes the container once it exits
	rt list -q
	[ -z "$stdout" ]
	rt state ct1
	[ "$status" -ne 0 ]
}

@test "run: foreground exit code is propagated" {
	set_args sh -c 'echo out; echo err >&2; exit 3'
	rt run ct1 </dev/null
	[ "$status" -eq 3 ]
	[ "$stdout" = out ]
	[ "$stderr" = err ]
}

@test "run: exit code 255 and 1 are propagated" {
	set_args sh -c 'exit 255'
	rt run ct1 </dev/null
	[ "$status" -eq 255 ]
	set_args false
	rt run ct2 </dev/null
	[ "$status" -eq 1 ]
}

@test "run: container killed by a signal exits 128+signal" {
	rt_bg "$TEST_DIR/run.out" run ct1
	wait_for_container ct1 running
	rt kill ct1 KILL
	[ "$status" -eq 0 ]
	rc=$(wait_bg_rc "$TEST_DIR/run.out")
	[ "$rc" -eq 137 ]
}

@test "run: stdin is passed to the container process" {
	set_args sh -c 'read line; echo "got:$line"'
	rt run ct1 <<<"hello-stdin"
	[ "$status" -eq 0 ]
	[ "$stdout" = "got:hello-stdin" ]
}

@test "run: --keep leaves a stopped container" {
	set_args sh -c 'exit 2'
	rt run --keep ct1 </dev/null
	[ "$status" -eq 2 ]
	rt state ct1
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$stdout")" = stopped ]
	rt delete ct1
	[ "$status" -eq 0 ]
	rt state ct1
	[ "$status" -ne 0 ]
}

@test "run: --detach returns at once with a running container; --pid-file" {
	rt run --detach --pid-file "$TEST_DIR/run.pid" ct1
	[ "$status" -eq 0 ]
	[ "$(container_status ct1)" = running ]
	assert_pidfile "$TEST_DIR/run.pid" "$(container_pid ct1)"
	pid_alive "$PIDFILE_PID"
}

@test "run: -d short flag" {
	rt run -d ct1
	[ "$status" -eq 0 ]
	[ "$(container_status ct1)" = running ]
}

@test "run: --pid-file in foreground mode" {
	set_args sh -c 'echo 1 >/shared/started; sleep 1000'
	rt_bg "$TEST_DIR/run.out" run --pid-file "$TEST_DIR/fg.pid" ct1
	wait_for_file "$SHARED/started"
	assert_pidfile "$TEST_DIR/fg.pid" "$(container_pid ct1)"
	rt kill ct1 KILL
	rc=$(wait_bg_rc "$TEST_DIR/run.out")
	[ "$rc" -eq 137 ]
}

@test "run: tty via --console-socket (detached)" {
	update_config '.process.terminal = true'
	set_args sh -c 'tty; echo tty-hello; exit 0'
	start_recvtty "$TEST_DIR/tty.sock"
	rt run -d --console-socket "$TEST_DIR/tty.sock" ct1
	[ "$status" -eq 0 ]
	wait_recvtty_exit
	[ "$(jq -r .nfds "$TEST_DIR/tty.sock.info")" = 1 ]
	[ "$(jq -r .is_pty_master "$TEST_DIR/tty.sock.info")" = true ]
	grep -q tty-hello "$TEST_DIR/tty.sock.out"
	grep -qE '^/dev/pts/[0-9]+' "$TEST_DIR/tty.sock.out"
	wait_for_container ct1 stopped
}

@test "run: missing executable fails with 'executable file not found'" {
	set_args does-not-exist-binary
	rt run ct1 </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"executable file not found"* ]]
	rt list -q
	[ -z "$stdout" ]
}

@test "run: missing absolute executable fails with 'no such file or directory'" {
	set_args /no/such/binary
	rt run ct1 </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such file or directory"* ]]
	rt list -q
	[ -z "$stdout" ]
}

@test "run: --detach with terminal=true and no --console-socket fails" {
	update_config '.process.terminal = true'
	rt run -d ct1
	[ "$status" -ne 0 ]
	rt list -q
	[ -z "$stdout" ]
}

@test "run: process sees its config (cwd, env, user, hostname)" {
	update_config '.process.cwd = "/tmp" | .process.env += ["RT_TEST_VAR=xyz"] | .process.user = {"uid": 1000, "gid": 1000} | .hostname = "rt-host"'
	set_args sh -c 'echo "$(pwd) $RT_TEST_VAR $(id -u):$(id -g) $(hostname)"'
	rt run ct1 </dev/null
	[ "$status" -eq 0 ]
	[ "$stdout" = "/tmp xyz 1000:1000 rt-host" ]
}

@test "run: socket-activation fds (LISTEN_FDS for rt's pid) reach the container as fd 3 with LISTEN_PID=1" {
	printf 'from-the-activator\n' >"$BATS_TEST_TMPDIR/activated"
	set_args sh -c 'echo "fds=$LISTEN_FDS pid=$LISTEN_PID"; cat <&3'
	# exec keeps the shell's pid, so LISTEN_PID names rt itself.
	run sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --root "$1" run ct1 3<"$2" </dev/null' \
		"$RT" "$ROOT" "$BATS_TEST_TMPDIR/activated"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "fds=1 pid=1" ]
	[ "${lines[1]}" = from-the-activator ]

	# Variables meant for another process are not rt's: nothing is passed.
	set_args sh -c 'echo "fds=${LISTEN_FDS:-none}"; { cat <&3; } 2>/dev/null || echo no-fd-3'
	run sh -c 'LISTEN_PID=1 LISTEN_FDS=1 exec "$0" --root "$1" run ct2 3<"$2" </dev/null' \
		"$RT" "$ROOT" "$BATS_TEST_TMPDIR/activated"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "fds=none" ]
	[ "${lines[1]}" = no-fd-3 ]
}
