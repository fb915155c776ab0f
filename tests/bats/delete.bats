#!/usr/bin/env bats
# delete

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
}

teardown() {
	teardown_common
}

@test "delete: a stopped container is removed with its cgroup and state" {
	set_args true
	rt run -d ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
	[ -d "$(cgroup_file memory "")" ]
	rt delete ct1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	rt state ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	rt list -q
	[ -z "$stdout" ]
	root_is_clean
	# the container's cgroup is gone
	local d
	for d in $(cgroup_dirs "$CGPATH"); do
		[ ! -d "$d" ] || fail "cgroup $d left behind"
	done
}

@test "delete: a running container is refused without --force" {
	rt run -d ct1
	rt delete ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *running* ]]
	[ "$(container_status ct1)" = running ]
}

@test "delete --force: a running container is killed and removed" {
	rt run -d ct1
	local pid
	pid=$(container_pid ct1)
	rt delete --force ct1
	[ "$status" -eq 0 ]
	wait_pid_gone "$pid"
	rt state ct1
	[ "$status" -ne 0 ]
	root_is_clean
}

@test "delete -f: a created container is removed" {
	rt create ct1
	local pid
	pid=$(container_pid ct1)
	rt delete -f ct1
	[ "$status" -eq 0 ]
	wait_pid_gone "$pid"
	root_is_clean
}

@test "delete: a created container can be deleted without --force" {
	rt create ct1
	local pid
	pid=$(container_pid ct1)
	rt delete ct1
	[ "$status" -eq 0 ]
	wait_pid_gone "$pid"
	root_is_clean
}

@test "delete --force: a paused container is removed" {
	rt run -d ct1
	local pid
	pid=$(container_pid ct1)
	rt pause ct1
	[ "$status" -eq 0 ]
	rt delete --force ct1
	[ "$status" -eq 0 ]
	wait_pid_gone "$pid"
	root_is_clean
}

@test "delete --force: kills exec'd processes too (no private pid namespace)" {
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	rt run -d ct1
	rt exec -d --pid-file "$TEST_DIR/e.pid" ct1 sleep 1001
	assert_pidfile "$TEST_DIR/e.pid"
	local extra=$PIDFILE_PID
	rt delete --force ct1
	[ "$status" -eq 0 ]
	wait_pid_gone "$extra"
}

@test "delete: nonexistent container exits non-zero with 'does not exist'" {
	rt delete nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "delete --force: nonexistent container exits 0" {
	rt delete --force nope
	[ "$status" -eq 0 ]
	# twice, after a real delete (engine cleanup path)
	set_args true
	rt run -d ct1
	wait_for_container ct1 stopped
	rt delete ct1
	[ "$status" -eq 0 ]
	rt delete --force ct1
	[ "$status" -eq 0 ]
}

@test "delete: after the container's processes were killed from outside" {
	rt run -d ct1
	local pid
	pid=$(container_pid ct1)
	kill -9 "$pid"
	wait_pid_gone "$pid"
	wait_for_container ct1 stopped
	rt delete ct1
	[ "$status" -eq 0 ]
	root_is_clean
}

@test "delete: a failing poststop hook fails delete, and nothing of the container stays in --root" {
	set_args true
	update_config '.hooks.poststop = [{"path": "/bin/false"}]'
	rt run -d ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
	rt delete ct1
	[ "$status" -eq 1 ] # as runc: the hook's failure is reported
	rt list -q
	[ -z "$stdout" ]
	root_is_clean
}
