#!/bin/bash
# Prepare a writable copy of runc v1.4.3's integration suite, its helper
# binaries, the reference runc binary and offline image stand-ins.
#
# Usage: tests/runc-suite/prepare.sh
# Env:   RT_SUITE_WORK  work dir (default /var/tmp/rt-runc-suite)
#        RUNC_VERSION   runc module version (default v1.4.3)
#        RT_SUITE_NO_APT=1  never call apt-get (fail if something is missing)
#
# Idempotent: every step is skipped when its result is already there.
# Layout of the work dir:
#   src/                 copy of the runc module (tests/integration, tests/cmd/_bin, ...)
#   src/runc, runc       reference runc built from that copy (same file)
#   cache/               rootfs tarballs (busybox, debian), survive a re-copy of src/
#   tmp/, out/           used by run.sh
set -euo pipefail

RUNC_VERSION=${RUNC_VERSION:-v1.4.3}
WORK=${RT_SUITE_WORK:-/var/tmp/rt-runc-suite}
SRC=$WORK/src
CACHE=$WORK/cache

log() { echo "prepare: $*" >&2; }
die() {
	echo "prepare: ERROR: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v go >/dev/null || die "go not on PATH"
mkdir -p "$WORK" "$CACHE" "$WORK/tmp" "$WORK/out"

# ---------------------------------------------------------------- packages
PKGS=(bats jq gawk gcc make git libseccomp-dev pkgconf debootstrap util-linux
	bsdutils iproute2 busybox-static xz-utils tar coreutils procps)

apt_get() {
	# Wait for (rather than fail on) an apt/dpkg lock held by another process.
	local try
	for try in $(seq 1 60); do
		if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then
			return 0
		fi
		log "apt-get $* failed (attempt $try), probably a lock; retrying in 10s"
		sleep 10
	done
	return 1
}

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ -z "${RT_SUITE_NO_APT:-}" ] || die "missing packages: ${missing[*]}"
	log "installing: ${missing[*]}"
	apt_get update
	apt_get install -y --no-install-recommends "${missing[@]}"
else
	log "packages: all present"
fi

# ---------------------------------------------------------------- module tree
MOD=$(go env GOMODCACHE)/github.com/opencontainers/runc@$RUNC_VERSION
if [ ! -d "$MOD" ]; then
	log "downloading runc module $RUNC_VERSION"
	d=$(mktemp -d)
	(cd "$d" && go mod init m >/dev/null 2>&1 && go mod download "github.com/opencontainers/runc@$RUNC_VERSION")
	rm -rf "$d"
fi
[ -f "$MOD/tests/integration/helpers.bash" ] || die "no runc module at $MOD"

STAMP_SRC="$MOD"
if [ "$(cat "$SRC/.rt-suite-src" 2>/dev/null)" != "$STAMP_SRC" ] || [ ! -x "$SRC/tests/integration/get-images.sh" ]; then
	log "copying $MOD -> $SRC"
	rm -rf "$SRC"
	cp -a "$MOD" "$SRC"
	chmod -R u+w "$SRC"
	# The module cache drops exec bits; helpers.bash runs get-images.sh directly.
	find "$SRC" -type f \( -name '*.sh' -o -name '*.bats' \) -exec chmod +x {} +
	echo "$STAMP_SRC" >"$SRC/.rt-suite-src"
fi

# Patch setup_recvtty's race (the console socket may be dialled before
# recvtty created it on a loaded machine). Work copy only.
HELPERS=$SRC/tests/integration/helpers.bash
if ! grep -q 'rt-suite: wait for console socket' "$HELPERS"; then
	log "patching setup_recvtty in work copy"
	# shellcheck disable=SC2016
	sed -i '/("\$TESTBINDIR\/recvtty" --pid-file .*&) &$/a\
	# rt-suite: wait for console socket (avoid a race on loaded machines)\
	local _i\
	for ((_i = 0; _i < 200; _i++)); do [ -S "$CONSOLE_SOCKET" ] \&\& break; sleep 0.05; done' "$HELPERS"
	grep -q 'rt-suite: wait for console socket' "$HELPERS" || die "patching helpers.bash failed"
fi

# ---------------------------------------------------------------- binaries
TESTBINS=(recvtty sd-helper seccompagent fs-idmap pidfd-kill remap-rootfs key_label)
BUILD_STAMP="$STAMP_SRC $(go env GOVERSION)"
need_build=
[ "$(cat "$SRC/.rt-suite-build" 2>/dev/null)" = "$BUILD_STAMP" ] || need_build=1
[ -x "$SRC/runc" ] && [ -x "$WORK/runc" ] || need_build=1
for b in "${TESTBINS[@]}"; do [ -x "$SRC/tests/cmd/_bin/$b" ] || need_build=1; done
if [ -n "$need_build" ]; then
	log "building reference runc and test helpers (tags: seccomp urfave_cli_no_docs)"
	(
		cd "$SRC"
		export CGO_ENABLED=1 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
		tags="seccomp urfave_cli_no_docs"
		# Same flags as runc's Makefile; the module copy has no .git, so
		# name the commit after the module version (version.bats wants a
		# "commit:" line).
		ldflags="-X main.gitCommit=$RUNC_VERSION-gomod"
		go build -trimpath -buildmode=pie -tags "$tags" -ldflags "$ldflags" -o runc .
		mkdir -p tests/cmd/_bin
		for b in "${TESTBINS[@]}"; do
			go build -trimpath -buildmode=pie -tags "$tags" -ldflags "$ldflags" -o tests/cmd/_bin/ "./tests/cmd/$b"
		done
	)
	cp -f "$SRC/runc" "$WORK/runc"
	echo "$BUILD_STAMP" >"$SRC/.rt-suite-build"
