#!/bin/bash
# bench/lc-profile.sh OUT NAME=RUNTIME... - where a lifecycle's time goes,
# per runtime (host lane).  Writes to OUT/profile/:
#
#   perf-stat-NAME-STEP.txt  perf stat -r N: CPU time (task-clock), context
#                            switches, page faults of `--version`, and of a
#                            foreground `run` of the busybox `true` bundle
#   strace-c-NAME-STEP.txt   strace -f -c of create (with the container's init,
#                            up to its exit), start and delete: syscall counts
#   strace-tt-NAME-create.txt strace -f -tt of one create (and its init): the timeline
#   execstat-NAME.txt        median wall, CPU time and page faults of one `--version` exec
#   inittrace-NAME.txt       GODEBUG=inittrace=1: Go package init time per exec
#   sizes.txt                binary sizes
set -uo pipefail
. "$(dirname "$0")/lib.sh"

OUT=${1:?usage: lc-profile.sh OUT NAME=RUNTIME...}
shift
P=$OUT/profile
W=${BENCH_WORK:-/tmp/bench}/lcprof
N=${BENCH_PERF_REPS:-30}
mkdir -p "$P"
rm -rf "$W"
mkdir -p "$W/bundle"
cp -a "$OUT/rootfs" "$W/bundle/rootfs"
(cd "$W/bundle" && "$OUT/bin/rt" spec)
jq '.ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["true"]' \
	"$W/bundle/config.json" >"$W/bundle/config.json.new" && mv "$W/bundle/config.json.new" "$W/bundle/config.json"

: >"$P/sizes.txt"
for r in "$@"; do
	name=${r%%=*} bin=${r#*=} root=$W/root-$name
	printf '%s\t%s\t%s\n' "$name" "$(stat -L -c %s "$bin")" "$bin" >>"$P/sizes.txt"
	say "profile: $name"
	if command -v perf >/dev/null; then
		perf stat -r "$N" -o "$P/perf-stat-$name-version.txt" -- "$bin" --version >/dev/null 2>&1
		perf stat -r "$N" -o "$P/perf-stat-$name-run.txt" -- \
			"$bin" --root "$root" run -b "$W/bundle" "prof-$name" </dev/null >/dev/null 2>&1
	fi
	# What one exec costs (median wall, CPU, page faults of 200 `--version`).
	"$OUT/bin/benchtool" execstat 200 "$bin" --version >"$P/execstat-$name.txt" 2>&1
	# Go package initialisation, paid by every exec of a Go runtime
	# (create, its init, start, delete): GODEBUG=inittrace=1, 15 runs.
	for i in $(seq 15); do
		GODEBUG=inittrace=1 "$bin" --version 2>&1 >/dev/null | awk -v i="$i" '/^init / { print i, $2, $5, $8 }'
	done >"$W/inittrace"
	if [ -s "$W/inittrace" ]; then
		{
			# per run: total; then the median of the runs
			awk '{ t[$1] += $3 } END { for (i in t) print t[i] }' "$W/inittrace" | sort -n |
				awk -v name="$name" -v pk="$(awk '$1 == 1' "$W/inittrace" | wc -l)" \
					-v al="$(awk '$1 == 1 { a += $4 } END { print a + 0 }' "$W/inittrace")" \
					'{ v[NR] = $1 } END { printf "%s: %d packages, median total init %.2f ms over %d runs, %d bytes allocated\n", name, pk, v[int((NR + 1) / 2)], NR, al }'
			echo "packages by median init time (ms, bytes allocated):"
			sort -k2,2 -k3,3g "$W/inittrace" |
				awk '$2 != p { if (p != "") print v[int((n + 1) / 2)], b, p; p = $2; n = 0 } { v[++n] = $3; b = $4 } END { print v[int((n + 1) / 2)], b, p }' |
				sort -rg | head -n 15 | awk '{ printf "%8.3f ms %9d B  %s\n", $1, $2, $3 }'
			echo "by group (median over the runs of the group's sum):"
			awk '{ g = "other"
				if ($2 ~ /go-criu\/v7\/crit/) g = "go-criu crit + images"
				else if ($2 ~ /protobuf/) g = "google.golang.org/protobuf"
				else if ($2 ~ /blackfriday|md2man/) g = "blackfriday + go-md2man (urfave/cli docs)"
				else if ($2 ~ /klauspost/) g = "klauspost/compress"
				else if ($2 == "runtime") g = "runtime"
				t[$1 "\t" g] += $3; a[$1 "\t" g] += $4; n[$1 "\t" g]++ }
				END { for (k in t) print k "\t" t[k] "\t" a[k] "\t" n[k] }' "$W/inittrace" |
				sort -t"$(printf '\t')" -k2,2 -k3,3g |
				awk -F'\t' '$2 != p { if (p != "") printf "%8.3f ms %9d B %4d packages  %s\n", v[int((k + 1) / 2)], b, c, p; p = $2; k = 0 }
					{ v[++k] = $3; b = $4; c = $5 }
					END { printf "%8.3f ms %9d B %4d packages  %s\n", v[int((k + 1) / 2)], b, c, p }'
		} >"$P/inittrace-$name.txt"
	else
		echo "$name: not a Go program (no GODEBUG=inittrace output)" >"$P/inittrace-$name.txt"
	fi
	if command -v strace >/dev/null; then
		# strace -f follows the container's init, which outlives create:
		# trace create in the background, start, then wait for it.
		id=prof-$name-s
		strace -f -c -o "$P/strace-c-$name-create.txt" "$bin" --root "$root" create -b "$W/bundle" "$id" \
			</dev/null >/dev/null 2>&1 &
		spid=$!
		n=0
		until [ "$("$bin" --root "$root" state "$id" 2>/dev/null | jq -r .status)" = created ] || ((n++ > 200)); do sleep 0.05; done
		strace -f -c -o "$P/strace-c-$name-start.txt" "$bin" --root "$root" start "$id" </dev/null >/dev/null 2>&1
		wait "$spid"
		strace -f -c -o "$P/strace-c-$name-delete.txt" "$bin" --root "$root" delete "$id" </dev/null >/dev/null 2>&1
		id=prof-$name-t
		strace -f -tt -o "$P/strace-tt-$name-create.txt" "$bin" --root "$root" create -b "$W/bundle" "$id" \
			</dev/null >/dev/null 2>&1 &
		spid=$!
		n=0
		until [ "$("$bin" --root "$root" state "$id" 2>/dev/null | jq -r .status)" = created ] || ((n++ > 200)); do sleep 0.05; done
		"$bin" --root "$root" start "$id" >/dev/null 2>&1
		wait "$spid"
		"$bin" --root "$root" delete -f "$id" >/dev/null 2>&1
	fi
	for id in $("$bin" --root "$root" list -q 2>/dev/null); do "$bin" --root "$root" delete -f "$id" >/dev/null 2>&1; done
done
rm -rf "$W"
