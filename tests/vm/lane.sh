#!/usr/bin/env bash
# tests/vm/lane.sh - the rt VM lane.
#
# Runs one command inside a fresh, throw-away qemu VM that boots Debian's own
# kernel (the package behind linux-image-amd64; 6.1 on bookworm), because the
# distribution's CRIU cannot checkpoint on newer host kernels.  The guest sees
# the host's / read-only (9p) under a tmpfs overlay, so it has the host's
# binaries (criu, runc, our build output, ...) and can scribble anywhere; all
# changes vanish with the VM.  The current directory and every --share DIR are
# shared read-write at the same path.
#
# usage: tests/vm/lane.sh [options] -- CMD [ARGS...]
#   --mem SIZE     guest memory (default 2G)
#   --smp N        guest vCPUs (default: host CPUs, at most 8)
#   --timeout SEC  power the VM off after SEC seconds (exit status 124)
#   --share DIR    also share DIR read-write at the same path (repeatable)
#   --prep         only install packages and prepare kernel + initramfs
#   --console      copy the guest's kernel console to stderr
#   -h, --help     show this help
#
# CMD is looked up in the guest's PATH and exec'd (use `sh -c '...'` for shell
# syntax) with stdin from /dev/null, the host's exported environment plus
# RT_VM=1, and the host's current directory.  Its stdout and stderr stream
# back to ours; its exit status becomes ours.  125 means the VM failed before
# the command reported a status, 124 that --timeout hit.
#
# Environment knobs:
#   RT_VM_CACHE       cache directory (default /var/tmp/rt-vm)
#   RT_VM_ACCEL       auto (default), tcg or kvm
#   RT_VM_KERNEL_PKG  kernel package to use (default: resolved once from
#                     `apt-cache depends linux-image-amd64` and remembered)
#   RT_VM_REFRESH=1   resolve the kernel package again
#   RT_VM_MODULES     extra modules to load at boot
#   RT_VM_APPEND      extra kernel command line
#   RT_VM_QEMU_ARGS   extra qemu arguments (word-split)
#   RT_VM_KEEP=1      keep the run directory (console log, qemu log)
#   RT_VM_DEBUG=1     log boot-stage timestamps on the guest console
#
# Keep CRIU images and work dirs on the guest's /tmp: qemu's 9p cannot open
# the unix sockets and FIFOs CRIU creates there.
set -euo pipefail

ME=lane.sh
say()  { printf '%s: %s\n' "$ME" "$*" >&2; }
fail() { say "$*"; exit 125; }
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

# ---------------------------------------------------------------- options
MEM=2G
SMP=$(nproc 2>/dev/null || echo 1)
(( SMP > 8 )) && SMP=8
TIMEOUT=0
PREP_ONLY=0
CONSOLE=0
SHARES=()
CACHE=${RT_VM_CACHE:-/var/tmp/rt-vm}
ACCEL=${RT_VM_ACCEL:-auto}
KEEP=${RT_VM_KEEP:-0}
MSIZE=512000

while (( $# )); do
  case $1 in
    --mem|--smp|--timeout|--share)
      (( $# >= 2 )) || fail "$1 needs a value"
      case $1 in
        --mem) MEM=$2 ;; --smp) SMP=$2 ;; --timeout) TIMEOUT=$2 ;; --share) SHARES+=("$2") ;;
      esac
      shift 2 ;;
    --mem=*)     MEM=${1#*=}; shift ;;
    --smp=*)     SMP=${1#*=}; shift ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --share=*)   SHARES+=("${1#*=}"); shift ;;
    --prep)      PREP_ONLY=1; shift ;;
    --console)   CONSOLE=1; shift ;;
    -h|--help)   usage; exit 0 ;;
    --)          shift; break ;;
    -*)          fail "unknown option $1 (try --help)" ;;
    *)           break ;;
  esac
