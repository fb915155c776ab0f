#!/usr/bin/env bats
# kill

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
}

teardown() {
	teardown_common
}

# A container whose init records the signals it receives in /shared/sig.
trap_container() {
	set_args sh -c 'for s in USR1 USR2 HUP TERM INT; do trap "echo $s >>/shared/sig" $s; done
		echo ready >/shared/ready; while true; do sleep 0.1; done'
	rt run -d "$1"
	[ "$status" -eq 0 ]
	wait_for_file "$SHARED/ready"
}

@test "kill: KILL, SIGKILL and 9 stop the container" {
	local sig n=0
	for sig in KILL SIGKILL 9; do
		n=$((n + 1))
		set_cgroups_path "k$n"
		rt run -d "ct$n"
		[ "$status" -eq 0 ]
		local pid
		pid=$(container_pid "ct$n")
		rt kill "ct$n" "$sig"
		[ "$status" -eq 0 ]
		wait_for_container "ct$n" stopped
		wait_pid_gone "$pid"
	done
}

@test "kill: default signal is SIGTERM" {
	trap_container ct1
	rt kill ct1
	[ "$status" -eq 0 ]
	wait_for_content "$SHARED/sig" '^TERM$'
}

@test "kill: named and numeric signals are delivered (USR1, SIGUSR2, 1)" {
	trap_container ct1
	rt kill ct1 USR1
	[ "$status" -eq 0 ]
	wait_for_content "$SHARED/sig" '^USR1$'
	rt kill ct1 SIGUSR2
	[ "$status" -eq 0 ]
	wait_for_content "$SHARED/sig" '^USR2$'
	rt kill ct1 1
	[ "$status" -eq 0 ]
	wait_for_content "$SHARED/sig" '^HUP$'
	rt kill ct1 2
	[ "$status" -eq 0 ]
	wait_for_content "$SHARED/sig" '^INT$'
	[ "$(container_status ct1)" = running ]
}

@test "kill: --all signals every process (no private pid namespace)" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	rt run -d ct1
	[ "$status" -eq 0 ]
	local init
	init=$(container_pid ct1)
	rt exec -d --pid-file "$TEST_DIR/e.pid" ct1 sleep 1001
	[ "$status" -eq 0 ]
	assert_pidfile "$TEST_DIR/e.pid"
	local extra=$PIDFILE_PID
	pid_alive "$extra"

	rt kill --all ct1 KILL
	[ "$status" -eq 0 ]
	wait_pid_gone "$init"
	wait_pid_gone "$extra"
	wait_for_container ct1 stopped
}

@test "kill: -a with a private pid namespace" {
	rt run -d ct1
	rt exec -d --pid-file "$TEST_DIR/e.pid" ct1 sleep 1001
	assert_pidfile "$TEST_DIR/e.pid"
	rt kill -a ct1 9
	[ "$status" -eq 0 ]
	wait_pid_gone "$PIDFILE_PID"
	wait_for_container ct1 stopped
}

@test "kill: unknown signal name gives a clear error and does not signal" {
	rt run -d ct1
	rt kill ct1 NOSUCHSIG
	[ "$status" -ne 0 ]
	[[ "$output" == *NOSUCHSIG* ]]
	assert_single_line
	rt kill ct1 SIGNOPE
	[ "$status" -ne 0 ]
	[[ "$output" == *SIGNOPE* ]]
	[ "$(container_status ct1)" = running ]
}

@test "kill: invalid signal number fails" {
	rt run -d ct1
	rt kill ct1 99
	[ "$status" -ne 0 ]
	[ "$(container_status ct1)" = running ]
}

@test "kill: stopped container says 'container not running'" {
	set_args true
	rt run -d ct1
	wait_for_container ct1 stopped
	rt kill ct1 KILL
	[ "$status" -ne 0 ]
	[[ "$output" == *"container not running"* ]]
	rt kill ct1 15
	[ "$status" -ne 0 ]
	[[ "$output" == *"container not running"* ]]
}

@test "kill: nonexistent container says 'does not exist'" {
	rt kill nope KILL
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "kill: a created (not started) container can be killed" {
	rt create ct1
	[ "$status" -eq 0 ]
	local pid
	pid=$(container_pid ct1)
	rt kill ct1 KILL
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
	wait_pid_gone "$pid"
}
