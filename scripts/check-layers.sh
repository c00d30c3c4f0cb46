#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Checks that the code keeps the layer map of docs/architecture.md: a file
# in src/<layer>/ includes only its own layer and the layers above it in
# the map's table, and the programs (tools/, switch/) include only the
# public headers (<vhu/...>) and their own files. The order is read from
# the table itself, so the map is the one place it is written.
#
#   check-layers.sh [ROOT]     check the tree at ROOT (default: this one)
#   check-layers.sh --self-test
#                              also prove the check bites: a copy of the
#                              tree with a vq/ file including backend/ and
#                              a tool including an internal header must fail
set -u
here=$(cd "$(dirname "$0")/.." && pwd)

check() {
	local root=$1 bad=0 layers=() i f inc l from
	mapfile -t layers < <(sed -n 's/^| `src\/\([a-z_]*\)\/` |.*/\1/p' "$root/docs/architecture.md")
	if [ "${#layers[@]}" -lt 5 ]; then
		echo "check-layers: no layer table found in $root/docs/architecture.md" >&2
		return 2
	fi
	declare -A rank
	for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done
	for d in "$root"/src/*/; do
		l=$(basename "$d")
		[ -n "${rank[$l]+x}" ] || { echo "src/$l/: a folder the map does not list"; bad=1; }
	done
	# Each quoted include whose first part names a layer.
	while IFS=: read -r f inc; do
		from=${f#"$root"/}
		l=${inc%%/*}
		[ -n "${rank[$l]+x}" ] || continue
		case $from in
		src/*)
			local own=${from#src/}; own=${own%%/*}
			if [ -z "${rank[$own]+x}" ]; then
				echo "$from: not in a layer folder of the map"
				bad=1
			elif [ "${rank[$l]}" -gt "${rank[$own]}" ]; then
				echo "$from includes \"$inc\": layer $l is below $own in docs/architecture.md"
				bad=1
			fi ;;
		tools/* | switch/*)
			echo "$from includes \"$inc\": programs use only the public headers <vhu/...>"
			bad=1 ;;
		esac
	done < <(cd "$root" && grep -rHo '^#[[:space:]]*include[[:space:]]*"[a-z_]*/[^"]*"' \
			src tools switch --include='*.c' --include='*.h' 2>/dev/null |
		sed 's/:#[[:space:]]*include[[:space:]]*"/:/; s/"$//' | sed "s|^|$root/|")
	return $bad
}

if [ "${1:-}" = --self-test ]; then
	check "$here" || exit 1
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/docs"
	cp "$here/docs/architecture.md" "$tmp/docs/"
	cp -r "$here/src" "$tmp/"
	echo '#include "backend/dev.h"' >>"$tmp/src/vq/vq.c"
	if check "$tmp" >"$tmp/out"; then
		echo "check-layers: a vq/ file including backend/ was not caught" >&2
		exit 1
	fi
	grep -q 'src/vq/vq.c includes "backend/dev.h"' "$tmp/out" || { cat "$tmp/out"; exit 1; }
	rm -rf "$tmp/src"; cp -r "$here/src" "$tmp/"
	mkdir -p "$tmp/tools/x"
	echo '#include "vq/vq.h"' >"$tmp/tools/x/x.c"
	if check "$tmp" >"$tmp/out"; then
		echo "check-layers: a tool including an internal header was not caught" >&2
		exit 1
	fi
	echo "check-layers: the tree keeps the map; both deliberate bad includes were caught"
	exit 0
fi
check "${1:-$here}" && echo "check-layers: the tree keeps the map"
