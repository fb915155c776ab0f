#!/bin/bash
# bench/cr.sh OUT - checkpoint/restore benchmark.  Runs where CRIU works (the
# VM lane: bench/vm.sh calls it), all sizes and methods in one boot so that
# the ratios hold.  Appends raw rows to OUT/cr.tsv:
#
#   SIZE_MIB REP METHOD OP WALL_S BYTES V1 V2 V3 V4
#
#   METHOD    OP           V1..V4
#   copy      fill         -                      touching SIZE of fresh memory (the memhog's own fill)
#   copy      write        -                      memory -> tmpfs file (write(2), 4 MiB chunks): the dump limit
#   copy      read         -                      tmpfs file -> fresh memory: the restore limit
#   copy      dd           -                      dd if=/dev/zero of=tmpfs bs=1M
#   bare|runc|rt|rt-export|docker
#             dump         FREEZING FROZEN MEMDUMP MEMWRITE (us, CRIU's stats-dump;
#                          docker: seconds in `rt checkpoint`, in all rt calls, number of rt calls)
#             restore      FORKING RESTORE PAGES_RESTORED - (us, CRIU's stats-restore;
#                          docker: seconds in `rt restore`, in all rt calls, number of rt calls)
#   rt        hash         files -                rt's manifest hash of the image dir, re-done (benchtool hashtree; first rep)
#   rt        sha256       files -                the same with sha256, as version 1 manifests did (first rep only)
#   rt|rt-export phases    PRE DUMP HASH POST     seconds of the checkpoint before libcontainer's Checkpoint,
#                          in it (CRIU), hashing for the manifest, after (publish, export, destroy)
#   rt-export archive      -                      BYTES = the --export archive
#
# BYTES: the image directory (logs excluded), or the archive.
# Environment: BENCH_SIZES (MiB, default "16 128 512 1024"), BENCH_REPS (a
# number, or SIZE:REPS pairs; default "16:3 128:3 512:2 1024:2"),
# BENCH_METHODS (default "copy bare runc rt rt-export docker"),
# BENCH_VERIFY_REPS (reps whose restored memory is verified: 1).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OUT=${1:?usage: cr.sh OUT}
W=${BENCH_WORK:-/tmp/bench}
BIN=$W/bin
BT=$BIN/benchtool RT=$BIN/rt RUNC=$BIN/runc
SIZES=${BENCH_SIZES:-16 128 512 1024}
# BENCH_REPS: a number, or SIZE:REPS pairs (sizes not listed: 3).
REPS=${BENCH_REPS:-16:3 128:3 512:2 1024:2}
reps_for() {
	local p
	case $REPS in *:*) ;; *) echo "$REPS"; return ;; esac
	for p in $REPS; do [ "${p%%:*}" = "$1" ] && { echo "${p#*:}"; return; }; done
	echo 3
}
METHODS=${BENCH_METHODS:-copy bare runc rt rt-export docker}
VERIFY_REPS=${BENCH_VERIFY_REPS:-1}
RAW=$OUT/cr.tsv
STATS=$OUT/stats
mkdir -p "$STATS" "$W"
for b in "$BT" "$RT" "$RUNC"; do [ -x "$b" ] || die "missing $b (bench/vm.sh stages it)"; done
TO=${BENCH_CR_TIMEOUT:-3600} # limit for one command

row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"; }

# record_dump SIZE REP METHOD WALL BYTES DIR: a dump row with CRIU's stats from DIR.
record_dump() {
	local s
	s=$("$BT" criustats "$6" 2>/dev/null | awk '$1 == "dump" {print $2, $3, $4, $5}')
	set -- "$1" "$2" "$3" "$4" "$5" ${s:-- - - -}
	row "$1" "$2" "$3" dump "$4" "$5" "$6" "$7" "$8" "$9"
}
record_restore() {
	local s
	s=$("$BT" criustats "$5" 2>/dev/null | awk '$1 == "restore" {print $2, $3, $4}')
	set -- "$1" "$2" "$3" "$4" "$5" ${s:-- - -}
	row "$1" "$2" "$3" restore "$4" - "$6" "$7" "$8" -
}

