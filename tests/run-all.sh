#!/usr/bin/env bash
# run-all.sh - rt's whole test suite, as "make test" runs it:
#   1. gofmt and go vet
#   2. Go unit tests of libct
#   3. bats tests on the host (lifecycle, bad input, logging, engines)
#   4. the checkpoint/restore suite and its fault tests (tests/cr,
#      tests/reliability), in one boot of the VM lane unless CRIU works on
#      this host
#   5. the Kubernetes/CRI stage (tests/k8s): containerd 2.x's CRI with rt as
#      its runc binary, crictl, checkpoint/restore through CRI; one more
#      boot of the VM lane
#   6. rt migrate between two hosts (tests/migrate): one boot of a pair of
#      lane VMs joined by a network
#   7. a short run of every Go fuzz target (make fuzz runs them long)
# Each stage prints "<stage>: N passed, N failed, N skipped"; the last line
# is the total. A skipped test is never counted as passed. Exit status is
# non-zero if anything failed.
# Select stages with RT_TEST_STAGES="unit bats cr" (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
STAGES=${RT_TEST_STAGES:-lint unit bats cr k8s migrate fuzz}
TOTAL_P=0 TOTAL_F=0 TOTAL_S=0
LOGDIR=${RT_TEST_LOGDIR:-$(mktemp -d /tmp/rt-test-logs.XXXXXX)}
mkdir -p "$LOGDIR"

tally() { # stage passed failed skipped
	echo "== $1: $2 passed, $3 failed, $4 skipped"
	TOTAL_P=$((TOTAL_P + $2)) TOTAL_F=$((TOTAL_F + $3)) TOTAL_S=$((TOTAL_S + $4))
}

# counts_from LOG: the last "N passed, N failed, N skipped" line of a log.
counts_from() {
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then echo "0 1 0"; return; fi # no summary: the stage broke
	echo "$line" | sed -E 's/.*\b([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' |
		awk '{print $1, $2, ($3 == "" ? 0 : $3)}'
}

for stage in $STAGES; do
	echo "== stage $stage (log: $LOGDIR/$stage.log)"
	case $stage in
	lint)
		bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
		if [ -n "$bad" ]; then echo "gofmt: $bad"; tally lint 0 1 0; continue; fi
		if go vet -tags seccomp ./... >"$LOGDIR/lint.log" 2>&1; then tally lint 1 0 0; else cat "$LOGDIR/lint.log"; tally lint 0 1 0; fi
		;;
	unit)
		go test -tags seccomp -count=1 -v ./libct/... >"$LOGDIR/unit.log" 2>&1
		rc=$?
		p=$(grep -c '^--- PASS' "$LOGDIR/unit.log") f=$(grep -c '^--- FAIL' "$LOGDIR/unit.log") s=$(grep -c '^--- SKIP' "$LOGDIR/unit.log")
		[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1 # build failure
		[ "$f" != 0 ] && grep -B2 -A20 -- '--- FAIL\|^FAIL\|cannot\|error' "$LOGDIR/unit.log" | head -80
		tally unit "$p" "$f" "$s"
		;;
	bats)
		tests/bats/run.sh 2>&1 | tee "$LOGDIR/bats.log"
		read -r p f s < <(counts_from "$LOGDIR/bats.log")
		tally bats "$p" "$f" "$s"
		;;
	cr)
		RT_REL_RUNS=${RT_REL_RUNS:-5} RT_CR_TIMEOUT=${RT_CR_TIMEOUT:-4200} \
			tests/cr/run.sh tests/cr/*.bats tests/reliability/*.bats 2>&1 | tee "$LOGDIR/cr.log"
		read -r p f s < <(counts_from "$LOGDIR/cr.log")
		tally cr "$p" "$f" "$s"
		;;
	k8s)
		RT_CR_TIMEOUT=${RT_K8S_LANE_TIMEOUT:-1800} tests/k8s/run.sh 2>&1 | tee "$LOGDIR/k8s.log"
		read -r p f s < <(counts_from "$LOGDIR/k8s.log")
		tally k8s "$p" "$f" "$s"
		;;
	migrate)
		RT_CR_TIMEOUT=${RT_MIGRATE_LANE_TIMEOUT:-1800} tests/migrate/run.sh 2>&1 | tee "$LOGDIR/migrate.log"
		read -r p f s < <(counts_from "$LOGDIR/migrate.log")
		tally migrate "$p" "$f" "$s"
		;;
	fuzz)
		tests/fuzz.sh -t "${RT_FUZZTIME:-10s}" 2>&1 | tee "$LOGDIR/fuzz.log"
		read -r p f s < <(counts_from "$LOGDIR/fuzz.log")
		tally fuzz "$p" "$f" "$s"
		;;
	*) echo "unknown stage $stage"; tally "$stage" 0 1 0 ;;
	esac
done
echo "== logs in $LOGDIR"
echo "$TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
[ "$TOTAL_F" -eq 0 ]
