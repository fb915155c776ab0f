#!/bin/bash
# Helpers for the engine tests (tests/bats/engines.bats): a private containerd
# and dockerd from Debian's packages, with rt registered as a docker runtime
# and used as ctr's --runc-binary. Everything lives under ENG_DIR:
#
#   ENG_DIR/containerd.toml, ctrd.sock      containerd (CRI plugin disabled)
#   ENG_DIR/docker.sock, data/, exec/       dockerd (exec-root/runtime-runc/moby = runtime --root)
#   ENG_DIR/rt-wrapper                       logs every runtime argv to ENG_DIR/rt-calls.log, then execs RT
#   ENG_DIR/rootfs                           busybox rootfs (imported as busybox:local, used by ctr --rootfs)
#
# Container cgroups go under /<ENG_NAME>/ (docker --cgroup-parent, ctr namespace).
# engines_stop stops the daemons by pid, kills what is left in those cgroups,
# unmounts everything under ENG_DIR (deepest first) and removes it.

ENG_LIB_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ENG_TIMEOUT=${ENG_TIMEOUT:-120}

# The Debian docker.io client matches the Debian dockerd; /usr/local/bin may
# hold a newer, unrelated client.
eng_docker_client() {
	if [ -x /usr/bin/docker ]; then
		echo /usr/bin/docker
	else
		command -v docker
	fi
}

# engines_install: install docker.io and containerd if missing, without
# letting apt start services.
engines_install() {
	if command -v dockerd >/dev/null && command -v containerd >/dev/null &&
		command -v ctr >/dev/null && command -v containerd-shim-runc-v2 >/dev/null &&
		[ -n "$(eng_docker_client)" ]; then
		return 0
	fi
	local created_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created_policy=1
	fi
	local try ok=
	for try in 1 2 3 4 5 6; do
		if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
				--no-install-recommends docker.io containerd; then
			ok=1
			break
		fi
		echo "engines_install: apt failed (try $try), retrying" >&2
		sleep 10
	done
	[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ -n "$ok" ]
}

# dk ARGS...: docker client against our daemon (with a timeout).
dk() {
	DOCKER_CONFIG=$ENG_DIR/docker-config timeout -k 5 "$ENG_TIMEOUT" \
		"$ENG_DOCKER" -H "unix://$ENG_DIR/docker.sock" "$@" 3>&-
}

# ctr_ ARGS...: ctr against our containerd, in our namespace (with a timeout).
ctr_() {
	timeout -k 5 "$ENG_TIMEOUT" ctr --address "$ENG_DIR/ctrd.sock" --namespace "$ENG_NAME" "$@" 3>&-
}

# ctr_run ARGS...: `ctr run` with our rootfs and runtime; ARGS are the run
# flags; use as: ctr_run [flags] -- ID CMD...
ctr_run() {
	local flags=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	local id=$1
	shift
	ctr_ run --rootfs --runc-binary "$ENG_DIR/rt-wrapper" --runc-root "$ENG_DIR/runc-root" \
		--env PATH=/usr/sbin:/usr/bin:/sbin:/bin "${flags[@]}" "$ENG_DIR/rootfs" "$id" "$@"
}