done
[[ $TIMEOUT =~ ^[0-9]+$ ]] || fail "--timeout wants whole seconds, got '$TIMEOUT'"
[[ $SMP =~ ^[1-9][0-9]*$ ]] || fail "--smp wants a positive number, got '$SMP'"
if (( ! PREP_ONLY && $# == 0 )); then usage >&2; exit 125; fi
(( EUID == 0 )) || fail "must run as root (apt-get, 9p passthrough)"
# The guest finds its per-run files through the kernel command line.
[[ $CACHE == /* && $CACHE =~ ^[A-Za-z0-9_./+-]+$ ]] ||
  fail "RT_VM_CACHE must be an absolute path without spaces or odd characters"

# Packages the lane needs on the host (and, through the shared root, in the guest).
HOST_PKGS=(qemu-system-x86 busybox-static kmod xz-utils criu iproute2 iptables)
# Loaded by the initramfs: what it takes to reach the root (virtio, 9p,
# overlay), the serial ports, and what CRIU expects (socket diag, tun).
# virtio_net serves tests/vm/pair.sh (one initramfs for every run). Everything
# else autoloads from the module tree bind-mounted at /lib/modules.
# shellcheck disable=SC2206
BOOT_MODULES=(virtio_pci 9pnet_virtio 9p overlay virtio_console
              unix_diag inet_diag tcp_diag udp_diag raw_diag af_packet_diag netlink_diag tun
              virtio_net
              ${RT_VM_MODULES:-})

# ------------------------------------------------------------------ apt
# Another apt/dpkg may be running (locks held): wait and retry, up to ~20 min.
apt_patiently() {
  local errs tries=0 rc
  errs=$(mktemp)
  while :; do
    rc=0
    "$@" >&2 2>"$errs" || rc=$?
    grep -v 'Download is performed unsandboxed' "$errs" >&2 || true
    if (( rc != 0 )) && (( ++tries < 240 )) &&
       grep -qiE 'could not get lock|unable to (acquire|lock)|another process' "$errs"; then
      say "apt is busy (lock held by another process), retrying in 5s"
      sleep 5
      continue
    fi
    rm -f "$errs"
    return "$rc"
  done
}

APT=(apt-get -o DPkg::Lock::Timeout=300 -o APT::Sandbox::User=root)

ensure_packages() {
  local p status missing=()
  declare -A have=()
  while read -r p status; do
    [[ $status == "install ok installed" ]] && have[$p]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "${HOST_PKGS[@]}" 2>/dev/null || true)
  for p in "${HOST_PKGS[@]}"; do [[ -n ${have[$p]:-} ]] || missing+=("$p"); done
  (( ${#missing[@]} )) || return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_patiently "${APT[@]}" install -y --no-install-recommends "${missing[@]}" ||
    { apt_patiently "${APT[@]}" update &&
      apt_patiently "${APT[@]}" install -y --no-install-recommends "${missing[@]}"; } ||
    fail "cannot install ${missing[*]}"
}

# ---------------------------------------------------------------- kernel
resolve_kernel_pkg() {
  { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
    sed -n '/^ *Depends: linux-image-[0-9]/{s/^ *Depends: //p;q}'
}

# The bzImage carries the real kernel as an xz stream.  Booting that ELF
# directly through its PVH entry point skips firmware real-mode setup and the
# in-guest decompression, which is seconds under TCG.
extract_vmlinux() {
  local src=$1 dst=$2 cfg off
  cfg=${src/\/vmlinuz-//config-}
  grep -q '^CONFIG_PVH=y' "$cfg" 2>/dev/null || return 1
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$src" | awk -F: 'NR == 1 { print $1 }') || return 1
  [[ -n $off ]] || return 1
  { tail -c +"$((off + 1))" "$src" 2>/dev/null || true; } |
    xz -dc --single-stream >"$dst.part" 2>/dev/null || { rm -f "$dst.part"; return 1; }
  if [[ $(head -c 4 "$dst.part" | od -An -tx1 | tr -d ' \n') != 7f454c46 ]]; then
    rm -f "$dst.part"; return 1
  fi
  mv "$dst.part" "$dst"
}

prepare_kernel() {
  local pkg=${RT_VM_KERNEL_PKG:-} deb
  if [[ -z $pkg && ${RT_VM_REFRESH:-0} != 1 && -s $CACHE/kernel-pkg ]]; then
    pkg=$(<"$CACHE/kernel-pkg")
  fi
  if [[ -z $pkg ]]; then
    pkg=$(resolve_kernel_pkg)
    if [[ -z $pkg ]]; then
      apt_patiently "${APT[@]}" update || true
      pkg=$(resolve_kernel_pkg)
    fi
    [[ -n $pkg ]] || fail "cannot resolve the package linux-image-amd64 depends on"
  fi
  KDIR=$CACHE/kernels/$pkg
  if [[ ! -e $KDIR/ready ]]; then
    say "preparing kernel $pkg in $KDIR"
    rm -rf "$KDIR"
    mkdir -p "$KDIR/download"
    (cd "$KDIR/download" && apt_patiently "${APT[@]}" download "$pkg") ||
      { apt_patiently "${APT[@]}" update &&
        (cd "$KDIR/download" && apt_patiently "${APT[@]}" download "$pkg"); } ||
      fail "apt-get download $pkg failed"
    deb=$(find "$KDIR/download" -name '*.deb' | head -n 1)
    [[ -n $deb ]] || fail "apt-get download $pkg left no .deb"
    dpkg-deb -x "$deb" "$KDIR/root"
    rm -rf "$KDIR/download"
    KVER=$(find "$KDIR/root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
    [[ -n $KVER && -e $KDIR/root/boot/vmlinuz-$KVER ]] || fail "$pkg holds no kernel"
    depmod -b "$KDIR/root" "$KVER"
    extract_vmlinux "$KDIR/root/boot/vmlinuz-$KVER" "$KDIR/vmlinux" ||
      say "could not extract an ELF vmlinux; booting the bzImage (slower)"
    echo "$KVER" >"$KDIR/kver"
    touch "$KDIR/ready"
  fi
  [[ -n ${RT_VM_KERNEL_PKG:-} ]] || echo "$pkg" >"$CACHE/kernel-pkg"
  KVER=$(<"$KDIR/kver")
  MODDIR=$KDIR/root/lib/modules/$KVER
  KERNEL=$KDIR/vmlinux
  [[ -e $KERNEL ]] || KERNEL=$KDIR/root/boot/vmlinuz-$KVER
}

# ------------------------------------------------------------- initramfs
# Stage 0, /init of the initramfs (static busybox): load the boot modules,
# mount the host root and hand over to the per-run stage 1 script found on it
# (its path comes from rt.run= on the kernel command line).
INIT0='#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() { echo "rt-vm: $*" >/dev/console; echo o >/proc/sysrq-trigger; sleep 60; }
run= msize=512000 debug=
for w in $(cat /proc/cmdline); do
  case $w in rt.run=*) run=${w#*=} ;; rt.msize=*) msize=${w#*=} ;; rt.debug) debug=1 ;; esac
done
mark() { [ -z "$debug" ] || echo "rt-vm: $* at $(cut -d" " -f1 /proc/uptime /newroot/proc/uptime 2>/dev/null)s" >/dev/console; }
mark "stage 0"
while read -r m; do insmod "$m" || die "insmod $m failed"; done </modules.list
mark "modules loaded"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=$msize,ro,cache=loose rthost /host ||
  die "cannot mount the host root over 9p"
[ -n "$run" ] && [ -r "/host$run/boot.sh" ] || die "no stage 1 script (rt.run=$run)"
. "/host$run/boot.sh"
die "stage 1 returned"
'

build_initramfs() {
  local key stage m rel
  key=$( { printf '%s\n' "$INIT0" "$KVER" "${BOOT_MODULES[*]}"; cksum </bin/busybox; } |
         md5sum | cut -c1-16)
  INITRD=$KDIR/initramfs-$key.cpio
  [[ -e $INITRD ]] && return 0
  say "building $INITRD"
  stage=$(mktemp -d "$CACHE/initramfs.XXXXXX")
  mkdir -p "$stage"/{bin,dev,proc,sys,host}
  mknod -m 600 "$stage/dev/console" c 5 1
  cp /bin/busybox "$stage/bin/busybox"
  printf '%s' "$INIT0" >"$stage/init"
  chmod 755 "$stage/init"
  modprobe -d "$KDIR/root" -S "$KVER" --show-depends -a "${BOOT_MODULES[@]}" >"$stage/deps" ||
    fail "modprobe --show-depends failed for: ${BOOT_MODULES[*]}"
  : >"$stage/modules.list"
  while read -r m; do
    rel=${m#"$KDIR/root"}
    mkdir -p "$stage${rel%/*}"
    case $m in
      *.ko.xz) rel=${rel%.xz}; xz -dc "$m" >"$stage$rel" ;;
      *)       cp "$m" "$stage$rel" ;;
    esac
    echo "$rel" >>"$stage/modules.list"
  done < <(awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$stage/deps")
  rm -f "$stage/deps"
  [[ -s $stage/modules.list ]] || fail "no boot modules found in $MODDIR"
  (cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) >"$INITRD.part"
  mv "$INITRD.part" "$INITRD"
  rm -rf "$stage"
  # images of older lane.sh versions (qemu reads the initrd at start-up)
  find "$KDIR" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "${INITRD##*/}" -mmin +60 -delete || true
}

# ------------------------------------------------------- guest, stage 1
# Sourced by stage 0 (still in the initramfs): build the final root and
# switch_root into it, with stage 2 as PID 1.
BOOT_SH='. "/host$run/conf"
o9="trans=virtio,version=9p2000.L,msize=$msize"
R=/newroot
mkdir -p /scratch $R
mount -t tmpfs -o mode=0755 rt-scratch /scratch
mkdir -p /scratch/upper /scratch/work
mount -t overlay -o lowerdir=/host,upperdir=/scratch/upper,workdir=/scratch/work rt-root $R ||
  die "cannot mount the overlay root"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $R/run
mkdir -p $R/run/rt-vm/host
mount --move /host $R/run/rt-vm/host
cp /bin/busybox $R/run/rt-vm/busybox
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/tmp
mount --move /dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $R/dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev shm $R/dev/shm
mount -t mqueue mqueue $R/dev/mqueue
ln -sfn /proc/self/fd $R/dev/fd
ln -sfn /proc/self/fd/0 $R/dev/stdin
ln -sfn /proc/self/fd/1 $R/dev/stdout
ln -sfn /proc/self/fd/2 $R/dev/stderr
mount --move /proc $R/proc
mount --move /sys $R/sys
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || die "cannot mount cgroup2"
mount -t securityfs securityfs $R/sys/kernel/security 2>/dev/null
mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mkdir -p "$R/lib/modules/$RTVM_KVER"
mount --bind "$R/run/rt-vm/host$RTVM_MODDIR" "$R/lib/modules/$RTVM_KVER" || die "cannot bind the module tree"
echo /sbin/modprobe >$R/proc/sys/kernel/modprobe
i=0
while [ "$i" -lt "$RTVM_NSHARES" ]; do
  eval "dir=\$RTVM_SHARE_$i"
  mkdir -p "$R$dir" && mount -t 9p -o "$o9,cache=mmap" "rtshare$i" "$R$dir" ||
    die "cannot mount share $dir"
  i=$((i + 1))
done
hostname rt-vm
ip link set lo up
mark "root ready"
exec switch_root $R /run/rt-vm/busybox sh "/run/rt-vm/host$run/run.sh" "$run"
die "switch_root failed"
'

# ------------------------------------------------------- guest, stage 2
# PID 1 in the final root (busybox ash, which also reaps orphans while it
# waits): run the command with its stdio on the virtio-serial ports, report
# its status on the status port, power off.
RUN_SH='export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
rtvm_ctl=/run/rt-vm/host$1
. "$rtvm_ctl/conf"
rtvm_out=/dev/console rtvm_err=/dev/console rtvm_status= rtvm_n=0
while :; do
  for rtvm_f in /sys/class/virtio-ports/*/name; do
    [ -r "$rtvm_f" ] || continue
    read -r rtvm_name <"$rtvm_f"
    rtvm_d=${rtvm_f%/name}; rtvm_d=/dev/${rtvm_d##*/}
    case $rtvm_name in
      rt.stdout) rtvm_out=$rtvm_d ;; rt.stderr) rtvm_err=$rtvm_d ;; rt.status) rtvm_status=$rtvm_d ;;
    esac
  done
  [ -n "$rtvm_status" ] && [ -c "$rtvm_status" ] && break
  rtvm_n=$((rtvm_n + 1)); [ "$rtvm_n" -lt 100 ] || break
  sleep 0.05
