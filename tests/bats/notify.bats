#!/usr/bin/env bats
# NOTIFY_SOCKET: the container's sd_notify READY relayed to the host, as runc does

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
	SOCK=$TEST_DIR/host-notify.sock
	OUT=$TEST_DIR/host-notify.out
	start_sdnotify_host "$SOCK" "$OUT"
}

teardown() {
	teardown_common
}

# ready_after SECONDS: the container's args: note its NOTIFY_SOCKET, wait,
# report STATUS and READY in one datagram (as sd_notify does), keep running.
ready_after() {
	set_args sh -c 'echo "$NOTIFY_SOCKET" >/shared/env; sleep "$0"; touch /shared/sent
		sdnotify send "$NOTIFY_SOCKET" "STATUS=warming up
READY=1"; exec sleep 1000' "$1"
}

@test "notify: run -d returns once the container is READY; the host gets READY, MAINPID of its init and a barrier" {
	ready_after 1
	NOTIFY_SOCKET=$SOCK rt run -d ct1 </dev/null
	[ "$status" -eq 0 ]
	# rt waited for the container, not only for its start
	[ -e "$SHARED/sent" ]
	[ "$(cat "$SHARED/env")" = /run/notify/notify.sock ]
	pid=$(container_pid ct1)
	[ -n "$pid" ]
	wait_for_content "$OUT" 'fds: 1'
	[ "$(sed -n 1p "$OUT")" = "msg: READY=1\\nMAINPID=$pid\\n" ]
	[ "$(sed -n 2p "$OUT")" = "msg: BARRIER=1" ]
	[ "$(sed -n 3p "$OUT")" = "fds: 1" ]
	# the container cannot write into the socket's directory
	rt exec ct1 touch /run/notify/x
	[ "$status" -ne 0 ]
}

@test "notify: start of a container created under NOTIFY_SOCKET waits for READY and relays it" {
	ready_after 0.5
	NOTIFY_SOCKET=$SOCK rt create ct1 </dev/null
	[ "$status" -eq 0 ]
	[ ! -s "$OUT" ]
	NOTIFY_SOCKET=$SOCK rt start ct1
	[ "$status" -eq 0 ]
	[ -e "$SHARED/sent" ]
	wait_for_content "$OUT" 'fds: 1'
	[ "$(sed -n 1p "$OUT")" = "msg: READY=1\\nMAINPID=$(container_pid ct1)\\n" ]

	# Created without it, started with it: refused, naming the cause.
	set_cgroups_path second
	rt create ct2 </dev/null
	[ "$status" -eq 0 ]
	NOTIFY_SOCKET=$SOCK rt start ct2
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"created without it"* ]]
	[ "$(container_status ct2)" = created ]
}

@test "notify: foreground run relays READY with rt's own pid as MAINPID and keeps the exit code" {
	set_args sh -c 'sdnotify send "$NOTIFY_SOCKET" READY=1; sleep 0.5; exit 3'
	run sh -c 'echo $$ >"$0/rt.pid"; NOTIFY_SOCKET=$1 exec "$2" --root "$3" run ct1 </dev/null' \
		"$TEST_DIR" "$SOCK" "$RT" "$ROOT"
	[ "$status" -eq 3 ]
	wait_for_content "$OUT" 'fds: 1'
	[ "$(sed -n 1p "$OUT")" = "msg: READY=1\\nMAINPID=$(cat "$TEST_DIR/rt.pid")\\n" ]
}

@test "notify: a container that ends before READY ends run -d without a message; without NOTIFY_SOCKET nothing is mounted" {
	set_args sh -c 'echo "${NOTIFY_SOCKET:-unset}" >/shared/env; sleep 0.5'
	NOTIFY_SOCKET=$SOCK rt run -d ct1 </dev/null
	[ "$status" -eq 0 ]
	[ ! -s "$OUT" ]
	[ "$(cat "$SHARED/env")" = /run/notify/notify.sock ]

	set_cgroups_path second
	set_args sh -c 'echo "${NOTIFY_SOCKET:-unset}" >/shared/env2; { grep -c " /run/notify " /proc/self/mounts || true; } >/shared/mounts2'
	rt run ct2 </dev/null
	[ "$status" -eq 0 ]
	[ "$(cat "$SHARED/env2")" = unset ]
	[ "$(cat "$SHARED/mounts2")" = 0 ]
}
