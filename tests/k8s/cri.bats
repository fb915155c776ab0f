#!/usr/bin/env bats
# rt under Kubernetes' runtime interface: containerd 2.x's CRI plugin with rt
# as the runc binary of its "rt" runtime handler, driven with crictl as the
# kubelet would: pods, containers, exec, stats, and checkpoint/restore
# through CRI (the kubelet's checkpoint API calls CRI CheckpointContainer).
# containerd is private to this file (tests/k8s/helpers.bash), started once
# in setup_file. Needs working CRIU and full root: run through
# tests/k8s/run.sh (VM lane).

bats_require_minimum_version 1.5.0

load ../cr/helpers
load ../lib/engines
load helpers

# The counter of every test: a token drawn once (only in the process's
# memory) and a counter, printed to stdout, that is, to the CRI log.
COUNTER='tok=t$RANDOM$RANDOM; i=0; while :; do i=$((i + 1)); echo "$tok $i"; echo "$tok $i" >/tmp/cnt; sleep 0.1; done'
# TCP_COUNTER (tests/cr/helpers.bash): the counter sent over an established
# loopback connection inside the pod, printed by the server.

setup_file() {
	[ -x "${RT_K8S_BIN:-}/crictl" ] || {
		echo "RT_K8S_BIN does not hold crictl: run through tests/k8s/run.sh" >&2
		return 1
	}
	local out
	out=$(criu check 2>&1) || {
		echo "criu check fails here ($(uname -r)): $out" >&2
		return 1
	}
	echo "# $(k8s_versions)" >&3
	k8s_start
	echo "$K8S_DIR" >"$BATS_FILE_TMPDIR/k8s_dir"
}

