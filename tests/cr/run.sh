#!/usr/bin/env bash
# tests/cr/run.sh - rt's checkpoint/restore suite (bats), run once.
#
# usage: tests/cr/run.sh [FILE.bats...]        (default: every tests/cr/*.bats)
#
# Builds what the suite needs on the host (rt only if ./rt is missing, the
# recvtty and crhelper test tools, a busybox rootfs), then runs bats here if
# `criu check` passes on this host, else boots the VM lane ONCE and runs bats
# inside it (tests/vm/lane.sh -- tests/cr/run.sh --inside FILES).
# Prints TAP, then "N passed, N failed, N skipped".  Exit status 0 only if
# nothing failed.  A lane that does not boot, a CRIU that does not work, or a
# run that stops early counts as failed: a C/R suite never passes by skipping.
#
# Environment:
#   RT_CR_FILTER=REGEX   only tests whose name matches (bats -f)
#   RT_CR_TIMEOUT=SEC    limit for the whole VM run (default 5400)
#   RT_CR_WAIT=SEC       how long a test waits for a counter, a file... (default 60)
#   RT_CR_MEM=SIZE       guest memory (default 2G)
#   RT_CR_LANE=pair      boot two VMs (tests/vm/pair.sh) and run on the first;
#                        `ssh peer` reaches the second (migration tests)
#   RT_CR_CACHE=DIR      where the host-built tools are staged (default /var/tmp/rt-cr;
#                        under /var/tmp because the guest sees the host's / read-only)
#   RT_CR_KEEP=1         keep the staged tools (their directory is printed)
#   RT_CR_PSLOG=FILE     where CRIU runs, append a process list (with wait
#                        channels and cgroups) to FILE every 15 s, to see what
#                        a hanging test waits for; FILE must be on a path the
#                        lane shares read-write (under the repository)
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
REPO=$(pwd -P)

# shellcheck source=../lib/tap.bash
. tests/lib/tap.bash

# run_bats FILES...: runs where CRIU works (here, or inside the lane).
run_bats() {
	local out rc
	export TMPDIR=/tmp # test dirs and CRIU sockets must not be on a 9p share
	if ! out=$(criu check 2>&1); then
		echo "1..1"
		echo "not ok 1 - criu check fails where the suite runs ($(uname -r))"
		echo "$out" | sed 's/^/# /'
		return 1
	fi
	echo "# criu check: $(echo "$out" | tail -n 1) (kernel $(uname -r), $(criu --version | head -n 1))"
	# A local copy of the rootfs: copying it per test from 9p would be slow.
	if [ "${RT_VM:-}" = 1 ]; then
		local local_rootfs=/tmp/rt-cr-rootfs
		rm -rf "$local_rootfs"
		cp -a "$RT_CR_ROOTFS" "$local_rootfs" || return 1
		export RT_CR_ROOTFS=$local_rootfs
	fi
	local args=(--tap --timing)
	[ -n "${RT_CR_FILTER:-}" ] && args+=(-f "$RT_CR_FILTER")
	rc=0
	bats "${args[@]}" "$@" || rc=$?
	return "$rc"
}

if [ "${1:-}" = --inside ]; then
	shift
	if [ -n "${RT_CR_PSLOG:-}" ]; then
		# Kernel threads ([name]) left out; the loop ends with the VM.
		(while :; do
			{
				date +%T
				ps -eo pid,ppid,stat,pcpu,wchan:22,cgroup:40,args | grep -v ' \[' | cut -c1-220
			} >>"$RT_CR_PSLOG"
			sleep 15
		done) &
	fi
	run_bats "$@"
	exit
fi

