#!/bin/bash
# bench/run.sh - rt's benchmarks: lifecycle against runc (and crun), and
# checkpoint/restore against bare CRIU, runc and docker, in the VM lane.
# Benchmarks measure and report; they never assert a timing.
#
# usage: bench/run.sh [--quick] [--parts "host vm"] [--report DIR]
#   --quick        a smoke run: few iterations, sizes 16 and 128 MiB, 1 rep
#   --parts LIST   host (lifecycle + its profile on this host) and/or vm
#                  (lifecycle with crun, C/R and its profile, one VM boot);
#                  default "host vm"
#   --report DIR   only redo the tables and plot of an earlier run
#
# Output: bench/out/run-DATE/ (raw rows, CRIU stats, profiles, env.txt,
# results.md, bench.png), bench/out/latest -> it; the tables are printed.
# docs/benchmarks.md explains the results.
#
# Environment (defaults): RT (./rt, built with `make rt` if missing),
# BENCH_RUNC (runc built from the module version rt uses), BENCH_SEQ (100),
# BENCH_PAR (10), BENCH_ROUNDS (10), BENCH_VM_SEQ (20), BENCH_VM_RUN (20), BENCH_VM_ROUNDS (2),
# BENCH_SIZES ("16 128 512 1024"), BENCH_REPS ("16:3 128:3 512:2 1024:2"), BENCH_METHODS,
# BENCH_PROFILE_SIZES (128), BENCH_VM_MEM (8G), BENCH_VM_TIMEOUT (28800).
set -euo pipefail
ARGS=("$@")
REPO=${BENCH_REPO:-$(cd "$(dirname "$0")/.." && pwd -P)}
cd "$REPO"
. "$(dirname "$0")/lib.sh"

PARTS="host vm"
REPORT_ONLY=
while [ $# -gt 0 ]; do
	case $1 in
	--quick)
		export BENCH_SEQ=${BENCH_SEQ:-10} BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_VM_SEQ=${BENCH_VM_SEQ:-4}
		export BENCH_VM_RUN=${BENCH_VM_RUN:-4} BENCH_VM_ROUNDS=${BENCH_VM_ROUNDS:-1} BENCH_SIZES=${BENCH_SIZES:-16 128}
		export BENCH_REPS=${BENCH_REPS:-1} BENCH_PERF_REPS=${BENCH_PERF_REPS:-5} BENCH_PROFILE_SIZES=${BENCH_PROFILE_SIZES:-16}
		shift ;;
	--parts) PARTS=$2; shift 2 ;;
	--report) REPORT_ONLY=$2; shift 2 ;;
	-h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

# report DIR: markdown tables to DIR/results.md (and stdout), DIR/bench.png.
report() {
	local d=$1
	{
		echo "# rt benchmark results ($(basename "$d"))"
		echo
		echo '```'
		cat "$d/env.txt"
		[ ! -f "$d/env-vm.txt" ] || cat "$d/env-vm.txt"
		echo '```'
		echo
		"$d/bin/benchtool" report -dir "$d"
	} >"$d/results.md"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "dir='$d'" "$BENCH_DIR/plot.gp" 2>"$d/plot/gnuplot.log" || say "gnuplot failed (see $d/plot/gnuplot.log)"
		[ -f "$d/bench.png" ] && cp "$d/bench.png" bench/out/bench.png
	fi
	cat "$d/results.md"
	say "results: $d/results.md, plot: $d/bench.png"
}

if [ -n "$REPORT_ONLY" ]; then
	report "$(cd "$REPORT_ONLY" && pwd -P)"
	exit 0
fi

