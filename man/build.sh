#!/bin/sh
# build.sh - convert man/*.8.md into man/*.8 (roff) with go-md2man.
#
# Usage: man/build.sh [page.8.md ...]   (default: every man/*.8.md)
#
# go-md2man is run with "go run" at a pinned version, fetched through the
# Go module proxy on first use. GO_MD2MAN may name an installed go-md2man
# binary to use instead.
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
md2man_module=github.com/cpuguy83/go-md2man/v2@v2.0.7

md2man() {
	if [ -n "${GO_MD2MAN:-}" ]; then
		"$GO_MD2MAN" "$@"
	else
		go run "$md2man_module" "$@"
	fi
}

if [ $# -eq 0 ]; then
	set -- "$dir"/*.8.md
fi

for src in "$@"; do
	case $src in
	*.8.md) ;;
	*) echo "build.sh: $src: not a *.8.md page" >&2; exit 2 ;;
	esac
	out=${src%.md}
	md2man -in "$src" -out "$out"
	echo "$out"
done
