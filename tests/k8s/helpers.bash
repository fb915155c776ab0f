# tests/k8s/helpers.bash - for tests/k8s/cri.bats: a private containerd 2.x
# with its CRI plugin, rt behind its runc shim, driven with crictl.
#
# Set by tests/k8s/run.sh:
#   RT_K8S_BIN   containerd, containerd-shim-runc-v2, ctr, crictl (tests/k8s/build.sh)
#   RT_CR_*      as for tests/cr (the rt under test, the busybox rootfs,
#                checkpointctl)
#
# Everything lives under K8S_DIR=/tmp/rtk.XXXXXX (CRIU's sockets cannot live
# on the lane's 9p share):
#   containerd.toml, containerd.sock, root/, state/  containerd (CRI on)
#   rt                   wrapper: logs every argv to rt-calls.log, execs rt
#   rt-root/             rt's --root (the shim's "Root" option)
#   cni/                 CNI config: bridge rtk0 + host-local on 10.88.77.0/24, loopback
#   pods/                pod log directories
# Pods are made in cgroup parent /$K8S_NAME; k8s_stop removes the pods
# through CRI, stops containerd by pid, kills what is left in that cgroup
# and unmounts what is left under K8S_DIR.

K8S_BIN=${RT_K8S_BIN:-}
K8S_TIMEOUT=${RT_K8S_TIMEOUT:-300}
K8S_SUBNET=10.88.77.0/24
K8S_PAUSE_IMAGE=registry.k8s.io/pause:3.10
K8S_BUSYBOX_IMAGE=docker.io/library/busybox:rt-test
K8S_ANN=io.github.rt-runtime.checkpoint.

# crictl ARGS...: crictl against our containerd (timeouts for TCG).
crictl() {
	timeout -k 5 "$K8S_TIMEOUT" "$K8S_BIN/crictl" --config "$K8S_DIR/crictl.yaml" "$@" 3>&-
}

# kctr ARGS...: containerd's ctr in the CRI namespace.
kctr() {
	timeout -k 5 "$K8S_TIMEOUT" "$K8S_BIN/ctr" --address "$K8S_DIR/containerd.sock" --namespace k8s.io "$@" 3>&-
}

# k8s_rt ARGS...: rt on the root the shim gives it (Root/<namespace>).
k8s_rt() {
	"$RT_BIN" --root "$K8S_DIR/rt-root/k8s.io" "$@"
}

# k8s_versions: one line naming what the stage runs.
k8s_versions() {
	local ctrd crictl_v
	ctrd=$("$K8S_BIN/containerd" --version | awk '{print $3}')
	crictl_v=$(go version -m "$K8S_BIN/crictl" 2>/dev/null | awk '$1 == "mod" {print $3}')
	echo "containerd $ctrd (CRI; shim containerd-shim-runc-v2 $ctrd), crictl ${crictl_v:-?}," \
		"rt $("$RT_BIN" --version | head -n 1 | awk '{print $3}'), $(criu --version | head -n 1)," \
		"CNI plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null), kernel $(uname -r)"
}

# k8s_start: start containerd with CRI, CNI and rt as the runc binary of the
# "rt" runtime handler (also the default), and import the pause and busybox
# images made from the test rootfs.
k8s_start() {
	local i
	K8S_DIR=$(mktemp -d /tmp/rtk.XXXXXX)
	K8S_NAME=rtk-${K8S_DIR##*.}
	export K8S_DIR K8S_NAME
	mkdir -p "$K8S_DIR/cni" "$K8S_DIR/pods" "$K8S_DIR/rt-root" "$K8S_DIR/images"
	cat >"$K8S_DIR/rt" <<EOF
#!/bin/sh
echo "\$*" >>"$K8S_DIR/rt-calls.log"
exec "$RT_BIN" "\$@"
EOF
	chmod +x "$K8S_DIR/rt"
	cat >"$K8S_DIR/crictl.yaml" <<EOF
runtime-endpoint: unix://$K8S_DIR/containerd.sock
image-endpoint: unix://$K8S_DIR/containerd.sock
timeout: $K8S_TIMEOUT
EOF

	modprobe bridge 2>/dev/null || true
	modprobe veth 2>/dev/null || true
	cat >"$K8S_DIR/cni/10-rt-test.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "rt-test",
  "plugins": [
    {"type": "bridge", "bridge": "rtk0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$K8S_SUBNET"}]],
              "dataDir": "$K8S_DIR/cni-ipam"}},
    {"type": "loopback"}
  ]
}
EOF
	cat >"$K8S_DIR/containerd.toml" <<EOF
