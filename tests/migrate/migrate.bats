#!/usr/bin/env bats
# rt migrate between two hosts: run through tests/migrate/run.sh, which
# boots the pair of VMs (tests/vm/pair.sh); this file runs on host a, and
# `ssh peer` reaches host b. rt, the rootfs and the test tools are at the
# same paths on both (the host's root, shared read-only); each test's
# directory $T and root $ROOT are made on both.

bats_require_minimum_version 1.5.0

load ../cr/helpers

PEER=${RT_PAIR_PEER:-}

setup() {
	cr_setup
	[ -n "$PEER" ] || fail "RT_PAIR_PEER is not set: run through tests/migrate/run.sh"
	ssh peer "mkdir -p $T"
}

teardown() {
	[ -z "${PINGER:-}" ] || kill "$PINGER" 2>/dev/null || true
	[ -z "${NET_SFX:-}" ] || net_teardown
	# one ssh call: each costs seconds under TCG
	ssh peer "for id in \$($RT_BIN --root $ROOT list -q 2>/dev/null); do $RT_BIN --root $ROOT delete -f \$id; done
		mountpoint -q $T/small && umount $T/small; rm -rf $T" >/dev/null 2>&1 || true
	cr_teardown
}

# copy_bundle DIR: the bundle at DIR, copied to the same path on the peer.
copy_bundle() {
	tar -C "$(dirname "$1")" -c "$(basename "$1")" | ssh peer "tar -C $(dirname "$1") -x" ||
		fail "copying $1 to the peer failed"
}

# peer_read_cnt FILE: read_cnt of FILE on the peer.
peer_read_cnt() {
	ssh peer "cat $1" >"$T/peer-cnt" 2>/dev/null || return 1
	read_cnt "$T/peer-cnt"
}

# peer_resumed FILE TOK BASE: as resumed, for a counter on the peer.
peer_resumed() {
	local i
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		if peer_read_cnt "$1" && [ "$TOK" = "$2" ] && ((N > $3 + 3)); then
			echo "# resumed on the peer: $2 $3 -> $N"
			return 0
		fi
		sleep 0.5
	done
	fail "the counter on the peer did not go on from $2 $3 (holds '$(cat "$T/peer-cnt" 2>/dev/null)')"
}

peer_status() {
	ssh peer "$RT_BIN --root $ROOT state $1" 2>/dev/null | jq -r .status
}

# memhog_bundle DIR MIB WS_MIB RATE: a bundle running crhelper memhog
# (tests/cr/crhelper/memhog.go).
memhog_bundle() {
	local dir=$1
	shift
	make_bundle "$dir" "exec /bin/crhelper memhog $*"
	cp "$CRHELPER" "$dir/rootfs/bin/crhelper"
}

# peer_clean: nothing of a migration is left on the peer: no container,
# nothing under its root, no receive directory. The peer's rt may still
# be cleaning up when the source gives up (the cut connection reaches it
# later): wait for it.
peer_clean() {
	local i left
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		left=$(ssh peer "ls -A $ROOT 2>/dev/null; ls -d /tmp/rt-migrate-in-* $T/small/rt-migrate-in-* 2>/dev/null; true")
		[ -z "$left" ] && return 0
		sleep 0.5
	done
	fail "the peer holds: $left"
}

# peer_rt_wrapper NAME LINES: an executable $T/NAME on the peer running
# "LINES" and then the real rt with its arguments: --dest-rt.
peer_rt_wrapper() {
	printf '#!/bin/sh\n%s\nexec %s "$@"\n' "$2" "$RT_BIN" | ssh peer "cat >$T/$1 && chmod +x $T/$1" ||
		fail "cannot write $T/$1 on the peer"
}

# peer_verify ID: memhog's check of every page of its memory, on the
# peer, says ok.
peer_verify() {
	local i
	ssh peer "rm -f $T/b/rootfs/tmp/verify; $RT_BIN --root $ROOT kill $1 USR1" || fail "cannot signal $1 on the peer"
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		ssh peer "test -s $T/b/rootfs/tmp/verify" && break
		sleep 0.5
	done
	run ssh peer "cat $T/b/rootfs/tmp/verify"
	echo "# verify: $output"
	[[ $output == "ok "* ]] || fail "the migrated process found its memory wrong: '$output'"
}

