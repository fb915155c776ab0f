#!/bin/bash
# bench/migrate.sh - downtime and total time of moving a container to
# another host (issue 15), in one boot of the two-VM lane
# (tests/vm/pair.sh). Never asserts a timing.
#
#   bench/migrate.sh                 # stage on the host, boot the pair, print the table
#   bench/migrate.sh --inside OUT    # (on host a of the pair)
#
# A container runs `crhelper memhog SIZE 16 16 7000`: it holds SIZE MiB,
# rewrites a 16 MiB working set at 16 MiB/s and answers on TCP port 7000 in
# an engine-style network namespace (made on both hosts, joined by path).
# For each size, two ways to move it from host a to host b:
#   stop-and-copy, by hand: rt checkpoint (the container stops), the images
#     copied with tar over ssh, rt restore there;
#   rt migrate: one command (pre-copy rounds while it runs, then the final
#     dump, restore, commit);
#   rt migrate --lazy: the same, but the final dump leaves the last dirty
#     pages on host a; host b runs the container at once and fetches them
#     (post-copy).
# Figures, in ms, measured on host a (the two VMs' clocks are not the same):
#   frozen: from the freeze until the destination runs it (stop-and-copy:
#     from the checkpoint's start until rt restore returned there; rt
#     migrate: its frozenMs);
#   answer: from the freeze until the server answered on the destination
#     (a client asked through the ssh connection already open);
#   total: from the command's start until the server answered there
#     (--lazy: or until every page was there, whichever is later).
# Rows go to OUT/migrate.tsv; the table to OUT/migrate.md and stdout.
#
# Environment: BENCH_MG_SIZES (MiB, default "512 1024"), BENCH_MG_REPS
# (default 1), BENCH_MG_METHODS (default "stop-and-copy rt-migrate
# rt-migrate-lazy"), BENCH_VM_MEM (per VM, default 6G).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$BENCH_DIR/.." || exit 2

SIZES=${BENCH_MG_SIZES:-512 1024}
REPS=${BENCH_MG_REPS:-1}
METHODS=${BENCH_MG_METHODS:-stop-and-copy rt-migrate rt-migrate-lazy}
want() { [[ " $METHODS " == *" $1 "* ]]; }
PORT=7000

if [ "${1:-}" != --inside ]; then
	OUT=bench/out/migrate-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$OUT/bin" || die "cannot create $OUT"
	make rt >&2 || die "make rt failed"
	cp ./rt "$OUT/bin/rt" || die "cannot stage rt"
	CGO_ENABLED=0 go build -o "$OUT/bin/crhelper" ./tests/cr/crhelper || die "cannot build crhelper"
	tests/lib/mkrootfs.sh "$OUT/rootfs" >&2 || die "mkrootfs failed"
	cp "$OUT/bin/crhelper" "$OUT/rootfs/bin/crhelper"
	tests/vm/pair.sh --timeout "${BENCH_VM_TIMEOUT:-7200}" --mem "${BENCH_VM_MEM:-6G}" -- \
		bench/migrate.sh --inside "$(pwd -P)/$OUT"
	rc=$?
	[ -f "$OUT/migrate.md" ] && cat "$OUT/migrate.md"
	exit "$rc"
fi

# ------------------------------------------------------------ on host a
OUT=${2:?usage: migrate.sh --inside OUT}
[ -n "${RT_PAIR_PEER:-}" ] || die "--inside runs on host a of tests/vm/pair.sh"
W=/tmp/mg
RT=$OUT/bin/rt
HELPER=$OUT/bin/crhelper
ROOT=$W/root
for h in self peer; do
	on() { if [ "$h" = self ]; then bash -c "$1"; else ssh peer "$1"; fi; }
	on "mount -o remount,size=80% /tmp && rm -rf $W && mkdir -p $W &&
		ip netns add mg && ip -n mg link set lo up" || die "cannot prepare host $h"
done
{
	echo "guest.kernel: $(uname -r)"
	echo "guest.cpus: $(nproc) per VM, two VMs"
	echo "guest.mem: $(free -m | awk '/^Mem:/ {print $2 " MiB"}') per VM"
	echo "guest.criu: $(criu --version | head -n 1)"
	echo "ssh: $(ssh -V 2>&1)"
	echo "rt: $("$RT" --version | head -n 1)"
} >"$OUT/env-migrate.txt"

TSV=$OUT/migrate.tsv
printf 'size\tmethod\tphase\tms\n' >"$TSV"

# bundle SIZE: the bundle $W/b running memhog, here and (copied) on the peer.
bundle() {
	memhog_bundle "$W/b" "$1" /var/run/netns/mg
	ssh peer "rm -rf $W/b $W/img" || die "cleaning the peer"
	tar -C "$W" -c b | ssh peer "tar -C $W -x" || die "copying the bundle"
}

