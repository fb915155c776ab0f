#!/usr/bin/env bats
# update (cgroup v1 hybrid host: values are read back from /sys/fs/cgroup/<ctrl>/<cgroupsPath>)

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

cg() {
	cat "$(cgroup_file "$1" "$2")"
}

@test "update: --memory and --pids-limit" {
	[ -f "$(cgroup_file memory memory.limit_in_bytes)" ] || skip "needs cgroup v1 memory"
	rt update --memory 100M --pids-limit 50 ct1
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 104857600 ]
	[ "$(cg pids pids.max)" = 50 ]

	rt update --memory 209715200 ct1
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 209715200 ]
	# unrelated values unchanged
	[ "$(cg pids pids.max)" = 50 ]
}

@test "update: --resources - reads LinuxResources JSON from stdin" {
	[ -f "$(cgroup_file memory memory.limit_in_bytes)" ] || skip "needs cgroup v1 memory"
	rt update --resources - ct1 <<'EOF2'
{"memory": {"limit": 209715200}, "pids": {"limit": 77}, "cpu": {"shares": 512, "quota": 50000, "period": 100000}}
EOF2
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 209715200 ]
	[ "$(cg pids pids.max)" = 77 ]
	[ "$(cg cpu cpu.shares)" = 512 ]
	[ "$(cg cpu cpu.cfs_quota_us)" = 50000 ]
	[ "$(cg cpu cpu.cfs_period_us)" = 100000 ]
}

@test "update: -r FILE, and zero values mean unchanged" {
	[ -f "$(cgroup_file memory memory.limit_in_bytes)" ] || skip "needs cgroup v1 memory"
	echo '{"memory": {"limit": 157286400}, "pids": {"limit": 33}}' >"$TEST_DIR/r.json"
	rt update -r "$TEST_DIR/r.json" ct1
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 157286400 ]
	[ "$(cg pids pids.max)" = 33 ]

	# what dockerd sends for `docker update --cpu-shares 512`: zeros elsewhere, no pids
	rt update --resources - ct1 <<<'{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":512,"quota":0,"period":0},"blockIO":{"weight":0}}'
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 157286400 ]
	[ "$(cg pids pids.max)" = 33 ]
	[ "$(cg cpu cpu.shares)" = 512 ]

	# `docker update --pids-limit 50`
	rt update --resources - ct1 <<<'{"memory":{"limit":0,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":50},"blockIO":{"weight":0}}'
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 157286400 ]
	[ "$(cg pids pids.max)" = 50 ]
	[ "$(cg cpu cpu.shares)" = 512 ]

	# `docker update --memory 64m --memory-swap 128m`
	rt update --resources - ct1 <<<'{"memory":{"limit":67108864,"reservation":0,"swap":134217728,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}'
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 67108864 ]
	[ "$(cg pids pids.max)" = 50 ]
	[ "$(cg cpu cpu.shares)" = 512 ]
	if [ -f "$(cgroup_file memory memory.memsw.limit_in_bytes)" ]; then
		[ "$(cg memory memory.memsw.limit_in_bytes)" = 134217728 ]
	fi
}

@test "update: cpu flags (--cpu-share, --cpu-quota, --cpu-period)" {
	[ -f "$(cgroup_file cpu cpu.shares)" ] || skip "needs cgroup v1 cpu"
	rt update --cpu-share 256 --cpu-quota 20000 --cpu-period 100000 ct1
	[ "$status" -eq 0 ]
	[ "$(cg cpu cpu.shares)" = 256 ]
	[ "$(cg cpu cpu.cfs_quota_us)" = 20000 ]
	[ "$(cg cpu cpu.cfs_period_us)" = 100000 ]
}

@test "update: --memory with --memory-swap" {
	[ -f "$(cgroup_file memory memory.memsw.limit_in_bytes)" ] || skip "no swap accounting"
	rt update --memory 1G --memory-swap 2G ct1
	[ "$status" -eq 0 ]
	[ "$(cg memory memory.limit_in_bytes)" = 1073741824 ]
	[ "$(cg memory memory.memsw.limit_in_bytes)" = 2147483648 ]
}

@test "update: the limit is enforced on the container's processes" {
	[ -f "$(cgroup_file pids pids.max)" ] || skip "needs pids cgroup"
	rt update --pids-limit 3 ct1
	[ "$status" -eq 0 ]
	# init (sleep) + sh + ... : spawning many processes must fail somewhere
	rt exec ct1 sh -c 'for i in 1 2 3 4 5 6; do sleep 5 & done; wait'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Resource temporarily unavailable"* ]]
}

@test "update: invalid value is an error" {
	rt update --memory abc ct1
	[ "$status" -ne 0 ]
	[[ "$output" == *abc* ]]
}

@test "update: malformed --resources JSON is an error" {
	rt update --resources - ct1 <<<'{not json'
	[ "$status" -ne 0 ]
}

@test "update: nonexistent container" {
	rt update --pids-limit 10 nope
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}
