#!/usr/bin/env bats
# --log / --log-format / --debug

load helpers

setup() {
	setup_common
	LOG=$TEST_DIR/log.json
}

teardown() {
	teardown_common
}

RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

# check_json_log FILE: every line is a JSON object with RFC3339 time, level, msg.
# (containerd's shim decodes the whole file as a JSON stream.)
check_json_log() {
	local f=$1 line n=0
	[ -s "$f" ] || fail "log $f is empty"
	jq -e -s 'length > 0' "$f" >/dev/null || fail "log $f is not a JSON stream"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		n=$((n + 1))
		jq -e 'type == "object" and (.level | type == "string") and (.msg | type == "string") and (.time | type == "string")' <<<"$line" >/dev/null ||
			fail "bad log line: $line"
		[[ "$(jq -r .time <<<"$line")" =~ $RFC3339_RE ]] || fail "time not RFC3339: $line"
	done <"$f"
	[ "$n" -gt 0 ]
}

@test "log json: an error in create is the last level=error entry" {
	mkdir "$TEST_DIR/empty"
	rt --log "$LOG" --log-format json create --bundle "$TEST_DIR/empty" ct1
	[ "$status" -ne 0 ]
	cat "$LOG" >&2
	check_json_log "$LOG"
	local last
	last=$(jq -r -s 'map(select(.level == "error")) | last | .msg' "$LOG")
	[[ "$last" == *config.json* ]]
}

@test "log json: exec failure reason is logged (executable file not found)" {
	set_args no-such-binary-xyz
	rt --log "$LOG" --log-format json create --bundle "$BUNDLE" ct1
	[ "$status" -ne 0 ]
	check_json_log "$LOG"
	local last
	last=$(jq -r -s 'map(select(.level == "error")) | last | .msg' "$LOG")
	[[ "$last" == *"executable file not found"* ]]
}

@test "log json: the file is appended to, not truncated" {
	echo '{"level":"info","msg":"pre-existing","time":"2020-01-01T00:00:00Z"}' >"$LOG"
	rt --log "$LOG" --log-format json kill nope1 9
	[ "$status" -ne 0 ]
	rt --log "$LOG" --log-format json delete nope2
	[ "$status" -ne 0 ]
	check_json_log "$LOG"
	grep -q pre-existing "$LOG"
	[ "$(jq -s 'map(select(.level == "error")) | length' "$LOG")" -ge 2 ]
	[[ "$(jq -r -s 'map(select(.level == "error")) | last | .msg' "$LOG")" == *"does not exist"* ]]
}

@test "log json: --debug adds debug entries; without it there are none" {
	rt --log "$LOG" --log-format json create --bundle "$BUNDLE" ct1
	[ "$status" -eq 0 ]
	if [ -s "$LOG" ]; then
		check_json_log "$LOG"
		[ "$(jq -s 'map(select(.level == "debug")) | length' "$LOG")" -eq 0 ]
	fi
	rm -f "$LOG"
	set_cgroups_path two
	rt --debug --log "$LOG" --log-format json create --bundle "$BUNDLE" ct2
	[ "$status" -eq 0 ]
	check_json_log "$LOG"
	[ "$(jq -s 'map(select(.level == "debug")) | length' "$LOG")" -gt 0 ]
}

@test "log json: a successful lifecycle leaves a decodable log" {
	cd "$BUNDLE"
	local g=(--log "$LOG" --log-format json)
	rt "${g[@]}" create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" ct1
	[ "$status" -eq 0 ]
	rt "${g[@]}" start ct1
	[ "$status" -eq 0 ]
	rt "${g[@]}" kill ct1 9
	[ "$status" -eq 0 ]
	wait_for_container ct1 stopped
	rt "${g[@]}" delete ct1
	[ "$status" -eq 0 ]
	if [ -s "$LOG" ]; then
		check_json_log "$LOG"
		[ "$(jq -s 'map(select(.level == "error")) | length' "$LOG")" -eq 0 ]
	fi
}

@test "log text: --log-format text writes logfmt lines" {
	rt --log "$TEST_DIR/log.txt" --log-format text delete nope
	[ "$status" -ne 0 ]
	grep -qE '^time="[^"]+" level=error msg=".*does not exist.*"' "$TEST_DIR/log.txt"
}

@test "log: without --log errors go to stderr as one line" {
	rt delete nope
	[ "$status" -ne 0 ]
	[ -z "$stdout" ]
	[[ "$stderr" == *"does not exist"* ]]
	assert_single_line
}

@test "log: invalid --log-format is an error" {
	rt --log-format xml list
	[ "$status" -ne 0 ]
	[[ "$output" == *xml* ]]
}