# wait_for VALUE CMD...: CMD prints VALUE within WAIT seconds.
wait_for() {
	local want=$1 got i
	shift
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		got=$("$@")
		[ "$got" = "$want" ] && return 0
		sleep 0.5
	done
	fail "$* is '$got', not '$want'"
}

# The network recipe of rt-migrate(8), NETWORK IDENTITY, as an engine or
# a CNI plugin would do it. On each host, the container's network
# namespace (/run/netns/ctn-SFX, which config.json names) with eth0
# 10.99.5.2/24 on a veth whose host end is the gateway 10.99.5.1. A client
# namespace on host a, 10.99.6.2 behind 10.99.6.1; host b routes the
# client subnet through host a. The hosts forward. After the migration,
# host a routes 10.99.5.2/32 to host b: the address moved.
net_ctn_script() {
	cat <<-EOS
		set -e
		ip netns add ctn-$1
		ip link add vh$1 type veth peer name eth0 netns ctn-$1
		ip addr add 10.99.5.1/24 dev vh$1
		ip link set vh$1 up
		ip -n ctn-$1 link set lo up
		ip -n ctn-$1 addr add 10.99.5.2/24 dev eth0
		ip -n ctn-$1 link set eth0 up
		ip -n ctn-$1 route add default via 10.99.5.1
		sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	EOS
}

net_setup() {
	NET_SFX=$SFX
	sh -c "$(net_ctn_script "$SFX")
		ip netns add cli-$SFX
		ip link add vc$SFX type veth peer name eth0 netns cli-$SFX
		ip addr add 10.99.6.1/24 dev vc$SFX
		ip link set vc$SFX up
		ip -n cli-$SFX link set lo up
		ip -n cli-$SFX addr add 10.99.6.2/24 dev eth0
		ip -n cli-$SFX link set eth0 up
		ip -n cli-$SFX route add default via 10.99.6.1" || fail "the network recipe failed here"
	ssh peer "$(net_ctn_script "$SFX")
		ip route add 10.99.6.0/24 via 10.99.0.1" || fail "the network recipe failed on the peer"
}

# The veths are deleted by name: a namespace is freed some time after its
# last user, and its veth's host end, holding the same gateway address,
# would take the next test's packets until then.
net_teardown() {
	ip route del 10.99.5.2/32 2>/dev/null
	ip link del "vh$NET_SFX" 2>/dev/null
	ip link del "vc$NET_SFX" 2>/dev/null
	ip netns del "ctn-$NET_SFX" 2>/dev/null
	ip netns del "cli-$NET_SFX" 2>/dev/null
	ssh peer "ip route del 10.99.6.0/24; ip link del vh$NET_SFX; ip netns del ctn-$NET_SFX" >/dev/null 2>&1
	true
}

# net_bundle DIR: the bundle joins the container's network namespace.
net_bundle() {
	jq --arg p "/run/netns/ctn-$SFX" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		"$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json" || fail "jq on $1/config.json"
}

# pongs_since N FILE SECS: within SECS, FILE (the pinger's output) has more than N "pong"
# lines, all from one connection, and no error.
pongs_since() {
	local i
	for ((i = SECONDS + $3; SECONDS < i; )); do
		! grep -q '^error' "$2" || fail "the client's connection failed: $(grep '^error' "$2")"
		(($(grep -c '^pong' "$2") > $1)) && break
		sleep 1
	done
	(($(grep -c '^pong' "$2") > $1)) || fail "no answer on the connection since the migration: $(tail -n 3 "$2")"
	[ "$(awk '/^pong/ {print $4}' "$2" | sort -u | wc -l)" = 1 ] || fail "the client connected more than once: $(cat "$2")"
}

# runs_here ID: the container still runs here and counts on.
runs_here() {
	[ "$(status_of "$1")" = running ] || fail "$1 is '$(status_of "$1")' here"
	counter_runs "$2"
}

