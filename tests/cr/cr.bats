#!/usr/bin/env bats
# Checkpoint/restore of rt containers with CRIU.  Run through tests/cr/run.sh
# (it runs this file inside the VM lane when CRIU cannot work on the host).
#
# Every scenario checks that the process really resumed where it left off:
# the container's counter (see COUNTER in helpers.bash) must come back with
# the token it drew in memory before the checkpoint and count on from the
# value it had then.

load helpers

setup() {
	cr_setup
}

teardown() {
	if [ -n "${NETNS:-}" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	cr_teardown
}

@test "same ID: checkpoint ends the container, restore resumes the process" {
	local id=same-$SFX cnt=$T/b/rootfs/tmp/cnt tok base
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$cnt"

	rtq checkpoint --image-path "$T/img" --work-path "$T/work" "$id"
	[ -e "$T/img/inventory.img" ]
	[ -z "$(status_of "$id")" ] || fail "container still known after checkpoint: $(status_of "$id")"
	cnt_now "$cnt"
	tok=$TOK base=$N
	counter_frozen "$cnt"

	rtq restore -d -b "$T/b" --image-path "$T/img" --work-path "$T/work2" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
	# the restored container is a normal one: exec works in it
	run rt exec "$id" cat /tmp/cnt
	[ "$status" -eq 0 ]
	[[ $output == "$tok "* ]]
}

@test "new ID: restore a copy of the bundle under another ID" {
	local id=orig-$SFX new=copy-$SFX tok base
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"

	rtq checkpoint --image-path "$T/img" "$id"
	cnt_now "$T/b/rootfs/tmp/cnt"
	tok=$TOK base=$N
	cp -a "$T/b" "$T/b2"

	rtq restore -d --bundle "$T/b2" --image-path "$T/img" "$new"
	[ "$(status_of "$new")" = running ]
	[ "$(rt state "$new" | jq -r .bundle)" = "$T/b2" ]
	in_list "$new"
	! in_list "$id" || fail "$id is listed after its checkpoint"
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"
	# the process lives in the copy: the original rootfs is left alone
	counter_frozen "$T/b/rootfs/tmp/cnt"
}

@test "--leave-running: the original keeps running while a copy is restored under a new ID" {
	local id=live-$SFX new=twin-$SFX tok base
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	tok=$TOK base=$N

	rtq checkpoint --leave-running --image-path "$T/img" "$id"
	[ -e "$T/img/inventory.img" ]
	[ "$(status_of "$id")" = running ]
	counter_runs "$T/b/rootfs/tmp/cnt"
	[ "$TOK" = "$tok" ]

	cp -a "$T/b" "$T/b2"
	rtq restore -d -b "$T/b2" --image-path "$T/img" "$new"
	[ "$(status_of "$new")" = running ]
	[ "$(status_of "$id")" = running ]
	# the twin has the original's memory (same token) and counts on from
	# the checkpoint; the original still counts too
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"
	counter_runs "$T/b/rootfs/tmp/cnt"
	[ "$TOK" = "$tok" ]
	[ "$(rt state "$id" | jq .pid)" != "$(rt state "$new" | jq .pid)" ]
}

@test "--pre-dump, then a dump with --parent-path ../pre, then restore" {
	local id=pre-$SFX cnt=$T/b/rootfs/tmp/cnt tok base pre_pages img_pages
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$cnt"

	rtq checkpoint --pre-dump --image-path "$T/pre" "$id"
	[ "$(status_of "$id")" = running ]
	counter_runs "$cnt"
	ls "$T"/pre/pages-*.img >/dev/null

	rtq checkpoint --parent-path ../pre --image-path "$T/img" --work-path "$T/work" "$id"
	[ "$(readlink "$T/img/parent")" = ../pre ]
	[ -e "$T/img/inventory.img" ]
	# The final dump only holds what changed since the pre-dump. Compared
	# for the container's init alone (CRIU dumps the tree's root first, so
	# its pages are pages-1.img in both): the counter forks a new `sleep`
	# every 0.1 s, and a child the pre-dump did not see is dumped whole.
	pre_pages=$(wc -c <"$T/pre/pages-1.img")
	img_pages=$(wc -c <"$T/img/pages-1.img")
	echo "# init's pages: pre-dump $pre_pages bytes, final dump $img_pages bytes"
	((img_pages < pre_pages)) || fail "the final dump of init ($img_pages bytes of pages) is not smaller than its pre-dump ($pre_pages)"
	cnt_now "$cnt"
	tok=$TOK base=$N

	rtq restore -d -b "$T/b" --image-path "$T/img" --work-path "$T/work2" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
}

@test "--print-stats finds CRIU's statistics with and without --image-path and --work-path, for --pre-dump and --export" {
	local id=stats-$SFX n
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	mkdir "$T/cwd"
	# stats_of N ARGS...: checkpoint ARGS with --print-stats (in $T/cwd, so
	# the default ./checkpoint lands there); it must exit 0 and print one
	# JSON document with CRIU's frozen time.
	stats_of() {
		n=$1
		shift
		(cd "$T/cwd" && "$RT_BIN" --root "$ROOT" --log "$T/rt.log" checkpoint --print-stats "$@" "$id" \
			</dev/null >"$T/stats$n.json" 2>"$T/stats$n.err") || {
			cat "$T/stats$n.err" "$T/stats$n.json"
			fail "checkpoint --print-stats $* failed"
		}
		! grep -q -- '--print-stats' "$T/stats$n.err" || fail "stats $n: warning: $(cat "$T/stats$n.err")"
		jq -e '.frozenTimeUs > 0 and .pagesWritten > 0' "$T/stats$n.json" >/dev/null ||
			fail "stats $n: no statistics: $(cat "$T/stats$n.json")"
	}
	stats_of 1 --leave-running --image-path "$T/img1"
	[ "$(jq -r .imageDirectory "$T/stats1.json")" = "$T/img1" ]
	stats_of 2 --leave-running --image-path "$T/img2" --work-path "$T/work2"
	[ "$(jq -r .imageDirectory "$T/stats2.json")" = "$T/img2" ]
	stats_of 3 --leave-running --work-path "$T/work3"
	[ "$(jq -r .imageDirectory "$T/stats3.json")" = "$T/cwd/checkpoint" ]
	stats_of 4 --pre-dump --image-path "$T/pre" --work-path "$T/work4"
	[ "$(status_of "$id")" = running ]
	# The combination engines use: --export and --work-path, no image path.
	rm -rf "$T/cwd/checkpoint"
	stats_of 5 --export "$T/c.tar.zst" --work-path "$T/work5"
	[ -s "$T/c.tar.zst" ]
	[ -z "$(status_of "$id")" ] || fail "container still known after the checkpoint"
}

@test "--network-lock nftables (an option CRIU takes from a configuration file): CRIU locks with nftables, and the counter resumes" {
	local id=nlock-$SFX cnt=$T/b/rootfs/tmp/cnt pid cpt seen=
	command -v nft >/dev/null || fail "nft is not installed (tests/setup-host.sh installs nftables)"
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$cnt"
	pid=$(rt state "$id" | jq -r .pid)
	bg "$T/checkpoint.log" "$RT_BIN" --root "$ROOT" checkpoint --network-lock nftables \
		--image-path "$T/img" --work-path "$T/work" "$id"
	cpt=$BG_PID
	# While CRIU holds the lock, the container's network namespace has
	# CRIU's nftables table (iptables locking would add a CRIU chain).
	while kill -0 "$cpt" 2>/dev/null; do
		if nsenter -t "$pid" -n nft list tables 2>/dev/null | grep -q CRIU; then
			seen=1
			break
		fi
		sleep 0.05
	done
	wait_exit "$cpt" || {
		cat "$T/checkpoint.log"
		fail "rt checkpoint --network-lock nftables failed"
	}
	[ -n "$seen" ] || fail "no CRIU nftables table appeared during the dump: the option did not reach CRIU"
	grep -q '"networkLock": "nftables"' "$T/img/rt-manifest.json" || fail "network-lock not recorded in the manifest"
	cnt_now "$cnt"
	local tok=$TOK base=$N
	# replayed from the manifest: restore is not told again
	rtq restore -d -b "$T/b" --image-path "$T/img" --work-path "$T/work2" "$id"
	grep -q 'using --network-lock nftables as recorded' "$T/rt.log" || fail "network-lock not replayed on restore"
	resumed "$cnt" "$tok" "$base"
}

@test "--lazy-pages through a page server: checkpoint, criu lazy-pages, restore --lazy-pages" {
	local id=lazy-$SFX new=lazy2-$SFX port rd byte cpt lp tok base i
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"

	port=$(free_port)
	mkfifo "$T/status"
	exec {rd}<>"$T/status" # read end (held read-write: never blocks, never EOF)
	bg "$T/checkpoint.log" "$RT_BIN" --root "$ROOT" checkpoint --lazy-pages --print-stats \
		--page-server "127.0.0.1:$port" --status-fd 5 \
		--work-path "$T/work" --image-path "$T/img" "$id" 5>"$T/status"
	cpt=$BG_PID
	# CRIU writes one \0 to --status-fd once the page server is ready
	byte=$(timeout "$WAIT" dd bs=1 count=1 <&"$rd" 2>/dev/null | od -An -tx1 | tr -d ' \n')
	exec {rd}>&-
	[ "$byte" = 00 ] || {
		cat "$T/checkpoint.log"
		fail "no \\0 on --status-fd within ${WAIT}s (got '$byte')"
	}
	[ -e "$T/img/inventory.img" ]
	# frozen while its memory waits for the other side
	counter_frozen "$T/b/rootfs/tmp/cnt"
	cnt_now "$T/b/rootfs/tmp/cnt"
	tok=$TOK base=$N

	mkdir "$T/lazy"
	bg "$T/lazy-pages.log" criu lazy-pages --page-server --address 127.0.0.1 --port "$port" \
		-D "$T/img" -W "$T/lazy"
	lp=$BG_PID
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		[ -S "$T/lazy/lazy-pages.socket" ] && break
		kill -0 "$lp" 2>/dev/null || break
		sleep 0.1
	done
	[ -S "$T/lazy/lazy-pages.socket" ] || {
		cat "$T/lazy-pages.log"
		fail "criu lazy-pages did not create its socket"
	}

	cp -a "$T/b" "$T/b2"
	rtq restore -d --lazy-pages -b "$T/b2" --image-path "$T/img" --work-path "$T/lazy" "$new"
	[ "$(status_of "$new")" = running ]
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"

	# both CRIU sides finish once every page has moved; the source is gone
	wait_exit "$cpt" || {
		cat "$T/checkpoint.log"
		fail "rt checkpoint --lazy-pages failed"
	}
	grep -q '"frozenTimeUs"' "$T/checkpoint.log" || {
		cat "$T/checkpoint.log"
		fail "rt checkpoint --lazy-pages --print-stats printed no statistics"
	}
	wait_exit "$lp" || {
		cat "$T/lazy-pages.log"
		fail "criu lazy-pages failed"
	}
	! in_list "$id" || fail "the source container $id is still listed"
	counter_runs "$T/b2/rootfs/tmp/cnt"
	[ "$TOK" = "$tok" ]
}

@test "terminal container: checkpoint and restore with --console-socket" {
	local id=tty-$SFX cnt=$T/b/rootfs/tmp/cnt tok base tty1 tty2
	# the counter also goes to the terminal
	make_bundle "$T/b" "$STREAM_COUNTER" '.process.terminal = true'
	bg "$T/recvtty1.log" "$RECVTTY" --out "$T/tty1.out" "$T/tty1.sock"
	tty1=$BG_PID
	wait_socket "$T/tty1.sock"
	rtq run -d --console-socket "$T/tty1.sock" -b "$T/b" "$id"
	[ "$(status_of "$id")" = running ]
	wait_stream "$T/tty1.out" 3
	counter_runs "$cnt"

	rtq checkpoint --image-path "$T/img" "$id"
	cnt_now "$cnt"
	tok=$TOK base=$N
	# the terminal's last user is gone: recvtty sees the hang-up and exits
	wait_exit "$tty1" || fail "recvtty (first terminal) failed: $(cat "$T/recvtty1.log")"

	bg "$T/recvtty2.log" "$RECVTTY" --out "$T/tty2.out" "$T/tty2.sock"
	tty2=$BG_PID
	wait_socket "$T/tty2.sock"
	rtq restore -d --console-socket "$T/tty2.sock" -b "$T/b" --image-path "$T/img" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
	# and it writes on to the new terminal
	wait_stream "$T/tty2.out" $((base + 2))
	[ "$TOK" = "$tok" ] || fail "the new terminal shows token $TOK, not $tok"
	kill -0 "$tty2" || fail "recvtty (second terminal) is gone: $(cat "$T/recvtty2.log")"
}

@test "TCP: established connection in the container's network namespace needs --tcp-established" {
	local id=tcp-$SFX cnt=$T/b/rootfs/tmp/cnt recv=$T/b/rootfs/tmp/recv tok base rbase conn conn2
	# The container joins a network namespace made for it, as engines do
	# with CNI: rt, like runc, restores a namespace it creates itself empty
	# (loopback down), where no loopback connection can be restored.
	NETNS=rtcr-$SFX
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	# a server and a client in the container, connected over loopback; the
	# client streams the counter, the server writes it to /tmp/recv
	make_bundle "$T/b" 'tail -f /dev/null | nc -l -p 5000 >/tmp/recv &
		while ! netstat -ltn | grep -q ":5000 "; do sleep 0.1; done
		tok=t$RANDOM$RANDOM; i=0
		while :; do i=$((i + 1)); echo "$tok $i" >/tmp/cnt; echo "$tok $i"; sleep 0.1; done | nc 127.0.0.1 5000' \
		".linux.namespaces |= map(if .type == \"network\" then .path = \"/run/netns/$NETNS\" else . end)"
	start "$id" "$T/b"
	wait_stream "$recv" 3
	conn=$(ip netns exec "$NETNS" ss -Htn state established | awk '{print $3, $4}' | sort | tr '\n' ' ')
	[ -n "$conn" ] || fail "no established TCP connection in $NETNS"

	# without --tcp-established: refused, and the container goes on
	run rt checkpoint --image-path "$T/img1" --work-path "$T/work1" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ ${lines[0]} == *--tcp-established* ]] || fail "the first line of the error does not name --tcp-established"
	[[ $output == *"CRIU log: $T/work1/dump.log"* ]]
	[ -s "$T/work1/dump.log" ]
	no_image "$T/img1"
	[ "$(status_of "$id")" = running ]
	counter_runs "$cnt"
	last_n "$recv"
	wait_stream "$recv" $((N + 3))

	# with it: dumped, restored, and the same connection carries on
	rtq checkpoint --tcp-established --image-path "$T/img" --work-path "$T/work" "$id"
	cnt_now "$cnt"
	tok=$TOK base=$N
	last_n "$recv"
	rbase=$N
	# An engine gives the restored container a new network namespace.  The
	# old one still holds the lock CRIU leaves after a --tcp-established
	# dump (iptables DROP rules): CRIU 3.17 restoring into it locks again
	# and then fails to unlock, and the connection stalls.
	ip netns del "$NETNS"
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	rtq restore -d --tcp-established -b "$T/b" --image-path "$T/img" --work-path "$T/work2" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
	wait_stream "$recv" $((rbase + 3))
	[ "$TOK" = "$tok" ]
	# the server accepts one connection only: data after the restore came
	# over the connection from before the checkpoint (same addresses and ports)
	conn2=$(ip netns exec "$NETNS" ss -Htn state established | awk '{print $3, $4}' | sort | tr '\n' ' ')
	[ "$conn2" = "$conn" ] || fail "connections before: '$conn', after restore: '$conn2'"
}