teardown_file() {
	[ -n "${K8S_DIR:-}" ] || K8S_DIR=$(cat "$BATS_FILE_TMPDIR/k8s_dir" 2>/dev/null)
	K8S_NAME=rtk-${K8S_DIR##*.}
	k8s_stop
}

setup() {
	cr_setup
	K8S_DIR=$(cat "$BATS_FILE_TMPDIR/k8s_dir")
	K8S_NAME=rtk-${K8S_DIR##*.}
	export K8S_DIR K8S_NAME
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "--- tail of containerd's log:"
		grep -iE 'error|fail' "$K8S_DIR/containerd.log" | tail -n 15
		echo "--- last rt calls:"
		tail -n 8 "$K8S_DIR/rt-calls.log" 2>/dev/null
	fi
	kubelet_stop # first: it would restart the static pods removed below
	# this test's pods (their names hold $SFX)
	local p
	for p in $(crictl pods -q 2>/dev/null); do
		if crictl inspectp "$p" 2>/dev/null | jq -e --arg s "-$SFX" '.status.metadata.name | contains($s)' >/dev/null; then
			crictl rmp -f "$p" >/dev/null 2>&1 || echo "# teardown: crictl rmp -f $p failed" >&3
		fi
	done
	cr_teardown
}

@test "cri: a pod and a container on rt: exec, stats, stop, rm" {
	run_pod "life-$SFX"
	local pod=$POD
	run_ctr "$pod" counter "$COUNTER"
	local cid=$CID log
	[ "$(ctr_state "$cid")" = CONTAINER_RUNNING ]
	log=$(ctr_log "$cid")
	log_runs "$log"
	# rt runs both, on the root the shim gives it
	k8s_rt state "$pod" | jq -e '.status == "running"' >/dev/null || fail "rt does not run the sandbox $pod"
	k8s_rt state "$cid" | jq -e '.status == "running"' >/dev/null || fail "rt does not run the container $cid"
	rt_called "create --bundle [^ ]+ --pid-file [^ ]+ $cid\$"
	rt_called "start $cid\$"

	run crictl exec "$cid" cat /tmp/cnt
	[ "$status" -eq 0 ] || fail "crictl exec: $output"
	[[ $output =~ ^$TOK\ [0-9]+$ ]] || fail "crictl exec read '$output', not the counter of token $TOK"
	rt_called "exec --process [^ ]+ --detach --pid-file [^ ]+ $cid\$"
	run crictl exec -s "$cid" sh -c 'exit 3'
	[ "$status" -ne 0 ] || fail "crictl exec of 'exit 3' succeeded"

	run crictl stats -o json "$cid"
	[ "$status" -eq 0 ] || fail "crictl stats: $output"
	echo "$output" | jq -e '.stats[0].memory.workingSetBytes.value | tonumber > 0' >/dev/null ||
		fail "crictl stats shows no memory use: $output"

	run crictl stop -t 2 "$cid"
	[ "$status" -eq 0 ] || fail "crictl stop: $output"
	[ "$(ctr_state "$cid")" = CONTAINER_EXITED ] || fail "container is $(ctr_state "$cid") after crictl stop"
	run crictl rm "$cid"
	[ "$status" -eq 0 ] || fail "crictl rm: $output"
	! k8s_rt list -q | grep -qxF "$cid" || fail "rt still lists $cid after crictl rm"
	run crictl rmp -f "$pod"
	[ "$status" -eq 0 ] || fail "crictl rmp: $output"
	! k8s_rt list -q | grep -qxF "$pod" || fail "rt still lists the sandbox $pod after crictl rmp"
}

@test "cri: crictl checkpoint --export: the CRI archive holds rt's checkpoint with its manifest, checkpointctl reads it, the container keeps running" {
	run_counter "ck-$SFX" counter "$COUNTER"
	local cid=$CID log=$LOG
	run crictl checkpoint --export="$T/ck.tar" "$cid"
	[ "$status" -eq 0 ] || fail "crictl checkpoint: $output"
	# containerd asks rt for a checkpoint that leaves the container running
	rt_called "checkpoint .*--image-path [^ ]+ .*--leave-running.* $cid\$|checkpoint .*--leave-running.*--image-path [^ ]+ .* $cid\$"
	# forensic checkpoint: the original goes on with the same process
	local tok=$TOK
	log_runs "$log"
	[ "$TOK" = "$tok" ] || fail "the container restarted during its checkpoint"
	[ "$(ctr_state "$cid")" = CONTAINER_RUNNING ]

	# the archive: containerd's files and, under checkpoint/, what rt wrote
	tar -tf "$T/ck.tar" >"$T/ck.list"
	for f in config.dump spec.dump status.dump rootfs-diff.tar checkpoint/inventory.img checkpoint/rt-manifest.json; do
		grep -qxE "(\./)?$f" "$T/ck.list" || fail "no $f in the CRI archive: $(tr '\n' ' ' <"$T/ck.list")"
	done
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/ck.tar"
	run "$RT_BIN" check --format json --image "$T/x/checkpoint"
	echo "$output" | jq -e '.image.complete and .image.restorable and .image.hasManifest and (.image.problems // [] | length == 0)' >/dev/null ||
		fail "rt finds the checkpoint in the CRI archive not whole: $output"
	[ "$(jq -r .containerID "$T/x/checkpoint/rt-manifest.json")" = "$cid" ]

	# checkpointctl, as used on Kubernetes' checkpoint archives
	run "$RT_CR_CHECKPOINTCTL" show "$T/ck.tar"
	[ "$status" -eq 0 ] || fail "checkpointctl show: $output"
	[[ $output == *counter* ]] || fail "checkpointctl show does not name the container: $output"
	[[ $output == *containerd* ]] || fail "checkpointctl show does not name the engine: $output"
	run "$RT_CR_CHECKPOINTCTL" inspect --ps-tree "$T/ck.tar"
	[ "$status" -eq 0 ] || fail "checkpointctl inspect: $output"
	[[ $output == *sh* ]] || fail "checkpointctl inspect shows no process tree: $output"
}

# checkpoint_log CID ARCHIVE: crictl checkpoint --export of CID; $TOK and
# $N then hold the counter read from its log just before (the restored
# process must count beyond it).
checkpoint_log() {
	local out
	log_n "$(ctr_log "$1")" || fail "no counter in the log of $1"
	out=$(crictl checkpoint --export="$2" "$1" 2>&1) || fail "crictl checkpoint $1: $out"
}

@test "cri: restore through CRI into a new container in a new pod resumes the counter, twice in a row" {
	run_counter "src-$SFX" counter "$COUNTER"
	local cid0=$CID log0=$LOG tok base
	checkpoint_log "$cid0" "$T/a.tar"
	tok=$TOK base=$N

	run_pod "dst1-$SFX"
	restore_ctr "$POD" counter "$T/a.tar"
	local cid1=$CID log1
	[ "$cid1" != "$cid0" ]
	rt_called "restore .*--image-path [^ ]+.* $cid1\$"
	[ "$(ctr_state "$cid1")" = CONTAINER_RUNNING ] || fail "restored container is $(ctr_state "$cid1")"
	log1=$(ctr_log "$cid1")
	log_resumed "$log1" "$T/a.tar" "$tok" "$base"
	# the original was not stopped by its checkpoint
	log_runs "$log0"
	[ "$TOK" = "$tok" ]

	# again: checkpoint the restored container, restore it in a third pod
	checkpoint_log "$cid1" "$T/b.tar"
	[ "$TOK" = "$tok" ]
	base=$N
	run_pod "dst2-$SFX"
	restore_ctr "$POD" counter "$T/b.tar"
	local cid2=$CID
	log_resumed "$(ctr_log "$cid2")" "$T/b.tar" "$tok" "$base"
	[ "$(ctr_state "$cid1")" = CONTAINER_RUNNING ]
}

@test "cri: a checkpoint CRIU refuses reaches crictl as rt's error, naming the option and its annotation; the container runs on" {
	run_counter "tcpno-$SFX" tcp "$TCP_COUNTER"
	local cid=$CID log=$LOG
	run crictl checkpoint --export="$T/no.tar" "$cid"
	[ "$status" -ne 0 ] || fail "crictl checkpoint of an established TCP connection succeeded without the option"
	echo "# crictl: $output"
	[[ $output == *tcp-established* ]] || fail "crictl's error does not name --tcp-established: $output"
	[[ $output == *${K8S_ANN}tcp-established* ]] || fail "crictl's error does not name the annotation: $output"
	# rt's own words, not only the shim's "exit status 1"
	[[ $output == *"established TCP connections"* ]] || fail "crictl's error does not carry rt's explanation: $output"
	[ ! -s "$T/no.tar" ] || fail "a failed checkpoint left an archive"
	local tok=$TOK
	log_runs "$log"
	[ "$TOK" = "$tok" ] || fail "the container restarted after the failed checkpoint"
}

@test "cri: pod annotation io.github.rt-runtime.checkpoint.tcp-established reaches rt: an established TCP connection checkpoints and restores through CRI" {
	local ann
	ann=$(jq -cn --arg k "${K8S_ANN}tcp-established" '{($k): "true"}')
	run_counter "tcp-$SFX" tcp "$TCP_COUNTER" "$ann"
	local cid0=$CID log0=$LOG tok base
	# the annotation is in the container's OCI spec, where rt reads it
	k8s_rt state "$cid0" | jq -r .bundle >"$T/bundle"
	jq -e --arg k "${K8S_ANN}tcp-established" '.annotations[$k] == "true"' "$(cat "$T/bundle")/config.json" >/dev/null ||
		fail "the pod annotation did not reach the container's config.json"
	checkpoint_log "$cid0" "$T/tcp.tar"
	tok=$TOK base=$N
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/tcp.tar" checkpoint/rt-manifest.json
	jq -e '.options.tcpEstablished == true' \
		"$T/x/checkpoint/rt-manifest.json" >/dev/null || fail "rt's manifest does not record tcp-established: $(cat "$T/x/checkpoint/rt-manifest.json")"

	# restore in a pod without the annotation: rt replays the dump's option
	run_pod "tcpdst-$SFX"
	restore_ctr "$POD" tcp "$T/tcp.tar"
	# the counter arrives over the restored connection: same token, on from base
	log_resumed "$(ctr_log "$CID")" "$T/tcp.tar" "$tok" "$base"
}

@test "kubelet: its checkpoint API writes the CRI archive of a static pod's container running on rt, with the pod's rt annotation applied; the archive restores through CRI" {
	[ -x "$K8S_BIN/kubelet" ] || fail "no kubelet in $K8S_BIN"
	local pod=k-$SFX full cid log tok base archive
	full=$pod-rt-lane # static pods are named after the node
	mkdir -p "$T/manifests"
	cat >"$T/manifests/$pod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $pod
  namespace: rt-test
  annotations:
    ${K8S_ANN}file-locks: "true"
spec:
  containers:
  - name: counter
    image: $K8S_BUSYBOX_IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", $(jq -n --arg s "$COUNTER" '$s')]
EOF
	kubelet_start "$T/manifests"
	echo "# kubelet $("$K8S_BIN/kubelet" --version 2>&1)" >&3
	for ((i = SECONDS + 180; SECONDS < i; )); do
		cid=$(crictl ps -q --name '^counter$' --label "io.kubernetes.pod.name=$full" --state running 2>/dev/null | head -n 1)
		[ -n "$cid" ] && break
		sleep 1
	done
	[ -n "$cid" ] || fail "the kubelet did not start the static pod $full within 180 s: $(grep -E '^E' "$K8S_DIR/kubelet.log" | tail -n 5)"
	log=$(ctr_log "$cid")
	log_runs "$log"
	tok=$TOK base=$N

	run kubelet_api POST "/checkpoint/rt-test/$full/counter"
	[ "$status" -eq 0 ] || fail "$output"
	archive=$(echo "$output" | jq -r '.items[0]')
	echo "# kubelet wrote $archive"
	[[ $archive == "$K8S_DIR/kubelet/checkpoints/checkpoint-${full}_rt-test-counter-"*.tar ]] ||
		fail "the kubelet's archive is not under its checkpoints directory: $output"
	[ -s "$archive" ] || fail "no archive at $archive"
	mkdir "$T/x"
	tar -C "$T/x" -xf "$archive"
	run "$RT_BIN" check --format json --image "$T/x/checkpoint"
	echo "$output" | jq -e '.image.complete and .image.restorable' >/dev/null ||
		fail "rt finds the kubelet's checkpoint not whole: $output"
	# the pod's annotation reached rt through the kubelet and containerd
	jq -e '.options.fileLocks == true' "$T/x/checkpoint/rt-manifest.json" >/dev/null ||
		fail "the manifest does not record file-locks from the pod's annotation: $(jq -c .options "$T/x/checkpoint/rt-manifest.json")"
	# forensic: the pod runs on
	log_runs "$log"
	[ "$TOK" = "$tok" ] || fail "the static pod's container restarted during its checkpoint"

	# The restore must give the container what the kubelet gave it (rt
	# refuses a bundle that differs from the checkpointed container, and
	# names what differs): a pid namespace of its own (CRI's CONTAINER
	# mode, in the container's config; crictl's default is the pod's) and
	# the termination-log mount.
	# The kubelet stops first: it kills pods it does not know, as the one
	# crictl makes here (on a node, a Pod names the checkpoint as its image).
	kubelet_stop
	touch "$T/termination-log"
	run_pod "kdst-$SFX"
	restore_ctr "$POD" counter "$archive" \
		".linux.security_context.namespace_options.pid = 1 | .mounts = [{container_path: \"/dev/termination-log\", host_path: \"$T/termination-log\"}]"
	log_resumed "$(ctr_log "$CID")" "$archive" "$tok" "$base"
}