@test "migrate: a counter moves to the other host and resumes there; nothing is left here" {
	local id=m-$SFX tok base
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	copy_bundle "$T/b"
	tok=$TOK base=$N
	run rt migrate --print-stats "$id" "ssh://$PEER"
	[ "$status" -eq 0 ] || fail "rt migrate: $output"
	echo "$output" | jq -e '.destinationPid > 0 and .frozenMs > 0' >/dev/null || fail "no stats: $output"
	echo "# $(echo "$output" | jq -c .)"
	! in_list "$id" || fail "$id is still here after the migration"
	[ -z "$(rt list -q)" ] || fail "rt list here is not empty: $(rt list -q)"
	[ "$(peer_status "$id")" = running ] || fail "$id is not running on the peer"
	peer_resumed "$T/b/rootfs/tmp/cnt" "$tok" "$base"
}

@test "migrate: a destination ID in use is refused before anything is frozen; the container runs on here" {
	local id=m-$SFX
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	copy_bundle "$T/b"
	ssh peer "$RT_BIN --root $ROOT run -d -b $T/b $id </dev/null >/dev/null 2>&1" || fail "cannot start $id on the peer"
	run rt migrate "$id" "ssh://$PEER"
	[ "$status" -ne 0 ] || fail "rt migrate to a host where $id exists succeeded"
	[[ $output == *"exists on this host"* ]] || fail "the error does not say the ID is in use: $output"
	[[ $output == *"nothing was frozen"* ]] || fail "the error does not say nothing was frozen: $output"
	[ "$(status_of "$id")" = running ] || fail "$id is $(status_of "$id") here"
	counter_runs "$T/b/rootfs/tmp/cnt"
}

@test "migrate: a bundle missing on the destination is refused before anything is frozen" {
	local id=m-$SFX
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	run rt migrate "$id" "ssh://$PEER"
	[ "$status" -ne 0 ] || fail "rt migrate without the bundle on the peer succeeded"
	[[ $output == *"bundle is missing"* ]] || fail "the error does not name the bundle: $output"
	[ "$(status_of "$id")" = running ]
	counter_runs "$T/b/rootfs/tmp/cnt"
}

@test "migrate: a restore that fails on the destination leaves the container running here and nothing there" {
	local id=m-$SFX
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	# the peer's bundle differs from the checkpointed container (another
	# mount): its rt refuses to restore into it
	make_bundle "$T/other" "$COUNTER" '.mounts += [{"destination": "/extra", "type": "tmpfs", "source": "tmpfs"}]'
	copy_bundle "$T/other"
	run rt migrate --dest-bundle "$T/other" "$id" "ssh://$PEER"
	[ "$status" -ne 0 ] || fail "rt migrate into a different bundle succeeded"
	echo "# $output"
	[[ $output == *"did not restore"* ]] || fail "the error does not say the destination failed: $output"
	[[ $output == *"runs on here"* ]] || fail "the error does not say the container runs on: $output"
	runs_here "$id" "$T/b/rootfs/tmp/cnt"
	peer_clean
}

@test "migrate: pre-copy rounds go while it rewrites its memory; on the destination every page is right" {
	local id=mp-$SFX rounds i
	memhog_bundle "$T/b" 64 4 8
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	copy_bundle "$T/b"
	run rt migrate --print-stats "$id" "ssh://$PEER"
	[ "$status" -eq 0 ] || fail "rt migrate: $output"
	echo "# $(echo "$output" | jq -c .)"
	rounds=$(echo "$output" | jq '.preCopyRounds | length')
	((rounds > 1)) || fail "$rounds pre-copy round(s)"
	# the first round carries the whole memory (64 MiB), the final
	# archive far less
	echo "$output" | jq -e '.preCopyRounds[0].bytes > 60*1048576 and .archiveBytes < .preCopyRounds[0].bytes / 2' >/dev/null ||
		fail "the rounds did not carry the memory: $output"
	! in_list "$id" || fail "$id is still here"
	[ "$(peer_status "$id")" = running ] || fail "$id is not running on the peer"
	peer_verify "$id"
}

