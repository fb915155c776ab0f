#!/bin/bash
# bench/cr-profile.sh OUT - where does a checkpoint/restore spend its time?
# Runs after bench/cr.sh in the same boot (bench/vm.sh).  For each size in
# BENCH_PROFILE_SIZES (MiB, default 128), runc and rt checkpoint and restore
# the memhog with --debug --log-format json and, first in PATH, a `criu`
# wrapper that logs every CRIU run (start, end, arguments).  Writes to OUT/profile/:
#
#   timeline-TOOL-OP-SIZE.txt  the merged timeline, relative to the start of
#                              the command: CRIU runs, libcontainer's debug
#                              records (Using CRIU..., notify: ...), rt's
#                              manifest times (started/finished of the dump,
#                              manifest written), the end
#   TOOL-debug-OP-SIZE.json    the raw debug log
#   perf-rt-OP-SIZE.txt        perf record -e cpu-clock -g: CPU by command and
#                              by symbol (if perf works in the guest); OP is
#                              checkpoint, restore, checkpoint-export, restore-import
#
# strace cannot be used: CRIU ptraces (its kerndat probe and the dumpee) and
# fails with EPERM under strace -f.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OUT=${1:?usage: cr-profile.sh OUT}
W=${BENCH_WORK:-/tmp/bench}
BIN=$W/bin
P=$OUT/profile
mkdir -p "$P"
SIZES=${BENCH_PROFILE_SIZES:-128}
CRIU=$(command -v criu)

# The wrapper is found as `criu` through PATH: runc 1.4 has no --criu flag.
mkdir -p "$W/criu-logged"
cat >"$W/criu-logged/criu" <<EOF
#!/bin/bash
t0=\$EPOCHREALTIME
"$CRIU" "\$@"
rc=\$?
echo "\$t0 \$EPOCHREALTIME \$rc \$*" >>"$W/criu-calls.log"
exit \$rc
EOF
chmod +x "$W/criu-logged/criu"

bundle() {
	local b=$W/b-prof-$1
	[ -d "$b/rootfs" ] || { mkdir -p "$b" && cp -a "$W/rootfs" "$b/rootfs"; }
	rm -f "$b"/rootfs/ready*
	jq --arg s "$2" '.process.terminal = false | .root.readonly = false |
		.process.args = ["/bin/benchtool", "memhog", $s, "/ready"]' "$W/config.json" >"$b/config.json"
	echo "$b"
}

# timeline T0 T1 DEBUGLOG IMGDIR: the merged, sorted events, relative to T0.
timeline() {
	local t0=$1 t1=$2 dbg=$3 img=$4
	{
		echo "$t0 start"
		awk '{ printf "%s criu run starts: %s\n%s criu run ends (%.3f s, status %s)\n", $1, substr($0, index($0, $4)), $2, $2 - $1, $3 }' \
			"$W/criu-calls.log" 2>/dev/null
		if [ -s "$dbg" ]; then
			jq -r 'select(.msg | test("^(Using CRIU|notify:|restore |image path)")) | "\(.time)\t\(.msg | gsub("\n"; " "))"' "$dbg" >"$W/dbg.tsv"
			paste -d' ' <(cut -f1 "$W/dbg.tsv" | date -f - +%s.%N) <(cut -f2 "$W/dbg.tsv" | sed 's/^/log: /')
		fi
		if [ "$op" = checkpoint ] && [ -f "$img/rt-manifest.json" ]; then
			echo "$(date -d "$(jq -r .started "$img/rt-manifest.json")" +%s.%N) manifest: dump started (rt calls libcontainer's Checkpoint)"
			echo "$(date -d "$(jq -r .finished "$img/rt-manifest.json")" +%s.%N) manifest: dump finished (rt starts hashing the images)"
			echo "$(stat -c %.9Y "$img/rt-manifest.json") manifest: written (hash done)"
		fi
		echo "$t1 end"
	} | sort -n -s -k1,1 | awk -v t0="$t0" '{ t = $1; $1 = ""; printf "%9.3f %s\n", t - t0, substr($0, 2) }'
}

