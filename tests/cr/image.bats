#!/usr/bin/env bats
# Checkpoints that describe themselves: export/import with the container's
# rootfs changes, checkpointctl reading rt's archives, inspect-checkpoint,
# rt check.  Run through tests/cr/run.sh (in the VM lane when CRIU cannot
# work on the host).

load helpers

setup() {
	cr_setup
	MOUNTS=()
}

teardown() {
	cr_teardown
	local m
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

# overlay_bundle DIR SCRIPT: a bundle whose rootfs is an overlay mount over a
# private copy of the pristine rootfs, as Docker's and containerd's
# snapshotters make them; changes land in DIR/upper.
overlay_bundle() {
	local dir=$1
	make_bundle "$dir" "$2"
	mv "$dir/rootfs" "$dir/lower"
	mkdir -p "$dir/rootfs" "$dir/upper" "$dir/work"
	mount -t overlay overlay -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/rootfs" ||
		fail "cannot mount an overlay rootfs at $dir/rootfs"
	MOUNTS=("$dir/rootfs" "${MOUNTS[@]}")
}

@test "export/import: a new container from a fresh bundle gets the files written before the checkpoint and resumes" {
	local id=ex-$SFX id2=im-$SFX tok base note="note-$SFX-$RANDOM"
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq exec "$id" sh -c "mkdir -p /data && echo $note >/data/note"

	rtq checkpoint --image-path "$T/img" --export "$T/ckpt.tar.zst" "$id"
	[ -s "$T/ckpt.tar.zst" ]
	# zstd by default
	[ "$(head -c 4 "$T/ckpt.tar.zst" | od -An -tx1 | tr -d ' \n')" = 28b52ffd ] || fail "archive is not zstd"
	cnt_now "$T/b/rootfs/tmp/cnt"
	tok=$TOK base=$N

	# a fresh copy of the bundle: the pristine rootfs, no /data/note
	make_bundle "$T/b2" "$COUNTER"
	[ ! -e "$T/b2/rootfs/data/note" ]
	rtq restore -d -b "$T/b2" --import "$T/ckpt.tar.zst" --image-path "$T/img2" "$id2"
	[ "$(status_of "$id2")" = running ]
	[ "$(cat "$T/b2/rootfs/data/note")" = "$note" ] || fail "/data/note not restored: $(cat "$T/b2/rootfs/data/note" 2>&1)"
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"
	# the restored process sees the file too
	run rt exec "$id2" cat /data/note
	[ "$status" -eq 0 ] && [ "$output" = "$note" ]
}

@test "export/import on an overlay rootfs: only the upper dir travels, deletions are applied, gzip works" {
	local id=ov-$SFX id2=ov2-$SFX tok base note="ov-$SFX-$RANDOM" victim
	overlay_bundle "$T/b" "$COUNTER"
	victim=$(cd "$T/b/lower" && ls bin | grep -vx busybox | grep -vx sh | head -n 1)
	[ -n "$victim" ] || fail "no file to delete in the rootfs"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq exec "$id" sh -c "echo $note >/note && rm /bin/$victim"

	rtq checkpoint --image-path "$T/img" --export "$T/ckpt.tar.gz" --compress gzip "$id"
	gzip -t "$T/ckpt.tar.gz" || fail "archive is not gzip"
	# the rootfs diff is the upper dir, not the whole rootfs: no busybox in it
	tar -xzf "$T/ckpt.tar.gz" -C "$T" rootfs-diff.tar || fail "no rootfs-diff.tar in the archive"
	tar -tf "$T/rootfs-diff.tar" >"$T/diff.list"
	grep -qx 'note' "$T/diff.list" || fail "rootfs-diff.tar lacks /note: $(cat "$T/diff.list")"
	! grep -q 'busybox' "$T/diff.list" || fail "rootfs-diff.tar holds the lower layer: $(cat "$T/diff.list")"
	cnt_now "$T/b/rootfs/tmp/cnt"
	tok=$TOK base=$N

	overlay_bundle "$T/b2" "$COUNTER"
	[ -e "$T/b2/rootfs/bin/$victim" ]
	rtq restore -d -b "$T/b2" --import "$T/ckpt.tar.gz" --image-path "$T/img2" "$id2"
	[ "$(status_of "$id2")" = running ]
	[ "$(cat "$T/b2/rootfs/note")" = "$note" ]
	[ ! -e "$T/b2/rootfs/bin/$victim" ] || fail "/bin/$victim, deleted before the checkpoint, is back"
	resumed "$T/b2/rootfs/tmp/cnt" "$tok" "$base"
}

@test "checkpointctl show reads an exported archive" {
	[ -x "${RT_CR_CHECKPOINTCTL:-}" ] || fail "RT_CR_CHECKPOINTCTL is not set to checkpointctl (use tests/cr/run.sh)"
	local id=cc-$SFX
	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --leave-running --image-path "$T/img" --export "$T/ckpt.tar.zst" "$id"
	run "$RT_CR_CHECKPOINTCTL" show "$T/ckpt.tar.zst"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"$id"* ]] || fail "checkpointctl does not show the container ID"
	[[ $output == *rt* ]]
	# and its inspect sees the process tree in the images
	run "$RT_CR_CHECKPOINTCTL" inspect --ps-tree "$T/ckpt.tar.zst"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"sh"* ]] || fail "checkpointctl inspect --ps-tree shows no sh"
}

@test "inspect-checkpoint shows the counter process and its open files, from a directory and from an archive" {
	local id=in-$SFX held=/tmp/held-$SFX
	make_bundle "$T/b" "exec 3>$held; $COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --leave-running --image-path "$T/img" --export "$T/ckpt.tar.zst" "$id"

	run rt inspect-checkpoint "$T/img"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"container:  $id "* ]] || fail "no container line naming $id"
	[[ $output == *" sh "* ]] || fail "no sh process"
	[[ $output == *"$held"* ]] || fail "open file $held not shown"

	run rt inspect-checkpoint --format json "$T/img"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg held "$held" \
		'.processes | map(select(.command == "sh" and ([.files[]?.path] | index($held)))) | length == 1' >/dev/null ||
		fail "json: no sh process holding $held: $output"
	echo "$output" | jq -e --arg id "$id" '.manifest.containerID == $id' >/dev/null ||
		fail "json: manifest does not name $id"
	# CRIU's version, as CRIU's log gave it: 3.17.1 is 31701
	local want
	want=$(criu --version | awk '/^Version:/ { split($2, v, "."); print v[1] * 10000 + v[2] * 100 + v[3] }')
	echo "$output" | jq -e --argjson v "$want" '.manifest.host.criuVersion == $v' >/dev/null ||
		fail "json: manifest's CRIU version is not $want: $(echo "$output" | jq -c .manifest.host)"

	run rt inspect-checkpoint --format json "$T/ckpt.tar.zst"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg held "$held" '[.processes[].files[]?.path] | index($held)' >/dev/null ||
		fail "archive: open file $held not shown: $output"
	# the archive's images went to a temporary directory that is gone
	[ -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'rt-inspect-*')" ] || fail "temporary images left behind"
}

@test "rt check says ok where CRIU works, and judges an image" {
	local id=ck-$SFX
	run rt check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"verdict:  ok"* ]]
	[[ $output == *"criu:"* && $output == *"kernel:"* ]]

	make_bundle "$T/b" "$COUNTER"
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --leave-running --image-path "$T/img" "$id"
	run rt check --image "$T/img"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"$T/img: can be restored here"* ]]
}