# ------------------------------------------------------------ on the host
START=$(date +%s)
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(tests/cr/*.bats)
for i in "${!FILES[@]}"; do
	f=${FILES[$i]}
	[ -f "$f" ] || [ ! -f "tests/cr/$f" ] || f=tests/cr/$f
	[ -f "$f" ] || { echo "tests/cr/run.sh: no such bats file: ${FILES[$i]}" >&2; exit 2; }
	FILES[$i]=$(cd "$(dirname "$f")" && pwd -P)/$(basename "$f")
done

LOG=$(mktemp /tmp/rt-cr-log.XXXXXX)
CACHE=${RT_CR_CACHE:-/var/tmp/rt-cr}
mkdir -p "$CACHE"
STAGE=$(mktemp -d "$CACHE/run.XXXXXX")
cleanup() {
	rm -f "$LOG"
	if [ "${RT_CR_KEEP:-0}" = 1 ]; then echo "# staged tools kept in $STAGE"; else rm -rf "$STAGE"; fi
}
trap cleanup EXIT

# build_fail WHAT: the suite cannot run; say so as TAP and fail.
build_fail() {
	echo "1..1"
	echo "not ok 1 - $1"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

if [ ! -x ./rt ]; then
	echo "# ./rt is missing: make rt"
	make rt >&2 || build_fail "make rt failed"
fi
if [ ! -x ./rt-inspect ]; then
	echo "# ./rt-inspect is missing: make rt-inspect"
	make rt-inspect >&2 || build_fail "make rt-inspect failed"
fi
# A private copy: the binary under test must not change under the suite.
# rt-inspect goes next to it: rt inspect-checkpoint looks for it there.
cp ./rt "$STAGE/rt" || build_fail "cannot copy ./rt to $STAGE"
cp ./rt-inspect "$STAGE/rt-inspect" || build_fail "cannot copy ./rt-inspect to $STAGE"
go build -o "$STAGE/recvtty" ./tests/lib/recvtty >&2 || build_fail "cannot build tests/lib/recvtty"
CGO_ENABLED=0 go build -o "$STAGE/crhelper" ./tests/cr/crhelper >&2 ||
	build_fail "cannot build tests/cr/crhelper"
# checkpointctl, to check that it reads rt's archives (image.bats). v1.6.0:
# v1.7.0 needs go-criu/v8, which the module proxy here does not serve.
CCTL_VERSION=v1.6.0
if [ ! -x "$CACHE/checkpointctl-$CCTL_VERSION" ]; then
	mkdir -p "$CACHE/gobin.$$"
	GOBIN=$CACHE/gobin.$$ CGO_ENABLED=0 GOFLAGS=-mod=mod \
		go install "github.com/checkpoint-restore/checkpointctl@$CCTL_VERSION" >&2 &&
		mv "$CACHE/gobin.$$/checkpointctl" "$CACHE/checkpointctl-$CCTL_VERSION"
	rm -rf "$CACHE/gobin.$$"
fi
cp "$CACHE/checkpointctl-$CCTL_VERSION" "$STAGE/checkpointctl" ||
	build_fail "cannot build checkpointctl $CCTL_VERSION (go install github.com/checkpoint-restore/checkpointctl@$CCTL_VERSION)"
tests/lib/mkrootfs.sh "$STAGE/rootfs" >&2 || build_fail "tests/lib/mkrootfs.sh failed"
[ -x "$STAGE/rootfs/bin/busybox" ] || build_fail "tests/lib/mkrootfs.sh made no busybox rootfs"
for tool in bats jq criu setsid; do
	command -v "$tool" >/dev/null || build_fail "$tool is not installed"
done

export RT_CR_RT=$STAGE/rt RT_CR_RECVTTY=$STAGE/recvtty RT_CR_HELPER=$STAGE/crhelper
export RT_CR_CHECKPOINTCTL=$STAGE/checkpointctl
export RT_CR_ROOTFS=$STAGE/rootfs

rc=0
if criu check >/dev/null 2>&1; then
	echo "# criu works natively: running the suite on this host"
	run_bats "${FILES[@]}" 2>&1 | tee "$LOG"
	rc=${PIPESTATUS[0]}
else
	why=$({ criu check 2>&1 || true; } | grep -m1 -iE 'error' || true)
	[ -n "$why" ] || why=$({ criu check 2>&1 || true; } | head -n 1)
	echo "# host CRIU cannot work here: ${why:-criu check failed}; using the VM lane"
	# RT_CR_LANE=pair: two hosts (tests/vm/pair.sh), the suite on host a
	lane=tests/vm/lane.sh
	[ "${RT_CR_LANE:-}" != pair ] || lane=tests/vm/pair.sh
	"$lane" --timeout "${RT_CR_TIMEOUT:-5400}" --mem "${RT_CR_MEM:-2G}" -- \
		tests/cr/run.sh --inside "${FILES[@]}" 2>&1 | tee "$LOG"
	rc=${PIPESTATUS[0]}
	case $rc in
	124) echo "# the VM lane timed out after ${RT_CR_TIMEOUT:-5400}s" ;;
	125) echo "# the VM lane failed: the VM did not boot or died before reporting a status" ;;
	esac
fi
echo "# took $(($(date +%s) - START))s"
tap_summary "$LOG" "$rc"
