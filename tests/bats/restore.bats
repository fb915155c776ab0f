#!/usr/bin/env bats
# restore checks that need no CRIU (the C/R suite in tests/cr runs CRIU).

load helpers

setup() {
	setup_common
}

teardown() {
	teardown_common
}

# mk_archive FILE: an archive as checkpoint --export lays it out, holding
# (fake) images and a rootfs change that adds /marker.
mk_archive() {
	local d=$TEST_DIR/arch
	mkdir -p "$d/checkpoint" "$d/diff"
	echo fake >"$d/checkpoint/inventory.img"
	echo imported >"$d/diff/marker"
	tar -C "$d/diff" -cf "$d/rootfs-diff.tar" marker
	tar -C "$d" -cf "$1" checkpoint rootfs-diff.tar
}

@test "restore --import into an existing ID is refused before the target bundle is touched" {
	cd "$BUNDLE"
	rt run -d ct1
	[ "$status" -eq 0 ]
	setup_bundle "$TEST_DIR/b2"
	mk_archive "$TEST_DIR/c.tar"
	rt restore -d --import "$TEST_DIR/c.tar" -b "$TEST_DIR/b2" ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *"container ct1 already exists"* ]] || fail "error: $output"
	[ ! -e "$TEST_DIR/b2/rootfs/marker" ] || fail "the archive's rootfs changes were applied to a bundle whose restore was refused"
	# the existing container is untouched
	[ "$(container_status ct1)" = running ]
}

@test "restore into an existing ID is refused, naming it, and leaves that container alone" {
	cd "$BUNDLE"
	rt run -d ct1
	[ "$status" -eq 0 ]
	mkdir -p "$TEST_DIR/img"
	echo fake >"$TEST_DIR/img/inventory.img"
	rt restore -d --image-path "$TEST_DIR/img" ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *"container ct1 already exists"* ]] || fail "error: $output"
	[ "$(container_status ct1)" = running ]
}
