#!/usr/bin/env bash
# tests/vm/selftest.sh - check, from INSIDE the VM lane, that the guest is fit
# for CRIU work.  Prints TAP; exits non-zero if any check fails.
#
#   tests/vm/lane.sh --timeout 600 -- tests/vm/selftest.sh
set -uo pipefail

n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
diag()   { sed 's/^/# /'; }
secs()   { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "1..10"

# --- the environment -------------------------------------------------------
kver=$(uname -r)
case $kver in 6.1.*) ok "kernel is 6.1 ($kver)" ;; *) not_ok "kernel is 6.1 (got $kver)" ;; esac
check "RT_VM=1 is set" test "${RT_VM:-}" = 1
check "booted with apparmor=0" grep -qw apparmor=0 /proc/cmdline
check "cgroup2 is mounted at /sys/fs/cgroup" \
  test "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs

tmp_ok() {
  [[ $(stat -f -c %T /tmp) == tmpfs ]] || return 1
  local f
  f=$(mktemp /tmp/selftest.XXXXXX) && echo hello >"$f" && [[ $(<"$f") == hello ]] && rm -f "$f"
}
check "/tmp is a writable tmpfs" tmp_ok
check "loopback is up" sh -c 'ip -o link show lo | grep -q "UP"'

if out=$(criu check 2>&1); then
  ok "criu check: $(echo "$out" | tail -n 1)"
else
  not_ok "criu check"
  echo "$out" | diag
fi

# --- dump and restore a counter ---------------------------------------------
work=$(mktemp -d /tmp/selftest-cr.XXXXXX)   # guest tmpfs: 9p cannot hold CRIU's sockets
cnt=$work/cnt
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

counter() { [[ -s $cnt ]] && cat "$cnt" 2>/dev/null || echo 0; }
# wait up to $2 seconds for the counter to exceed $1
grows_past() {
  local base=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    (( $(counter) > base )) && return 0
    sleep 0.1
  done
  return 1
}
# wait up to $2 seconds for the counter to move off $1; it must go on from
# there (a counter that started afresh would come back as 1, 2, ...)
continues_from() {
  local base=$1 i v
  for ((i = 0; i < $2 * 10; i++)); do
    v=$(counter)
    if (( v != base )); then (( v > base && v <= base + 5 )); return; fi
    sleep 0.1
  done
  return 1
}

# Started from a subshell, so the counter is orphaned to PID 1 and we never
# have to reap it (a zombie would keep its pid busy for restore).
(setsid sh -c "i=0; while :; do i=\$((i+1)); echo \$i > $cnt; sleep 0.1; done" \
   </dev/null >/dev/null 2>&1 & echo $! >"$work/pid")
pid=$(<"$work/pid")
if [[ -n $pid ]] && grows_past 2 30; then
  ok "counter $pid is running (at $(counter))"
else
  not_ok "counter is running"
fi

mkdir -p "$work/img"
t0=$(date +%s.%N)
if criu dump -t "$pid" -D "$work/img" -o dump.log -v4 2>/dev/null; then
  t1=$(date +%s.%N)
  before=$(counter)
  sleep 0.5
  if [[ -d /proc/$pid ]]; then
    not_ok "criu dump (process $pid still alive)"
  elif [[ $(counter) != "$before" ]]; then
    not_ok "criu dump (counter still moving)"
  else
    ok "criu dump of the counter at $before ($(secs "$t0" "$t1")s)"
  fi
else
  not_ok "criu dump"
  tail -n 30 "$work/img/dump.log" | diag
fi

before=$(counter)
t0=$(date +%s.%N)
if criu restore -d -D "$work/img" -o restore.log -v4 2>/dev/null; then
  t1=$(date +%s.%N)
  if [[ -d /proc/$pid ]] && continues_from "$before" 10 && grows_past "$((before + 1))" 10; then
    ok "criu restore: pid $pid counts on from $before to $(counter) ($(secs "$t0" "$t1")s)"
  else
    not_ok "criu restore: counter did not continue from $before (now $(counter))"
  fi
else
  not_ok "criu restore"
  tail -n 30 "$work/img/restore.log" | diag
fi

if (( failed )); then
  echo "# $failed of $n checks failed"
  exit 1
fi
echo "# all $n checks passed"
