#!/usr/bin/env bash
# tests/k8s/build.sh CACHE - build the Kubernetes-side tools of the CRI stage
# from their Go modules (no registry or release download is reachable here)
# and print the directory that holds them:
#   containerd, containerd-shim-runc-v2, ctr   github.com/containerd/containerd/v2
#   crictl                                     sigs.k8s.io/cri-tools
#   kubelet                                    k8s.io/kubernetes
# Built once per version into CACHE/k8s-<versions>/bin (about 80 s on 2 cores).
#
# containerd is v2.3: the newest line that restores a container through CRI
# (CreateContainer with a checkpoint archive as its image, behind
# enable_experimental_restore_via_create). containerd 2.4 removed that path;
# its CRI checkpoint is the same as 2.3's. See docs/kubernetes.md.
set -euo pipefail
CONTAINERD_VERSION=${RT_K8S_CONTAINERD_VERSION:-v2.3.7}
CRITOOLS_VERSION=${RT_K8S_CRITOOLS_VERSION:-v1.37.0}
KUBERNETES_VERSION=${RT_K8S_KUBERNETES_VERSION:-v1.36.3}
cache=${1:?usage: tests/k8s/build.sh CACHE}
dir=$cache/k8s-containerd-$CONTAINERD_VERSION-crictl-$CRITOOLS_VERSION-kubelet-$KUBERNETES_VERSION
bin=$dir/bin
if [ -x "$bin/containerd" ] && [ -x "$bin/containerd-shim-runc-v2" ] &&
	[ -x "$bin/ctr" ] && [ -x "$bin/crictl" ] && [ -x "$bin/kubelet" ]; then
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

# The kubelet: `go install k8s.io/kubernetes/cmd/kubelet@V` is refused (its
# go.mod replaces the k8s.io/* staging modules with ./staging paths, which
# the module zip does not hold). A throw-away main module requires
# k8s.io/kubernetes and points each staging module at its published
# v0.X.Y, the same code. About 3 minutes on 2 cores.
mod=$tmp/kubelet-module
mkdir -p "$mod"
gomod=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | jq -r .GoMod)
staging_version=v0.${KUBERNETES_VERSION#v1.}
{
	printf 'module rt.test/kubelet\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$(go env GOVERSION | sed 's/^go//')" "$KUBERNETES_VERSION"
	awk -v v="$staging_version" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " v}' "$gomod"
	printf ')\n'
} >"$mod/go.mod"
printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kubelet/app"\n' >"$mod/deps.go"
(cd "$mod" && GOFLAGS=-mod=mod go mod tidy >&2 &&
	GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
		-ldflags "-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION" \
		-o "$tmp/kubelet" k8s.io/kubernetes/cmd/kubelet >&2)
rm -rf "$mod"

rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
echo "$bin"
