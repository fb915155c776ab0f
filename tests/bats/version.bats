#!/usr/bin/env bats
# --version / help

load helpers

@test "--version: name version, commit, spec, go, libseccomp" {
	run "$RT" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^${RT_NAME}\ version\ [^\ ]+$ ]]
	printf '%s\n' "${lines[@]}" | grep -qE '^commit: .+'
	printf '%s\n' "${lines[@]}" | grep -qE '^spec: [0-9]+\.[0-9]+\.[0-9]+'
	printf '%s\n' "${lines[@]}" | grep -qE '^go: go[0-9]'
	printf '%s\n' "${lines[@]}" | grep -qE '^libseccomp: [0-9]+\.[0-9]+\.[0-9]+'
}

@test "-v: same as --version" {
	run "$RT" -v
	[ "$status" -eq 0 ]
	local v="$output"
	run "$RT" --version
	[ "$output" = "$v" ]
}

@test "--help: names the binary and lists the commands" {
	run "$RT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"NAME:"* ]]
	printf '%s\n' "${lines[@]}" | grep -qE "^ +${RT_NAME} - "
	local c
	for c in checkpoint create delete events exec kill list pause ps restore resume run spec start state update features; do
		printf '%s\n' "${lines[@]}" | grep -qE "^ +$c(,| )" || fail "command $c not listed"
	done
}

@test "help CMD: shows the command usage" {
	run "$RT" help create
	[ "$status" -eq 0 ]
	[[ "$output" == *"${RT_NAME} create"* ]]
	[[ "$output" == *"--console-socket"* ]]
	[[ "$output" == *"--pid-file"* ]]
	run "$RT" create --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--bundle"* ]]
}

@test "unknown command and unknown flag fail" {
	run "$RT" no-such-command
	[ "$status" -ne 0 ]
	run "$RT" --no-such-flag
	[ "$status" -ne 0 ]
	run "$RT" list --no-such-flag
	[ "$status" -ne 0 ]
}
