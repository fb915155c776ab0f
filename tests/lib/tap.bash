# tests/lib/tap.bash - counting a bats TAP log (sourced by tests/bats/run.sh
# and tests/cr/run.sh).

# tap_summary LOG STATUS: counts the TAP results in LOG, whose producer
# exited with STATUS, and prints "N passed, N failed, N skipped".  No plan,
# fewer results than planned, or a non-zero STATUS with no failed test
# count as failures too: a suite never passes by not running.  Returns 0
# only if nothing failed.
tap_summary() {
	local log=$1 rc=$2 plan pass fail skip ran
	plan=$(grep -m1 -E '^1\.\.[0-9]+$' "$log" | cut -d. -f3)
	pass=$(grep -E '^ok [0-9]+' "$log" | grep -vciE ' # skip( |$|\()')
	skip=$(grep -E '^ok [0-9]+' "$log" | grep -ciE ' # skip( |$|\()')
	fail=$(grep -cE '^not ok [0-9]+' "$log")
	ran=$((pass + skip + fail))
	if [ -z "$plan" ]; then
		echo "not ok - the suite produced no TAP plan (exit status $rc)"
		fail=$((fail + 1))
	elif [ "$ran" -lt "$plan" ]; then
		echo "not ok - only $ran of $plan tests reported a result (exit status $rc)"
		fail=$((fail + plan - ran))
	elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		echo "not ok - the suite exited with status $rc"
		fail=1
	fi
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}