done
[ "$rtvm_n" = 0 ] || echo "rt-vm: waited $rtvm_n rounds for the serial ports" >/dev/console
. "$rtvm_ctl/env"
. "$rtvm_ctl/argv"
cd "$RTVM_CWD" 2>/dev/null || cd /
[ -z "${TMPDIR:-}" ] || mkdir -p "$TMPDIR" 2>/dev/null
read -r rtvm_up _ </proc/uptime
echo "rt-vm: command starts at ${rtvm_up}s" >/dev/console
/usr/bin/env -- "$@" </dev/null >"$rtvm_out" 2>"$rtvm_err"
rtvm_rc=$?
echo "rt-vm: command exited with $rtvm_rc" >/dev/console
[ -z "$rtvm_status" ] || echo "$rtvm_rc" >"$rtvm_status"
sync
echo o >/proc/sysrq-trigger
sleep 60'

# ------------------------------------------------------------- helpers
pick_accel() {
  case $ACCEL in
    auto)
      # The nested "kvm_pvm" /dev/kvm (no VT-x/AMD-V) cannot run the guest
      # kernel properly; plain TCG is the safe choice there.
      ACCEL=tcg
      if [[ -r /dev/kvm && -w /dev/kvm && ! -e /sys/module/kvm_pvm ]] &&
         grep -qwE 'vmx|svm' /proc/cpuinfo; then
        ACCEL=kvm
      fi ;;
    tcg|kvm) ;;
    *) fail "RT_VM_ACCEL must be auto, tcg or kvm (got $ACCEL)" ;;
  esac
  if [[ $ACCEL == kvm ]]; then
    ACCEL_ARGS=(-accel kvm -cpu host)
  else
    ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
  fi
}

shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # quote for POSIX sh
qemu_path() { printf '%s' "${1//,/,,}"; }       # escape commas in qemu options

# ----------------------------------------------------------------- prepare
mkdir -p "$CACHE/kernels" "$CACHE/runs"
exec {LOCKFD}>"$CACHE/lock"
flock "$LOCKFD"
ensure_packages
prepare_kernel
build_initramfs
# forget runs that crashed or were kept more than a day ago
find "$CACHE/runs" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
exec {LOCKFD}>&-

if (( PREP_ONLY )); then
  printf 'kernel  %s\ninitrd  %s\nmodules %s\n' "$KERNEL" "$INITRD" "$MODDIR"
  exit 0
fi
pick_accel

# --------------------------------------------------------------------- run
RUN=$(mktemp -d "$CACHE/runs/XXXXXXXX")
chmod 700 "$RUN"
HOST_CWD=$(pwd -P)

# shares: the current directory first (unless it is /), then --share dirs
declare -A seen=()
SHARE_DIRS=()
[[ $HOST_CWD != / ]] && { SHARE_DIRS+=("$HOST_CWD"); seen[$HOST_CWD]=1; }
for d in "${SHARES[@]}"; do
  d=$(cd "$d" 2>/dev/null && pwd -P) || fail "--share $d: not a directory"
  [[ $d == / || -n ${seen[$d]:-} ]] && continue
  SHARE_DIRS+=("$d"); seen[$d]=1