version = 3
root = "$K8S_DIR/root"
state = "$K8S_DIR/state"
[grpc]
  address = "$K8S_DIR/containerd.sock"
[ttrpc]
  address = "$K8S_DIR/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins.'io.containerd.internal.v1.opt']
  path = "$K8S_DIR/opt"
[plugins.'io.containerd.cri.v1.images']
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$K8S_PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  enable_experimental_restore_via_create = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$K8S_DIR/cni"
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "rt"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.rt]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["io.github.rt-runtime.*"]
      container_annotations = ["io.github.rt-runtime.*"]
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.rt.options]
        BinaryName = "$K8S_DIR/rt"
        Root = "$K8S_DIR/rt-root"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
	# containerd finds its shim in PATH: ours first, not Debian's 1.6 one.
	PATH=$K8S_BIN:$PATH "$K8S_BIN/containerd" --config "$K8S_DIR/containerd.toml" \
		</dev/null >"$K8S_DIR/containerd.log" 2>&1 3>&- &
	echo $! >"$K8S_DIR/containerd.pid"
	for ((i = SECONDS + 120; SECONDS < i; )); do
		[ -S "$K8S_DIR/containerd.sock" ] && crictl info >/dev/null 2>&1 && break
		kill -0 "$(cat "$K8S_DIR/containerd.pid")" 2>/dev/null || break
		sleep 0.2
	done
	crictl info >"$K8S_DIR/cri-info.json" 2>&1 || {
		echo "containerd's CRI did not come up:" >&2
		tail -n 30 "$K8S_DIR/containerd.log" >&2
		return 1
	}
	# Images: no registry is reachable, so both are made from the rootfs.
	"$RT_REPO/tests/k8s/mkimage.sh" "$RT_CR_ROOTFS" "$K8S_PAUSE_IMAGE" "$K8S_DIR/images/pause.tar" \
		sleep 2147483647 || return 1
	"$RT_REPO/tests/k8s/mkimage.sh" "$RT_CR_ROOTFS" "$K8S_BUSYBOX_IMAGE" "$K8S_DIR/images/busybox.tar" sh ||
		return 1
	kctr images import "$K8S_DIR/images/pause.tar" >/dev/null || return 1
	kctr images import "$K8S_DIR/images/busybox.tar" >/dev/null || return 1
	rm -rf "$K8S_DIR/images"
}

k8s_stop() {
	[ -n "${K8S_DIR:-}" ] && [ -d "$K8S_DIR" ] || return 0
	local pid d m i
	if [ -S "$K8S_DIR/containerd.sock" ]; then
		K8S_TIMEOUT=120 crictl rmp -fa >/dev/null 2>&1 || true
	fi
	pid=$(cat "$K8S_DIR/containerd.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# what the pods left (shims exit with their pods; this is the rest)
	for d in $(cgroup_dirs_under "$K8S_NAME"); do
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	done
	sleep 0.2
	for d in $(cgroup_dirs_under "$K8S_NAME"); do rmdir "$d" 2>/dev/null || true; done
	for m in $(awk -v d="$K8S_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	ip link del rtk0 2>/dev/null || true
	rm -rf "$K8S_DIR"
}

# ------------------------------------------------------------ pods

# pod_config NAME [ANNOTATIONS-JSON [JQ-FILTER]]: a pod sandbox config file,
# the filter applied last; prints its path.
pod_config() {
	local name=$1 ann=${2:-"{}"} filter=${3:-.} f=$T/pod-$1.json
	mkdir -p "$K8S_DIR/pods/$name"
	jq -n --arg n "$name" --arg uid "uid-$name-$SFX" --arg logs "$K8S_DIR/pods/$name" \
		--arg cg "/$K8S_NAME" --argjson ann "$ann" \
		'{metadata: {name: $n, namespace: "rt-test", uid: $uid, attempt: 0},
		  log_directory: $logs, annotations: $ann,
		  linux: {cgroup_parent: $cg}} | '"$filter" >"$f"
	echo "$f"
}

# ctr_config NAME IMAGE SCRIPT [ANNOTATIONS-JSON]: a container config file
# running `sh -c SCRIPT`, its log at <pod logs>/NAME.log; prints its path.
ctr_config() {
	local name=$1 image=$2 script=$3 ann=${4:-"{}"} f=$T/ctr-$1-$RANDOM.json
	jq -n --arg n "$name" --arg img "$image" --arg s "$script" --argjson ann "$ann" \
		'{metadata: {name: $n}, image: {image: $img}, command: ["sh", "-c", $s],
		  log_path: ($n + ".log"), annotations: $ann, linux: {}}' >"$f"
	echo "$f"
}