failed() { # METHOD SIZE REP WHAT [LOG]
	say "FAILED: $1 size=$2 rep=$3: $4"
	[ -n "${5:-}" ] && [ -f "$5" ] && tail -n 15 "$5" | sed 's/^/    /' >&2
	row "$2" "$3" "$1" failed - - - - - -
}

# verify SIZE REP READYFILE PID: on the verify reps, make the restored
# memhog check its whole memory (it creates READYFILE.ok or .bad).
verify() {
	local rep=$2 ready=$3 pid=$4
	((rep <= VERIFY_REPS)) || return 0
	rm -f "$ready.ok" "$ready.bad"
	kill -USR1 "$pid" 2>/dev/null || { say "verify: pid $pid is gone"; return 1; }
	local n=0
	while [ ! -e "$ready.ok" ] && [ ! -e "$ready.bad" ] && ((n++ < 6000)); do sleep 0.1; done
	[ -e "$ready.ok" ] && return 0
	say "verify: restored memory of pid $pid is wrong or unchecked"
	return 1
}

# rt_phases SIZE REP METHOD IMG: where the time of the `rt checkpoint` just
# timed went, from its manifest: before libcontainer's Checkpoint (rt's
# start, container load, host info), the dump (libcontainer + CRIU), the
# manifest (sha256 of every image file), after (publish, export, destroy).
rt_phases() {
	local m=$4/rt-manifest.json started finished written
	[ -f "$m" ] || return 0
	started=$(date -d "$(jq -r .started "$m")" +%s.%N) || return 0
	finished=$(date -d "$(jq -r .finished "$m")" +%s.%N) || return 0
	written=$(stat -c %.9Y "$m") || return 0
	row "$1" "$2" "$3" phases - - $(awk -v t0="$TIMED_T0" -v a="$started" -v b="$finished" -v c="$written" -v t1="$TIMED_T1" \
		'BEGIN { printf "%.6f %.6f %.6f %.6f", a - t0, b - a, c - b, t1 - c }')
}

# ------------------------------------------------------------------ bundles
# bundle NAME SIZE: a bundle under $W running `benchtool memhog SIZE /ready`.
bundle() {
	local b=$W/b-$1
	if [ ! -d "$b/rootfs" ]; then
		mkdir -p "$b"
		cp -a "$W/rootfs" "$b/rootfs"
	fi
	rm -f "$b"/rootfs/ready*
	jq --arg s "$2" '.process.terminal = false | .root.readonly = false |
		.process.args = ["/bin/benchtool", "memhog", $s, "/ready"]' \
		"$W/config.json" >"$b/config.json"
	echo "$b"
}

# ------------------------------------------------------------------ methods
m_copy() {
	local s=$1 r=$2 out
	out=$("$BT" copylimit "$s" "$W/copy.tmp") || { failed copy "$s" "$r" copylimit; return; }
	set -- $out
	row "$s" "$r" copy fill "$1" $((s * 1048576)) - - - -
	row "$s" "$r" copy write "$2" $((s * 1048576)) - - - -
	row "$s" "$r" copy read "$3" $((s * 1048576)) - - - -
	timed dd if=/dev/zero of="$W/copy.tmp" bs=1M count="$s" status=none
	rm -f "$W/copy.tmp"
	row "$s" "$r" copy dd "$TIMED" $((s * 1048576)) - - - -
}