done

QEMU_SHARES=()
{
  echo "RTVM_KVER=$(shq "$KVER")"
  echo "RTVM_MODDIR=$(shq "$MODDIR")"
  echo "RTVM_CWD=$(shq "$HOST_CWD")"
  echo "RTVM_NSHARES=${#SHARE_DIRS[@]}"
  for i in "${!SHARE_DIRS[@]}"; do
    echo "RTVM_SHARE_$i=$(shq "${SHARE_DIRS[$i]}")"
    QEMU_SHARES+=(-virtfs "local,path=$(qemu_path "${SHARE_DIRS[$i]}"),mount_tag=rtshare$i,security_model=passthrough,multidevs=remap")
  done
} >"$RUN/conf"
{
  while read -r v; do
    [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    case $v in
      # shell state, or read-only in some shells (a failing export would kill PID 1)
      PWD|OLDPWD|SHLVL|_|IFS|PS1|PS2|PS4|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|BASH_*) continue ;;
      PPID|UID|EUID|GROUPS|LINENO|OPTIND|OPTARG|RANDOM|SECONDS|HISTFILE|rtvm_*|RTVM_*) continue ;;
    esac
    echo "export $v=$(shq "${!v}")"
  done < <(compgen -e)
  echo "export RT_VM=1"
} >"$RUN/env"
{ printf 'set --'; for a in "$@"; do printf ' %s' "$(shq "$a")"; done; echo; } >"$RUN/argv"
printf '%s' "$BOOT_SH" >"$RUN/boot.sh"
printf '%s' "$RUN_SH" >"$RUN/run.sh"

