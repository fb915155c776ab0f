#!/usr/bin/env bats
# Downtime features: --pre-copy checkpoints and --lazy restores.  Run through
# tests/cr/run.sh (in the VM lane: the lane's kernel has soft-dirty tracking
# and userfaultfd).
#
# The containers run `crhelper memhog`: it holds memory, keeps rewriting a
# working set, counts in /tmp/cnt like the shell counter of cr.bats, and on
# SIGUSR1 checks every page of its memory and writes the verdict to
# /tmp/verify. A restored process that says "ok" got every byte back.

load helpers

setup() {
	cr_setup
	[ -x "$CRHELPER" ] || fail "RT_CR_HELPER is not set (use tests/cr/run.sh)"
}

teardown() {
	cr_teardown
}

# memhog_bundle DIR MIB WS_MIB RATE [PORT]: a bundle running memhog.
memhog_bundle() {
	local dir=$1
	shift
	make_bundle "$dir" "exec /bin/crhelper memhog $*"
	cp "$CRHELPER" "$dir/rootfs/bin/crhelper"
}

# verified ID ROOTFS: the process of ID checks all of its memory: "ok".
verified() {
	local id=$1 rootfs=$2 i
	rm -f "$rootfs/tmp/verify"
	rtq kill "$id" USR1
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		[ -s "$rootfs/tmp/verify" ] && break
		sleep 0.2
	done
	echo "# verify: $(cat "$rootfs/tmp/verify" 2>/dev/null)"
	grep -q '^ok ' "$rootfs/tmp/verify" 2>/dev/null ||
		fail "the restored process found its memory wrong: '$(cat "$rootfs/tmp/verify" 2>/dev/null)'"
}

@test "--pre-copy: rounds while the container runs, a small final dump; restore, a new ID from --export, memory verified" {
	local id=pc-$SFX new=pc2-$SFX cnt=$T/b/rootfs/tmp/cnt tok base rounds first last final
	memhog_bundle "$T/b" 64 4 8
	start "$id" "$T/b"
	counter_runs "$cnt"
	# --leave-running: the original counts on; the checkpoint is beyond this
	cnt_now "$cnt"
	tok=$TOK base=$N

	rt checkpoint --pre-copy --print-stats --leave-running --export "$T/pc.tar.zst" \
		--image-path "$T/img" "$id" >"$T/stats.json" || {
		cat "$T/stats.json"
		fail "rt checkpoint --pre-copy failed"
	}
	cat "$T/stats.json"
	rounds=$(jq '.preCopyRounds | length' "$T/stats.json")
	first=$(jq '.preCopyRounds[0].pagesWritten' "$T/stats.json")
	last=$(jq '.preCopyRounds[-1].pagesWritten' "$T/stats.json")
	final=$(jq '.pagesWritten' "$T/stats.json")
	echo "# rounds $rounds: first wrote $first pages, last $last, final dump $final; frozen $(jq .frozenTimeUs "$T/stats.json") us"
	((rounds > 1)) || fail "only $rounds pre-copy round(s)"
	# 64 MiB is 16384 pages; the working set 4 MiB (1024 pages)
	((first > 16000)) || fail "the first round wrote $first pages, not the whole memory"
	((final < first / 4)) || fail "the final dump wrote $final pages: not only the dirty ones (first round: $first)"
	[ "$(readlink "$T/img/parent")" = "pre-copy/$rounds" ]
	[ "$(jq -r .kind "$T/img/pre-copy/1/rt-manifest.json")" = pre-dump ]
	jq -e '.files | keys | map(select(startswith("pre-copy/1/pages-"))) | length > 0' "$T/img/rt-manifest.json" >/dev/null ||
		fail "the manifest does not cover the rounds' pages"
	# a round alone is never taken for a checkpoint
	copy_live_bundle "$T/b" "$T/bx"
	run rt restore -d -b "$T/bx" --image-path "$T/img/pre-copy/1" "x-$SFX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"holds a pre-dump"* ]]
	[ "$(status_of "$id")" = running ]

	# a new container from the archive (the chain travels in it)
	copy_live_bundle "$T/b" "$T/b2"
	rtq restore -d -b "$T/b2" --import "$T/pc.tar.zst" "$new"
	[ "$(status_of "$new")" = running ]
	counter_runs "$T/b2/rootfs/tmp/cnt"
	verified "$new" "$T/b2/rootfs"
	rtq delete -f "$new"

	# the same container, from the image directory
	rtq delete -f "$id"
	rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
	resumed "$cnt" "$tok" "$base"
	verified "$id" "$T/b/rootfs"
}