@test "migrate --lazy: it runs there before its memory is all there; every page is right at the end" {
	local id=ml-$SFX lazy
	memhog_bundle "$T/b" 64 4 8
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	copy_bundle "$T/b"
	# no pre-copy: the whole 64 MiB is copied after the destination runs.
	# Meanwhile, samples of its counter there and of its lazy copy's state.
	(while :; do
		ssh peer "read -r tok n <$T/b/rootfs/tmp/cnt && echo \$n \$($RT_BIN --root $ROOT state $id 2>/dev/null | jq -r .lazyPages.state)" 2>/dev/null
		sleep 0.2
	done) >"$T/during" 3>&- &
	local sampler=$!
	run rt migrate --lazy --pre-copy=false --print-stats "$id" "ssh://$PEER"
	kill "$sampler"
	[ "$status" -eq 0 ] || fail "rt migrate --lazy: $output"
	# it counted there while its memory was still being copied
	awk '$2 == "copying" {if (!first) first = $1; last = $1} END {exit !(first && last > first)}' "$T/during" ||
		fail "no progress there during the copy: $(grep copying "$T/during" | tr '\n' ' ')"
	echo "# $(echo "$output" | jq -c .)"
	echo "$output" | jq -e '.postCopyMs > 0 and .archiveBytes < 16*1048576' >/dev/null ||
		fail "the memory did not go after the commit: $output"
	! in_list "$id" || fail "$id is still here"
	run ssh peer "$RT_BIN --root $ROOT state $id"
	[ "$(echo "$output" | jq -r .status)" = running ] || fail "$id is not running on the peer: $output"
	lazy=$(echo "$output" | jq -c .lazyPages)
	echo "# the peer's copy: $lazy"
	# it ran (the restore was over) before the daemon had every page, and
	# the daemon fetched the memory from here (64 MiB: 16384 pages)
	echo "$lazy" | jq -e '.state == "done" and .pagesCopied >= 16000 and .timeToRunningMs < .copyMs' >/dev/null ||
		fail "not a post-copy: $lazy"
	peer_verify "$id"
}

@test "migrate --lazy: the connection cut after the commit stops it there (memory incomplete) and leaves it frozen here" {
	local id=mw-$SFX lazy
	memhog_bundle "$T/b" 128 4 8
	start "$id" "$T/b"
	copy_bundle "$T/b"
	# no pre-copy: 128 MiB to copy after the restore, about 25 s through
	# ssh in the lane, against about 4 s from the daemon's start to the
	# commit (the assertion on the peer's record below fails, saying so,
	# if the copy was over first). From the commit on, the pages are held
	# back, and the connection is cut once the destination said it runs
	# the container.
	run rt migrate --lazy --pre-copy=false --rsh "$CRHELPER wirecut hold:commit:committed 1 ssh" "$id" "ssh://$PEER"
	echo "# $output"
	[ "$status" -ne 0 ] || fail "rt migrate --lazy over a cut connection succeeded"
	[[ $output == *"was not confirmed"* && $output == *"left frozen here"* && $output == *"rt resume $id"* ]] ||
		fail "the error does not say what happened on each side: $output"
	[ "$(status_of "$id")" = paused ] || fail "$id is '$(status_of "$id")' here, not frozen"
	# there: killed, its memory incomplete
	wait_for stopped peer_status "$id"
	lazy=$(ssh peer "$RT_BIN --root $ROOT state $id" | jq -c .lazyPages)
	echo "# the peer's copy: $lazy"
	echo "$lazy" | jq -e '.state == "failed" and .pagesCopied < .pagesTotal' >/dev/null || fail "not a failed copy there: $lazy"
	# the operator's choice here: go on from the state of the freeze
	rtq resume "$id"
	runs_here "$id" "$T/b/rootfs/tmp/cnt"
	rm -f "$T/b/rootfs/tmp/verify"
	rtq kill "$id" USR1
	wait_file "$T/b/rootfs/tmp/verify" '^(ok|bad) '
	[[ $(cat "$T/b/rootfs/tmp/verify") == "ok "* ]] || fail "its memory here is wrong: $(cat "$T/b/rootfs/tmp/verify")"
}

