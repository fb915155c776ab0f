#!/bin/bash
# bench/cr-ab.sh - same-boot A/B of rt builds for checkpoint/restore.
#
# usage: bench/cr-ab.sh [--rounds N] [--sizes "MiB..."] [--out DIR] NAME=RT_BINARY...
#
# Boots the VM lane once and, round after round, runs bench/cr.sh's runc
# and rt methods with each rt build in turn (NAME=BINARY, two or more), so
# that slow phases of the emulator hit every variant alike: the lane's
# timings drift by 20-50% between minutes, more than most changes buy.
# runc runs in every round as a control.  Prints, per size and variant,
# the median and range of the wall times and of CRIU's frozen time (ms),
# and rt's phases (before libcontainer's Checkpoint / in it / hashing /
# after).  Needs a previous bench run for runc, benchtool and the rootfs
# (BENCH_FROM, default bench/out/latest: `bench/run.sh --quick` makes one).
# Raw rows stay in DIR/NAME/cr.tsv (bench/cr.sh's format).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=4 SIZES=512 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*=*) break ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ $# -ge 2 ] || die "want two or more NAME=RT_BINARY (see --help)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number, got '$ROUNDS'"

# summarize DIR NAME...: the table, from DIR/NAME/cr.tsv.
summarize() {
	local dir=$1 name
	shift
	echo "| MiB | variant | method | op | median s | range s | CRIU frozen ms (median, range) |"
	echo "|---:|---|---|---|---:|---:|---|"
	for name in "$@"; do
		awk -F'\t' -v v="$name" '
			function med(s,   a, n, i, j, t) {
				n = split(s, a, " ")
				for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
				lo = a[1]; hi = a[n]
				return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
			}
			($3 == "runc" || $3 == "rt") && ($4 == "dump" || $4 == "restore") {
				k = $1 SUBSEP $3 SUBSEP $4; wall[k] = wall[k] " " $5
				if ($4 == "dump" && $8 != "-") frozen[k] = frozen[k] " " int($8 / 1000)
			}
			END {
				for (k in wall) {
					split(k, p, SUBSEP)
					m = med(wall[k]); wl = lo; wh = hi
					f = "-"
					if (k in frozen) { fm = med(frozen[k]); f = sprintf("%d (%d-%d)", fm, lo, hi) }
					printf "| %s | %s | %s | %s | %.2f | %.2f-%.2f | %s |\n", p[1], v, p[2], p[3], m, wl, wh, f
				}
			}' "$dir/$name/cr.tsv"
	done | sort -t'|' -k2,2n -k4,4 -k5,5 -k3,3
	echo
	echo "rt's phases, seconds (before / in libcontainer's Checkpoint / hashing / after), per round:"
	for name in "$@"; do
		awk -F'\t' -v v="$name" '$3 == "rt" && $4 == "phases" { printf "  %s MiB %s: %.2f / %.2f / %.2f / %.2f\n", $1, v, $7, $8, $9, $10 }' "$dir/$name/cr.tsv"
	done
}

if [ "${RT_VM:-}" != 1 ]; then
	# Host side: stage the variants, boot the lane once, summarize.
	FROM=${BENCH_FROM:-$BENCH_DIR/out/latest}
	for f in bin/runc bin/benchtool rootfs; do
		[ -e "$FROM/$f" ] || die "$FROM/$f is missing: run bench/run.sh --quick first, or set BENCH_FROM"
	done
	OUT=${OUT:-$BENCH_DIR/out/ab-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$OUT/bin" || die "cannot create $OUT"
	OUT=$(cd "$OUT" && pwd -P)
	names=()
	for a in "$@"; do
		name=${a%%=*} bin=${a#*=}
		[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "variant name '$name': letters, digits, . _ - only"
		[ -x "$bin" ] || die "variant $name: $bin is not an executable"
		cp "$bin" "$OUT/bin/rt-$name" || die "cannot stage $bin"
		names+=("$name")
	done
	cp "$FROM/bin/runc" "$FROM/bin/benchtool" "$OUT/bin/" && cp -a "$FROM/rootfs" "$OUT/rootfs" || die "cannot stage from $FROM"
	say "cr-ab: ${#names[@]} variants, $ROUNDS rounds, sizes $SIZES; output in $OUT"
	"$BENCH_DIR/../tests/vm/lane.sh" --mem "${BENCH_VM_MEM:-8G}" --share "$OUT" \
		--timeout "${BENCH_VM_TIMEOUT:-14400}" -- \
		"$BENCH_DIR/cr-ab.sh" --rounds "$ROUNDS" --sizes "$SIZES" --out "$OUT" "${names[@]/%/=}" ||
		die "the VM lane failed"
	summarize "$OUT" "${names[@]}" | tee "$OUT/results.md"
	exit 0
fi

# Guest side (one boot): NAME= arguments name the staged variants.
names=("${@%%=*}")
W=${BENCH_WORK:-/tmp/bench}
export BENCH_WORK=$W
mount -o remount,size=${BENCH_VM_TMPFS:-80%} /tmp || die "cannot resize /tmp"
rm -rf "$W"
mkdir -p "$W/bin"
cp "$OUT"/bin/* "$W/bin/" && cp -a "$OUT/rootfs" "$W/rootfs" || die "cannot stage into the guest"
cp "$W/bin/rt-${names[0]}" "$W/bin/rt"
(cd "$W" && "$W/bin/rt" spec) || die "rt spec failed"
criu check >/dev/null 2>&1 || { criu check; die "criu check fails in the guest"; }
# Warm-up, as bench/vm.sh: CRIU's kernel data, cold caches.
BENCH_SIZES=16 BENCH_REPS=1 BENCH_METHODS="runc rt" BENCH_VERIFY_REPS=0 \
	bash "$BENCH_DIR/cr.sh" "$W/warmup" >/dev/null 2>&1 || true
for r in $(seq "$ROUNDS"); do
	for name in "${names[@]}"; do
		cp "$W/bin/rt-$name" "$W/bin/rt"
		mkdir -p "$OUT/$name"
		BENCH_SIZES=$SIZES BENCH_REPS=1 BENCH_METHODS="runc rt" BENCH_VERIFY_REPS=0 \
			bash "$BENCH_DIR/cr.sh" "$OUT/$name" >/dev/null 2>"$W/err" ||
			{ cat "$W/err" >&2; die "round $r, $name: cr.sh failed"; }
		say "round $r/$ROUNDS: $name done"
	done
done
