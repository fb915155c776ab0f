#!/usr/bin/env bash
# tests/migrate/run.sh [FILE.bats...] - rt migrate between two hosts: the
# suite runs through tests/cr/run.sh on the first VM of a pair booted once
# (tests/vm/pair.sh). Prints TAP, then "N passed, N failed, N skipped".
cd "$(dirname "$0")/../.." || exit 2
[ $# -gt 0 ] || set -- tests/migrate/*.bats
RT_CR_LANE=pair exec tests/cr/run.sh "$@"
