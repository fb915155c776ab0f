#!/usr/bin/env bats
# rt check ID: the preflight of a checkpoint, on the host (no CRIU runs:
# it reads /proc, the cgroup and the mount table). Each container holds one
# kind of thing a checkpoint meets, and gets its verdict and flag. The lane
# (tests/cr/preflight.bats) shows the flags make CRIU work and "cannot"
# really fails.

load helpers

setup() {
	setup_common
	build_crhelper
	cp "$CRHELPER" "$BUNDLE/rootfs/bin/crhelper"
	update_config ".root.readonly = false"
}

teardown() {
	local pid
	for pid in ${HOST_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
	teardown_common
}

# build_crhelper: sets CRHELPER (tests/cr/crhelper, static).
build_crhelper() {
	local repo sum
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	sum=$(cat "$repo"/tests/cr/crhelper/*.go | sha256sum | cut -c1-16)
	CRHELPER=$RT_TEST_CACHE/crhelper-$sum
	[ -x "$CRHELPER" ] && return 0
	mkdir -p "$RT_TEST_CACHE"
	(cd "$repo" && CGO_ENABLED=0 go build -o "$CRHELPER.tmp" ./tests/cr/crhelper) && mv "$CRHELPER.tmp" "$CRHELPER"
}

# run_sh SCRIPT: start ct1 running sh -c SCRIPT, and wait for its marker file
# /tmp/ready (the script writes it once set up).
run_sh() {
	set_args sh -c "$1"
	rt run -d --bundle "$BUNDLE" ct1
	[ "$status" -eq 0 ] || fail "rt run: $output"
	local pid
	pid=$(container_pid ct1)
	wait_for_file "$BUNDLE/rootfs/tmp/ready" || fail "the container did not get ready"
}

# check: rt check --format json ct1 into $CHECK (status in $status).
check() {
	rt check --format json ct1
	CHECK=$stdout
	echo "$CHECK" | jq -c '{verdict, flags, findings: [.findings[]? | {what, option, cannot, note}]}'
}

verdict() { jq -r .verdict <<<"$CHECK"; }
flags() { jq -r '.flags // [] | join(" ")' <<<"$CHECK"; }

@test "preflight: a plain container is ok; memory, estimate and timing are reported; the text form says the same" {
	run_sh 'echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$status" -eq 0 ]
	[ "$(verdict)" = ok ]
	[ "$(flags)" = "" ]
	[ "$(jq .processes <<<"$CHECK")" -eq 1 ]
	(($(jq .memory.image <<<"$CHECK") > 0))
	(($(jq .estimatedMs <<<"$CHECK") > 0))
	[[ $(jq -r .estimateBasis <<<"$CHECK") == *"no checkpoint measured"* ]]
	rt check ct1
	[ "$status" -eq 0 ]
	[[ $stdout == *"verdict:   ok"* ]]
	[[ $stdout == *"not frozen"* ]]
	[ "$(container_status ct1)" = running ]
}

@test "preflight: listening TCP is ok, an established connection needs --tcp-established" {
	run_sh '(sleep 1000 | nc -l -p 5000 >/dev/null) & echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$(verdict)" = ok ]
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	# (busybox nc quits at the end of its stdin: both read from a sleep)
	run_sh '(sleep 1000 | nc -l -p 5000 >/dev/null) & sleep 0.5; (sleep 1000 | nc 127.0.0.1 5000) & echo ok >/tmp/ready; wait'
	# the client connects in the background: until both ends are there
	for _ in $(seq 50); do
		check
		[ "$(jq '[.findings[]? | select(.option == "tcp-established")] | length' <<<"$CHECK")" -ge 2 ] && break
		sleep 0.2
	done
	[ "$status" -eq 0 ]
	[ "$(verdict)" = "ok with flags" ]
	[ "$(flags)" = --tcp-established ]
	jq -e '[.findings[] | select(.option == "tcp-established" and (.what | test("127.0.0.1:5000")))] | length >= 2' <<<"$CHECK" >/dev/null ||
		fail "both ends of the connection should be named"
}

@test "preflight: unix sockets: a pair inside is ok, a datagram socket to the outside needs --ext-unix-sk (its peer in the same network namespace), a stream to the outside cannot" {
	run_sh 'exec crhelper unix-pair sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	check
	[ "$(verdict)" = ok ]
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"

	"$CRHELPER" dgram-listen "$SHARED/log.sock" "$TEST_DIR/log.out" &
	HOST_PIDS+=" $!"
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$SHARED/log.sock" ] && break; sleep 0.2; done
	# in a network namespace of its own, the peer (in the host's) is out
	# of CRIU's sight
	run_sh 'exec crhelper dgram-connect /shared/log.sock sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	check
	[ "$(verdict)" = cannot ]
	jq -e '.findings[] | select(.cannot and (.what | test("another network namespace")))' <<<"$CHECK" >/dev/null
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	# in the host's, but reached at another path than the listener's own:
	# CRIU could not reconnect it
	update_config '.linux.namespaces |= map(select(.type != "network"))'
	run_sh 'exec crhelper dgram-connect /shared/log.sock sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	check
	[ "$(verdict)" = cannot ]
	jq -e '.findings[] | select(.cannot and (.what | test("does not see at that path")))' <<<"$CHECK" >/dev/null
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	# at the same path inside, --ext-unix-sk lets CRIU reconnect it
	update_config --arg s "$SHARED" '.mounts += [{"destination": $s, "type": "bind", "source": $s, "options": ["rbind", "rw"]}]'
	run_sh "exec crhelper dgram-connect $SHARED/log.sock sh -c \"echo ok >/tmp/ready; exec sleep 1000\""
	check
	[ "$(verdict)" = "ok with flags" ]
	[ "$(flags)" = --ext-unix-sk ]
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"

	"$CRHELPER" stream-listen "$SHARED/st.sock" &
	HOST_PIDS+=" $!"
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$SHARED/st.sock" ] && break; sleep 0.2; done
	run_sh 'exec crhelper stream-connect /shared/st.sock sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	check
	[ "$status" -eq 1 ]
	[ "$(verdict)" = cannot ]
	jq -e '.findings[] | select(.cannot and (.what | test("unix stream socket.*outside")))' <<<"$CHECK" >/dev/null
}

@test "preflight: a file lock needs --file-locks; an annotation default covers it" {
	run_sh 'exec crhelper flock /tmp/lock sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	check
	[ "$(verdict)" = "ok with flags" ]
	[ "$(flags)" = --file-locks ]
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	update_config '.annotations["io.github.rt-runtime.checkpoint.file-locks"] = "true"'
	run_sh 'exec crhelper flock /tmp/lock sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	check
	[ "$(verdict)" = ok ]
	[[ $(jq -r '.covered[0]' <<<"$CHECK") == "--file-locks (annotation io.github.rt-runtime.checkpoint.file-locks)" ]]
}

@test "preflight: a small deleted open file is noted, a big one needs --ghost-limit" {
	run_sh 'echo x >/tmp/small; exec 3</tmp/small; rm /tmp/small; echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$(verdict)" = ok ]
	jq -e '.findings[] | select(.note and (.what | test("deleted file /tmp/small")))' <<<"$CHECK" >/dev/null
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	run_sh 'dd if=/dev/zero of=/tmp/big bs=1M count=3 2>/dev/null; exec 3</tmp/big; rm /tmp/big; echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$(verdict)" = "ok with flags" ]
	[ "$(flags)" = "--ghost-limit 1G" ]
}

@test "preflight: a FIFO to a process outside is noted (the restore reconnects nothing)" {
	mkfifo "$SHARED/fifo"
	sleep 1000 <>"$SHARED/fifo" &
	HOST_PIDS+=" $!"
	run_sh 'exec 3>/shared/fifo; echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$(verdict)" = ok ]
	jq -e '.findings[] | select(.note and (.what | test("FIFO /shared/fifo.*outside")))' <<<"$CHECK" >/dev/null
}

@test "preflight: /dev/fuse open cannot be checkpointed" {
	[ -c /dev/fuse ] || skip "no /dev/fuse on this host"
	update_config '.linux.devices += [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]
		| .linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
	run_sh 'exec 3<>/dev/fuse; echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$status" -eq 1 ]
	[ "$(verdict)" = cannot ]
	jq -e '.findings[] | select(.cannot and (.what | test("/dev/fuse")))' <<<"$CHECK" >/dev/null
}

@test "preflight: a tmpfs mounted inside is ok and counted, a ramfs mounted inside cannot be" {
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	run_sh 'mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && dd if=/dev/zero of=/mnt/t/f bs=1M count=2 2>/dev/null; echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$(verdict)" = ok ]
	(($(jq .memory.tmpfs <<<"$CHECK") >= 2 * 1024 * 1024)) || fail "the tmpfs files are not counted"
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	run_sh 'mkdir -p /mnt/r && mount -t ramfs none /mnt/r; echo ok >/tmp/ready; exec sleep 1000'
	check
	[ "$(verdict)" = cannot ]
	jq -e '.findings[] | select(.cannot and (.what | test("/mnt/r")))' <<<"$CHECK" >/dev/null
}

@test "preflight: checkpoint --check refuses before freezing, naming the flag and the engine defaults" {
	run_sh 'exec crhelper flock /tmp/lock sh -c "echo ok >/tmp/ready; exec sleep 1000"'
	rt checkpoint --check --image-path "$TEST_DIR/img" ct1
	[ "$status" -ne 0 ]
	[[ $output == *"would fail without --file-locks"* ]]
	[[ $output == *"annotation io.github.rt-runtime.checkpoint.file-locks=true"* ]]
	[[ $output == *fileLocks*true*/etc/rt/config.json* ]]
	[ ! -e "$TEST_DIR/img" ]
	[ "$(container_status ct1)" = running ]
}

@test "preflight: 1 and 50 processes (time printed, never asserted)" {
	local t1 t50
	run_sh 'echo ok >/tmp/ready; exec sleep 1000'
	check
	t1=$(jq .tookUs <<<"$CHECK")
	rt delete -f ct1
	rm -f "$BUNDLE/rootfs/tmp/ready"
	run_sh 'i=0; while [ $i -lt 49 ]; do sleep 1000 & i=$((i + 1)); done; echo ok >/tmp/ready; wait'
	check
	[ "$(jq .processes <<<"$CHECK")" -eq 50 ]
	t50=$(jq .tookUs <<<"$CHECK")
	echo "# rt check: 1 process ${t1} us, 50 processes ${t50} us" >&3
	[ "$(container_status ct1)" = running ]
}
