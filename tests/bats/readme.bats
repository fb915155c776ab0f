#!/usr/bin/env bats
# The README opens with the two commands a newcomer types: they must work
# in a fresh machine's root shell (which has no sudo), and CI must run the
# README's test command.

setup() {
	REPO=$(readlink -f "$BATS_TEST_DIRNAME/../..")
	# The first ```sh block of the README, comments stripped.
	mapfile -t CMDS < <(awk '/^```sh$/ {on = 1; next} on && /^```$/ {exit} on' "$REPO/README.md" |
		sed -E 's/[[:space:]]*#.*$//' | sed '/^$/d')
}

@test "README: the two set-up commands are plain make targets, no sudo" {
	[ "${#CMDS[@]}" -eq 2 ] || fail "README's first block has ${#CMDS[@]} commands: ${CMDS[*]}"
	local c
	for c in "${CMDS[@]}"; do
		[[ $c != *sudo* ]] || fail "README command needs sudo: $c"
		[[ $c =~ ^make\ [a-z-]+$ ]] || fail "README command is not 'make TARGET': $c"
		# the target exists (make -n prints what it would run)
		make -s -n -C "$REPO" "${c#make }" >/dev/null || fail "make has no target for: $c"
	done
	[ "${CMDS[0]}" = "make demo" ]
	[ "${CMDS[1]}" = "make test" ]
}

@test "README: .ci/run runs the README's test command" {
	grep -qxF "${CMDS[1]}" "$REPO/.ci/run" || fail ".ci/run does not run '${CMDS[1]}'"
}

@test "setup-host.sh: a non-root user is told to run as root, before apt-get" {
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$REPO/tests/setup-host.sh"
	[ "$status" -ne 0 ]
	[[ "$output" == *"run as root"* ]]
	[[ "$output" != *"apt-get"*"failed"* ]]
}