@test "external unix socket: --ext-unix-sk reconnects the container's datagram socket" {
	local id=extsk-$SFX cnt=$T/b/rootfs/tmp/cnt log=$T/sk.out tok base lbase
	# The container logs to a datagram socket outside it (like /dev/log,
	# bind-mounted in).  It runs in the host's network namespace: CRIU finds
	# a socket's peer only in the network namespace it dumps.
	mkdir "$T/sk"
	bg "$T/listener.log" "$CRHELPER" dgram-listen "$T/sk/log.sock" "$log"
	wait_socket "$T/sk/log.sock"
	make_bundle "$T/b" "exec /bin/crhelper dgram-connect $T/sk/log.sock sh -c '$STREAM_COUNTER'" \
		".mounts += [{destination: \"$T/sk\", type: \"bind\", source: \"$T/sk\", options: [\"rbind\", \"rw\"]}]
		 | .linux.namespaces |= map(select(.type != \"network\"))"
	cp "$CRHELPER" "$T/b/rootfs/bin/crhelper"
	start "$id" "$T/b"
	wait_stream "$log" 3

	run rt checkpoint --image-path "$T/img1" --work-path "$T/work1" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ ${lines[0]} == *--ext-unix-sk* ]] || fail "the first line of the error does not name --ext-unix-sk"
	no_image "$T/img1"
	[ "$(status_of "$id")" = running ]
	counter_runs "$cnt"

	rtq checkpoint --ext-unix-sk --image-path "$T/img" --work-path "$T/work" "$id"
	cnt_now "$cnt"
	tok=$TOK base=$N
	last_n "$log"
	lbase=$N
	rtq restore -d --ext-unix-sk -b "$T/b" --image-path "$T/img" --work-path "$T/work2" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
	# the restored socket is connected to the listener again
	wait_stream "$log" $((lbase + 3))
	[ "$TOK" = "$tok" ]
}

