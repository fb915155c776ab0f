#!/usr/bin/env bats
# tests/fuzz.sh decides pass or fail of make test's fuzz stage: a crasher
# fails it, Go's fuzz-coordinator deadline race (go.dev/issue/75804) does
# not. These tests run a copy of the script in a scratch tree against a fake
# `go` that replays canned outputs, so they need neither time nor luck.

setup() {
	REPO=$(readlink -f "$BATS_TEST_DIRNAME/../..")
	W=$(mktemp -d /tmp/rt-fuzzsh.XXXXXX)
	mkdir -p "$W/tests" "$W/libct/testdata/fuzz/FuzzThing" "$W/bin"
	cp "$REPO/tests/fuzz.sh" "$W/tests/fuzz.sh"
	printf 'package libct\n\nfunc FuzzThing(f *testing.F) {}\n' >"$W/libct/fuzz_test.go"
	echo 'go test fuzz v1' >"$W/libct/testdata/fuzz/FuzzThing/seed1"
	# The fake go: FAKE_FUZZ selects what "go test -fuzz" does; a corpus
	# replay ("go test -run") exits with FAKE_REPLAY_RC (default 0).
	cat >"$W/bin/go" <<'EOF'
#!/bin/bash
if [ "$1" = env ]; then echo /nonexistent-cache; exit 0; fi
case " $* " in
*" -fuzz "*) ;;
*) exit "${FAKE_REPLAY_RC:-0}" ;;
esac
progress='fuzz: elapsed: 10s, execs: 4242 (424/sec), new interesting: 3 (total: 99)'
case $FAKE_FUZZ in
ok)
	echo "$progress"; echo PASS; exit 0 ;;
deadline)
	echo "$progress"
	printf -- '--- FAIL: FuzzThing (10.02s)\n    context deadline exceeded\nFAIL\nexit status 1\n'
	exit 1 ;;
crash)
	echo "$progress"
	printf 'go test fuzz v1\n[]byte("boom")\n' >libct/testdata/fuzz/FuzzThing/c0ffee
	printf -- '--- FAIL: FuzzThing (3.10s)\n    --- FAIL: FuzzThing (0.00s)\n        fuzz_test.go:9: boom\n'
	printf '    Failing input written to testdata/fuzz/FuzzThing/c0ffee\n    To re-run:\n    go test -run=FuzzThing/c0ffee\nFAIL\n'
	exit 1 ;;
build)
	echo 'libct/fuzz_test.go:3:1: syntax error'; echo 'FAIL	build failed'; exit 1 ;;
esac
EOF
	chmod +x "$W/bin/go"
}

teardown() {
	[[ ${W:-} == /tmp/rt-fuzzsh.* ]] && rm -rf "$W"
}

fuzzsh() {
	PATH="$W/bin:$PATH" run "$W/tests/fuzz.sh" -t 10s
}

@test "fuzz.sh: a clean run passes and reports its executions" {
	FAKE_FUZZ=ok fuzzsh
	[ "$status" -eq 0 ]
	[[ "$output" == *"fuzz FuzzThing: 4242 execs in 10s"* ]]
	[ "${lines[-1]}" = "1 passed, 0 failed" ]
}

@test "fuzz.sh: the coordinator's deadline race with no failing input is not a failure" {
	FAKE_FUZZ=deadline fuzzsh
	[ "$status" -eq 0 ]
	[[ "$output" == *"4242 execs"*"go.dev/issue/75804; corpus replay passed"* ]]
	[ "${lines[-1]}" = "1 passed, 0 failed" ]
}

@test "fuzz.sh: a deadline followed by a failing corpus replay fails" {
	FAKE_FUZZ=deadline FAKE_REPLAY_RC=1 fuzzsh
	[ "$status" -ne 0 ]
	[[ "$output" == *"FAILED: the corpus replay after a deadline failed"* ]]
	[ "${lines[-1]}" = "0 passed, 1 failed" ]
}

@test "fuzz.sh: a crashing input fails the stage and is printed" {
	FAKE_FUZZ=crash fuzzsh
	[ "$status" -ne 0 ]
	[[ "$output" == *"FAILED: a crashing input"* ]]
	[[ "$output" == *"input libct/testdata/fuzz/FuzzThing/c0ffee:"* ]]
	[[ "$output" == *'[]byte("boom")'* ]]
	[ "${lines[-1]}" = "0 passed, 1 failed" ]
}

@test "fuzz.sh: a build failure fails the stage" {
	FAKE_FUZZ=build fuzzsh
	[ "$status" -ne 0 ]
	[[ "$output" == *"FAILED (exit 1, no fuzzing result)"* ]]
}
