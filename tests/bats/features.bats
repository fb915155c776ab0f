#!/usr/bin/env bats
# features

load helpers

@test "features: valid JSON with ociVersionMin/Max" {
	run "$RT" features
	[ "$status" -eq 0 ]
	jq -e . <<<"$output" >/dev/null
	[[ "$(jq -r .ociVersionMin <<<"$output")" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "$(jq -r .ociVersionMax <<<"$output")" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]
}

@test "features: hooks, mount options and linux namespaces" {
	run "$RT" features
	[ "$status" -eq 0 ]
	jq -e '.hooks | index("prestart") != null and index("poststop") != null' <<<"$output"
	jq -e '.mountOptions | index("bind") != null and index("ro") != null' <<<"$output"
	jq -e '.linux.namespaces | index("pid") != null and index("mount") != null and index("network") != null' <<<"$output"
	jq -e '.linux.cgroup.v1 == true' <<<"$output"
}

@test "features: takes no arguments" {
	run "$RT" features extra
	[ "$status" -ne 0 ]
}
