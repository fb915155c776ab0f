#!/usr/bin/env bats
# spec

load helpers

setup() {
	SPEC_DIR=$(mktemp -d /tmp/rtspec.XXXXXX)
}

teardown() {
	rm -rf "$SPEC_DIR"
	teardown_common
}

@test "spec: writes a valid config.json in the current directory" {
	cd "$SPEC_DIR"
	run "$RT" spec
	[ "$status" -eq 0 ]
	[ -f config.json ]
	jq -e . config.json >/dev/null
	[ -n "$(jq -r .ociVersion config.json)" ]
	[ "$(jq -r .root.path config.json)" = rootfs ]
	[ "$(jq -c .process.args config.json)" = '["sh"]' ]
	[ "$(jq -r .process.cwd config.json)" = / ]
	jq -e '.process.env | any(startswith("PATH="))' config.json
	jq -e '[.linux.namespaces[].type] | index("pid") != null and index("mount") != null and index("network") != null' config.json
	jq -e '[.mounts[].destination] | index("/proc") != null and index("/dev") != null' config.json
	# no user namespace for a root spec
	jq -e '[.linux.namespaces[].type] | index("user") == null' config.json
}

@test "spec: refuses to overwrite an existing config.json" {
	cd "$SPEC_DIR"
	echo '{"keep": "me"}' >config.json
	run "$RT" spec
	[ "$status" -ne 0 ]
	[[ "$output" == *config.json* ]]
	[ "$(jq -c . config.json)" = '{"keep":"me"}' ]
}

@test "spec: --bundle writes into that directory" {
	mkdir "$SPEC_DIR/b"
	cd "$SPEC_DIR"
	run "$RT" spec --bundle "$SPEC_DIR/b"
	[ "$status" -eq 0 ]
	[ -f "$SPEC_DIR/b/config.json" ]
	[ ! -e "$SPEC_DIR/config.json" ]
	jq -e . "$SPEC_DIR/b/config.json" >/dev/null

	mkdir "$SPEC_DIR/c"
	run "$RT" spec -b "$SPEC_DIR/c"
	[ "$status" -eq 0 ]
	[ -f "$SPEC_DIR/c/config.json" ]
}

@test "spec: --bundle to a missing directory fails" {
	cd "$SPEC_DIR"
	run "$RT" spec --bundle "$SPEC_DIR/missing"
	[ "$status" -ne 0 ]
	[[ "$output" == *missing* ]]
	[ ! -e "$SPEC_DIR/config.json" ]
}

@test "spec: --rootless adds a user namespace with our uid mapping and drops the network namespace" {
	cd "$SPEC_DIR"
	run "$RT" spec --rootless
	[ "$status" -eq 0 ]
	jq -e . config.json >/dev/null
	jq -e '[.linux.namespaces[].type] | index("user") != null' config.json
	jq -e '[.linux.namespaces[].type] | index("network") == null' config.json
	[ "$(jq -r '.linux.uidMappings[0].hostID' config.json)" = "$(id -u)" ]
	[ "$(jq -r '.linux.uidMappings[0].containerID' config.json)" = 0 ]
	[ "$(jq -r '.linux.gidMappings[0].hostID' config.json)" = "$(id -g)" ]
	# no cgroup limits for rootless
	[ "$(jq -r '.linux.resources // {} | .devices // [] | length' config.json)" = 0 ]
}

@test "spec: the generated spec runs a container" {
	setup_common
	# setup_common built $BUNDLE from `$RT spec` output
	cd "$BUNDLE"
	set_args sh -c 'echo spec-works'
	rt run ct1 </dev/null
	[ "$status" -eq 0 ]
	[ "$stdout" = spec-works ]
}
