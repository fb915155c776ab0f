#!/bin/bash
# bench/downtime.sh - downtime of checkpoint and restore (issue: pre-copy
# and lazy restore), in one boot of the VM lane. Never asserts a timing.
#
#   bench/downtime.sh                 # stage on the host, boot the lane, print the table
#   bench/downtime.sh --inside OUT    # (inside the lane)
#
# A container runs `crhelper memhog SIZE 16 16 7000`: it holds SIZE MiB,
# rewrites a 16 MiB working set at 16 MiB/s and answers "ping" on TCP
# port 7000 in its network namespace (an external one, as engines give). For each size:
#   checkpoint --leave-running with runc, rt and rt --pre-copy: the wall
#     time and CRIU's frozen time (stats-dump of the final dump);
#   restore (same ID, after the original is deleted) with runc (its own
#     image), rt and rt --lazy (rt's image): time until the restore command
#     returns with the container running, until the server answers, and
#     until all memory is back (the same as running, but for --lazy: the
#     supervisor's copyMs).
# Rows go to OUT/downtime.tsv; the table to OUT/downtime.md and stdout.
#
# Environment: BENCH_DT_SIZES (MiB, default "128 512 1024"), BENCH_DT_REPS
# (default 2), BENCH_VM_MEM (default 8G), BENCH_RUNC (default /usr/sbin/runc).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR/.." || exit 2

SIZES=${BENCH_DT_SIZES:-128 512 1024}
REPS=${BENCH_DT_REPS:-2}
PORT=7000

if [ "${1:-}" != --inside ]; then
	OUT=bench/out/downtime-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$OUT/bin" || die "cannot create $OUT"
	make rt >&2 || die "make rt failed"
	cp ./rt "$OUT/bin/rt" || die "cannot stage rt"
	CGO_ENABLED=0 go build -o "$OUT/bin/crhelper" ./tests/cr/crhelper || die "cannot build crhelper"
	(cd bench/tools && go build -o "../../$OUT/bin/benchtool" .) || die "cannot build benchtool"
	tests/lib/mkrootfs.sh "$OUT/rootfs" >&2 || die "mkrootfs failed"
	cp "$OUT/bin/crhelper" "$OUT/rootfs/bin/crhelper"
	tests/vm/lane.sh --timeout "${BENCH_VM_TIMEOUT:-7200}" --mem "${BENCH_VM_MEM:-8G}" -- \
		bench/downtime.sh --inside "$(pwd -P)/$OUT"
	rc=$?
	[ -f "$OUT/downtime.md" ] && cat "$OUT/downtime.md"
	exit "$rc"
fi

# ------------------------------------------------------------ in the lane
OUT=${2:?usage: downtime.sh --inside OUT}
[ "${RT_VM:-}" = 1 ] || die "--inside runs in the VM lane"
RUNC=${BENCH_RUNC:-/usr/sbin/runc}
mount -o remount,size=80% /tmp || die "cannot resize /tmp"
W=/tmp/dt
rm -rf "$W"
mkdir -p "$W/bin"
cp "$OUT/bin/"* "$W/bin/"
RT=$W/bin/rt
HELPER=$W/bin/crhelper
criu check >/dev/null 2>&1 || die "criu check fails in the lane"
# The network namespace is the engine's, as under docker or containerd:
# made once, loopback up, and joined by every container (a restore into a
# namespace of its own gets an empty one from CRIU, whose loopback runc
# leaves down).
ip netns add dt 2>/dev/null
ip -n dt link set lo up || die "cannot set up the netns"
{
	echo "guest.kernel: $(uname -r)"
	echo "guest.cpus: $(nproc)"
	echo "guest.mem: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
	echo "guest.criu: $(criu --version | head -n 1)"
	echo "guest.runc: $($RUNC --version | head -n 1)"
} >"$OUT/env-downtime.txt"

TSV=$OUT/downtime.tsv
printf 'size\tmethod\tphase\tms\n' >"$TSV"

# bundle DIR SIZE: a bundle running memhog.
bundle() { memhog_bundle "$1" "$2" /var/run/netns/dt; }

