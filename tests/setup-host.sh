#!/usr/bin/env bash
# setup-host.sh - install what building and testing rt needs on a Debian 12
# host: the cgo/seccomp toolchain, bats, the test rootfs source
# (busybox-static), the VM lane (qemu, kmod, xz, criu), and the engines
# (docker.io, containerd) that the engine tests drive, and the CNI plugins
# of the Kubernetes/CRI stage. Idempotent.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-host: run as root (a root shell, or sudo make ... where sudo is installed): it installs Debian packages and the tests create containers" >&2
	exit 1
fi

PKGS=(
	gcc make git pkg-config libseccomp-dev          # build (cgo, seccomp tag)
	bats jq util-linux procps iproute2 psmisc       # tests
	busybox-static                                  # test rootfs, VM initramfs
	qemu-system-x86 kmod xz-utils criu iptables     # VM lane for checkpoint/restore
	nftables                                        # CRIU network-lock nftables
	docker.io containerd                            # engine tests
	containernetworking-plugins                     # CNI for the CRI stage (tests/k8s)
	openssh-server openssh-client                   # two-host lane (tests/vm/pair.sh)
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	# Keep apt from starting the docker/containerd services it installs:
	# the tests start their own daemons on private sockets.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
	fi
	export DEBIAN_FRONTEND=noninteractive
	for try in 1 2 3; do
		apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" && break
		echo "setup-host: apt-get failed (try $try), retrying" >&2
		sleep 10
	done
fi
command -v go >/dev/null || { echo "setup-host: Go is required (https://go.dev/dl/)" >&2; exit 1; }
echo "setup-host: ok"
