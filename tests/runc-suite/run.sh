#!/bin/bash
# Run runc's integration suite (prepared by prepare.sh) against BINARY.
#
# Usage: tests/runc-suite/run.sh [--out DIR] [--retry N] [--timeout SEC] BINARY [FILE...]
#   FILE      e.g. kill.bats or kill; default: $FILES (space separated) or
#             every tests/integration/*.bats minus the exclusions below.
#   --out     output dir (default $RT_SUITE_WORK/out/<basename BINARY>); reset at start
#   --retry   re-run each failed test up to N more times on its own (bats -f);
#             a test that then passes counts as passed and is listed in flaky.txt
#   --timeout per-file limit in seconds (default 1200)
# Env: RT_SUITE_WORK (default /var/tmp/rt-runc-suite), FILES.
#
# Output dir:
#   tap/<file>.tap   TAP output of bats (CRs stripped)
#   summary.tsv      file<TAB>pass<TAB>fail<TAB>skip (header line first, TOTAL last)
#   results.tsv      file<TAB>ok|fail|skip<TAB>test name (one line per test)
#   failed.txt       file<TAB>test name of every failed test
#   flaky.txt        tests that failed first and passed on retry
#   times.tsv        file<TAB>seconds<TAB>bats exit code
#   excluded.tsv     file<TAB>reason
#   warnings.txt     file<TAB>interference seen before the file ran (foreign cgroups)
#   meta.txt         binary, version, host facts
# Exit code: 0 if no test failed, 1 otherwise, 2 on usage/setup errors.
set -uo pipefail

WORK=${RT_SUITE_WORK:-/var/tmp/rt-runc-suite}
SRC=$WORK/src
INTEG=$SRC/tests/integration
TESTBINDIR=$SRC/tests/cmd/_bin

# Files that fail for every runtime on this machine (or need the internet).
declare -A EXCLUDE=(
	[checkpoint.bats]="host CRIU cannot checkpoint on kernel 6.18 (use the VM lane)"
	[netdev.bats]="no 'dummy' netdev in this kernel"
	[rlimits.bats]="the sandbox's bounding set lacks CAP_SYS_RESOURCE"
	[spec.bats]="needs the internet (clones runtime-spec, go gets a validator)"
)

