#!/usr/bin/env bash
# tests/vm/pair.sh - two hosts for migration tests: two VMs of the lane
# (tests/vm/lane.sh) booted together, their NICs joined by qemu's socket
# network over the host's loopback.
#
# usage: tests/vm/pair.sh [--timeout SEC] [--mem SIZE] -- CMD [ARGS...]
#
#   host a (10.99.0.1, hostname rt-vm-a) runs CMD: the test driver, the
#          migration source;
#   host b (10.99.0.2, hostname rt-vm-b) runs sshd (root, key only) and
#          waits until CMD is done: the migration destination.
#
# Each VM has its own kernel, CRIU, /tmp and rt root; both see the host's /
# read-only and the current directory read-write, as in lane.sh. CMD finds
#   RT_PAIR_PEER=10.99.0.2     b's address, also the ssh host alias "peer"
#   RT_PAIR_SELF=10.99.0.1
#   RT_PAIR_DIR=DIR            a directory both VMs share read-write
# and `ssh peer CMD` works as root (a key made for this run). Prints CMD's
# output; exits with its status (125: a VM did not come up).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 125
REPO=$(pwd -P)
TIMEOUT=1800 MEM=2G
while (($#)); do
	case $1 in
	--timeout) TIMEOUT=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
(($#)) || { sed -n '2,20p' "$0" >&2; exit 125; }
for t in sshd ssh ssh-keygen; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] ||
		{ echo "pair.sh: $t is missing (apt-get install openssh-server openssh-client)" >&2; exit 125; }
done

DIR=$(mktemp -d /var/tmp/rt-pair.XXXXXX)
B_PID=
cleanup() {
	[ -z "$B_PID" ] || { kill "$B_PID" 2>/dev/null; wait "$B_PID" 2>/dev/null; } || true
	rm -rf "$DIR"
}
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -C rt-pair -f "$DIR/id"

# a free port on the host's loopback for the socket network
while :; do
	PORT=$((30000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
net() { # MAC LISTEN|CONNECT
	echo "-netdev socket,id=n0,$2=127.0.0.1:$PORT -device virtio-net-pci,netdev=n0,mac=$1"
}

export RT_PAIR_DIR=$DIR RT_PAIR_PEER=10.99.0.2 RT_PAIR_SELF=10.99.0.1
# b first: its qemu listens, a's connects. b's kernel console goes to its
# log, which is printed when the run fails: a host b that stops answering
# in the middle of a suite leaves its kernel's last words there.
RT_VM_QEMU_ARGS="$(net 52:54:00:99:00:02 listen)" \
	tests/vm/lane.sh --console --timeout "$TIMEOUT" --mem "$MEM" --share "$DIR" -- \
	tests/vm/pair-host.sh b >"$DIR/b.log" 2>&1 &
B_PID=$!
for ((i = 0; i < 600; i++)); do
	ss -ltn "sport = :$PORT" | grep -q LISTEN && break
	kill -0 "$B_PID" 2>/dev/null || break
	sleep 0.1
done
ss -ltn "sport = :$PORT" | grep -q LISTEN || {
	echo "pair.sh: host b's VM did not start:" >&2
	cat "$DIR/b.log" >&2
	exit 125
}
rc=0
RT_VM_QEMU_ARGS="$(net 52:54:00:99:00:01 connect)" \
	tests/vm/lane.sh --timeout "$TIMEOUT" --mem "$MEM" --share "$DIR" -- \
	tests/vm/pair-host.sh a "$@" || rc=$?
touch "$DIR/a.done" # b waits for it (also when a died early)
for ((i = 0; i < 300; i++)); do
	kill -0 "$B_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$rc" -ne 0 ]; then
	echo "pair.sh: host b's log:" >&2
	tail -n 20 "$DIR/b.log" >&2
fi
exit "$rc"