@test "file locks: checkpoint needs --file-locks, and the lock survives C/R" {
	local id=lock-$SFX cnt=$T/b/rootfs/tmp/cnt tok base
	# Debian's busybox has no flock applet: crhelper takes the lock and
	# execs the counter with the locked file open
	make_bundle "$T/b" "exec /bin/crhelper flock /tmp/lock sh -c '$COUNTER'"
	cp "$CRHELPER" "$T/b/rootfs/bin/crhelper"
	start "$id" "$T/b"
	counter_runs "$cnt"
	! flock -n "$T/b/rootfs/tmp/lock" true || fail "the container does not hold the lock"

	run rt checkpoint --image-path "$T/img1" --work-path "$T/work1" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ ${lines[0]} == *--file-locks* ]] || fail "the first line of the error does not name --file-locks"
	no_image "$T/img1"
	[ "$(status_of "$id")" = running ]
	counter_runs "$cnt"

	rtq checkpoint --file-locks --image-path "$T/img" --work-path "$T/work" "$id"
	cnt_now "$cnt"
	tok=$TOK base=$N
	flock -n "$T/b/rootfs/tmp/lock" true || fail "the lock is still held after the checkpoint"
	rtq restore -d --file-locks -b "$T/b" --image-path "$T/img" --work-path "$T/work2" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
	! flock -n "$T/b/rootfs/tmp/lock" true || fail "the restored container does not hold the lock"
}