@test "--pre-copy failing in a middle round (CRIU fault injected) leaves the container running and no image" {
	local id=pcf-$SFX cnt=$T/b/rootfs/tmp/cnt real
	memhog_bundle "$T/b" 32 4 8
	start "$id" "$T/b"
	counter_runs "$cnt"
	# CRIU with its own fault injection (CRIU_FAULT=3: dumping the pages
	# fails, with the container frozen) from the second round on. rt puts
	# --criu first in PATH as "criu": the real one is named by its path.
	real=$(command -v criu)
	cat >"$T/criu-fault" <<-EOS
		#!/bin/sh
		if ls -d "$T"/.img.rt-partial-*/pre-copy/2 >/dev/null 2>&1; then
			export CRIU_FAULT=3
		fi
		exec "$real" "\$@"
	EOS
	chmod +x "$T/criu-fault"

	run rt --criu "$T/criu-fault" checkpoint --pre-copy --pre-copy-rounds 4 --image-path "$T/img" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"pre-copy round 2"* ]] || fail "the error does not name the failed round"
	[[ $output == *"CRIU log: $T/img/dump.log"* ]]
	no_image "$T/img"
	[ ! -e "$T/img/pre-copy" ] || fail "rounds left in $T/img"
	[ "$(status_of "$id")" = running ]
	counter_runs "$cnt"

	# unharmed: a plain pre-copy now works, and restores
	rtq checkpoint --pre-copy --image-path "$T/img" "$id"
	rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
	counter_runs "$cnt"
	verified "$id" "$T/b/rootfs"
}

# ask PID PORT: one "ping" to the server in the network namespace of PID;
# prints its answer.
ask() {
	nsenter -t "$1" -n timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$2"'; echo ping >&3; read -r l <&3; echo "$l"'
}

# lazy_field ID FIELD: a field of the lazy-pages record in rt state.
lazy_field() {
	rt state "$1" 2>/dev/null | jq -r ".lazyPages.$2"
}

# wait_running ID: until rt lists ID as running.
wait_running() {
	local i
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		[ "$(status_of "$1")" = running ] && return 0
		sleep 0.05
	done
	fail "$1 is not running after ${WAIT}s"
}