# run_pod NAME [ANNOTATIONS-JSON [JQ-FILTER]]: run a pod sandbox; its ID in $POD.
run_pod() {
	local cfg
	cfg=$(pod_config "$@")
	POD=$(crictl runp "$cfg") || fail "crictl runp $1 failed: $POD"
	[ -n "$POD" ] || fail "crictl runp $1 gave no ID"
}

# run_ctr POD NAME SCRIPT [ANNOTATIONS-JSON]: create and start a busybox
# container in POD (NAME's pod config must exist); its ID in $CID.
run_ctr() {
	local pod=$1 name=$2 cfg out
	cfg=$(ctr_config "$name" "$K8S_BUSYBOX_IMAGE" "$3" "${4:-"{}"}")
	CID=$(crictl create "$pod" "$cfg" "$(pod_file_of "$pod")") || fail "crictl create $name failed: $CID"
	out=$(crictl start "$CID" 2>&1) || fail "crictl start $name failed: $out"
}

# run_counter POD-NAME CTR-NAME SCRIPT [POD-ANNOTATIONS-JSON]: a new pod
# running one container with SCRIPT, which prints a counter; returns when
# the counter runs. Sets $POD, $CID and $LOG (the CRI log), and $TOK, $N.
run_counter() {
	run_pod "$1" "${4:-"{}"}" || return 1
	run_ctr "$POD" "$2" "$3" || return 1
	LOG=$(ctr_log "$CID")
	log_runs "$LOG"
}

# pod_file_of POD: the config file the pod was made from.
pod_file_of() {
	local name
	name=$(crictl inspectp "$1" | jq -r .status.metadata.name)
	echo "$T/pod-$name.json"
}

# ctr_state CID: CONTAINER_RUNNING, CONTAINER_EXITED, ...
ctr_state() {
	crictl inspect "$1" 2>/dev/null | jq -r .status.state
}

# ctr_log CID: the host path of the container's CRI log.
ctr_log() {
	crictl inspect "$1" | jq -r .status.logPath
}

# log_n FILE: the last "TOKEN N" the container printed, from its CRI log
# ("<time> stdout F TOKEN N" lines); sets $TOK and $N.
log_n() {
	local line
	line=$(awk '$2 == "stdout" && $3 == "F" && $4 ~ /^t[0-9]+$/ && $5 ~ /^[0-9]+$/ {l = $4 " " $5} END {print l}' "$1" 2>/dev/null)
	[[ $line =~ ^(t[0-9]+)\ ([0-9]+)$ ]] || return 1
	TOK=${BASH_REMATCH[1]}
	N=${BASH_REMATCH[2]}
}

# first_n FILE [SKIP]: the first "TOKEN N" of a CRI log after its first SKIP
# lines; sets $TOK and $N.
first_n() {
	local line
	line=$(tail -n +$((${2:-0} + 1)) "$1" 2>/dev/null |
		awk '$2 == "stdout" && $3 == "F" && $4 ~ /^t[0-9]+$/ && $5 ~ /^[0-9]+$/ {print $4 " " $5; exit}')
	[[ $line =~ ^(t[0-9]+)\ ([0-9]+)$ ]] || return 1
	TOK=${BASH_REMATCH[1]}
	N=${BASH_REMATCH[2]}
}

# log_counts FILE MIN: wait until the log's counter reaches MIN; $TOK, $N.
log_counts() {
	local i
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		if log_n "$1" && ((N >= $2)); then return 0; fi
		sleep 0.2
	done
	fail "the log $1 did not count to $2 within ${WAIT}s; it ends with: $(tail -n 3 "$1" 2>/dev/null)"
}

# log_runs FILE: the counter in the log advances by 3 with one token.
log_runs() {
	local t0
	log_counts "$1" 1 || return 1
	t0=$TOK
	log_counts "$1" $((N + 3)) || return 1
	[ "$TOK" = "$t0" ] || fail "token in $1 changed from $t0 to $TOK: the process restarted"
}

