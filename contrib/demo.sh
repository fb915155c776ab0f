#!/usr/bin/env bash
# demo.sh - rt's main job in one go: run a counter container, checkpoint
# it with CRIU, restore it, and show that the counter resumed where it
# stopped instead of starting again. CRIU needs a kernel it supports: when
# `criu check` fails on this host, the demo runs inside the project's VM
# lane (Debian's 6.1 kernel under qemu) and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
RT=${RT:-$REPO/rt}

if [ "${1:-}" != --inside ]; then
	[ -x "$RT" ] || make rt
	if criu check >/dev/null 2>&1; then
		echo "demo: CRIU works on this host ($(criu --version | head -1)); running here"
		exec "$0" --inside
	fi
	why=$(criu check 2>&1 | grep -m1 -i error; true)
	echo "demo: host CRIU cannot checkpoint on kernel $(uname -r): ${why:-criu check failed}"
	echo "demo: running the demo in the VM lane (Debian 6.1 kernel under qemu, ~1 min)"
	# Build the cached test rootfs on the host, where it is fast.
	warm=$(mktemp -d) && tests/lib/mkrootfs.sh "$warm/rootfs" >/dev/null && rm -rf "$warm"
	exec tests/vm/lane.sh --timeout 600 -- "$REPO/contrib/demo.sh" --inside
fi

WORK=$(mktemp -d /tmp/rt-demo.XXXXXX)
ROOT=$WORK/state
BUNDLE=$WORK/bundle
trap '"$RT" --root "$ROOT" delete --force demo >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

tests/lib/mkrootfs.sh "$BUNDLE/rootfs" >/dev/null
(cd "$BUNDLE" && "$RT" spec)
jq '.root.readonly = false | .process.terminal = false
  | .process.args = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.2; done"]' \
	"$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
count() { cat "$BUNDLE/rootfs/tmp/count"; }

echo "+ rt run -d demo   (a shell loop counting 5 times a second)"
"$RT" --root "$ROOT" run -d --bundle "$BUNDLE" demo </dev/null >/dev/null 2>&1
sleep 3
echo "  counter is at $(count)"

echo "+ rt checkpoint --image-path $WORK/image demo"
start=$(date +%s.%N)
"$RT" --root "$ROOT" checkpoint --image-path "$WORK/image" demo
at=$(count)
printf '  checkpoint took %.1fs; the counter stopped at %s and the container is gone:\n' \
	"$(echo "$(date +%s.%N) - $start" | bc)" "$at"
"$RT" --root "$ROOT" list
sleep 2
echo "  two seconds later the counter is still at $(count)"

echo "+ rt restore -d --image-path $WORK/image demo"
start=$(date +%s.%N)
"$RT" --root "$ROOT" restore -d --bundle "$BUNDLE" --image-path "$WORK/image" demo </dev/null >/dev/null 2>&1
printf '  restore took %.1fs\n' "$(echo "$(date +%s.%N) - $start" | bc)"
sleep 2
now=$(count)
echo "  counter is at $now after restore"
"$RT" --root "$ROOT" list
if [ "$now" -gt "$at" ] && [ "$now" -lt $((at + 40)) ]; then
	echo "demo: OK - the counter resumed from $at (it did not restart from 1)"
else
	echo "demo: FAILED - counter $now after restore, $at at checkpoint" >&2
	exit 1
fi