start() {
	local n=1200
	(cd "$W/b" && "$RT" --root "$ROOT" run -d mg </dev/null >/dev/null 2>&1) || die "rt run"
	until grep -q '^t[0-9]* [0-9]' "$W/b/rootfs/tmp/cnt" 2>/dev/null; do
		((n-- > 0)) || die "memhog does not count"
		sleep 0.05
	done
	sleep 3 # the working set at its steady rate
}

# ask_peer: the server answers in the peer's netns (through the open ssh
# connection: ControlMaster, tests/vm/pair-host.sh).
ask_peer() { ssh peer "nsenter --net=/var/run/netns/mg $HELPER ask $PORT" >/dev/null; }

for size in $SIZES; do
	for rep in $(seq "$REPS"); do
		if want stop-and-copy; then
			say "size $size MiB, rep $rep: stop-and-copy"
			bundle "$size"
			start
			t0=$EPOCHREALTIME
			"$RT" --root "$ROOT" checkpoint --image-path "$W/img" mg || die "checkpoint"
			tar -C "$W/img" -c . | ssh peer "mkdir -p $W/img && tar -C $W/img -x" || die "copying the images"
			ssh peer "cd $W/b && $RT --root $ROOT restore -d --image-path $W/img mg </dev/null >/dev/null 2>&1" || die "restore there"
			row "$size" stop-and-copy frozen "$(ms_since "$t0")"
			ask_peer || die "no answer there"
			row "$size" stop-and-copy answer "$(ms_since "$t0")"
			row "$size" stop-and-copy total "$(ms_since "$t0")"
			ssh peer "$RT --root $ROOT delete -f mg; rm -rf $W/img"
			rm -rf "$W/img"
		fi
		for method in rt-migrate rt-migrate-lazy; do
			want "$method" || continue
			args=()
			[ "$method" = rt-migrate-lazy ] && args=(--lazy)
			say "size $size MiB, rep $rep: rt migrate ${args[*]}"
			bundle "$size"
			start
			t0=$EPOCHREALTIME
			# the client asks as soon as the destination may run it: for
			# --lazy that is before rt migrate returns (it waits for the
			# last page), so it asks in the background, from the start
			ask_at=
			if [ "$method" = rt-migrate-lazy ]; then
				# (crhelper ask retries for 60 s while nothing listens)
				(until ask_peer 2>/dev/null; do sleep 0.1; done
					ms_since "$t0" >"$W/answered") &
				ask_at=$!
			fi
			"$RT" --root "$ROOT" migrate "${args[@]}" --print-stats mg "ssh://$RT_PAIR_PEER" >"$W/stats.json" || die "rt migrate ${args[*]}"
			if [ -n "$ask_at" ]; then
				wait "$ask_at" || die "no answer there"
				answered=$(cat "$W/answered")
			else
				ask_peer || die "no answer there"
				answered=$(ms_since "$t0")
			fi
			total=$(ms_since "$t0")
			((answered > total)) && total=$answered
			cp "$W/stats.json" "$OUT/stats-$method-$size-$rep.json"
			row "$size" "$method" frozen "$(jq .frozenMs "$W/stats.json")"
			# frozenAtMs: from rt's start until the freeze
			row "$size" "$method" answer "$((answered - $(jq .frozenAtMs "$W/stats.json")))"
			row "$size" "$method" total "$total"
			row "$size" "$method" rounds "$(jq '.preCopyRounds | length' "$W/stats.json")"
			ssh peer "$RT --root $ROOT delete -f mg"
		done
	done
done

# median of a method's phase at a size
med() { awk -F'\t' -v s="$1" -v m="$2" -v p="$3" '$1 == s && $2 == m && $3 == p {print $4}' "$TSV" |
	sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
{
	echo "| MiB | method | frozen | answer | total | rounds | answer / stop-and-copy | total / stop-and-copy |"
	echo "|---|---|---|---|---|---|---|---|"
	for size in $SIZES; do
		sa=$(med "$size" stop-and-copy answer) st=$(med "$size" stop-and-copy total)
		for method in $METHODS; do
			ma=$(med "$size" "$method" answer) mt=$(med "$size" "$method" total)
			printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$method" \
				"$(med "$size" "$method" frozen)" "$ma" "$mt" "$(med "$size" "$method" rounds)" \
				"$(awk -v a="$ma" -v b="$sa" 'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}')" \
				"$(awk -v a="$mt" -v b="$st" 'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}')"
		done
	done
} >"$OUT/migrate.md"
