#!/bin/bash
# Common helpers for rt's bats integration tests.
#
# Every test gets:
#   TEST_DIR  a private temp dir (short path: unix socket paths must fit in 108 bytes)
#   ROOT      a private --root (not created beforehand: the runtime must mkdir it)
#   BUNDLE    a fresh bundle: busybox rootfs + `$RT spec` + jq edits (see setup_bundle)
#   SHARED    a host dir bind-mounted read-write at /shared in the container
#   CGPATH    a unique cgroupsPath for the bundle's config.json
#
# RT selects the runtime binary (default: <repo>/rt). Tests are developed
# against Debian's runc (RT=/usr/sbin/runc) and must pass against rt.

BATS_HELPERS_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
REPO_ROOT=$(readlink -f "$BATS_HELPERS_DIR/../..")
TESTS_LIB=$REPO_ROOT/tests/lib
: "${RT:=$REPO_ROOT/rt}"
# The name the binary prints for itself in usage/version ("rt" or "runc").
: "${RT_NAME:=$(basename "$RT")}"
# Tests change directory: make RT absolute (without resolving symlinks).
case "$RT" in
/*) ;;
*/*) RT=$(cd "$(dirname "$RT")" && pwd)/$(basename "$RT") ;;
*) RT=$(command -v "$RT" || echo "$RT") ;;
esac
RT_TEST_CACHE=${RT_TEST_CACHE:-/var/tmp/rt-test-cache}
# Upper bound for one runtime invocation, so a hung runtime fails the test
# instead of hanging the suite.
RT_TIMEOUT=${RT_TIMEOUT:-30}
DEFAULT_PATH=/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------------------
# setup / teardown

# setup_common: private dirs and a ready-to-create bundle. Call from setup().
setup_common() {
	[ "$(id -u)" -eq 0 ] || skip "integration tests need root"
	if [ ! -x "$RT" ]; then
		echo "runtime binary $RT not found or not executable (build it with make, or set RT=)" >&2
		return 1
	fi
	TEST_DIR=$(mktemp -d /tmp/rtb.XXXXXX)
	chmod 0755 "$TEST_DIR"
	ROOT=$TEST_DIR/root
	SHARED=$TEST_DIR/shared
	mkdir -p "$SHARED"
	chmod 0777 "$SHARED"
	: >"$TEST_DIR/.pids"
	: >"$TEST_DIR/.cgroups"
	BUNDLE=$TEST_DIR/bundle
	setup_bundle "$BUNDLE"
}

# setup_bundle DIR: rootfs + config.json in DIR, with:
#   process.terminal=false, process.args=[sleep 1000], a unique cgroupsPath,
#   /shared bind mount of $SHARED (rw).
setup_bundle() {
	local dir=$1
	mkdir -p "$dir"
	"$TESTS_LIB/mkrootfs.sh" "$dir/rootfs" || return 1
	(cd "$dir" && "$RT" spec 3>&-) || {
		echo "$RT spec failed in $dir" >&2
		return 1
	}
	local cg
	cg=/rt-test-$(basename "$TEST_DIR")-$(basename "$dir")
	echo "$cg" >>"$TEST_DIR/.cgroups"
	[ "$dir" = "${BUNDLE:-}" ] && CGPATH=$cg
	update_config_in "$dir" --arg cg "$cg" --arg shared "$SHARED" '
		.process.terminal = false
		| .process.args = ["sleep", "1000"]
		| .linux.cgroupsPath = $cg
		| .mounts += [{"destination": "/shared", "type": "bind", "source": $shared, "options": ["rbind", "rw"]}]'
}