# The command's stdout/stderr arrive through FIFOs that qemu's file
# chardevs write into; a pump per FIFO copies them to our stdout/stderr.  We
# hold both FIFOs open read-write ourselves, so the pumps never hang in open()
# if qemu dies early and only see EOF once we let go after qemu is gone.  If
# our reader goes away (`lane.sh ... | head`), the pump keeps draining the
# FIFO so qemu never blocks on a full pipe.
pump() { cat <"$1" || cat <"$1" >/dev/null; }
mkfifo "$RUN/stdout" "$RUN/stderr"
PUMPS=()
pump "$RUN/stdout" & PUMPS+=($!)
pump "$RUN/stderr" >&2 & PUMPS+=($!)
exec {HOLD_OUT}<>"$RUN/stdout" {HOLD_ERR}<>"$RUN/stderr"
HOLD_CON=
if (( CONSOLE )); then
  mkfifo "$RUN/console"
  pump "$RUN/console" >&2 & PUMPS+=($!)
  exec {HOLD_CON}<>"$RUN/console"
  CONSOLE_PATH=$RUN/console
else
  CONSOLE_PATH=$RUN/console.log
fi

APPEND="console=ttyS0 loglevel=4 panic=-1 apparmor=0 mitigations=off no_timer_check"
APPEND+=" i8042.noaux i8042.nokbd i8042.nopnp random.trust_cpu=on"
APPEND+=" rt.run=$RUN rt.msize=$MSIZE${RT_VM_DEBUG:+ rt.debug} ${RT_VM_APPEND:-}"

QEMU=(qemu-system-x86_64 -name rt-vm -machine q35 "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM"
  -nodefaults -no-user-config -display none -vga none -no-reboot
  -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
  -chardev "file,id=rtcon,path=$(qemu_path "$CONSOLE_PATH")" -serial chardev:rtcon
  -device virtio-serial-pci
  -chardev "file,id=rtout,path=$(qemu_path "$RUN/stdout")"
  -device virtserialport,chardev=rtout,name=rt.stdout
  -chardev "file,id=rterr,path=$(qemu_path "$RUN/stderr")"
  -device virtserialport,chardev=rterr,name=rt.stderr
  -chardev "file,id=rtst,path=$(qemu_path "$RUN/status")"
  -device virtserialport,chardev=rtst,name=rt.status
  -virtfs local,path=/,mount_tag=rthost,security_model=passthrough,readonly=on,multidevs=remap
  "${QEMU_SHARES[@]}")
# shellcheck disable=SC2206
QEMU+=(${RT_VM_QEMU_ARGS:-})

QPID=
finish() {
  if [[ -n $QPID ]]; then
    kill "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
  fi
  exec {HOLD_OUT}>&- {HOLD_ERR}>&-
  [[ -z $HOLD_CON ]] || exec {HOLD_CON}>&-
  wait "${PUMPS[@]}" 2>/dev/null || true
  if [[ $KEEP == 1 ]]; then say "run directory kept: $RUN"; else rm -rf "$RUN"; fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if (( TIMEOUT > 0 )); then
  timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$RUN/qemu.log" 2>&1 & QPID=$!
else
  "${QEMU[@]}" </dev/null >"$RUN/qemu.log" 2>&1 & QPID=$!
fi
qrc=0
wait "$QPID" || qrc=$?
QPID=

status=$(tr -dc '0-9' <"$RUN/status" 2>/dev/null || true)
if [[ -n $status ]]; then
  exit "$status"
fi
if (( TIMEOUT > 0 )) && [[ $qrc == 124 || $qrc == 137 ]]; then
  say "timed out after ${TIMEOUT}s"
  rc=124
else
  say "the VM stopped without reporting a status (qemu exit $qrc)"
  rc=125
fi
KEEP=1
tail -n 20 "$RUN/qemu.log" >&2 2>/dev/null || true
if [[ -f $RUN/console.log ]]; then
  say "console tail:"
  tail -n 40 "$RUN/console.log" >&2 || true
fi
exit "$rc"
