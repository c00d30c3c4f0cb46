#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What a user who links libvhu gets: installs the build (as `make install`
# does, into a temporary DESTDIR), checks the installed libraries' ABI
# against the installed headers (tests/install/abi_check.sh), then builds
# tests/install/consumer.c and fe_consumer.c in a folder outside the tree
# with nothing but `cc FILE $(pkg-config --cflags --libs libvhu)` (and
# libvhu-frontend) and runs them: version, registration, a frontend
# talking to a backend; and that vhu-switch's systemd unit is installed and
# valid. All in temporary folders, removed at the end.
. "$(dirname "$0")/../lib/common.sh"
[ -f "$VHU_BUILD/build.ninja" ] || skip "$VHU_BUILD is not built (make build)"
command -v pkg-config >/dev/null 2>&1 || skip "pkg-config is not installed (apt-get install pkgconf)"
command -v cc >/dev/null 2>&1 || skip "no cc"

root=$T/root
# --no-rebuild: a test installs what was built and tested, it does not build.
meson install -C "$VHU_BUILD" --no-rebuild --destdir "$root" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "meson install into $root failed"; }
pc=$(find "$root" -name libvhu.pc -printf '%h\n' | head -1)
[ -n "$pc" ] || fail "no libvhu.pc installed under $root"
[ -f "$pc/libvhu-frontend.pc" ] || fail "no libvhu-frontend.pc next to libvhu.pc"
inc=$(find "$root" -path '*/include/vhu' -type d | head -1)
libdir=$(find "$root" -name 'libvhu.so.[0-9]*' -printf '%h\n' | head -1)
note "installed: headers $inc, libraries $libdir, pkg-config $pc"
for h in vhu.h pkt.h frontend.h version.h; do
	[ -f "$inc/$h" ] || fail "vhu/$h not installed"
done

# The systemd unit (switch/dist/): installed, running the installed
# vhu-switch with its db under /var/lib/vhu, and valid for systemd (its
# ExecStart pointed into the DESTDIR, where the program is, for the check).
unit=$(find "$root" -name vhu-switch.service | head -1)
[ -n "$unit" ] || fail "vhu-switch.service not installed"
case $unit in */lib/systemd/system/vhu-switch.service) ;; *) fail "unit installed as $unit" ;; esac
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[ -x "$root$exe" ] && [ "$(basename "$exe")" = vhu-switch ] || fail "the unit runs $exe, not the installed vhu-switch"
grep -q -- "--db /var/lib/vhu/switch.db" "$unit" && grep -qx "StateDirectory=vhu" "$unit" &&
	grep -qx "RuntimeDirectory=vhu" "$unit" || fail "the unit lacks its db, StateDirectory or RuntimeDirectory"
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/unit"
	sed "s|^ExecStart=$exe|ExecStart=$root$exe|" "$unit" >"$T/unit/vhu-switch.service"
	(cd "$T/unit" && systemd-analyze verify "$T/unit/vhu-switch.service") >"$T/verify.log" 2>&1 ||
		{ cat "$T/verify.log"; fail "systemd-analyze verify refuses vhu-switch.service"; }
	note "vhu-switch.service installed as ${unit#"$root"}, systemd-analyze verify: ok"
else
	note "vhu-switch.service installed as ${unit#"$root"}; no systemd-analyze, not verified (apt-get install systemd)"
fi

"$VHU_ROOT/tests/install/abi_check.sh" "$libdir" "$inc" || fail "ABI check of the installed libraries"

# Only the installed .pc files, their paths under the DESTDIR.
export PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$root
src=$T/consumer
mkdir -p "$src"
cp "$VHU_ROOT/tests/install/consumer.c" "$VHU_ROOT/tests/install/fe_consumer.c" "$src/"
cd "$src" || fail "cd $src"
flags="-std=c11 -Wall -Wextra -Werror -pedantic"
# shellcheck disable=SC2046 # pkg-config's words are meant to split
cc $flags consumer.c $(pkg-config --cflags --libs libvhu) -o consumer ||
	fail "consumer.c does not build against the installed libvhu"
# shellcheck disable=SC2046
cc $flags fe_consumer.c $(pkg-config --cflags --libs libvhu-frontend) -o fe_consumer ||
	fail "fe_consumer.c does not build against the installed libvhu-frontend"
note "pkg-config --libs libvhu-frontend: $(pkg-config --libs libvhu-frontend)"

# The programs must load the installed libraries, not the build's.
export LD_LIBRARY_PATH=$libdir
for p in consumer fe_consumer; do
	ldd "./$p" | grep 'libvhu' | sed "s/^/   $p: /"
	if ldd "./$p" | grep libvhu | grep -v "$libdir" | grep -q .; then
		fail "$p does not load libvhu from $libdir"
	fi
done
objdump -p consumer | grep -q 'NEEDED.*libvhu-frontend' && fail "consumer needs libvhu-frontend"

mkdir -p "$T/run"
out=$(timeout 20 ./consumer "$T/run") || { echo "$out"; fail "consumer failed"; }
echo "$out"
timeout 30 ./fe_consumer "$T/run" || fail "fe_consumer failed"
result "installed libvhu $(echo "$out" | sed -n 's/^vhu_version() \([^,]*\),.*/\1/p'):" \
	"consumer and fe_consumer built with pkg-config alone and passed"
echo PASS
