#!/usr/bin/env bash
# tests/fuzz.sh - run rt's Go fuzz targets (libct and its packages) and
# print their counts.
#
# usage: tests/fuzz.sh [-t FUZZTIME] [-p PARALLEL] [-s] [TARGET...]
#   -t FUZZTIME   how long each target runs (go test -fuzztime; default 10m)
#   -p PARALLEL   fuzzing workers per target (go test -parallel; default: Go's)
#   -s            save the corpus Go built in its cache into
#                 PKG/testdata/fuzz/TARGET (the corpus kept in the repo,
#                 which every later run, and `go test`, starts from)
#   TARGET        default: every Fuzz* function in a fuzz_test.go under libct
#
# For each target prints "fuzz TARGET: N execs in T, K new interesting
# inputs (corpus C): ok" or the failure with the crashing input Go saved.
# Ends with "N passed, N failed".  Exit status 0 only if no target failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

FUZZTIME=10m PARALLEL= SAVE=0
while getopts t:p:s opt; do
	case $opt in
	t) FUZZTIME=$OPTARG ;;
	p) PARALLEL=$OPTARG ;;
	s) SAVE=1 ;;
	*) sed -n '2,15p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
# Every target with the package directory that holds it ("PKG TARGET").
declare -A PKG
while read -r file name; do
	PKG[$name]=$(dirname "$file")
done < <(find libct -name fuzz_test.go -print0 | xargs -0 grep -HoE '^func Fuzz[A-Za-z0-9_]+' | sed -E 's/:func / /')
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
	mapfile -t TARGETS < <(printf '%s\n' "${!PKG[@]}" | sort)
fi
[ ${#TARGETS[@]} -gt 0 ] || { echo "tests/fuzz.sh: no fuzz targets found" >&2; exit 2; }
for t in "${TARGETS[@]}"; do
	[ -n "${PKG[$t]:-}" ] || { echo "tests/fuzz.sh: no fuzz target $t under libct" >&2; exit 2; }
done

GOCACHE_FUZZ=$(go env GOCACHE)/fuzz/github.com/rt-runtime/rt
LOG=$(mktemp /tmp/rt-fuzz.XXXXXX)
trap 'rm -f "$LOG" "$LOG.replay"' EXIT
pass=0 fail=0
# A timed fuzz run is exploration, not the gate: `go test` replaying the
# saved corpus (the unit stage) is. Only a crasher fails a target here: an
# input Go wrote into PKG/testdata/fuzz/TARGET, or a panic. Go's
# coordinator can also end a run that found nothing with "context deadline
# exceeded" when -fuzztime expires while a worker is between inputs
# (go.dev/issue/75804, fixed in Go 1.27): that is reported, and the corpus
# is replayed to make sure nothing reproducible was missed, but it is not a
# failure.
crashers() { # TARGET: the failing inputs Go saved for it, one per line
	ls "${PKG[$1]}/testdata/fuzz/$1" 2>/dev/null | sort
}
for t in "${TARGETS[@]}"; do
	pkg=${PKG[$t]}
	# Go minimizes every new interesting input for up to 60 s by default;
	# an archive import runs ~500 times a second, so minimizing one input
	# stalled the short CI run. 5 s keeps the fuzzing time for fuzzing.
	args=(-tags seccomp -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "${RT_FUZZ_MINIMIZE:-5s}")
	[ -z "$PARALLEL" ] || args+=(-parallel "$PARALLEL")
	before=$(crashers "$t")
	go test "${args[@]}" "./$pkg" >"$LOG" 2>&1
	rc=$?
	new=$(comm -13 <(echo "$before") <(crashers "$t") | sed '/^$/d')
	# go's last progress line: "fuzz: elapsed: 10m0s, execs: N (R/sec),
	# new interesting: K (total: C)"
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$LOG" | tail -n 1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	elapsed=$(sed -nE 's/.*elapsed: ([0-9hms.]+),.*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	total=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
	note=
	if [ $rc -ne 0 ]; then
		if [ -n "$new" ] || grep -qE 'Failing input written to|^panic:|fuzzing process hung or terminated unexpectedly' "$LOG"; then
			echo "fuzz $t: FAILED: a crashing input"
			grep -E -- '--- FAIL|panic:|Failing input written to|To re-run' "$LOG" | sed 's/^/    /'
			tail -n 25 "$LOG" | sed 's/^/    /'
			for f in $new; do
				echo "    input $pkg/testdata/fuzz/$t/$f:"
				head -c 2048 "$pkg/testdata/fuzz/$t/$f" | sed 's/^/      /'
				echo
			done
			fail=$((fail + 1))
			continue
		fi
		if ! grep -q 'context deadline exceeded' "$LOG" || ! grep -q '^--- FAIL' "$LOG"; then
			echo "fuzz $t: FAILED (exit $rc, no fuzzing result)"
			tail -n 25 "$LOG" | sed 's/^/    /'
			fail=$((fail + 1))
			continue
		fi
		# The deadline race: no input failed. Replay the corpus to be sure.
		if ! go test -tags seccomp -count=1 -run "^$t\$" "./$pkg" >"$LOG.replay" 2>&1; then
			echo "fuzz $t: FAILED: the corpus replay after a deadline failed"
			tail -n 25 "$LOG.replay" | sed 's/^/    /'
			fail=$((fail + 1))
			continue
		fi
		note=" (Go's fuzz coordinator ended with \"context deadline exceeded\" and no failing input, go.dev/issue/75804; corpus replay passed)"
	fi
	if [ -z "$execs" ] || [ "$execs" -eq 0 ]; then
		echo "fuzz $t: FAILED: no executions reported"
		sed 's/^/    /' "$LOG" | tail -n 20
		fail=$((fail + 1))
		continue
	fi
	echo "fuzz $t: $execs execs in $elapsed, ${newi:-0} new interesting inputs (corpus ${total:-?}): no crash$note"
	pass=$((pass + 1))
	cache=$GOCACHE_FUZZ/$pkg/$t
	if [ "$SAVE" = 1 ] && [ -d "$cache" ]; then
		mkdir -p "$pkg/testdata/fuzz/$t"
		cp -n "$cache"/* "$pkg/testdata/fuzz/$t/" 2>/dev/null || true
		echo "    corpus: $(ls "$pkg/testdata/fuzz/$t" | wc -l) inputs in $pkg/testdata/fuzz/$t"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