# A run takes hours and bash reads its scripts as it goes: run from a copy
# of the scripts (OUT/scripts), so that editing bench/ meanwhile is safe.
if [ -z "${BENCH_SNAPSHOT:-}" ]; then
	OUT=$REPO/bench/out/run-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$OUT/scripts"
	cp bench/*.sh bench/plot.gp "$OUT/scripts/"
	export BENCH_SNAPSHOT=1 BENCH_OUT=$OUT BENCH_REPO=$REPO
	exec bash "$OUT/scripts/run.sh" "${ARGS[@]}"
fi
OUT=$BENCH_OUT

[ "$(id -u)" = 0 ] || die "run as root (containers, CRIU, the VM lane)"

# ------------------------------------------------------------ packages
need=()
for p in gnuplot-nox:gnuplot time:/usr/bin/time crun:crun jq:jq strace:strace zstd:zstd criu:criu runc:/usr/sbin/runc; do
	pkg=${p%%:*} cmd=${p#*:}
	command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" >&2 ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" >&2; } ||
		die "cannot install ${need[*]}"
fi
if [[ " $PARTS " == *" vm "* ]]; then
	# shellcheck source=/dev/null
	. tests/lib/engines.bash
	engines_install || die "cannot install docker.io and containerd"
fi

# ------------------------------------------------------------ binaries
mkdir -p "$OUT/bin"
ln -sfn "$(basename "$OUT")" bench/out/latest
say "results go to $OUT"

RT_SRC=${RT:-$REPO/rt}
if [ ! -x "$RT_SRC" ]; then
	say "$RT_SRC is missing: make rt"
	make rt >&2
fi
# Private copies: other work may rebuild ./rt while we measure.
cp "$RT_SRC" "$OUT/bin/rt"

RUNC_VER=$(go list -m -f '{{.Version}}' github.com/opencontainers/runc) # v1.4.3
RUNC_CACHE=/var/tmp/rt-bench
find_runc() {
	local c
	for c in ${BENCH_RUNC:-} /var/tmp/rt-runc-suite/runc "$RUNC_CACHE/runc-$RUNC_VER"; do
		if [ -x "$c" ] && [[ $("$c" --version 2>/dev/null) == "runc version ${RUNC_VER#v}"$'\n'* ]]; then
			echo "$c"
			return
		fi
	done
	# Build it from the module cache (the module zip has no vendor/: the
	# build resolves runc's dependencies through the module proxy).
	local mod src=$RUNC_CACHE/src-runc-$RUNC_VER
	mod=$(go env GOMODCACHE)/github.com/opencontainers/runc@$RUNC_VER
	[ -d "$mod" ] || go mod download github.com/opencontainers/runc >&2
	rm -rf "$src"
	mkdir -p "$RUNC_CACHE"
	cp -r "$mod" "$src"
	chmod -R u+w "$src"
	# As runc's Makefile builds it (-trimpath -buildmode=pie, tags seccomp urfave_cli_no_docs).
	(cd "$src" && CGO_ENABLED=1 go build -trimpath -buildmode=pie -tags "seccomp urfave_cli_no_docs" \
		-ldflags "-X main.version=${RUNC_VER#v} -X main.gitCommit=$RUNC_VER-gomod" -o "$RUNC_CACHE/runc-$RUNC_VER" .) >&2 ||
		return 1
	echo "$RUNC_CACHE/runc-$RUNC_VER"
}
RUNC=$(find_runc) || die "cannot build runc $RUNC_VER"
cp "$RUNC" "$OUT/bin/runc"
(cd bench/tools && CGO_ENABLED=0 go build -trimpath -o "$OUT/bin/benchtool" .) || die "cannot build bench/tools"

tests/lib/mkrootfs.sh "$OUT/rootfs" >&2
cp "$OUT/bin/benchtool" "$OUT/rootfs/bin/benchtool"

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host.cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
	echo "host.mem: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
	echo "host.kernel: $(uname -r)"
	echo "host.os: Debian $(cat /etc/debian_version)"
	echo "host.cgroup: $(stat -f -c %T /sys/fs/cgroup) ($(grep -c cgroup /proc/self/mountinfo) cgroup mounts)"
	echo "host.virt: $(systemd-detect-virt 2>/dev/null || echo unknown)"
	echo "rt: $("$OUT/bin/rt" --version | tr '\n' ' ')"
	echo "rt.sha256: $(sha256sum "$OUT/bin/rt" | cut -c1-16), $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet 2>/dev/null || echo -dirty)"
	echo "runc-1.4.3: $("$OUT/bin/runc" --version | head -n 2 | tr '\n' ' ')"
	echo "runc-1.1.5: $(/usr/sbin/runc --version | head -n 2 | tr '\n' ' ')"
	echo "crun: $(crun --version | head -n 1)"
	echo "criu: $(criu --version | head -n 1)"
	echo "docker: $(dockerd --version 2>/dev/null), $(containerd --version 2>/dev/null)"
	echo "go: $(go version)"
	echo "qemu: $(qemu-system-x86_64 --version 2>/dev/null | head -n 1)"
	echo "host.loadavg.start: $(cat /proc/loadavg)"
} >"$OUT/env.txt"

# host_speed: native memory-copy and sha256 speeds on the host (CRIU does
# not run on this kernel; these put the VM lane's ratios in proportion).
host_speed() {
	local d=/dev/shm/rt-bench-speed.$$ i out n=$((1024 * 1048576))
	mkdir -p "$d"
	for i in 1 2 3 4 5; do
		out=$("$OUT/bin/benchtool" copylimit 1024 "$d/copy") || continue
		set -- $out
		printf 'touch fresh memory (fill)\t%s\t%s\n' "$1" "$n"
		printf 'memory -> tmpfs file (dump limit)\t%s\t%s\n' "$2" "$n"
		printf 'tmpfs file -> fresh memory (restore limit)\t%s\t%s\n' "$3" "$n"
	done
	head -c "$n" /dev/urandom >"$d/pages-1.img"
	for i in 1 2 3 4 5; do
		out=$("$OUT/bin/benchtool" hashtree xxh64 "$d") && set -- $out &&
			printf 'xxh64, Go (the code of rt'"'"'s manifest)\t%s\t%s\n' "$1" "$2"
		out=$("$OUT/bin/benchtool" hashtree sha256 "$d") && set -- $out &&
			printf 'sha256, Go (version 1 manifests)\t%s\t%s\n' "$1" "$2"
	done
	# rt --export compresses with libzstd at level 1 on min(CPUs, 4) worker
	# threads; the zstd tool runs the same library with the same settings.
	local workers=$(($(nproc) < 4 ? $(nproc) : 4))
	for i in 1 2 3; do
		timed zstd -q -1 -T"$workers" -c "$d/pages-1.img" >"$d/pages.zst"
		printf 'zstd -1 -T%s compress (rt --export: libzstd level 1)\t%s\t%s\n' "$workers" "$TIMED" "$n"
		timed zstd -q -d -c "$d/pages.zst" >/dev/null
		printf 'zstd decompress (rt --import)\t%s\t%s\n' "$TIMED" "$n"
	done
	for i in 1 2 3; do
		timed sha256sum "$d/pages-1.img" >/dev/null
		printf 'sha256sum (coreutils)\t%s\t%s\n' "$TIMED" "$n"
	done
	rm -rf "$d"
}

# ------------------------------------------------------------ host lane
rc=0
if [[ " $PARTS " == *" host "* ]]; then
	# crun 1.8.1 refuses this host's cgroup v1 hybrid layout: it runs in the VM lane.
	hostrts=(rt="$OUT/bin/rt" runc-1.4.3="$OUT/bin/runc" runc-1.1.5=/usr/sbin/runc)
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then hostrts+=(crun=/usr/bin/crun); fi
	"$BENCH_DIR/lifecycle.sh" host "$OUT" "${hostrts[@]}" || rc=1
	"$BENCH_DIR/lc-profile.sh" "$OUT" "${hostrts[@]}" || rc=1
	say "native copy and hash speeds"
	host_speed >"$OUT/host-speed.tsv"
fi

# ------------------------------------------------------------ VM lane
if [[ " $PARTS " == *" vm "* ]]; then
	say "VM lane: lifecycle with crun, then C/R (one boot; hours under TCG)"
	# -mem-prealloc: qemu touches the guest RAM up front, so that the first
	# use of guest memory during a measurement does not pay for it.
	export RT_VM_QEMU_ARGS="${RT_VM_QEMU_ARGS:-} -mem-prealloc"
	tests/vm/lane.sh --mem "${BENCH_VM_MEM:-8G}" --timeout "${BENCH_VM_TIMEOUT:-28800}" -- \
		"$BENCH_DIR/vm.sh" "$OUT" 2> >(tee "$OUT/vm-stderr.log" >&2) || { st=$?; rc=1; say "the VM lane failed (status $st)"; }
fi
echo "host.loadavg.end: $(cat /proc/loadavg)" >>"$OUT/env.txt"

report "$OUT"
exit "$rc"
