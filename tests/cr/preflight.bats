#!/usr/bin/env bats
# rt check ID against real CRIU (tests/bats/preflight.bats checks the
# verdicts on the host): the flags it suggests make the checkpoint and the
# restore work, what it calls "cannot" really fails in CRIU, and its
# estimates of image size and time hold.

load helpers

setup() {
	cr_setup
	[ -x "$CRHELPER" ] || fail "RT_CR_HELPER is not set (use tests/cr/run.sh)"
	mkdir -p "$T/shared"
	HOST_PIDS=()
}

teardown() {
	local pid
	for pid in "${HOST_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ -n "${NETNS:-}" ] && ip netns del "$NETNS" 2>/dev/null
	cr_teardown
}

# bundle DIR SCRIPT [JQ]: a bundle running SCRIPT with crhelper, /shared
# bound to $T/shared, the root writable.
bundle() {
	make_bundle "$1" "$2" '.mounts += [{"destination": "/shared", "type": "bind", "source": "'"$T/shared"'", "options": ["rbind", "rw"]}] | '"${3:-.}"
	cp "$CRHELPER" "$1/rootfs/bin/crhelper"
}

@test "preflight: the flags rt check suggests (TCP, external datagram socket, file lock, big deleted file) make C/R work" {
	local id=pf-$SFX flags i
	# an engine-style network namespace: TCP repair needs loopback up
	NETNS=rtpf-$SFX
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	# the socket's peer in the container's network namespace: CRIU looks
	# for it there
	bg "$T/listen.log" ip netns exec "$NETNS" "$CRHELPER" dgram-listen "$T/shared/log.sock" "$T/log.out"
	HOST_PIDS+=("$BG_PID")
	wait_socket "$T/shared/log.sock"
	# CRIU reconnects the socket by its peer's address: the directory is
	# bound at the same path inside
	bundle "$T/b" '(sleep 1000 | nc -l -p 5000 >/dev/null) & sleep 0.5; (sleep 1000 | nc 127.0.0.1 5000) &
		crhelper flock /tmp/lock sleep 1000 &
		crhelper dgram-connect '"$T/shared/log.sock"' sleep 1000 &
		dd if=/dev/zero of=/tmp/big bs=1M count=3 2>/dev/null; exec 3</tmp/big; rm /tmp/big
		sleep 1; echo ok >/tmp/ready; wait' \
		'.linux.namespaces |= map(if .type == "network" then .path = "/var/run/netns/'"$NETNS"'" else . end)
		| .mounts += [{"destination": "'"$T/shared"'", "type": "bind", "source": "'"$T/shared"'", "options": ["rbind", "rw"]}]'
	start "$id" "$T/b"
	wait_file "$T/b/rootfs/tmp/ready" ok
	# the connection and the socket are made in the background: until all
	# four things are there
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		rt check --format json "$id" >"$T/check.json" || {
			cat "$T/check.json"
			fail "rt check failed"
		}
		[ "$(jq '.flags | length' "$T/check.json")" -ge 4 ] && break
		sleep 0.5
	done
	jq -c '{verdict, flags}' "$T/check.json"
	[ "$(jq -r .verdict "$T/check.json")" = "ok with flags" ]
	flags=$(jq -r '.flags | join(" ")' "$T/check.json")
	[ "$flags" = "--tcp-established --ext-unix-sk --file-locks --ghost-limit 1G" ]

	# without them, --check refuses before anything is frozen
	run rt checkpoint --check --image-path "$T/img0" "$id"
	[ "$status" -ne 0 ]
	[[ $output == *"would fail without --tcp-established --ext-unix-sk --file-locks --ghost-limit 1G"* ]]
	no_image "$T/img0"
	[ "$(status_of "$id")" = running ]

	# with them, CRIU dumps and restores it
	# shellcheck disable=SC2086
	rtq checkpoint --check $flags --image-path "$T/img" "$id"
	! in_list "$id"
	rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
	[ "$(status_of "$id")" = running ]
	# the restored processes hold the same things again: the connection,
	# the socket, the lock and the deleted file came back
	rt check --format json "$id" >"$T/check2.json"
	jq -c '{verdict, flags}' "$T/check2.json"
	[ "$(jq -r '.flags | join(" ")' "$T/check2.json")" = "$flags" ]
}

