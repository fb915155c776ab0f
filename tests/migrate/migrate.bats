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
	local id
	for id in $(ssh peer "$RT_BIN --root $ROOT list -q" 2>/dev/null); do
		ssh peer "$RT_BIN --root $ROOT delete -f $id" >/dev/null 2>&1 || true
	done
	ssh peer "rm -rf $T" 2>/dev/null || true
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
	[ "$(status_of "$id")" = running ] || fail "$id is $(status_of "$id") here"
	counter_runs "$T/b/rootfs/tmp/cnt"
	[ -z "$(ssh peer "$RT_BIN --root $ROOT list -q")" ] || fail "the peer's root is not empty"
	[ -z "$(ssh peer "ls -A $ROOT 2>/dev/null")" ] || fail "the peer's root holds: $(ssh peer "ls -A $ROOT")"
}