# teardown_common: force-delete every container in ROOT, kill leftover
# processes in the test's cgroups, undo mounts, remove the temp dir.
teardown_common() {
	[ -n "${TEST_DIR:-}" ] && [ -d "$TEST_DIR" ] || return 0
	cd /
	local ct pid
	if [ -d "${ROOT:-/nonexistent}" ]; then
		for ct in $(timeout 30 "$RT" --root "$ROOT" list -q 2>/dev/null 3>&-); do
			timeout 30 "$RT" --root "$ROOT" delete --force "$ct" >/dev/null 2>&1 3>&-
		done
		# Directories whose state the runtime cannot list (broken runtime).
		for ct in "$ROOT"/*; do
			[ -d "$ct" ] || continue
			timeout 30 "$RT" --root "$ROOT" delete --force "$(basename "$ct")" >/dev/null 2>&1 3>&-
		done
	fi
	# Helper processes this test started (recvtty, background runtime calls).
	while read -r pid; do
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done <"$TEST_DIR/.pids"
	cleanup_cgroups
	# Mounts this test made (e.g. read-only tmpfs), deepest first.
	umount_under "$TEST_DIR"
	rm -rf "$TEST_DIR"
}

# Kill whatever is left in the test's own cgroups, then remove them.
cleanup_cgroups() {
	local cg dir pid try
	while read -r cg; do
		[ -n "$cg" ] || continue
		for dir in $(cgroup_dirs "$cg"); do
			[ -d "$dir" ] || continue
			if [ -f "$dir/freezer.state" ]; then
				echo THAWED >"$dir/freezer.state" 2>/dev/null
			fi
			for pid in $(cat "$dir/cgroup.procs" 2>/dev/null); do
				kill -9 "$pid" 2>/dev/null
			done
		done
		for try in 1 2 3 4 5 6 7 8 9 10; do
			local left=0
			for dir in $(cgroup_dirs "$cg"); do
				[ -d "$dir" ] || continue
				rmdir "$dir" 2>/dev/null || left=1
			done
			[ "$left" = 0 ] && break
			sleep 0.2
		done
	done <"$TEST_DIR/.cgroups"
}

# cgroup_dirs CGPATH: every existing directory for CGPATH in every hierarchy.
cgroup_dirs() {
	local cg=$1 mp
	for mp in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo | sort -u); do
		echo "$mp$cg"
	done
}

# umount_under DIR: lazily unmount every mount point under DIR, deepest first.
umount_under() {
	local prefix=$1 mp
	for mp in $(awk -v p="$prefix" 'index($5, p "/") == 1 || $5 == p {print $5}' /proc/self/mountinfo | sort -r -u); do
		umount -l "$mp" 2>/dev/null
	done
}

# ---------------------------------------------------------------------------
# config editing

# update_config JQ_ARGS...: edit $BUNDLE/config.json in place with jq.
update_config() {
	update_config_in "$BUNDLE" "$@"
}

update_config_in() {
	local dir=$1
	shift
	local tmp
	tmp=$(mktemp "$dir/.config.XXXXXX")
	jq "$@" "$dir/config.json" >"$tmp" && mv "$tmp" "$dir/config.json" || {
		rm -f "$tmp"
		echo "jq edit of $dir/config.json failed: $*" >&2
		return 1
	}
}

# set_args ARG...: set process.args.
set_args() {
	local json
	json=$(jq -n -c '$ARGS.positional' --args -- "$@")
	update_config --argjson a "$json" '.process.args = $a'
}

# set_cgroups_path SUFFIX: give $BUNDLE a new unique cgroupsPath (for a second
# container created from the same bundle).
set_cgroups_path() {
	CGPATH=/rt-test-$(basename "$TEST_DIR")-$1
	echo "$CGPATH" >>"$TEST_DIR/.cgroups"
	update_config --arg cg "$CGPATH" '.linux.cgroupsPath = $cg'
}

# ---------------------------------------------------------------------------
# running the runtime

# rt ARGS...: run "$RT --root $ROOT ARGS..." like bats' `run`, but through
# files rather than a pipe so that a detached container that keeps our stdout
# cannot hang the test. Sets status, output (stdout then stderr), stdout,
# stderr and lines. stdin is inherited (use `rt ... <file`).
rt() {
	rt_cmd "$RT" --root "$ROOT" "$@"
}

# rt_noroot ARGS...: like rt without --root.
rt_noroot() {
	rt_cmd "$RT" "$@"
}

rt_cmd() {
	local base
	base=$(mktemp "$TEST_DIR/.cmd.XXXXXX")
	status=0
	timeout -k 5 "$RT_TIMEOUT" "$@" >"$base.out" 2>"$base.err" 3>&- || status=$?
	stdout=$(cat "$base.out")
	stderr=$(cat "$base.err")
	if [ -n "$stdout" ] && [ -n "$stderr" ]; then
		output="$stdout"$'\n'"$stderr"
	else
		output="$stdout$stderr"
	fi
	lines=()
	if [ -n "$output" ]; then
		mapfile -t lines <<<"$output"
	fi
	rm -f "$base" "$base.out" "$base.err"
	{
		echo "\$ $* (status=$status)"
		[ -n "$output" ] && echo "$output"
	} >&2
	return 0
}

# rt_raw ARGS...: run the runtime directly (no capture), for pipelines.
rt_raw() {
	timeout -k 5 "$RT_TIMEOUT" "$RT" --root "$ROOT" "$@" 3>&-
}

# rt_bg OUTFILE ARGS...: start "$RT --root $ROOT ARGS..." in the background
# with stdout+stderr to OUTFILE; its exit code is written to OUTFILE.rc.
# The pid is in BG_PID.
rt_bg() {
	local out=$1
	shift
	(
		local rc=0
		"$RT" --root "$ROOT" "$@" >"$out" 2>&1 </dev/null || rc=$?
		echo "$rc" >"$out.rc"
	) 3>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$TEST_DIR/.pids"
}

# wait_bg_rc OUTFILE [TIMEOUT]: wait for rt_bg's exit code; prints it.
wait_bg_rc() {
	local out=$1 t=${2:-20} i
	for ((i = 0; i < t * 10; i++)); do
		if [ -s "$out.rc" ]; then
			cat "$out.rc"
			return 0
		fi
		sleep 0.1
	done
	echo "timeout waiting for $out.rc" >&2
	return 1
}

# ---------------------------------------------------------------------------
# waiting and process helpers

# retry ATTEMPTS DELAY CMD...: run CMD until it succeeds.
retry() {
	local attempts=$1 delay=$2 i
	shift 2
	for ((i = 0; i < attempts; i++)); do
		"$@" && return 0
		sleep "$delay"
	done
	echo "retry: '$*' did not succeed after $attempts attempts" >&2
	return 1
}

# container_status ID: print the status field of `state ID` (empty on error).
container_status() {
	rt_raw state "$1" 2>/dev/null | jq -r .status 2>/dev/null
}

# container_pid ID
container_pid() {
	rt_raw state "$1" 2>/dev/null | jq -r .pid 2>/dev/null
}

# wait_for_container ID STATUS [SECONDS]: wait until `state ID` says STATUS.
wait_for_container() {
	local id=$1 want=$2 t=${3:-10} i got=
	for ((i = 0; i < t * 10; i++)); do
		got=$(container_status "$id")
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	echo "container $id: status '$got', wanted '$want' after ${t}s" >&2
	return 1
}

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_pid_gone PID [SECONDS]
wait_pid_gone() {
	local pid=$1 t=${2:-10} i
	for ((i = 0; i < t * 10; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	echo "pid $pid still alive after ${t}s" >&2
	return 1
}

# wait_for_file FILE [SECONDS]: wait until FILE exists and is non-empty.
wait_for_file() {
	local f=$1 t=${2:-10} i
	for ((i = 0; i < t * 10; i++)); do
		[ -s "$f" ] && return 0
		sleep 0.1
	done
	echo "file $f not written after ${t}s" >&2
	return 1
}

# wait_for_content FILE REGEX [SECONDS]
wait_for_content() {
	local f=$1 re=$2 t=${3:-10} i
	for ((i = 0; i < t * 10; i++)); do
		grep -qE -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "file $f does not match '$re' after ${t}s; content:" >&2
	cat "$f" >&2 2>/dev/null
	return 1
}

# assert_pidfile FILE [EXPECTED_PID]: decimal pid, no trailing newline, alive.
assert_pidfile() {
	local f=$1 want=${2:-}
	[ -f "$f" ] || {
		echo "pid file $f missing" >&2
		return 1
	}
	local content
	content=$(cat "$f"; echo x)
	content=${content%x}
	if ! [[ "$content" =~ ^[1-9][0-9]*$ ]]; then
		echo "pid file $f content is not a bare decimal pid (no newline allowed): $(od -c "$f" | head -2)" >&2
		return 1
	fi
	if [ -n "$want" ] && [ "$content" != "$want" ]; then
		echo "pid file $f has $content, expected $want" >&2
		return 1
	fi
	PIDFILE_PID=$content
}

# fail MESSAGE: fail the current test.
fail() {
	echo "$@" >&2
	return 1
}

# assert_single_line: the last rt call printed exactly one non-empty line.
assert_single_line() {
	local n=0 l
	for l in "${lines[@]}"; do
		[ -n "$l" ] && n=$((n + 1))
	done
	[ "$n" -eq 1 ] || fail "expected exactly one line of output, got $n"
}

# root_is_clean: nothing left behind in ROOT (missing or empty).
root_is_clean() {
	if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then
		echo "left behind in $ROOT:" >&2
		ls -la "$ROOT" >&2
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# cgroups (v1 hierarchies on this host; v2 unified path as fallback)

# cgroup_file CONTROLLER FILE [CGPATH]: path of FILE of the container cgroup.
cgroup_file() {
	local ctrl=$1 file=$2 cg=${3:-$CGPATH} mp
	mp=$(awk -v c="$ctrl" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
	if [ -z "$mp" ]; then
		mp=$(awk '$9 == "cgroup2" && $5 == "/sys/fs/cgroup" {print $5; exit}' /proc/self/mountinfo)
	fi
	echo "$mp$cg/$file"
}

# ---------------------------------------------------------------------------
# console socket helper (tests/lib/recvtty)

# build_test_helper NAME: compile tests/lib/NAME/main.go (standard library
# only, static, so it also runs inside test containers) once per source
# version; sets HELPER_BIN.
build_test_helper() {
	local name=$1 src=$TESTS_LIB/$1/main.go sum tmpbin
	sum=$(sha256sum "$src" | cut -c1-16)
	HELPER_BIN=$RT_TEST_CACHE/$name-$sum
	[ -x "$HELPER_BIN" ] && return 0
	mkdir -p "$RT_TEST_CACHE"
	tmpbin=$(mktemp "$RT_TEST_CACHE/.$name.XXXXXX")
	# Build outside the repo's module so its go.mod state does not matter.
	(cd "$RT_TEST_CACHE" && GOWORK=off GOFLAGS= GO111MODULE=on CGO_ENABLED=0 go build -o "$tmpbin" "$src") || {
		rm -f "$tmpbin"
		echo "building $name failed" >&2
		return 1
	}
	mv -f "$tmpbin" "$HELPER_BIN"
}

# build_recvtty: sets RECVTTY.
build_recvtty() {
	build_test_helper recvtty && RECVTTY=$HELPER_BIN
}

# start_recvtty SOCKET [RECVTTY_ARGS...]: start recvtty in the background;
# waits for the socket. Output goes to SOCKET.out, info JSON to SOCKET.info.
start_recvtty() {
	local sock=$1
	shift
	build_recvtty || return 1
	rm -f "$sock" "$sock.out" "$sock.info"
	"$RECVTTY" --pid-file "$sock.pid" --out "$sock.out" --info "$sock.info" "$@" "$sock" \
		</dev/null >"$sock.log" 2>&1 3>&- &
	RECVTTY_PID=$!
	echo "$RECVTTY_PID" >>"$TEST_DIR/.pids"
	retry 50 0.1 test -S "$sock"
}

# wait_recvtty_exit [SECONDS]: wait for the last started recvtty to exit
# (it exits when the pty is hung up).
wait_recvtty_exit() {
	wait_pid_gone "$RECVTTY_PID" "${1:-10}"
}

# ---------------------------------------------------------------------------
# sd_notify helper (tests/lib/sdnotify)

# build_sdnotify: sets SDNOTIFY.
build_sdnotify() {
	build_test_helper sdnotify && SDNOTIFY=$HELPER_BIN
}

# start_sdnotify_host SOCKET OUT: play systemd on SOCKET in the background
# (messages to OUT); copies the helper into $BUNDLE/rootfs/bin for the
# container's side.
start_sdnotify_host() {
	build_sdnotify || return 1
	cp "$SDNOTIFY" "$BUNDLE/rootfs/bin/sdnotify"
	rm -f "$1" "$2"
	"$SDNOTIFY" listen "$1" "$2" </dev/null >"$2.log" 2>&1 3>&- &
	echo "$!" >>"$TEST_DIR/.pids"
	retry 50 0.1 test -S "$1"
}

# ---------------------------------------------------------------------------
# mounts made by tests

# mount_ro_tmpfs DIR: mount a small read-only tmpfs on DIR (unmounted in teardown).
mount_ro_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o ro,size=1m rt-test-ro "$1"
}

# wait_execd PID [SECONDS]: wait until PID has exec'd the container binary.
# Every binary in the test rootfs is busybox; before the exec the process is
# the runtime's own init (which may run from a memfd copy of the runtime).
wait_execd() {
	local pid=$1 t=${2:-10} i exe=
	for ((i = 0; i < t * 10; i++)); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || true
		case "$exe" in
		*/busybox) return 0 ;;
		esac
		sleep 0.1
	done
	echo "pid $pid did not exec the container process after ${t}s (exe: $exe)" >&2
	return 1
}

# assert_only_stdio PID: the process has exactly fds 0, 1 and 2.
assert_only_stdio() {
	wait_execd "$1" || return 1
	local fds
	fds=$(ls "/proc/$1/fd" | sort -n | tr '\n' ' ')
	[ "$fds" = "0 1 2 " ] || fail "process $1 has fds: $fds ($(ls -l "/proc/$1/fd" | tail -n +2))"
}
