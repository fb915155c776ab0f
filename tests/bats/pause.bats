#!/usr/bin/env bats
# pause / resume

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
	# a ticking counter visible from the host
	set_args sh -c 'i=0; while true; do i=$((i+1)); echo $i >/shared/counter; sleep 0.05; done'
	rt run -d ct1
	[ "$status" -eq 0 ]
	wait_for_file "$SHARED/counter"
}

teardown() {
	teardown_common
}

counter() {
	cat "$SHARED/counter" 2>/dev/null
}

@test "pause/resume: state changes and the processes stop and continue" {
	rt pause ct1
	[ "$status" -eq 0 ]
	[ "$(container_status ct1)" = paused ]
	local a b
	sleep 0.3
	a=$(counter)
	sleep 0.7
	b=$(counter)
	[ "$a" = "$b" ] || fail "counter moved while paused: $a -> $b"

	rt resume ct1
	[ "$status" -eq 0 ]
	[ "$(container_status ct1)" = running ]
	sleep 0.7
	b=$(counter)
	[ "$b" -gt "$a" ] || fail "counter did not move after resume: $a -> $b"
}

@test "pause: freezer cgroup is frozen" {
	local f
	f=$(cgroup_file freezer freezer.state)
	[ -f "$f" ] || skip "no v1 freezer hierarchy"
	rt pause ct1
	[ "$status" -eq 0 ]
	[ "$(cat "$f")" = FROZEN ]
	rt resume ct1
	[ "$(cat "$f")" = THAWED ]
}

@test "pause: exec into a paused container fails" {
	rt pause ct1
	rt exec ct1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *paused* ]]
	rt resume ct1
	rt exec ct1 true
	[ "$status" -eq 0 ]
}

@test "pause: twice fails; resume of a running container fails" {
	rt resume ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *"not paused"* ]]
	rt pause ct1
	[ "$status" -eq 0 ]
	rt pause ct1
	[ "$status" -ne 0 ]
	[ "$(container_status ct1)" = paused ]
}

@test "pause: a paused container can be killed" {
	rt pause ct1
	rt kill ct1 KILL
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
}

@test "pause/resume: stopped container says 'container not running'" {
	rt kill ct1 KILL
	wait_for_container ct1 stopped
	rt pause ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
	rt resume ct1
	[ "$status" -ne 0 ]
}

@test "pause/resume: nonexistent container" {
	rt pause nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	rt resume nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}
