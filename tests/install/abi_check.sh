#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ABI check of built or installed libraries against their headers:
#   abi_check.sh LIBDIR HEADERDIR...
# LIBDIR holds libvhu.so.0 and libvhu-frontend.so.0; the HEADERDIRs hold
# vhu.h, pkt.h, frontend.h and version.h (in the tree: include/vhu and
# build/include/vhu). Fails (exit 1, saying why) unless
#   - each library's SONAME is lib<name>.so.<major>,
#   - every exported symbol is a vhu_ one with a version tag (VHU_<x.y>
#     or VHU_PRIVATE for libvhu, VHU_FE_<x.y> for libvhu-frontend),
#   - the exported functions are exactly the ones the headers declare
#     (vhu_fe_* in libvhu-frontend, the rest in libvhu), VHU_PRIVATE aside.
# So a function added to a header but not to src/libvhu.map (or
# src/frontend/libvhu-frontend.map), or exported by accident, fails it.
set -u
[ $# -ge 2 ] || { echo "usage: $0 LIBDIR HEADERDIR..." >&2; exit 2; }
libdir=$1; shift
tmp=$(mktemp -d /tmp/vhu-abi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bad=0
err() { echo "abi_check: $*"; bad=1; }

# Function names the headers declare, comments stripped, static inline
# helpers (compiled into the caller) left out.
for d; do cat "$d"/*.h; done >"$tmp/all.h"
gcc -fpreprocessed -dD -E -P "$tmp/all.h" 2>/dev/null | tr '\n' ' ' | sed 's/;/;\n/g; s/{/{\n/g' >"$tmp/decl"
[ -s "$tmp/decl" ] || { echo "abi_check: no headers in $*"; exit 1; }
grep -oE 'static inline [^(]*\bvhu_[a-z0-9_]+ *\(' "$tmp/decl" | grep -oE 'vhu_[a-z0-9_]+ *\($' |
	tr -d ' (' | sort -u >"$tmp/inline"
grep -oE '\bvhu_[a-z0-9_]+ *\(' "$tmp/decl" | tr -d ' (' | sort -u | comm -23 - "$tmp/inline" >"$tmp/declared"
grep '^vhu_fe_' "$tmp/declared" >"$tmp/want-vhu-frontend"
grep -v '^vhu_fe_' "$tmp/declared" >"$tmp/want-vhu"

for name in vhu vhu-frontend; do
	lib=$(ls "$libdir"/lib$name.so.[0-9]* 2>/dev/null | grep -E "lib$name\.so\.[0-9]+$" | head -1)
	[ -n "$lib" ] || { err "no lib$name.so.<major> in $libdir"; continue; }
	soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
	[ "$soname" = "$(basename "$lib")" ] || err "$lib: SONAME '$soname'"
	case $name in vhu) node='VHU_([0-9]+\.[0-9]+|PRIVATE)' ;; *) node='VHU_FE_[0-9]+\.[0-9]+' ;; esac
	# "ADDR TYPE NAME@@NODE"; the version nodes themselves are type A.
	nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' >"$tmp/exp"
	grep -vE "^vhu_[a-z0-9_]+@@$node\$" "$tmp/exp" | while read -r s; do
		echo "abi_check: $lib exports $s (not a versioned vhu_ symbol)"
	done | grep . && bad=1
	grep -vE '@@VHU_PRIVATE$' "$tmp/exp" | sed 's/@.*//' | sort -u >"$tmp/got"
	comm -23 "$tmp/want-$name" "$tmp/got" | while read -r s; do
		echo "abi_check: $s is declared in a header but $lib does not export it"
	done | grep . && bad=1
	comm -13 "$tmp/want-$name" "$tmp/got" | while read -r s; do
		echo "abi_check: $lib exports $s, which no header declares"
	done | grep . && bad=1
	echo "abi_check: $lib: SONAME $soname, $(wc -l <"$tmp/got") functions," \
		"nodes $(grep -oE '@@.*' "$tmp/exp" | sort -u | tr -d @ | tr '\n' ' ')"
done
[ $bad = 0 ] && echo "abi_check: ok"
exit $bad