@test "paused container (as containerd does it): checkpoint, resume, restore" {
	local id=paused-$SFX new=unpaused-$SFX cnt=$T/b/rootfs/tmp/cnt tok base base2
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$cnt"

	# containerd: pause, checkpoint --leave-running, resume
	rtq pause "$id"
	[ "$(status_of "$id")" = paused ]
	counter_frozen "$cnt"
	cnt_now "$cnt"
	tok=$TOK base=$N
	rtq checkpoint --leave-running --image-path "$T/img1" "$id"
	[ -e "$T/img1/inventory.img" ]
	[ "$(status_of "$id")" = paused ] || fail "checkpoint --leave-running left a paused container $(status_of "$id")"
	counter_frozen "$cnt"
	rtq resume "$id"
	counter_runs "$cnt"

	# containerd with exit: pause, checkpoint; the restored one runs
	rtq pause "$id"
	cnt_now "$cnt"
	base2=$N
	rtq checkpoint --image-path "$T/img2" "$id"
	! in_list "$id" || fail "$id is listed after its checkpoint"
	rtq restore -d -b "$T/b" --image-path "$T/img2" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base2"

	# the first image, restored under a new ID, resumes from the pause
	cp -a "$T/b" "$T/b2"
	rtq restore -d -b "$T/b2" --image-path "$T/img1" "$new"
	[ "$(status_of "$new")" = running ]
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"
}

