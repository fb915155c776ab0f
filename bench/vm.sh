#!/bin/bash
# bench/vm.sh OUT - the part of bench/run.sh that runs inside the VM lane
# (tests/vm/lane.sh), in one boot: lifecycle with crun (cgroup2 is mounted
# here), then checkpoint/restore (bench/cr.sh) and its profile
# (bench/cr-profile.sh).  OUT holds bin/ (rt, runc, benchtool) and rootfs/,
# staged by run.sh on the host.
#
# Environment: BENCH_VM_PARTS (default "lifecycle cr profile"),
# BENCH_VM_SEQ/RUN/ROUNDS (lifecycle counts here; 20/20/2), plus what
# cr.sh and cr-profile.sh read.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OUT=${1:?usage: vm.sh OUT}
[ "${RT_VM:-}" = 1 ] || die "vm.sh runs inside the VM lane (bench/run.sh starts it)"
PARTS=${BENCH_VM_PARTS:-lifecycle cr profile}
W=${BENCH_WORK:-/tmp/bench}
export BENCH_WORK=$W

# The guest's /tmp is a tmpfs of half the RAM by default; images, archives
# and docker's copies of a 1 GiB checkpoint need more.
mount -o remount,size=${BENCH_VM_TMPFS:-80%} /tmp || die "cannot resize /tmp"
rm -rf "$W"
mkdir -p "$W/bin"
# Binaries and rootfs on the guest's tmpfs: nothing timed runs from 9p.
cp "$OUT/bin/rt" "$OUT/bin/runc" "$OUT/bin/benchtool" "$W/bin/" || die "cannot stage binaries"
cp -a "$OUT/rootfs" "$W/rootfs" || die "cannot stage rootfs"
(cd "$W" && "$W/bin/rt" spec) || die "rt spec failed"

{
	echo "guest.kernel: $(uname -r)"
	echo "guest.cpus: $(nproc)"
	echo "guest.cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "guest.mem: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
	echo "guest.tmp: $(df -h /tmp | awk 'NR == 2 {print $2}') tmpfs"
	echo "guest.cgroup: $(stat -f -c %T /sys/fs/cgroup)"
	echo "guest.criu: $(criu --version | head -n 1)"
	echo "guest.loadavg.start: $(cat /proc/loadavg)"
} >"$OUT/env-vm.txt"

# Warm-up: CRIU computes its kernel data once (/run/criu.kdat), the first
# runs pay for it and for cold caches.
criu check >/dev/null 2>&1 || { criu check; die "criu check fails in the guest"; }
BENCH_SIZES=16 BENCH_REPS=1 BENCH_METHODS="copy bare runc rt" BENCH_VERIFY_REPS=0 \
	bash "$BENCH_DIR/cr.sh" "$W/warmup" >/dev/null 2>&1 || true

rc=0
for part in $PARTS; do
	case $part in
	lifecycle)
		BENCH_SEQ=${BENCH_VM_SEQ:-20} BENCH_RUN=${BENCH_VM_RUN:-20} BENCH_ROUNDS=${BENCH_VM_ROUNDS:-2} \
		BENCH_BENCHTOOL=$W/bin/benchtool \
			"$BENCH_DIR/lifecycle.sh" vm "$OUT" rt="$W/bin/rt" runc-1.4.3="$W/bin/runc" \
			runc-1.1.5=/usr/sbin/runc crun=/usr/bin/crun || rc=1
		;;
	cr) "$BENCH_DIR/cr.sh" "$OUT" || rc=1 ;;
	profile) "$BENCH_DIR/cr-profile.sh" "$OUT" || rc=1 ;;
	*) die "unknown part $part" ;;
	esac
done
echo "guest.loadavg.end: $(cat /proc/loadavg)" >>"$OUT/env-vm.txt"
exit "$rc"