for s in $SIZES; do
	for tool in runc rt; do
		bin=$BIN/$tool root=$W/root-prof-$tool img=$W/img-prof-$tool id=prof-$tool-$s
		b=$(bundle "$tool" "$s")
		rm -rf "$img"
		"$bin" --root "$root" run -d -b "$b" "$id" </dev/null >/dev/null 2>&1 || { say "profile: $tool run failed"; continue; }
		wait_file "$b/rootfs/ready" || { say "profile: memhog not ready"; "$bin" --root "$root" delete -f "$id"; continue; }
		for op in checkpoint restore; do
			dbg=$P/$tool-debug-$op-$s.json
			rm -f "$dbg" "$W/criu-calls.log"
			glob=(--root "$root" --debug --log-format json --log "$dbg")
			if [ $op = checkpoint ]; then
				cmd=("$bin" "${glob[@]}" checkpoint --image-path "$img" "$id")
			else
				rm -f "$b"/rootfs/ready*
				cmd=("$bin" "${glob[@]}" restore -d --image-path "$img" -b "$b" "$id")
			fi
			say "profile: $tool $op ${s} MiB"
			t0=$EPOCHREALTIME
			PATH=$W/criu-logged:$PATH "${cmd[@]}" </dev/null >/dev/null 2>"$W/err"
			st=$?
			t1=$EPOCHREALTIME
			{
				echo "# $tool $op, $s MiB: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s, status $st (with --debug and a CRIU wrapper)"
				echo "# seconds since start, event"
				timeline "$t0" "$t1" "$dbg" "$img"
			} >"$P/timeline-$tool-$op-$s.txt"
			[ "$st" = 0 ] || { say "profile: $tool $op failed"; cat "$W/err" >&2; break; }
		done
		"$bin" --root "$root" delete -f "$id" >/dev/null 2>&1
		rm -rf "$img"
	done

	# perf: CPU profile of rt checkpoint and restore, then of the same
	# with --export / --import.
	if command -v perf >/dev/null && perf record -q -e cpu-clock -o "$W/perf.test" true >/dev/null 2>&1; then
		root=$W/root-prof-rt img=$W/img-prof-perf id=perf-rt-$s
		b=$(bundle rt "$s")
		for op in checkpoint restore checkpoint-export restore-import; do
			case $op in
			checkpoint | checkpoint-export)
				rm -rf "$img" "$W/perf.tar.zst"
				"$BIN/rt" --root "$root" run -d -b "$b" "$id" </dev/null >/dev/null 2>&1 && wait_file "$b/rootfs/ready" ||
					{ say "profile: perf: the memhog did not start"; break; }
				cmd=("$BIN/rt" --root "$root" checkpoint --image-path "$img" "$id")
				[ $op = checkpoint ] || cmd+=(--export "$W/perf.tar.zst")
				;;
			restore) cmd=("$BIN/rt" --root "$root" restore -d --image-path "$img" -b "$b" "$id") ;;
			restore-import) cmd=("$BIN/rt" --root "$root" restore -d --import "$W/perf.tar.zst" -b "$b" "$id") ;;
			esac
			say "profile: perf rt $op ${s} MiB"
			perf record -q -e cpu-clock -F 250 -g -o "$W/perf.data" -- "${cmd[@]}" </dev/null >/dev/null 2>"$W/err" ||
				{ cat "$W/err" >&2; break; }
			{
				echo "# perf record -e cpu-clock -g -- rt $op (${s} MiB): samples by command, then by command+symbol (self)"
				perf report -i "$W/perf.data" --stdio --no-children --sort comm -g none 2>/dev/null | grep -v '^$' | head -n 25
				perf report -i "$W/perf.data" --stdio --no-children --sort comm,dso,symbol -g none 2>/dev/null |
					grep -v '^$' | tr -s " " | head -n 50
			} >"$P/perf-rt-$op-$s.txt"
			case $op in restore | restore-import) "$BIN/rt" --root "$root" delete -f "$id" >/dev/null 2>&1 ;; esac
		done
		"$BIN/rt" --root "$root" delete -f "$id" >/dev/null 2>&1
		rm -rf "$img" "$W/perf.data" "$W/perf.tar.zst"
	else
		say "profile: perf record does not work here; skipped"
	fi
done