@test "failed restore (empty, missing, corrupt images) leaves nothing in --root" {
	local id=src-$SFX bad
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --image-path "$T/img" "$id"

	mkdir "$T/empty" "$T/junk" "$T/crit"
	echo junk >"$T/junk/inventory.img"
	# an image whose manifest was lost and one of whose CRIU files broke:
	# only CRIU can find out
	cp -a "$T/img/." "$T/crit/"
	rm -f "$T/crit/rt-manifest.json"
	for f in "$T"/crit/core-*.img; do head -c 7 "$f" >"$f.x" && mv "$f.x" "$f"; done
	# a missing file: the manifest names it
	cp -a "$T/img" "$T/lost"
	rm -f "$T"/lost/pages-1.img

	for bad in empty missing junk crit lost; do
		echo "# --image-path $T/$bad"
		run rt restore -d -b "$T/b" --image-path "$T/$bad" "r-$bad-$SFX"
		echo "$output"
		[ "$status" -ne 0 ] || fail "restore from $bad succeeded"
		[ -n "$output" ]
		case $bad in
		empty) [[ $output == *"holds no complete checkpoint"* ]] ;;
		missing) [[ $output == *"$T/missing"* ]] ;;
		junk | crit) [[ $output == *"$T/$bad"* ]] || fail "the error does not name the image or its log" ;;
		lost) [[ $output == *pages-1.img* ]] || fail "the error does not name the missing file" ;;
		esac
		[ -z "$(rt list -q)" ] || fail "rt list after a failed restore: $(rt list -q)"
		[ ! -e "$ROOT/r-$bad-$SFX" ] || fail "state dir $ROOT/r-$bad-$SFX left behind"
		[ -z "$(ls -A "$ROOT" | grep -F "r-$bad-$SFX")" ] || fail "left in --root after a failed restore: $(ls -A "$ROOT")"
		[ -z "$(find /sys/fs/cgroup -maxdepth 4 -name "*r-$bad-$SFX*" 2>/dev/null)" ] ||
			fail "cgroup left behind: $(find /sys/fs/cgroup -maxdepth 4 -name "*r-$bad-$SFX*")"
	done
	# the good image still restores
	rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
	[ "$(status_of "$id")" = running ]
}