# Bare CRIU: the same memhog, outside any container: its own session
# (setsid) with stdio on /dev/null, so no --shell-job is needed.  Log level 4
# and a log in the image dir, as runc and rt make CRIU do.
m_bare() {
	local s=$1 r=$2 img=$W/img-bare ready=$W/bare.ready pid
	rm -rf "$img" "$ready"*
	mkdir -p "$img"
	# Orphaned to the guest's init (which reaps it), as a restored tree is.
	pid=$(setsid "$BT" memhog "$s" "$ready" </dev/null >/dev/null 2>&1 & echo $!)
	wait_file "$ready" || { failed bare "$s" "$r" "memhog not ready"; kill -KILL "$pid"; return; }
	timed timeout "$TO" criu dump -t "$pid" -D "$img" -v4 -o dump.log
	[ "$TIMED_RC" = 0 ] || { failed bare "$s" "$r" "criu dump: $TIMED_RC" "$img/dump.log"; kill -KILL "$pid" 2>/dev/null; return; }
	wait_gone "$pid" # its pid must be free for the restore
	record_dump "$s" "$r" bare "$TIMED" "$(bytes_of "$img")" "$img"
	timed timeout "$TO" criu restore -D "$img" -d -v4 -o restore.log
	[ "$TIMED_RC" = 0 ] || { failed bare "$s" "$r" "criu restore: $TIMED_RC" "$img/restore.log"; return; }
	record_restore "$s" "$r" bare "$TIMED" "$img"
	verify "$s" "$r" "$ready" "$pid" || row "$s" "$r" bare verify-failed - - - - - -
	kill -KILL "$pid" 2>/dev/null
	wait_gone "$pid"
	rm -rf "$img" "$ready"*
}

# runc (built from the module version rt uses) and rt: run -d, checkpoint,
# restore -d, delete.  TOOL is runc or rt; rt also prints CRIU's stats.
m_oci() {
	local tool=$1 s=$2 r=$3 bin root b img=$W/img-$1 id=bench-$1-$2-$3 pid extra=()
	case $tool in
	runc) bin=$RUNC ;;
	rt) bin=$RT extra=(--print-stats) ;;
	esac
	root=$W/root-$tool
	b=$(bundle "$tool" "$s")
	rm -rf "$img"
	# The container inherits the runtime's stdio: /dev/null (CRIU cannot
	# dump a descriptor of a file outside the container); errors go to --log.
	: >"$W/err"
	timeout "$TO" "$bin" --root "$root" --log "$W/err" run -d -b "$b" "$id" </dev/null >/dev/null 2>&1 ||
		{ failed "$tool" "$s" "$r" "run -d" "$W/err"; return; }
	wait_file "$b/rootfs/ready" || { failed "$tool" "$s" "$r" "memhog not ready"; "$bin" --root "$root" delete -f "$id"; return; }
	timed timeout "$TO" "$bin" --root "$root" checkpoint --image-path "$img" "${extra[@]}" "$id" \
		</dev/null >"$STATS/$tool-$s-$r-checkpoint.json" 2>"$W/err"
	[ "$TIMED_RC" = 0 ] || { failed "$tool" "$s" "$r" "checkpoint: $TIMED_RC" "$W/err"; "$bin" --root "$root" delete -f "$id"; return; }
	record_dump "$s" "$r" "$tool" "$TIMED" "$(bytes_of "$img")" "$img"
	if [ "$tool" = rt ]; then
		rt_phases "$s" "$r" rt "$img"
		# What rt's manifest costs, measured apart (first rep; the phases
		# row has it for every rep): the same hash, redone on the same files.
		if [ "$r" = 1 ]; then
			local h
			h=$("$BT" hashtree "$img") && set -- $h && row "$s" "$r" rt hash "$1" "$2" "$3" - - -
			h=$("$BT" hashtree sha256 "$img") && set -- $h && row "$s" "$r" rt sha256 "$1" "$2" "$3" - - -
		fi
	fi
	rm -f "$b"/rootfs/ready*
	timed timeout "$TO" "$bin" --root "$root" restore -d --image-path "$img" -b "$b" "${extra[@]}" "$id" \
		</dev/null >"$STATS/$tool-$s-$r-restore.json" 2>"$W/err"
	[ "$TIMED_RC" = 0 ] || { failed "$tool" "$s" "$r" "restore: $TIMED_RC" "$W/err"; "$bin" --root "$root" delete -f "$id"; return; }
	record_restore "$s" "$r" "$tool" "$TIMED" "$img"
	pid=$("$bin" --root "$root" state "$id" | jq -r .pid)
	verify "$s" "$r" "$b/rootfs/ready" "$pid" || row "$s" "$r" "$tool" verify-failed - - - - - -
	"$bin" --root "$root" delete -f "$id" || say "delete -f $id failed"
	rm -rf "$img"
}

