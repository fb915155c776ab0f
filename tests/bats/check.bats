#!/usr/bin/env bats
# check and inspect-checkpoint on the host: the verdict before any C/R, and
# clear errors for things that are not checkpoints. (C/R itself, and these
# commands on real images, are tested in tests/cr/ in the VM lane.)

load helpers

@test "check: the verdict matches criu check on this host, and names the cause" {
	command -v criu >/dev/null || skip "criu is not installed"
	local criu_out criu_rc=0
	criu_out=$(criu check 2>&1) || criu_rc=$?
	run "$RT" check
	echo "$output"
	[[ $output == *"criu:     $(command -v criu) (version "* ]]
	[[ $output == *"kernel:   $(uname -r)"* ]]
	if [ "$criu_rc" -eq 0 ]; then
		[ "$status" -eq 0 ]
		[[ $output == *"verdict:  ok"* ]]
	else
		[ "$status" -ne 0 ]
		[[ $output == *"verdict:  NOT OK"* ]]
		if [[ $criu_out == *"Unexpected rt vDSO area bounds"* ]]; then
			# this host's case: CRIU 3.17 on a kernel with [vvar_vclock]
			[[ $output == *"[vvar_vclock]"* ]]
			[[ $output == *"CRIU >= 4.1"* ]]
		fi
		# CRIU's own error lines are shown
		[[ $output == *"Error ("* ]]
	fi
}

@test "check --format json: the same verdict, machine-readable" {
	command -v criu >/dev/null || skip "criu is not installed"
	run "$RT" check --format json
	local ok=false
	criu check >/dev/null 2>&1 && ok=true
	jq -e . <<<"$output" >/dev/null
	[ "$(jq -r .criuFound <<<"$output")" = true ]
	[ "$(jq -r .kernel <<<"$output")" = "$(uname -r)" ]
	[ "$(jq -r .works <<<"$output")" = "$ok" ]
}

@test "check --image: a missing image can not be restored, naming the path" {
	run "$RT" check --image "$BATS_TEST_TMPDIR/nothing"
	[ "$status" -ne 0 ]
	[[ $output == *"$BATS_TEST_TMPDIR/nothing: can NOT be restored here"* ]]
	[[ $output == *"no such file or directory"* ]]
}

@test "inspect-checkpoint: a missing path, an empty directory, a file that is not an archive" {
	run "$RT" inspect-checkpoint "$BATS_TEST_TMPDIR/nothing"
	[ "$status" -ne 0 ]
	[[ $output == *"$BATS_TEST_TMPDIR/nothing: no such file or directory"* ]]

	mkdir "$BATS_TEST_TMPDIR/empty"
	run "$RT" inspect-checkpoint "$BATS_TEST_TMPDIR/empty"
	[ "$status" -ne 0 ]
	[[ $output == *"$BATS_TEST_TMPDIR/empty holds no complete checkpoint"* ]]

	echo "not a tar" >"$BATS_TEST_TMPDIR/junk"
	run "$RT" inspect-checkpoint "$BATS_TEST_TMPDIR/junk"
	[ "$status" -ne 0 ]
	[[ $output == *"$BATS_TEST_TMPDIR/junk is not a checkpoint archive"* ]]

	run "$RT" inspect-checkpoint
	[ "$status" -ne 0 ]
}

@test "inspect-checkpoint: without rt-inspect next to rt or in PATH, says what is missing" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	cp "$RT" "$BATS_TEST_TMPDIR/bin/rt"
	mkdir "$BATS_TEST_TMPDIR/img"
	PATH=/usr/sbin:/usr/bin:/sbin:/bin run "$BATS_TEST_TMPDIR/bin/rt" inspect-checkpoint "$BATS_TEST_TMPDIR/img"
	[ "$status" -ne 0 ]
	[[ $output == *"rt-inspect not found next to rt or in PATH"* ]]
}