# engines_start RT: start containerd and dockerd with RT registered as "rt".
engines_start() {
	local rt=$1
	ENG_DIR=$(mktemp -d /tmp/rte.XXXXXX)
	ENG_NAME=rteng-$(basename "$ENG_DIR" | cut -d. -f2)
	ENG_DOCKER=$(eng_docker_client)
	export ENG_DIR ENG_NAME ENG_DOCKER
	mkdir -p "$ENG_DIR/docker-config" "$ENG_DIR/runc-root"
	echo '{}' >"$ENG_DIR/docker-config/config.json"

	cat >"$ENG_DIR/rt-wrapper" <<EOF
#!/bin/sh
echo "\$*" >>"$ENG_DIR/rt-calls.log"
exec "$rt" "\$@"
EOF
	chmod +x "$ENG_DIR/rt-wrapper"

	"$ENG_LIB_DIR/mkrootfs.sh" "$ENG_DIR/rootfs" || return 1

	cat >"$ENG_DIR/containerd.toml" <<EOF
version = 2
root = "$ENG_DIR/ctrd-root"
state = "$ENG_DIR/ctrd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$ENG_DIR/ctrd.sock"
[ttrpc]
  address = "$ENG_DIR/ctrd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$ENG_DIR/opt"
EOF
	containerd --config "$ENG_DIR/containerd.toml" \
		</dev/null >"$ENG_DIR/containerd.log" 2>&1 3>&- &
	echo $! >"$ENG_DIR/containerd.pid"
	local i
	for i in $(seq 1 100); do
		[ -S "$ENG_DIR/ctrd.sock" ] &&
			timeout 5 ctr --address "$ENG_DIR/ctrd.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	timeout 5 ctr --address "$ENG_DIR/ctrd.sock" version >/dev/null 2>&1 || {
		echo "containerd did not come up:" >&2
		tail -20 "$ENG_DIR/containerd.log" >&2
		return 1
	}

	echo '{}' >"$ENG_DIR/daemon.json"
	DOCKER_CONFIG=$ENG_DIR/docker-config dockerd \
		--config-file "$ENG_DIR/daemon.json" \
		--experimental \
		--containerd "$ENG_DIR/ctrd.sock" \
		--host "unix://$ENG_DIR/docker.sock" \
		--data-root "$ENG_DIR/data" \
		--exec-root "$ENG_DIR/exec" \
		--pidfile "$ENG_DIR/dockerd.pidfile" \
		--iptables=false --ip6tables=false --bridge=none \
		--cgroup-parent "/$ENG_NAME" \
		--add-runtime "rt=$ENG_DIR/rt-wrapper" \
		</dev/null >"$ENG_DIR/dockerd.log" 2>&1 3>&- &
	echo $! >"$ENG_DIR/dockerd.pid"
	for i in $(seq 1 300); do
		dk version >/dev/null 2>&1 && break
		kill -0 "$(cat "$ENG_DIR/dockerd.pid")" 2>/dev/null || break
		sleep 0.1
	done
	dk version >/dev/null 2>&1 || {
		echo "dockerd did not come up:" >&2
		tail -30 "$ENG_DIR/dockerd.log" >&2
		return 1
	}

	tar -C "$ENG_DIR/rootfs" -c . | dk import - busybox:local >/dev/null || {
		echo "docker import failed" >&2
		return 1
	}
}

# eng_stop_pid PIDFILE [SECONDS]: TERM, wait, KILL.
eng_stop_pid() {
	local pid i
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < ${2:-20} * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	sleep 0.2
}

# eng_cgroup_dirs: our cgroup directories in every hierarchy, deepest first.
eng_cgroup_dirs() {
	cgroup_dirs_under "$ENG_NAME"
}

# cgroup_dirs_under NAME: the directories of cgroup /NAME in every mounted
# hierarchy, deepest first (to kill what is left in them, then rmdir).
cgroup_dirs_under() {
	local mp
	for mp in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo | sort -u); do
		[ -d "$mp/$1" ] && find "$mp/$1" -type d
	done | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

engines_stop() {
	[ -n "${ENG_DIR:-}" ] && [ -d "$ENG_DIR" ] || return 0
	local ids id pid d

	# containers first, through the engines
	if [ -S "$ENG_DIR/docker.sock" ]; then
		ids=$(ENG_TIMEOUT=30 dk ps -aq 2>/dev/null)
		[ -n "$ids" ] && ENG_TIMEOUT=60 dk rm -f $ids >/dev/null 2>&1
	fi
	if [ -S "$ENG_DIR/ctrd.sock" ]; then
		for id in $(ENG_TIMEOUT=20 ctr_ task ls -q 2>/dev/null); do
			ENG_TIMEOUT=20 ctr_ task kill -a -s SIGKILL "$id" >/dev/null 2>&1
			ENG_TIMEOUT=20 ctr_ task rm -f "$id" >/dev/null 2>&1
		done
		for id in $(ENG_TIMEOUT=20 ctr_ containers ls -q 2>/dev/null); do
			ENG_TIMEOUT=20 ctr_ containers rm "$id" >/dev/null 2>&1
		done
	fi

	eng_stop_pid "$ENG_DIR/dockerd.pid" 20
	eng_stop_pid "$ENG_DIR/containerd.pid" 10

	# shims started by our containerd (identified by its socket address)
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "-address $ENG_DIR/ctrd.sock"; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done

	# anything still running in our containers' cgroups
	for d in $(eng_cgroup_dirs); do
		[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	local try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		local left=0
		for d in $(eng_cgroup_dirs); do
			rmdir "$d" 2>/dev/null || left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.3
	done

	# mounts under ENG_DIR, deepest first
	local mp
	for mp in $(awk -v p="$ENG_DIR/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo |
		awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-); do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	done
	rm -rf "$ENG_DIR"
}
