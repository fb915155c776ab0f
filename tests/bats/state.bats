#!/usr/bin/env bats
# state

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
}

teardown() {
	teardown_common
}

RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

check_state() {
	local id=$1 want=$2
	rt state "$id"
	[ "$status" -eq 0 ]
	jq -e . <<<"$stdout" >/dev/null
	[ "$(jq -r .id <<<"$stdout")" = "$id" ]
	[ "$(jq -r .status <<<"$stdout")" = "$want" ]
	[ "$(jq -r .bundle <<<"$stdout")" = "$BUNDLE" ]
	[ -n "$(jq -r .ociVersion <<<"$stdout")" ]
	[[ "$(jq -r .created <<<"$stdout")" =~ $RFC3339_RE ]]
	jq -e '.pid | type == "number"' <<<"$stdout" >/dev/null
}

@test "state: created, running, paused, stopped" {
	rt create ct1
	check_state ct1 created
	local pid
	pid=$(jq -r .pid <<<"$stdout")
	[ "$pid" -gt 0 ]

	rt start ct1
	wait_for_container ct1 running
	check_state ct1 running
	[ "$(jq -r .pid <<<"$stdout")" = "$pid" ]

	rt pause ct1
	check_state ct1 paused
	rt resume ct1
	check_state ct1 running

	rt kill ct1 KILL
	wait_for_container ct1 stopped
	check_state ct1 stopped
	[ "$(jq -r .pid <<<"$stdout")" = 0 ]
}

@test "state: stopped after the init process exits by itself" {
	set_args sh -c 'exit 7'
	rt run -d ct1
	wait_for_container ct1 stopped
	check_state ct1 stopped
}

@test "state: annotations from config.json are reported" {
	update_config '.annotations = {"org.example.key": "value-1"}'
	rt create ct1
	rt state ct1
	[ "$status" -eq 0 ]
	[ "$(jq -r '.annotations["org.example.key"]' <<<"$stdout")" = value-1 ]
}

@test "state: nonexistent container" {
	rt state nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	[ -z "$stdout" ]
}

@test "state: requires exactly one argument" {
	rt state
	[ "$status" -ne 0 ]
	rt create ct1
	rt state ct1 extra
	[ "$status" -ne 0 ]
}
