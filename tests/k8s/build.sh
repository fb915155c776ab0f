#!/usr/bin/env bash
# tests/k8s/build.sh CACHE - build the Kubernetes-side tools of the CRI stage
# from their Go modules (no registry or release download is reachable here)
# and print the directory that holds them:
#   containerd, containerd-shim-runc-v2, ctr   github.com/containerd/containerd/v2
#   crictl                                     sigs.k8s.io/cri-tools
# Built once per version into CACHE/k8s-<versions>/bin (about 80 s on 2 cores).
#
# containerd is v2.3: the newest line that restores a container through CRI
# (CreateContainer with a checkpoint archive as its image, behind
# enable_experimental_restore_via_create). containerd 2.4 removed that path;
# its CRI checkpoint is the same as 2.3's. See docs/kubernetes.md.
set -euo pipefail
CONTAINERD_VERSION=${RT_K8S_CONTAINERD_VERSION:-v2.3.7}
CRITOOLS_VERSION=${RT_K8S_CRITOOLS_VERSION:-v1.37.0}
cache=${1:?usage: tests/k8s/build.sh CACHE}
dir=$cache/k8s-containerd-$CONTAINERD_VERSION-crictl-$CRITOOLS_VERSION
bin=$dir/bin
if [ -x "$bin/containerd" ] && [ -x "$bin/containerd-shim-runc-v2" ] &&
	[ -x "$bin/ctr" ] && [ -x "$bin/crictl" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/gobin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The module's own go.mod decides the dependencies (-mod=mod: we are not
# inside it); cgo as upstream builds it (containerd links seccomp helpers).
GOBIN=$tmp GOFLAGS=-mod=mod CGO_ENABLED=1 go install \
	"github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
	"github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" >&2
GOBIN=$tmp GOFLAGS=-mod=mod CGO_ENABLED=0 go install \
	"sigs.k8s.io/cri-tools/cmd/crictl@$CRITOOLS_VERSION" >&2
rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
echo "$bin"