# cut_during OP N PHASE WHAT: migrate a memhog over a connection cut
# after the Nth message OP (crhelper wirecut); the error names PHASE and
# says WHAT of the container here; it runs on here, and the peer is clean.
cut_during() {
	local id=mc-$SFX
	memhog_bundle "$T/b" 16 4 8
	start "$id" "$T/b"
	copy_bundle "$T/b"
	run rt migrate --rsh "$CRHELPER wirecut $1 $2 ssh" "$id" "ssh://$PEER"
	echo "# $output"
	[ "$status" -ne 0 ] || fail "rt migrate over a cut connection succeeded"
	[[ $output == *"$3"* ]] || fail "the error does not name the phase ($3): $output"
	[[ $output == *"$4"* ]] || fail "the error does not say '$4': $output"
	runs_here "$id" "$T/b/rootfs/tmp/cnt"
	peer_clean
}

@test "migrate: the connection cut during a pre-copy round leaves it running here and nothing there" {
	cut_during round 1 "pre-copy round 1" "runs on here"
}

@test "migrate: the connection cut during the final transfer thaws it here; nothing is left there" {
	cut_during final 1 "final dump" "thawed and runs on here"
}

@test "migrate: the destination's rt killed during the restore: it runs on here, and the destination is cleaned" {
	local id=mk-$SFX real
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	copy_bundle "$T/b"
	# CRIU on the peer, started for the restore (the final archive is
	# there), kills the rt that started it, then goes on as the real one
	# would (its client is gone).
	real=$(ssh peer "command -v criu")
	printf '#!/bin/sh\nif [ "$1" = swrk ] && ls /tmp/rt-migrate-in-*/final.tar >/dev/null 2>&1; then kill -9 $PPID; fi\nexec %s "$@"\n' "$real" |
		ssh peer "cat >$T/criu-kill && chmod +x $T/criu-kill" || fail "cannot write the criu wrapper"
	peer_rt_wrapper rt-kill "set -- --criu $T/criu-kill \"\$@\""
	run rt migrate --dest-rt "$T/rt-kill" "$id" "ssh://$PEER"
	echo "# $output"
	[ "$status" -ne 0 ] || fail "rt migrate with the destination's rt killed succeeded"
	[[ $output == *"thawed and runs on here"* ]] || fail "the error does not say it was thawed: $output"
	runs_here "$id" "$T/b/rootfs/tmp/cnt"
	peer_clean
}

@test "migrate: the destination's disk full during pre-copy: it runs on here; the error names the disk" {
	local id=md-$SFX
	memhog_bundle "$T/b" 16 4 8
	start "$id" "$T/b"
	copy_bundle "$T/b"
	ssh peer "mkdir -p $T/small && mount -t tmpfs -o size=8m tmpfs $T/small" || fail "cannot mount a small tmpfs on the peer"
	peer_rt_wrapper rt-small "export TMPDIR=$T/small"
	run rt migrate --dest-rt "$T/rt-small" "$id" "ssh://$PEER"
	echo "# $output"
	[ "$status" -ne 0 ] || fail "rt migrate into a full disk succeeded"
	[[ $output == *"no space left on device"* ]] || fail "the error does not say the disk is full: $output"
	[[ $output == *"runs on here"* ]] || fail "the error does not say it runs on: $output"
	runs_here "$id" "$T/b/rootfs/tmp/cnt"
	peer_clean
	ssh peer "umount $T/small"
}