# running RUNTIME ROOT ID: wait until memhog counts (its memory is filled).
running() {
	local n=1200
	until grep -q '^t[0-9]* [0-9]' "$W/b/rootfs/tmp/cnt" 2>/dev/null; do
		((n-- > 0)) || die "$1: container $3 does not count"
		sleep 0.05
	done
}

pid_of() { "$1" --root "$2" state "$3" | jq -r .pid; }
ask() { nsenter -t "$1" -n "$HELPER" ask "$PORT" >/dev/null; }

# frozen_ms DIR: CRIU's frozen time of the dump whose stats are in DIR.
frozen_ms() { "$W/bin/benchtool" criustats "$1" | awk '$1 == "dump" {printf "%d", $3 / 1000}'; }

for size in $SIZES; do
	for rep in $(seq "$REPS"); do
		for method in runc rt rt-precopy; do
			say "size $size MiB, rep $rep: checkpoint with $method"
			bin=$RT extra=()
			case $method in
			runc) bin=$RUNC ;;
			rt-precopy) extra=(--pre-copy) ;;
			esac
			root=$W/root-$method id=dt
			bundle "$W/b" "$size"
			rm -rf "$W/img-$method" "$W/work-$method"
			(cd "$W/b" && "$bin" --root "$root" run -d dt </dev/null >/dev/null 2>&1) || die "$method run"
			running "$bin" "$root" "$id"
			sleep 3 # the working set at its steady rate
			t0=$EPOCHREALTIME
			"$bin" --root "$root" checkpoint --leave-running "${extra[@]}" \
				--image-path "$W/img-$method" --work-path "$W/work-$method" "$id" >/dev/null ||
				die "$method checkpoint"
			row "$size" "$method" checkpoint "$(ms_since "$t0")"
			row "$size" "$method" frozen "$(frozen_ms "$W/work-$method")"
			"$bin" --root "$root" delete -f "$id"

			restores=("$method")
			[ "$method" = rt ] && restores=(rt rt-lazy)
			[ "$method" = rt-precopy ] && restores=()
			for r in "${restores[@]}"; do
				say "size $size MiB, rep $rep: restore with $r"
				ropt=()
				[ "$r" = rt-lazy ] && ropt=(--lazy)
				rm -rf "$W/rwork"
				t0=$EPOCHREALTIME
				(cd "$W/b" && "$bin" --root "$root" restore -d "${ropt[@]}" --image-path "$W/img-$method" \
					--work-path "$W/rwork" "$id" </dev/null >/dev/null 2>&1) || die "$r restore"
				row "$size" "$r" running "$(ms_since "$t0")"
				ask "$(pid_of "$bin" "$root" "$id")" || die "$r: no answer"
				row "$size" "$r" answer "$(ms_since "$t0")"
				if [ "$r" = rt-lazy ]; then
					while [ "$("$RT" --root "$root" state "$id" | jq -r .lazyPages.state)" = copying ]; do
						sleep 0.05
					done
					row "$size" "$r" all "$("$RT" --root "$root" state "$id" | jq -r .lazyPages.copyMs)"
				else
					row "$size" "$r" all "$(ms_since "$t0")" # memory is all back when it runs
				fi
				"$bin" --root "$root" delete -f "$id"
			done
		done
	done
done

# The table: medians over the repetitions.
{
	echo "| MiB | checkpoint: runc frozen / wall | rt frozen / wall | rt --pre-copy frozen / wall | restore: runc running / answer | rt running / answer | rt --lazy running / answer / all back |"
	echo "|---|---|---|---|---|---|---|"
	for size in $SIZES; do
		med() { awk -F'\t' -v s="$size" -v m="$1" -v p="$2" '$1 == s && $2 == m && $3 == p {print $4}' "$TSV" | sort -n |
			awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
		echo "| $size | $(med runc frozen) / $(med runc checkpoint) | $(med rt frozen) / $(med rt checkpoint) | $(med rt-precopy frozen) / $(med rt-precopy checkpoint) | $(med runc running) / $(med runc answer) | $(med rt running) / $(med rt answer) | $(med rt-lazy running) / $(med rt-lazy answer) / $(med rt-lazy all) |"
	done
	echo
	echo "Milliseconds, medians of $REPS; $(tr '\n' ';' <"$OUT/env-downtime.txt")"
} >"$OUT/downtime.md"
cat "$OUT/downtime.md"
