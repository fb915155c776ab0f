#!/bin/bash
# mkrootfs.sh DEST
#
# Populate DEST with a minimal busybox root filesystem built from Debian's
# busybox-static (no image downloads). The pristine tree is built once and
# cached in $RT_TEST_CACHE (default /var/tmp/rt-test-cache); every call copies
# the cached tree into DEST.
set -euo pipefail

dest=${1:?usage: mkrootfs.sh DEST}
cache_root=${RT_TEST_CACHE:-/var/tmp/rt-test-cache}
cache=$cache_root/busybox-rootfs
# Bump when the layout below changes so stale caches are rebuilt.
layout_version=4

ensure_busybox() {
	local bb=/bin/busybox
	if [ -x "$bb" ] && file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
		return 0
	fi
	if ! dpkg -s busybox-static >/dev/null 2>&1; then
		echo "mkrootfs: installing busybox-static" >&2
		local i
		for i in $(seq 1 60); do
			if DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2; then
				break
			fi
			# apt lock held by someone else or stale lists: update and retry.
			DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
			sleep 5
		done
	fi
	[ -x "$bb" ] || { echo "mkrootfs: /bin/busybox missing after install" >&2; return 1; }
}

build_cache() {
	local tmp=$1
	mkdir -p "$tmp"
	cd "$tmp"
	mkdir -p bin sbin usr/bin usr/sbin etc root home/user tmp var/tmp var/log run proc sys dev \
		mnt opt lib
	chmod 1777 tmp var/tmp
	chmod 0700 root
	cp /bin/busybox bin/busybox
	chmod 0755 bin/busybox
	local applet
	# --list-full prints e.g. "usr/bin/env"; make each a relative symlink.
	while read -r applet; do
		[ -n "$applet" ] || continue
		[ "$applet" = "bin/busybox" ] && continue
		local dir up
		dir=$(dirname "$applet")
		mkdir -p "$dir"
		# relative path from $dir back to /
		if [ "$dir" = . ]; then
			up=.
		else
			up=$(echo "$dir" | sed -e 's#[^/][^/]*#..#g')
		fi
		[ -e "$applet" ] || [ -L "$applet" ] || ln -s "$up/bin/busybox" "$applet"
	done < <(bin/busybox --list-full)
	[ -e bin/sh ] || ln -s busybox bin/sh
	chown 1000:1000 home/user

	cat >etc/passwd <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:65534:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
	cat >etc/group <<'GR'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
mail:x:8:
wheel:x:10:root
www-data:x:33:
users:x:100:user
user:x:1000:
nogroup:x:65534:
GR
	cat >etc/shadow <<'SH'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
SH
	chmod 0640 etc/shadow
	echo "rt-test" >etc/hostname
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >etc/hosts
	: >etc/resolv.conf
	echo "$layout_version" >.rt-rootfs-version
}

mkdir -p "$cache_root"
exec 9>"$cache_root/.busybox-rootfs.lock"
flock 9
if [ ! -f "$cache/.rt-rootfs-version" ] || [ "$(cat "$cache/.rt-rootfs-version")" != "$layout_version" ]; then
	ensure_busybox
	tmp=$(mktemp -d "$cache_root/busybox-rootfs.tmp.XXXXXX")
	(build_cache "$tmp")
	chmod 0755 "$tmp"
	rm -rf "$cache"
	mv "$tmp" "$cache"
fi
mkdir -p "$dest"
cp -a "$cache/." "$dest/"
rm -f "$dest/.rt-rootfs-version"
flock -u 9