else
	log "binaries: up to date"
fi

# subreaper wrapper for bats (see subreaper.c for why).
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
mkdir -p "$WORK/bin"
if [ ! -x "$WORK/bin/subreaper" ] || [ "$HERE/subreaper.c" -nt "$WORK/bin/subreaper" ]; then
	log "building subreaper"
	gcc -O2 -Wall -o "$WORK/bin/subreaper" "$HERE/subreaper.c"
fi

# ---------------------------------------------------------------- images
ARCH=$(go env GOARCH)
TESTDATA=$SRC/tests/integration/testdata

build_busybox() {
	local out=$1 bb root
	bb=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n1)
	[ -x "$bb" ] || die "busybox-static binary not found"
	root=$(mktemp -d "$CACHE/busybox.XXXXXX")
	mkdir -p "$root"/{bin,etc,home,root,tmp,usr/sbin,var/spool/mail,var/www,dev}
	cp "$bb" "$root/bin/busybox"
	local a
	for a in $("$root/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -f "$root/bin/busybox" "$root/bin/$a"
	done
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		lp:x:7:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		cdrom:x:11:
		dialout:x:18:
		floppy:x:19:
		video:x:28:
		audio:x:29:
		tape:x:32:
		www-data:x:33:
		operator:x:37:
		utmp:x:43:
		plugdev:x:46:
		staff:x:50:
		lock:x:54:
		netdev:x:82:
		users:x:100:
		nogroup:x:65534:
	EOF
	cat >"$root/etc/shadow" <<-'EOF'
		root:*:10933:0:99999:7:::
		daemon:*:10933:0:99999:7:::
		bin:*:10933:0:99999:7:::
		sys:*:10933:0:99999:7:::
		sync:*:10933:0:99999:7:::
		mail:*:10933:0:99999:7:::
		www-data:*:10933:0:99999:7:::
		operator:*:10933:0:99999:7:::
		nobody:*:10933:0:99999:7:::
	EOF
	chmod 640 "$root/etc/shadow"
	chmod 700 "$root/root"
	chmod 1777 "$root/tmp"
	chmod 755 "$root" # mktemp -d made it 0700; tar restores it onto rootfs/
	# Plain tar (tar autodetects the format on extraction); no proc/ or sys/.
	tar --numeric-owner -C "$root" -cf "$out.part" .
	rm -rf "$root"
	mv -f "$out.part" "$out"
}

debian_mirror() {
	local m=""
	if [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 ~ /bookworm/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' /etc/apt/sources.list)
	fi
	if [ -z "$m" ]; then
		local f
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			# First URIs: line of a stanza whose URI ends in /debian.
			m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f")
			[ -n "$m" ] && break
		done
	fi
	if [ -z "$m" ]; then
		m=$(awk '$1 == "deb" && $0 ~ /bookworm/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

build_debian() {
	local out=$1 root mirror
	mirror=$(debian_mirror)
	root=$(mktemp -d "$CACHE/debian.XXXXXX")
	log "debootstrap --variant=minbase bookworm from $mirror (takes a few minutes)"
	if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		tail -n 20 "$CACHE/debootstrap.log" >&2
		# debootstrap may leave mounts (proc, sys) in the target.
		awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
			sort -r | while read -r mp; do umount -l "$mp" || true; done
		rm -rf --one-file-system "$root"
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	fi
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	chmod 755 "$root" # mktemp -d made it 0700; tar restores it onto rootfs/
	tar --numeric-owner -C "$root" -cf "$out.part" .
	rm -rf --one-file-system "$root"
	mv -f "$out.part" "$out"
}

mkdir -p "$TESTDATA"
if [ ! -s "$CACHE/busybox-$ARCH.tar" ]; then
	log "building busybox rootfs stand-in"
	build_busybox "$CACHE/busybox-$ARCH.tar"
fi
if [ ! -s "$CACHE/debian-$ARCH.tar" ]; then
	log "building debian rootfs stand-in"
	build_debian "$CACHE/debian-$ARCH.tar"
fi
for img in busybox debian; do
	# get-images.sh skips the download when these names exist.
	if ! cmp -s "$CACHE/$img-$ARCH.tar" "$TESTDATA/$img-$ARCH.tar.xz"; then
		cp -f "$CACHE/$img-$ARCH.tar" "$TESTDATA/$img-$ARCH.tar.xz"
	fi
done

# Sanity: get-images.sh must resolve to our files without network.
(cd "$SRC/tests/integration" && ./get-images.sh >/dev/null) || die "get-images.sh failed"

log "ready: suite $SRC/tests/integration, reference runc $WORK/runc ($("$WORK/runc" --version | head -n1))"
