#!/bin/bash
# Run runc v1.4.3's integration suite against the reference runc (built from
# the same module) and against RT_BINARY, and compare file by file.
#
# Usage: tests/runc-suite/compare.sh RT_BINARY
# Env:
#   FILES="kill create"   subset of test files (default: all minus run.sh's exclusions)
#   RETRY=N               re-run each failed test up to N times on its own (default 1)
#   OUT_BASE=DIR          where runc/ and rt/ result dirs go (default $RT_SUITE_WORK/out)
#   REF_RESULTS=DIR       reuse an earlier run.sh result dir for runc instead of running it
#   RT_SUITE_WORK         work dir (default /var/tmp/rt-runc-suite)
# Prints a markdown table (also saved as $OUT_BASE/compare.md) and the tests
# that pass with runc but not with RT_BINARY. Exit 1 if there are any.
set -uo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
WORK=${RT_SUITE_WORK:-/var/tmp/rt-runc-suite}
OUT_BASE=${OUT_BASE:-$WORK/out}
RETRY=${RETRY:-1}

if [ $# -ne 1 ] || [[ $1 == -* ]]; then
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
RT=$(readlink -f "$1") && [ -x "$RT" ] || { echo "compare: not an executable: $1" >&2; exit 2; }

"$HERE/prepare.sh" || { echo "compare: prepare.sh failed" >&2; exit 2; }

# shellcheck disable=SC2206
files=(${FILES:-})
REF_OUT=$OUT_BASE/runc
RT_OUT=$OUT_BASE/rt
mkdir -p "$OUT_BASE"

if [ -n "${REF_RESULTS:-}" ]; then
	REF_OUT=$(readlink -f "$REF_RESULTS")
	[ -f "$REF_OUT/results.tsv" ] || { echo "compare: no results.tsv in $REF_OUT" >&2; exit 2; }
	echo "compare: reusing reference results from $REF_OUT" >&2
else
	echo "compare: === reference runc ($WORK/runc) ===" >&2
	"$HERE/run.sh" --retry "$RETRY" --out "$REF_OUT" "$WORK/runc" "${files[@]}"
	[ $? -le 1 ] || { echo "compare: run.sh failed for runc" >&2; exit 2; }
fi
# The suite checks runc's literal name in a few places (help and version
# text, error prefixes, the name of the sealed copy of the binary that the
# init holds). rt names itself after argv[0] like a drop-in installed as
# runc, so the binary under test runs as a copy named "runc".
mkdir -p "$WORK/as-runc"
cp "$RT" "$WORK/as-runc/runc"
echo "compare: === $RT (installed as $WORK/as-runc/runc) ===" >&2
"$HERE/run.sh" --retry "$RETRY" --out "$RT_OUT" "$WORK/as-runc/runc" "${files[@]}"
[ $? -le 1 ] || { echo "compare: run.sh failed for $RT" >&2; exit 2; }

REPORT=$OUT_BASE/compare.md
awk -F'\t' -v ref="$REF_OUT" -v rt="$RT_OUT" -v rtname=rt '
	FILENAME == ref "/summary.tsv" {
		if (FNR == 1 || $1 == "TOTAL") next
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		R[$1] = $2 "/" $3 "/" $4; next
	}
	FILENAME == rt "/summary.tsv" {
		if (FNR == 1 || $1 == "TOTAL") next
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		T[$1] = $2 "/" $3 "/" $4; next
	}
	FILENAME == ref "/results.tsv" { rs[$1 "\t" $3] = $2; next }
	FILENAME == rt "/results.tsv" { ts[$1 "\t" $3] = $2; next }
	END {
		printf "| file | runc pass/fail/skip | %s pass/fail/skip |\n", rtname
		print "|---|---|---|"
		for (i = 1; i <= n; i++) {
			f = order[i]
			if (!(f in R) || !(f in T)) continue # only files run on both sides
			split(R[f], a, "/"); split(T[f], b, "/")
			for (j = 1; j <= 3; j++) { ra[j] += a[j]; tb[j] += b[j] }
			mark = (R[f] == T[f]) ? "" : " *"
			printf "| %s | %s | %s%s |\n", f, R[f], T[f], mark
			files[f] = 1
		}
		printf "| **total** | **%d/%d/%d** | **%d/%d/%d** |\n", ra[1], ra[2], ra[3], tb[1], tb[2], tb[3]

		nreg = 0; nfix = 0
		for (k in rs) {
			split(k, kk, "\t")
			if (!(kk[1] in files)) continue
			st = (k in ts) ? ts[k] : "not run"
			if (rs[k] == "ok" && st != "ok") reg[++nreg] = "- " kk[1] ": " kk[2] " (" rtname ": " st ")"
		}
		for (k in ts) {
			split(k, kk, "\t")
			if (!(kk[1] in files)) continue
			if (ts[k] == "ok" && (k in rs) && rs[k] != "ok") fix[++nfix] = "- " kk[1] ": " kk[2] " (runc: " rs[k] ")"
		}
		printf "\n### Regressions: %d test(s) pass with runc but not with %s\n", nreg, rtname
		asort(reg); for (i = 1; i <= nreg; i++) print reg[i]
		if (nfix > 0) {
			printf "\n### %d test(s) pass with %s but not with runc\n", nfix, rtname
			asort(fix); for (i = 1; i <= nfix; i++) print fix[i]
		}
		exit (nreg > 0)
	}
' "$REF_OUT/summary.tsv" "$RT_OUT/summary.tsv" "$REF_OUT/results.tsv" "$RT_OUT/results.tsv" >"$REPORT"
rc=$?
# Warnings only for files that were run on the rt side (REF_RESULTS may hold more).
ran_warnings() {
	awk -F'\t' 'NR == FNR { if (FNR > 1) run[$1] = 1; next } $1 in run' "$RT_OUT/summary.tsv" "$1/warnings.txt" 2>/dev/null
}
for d in "$REF_OUT" "$RT_OUT"; do
	w=$(ran_warnings "$d")
	if [ -n "$w" ]; then
		printf '\n### Interference seen before files ran (%s)\n' "$(head -n1 "$d/meta.txt" | sed 's/^binary: //')"
		sed 's/^/- /; s/\t/: /' <<<"$w"
	fi
	if [ -s "$d/flaky.txt" ]; then
		printf '\n### Passed only on retry (%s)\n' "$(head -n1 "$d/meta.txt" | sed 's/^binary: //')"
		sed 's/^/- /; s/\t/: /; s/\t/ /' "$d/flaky.txt"
	fi
done >>"$REPORT"
{
	echo
	echo "Results: runc $REF_OUT, rt $RT_OUT (TAP in tap/, per-test results.tsv). Excluded files:"
	sed 's/^/- /; s/\t/: /' "$RT_OUT/excluded.tsv"
} >>"$REPORT"
cat "$REPORT"
exit $rc
