#!/usr/bin/env bats
# events

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
}

teardown() {
	teardown_common
}

@test "events --stats: one JSON stats record, then exit" {
	rt run -d ct1
	[ "$status" -eq 0 ]
	rt events --stats ct1
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	jq -e . <<<"$stdout" >/dev/null
	[ "$(jq -r .type <<<"$stdout")" = stats ]
	[ "$(jq -r .id <<<"$stdout")" = ct1 ]
	# values that come from the container's cgroups
	[ "$(jq -r '.data.pids.current' <<<"$stdout")" -ge 1 ]
	[ "$(jq -r '.data.memory.usage.usage' <<<"$stdout")" -gt 0 ]
	[ "$(jq -r '.data.cpu.usage.total' <<<"$stdout")" -gt 0 ]
}

@test "events --stats: reflects a memory limit" {
	update_config '.linux.resources.memory = {"limit": 67108864}'
	rt run -d ct1
	rt events --stats ct1
	[ "$status" -eq 0 ]
	[ "$(jq -r '.data.memory.usage.limit' <<<"$stdout")" = 67108864 ]
}

@test "events --interval: streams stats records; the stream ends when the container is gone" {
	rt run -d ct1
	[ "$status" -eq 0 ]
	rt_bg "$TEST_DIR/ev.out" events --interval 300ms ct1
	local i n=0
	for ((i = 0; i < 50; i++)); do
		n=$(grep -c '"type":"stats"' "$TEST_DIR/ev.out" 2>/dev/null) || true
		[ "${n:-0}" -ge 2 ] && break
		sleep 0.1
	done
	[ "$n" -ge 2 ]
	# every line is one JSON object
	grep -v '^time=' "$TEST_DIR/ev.out" | jq -e -s 'all(.[]; .id == "ct1")' >/dev/null

	rt kill ct1 KILL
	wait_for_container ct1 stopped
	rt delete ct1
	[ "$status" -eq 0 ]
	local rc
	rc=$(wait_bg_rc "$TEST_DIR/ev.out" 15)
	echo "events exited with $rc" >&2
	[ "$rc" -eq 0 ]
}

@test "events: nonexistent container" {
	rt events --stats nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "events --stats: stopped container fails" {
	set_args true
	rt run -d ct1
	wait_for_container ct1 stopped
	rt events --stats ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
}
