#!/usr/bin/env bash
# tests/vm/pair-host.sh a|b [CMD...] - inside a VM of tests/vm/pair.sh: set
# up this host of the pair, then (a) run CMD, or (b) serve ssh until a is
# done. RT_PAIR_DIR, RT_PAIR_PEER and RT_PAIR_SELF come from pair.sh.
set -uo pipefail
role=$1
shift
case $role in
a) self=10.99.0.1 ;;
b) self=10.99.0.2 ;;
*) echo "pair-host.sh: role a or b, not $role" >&2; exit 2 ;;
esac
hostname "rt-vm-$role"
dev=$(ip -o link show | awk -F': ' '$2 != "lo" {print $2; exit}')
[ -n "$dev" ] || { echo "pair-host.sh: no network interface (virtio_net)" >&2; exit 125; }
ip addr add "$self/24" dev "$dev" && ip link set "$dev" up || exit 125
echo "$self rt-vm-$role" >>/etc/hosts

if [ "$role" = b ]; then
	# sshd runs each command through root's shell, and bash reads
	# ~/.bashrc when sshd starts it: whatever the host's root put there
	# (a pyenv init took 7 s a call under TCG) would be paid by every ssh
	# call of a suite. This VM's /root is its own overlay copy.
	for f in /root/.bashrc /root/.profile /root/.bash_profile /root/.bash_login; do
		[ ! -e "$f" ] || : >"$f"
	done
	mkdir -p /root/.ssh /run/sshd
	chmod 700 /root/.ssh
	cp "$RT_PAIR_DIR/id.pub" /root/.ssh/authorized_keys
	ssh-keygen -A >/dev/null
	# only on the pair's network, root with the run's key only
	/usr/sbin/sshd -D -e -o ListenAddress="$self" -o PermitRootLogin=prohibit-password \
		-o PasswordAuthentication=no -o UsePAM=no -o AcceptEnv='RT_*' \
		-o MaxStartups=100 -o MaxSessions=100 2>"/tmp/sshd.log" &
	touch "$RT_PAIR_DIR/b.ready"
	while [ ! -e "$RT_PAIR_DIR/a.done" ]; do sleep 0.5; done
	exit 0
fi

mkdir -p /root/.ssh
chmod 700 /root/.ssh
cp "$RT_PAIR_DIR/id" /root/.ssh/id_ed25519
chmod 600 /root/.ssh/id_ed25519
cat >/root/.ssh/config <<EOF
Host peer $RT_PAIR_PEER rt-vm-b
	HostName $RT_PAIR_PEER
	User root
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	LogLevel ERROR
	ConnectTimeout 60
	ServerAliveInterval 5
	ServerAliveCountMax 6
	# One handshake (seconds under TCG) for the many ssh calls of a suite.
	ControlMaster auto
	ControlPath /tmp/ssh-peer-%C
	ControlPersist 600
EOF
for ((i = SECONDS + 300; SECONDS < i; )); do
	[ -e "$RT_PAIR_DIR/b.ready" ] && ssh -o BatchMode=yes peer true 2>/dev/null && break
	sleep 1
done
ssh -o BatchMode=yes peer true || { echo "pair-host.sh: cannot ssh to host b ($RT_PAIR_PEER)" >&2; exit 125; }
"$@"