@test "migrate --copy-bundle --rootfs-base: the bundle is made there from the base and the changes; it resumes there" {
	local id=mb-$SFX base=$T/base tok
	# the base rootfs, the same on both hosts; the bundle's rootfs a copy
	# of it with changes, one made while it runs
	mkdir -p "$base"
	cp -a "$RT_CR_ROOTFS/." "$base/"
	echo gone >"$base/etc/gone"
	copy_bundle "$base"
	make_bundle "$T/b" "echo added >/tmp/added; $COUNTER"
	rm -rf "$T/b/rootfs"
	cp -a "$base" "$T/b/rootfs"
	echo before >"$T/b/rootfs/etc/before"
	rm "$T/b/rootfs/etc/gone"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	ssh peer "test ! -e $T/b" || fail "the bundle already exists on the peer"
	run rt migrate --copy-bundle --rootfs-base "$base" --print-stats "$id" "ssh://$PEER"
	[ "$status" -eq 0 ] || fail "rt migrate --copy-bundle: $output"
	echo "# $(echo "$output" | jq -c .)"
	# the changes travelled, not the base (the base is over 1 MiB)
	echo "$output" | jq -e '.bundleBytes > 0 and .bundleBytes < 512*1024' >/dev/null ||
		fail "the bundle was not sent as changes: $output"
	[ "$(peer_status "$id")" = running ] || fail "$id is not running on the peer"
	tok=$TOK
	peer_resumed "$T/b/rootfs/tmp/cnt" "$tok" "$N"
	[ "$(ssh peer "cat $T/b/rootfs/etc/before $T/b/rootfs/tmp/added")" = "before
added" ] || fail "the rootfs changes are not on the peer"
	ssh peer "test -e $base/etc/gone && test ! -e $T/b/rootfs/etc/gone" || fail "a file deleted here is on the peer"
	ssh peer "jq -r .root.path $T/b/config.json" | grep -qx rootfs || fail "config.json on the peer"
	! in_list "$id" || fail "$id is still here"
}

@test "migrate --copy-bundle: a bundle already there, or a base that differs, is refused before anything is frozen" {
	local id=mr-$SFX base=$T/base
	mkdir -p "$base"
	cp -a "$RT_CR_ROOTFS/." "$base/"
	copy_bundle "$base"
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	ssh peer "mkdir -p $T/b" || fail
	run rt migrate --copy-bundle "$id" "ssh://$PEER"
	echo "# $output"
	[ "$status" -ne 0 ] || fail "rt migrate --copy-bundle onto an existing bundle succeeded"
	[[ $output == *"bundle $T/b exists on this host"* && $output == *"nothing was frozen"* ]] || fail "wrong error: $output"
	ssh peer "rmdir $T/b && echo changed >>$base/etc/motd" || fail
	run rt migrate --copy-bundle --rootfs-base "$base" "$id" "ssh://$PEER"
	echo "# $output"
	[ "$status" -ne 0 ] || fail "rt migrate onto a different base succeeded"
	[[ $output == *"base rootfs $base here is not the same"* && $output == *"nothing was frozen"* ]] || fail "wrong error: $output"
	runs_here "$id" "$T/b/rootfs/tmp/cnt"
	ssh peer "test ! -e $T/b" || fail "a bundle was left on the peer"
	peer_clean
}

# tcp_survives ARGS...: a client in its own namespace on host a talks to
# memhog's server in the container over TCP, once a second, on one
# connection; rt migrate ARGS --tcp-established moves the container,
# the route moves its address; the same connection answers again.
tcp_survives() {
	local id=mt-$SFX n
	net_setup
	memhog_bundle "$T/b" 16 4 8 7000
	net_bundle "$T/b"
	start "$id" "$T/b"
	copy_bundle "$T/b"
	ip netns exec "cli-$SFX" "$CRHELPER" pinger 10.99.5.2:7000 >"$T/ping" 2>&1 3>&- &
	PINGER=$!
	wait_file "$T/ping" '^pong'
	run rt migrate "$@" --tcp-established --print-stats "$id" "ssh://$PEER"
	[ "$status" -eq 0 ] || fail "rt migrate: $output"
	echo "# $(echo "$output" | jq -c .)"
	n=$(grep -c '^pong' "$T/ping")
	# the address moves: host a routes it to host b
	ip route add 10.99.5.2/32 via 10.99.0.2 || fail "the route change failed"
	# TCP retransmits with backoff: the next try may come a minute later
	pongs_since "$n" "$T/ping" 150
	echo "# the client: $(head -n 1 "$T/ping") ... $(tail -n 1 "$T/ping")"
	kill -0 "$PINGER" || fail "the client is gone: $(tail -n 2 "$T/ping")"
	[ "$(peer_status "$id")" = running ] || fail "$id is not running on the peer"
}

@test "migrate --tcp-established: a client's TCP connection goes on with the container on the other host" {
	tcp_survives
}

@test "migrate --lazy --tcp-established: a client's TCP connection goes on with the container on the other host" {
	tcp_survives --lazy
}