@test "preflight: what rt check calls cannot (stream to the outside, /dev/fuse, a ramfs mount) really fails in CRIU" {
	local id i case
	bg "$T/st.log" "$CRHELPER" stream-listen "$T/shared/st.sock"
	HOST_PIDS+=("$BG_PID")
	wait_socket "$T/shared/st.sock"
	for case in stream fuse ramfs; do
		id=pfc-$case-$SFX
		case $case in
		stream) bundle "$T/$case" 'exec crhelper stream-connect /shared/st.sock sh -c "echo ok >/tmp/ready; exec sleep 1000"' ;;
		fuse)
			[ -c /dev/fuse ] || modprobe fuse 2>/dev/null || true
			[ -c /dev/fuse ] || mknod /dev/fuse c 10 229
			bundle "$T/$case" 'exec 3<>/dev/fuse; echo ok >/tmp/ready; exec sleep 1000' \
				'.linux.devices += [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]
				| .linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
			;;
		ramfs) bundle "$T/$case" 'mkdir -p /mnt/r && mount -t ramfs none /mnt/r; echo ok >/tmp/ready; exec sleep 1000' \
			'.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]' ;;
		esac
		start "$id" "$T/$case"
		wait_file "$T/$case/rootfs/tmp/ready" ok
		run rt check "$id"
		echo "$output"
		[ "$status" -eq 1 ] || fail "$case: rt check did not say cannot"
		[[ $output == *"CANNOT be checkpointed"* ]]
		# CRIU agrees, with every option that could help
		run rt checkpoint --tcp-established --ext-unix-sk --file-locks --link-remap --image-path "$T/img-$case" "$id"
		echo "# $case: CRIU: $(echo "$output" | head -n 3 | tr '\n' ' ')" >&3
		[ "$status" -ne 0 ] || fail "$case: CRIU checkpointed what rt check called impossible"
		no_image "$T/img-$case"
		[ "$(status_of "$id")" = running ]
		rtq delete -f "$id"
	done
}

@test "preflight: the estimates of image size (within 20%) and time (within 2x) at 16, 128 and 512 MiB" {
	local size id est ms real t0 took
	# One checkpoint first, so that every estimate rests on this machine's
	# own speed, never on rt's assumed one (a slower machine than the
	# assumption must not fail the test).
	bundle "$T/bw" "exec crhelper memhog 16 0 0"
	start "pfw-$SFX" "$T/bw"
	counter_runs "$T/bw/rootfs/tmp/cnt"
	rtq checkpoint --image-path "$T/imgw" "pfw-$SFX"
	rm -rf "$T/imgw" "$T/bw"
	for size in 16 128 512; do
		id=pfe-$size-$SFX
		bundle "$T/b$size" "exec crhelper memhog $size 0 0"
		start "$id" "$T/b$size"
		counter_runs "$T/b$size/rootfs/tmp/cnt"
		rt check --format json "$id" >"$T/est.json"
		est=$(jq .memory.image "$T/est.json") ms=$(jq .estimatedMs "$T/est.json")
		t0=$EPOCHREALTIME
		rtq checkpoint --image-path "$T/img$size" "$id"
		took=$(((10#${EPOCHREALTIME/./} - 10#${t0/./}) / 1000))
		real=$(du -sb --exclude='*.log' "$T/img$size" | cut -f1)
		echo "# $size MiB: image estimated $((est >> 10)) KiB, real $((real >> 10)) KiB; time estimated $ms ms, took $took ms ($(jq -r .estimateBasis "$T/est.json"))" >&3
		((est * 100 >= real * 80 && est * 100 <= real * 120)) || fail "image estimate $est is not within 20% of $real"
		((ms * 2 >= took && ms <= took * 2)) || fail "time estimate $ms ms is not within 2x of $took ms"
		rm -rf "$T/img$size" "$T/b$size"
	done
}
