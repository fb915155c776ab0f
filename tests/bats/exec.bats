#!/usr/bin/env bats
# exec

load helpers

setup() {
	setup_common
	cd "$BUNDLE"
	rt run -d ct1
	[ "$status" -eq 0 ]
	wait_for_container ct1 running
}

teardown() {
	teardown_common
}

@test "exec: args, output and exit code" {
	rt exec ct1 echo hello-exec
	[ "$status" -eq 0 ]
	[ "$stdout" = hello-exec ]

	rt exec ct1 sh -c 'echo o; echo e >&2; exit 5'
	[ "$status" -eq 5 ]
	[ "$stdout" = o ]
	[ "$stderr" = e ]
}

@test "exec: runs in the container's namespaces" {
	local initpid
	initpid=$(container_pid ct1)
	rt exec ct1 sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(readlink "/proc/$initpid/ns/pid")" ]
	[ "${lines[1]}" = "$(readlink "/proc/$initpid/ns/mnt")" ]
	# Inside the container's pid namespace init is pid 1.
	rt exec ct1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
	[[ "$stdout" == "sleep 1000"* ]]
}

@test "exec: stdin is passed to the process" {
	rt exec ct1 sh -c 'read l; echo "got:$l"' <<<"from-stdin"
	[ "$status" -eq 0 ]
	[ "$stdout" = "got:from-stdin" ]
}

@test "exec: --cwd, --env, --user" {
	rt exec --cwd /tmp --env FOO=bar --env BAZ=qux --user 1000:1000 ct1 \
		sh -c 'echo "$(pwd) $FOO $BAZ $(id -u) $(id -g)"'
	[ "$status" -eq 0 ]
	[ "$stdout" = "/tmp bar qux 1000 1000" ]

	rt exec -e FOO=short -u 65534 ct1 sh -c 'echo "$FOO $(id -u)"'
	[ "$status" -eq 0 ]
	[ "$stdout" = "short 65534" ]
}

@test "exec: inherits the config env, --env overrides it" {
	rt exec ct1 sh -c 'echo "$PATH"'
	[ "$status" -eq 0 ]
	[ -n "$stdout" ]
	rt exec --env PATH=/bin ct1 sh -c 'echo "$PATH"'
	[ "$status" -eq 0 ]
	[ "$stdout" = /bin ]
}

@test "exec: --process JSON file" {
	cat >"$TEST_DIR/process.json" <<'EOF'
{
	"terminal": false,
	"user": {"uid": 1000, "gid": 100},
	"args": ["sh", "-c", "echo \"$(pwd) $PROC_VAR $(id -u):$(id -g)\"; exit 4"],
	"env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PROC_VAR=from-json"],
	"cwd": "/home/user",
	"noNewPrivileges": true
}
EOF
	rt exec --process "$TEST_DIR/process.json" ct1
	[ "$status" -eq 4 ]
	[ "$stdout" = "/home/user from-json 1000:100" ]

	# -p short form, extra args are not required
	rt exec -p "$TEST_DIR/process.json" ct1
	[ "$status" -eq 4 ]
}

@test "exec: --process rlimits from the file apply" {
	jq -n '{
		terminal: false,
		user: {uid: 0, gid: 0},
		args: ["sh", "-c", "ulimit -n"],
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
		cwd: "/",
		rlimits: [{type: "RLIMIT_NOFILE", hard: 512, soft: 256}]
	}' >"$TEST_DIR/p.json"
	rt exec --process "$TEST_DIR/p.json" ct1
	[ "$status" -eq 0 ]
	[ "$stdout" = 256 ]
}

@test "exec: --tty with --console-socket and --detach" {
	start_recvtty "$TEST_DIR/tty.sock"
	rt exec -t -d --console-socket "$TEST_DIR/tty.sock" ct1 sh -c 'tty; echo exec-tty-ok'
	[ "$status" -eq 0 ]
	wait_recvtty_exit
	cat "$TEST_DIR/tty.sock.info" >&2
	[ "$(jq -r .nfds "$TEST_DIR/tty.sock.info")" = 1 ]
	[ "$(jq -r .is_pty_master "$TEST_DIR/tty.sock.info")" = true ]
	grep -q exec-tty-ok "$TEST_DIR/tty.sock.out"
	grep -qE '^/dev/pts/[0-9]+' "$TEST_DIR/tty.sock.out"
}

@test "exec: --process with terminal=true and --console-socket (engine style)" {
	start_recvtty "$TEST_DIR/tty.sock"
	jq -n '{terminal: true, user: {uid: 0, gid: 0}, args: ["sh", "-c", "tty; echo proc-tty-ok"],
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], cwd: "/"}' >"$TEST_DIR/p.json"
	rt exec --process "$TEST_DIR/p.json" --console-socket "$TEST_DIR/tty.sock" --detach \
		--pid-file "$TEST_DIR/e.pid" ct1
	[ "$status" -eq 0 ]
	[ -f "$TEST_DIR/e.pid" ]
	wait_recvtty_exit
	grep -q proc-tty-ok "$TEST_DIR/tty.sock.out"
}

@test "exec: --detach --pid-file" {
	rt exec --detach --pid-file "$TEST_DIR/exec.pid" ct1 sleep 999
	[ "$status" -eq 0 ]
	assert_pidfile "$TEST_DIR/exec.pid"
	local pid=$PIDFILE_PID
	pid_alive "$pid"
	wait_execd "$pid"
	grep -q sleep "/proc/$pid/cmdline"
	[ "$pid" != "$(container_pid ct1)" ]
	rt ps --format json ct1
	[ "$status" -eq 0 ]
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$stdout"
}

@test "exec: --detach output goes to the caller's stdio" {
	"$RT" --root "$ROOT" exec -d ct1 sh -c 'echo detached-out; echo detached-err >&2' \
		>"$TEST_DIR/o" 2>"$TEST_DIR/e" </dev/null 3>&-
	wait_for_content "$TEST_DIR/o" '^detached-out$'
	wait_for_content "$TEST_DIR/e" '^detached-err$'
}

@test "exec: missing binary fails with 'executable file not found'" {
	rt exec ct1 no-such-binary-xyz
	[ "$status" -ne 0 ]
	[[ "$output" == *"executable file not found"* ]]
	# the container is unaffected
	[ "$(container_status ct1)" = running ]
}

@test "exec: missing absolute path fails with 'no such file or directory'" {
	rt exec ct1 /no/such/file
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such file or directory"* ]]
}

@test "exec: non-executable file fails with 'permission denied'" {
	rt exec ct1 /etc/passwd
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "exec: into a nonexistent container" {
	rt exec nope true
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "exec: into a stopped container fails" {
	rt kill ct1 KILL
	wait_for_container ct1 stopped
	rt exec ct1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *stopped* ]] || [[ "$output" == *"not running"* ]]
}

@test "exec: without a command fails" {
	rt exec ct1
	[ "$status" -ne 0 ]
}