# rt checkpoint --export (zstd) and rt restore --import from that archive
# alone (the image directory is removed first).
m_rt_export() {
	local s=$1 r=$2 root=$W/root-rtx b img=$W/img-rtx arc=$W/export.tar.zst id=bench-rtx-$1-$2 pid
	b=$(bundle rtx "$s")
	rm -rf "$img" "$arc"
	: >"$W/err"
	timeout "$TO" "$RT" --root "$root" --log "$W/err" run -d -b "$b" "$id" </dev/null >/dev/null 2>&1 ||
		{ failed rt-export "$s" "$r" "run -d" "$W/err"; return; }
	wait_file "$b/rootfs/ready" || { failed rt-export "$s" "$r" "memhog not ready"; "$RT" --root "$root" delete -f "$id"; return; }
	timed timeout "$TO" "$RT" --root "$root" checkpoint --image-path "$img" --export "$arc" --print-stats "$id" \
		</dev/null >"$STATS/rt-export-$s-$r-checkpoint.json" 2>"$W/err"
	[ "$TIMED_RC" = 0 ] || { failed rt-export "$s" "$r" "checkpoint --export: $TIMED_RC" "$W/err"; "$RT" --root "$root" delete -f "$id"; return; }
	record_dump "$s" "$r" rt-export "$TIMED" "$(bytes_of "$img")" "$img"
	rt_phases "$s" "$r" rt-export "$img"
	row "$s" "$r" rt-export archive - "$(bytes_of "$arc")" - - - -
	rm -rf "$img"
	timed timeout "$TO" "$RT" --root "$root" restore -d --import "$arc" -b "$b" --print-stats "$id" \
		</dev/null >"$STATS/rt-export-$s-$r-restore.json" 2>"$W/err"
	[ "$TIMED_RC" = 0 ] || { failed rt-export "$s" "$r" "restore --import: $TIMED_RC" "$W/err"; "$RT" --root "$root" delete -f "$id"; return; }
	# The images went to a temporary directory: stats come from --print-stats.
	local st
	st=$(jq -r '"\(.forkingTimeUs) \(.restoreTimeUs) \(.pagesRestored)"' "$STATS/rt-export-$s-$r-restore.json" 2>/dev/null)
	set -- "$s" "$r" $st
	row "$1" "$2" rt-export restore "$TIMED" - "${3:--}" "${4:--}" "${5:--}" -
	pid=$("$RT" --root "$root" state "$id" | jq -r .pid)
	verify "$1" "$2" "$b/rootfs/ready" "$pid" || row "$1" "$2" rt-export verify-failed - - - - - -
	"$RT" --root "$root" delete -f "$id" || say "delete -f $id failed"
	rm -f "$arc"
}

# rt_share OP MARK: "OP_S ALL_S N": seconds the `rt OP` calls logged after
# line MARK of rt-timed.log took, seconds all rt calls took (containerd
# also pauses, resumes, kills, deletes), and their number: the engine's
# calls of rt during one docker command.
rt_share() {
	tail -n +"$(($2 + 1))" "$W/rt-timed.log" 2>/dev/null |
		awk -v op="$1" '{ all += $2 - $1; n++; for (i = 4; i <= NF; i++) if ($i == op) { t += $2 - $1; break } }
			END { printf "%.6f %.6f %d", t, all, n }'
}