# log_resumed FILE ARCHIVE TOK BASE: a container restored from ARCHIVE:
# its CRI log starts with the log saved in the archive (containerd copies
# it back); the first line after that has the token from before the
# checkpoint and counts beyond BASE (a fresh process would draw a new token
# and start at 1), and it counts on.
log_resumed() {
	local file=$1 archive=$2 tok=$3 base=$4 first saved i
	saved=$(tar -xOf "$archive" container.log 2>/dev/null | wc -l)
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		first_n "$file" "$saved" && break
		sleep 0.2
	done
	first_n "$file" "$saved" ||
		fail "no counter line in $file after the $saved lines of the archive's log within ${WAIT}s: the restored process does not print"
	first=$N
	[ "$TOK" = "$tok" ] || fail "$file goes on with token $TOK, not $tok: the process started afresh"
	((first > base)) || fail "$file goes on at $first, not beyond $base (the count before the checkpoint)"
	log_counts "$file" $((first + 3)) || return 1
	[ "$TOK" = "$tok" ] || fail "token in $file changed to $TOK"
	echo "# resumed: $tok, $base before the checkpoint -> $first first after the restore ($saved lines of the old log kept) -> $N"
}

# restore_ctr POD NAME ARCHIVE [JQ-FILTER]: restore through CRI: create a
# container in POD whose image is the checkpoint archive (the filter applied
# last to its config), start it; its ID in $CID.
restore_ctr() {
	local pod=$1 name=$2 archive=$3 filter=${4:-.} cfg out
	cfg=$T/restore-$name.json
	jq -n --arg n "$name" --arg img "$archive" \
		'{metadata: {name: $n}, image: {image: $img}, log_path: ($n + ".log"), linux: {}} | '"$filter" >"$cfg"
	CID=$(crictl create "$pod" "$cfg" "$(pod_file_of "$pod")" 2>&1) ||
		fail "crictl create from $archive failed: $CID"
	out=$(crictl start "$CID" 2>&1) || fail "crictl start of the restored $CID failed: $out"
}

# rt_called ERE: rt was called with arguments matching ERE.
rt_called() {
	grep -qE -- "$1" "$K8S_DIR/rt-calls.log" ||
		fail "rt was not called as /$1/; calls: $(tail -n 5 "$K8S_DIR/rt-calls.log")"
}


# ------------------------------------------------------------ kubelet

# kubelet_start MANIFEST-DIR: a standalone kubelet (no API server: it runs
# the static pods in MANIFEST-DIR) on our containerd, serving its API on
# 127.0.0.1:10250 with anonymous access allowed (a test node: a real node
# authorizes nodes/checkpoint). Root directory $K8S_DIR/kubelet.
kubelet_start() {
	local i
	mkdir -p "$K8S_DIR/kubelet"
	cat >"$K8S_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: $1
fileCheckFrequency: 1s
syncFrequency: 5s
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
containerRuntimeEndpoint: unix://$K8S_DIR/containerd.sock
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
resolvConf: ""
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
featureGates: {ContainerCheckpoint: true}
EOF
	"$K8S_BIN/kubelet" --config "$K8S_DIR/kubelet.yaml" --root-dir "$K8S_DIR/kubelet" \
		--hostname-override rt-lane --v 2 \
		</dev/null >"$K8S_DIR/kubelet.log" 2>&1 3>&- &
	echo $! >"$K8S_DIR/kubelet.pid"
	for ((i = SECONDS + 180; SECONDS < i; )); do
		curl -sk --max-time 5 https://127.0.0.1:10250/pods >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$K8S_DIR/kubelet.pid")" 2>/dev/null || break
		sleep 1
	done
	echo "the kubelet did not serve its API:" >&2
	grep -E '^E|error|fail' "$K8S_DIR/kubelet.log" | tail -n 20 >&2
	return 1
}

kubelet_stop() {
	local pid i m
	pid=$(cat "$K8S_DIR/kubelet.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$K8S_DIR/kubelet.pid"
	# what it mounted under its root (pod volumes)
	for m in $(awk -v d="$K8S_DIR/kubelet/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

# kubelet_api METHOD PATH: the kubelet's API; prints the body, fails on a
# non-2xx status.
kubelet_api() {
	local code
	curl -sk --max-time "$K8S_TIMEOUT" -X "$1" -w '\n%{http_code}' "https://127.0.0.1:10250$2" >"$T/api.out" ||
		fail "curl $1 $2 failed"
	code=$(tail -n 1 "$T/api.out")
	sed '$d' "$T/api.out"
	[[ $code == 2?? ]] || fail "kubelet $1 $2: HTTP $code: $(sed '$d' "$T/api.out")"
}
