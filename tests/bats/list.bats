#!/usr/bin/env bats
# list

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
}

teardown() {
	teardown_common
}

@test "list: empty root" {
	mkdir -p "$ROOT"
	rt list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER ]]

	rt list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	rt list --format json
	[ "$status" -eq 0 ]
	# runc prints null for no containers; [] is fine too.
	[ "$stdout" = null ] || [ "$(jq -c . <<<"$stdout")" = "[]" ]
}

@test "list: table, json and quiet with containers" {
	rt run -d ct-running
	[ "$status" -eq 0 ]
	set_cgroups_path two
	rt create ct-created
	[ "$status" -eq 0 ]
	local p1 p2
	p1=$(container_pid ct-running)
	p2=$(container_pid ct-created)

	rt list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER ]]
	printf '%s\n' "${lines[@]}" | grep -qE "^ct-running +$p1 +running +$BUNDLE +[0-9T:.Z+-]+ +root\$"
	printf '%s\n' "${lines[@]}" | grep -qE "^ct-created +$p2 +created +$BUNDLE +[0-9T:.Z+-]+ +root\$"

	rt list --format json
	[ "$status" -eq 0 ]
	[ "$(jq 'length' <<<"$stdout")" -eq 2 ]
	[ "$(jq -r '.[] | select(.id == "ct-running") | .status' <<<"$stdout")" = running ]
	[ "$(jq -r '.[] | select(.id == "ct-running") | .pid' <<<"$stdout")" = "$p1" ]
	[ "$(jq -r '.[] | select(.id == "ct-created") | .status' <<<"$stdout")" = created ]
	[ "$(jq -r '.[] | select(.id == "ct-created") | .bundle' <<<"$stdout")" = "$BUNDLE" ]
	jq -e 'all(.[]; has("ociVersion") and has("created") and has("owner"))' <<<"$stdout"

	rt list -f json
	[ "$status" -eq 0 ]
	[ "$(jq 'length' <<<"$stdout")" -eq 2 ]

	rt list --quiet
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "ct-created ct-running " ]
	rt list -q
	[ "${#lines[@]}" -eq 2 ]
}

@test "list: stopped containers are listed with pid 0" {
	set_args true
	rt run -d ct1
	wait_for_container ct1 stopped
	rt list --format json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].status' <<<"$stdout")" = stopped ]
	[ "$(jq -r '.[0].pid' <<<"$stdout")" = 0 ]
}

@test "list: invalid --format is an error" {
	mkdir -p "$ROOT"
	rt list --format yaml
	[ "$status" -ne 0 ]
}

@test "list: nonexistent root lists nothing" {
	rt list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
