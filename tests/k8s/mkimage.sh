#!/bin/bash
# tests/k8s/mkimage.sh ROOTFS NAME OUT.tar [CMD...] - an OCI image archive of
# ROOTFS as one layer, named NAME (e.g. docker.io/library/busybox:latest),
# that `ctr images import` takes: no registry is reachable here.
#
# The first piece of the Kubernetes/CRI stage (issue 16), which is not built
# yet: checked by hand by importing a busybox and a pause image made with it
# into containerd v2.4.2 (built with go install) with Debian's ctr.
set -euo pipefail
rootfs=$1 name=$2 out=$3
shift 3
cmd=$(jq -cn '$ARGS.positional' --args -- "${@:-sh}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"
blob() { # FILE MEDIATYPE -> descriptor JSON; moves FILE into blobs/
	local d s
	d=$(sha256sum "$1" | cut -d' ' -f1)
	s=$(stat -c %s "$1")
	mv "$1" "$work/blobs/sha256/$d"
	jq -cn --arg m "$2" --arg d "sha256:$d" --argjson s "$s" '{mediaType: $m, digest: $d, size: $s}'
}
tar -C "$rootfs" --numeric-owner -cf "$work/layer" .
diffid=sha256:$(sha256sum "$work/layer" | cut -d' ' -f1)
layer=$(blob "$work/layer" application/vnd.oci.image.layer.v1.tar)
jq -cn --argjson cmd "$cmd" --arg diff "$diffid" '{architecture: "amd64", os: "linux",
	config: {Cmd: $cmd, Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
	rootfs: {type: "layers", diff_ids: [$diff]}}' >"$work/config"
config=$(blob "$work/config" application/vnd.oci.image.config.v1+json)
jq -cn --argjson c "$config" --argjson l "$layer" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l]}' >"$work/manifest"
manifest=$(blob "$work/manifest" application/vnd.oci.image.manifest.v1+json)
jq -cn --argjson m "$manifest" --arg n "$name" '{schemaVersion: 2, manifests: [$m + {annotations: {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": ($n | sub(".*:"; ""))}}]}' >"$work/index.json"
echo '{"imageLayoutVersion": "1.0.0"}' >"$work/oci-layout"
tar -C "$work" -cf "$out" oci-layout index.json blobs
