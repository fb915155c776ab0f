#!/usr/bin/env bats
# create / start

load helpers

setup() {
	setup_common
}

teardown() {
	teardown_common
}

@test "create: container is created, pid file has the bare pid, start runs it" {
	cd "$BUNDLE"
	rt create --pid-file "$TEST_DIR/init.pid" ct1
	[ "$status" -eq 0 ]

	rt state ct1
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$stdout")" = created ]
	local pid
	pid=$(jq -r .pid <<<"$stdout")
	[ "$pid" -gt 0 ]

	# Exactly the decimal pid, no trailing newline (engines Atoi the file).
	assert_pidfile "$TEST_DIR/init.pid" "$pid"
	pid_alive "$pid"

	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 running
	[ "$(container_pid ct1)" = "$pid" ]
	pid_alive "$pid"
	wait_execd "$pid"
	grep -q sleep "/proc/$pid/cmdline"
}

@test "create: relative --pid-file is relative to the current directory" {
	cd "$BUNDLE"
	rt create --pid-file rel.pid ct1
	[ "$status" -eq 0 ]
	assert_pidfile "$BUNDLE/rel.pid" "$(container_pid ct1)"
}

@test "create: the process does not run before start; stdio is passed straight through" {
	set_args sh -c 'echo started-ok; echo to-stderr >&2; echo 1 >/shared/ran; sleep 1000'
	cd "$BUNDLE"
	"$RT" --root "$ROOT" create ct1 >"$TEST_DIR/out" 2>"$TEST_DIR/err" </dev/null 3>&-
	sleep 0.5
	[ ! -e "$SHARED/ran" ]
	[ "$(container_status ct1)" = created ]
	[ ! -s "$TEST_DIR/out" ]

	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_file "$SHARED/ran"
	wait_for_content "$TEST_DIR/out" '^started-ok$'
	wait_for_content "$TEST_DIR/err" '^to-stderr$'
}

@test "create: --bundle from another directory; state reports absolute bundle" {
	cd "$TEST_DIR"
	rt create --bundle "$BUNDLE" ct1
	[ "$status" -eq 0 ]
	rt state ct1
	[ "$status" -eq 0 ]
	[ "$(jq -r .bundle <<<"$stdout")" = "$BUNDLE" ]
	[ "$(jq -r .id <<<"$stdout")" = ct1 ]

	# -b short form
	set_cgroups_path two
	rt create -b "$BUNDLE" ct2
	[ "$status" -eq 0 ]
	[ "$(container_status ct2)" = created ]
}

@test "create: the runtime creates a missing nested --root" {
	ROOT=$TEST_DIR/exec-root/runtime-runc/moby
	[ ! -e "$TEST_DIR/exec-root" ]
	rt create --bundle "$BUNDLE" ct1
	[ "$status" -eq 0 ]
	[ -d "$ROOT" ]
	[ "$(container_status ct1)" = created ]
	# teardown only knows the default ROOT
	rt delete --force ct1
	[ "$status" -eq 0 ]
}

@test "create: --console-socket receives exactly one pty master with its name" {
	update_config '.process.terminal = true'
	set_args sh -c 'tty; echo console-ok; sleep 1000'
	start_recvtty "$TEST_DIR/tty.sock"

	rt create --bundle "$BUNDLE" --console-socket "$TEST_DIR/tty.sock" ct1
	[ "$status" -eq 0 ]
	# The pty is sent during create.
	wait_for_file "$TEST_DIR/tty.sock.info"
	cat "$TEST_DIR/tty.sock.info" >&2
	[ "$(jq -r .nfds "$TEST_DIR/tty.sock.info")" = 1 ]
	[ "$(jq -r .is_pty_master "$TEST_DIR/tty.sock.info")" = true ]
	[ -n "$(jq -r .name "$TEST_DIR/tty.sock.info")" ]
	[ "$(jq -r '.error // ""' "$TEST_DIR/tty.sock.info")" = "" ]

	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_content "$TEST_DIR/tty.sock.out" 'console-ok'
	grep -qE '^/dev/pts/[0-9]+' "$TEST_DIR/tty.sock.out"

	# The pty is hung up once the container is gone.
	rt kill ct1 KILL
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
	wait_recvtty_exit
}

@test "create: terminal=true without --console-socket fails and leaves nothing behind" {
	update_config '.process.terminal = true'
	rt create --bundle "$BUNDLE" ct1
	[ "$status" -ne 0 ]
	[ -n "$output" ]
	rt list -q
	[ -z "$stdout" ]
	root_is_clean
}

@test "create: --console-socket to a missing socket fails and leaves nothing behind" {
	update_config '.process.terminal = true'
	rt create --bundle "$BUNDLE" --console-socket "$TEST_DIR/nonexistent.sock" ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *nonexistent.sock* ]] || [[ "$output" == *"no such file"* ]]
	rt list -q
	[ -z "$stdout" ]
	root_is_clean
}

@test "create: --no-pivot and --no-new-keyring are accepted" {
	set_args sh -c 'echo 1 >/shared/ran; sleep 1000'
	rt create --bundle "$BUNDLE" --no-pivot --no-new-keyring ct1
	[ "$status" -eq 0 ]
	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_file "$SHARED/ran"
	[ "$(container_status ct1)" = running ]
}

@test "start: a second start fails; start of a stopped container fails" {
	set_args sh -c 'exit 0'
	rt create --bundle "$BUNDLE" ct1
	[ "$status" -eq 0 ]
	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
	rt start ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *stopped* ]]
}

@test "start: a running container cannot be started again" {
	rt create --bundle "$BUNDLE" ct1
	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 running
	rt start ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *running* ]]
}

@test "start: nonexistent container does not exist" {
	rt start nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "create: a FIFO in linux.devices is made, whatever major:minor the spec gives it" {
	# The spec gives major/minor meaning only for c, u and b devices;
	# runc 1.1 creates this container (and libcontainer 1.4 refused it).
	update_config '.linux.devices = [
		{"path": "/dev/test3", "type": "p", "major": 8, "minor": 666},
		{"path": "/dev/test4", "type": "c", "major": 1, "minor": 3}]'
	cd "$BUNDLE"
	rt create ct1
	[ "$status" -eq 0 ] || fail "create: $output"
	rt start ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 running
	rt exec ct1 sh -c 'test -p /dev/test3 && test -c /dev/test4 && stat -c "%t:%T" /dev/test4'
	[ "$status" -eq 0 ] || fail "exec: $output"
	[ "$stdout" = "1:3" ]
}

@test "create: a device with an unknown type is still refused, naming it" {
	update_config '.linux.devices = [{"path": "/dev/test5", "type": "x", "major": 1, "minor": 3}]'
	cd "$BUNDLE"
	rt create ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *'invalid device type'*x* ]]
	root_is_clean
}