@test "--lazy: the server answers while pages are still copied; all memory back, daemon gone" {
	local id=lz-$SFX cnt=$T/b/rootfs/tmp/cnt tok base pid answer t_answer finished log rs
	memhog_bundle "$T/b" 256 4 8 7000
	start "$id" "$T/b"
	counter_runs "$cnt"
	rtq checkpoint --image-path "$T/img" "$id"
	cnt_now "$cnt"
	tok=$TOK base=$N

	bg "$T/restore.json" "$RT_BIN" --root "$ROOT" restore -d --lazy --print-stats -b "$T/b" --image-path "$T/img" "$id"
	rs=$BG_PID
	wait_running "$id"
	pid=$(rt state "$id" | jq -r .pid)
	answer=$(ask "$pid" 7000) || fail "the server did not answer"
	t_answer=$(date +%s%N)
	echo "# answered '$answer'; lazy state then: $(lazy_field "$id" state), $(lazy_field "$id" pagesCopied)/$(lazy_field "$id" pagesTotal) pages"
	[[ $answer == pong* ]]
	wait_exit "$rs" || {
		cat "$T/restore.json"
		fail "rt restore --lazy failed"
	}
	cat "$T/restore.json"
	[ "$(jq -r .lazy.state "$T/restore.json")" = done ] || fail "the background copy did not end as done"
	finished=$(date -d "$(jq -r .lazy.finished "$T/restore.json")" +%s%N)
	((t_answer < finished)) || fail "the answer came after the last page: nothing shows it was served early"
	(($(jq .lazy.pagesCopied "$T/restore.json") > 60000)) || fail "the daemon copied too few pages"
	((${#finished} > 0))
	! kill -0 "$(jq .lazy.daemonPid "$T/restore.json")" 2>/dev/null || fail "the lazy-pages daemon is still there"
	log=$(jq -r .lazy.log "$T/restore.json")
	[ ! -e "$(dirname "$log")" ] || fail "the temporary work directory $(dirname "$log") was left"
	[ "$(lazy_field "$id" state)" = done ]
	resumed "$cnt" "$tok" "$base"
	verified "$id" "$T/b/rootfs"
}

@test "--lazy: the daemon killed mid-copy stops the container (never a process on missing pages)" {
	local id=lzk-$SFX daemon i
	memhog_bundle "$T/b" 256 4 8
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --image-path "$T/img" "$id"
	rtq restore -d --lazy -b "$T/b" --image-path "$T/img" "$id"
	daemon=$(lazy_field "$id" daemonPid)
	[ "$(lazy_field "$id" state)" = copying ] || fail "the copy was over before the test could kill the daemon"
	kill -KILL "$daemon"
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		[ "$(status_of "$id")" = stopped ] && break
		sleep 0.1
	done
	[ "$(status_of "$id")" = stopped ] || fail "$id is $(status_of "$id") after its daemon was killed"
	[ "$(lazy_field "$id" state)" = failed ]
	echo "# $(lazy_field "$id" error)"
	rtq delete "$id"
	! in_list "$id"
	# the images are unharmed: a plain restore works
	rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
	verified "$id" "$T/b/rootfs"
}

@test "--lazy: rt killed mid-restore leaves the container restored or gone, and no daemon" {
	local id=lzr-$SFX rs i left st
	memhog_bundle "$T/b" 64 4 8
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --image-path "$T/img" "$id"
	bg "$T/restore.log" "$RT_BIN" --root "$ROOT" restore -d --lazy -b "$T/b" --image-path "$T/img" --work-path "$T/work" "$id"
	rs=$BG_PID
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		[ -S "$T/work/lazy-pages.socket" ] && break
		sleep 0.02
	done
	[ -S "$T/work/lazy-pages.socket" ] || fail "no daemon socket"
	kill -KILL "$rs"
	# the supervisor ends the daemon; the container is either running
	# with all its memory, or gone
	for ((i = SECONDS + WAIT; SECONDS < i; )); do
		left=$(grep -l "$T/wor[k]" /proc/[0-9]*/cmdline 2>/dev/null | grep -v "/proc/$$/" || true)
		[ -z "$left" ] && break
		sleep 0.2
	done
	[ -z "$left" ] || fail "processes of the lazy restore are left: $left"
	st=$(status_of "$id")
	echo "# --lazy, rt killed mid-restore: the container was then '${st:-gone}'" >&3
	case $st in
	running) verified "$id" "$T/b/rootfs" ;;
	"") ;;
	*) rtq delete -f "$id" ;;
	esac
	if [ "$st" != running ]; then
		! in_list "$id" || fail "$id is listed after its failed restore"
		rtq restore -d -b "$T/b" --image-path "$T/img" "$id"
		verified "$id" "$T/b/rootfs"
	fi
}

@test "--lazy from an --import archive into a new ID: the extracted images live until the copy is over" {
	local id=lzi-$SFX new=lzi2-$SFX tmpdirs
	memhog_bundle "$T/b" 64 4 8
	start "$id" "$T/b"
	counter_runs "$T/b/rootfs/tmp/cnt"
	rtq checkpoint --leave-running --export "$T/ck.tar.zst" --image-path "$T/img" "$id"
	copy_live_bundle "$T/b" "$T/b2"
	tmpdirs=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'rt-import-*' | wc -l)
	rt restore -d --lazy --print-stats -b "$T/b2" --import "$T/ck.tar.zst" "$new" >"$T/restore.json" || {
		cat "$T/restore.json"
		fail "rt restore --lazy --import failed"
	}
	cat "$T/restore.json"
	[ "$(jq -r .lazy.state "$T/restore.json")" = done ]
	counter_runs "$T/b2/rootfs/tmp/cnt"
	verified "$new" "$T/b2/rootfs"
	# the supervisor removed the extracted images once the copy was over
	[ "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'rt-import-*' | wc -l)" -eq "$tmpdirs" ] || fail "the import's temporary images were left"
	[ "$(status_of "$id")" = running ]
}