@test "failed checkpoint (page server not listening) leaves the container running and no image" {
	local id=ps-$SFX cnt=$T/b/rootfs/tmp/cnt port tok base
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$cnt"
	port=$(free_port)

	run rt checkpoint --page-server "127.0.0.1:$port" --image-path "$T/img1" --work-path "$T/work1" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"CRIU log: $T/work1/dump.log"* ]]
	[ -s "$T/work1/dump.log" ]
	no_image "$T/img1"
	[ "$(status_of "$id")" = running ]
	counter_runs "$cnt"

	# unharmed: it can still be checkpointed and restored
	rtq checkpoint --image-path "$T/img" "$id"
	cnt_now "$cnt"
	tok=$TOK base=$N
	rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
	[ "$(status_of "$id")" = running ]
	resumed "$cnt" "$tok" "$base"
}

@test "a second checkpoint into a path holding one is refused; the first still restores" {
	local id=twice-$SFX new=first-$SFX tok base sum
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	tok=$TOK base=$N

	rtq checkpoint --leave-running --image-path "$T/img" "$id"
	sum=$(tree_sum "$T/img")
	for opt in --leave-running ""; do
		run rt checkpoint $opt --image-path "$T/img" "$id"
		echo "$output"
		[ "$status" -ne 0 ]
		[[ $output == *"already holds a checkpoint"* ]]
		[ "$(tree_sum "$T/img")" = "$sum" ] || fail "the first checkpoint's files changed"
		[ -z "$(find "$T" -maxdepth 1 -name '.img.rt-partial-*')" ] || fail "staging directory left behind"
		# the refused checkpoint without --leave-running must not end it
		[ "$(status_of "$id")" = running ]
		counter_runs "$T/b/rootfs/tmp/cnt"
	done

	cp -a "$T/b" "$T/b2"
	rtq restore -d -b "$T/b2" --image-path "$T/img" "$new"
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"
}

@test "a checkpoint that ends the container leaves nothing of it in --root" {
	local id=gone-$SFX
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --image-path "$T/img" "$id"
	! in_list "$id" || fail "$id is listed after its checkpoint"
	[ -z "$(ls -A "$ROOT")" ] || fail "left in --root after the container was checkpointed away: $(ls -A "$ROOT")"
	# rt's record of this host's checkpoint speed (for rt check) is beside the root
	[ -s "$(dirname "$ROOT")/.$(basename "$ROOT")-checkpoint-speed.json" ] || fail "the checkpoint's speed was not recorded"
}

@test "restore --lazy-pages with no lazy-pages daemon: the error names the real cause" {
	local id=nolazy-$SFX first
	criu check --feature uffd-noncoop || fail "this kernel has no non-cooperative userfaultfd"
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --image-path "$T/img" "$id"

	mkdir "$T/nodaemon"
	run rt restore -d --lazy-pages -b "$T/b" --image-path "$T/img" --work-path "$T/nodaemon" "new$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$ROOT" | grep -F "new$id")" ] || fail "left in --root after a failed restore: $(ls -A "$ROOT")"
	first=${lines[0]}
	# userfaultfd works here (criu check says so): the restore failed
	# because nothing serves the pages
	[[ $first != *userfaultfd* ]] || fail "the first line blames userfaultfd, which works: $first"
	[[ $first == *lazy-pages* ]] || fail "the first line does not point at the missing criu lazy-pages daemon: $first"
}