# docker checkpoint create / docker start --checkpoint, rt registered as a
# runtime of a private dockerd + containerd (tests/lib/engines.bash).
m_docker() {
	local s=$1 r=$2 name=bench-$1-$2 merged cid pid cpdir
	dk run -d --runtime rt --name "$name" memhog:local /bin/benchtool memhog "$s" /ready >/dev/null 2>"$W/err" ||
		{ failed docker "$s" "$r" "docker run" "$W/err"; dk rm -f "$name" >/dev/null 2>&1; return; }
	merged=$(dk inspect -f '{{.GraphDriver.Data.MergedDir}}' "$name")
	cid=$(dk inspect -f '{{.Id}}' "$name")
	wait_file "$merged/ready" || { failed docker "$s" "$r" "memhog not ready"; dk rm -f "$name" >/dev/null; return; }
	local mark
	mark=$(wc -l <"$W/rt-timed.log" 2>/dev/null || echo 0)
	timed dk checkpoint create "$name" cp >/dev/null 2>"$W/err"
	[ "$TIMED_RC" = 0 ] || { failed docker "$s" "$r" "checkpoint create: $TIMED_RC" "$W/err"; dk rm -f "$name" >/dev/null; return; }
	cpdir=$ENG_DIR/data/containers/$cid/checkpoints/cp
	row "$s" "$r" docker dump "$TIMED" "$(bytes_of "$cpdir")" $(rt_share checkpoint "$mark") -
	mark=$(wc -l <"$W/rt-timed.log" 2>/dev/null || echo 0)
	timed dk start --checkpoint cp "$name" >/dev/null 2>"$W/err"
	[ "$TIMED_RC" = 0 ] || { failed docker "$s" "$r" "start --checkpoint: $TIMED_RC" "$W/err"; dk rm -f "$name" >/dev/null; return; }
	row "$s" "$r" docker restore "$TIMED" - $(rt_share restore "$mark") -
	pid=$(dk inspect -f '{{.State.Pid}}' "$name")
	verify "$s" "$r" "$merged/ready" "$pid" || row "$s" "$r" docker verify-failed - - - - - -
	dk rm -f "$name" >/dev/null 2>&1 || say "docker rm -f $name failed"
}

# ------------------------------------------------------------------ setup
[ -d "$W/rootfs" ] || die "no rootfs in $W (bench/vm.sh stages it)"
if [ ! -f "$W/config.json" ]; then
	(cd "$W" && "$RT" spec) || die "rt spec failed"
fi
case " $METHODS " in *" docker "*)
	# shellcheck source=/dev/null
	. "${BENCH_REPO:-$BENCH_DIR/..}/tests/lib/engines.bash"
	export ENG_TIMEOUT=$TO
	# rt as the engines call it, with the start and end of every call
	# logged: how much of a docker checkpoint/restore is rt's.
	cat >"$BIN/rt-timed" <<-EOF
		#!/bin/bash
		t0=\$EPOCHREALTIME
		"$RT" "\$@"
		rc=\$?
		echo "\$t0 \$EPOCHREALTIME \$rc \$*" >>"$W/rt-timed.log"
		exit \$rc
	EOF
	chmod +x "$BIN/rt-timed"
	say "starting containerd + dockerd (rt registered as runtime 'rt')"
	engines_start "$BIN/rt-timed" || die "engines_start failed"
	stop_engines() {
		mkdir -p "$OUT/profile"
		for f in dockerd.log containerd.log; do cp "$ENG_DIR/$f" "$OUT/profile/docker-$f" 2>/dev/null; done
		cp "$W/rt-timed.log" "$OUT/profile/docker-rt-calls.log" 2>/dev/null
		engines_stop
	}
	trap stop_engines EXIT
	tar -C "$W/rootfs" -c . | dk import - memhog:local >/dev/null || die "docker import failed"
	;;
esac

say "C/R: sizes [$SIZES] MiB, reps [$REPS], methods [$METHODS]"
set -- $METHODS
NM=$#
for s in $SIZES; do
	nreps=$(reps_for "$s")
	for ((r = 1; r <= nreps; r++)); do
		# Rotate the order every rep: drift in the machine's load then hits
		# every method alike.
		ms=($METHODS)
		for ((k = 0; k < NM; k++)); do
			m=${ms[$(((k + r - 1) % NM))]}
			say "  size ${s} MiB rep $r: $m"
			case $m in
			copy) m_copy "$s" "$r" ;;
			bare) m_bare "$s" "$r" ;;
			runc) m_oci runc "$s" "$r" ;;
			rt) m_oci rt "$s" "$r" ;;
			rt-export) m_rt_export "$s" "$r" ;;
			docker) m_docker "$s" "$r" ;;
			*) die "unknown method $m" ;;
			esac
		done
	done
done
say "C/R done"