usage() {
	sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

OUT= RETRY=0 TIMEOUT=1200
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--out=*) OUT=${1#--out=}; shift ;;
	--retry) RETRY=$2; shift 2 ;;
	--retry=*) RETRY=${1#--retry=}; shift ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--timeout=*) TIMEOUT=${1#--timeout=}; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
BIN=$(readlink -f "$1") || { echo "run: no such binary: $1" >&2; exit 2; }
shift
[ -x "$BIN" ] || { echo "run: not executable: $BIN" >&2; exit 2; }
[ -f "$INTEG/helpers.bash" ] && [ -x "$TESTBINDIR/recvtty" ] ||
	{ echo "run: suite not prepared; run tests/runc-suite/prepare.sh" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run: must run as root" >&2; exit 2; }

# File list.
files=()
if [ $# -eq 0 ] && [ -n "${FILES:-}" ]; then
	# shellcheck disable=SC2206
	set -- $FILES
fi
if [ $# -gt 0 ]; then
	for f in "$@"; do
		f=$(basename "$f")
		f=${f%.bats}.bats
		[ -f "$INTEG/$f" ] || { echo "run: no such test file: $f" >&2; exit 2; }
		[ -n "${EXCLUDE[$f]:-}" ] && echo "run: note: $f is normally excluded (${EXCLUDE[$f]}); running it as asked" >&2
		files+=("$f")
	done
else
	for p in "$INTEG"/*.bats; do
		f=$(basename "$p")
		[ -n "${EXCLUDE[$f]:-}" ] && continue
		files+=("$f")
	done
fi

OUT=${OUT:-$WORK/out/$(basename "$BIN")}
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
rm -rf "$OUT/tap" "$OUT"/{warnings.txt,summary.tsv,results.tsv,failed.txt,flaky.txt,times.tsv,excluded.tsv,meta.txt}
mkdir -p "$OUT/tap"

# One run at a time: runs share cgroup names (/runc-cgroups-integration-test)
# and the cleanup below would break a concurrent run.
exec 9>"$WORK/run.lock"
if ! flock -n 9; then
	echo "run: another run.sh holds $WORK/run.lock; waiting" >&2
	flock 9
fi

RUNID=$(basename "$OUT").$$
RUNTMP=$WORK/tmp/$RUNID
mkdir -p "$RUNTMP"

# script(1) must get a stdin that stays open and never delivers EOF, or
# container output in the tests starts with ^@. A pipe from a sleeping
# process does that; it is killed at exit.
exec 3< <(exec sleep 2147483647)
KEEPER=$!
cleanup_exit() {
	kill "$KEEPER" 2>/dev/null
	rmdir "$RUNTMP" 2>/dev/null
}
trap cleanup_exit EXIT

for f in "${!EXCLUDE[@]}"; do printf '%s\t%s\n' "$f" "${EXCLUDE[$f]}"; done | sort >"$OUT/excluded.tsv"
{
	echo "binary: $BIN"
	echo "version: $("$BIN" --version 2>&1 | tr '\n' ' ')"
	echo "suite: $(cat "$SRC/.rt-suite-src" 2>/dev/null)"
	echo "kernel: $(uname -r)"
	echo "date: $(date -Is)"
	echo "files: ${files[*]}"
} >"$OUT/meta.txt"

log() { echo "run: $*" >&2; }

# Reap orphans promptly (PID 1 here is slow at it; see subreaper.c).
SUBREAPER=
if [ "${RT_SUITE_SUBREAPER:-1}" != 0 ]; then
	[ -x "$WORK/bin/subreaper" ] || { echo "run: $WORK/bin/subreaper missing; run prepare.sh" >&2; exit 2; }
	SUBREAPER=$(printf %q "$WORK/bin/subreaper")
fi
echo "subreaper: ${SUBREAPER:-off}" >>"$OUT/meta.txt"

# ---------------------------------------------------------------- cleanup
cgroup_roots() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
	else
		awk '($9 == "cgroup" || $9 == "cgroup2") && $5 ~ /^\/sys\/fs\/cgroup\// { print $5 }' /proc/self/mountinfo
	fi
}

# Top-level cgroups, to tell which ones a test file created.
cgroup_snapshot() {
	local r
	for r in $(cgroup_roots); do
		find "$r" -mindepth 1 -maxdepth 1 -type d 2>/dev/null
	done | sort
}

# suite_owned PID: the process runs in a container whose rootfs lives under
# this run's tmp dir (root mount's path within its filesystem names the run).
suite_owned() {
	awk -v id="/$RUNID/" '$5 == "/" && index($4, id) { found = 1 } END { exit !found }' "/proc/$1/mountinfo" 2>/dev/null
}

cgroup_pids() {
	find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u
}

# remove_cgroup REL: thaw, kill the processes of, and remove cgroup REL (a
# path like /runc-cgroups-integration-test) in every hierarchy -- but only
# if every process in it belongs to this run; otherwise leave it alone.
# All hierarchies at once: a v1 frozen task dies only once the freezer
# hierarchy is thawed, and only then can the other hierarchies' dirs go.
remove_cgroup() {
	local rel=$1 r d i pid pids left
	local -a dirs=()
	for r in $(cgroup_roots); do [ -d "$r$rel" ] && dirs+=("$r$rel"); done
	[ ${#dirs[@]} -gt 0 ] || return 0
	pids=$(for d in "${dirs[@]}"; do cgroup_pids "$d"; done | sort -un)
	for pid in $pids; do
		if [ -e "/proc/$pid" ] && ! suite_owned "$pid"; then
			log "warning: not touching cgroup $rel: it holds process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60)) not started by this run"
			return 0
		fi
	done
	[ -n "$pids" ] && log "cleanup: killing leftover processes in cgroup $rel: $(echo $pids)"
	while read -r d; do
		[ -w "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		[ -w "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
	done < <(find "${dirs[@]}" -type d 2>/dev/null)
	for i in $(seq 1 25); do
		for pid in $(for d in "${dirs[@]}"; do cgroup_pids "$d"; done | sort -un); do
			suite_owned "$pid" && kill -9 "$pid" 2>/dev/null
		done
		find "${dirs[@]}" -depth -type d -exec rmdir {} \; 2>/dev/null
		left=
		for d in "${dirs[@]}"; do [ -d "$d" ] && left+=" $d"; done
		[ -z "$left" ] && return 0
		sleep 0.2
	done
	log "warning: could not remove cgroup(s)$left"
}

# Warn about cgroups that exist before a file runs, hold processes, and are
# named like a container id the file uses: runc's default cgroup path is
# /<id>, so "runc run" of that id fails with "cgroup is not empty" (seen
# with containers leaked by other work on this machine).
preflight_cgroups() {
	local file=$1 cg name pids
	declare -A seen=()
	for cg in $(cgroup_snapshot); do
		name=$(basename "$cg")
		[ -n "${seen[$name]:-}" ] && continue
		case $name in docker | process_api | *.slice | *.scope | runc-cgroups-integration-test) continue ;; esac
		grep -qwF -- "$name" "$INTEG/$file" || continue
		pids=$(for r in $(cgroup_roots); do [ -d "$r/$name" ] && cgroup_pids "$r/$name"; done | sort -un | tr '\n' ' ')
		seen[$name]=1
		[ -n "$pids" ] || continue
		echo "WARNING: cgroup /$name exists (not from this run) and holds processes ${pids% }; $file tests using container id '$name' will fail"
	done
}

# Remove what a test file left behind. Only things the suite created:
# helper processes from pid files and containers from state dirs under the
# file's TMPDIR, loop devices backed by files there, mounts under it, the
# suite's /runc-cgroups-integration-test cgroups, and top-level cgroups that
# appeared during the file and are named like a container id the file uses
# (cgroups holding any process not running in this run's rootfs are left alone).
cleanup_file() {
	local ftmp=$1 file=$2 before=$3 p pid exe st ct dev mp name
	# 1. helper processes (recvtty, seccompagent, pidfd-kill) by pid file.
	while read -r p; do
		pid=$(cat "$p" 2>/dev/null) || continue
		[[ $pid =~ ^[0-9]+$ ]] || continue
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		[[ $exe == "$TESTBINDIR"/* ]] && kill -9 "$pid" 2>/dev/null
	done < <(find "$ftmp" \( -name pid -o -name '*.pid' \) -type f 2>/dev/null)
	# 2. containers still known to the runtime under test.
	while read -r st; do
		for ct in $(timeout 30 "$BIN" --root "$st" list -q 2>/dev/null 9>&-); do
			log "cleanup: $file left container $ct ($st)"
			timeout 60 "$BIN" --root "$st" delete -f "$ct" >/dev/null 2>&1 9>&- ||
				log "cleanup: delete -f $ct failed"
		done
	done < <(find "$ftmp" -maxdepth 4 -type d -name state 2>/dev/null)
	# 3. loop devices backed by files under the file's tmp dir.
	while read -r dev; do
		log "cleanup: detaching $dev"
		losetup -d "$dev" 2>/dev/null
	done < <(losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v t="$ftmp/" 'index($2, t) == 1 { print $1 }')
	# 4. mounts under the tmp dir, deepest first.
	for _ in 1 2 3; do
		mapfile -t mps < <(awk -v t="$ftmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | uniq)
		[ ${#mps[@]} -eq 0 ] && break
		for mp in "${mps[@]}"; do
			mp=$(printf "%b" "$mp") # mountinfo octal escapes (\040)
			umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
		done
	done
	# 5. cgroups.
	remove_cgroup /runc-cgroups-integration-test
	for name in $(comm -13 "$before" <(cgroup_snapshot) | xargs -r -n1 basename | sort -u); do
		if grep -qwF -- "$name" "$INTEG/$file"; then
			log "cleanup: $file left cgroup /$name"
			remove_cgroup "/$name"
		fi
	done
	# 6. the tmp dir itself, unless something is still mounted there.
	if awk -v t="$ftmp/" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		log "warning: mounts left under $ftmp; not removing it"
	else
		rm -rf "$ftmp"
	fi
}

# ---------------------------------------------------------------- running
# run_bats TAPFILE TMPDIR BATS-ARGS...  (under script(1) for a controlling tty)
run_bats() {
	local tap=$1 ftmp=$2 cmd rc
	shift 2
	mkdir -p "$ftmp"
	cmd="cd $(printf %q "$INTEG") && exec env TMPDIR=$(printf %q "$ftmp") RUNC=$(printf %q "$BIN") $SUBREAPER bats -t --no-tempdir-cleanup"
	# --no-tempdir-cleanup: bats would rm -rf its run dir even with mounts
	# left inside; cleanup_file unmounts first, deletes leftover containers
	# from their state dirs there, then removes it.
	for a in "$@"; do cmd+=" $(printf %q "$a")"; done
	# fd 3 (the never-EOF stdin) and 9 (run lock) must not leak into bats
	# (bats uses fd 3 itself) or into containers.
	SHELL=/bin/bash timeout -k 30 "$TIMEOUT" script -q -e -c "$cmd" /dev/null <&3 >"$tap.raw" 2>&1 3<&- 9>&- &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	# Interrupted (trap below): the trap already signalled timeout(1), which
	# takes script/bats down; wait for it to finish.
	while [ -n "$INTERRUPTED" ] && kill -0 "$CHILD" 2>/dev/null; do wait "$CHILD"; done
	CHILD=
	tr -d '\r' <"$tap.raw" >"$tap"
	rm -f "$tap.raw"
	[ $rc -eq 124 ] && echo "# run.sh: TIMEOUT after ${TIMEOUT}s" >>"$tap"
	return $rc
}

# parse_tap FILE TAP -> lines file<TAB>status<TAB>name
parse_tap() {
	awk -v file="$1" -F'\n' '
	/^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
	/^ok [0-9]+ / {
		n++; line = $0; sub(/^ok [0-9]+ /, "", line)
		st = "ok"
		if (line ~ / # [Ss][Kk][Ii][Pp]( |$)/) { st = "skip"; sub(/ # [Ss][Kk][Ii][Pp]( .*)?$/, "", line) }
		print file "\t" st "\t" line; next
	}
	/^not ok [0-9]+ / {
		n++; line = $0; sub(/^not ok [0-9]+ /, "", line)
		sub(/ # [Tt][Ii][Mm][Ee][Oo][Uu][Tt].*$/, "", line)
		print file "\t" "fail" "\t" line; next
	}
	END { for (i = n + 1; i <= plan; i++) print file "\tfail\t(test #" i " of " plan " not run: bats aborted)" }
	' "$2"
}

# bats -f takes a regex; match the exact test name.
name_regex() {
	printf '^%s$' "$(printf '%s' "$1" | sed 's/[][\.*^$(){}?+|/]/\\&/g')"
}

# On INT/TERM: stop the running bats, clean up after it, exit.
CHILD= INTERRUPTED=
on_signal() {
	INTERRUPTED=1
	log "interrupted; stopping bats and cleaning up"
	[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null
}
trap on_signal INT TERM HUP

printf 'file\tpass\tfail\tskip\n' >"$OUT/summary.tsv"
: >"$OUT/results.tsv"
: >"$OUT/failed.txt"
: >"$OUT/flaky.txt"
: >"$OUT/times.tsv"
T0=$(date +%s)
for f in "${files[@]}"; do
	name=${f%.bats}
	ftmp=$RUNTMP/$name
	before=$RUNTMP/.cgroups-before
	cgroup_snapshot >"$before"
	warn=$(preflight_cgroups "$f")
	[ -n "$warn" ] && log "$warn"
	t1=$(date +%s)
	run_bats "$OUT/tap/$name.tap" "$ftmp" "$f"
	rc=$?
	if [ -n "$INTERRUPTED" ]; then
		cleanup_file "$ftmp" "$f" "$before"
		rm -f "$before"
		exit 130
	fi
	[ -n "$warn" ] && sed 's/^/# run.sh: /' <<<"$warn" >>"$OUT/tap/$name.tap"
	[ -n "$warn" ] && sed "s|^|$f\t|" <<<"$warn" >>"$OUT/warnings.txt"
	cleanup_file "$ftmp" "$f" "$before"
	parse_tap "$f" "$OUT/tap/$name.tap" >"$RUNTMP/.res"

	if [ "$RETRY" -gt 0 ] && grep -q $'\tfail\t' "$RUNTMP/.res"; then
		while IFS=$'\t' read -r _ st tname; do
			if [ "$st" != fail ] || [[ $tname == "(test #"* ]]; then
				printf '%s\t%s\t%s\n' "$f" "$st" "$tname"
				continue
			fi
			for ((i = 1; i <= RETRY; i++)); do
				rtap="$OUT/tap/$name.retry$i.$(printf '%s' "$tname" | md5sum | cut -c1-8).tap"
				cgroup_snapshot >"$before"
				run_bats "$rtap" "$ftmp" -f "$(name_regex "$tname")" "$f"
				cleanup_file "$ftmp" "$f" "$before"
				[ -n "$INTERRUPTED" ] && exit 130
				if parse_tap "$f" "$rtap" | grep -qxF -- "$f"$'\tok\t'"$tname"; then
					st=ok
					printf '%s\t%s\t(passed on retry %d)\n' "$f" "$tname" "$i" >>"$OUT/flaky.txt"
					break
				fi
			done
			printf '%s\t%s\t%s\n' "$f" "$st" "$tname"
		done <"$RUNTMP/.res" >"$RUNTMP/.res2"
		mv -f "$RUNTMP/.res2" "$RUNTMP/.res"
	fi
	rm -f "$before"

	t2=$(date +%s)
	cat "$RUNTMP/.res" >>"$OUT/results.tsv"
	awk -F'\t' '$2 == "fail" { print $1 "\t" $3 }' "$RUNTMP/.res" >>"$OUT/failed.txt"
	read -r np nf ns < <(awk -F'\t' '{ c[$2]++ } END { print c["ok"] + 0, c["fail"] + 0, c["skip"] + 0 }' "$RUNTMP/.res")
	if [ $((np + nf + ns)) -eq 0 ] && [ $rc -ne 0 ]; then
		# bats died before printing a plan (e.g. a setup_file failure)
		printf '%s\tfail\t(file aborted before any test, exit %d)\n' "$f" "$rc" >>"$OUT/results.tsv"
		printf '%s\t(file aborted before any test, exit %d)\n' "$f" "$rc" >>"$OUT/failed.txt"
		nf=1
	fi
	rm -f "$RUNTMP/.res"
	printf '%s\t%d\t%d\t%d\n' "$f" "$np" "$nf" "$ns" >>"$OUT/summary.tsv"
	printf '%s\t%d\t%d\n' "$f" $((t2 - t1)) "$rc" >>"$OUT/times.tsv"
	log "$(printf '%-28s pass %3d  fail %3d  skip %3d  (%ds)' "$f" "$np" "$nf" "$ns" $((t2 - t1)))"
done
T=$(($(date +%s) - T0))
awk -F'\t' 'NR > 1 { p += $2; f += $3; s += $4 } END { printf "TOTAL\t%d\t%d\t%d\n", p, f, s }' "$OUT/summary.tsv" >>"$OUT/summary.tsv"
printf 'TOTAL\t%d\t-\n' "$T" >>"$OUT/times.tsv"
read -r _ tp tf ts < <(tail -n1 "$OUT/summary.tsv")
log "TOTAL pass $tp fail $tf skip $ts in ${T}s; results in $OUT"
[ "$tf" -eq 0 ]
