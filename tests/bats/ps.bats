#!/usr/bin/env bats
# ps

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
	rt run -d ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 running
}

teardown() {
	teardown_common
}

@test "ps --format json: exactly a JSON array of ints" {
	local init
	init=$(container_pid ct1)
	rt ps --format json ct1
	[ "$status" -eq 0 ]
	[[ "$stdout" =~ ^\[[0-9]+(,[0-9]+)*\]$ ]]
	[ -z "$stderr" ]
	[ "$(jq -c . <<<"$stdout")" = "[$init]" ]
}

@test "ps -f json: lists exec'd processes too; combined stdout+stderr is pure JSON" {
	rt exec -d --pid-file "$TEST_DIR/e.pid" ct1 sleep 1001
	assert_pidfile "$TEST_DIR/e.pid"
	local init
	init=$(container_pid ct1)
	local combined
	combined=$("$RT" --root "$ROOT" ps -f json ct1 2>&1 3>&-)
	echo "$combined" >&2
	[[ "$combined" =~ ^\[[0-9]+(,[0-9]+)*\]$ ]]
	[ "$(jq -c 'sort' <<<"$combined")" = "$(printf '%s\n' "$init" "$PIDFILE_PID" | sort -n | jq -s -c .)" ]
}

@test "ps: table format has a ps header and the processes" {
	rt ps ct1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	[[ "${lines[0]}" == *CMD* ]] || [[ "${lines[0]}" == *COMMAND* ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == *"sleep 1000"* ]]
	[[ "${lines[1]}" == *" $(container_pid ct1) "* ]]
}

@test "ps: extra ps options are passed to ps" {
	rt ps ct1 -o pid,comm
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^\ *PID\ +COMMAND ]]
	[[ "${lines[1]}" =~ ^\ *$(container_pid ct1)\ +sleep$ ]]
}

@test "ps: invalid format" {
	rt ps --format yaml ct1
	[ "$status" -ne 0 ]
}

@test "ps: nonexistent container" {
	rt ps nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	rt ps --format json nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}
