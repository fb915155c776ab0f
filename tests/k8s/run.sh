#!/usr/bin/env bash
# tests/k8s/run.sh - the Kubernetes/CRI stage: rt as the runc binary behind
# containerd 2.x's CRI plugin, driven with crictl, checkpoint and restore
# through CRI included.
#
# usage: tests/k8s/run.sh [FILE.bats...]       (default: tests/k8s/*.bats)
#
# Builds containerd, its runc shim, ctr and crictl from their Go modules
# (tests/k8s/build.sh, cached under RT_CR_CACHE), then runs the files through
# tests/cr/run.sh: one boot of the VM lane, where CRIU works and root has
# every capability (CRI's pod sandbox sets oom_score_adj -998, which needs
# CAP_SYS_RESOURCE, missing from this host's root shell).
# Prints TAP, then "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
CACHE=${RT_CR_CACHE:-/var/tmp/rt-cr}
FILES=("$@")
[ ${#FILES[@]} -gt 0 ] || FILES=(tests/k8s/*.bats)
mkdir -p "$CACHE"
if ! bin=$(tests/k8s/build.sh "$CACHE"); then
	echo "1..1"
	echo "not ok 1 - tests/k8s/build.sh could not build containerd and crictl"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
for t in /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback; do
	if [ ! -x "$t" ]; then
		echo "1..1"
		echo "not ok 1 - $t is missing (apt-get install containernetworking-plugins)"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done
export RT_K8S_BIN=$bin
exec tests/cr/run.sh "${FILES[@]}"
