#!/bin/bash
# bench/lifecycle.sh LANE OUT NAME=RUNTIME... - container lifecycle benchmark.
#
# A busybox `true` container: create + start + wait + delete, N one at a
# time (seq), R rounds of P at once (par), and N foreground `run`s, with the
# runtimes interleaved (benchtool lifecycle, which is a child subreaper and
# waits for the container's init as a shim does).  Raw rows go to
# OUT/lifecycle.tsv; a GNU time cross-check of peak RSS to OUT/gnutime.tsv.
#
# Environment: BENCH_SEQ (100), BENCH_RUN (BENCH_SEQ), BENCH_PAR (10),
# BENCH_ROUNDS (10), BENCH_WORK (scratch dir; default /tmp/bench).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LANE=${1:?usage: lifecycle.sh LANE OUT NAME=RUNTIME...}
OUT=${2:?}
shift 2
[ $# -gt 0 ] || die "no runtimes"
W=${BENCH_WORK:-/tmp/bench}/lc-$LANE
BT=$OUT/bin/benchtool
[ -x "${BENCH_BENCHTOOL:-}" ] && BT=$BENCH_BENCHTOOL
SEQ=${BENCH_SEQ:-100}
RUN=${BENCH_RUN:-$SEQ}
PAR=${BENCH_PAR:-10}
ROUNDS=${BENCH_ROUNDS:-10}

rm -rf "$W"
mkdir -p "$W/bundle"
cp -a "$OUT/rootfs" "$W/bundle/rootfs"
(cd "$W/bundle" && "$OUT/bin/rt" spec)
# ociVersion 1.0.2: crun 1.8.1 refuses newer spec versions; all runtimes
# get the same config.
jq '.ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["true"]' \
	"$W/bundle/config.json" >"$W/bundle/config.json.new"
mv "$W/bundle/config.json.new" "$W/bundle/config.json"

args=()
for r in "$@"; do args+=(-rt "$r"); done
say "lifecycle ($LANE): $SEQ sequential, $RUN foreground run, $ROUNDS rounds of $PAR parallel: $*"
rc=0
"$BT" lifecycle "${args[@]}" -lane "$LANE" -bundle "$W/bundle" -state "$W/state" \
	-seq "$SEQ" -run "$RUN" -par "$PAR" -rounds "$ROUNDS" -out "$OUT/lifecycle.tsv" || rc=$?
cp "$W/state/errors.log" "$OUT/lifecycle-errors-$LANE.log" 2>/dev/null || true

# Peak RSS as GNU time reports it (the same rusage benchtool records), for
# a foreground `run` of each runtime.
n=0
for r in "$@"; do
	name=${r%%=*} bin=${r#*=}
	for i in 1 2 3 4 5; do
		n=$((n + 1))
		/usr/bin/time -f %M -o "$W/rss" "$bin" --root "$W/state/gnutime-$name" run -b "$W/bundle" "gnutime-$name-$i" \
			</dev/null >/dev/null 2>&1 || { say "GNU time run of $name failed"; continue; }
		printf '%s\t%s\t%s\t%s\n' "$LANE" "$name" "$i" "$(tail -n 1 "$W/rss")" >>"$OUT/gnutime.tsv"
	done
done
# Leftovers of failed lifecycles (none normally).
for r in "$@"; do
	name=${r%%=*} bin=${r#*=}
	for d in "$W/state/$name" "$W/state/gnutime-$name"; do
		[ -d "$d" ] || continue
		for id in $("$bin" --root "$d" list -q 2>/dev/null); do
			"$bin" --root "$d" delete -f "$id" >/dev/null 2>&1 || say "cannot delete leftover $name container $id"
		done
	done
done
rm -rf "$W"
exit "$rc"
